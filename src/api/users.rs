//! `POST /users`, `GET /users`, `PATCH /users/{username}` (administrators).

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::auth::accounts::Accounts;
use crate::auth::extractor::{Authorized, AuthorizedJson, perm};
use crate::auth::users::{NewUser, UserChange};
use crate::error::Result;

pub async fn create(
    request: AuthorizedJson<perm::UsersManage, NewUser>,
    accounts: web::Data<Accounts>,
) -> Result<HttpResponse> {
    let user = accounts.create_user(&request.caller, request.body).await?;
    Ok(HttpResponse::Created().json(user))
}

pub async fn list(
    caller: Authorized<perm::UsersManage>,
    accounts: web::Data<Accounts>,
) -> Result<HttpResponse> {
    let users = accounts.list_users(&caller).await?;
    Ok(HttpResponse::Ok().json(json!({"users": users})))
}

pub async fn update(
    request: AuthorizedJson<perm::UsersManage, UserChange>,
    accounts: web::Data<Accounts>,
    username: web::Path<String>,
) -> Result<HttpResponse> {
    let user = accounts
        .update_user(&request.caller, &username, request.body)
        .await?;
    Ok(HttpResponse::Ok().json(user))
}
