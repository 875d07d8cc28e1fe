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
        Err(e) => actix_web::ResponseError::error_response(&e),
    }
}

/// Prometheus metrics (text format). Open like the health endpoints: it holds
/// counts and latencies only, no document, user or query.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    state
        .metrics
        .documents
        .set(state.archive.catalog().len() as i64);
    state
        .metrics
        .audit_records
        .set(state.auditing.log.head().seq as i64);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}
