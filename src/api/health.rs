//! Liveness and readiness.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::startup::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Ready when the object store answers.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state
        .blob
        .list(&object_store::path::Path::from("system"))
        .await
    {
        Ok(_) => HttpResponse::Ok()
            .json(json!({"status": "ready", "documents": state.archive.catalog().len()})),
        Err(_) => crate::error::error_response(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "the object store is unavailable",
        ),
    }
}
