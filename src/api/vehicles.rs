//! `GET /vehicles/{vin}/documents`: a vehicle's archive (一车一档).

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::auth::extractor::{Authorized, perm};
use crate::error::Result;
use crate::startup::AppState;

pub async fn documents(
    caller: Authorized<perm::DocumentsRead>,
    state: web::Data<AppState>,
    vin: web::Path<String>,
) -> Result<HttpResponse> {
    let docs = state.archive.vehicle_documents(&caller.ctx, &vin).await?;
    Ok(HttpResponse::Ok().json(
        json!({"vin": vin.trim().to_ascii_uppercase(), "total": docs.len(), "documents": docs}),
    ))
}
