//! `GET /classification`: the scheme in force.

use actix_web::{HttpResponse, web};

use crate::auth::extractor::{Authorized, perm};
use crate::error::Result;
use crate::startup::AppState;

pub async fn get(
    caller: Authorized<perm::ClassificationRead>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.archive.classification(&caller.ctx).await?))
}
