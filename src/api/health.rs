//! Liveness, readiness and metrics: open endpoints that hold counts only.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::archive::Maintenance;
use crate::metrics::Metrics;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Ready when the object store answers.
pub async fn readyz(maintenance: web::Data<Maintenance>) -> HttpResponse {
    match maintenance.readiness().await {
        Ok(documents) => {
            HttpResponse::Ok().json(json!({"status": "ready", "documents": documents}))
        }
        Err(e) => actix_web::ResponseError::error_response(&e),
    }
}

/// Prometheus metrics (text format). Open like the health endpoints: it holds
/// counts and latencies only, no document, user or query.
pub async fn metrics(
    maintenance: web::Data<Maintenance>,
    metrics: web::Data<Metrics>,
) -> HttpResponse {
    metrics.documents.set(maintenance.documents() as i64);
    metrics.audit_records.set(maintenance.log_head() as i64);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render())
}
