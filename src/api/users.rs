//! `POST /users`, `GET /users`, `PATCH /users/{username}` (administrators).

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::auth::extractor::{Authorized, AuthorizedJson, perm};
use crate::auth::users::{NewUser, UserChange};
use crate::error::Result;
use crate::startup::AppState;

pub async fn create(
    request: AuthorizedJson<perm::UsersManage, NewUser>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let user = state
        .accounts
        .create_user(&request.ctx, request.body)
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
    request: AuthorizedJson<perm::UsersManage, UserChange>,
    state: web::Data<AppState>,
    username: web::Path<String>,
) -> Result<HttpResponse> {
    let user = state
        .accounts
        .update_user(&request.ctx, &username, request.body)
        .await?;
    Ok(HttpResponse::Ok().json(user))
}
