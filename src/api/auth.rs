//! `POST /auth/login`, `GET /auth/me`.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::auth::accounts::Accounts;
use crate::auth::extractor::{Anonymous, Authorized, perm};
use crate::error::Result;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    username: String,
    password: String,
}

pub async fn login(
    Anonymous(ctx): Anonymous,
    accounts: web::Data<Accounts>,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse> {
    let token = accounts.login(&ctx, &body.username, &body.password).await?;
    Ok(HttpResponse::Ok().json(token))
}

pub async fn me(
    caller: Authorized<perm::AuthMe>,
    accounts: web::Data<Accounts>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(accounts.me(&caller).await?))
}
