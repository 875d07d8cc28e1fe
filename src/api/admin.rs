//! Administration: `POST /admin/reindex` rebuilds the search index from the
//! archive; `GET /admin/key-rotation` shows the master key and the rotation run.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::auth::extractor::{Authorized, perm};
use crate::error::Result;
use crate::startup::AppState;

pub async fn reindex(
    caller: Authorized<perm::IndexRebuild>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let documents = state.archive.rebuild_index(&caller.ctx).await?;
    Ok(HttpResponse::Ok().json(json!({"reindexed": documents})))
}

pub async fn key_rotation(
    caller: Authorized<perm::KeysRead>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let rotation = state.archive.rotation_state(&caller.ctx).await?;
    Ok(HttpResponse::Ok().json(rotation))
}
