//! Administration: `POST /admin/reindex` rebuilds the search index from the
//! archive; `GET /admin/key-rotation` shows the master key and the rotation run.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::archive::Maintenance;
use crate::archive::Search;
use crate::auth::extractor::{Authorized, perm};
use crate::error::Result;

pub async fn reindex(
    caller: Authorized<perm::IndexRebuild>,
    search: web::Data<Search>,
) -> Result<HttpResponse> {
    let documents = search.rebuild_index(&caller).await?;
    Ok(HttpResponse::Ok().json(json!({"reindexed": documents})))
}

pub async fn key_rotation(
    caller: Authorized<perm::KeysRead>,
    maintenance: web::Data<Maintenance>,
) -> Result<HttpResponse> {
    let rotation = maintenance.rotation_state(&caller).await?;
    Ok(HttpResponse::Ok().json(rotation))
}
