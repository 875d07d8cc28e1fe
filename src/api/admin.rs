//! `POST /admin/reindex`: rebuild the search index from the archive.

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
