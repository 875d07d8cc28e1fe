//! `GET /vehicles/{vin}/documents`: a vehicle's archive (一车一档).

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::archive::Documents;
use crate::auth::extractor::{Authorized, perm};
use crate::error::Result;

pub async fn documents(
    caller: Authorized<perm::DocumentsRead>,
    documents: web::Data<Documents>,
    vin: web::Path<String>,
) -> Result<HttpResponse> {
    let docs = documents.vehicle_documents(&caller, &vin).await?;
    Ok(HttpResponse::Ok().json(
        json!({"vin": vin.trim().to_ascii_uppercase(), "total": docs.len(), "documents": docs}),
    ))
}
