//! `POST /auth/login`, `GET /auth/me`.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::auth::extractor::{Anonymous, Authorized, perm};
use crate::error::Result;
use crate::startup::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    username: String,
    password: String,
}

pub async fn login(
    Anonymous(ctx): Anonymous,
    state: web::Data<AppState>,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse> {
    let token = state
        .accounts
        .login(&ctx, &body.username, &body.password)
        .await?;
    Ok(HttpResponse::Ok().json(token))
}

pub async fn me(
    caller: Authorized<perm::AuthMe>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.accounts.me(&caller.ctx).await?))
}
