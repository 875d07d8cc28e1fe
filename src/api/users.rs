//! `POST /users`, `GET /users`, `PATCH /users/{username}` (administrators).

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::auth::extractor::{Authorized, perm};
use crate::auth::users::{NewUser, UserChange};
use crate::error::Result;
use crate::startup::AppState;

pub async fn create(
    caller: Authorized<perm::UsersManage>,
    state: web::Data<AppState>,
    body: web::Json<NewUser>,
) -> Result<HttpResponse> {
    let user = state
        .accounts
        .create_user(&caller.ctx, body.into_inner())
        .await?;
    Ok(HttpResponse::Created().json(user))
}

pub async fn list(
    caller: Authorized<perm::UsersManage>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let users = state.accounts.list_users(&caller.ctx).await?;
    Ok(HttpResponse::Ok().json(json!({"users": users})))
}

pub async fn update(
    caller: Authorized<perm::UsersManage>,
    state: web::Data<AppState>,
    username: web::Path<String>,
    body: web::Json<UserChange>,
) -> Result<HttpResponse> {
    let user = state
        .accounts
        .update_user(&caller.ctx, &username, body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(user))
}
