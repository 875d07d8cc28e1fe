//! HTTP: request and response types and handlers, one file per resource.
//!
//! A handler extracts the caller (its `Authorized<perm::X>` argument declares the
//! permission the route needs and hands the use case its proof), parses the
//! request, calls one use case of the one service it receives, and maps the
//! result. [`routes::ROUTES`] is the whole API surface.

mod access;
mod admin;
mod audit;
mod auth;
mod classification;
mod documents;
mod health;
pub mod multipart;
pub mod openapi;
mod records;
pub mod routes;
pub mod search;
mod users;
mod vehicles;

use actix_web::{HttpRequest, HttpResponse, web};

use std::sync::Arc;

use crate::archive::Services;
use crate::archive::auditing::Auditing;
use crate::archive::{AccessRequests, Documents, Maintenance, Records, Search};
use crate::auth::accounts::Accounts;
use crate::error::{Code, Error};
use crate::metrics::Metrics;

/// Headers every response carries unless its handler set them (spec §6): no
/// content sniffing, no caching (every answer but health is someone's data),
/// no framing, and a CSP that lets a response load, run or frame nothing — a
/// downloaded file opened in the browser included.
pub fn security_headers() -> actix_web::middleware::DefaultHeaders {
    actix_web::middleware::DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Cache-Control", "no-store"))
        .add(("X-Frame-Options", "DENY"))
        .add((
            "Content-Security-Policy",
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox",
        ))
        .add(("Referrer-Policy", "no-referrer"))
}

/// Records every answer of an authenticated caller — and of the login route —
/// that left no record on its way (spec §4): a 400 for a malformed page number
/// or date (also when it was refused before the caller's token was checked), a
/// 422 from a body that never reached its use case, an unknown route, a
/// malformed login body. Everything else records itself in its use case.
pub async fn record_unrecorded(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    use actix_web::HttpMessage;
    let login = req.path() == "/api/v1/auth/login";
    let res = next.call(req).await?;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return Ok(res);
    }
    let request = res.request().clone();
    let Some(accounts) = request.app_data::<web::Data<Accounts>>() else {
        return Ok(res);
    };
    let log = accounts.audit();
    // Whatever recorded this request (a use case, a refused token) said enough.
    let request_id = request
        .extensions()
        .get::<crate::auth::extractor::RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    if log.recorded(&request_id) {
        return Ok(res);
    }
    let known = request.extensions().get::<crate::audit::Context>().cloned();
    let ctx = match known {
        Some(ctx) => ctx,
        None if login => crate::auth::extractor::request_context(&request),
        // Refused before its caller was authenticated (a malformed query or
        // path is extracted beside the caller): authenticate now, which
        // records a bad token itself.
        None => match crate::auth::extractor::bearer(&request) {
            Some(token) => {
                let mut ctx = crate::auth::extractor::request_context(&request);
                match accounts
                    .authenticate(&ctx, Some(&token), request.path())
                    .await
                {
                    Ok(p) => ctx.principal = Some(p),
                    Err(_) => return Ok(res),
                }
                ctx
            }
            None => return Ok(res),
        },
    };
    if log.recorded(&ctx.request_id) {
        return Ok(res);
    }
    let outcome = if status.is_server_error() {
        crate::audit::Outcome::Error
    } else {
        crate::audit::Outcome::Denied
    };
    let route = request
        .match_pattern()
        .unwrap_or_else(|| "unmatched".into());
    let action = if login {
        "auth.login"
    } else {
        "request.refused"
    };
    let event = ctx.event(action, outcome).detail(serde_json::json!({
        "method": request.method().as_str(),
        "route": route,
        "status": status.as_u16(),
    }));
    if let Err(e) = log.record(event).await {
        tracing::error!(error = ?e, "cannot record a refused request");
    }
    Ok(res)
}

/// Limits of request bodies the edge enforces before a use case sees them.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// A JSON body (bytes).
    pub max_json_bytes: usize,
    /// The `metadata` part of a filing (bytes).
    pub max_metadata_bytes: usize,
}

/// What the handlers receive: each service once, shared by every worker.
#[derive(Clone)]
pub struct Edge {
    documents: web::Data<Documents>,
    search: web::Data<Search>,
    access: web::Data<AccessRequests>,
    records: web::Data<Records>,
    maintenance: web::Data<Maintenance>,
    auditing: web::Data<Auditing>,
    accounts: web::Data<Accounts>,
    metrics: web::Data<Metrics>,
    limits: web::Data<BodyLimits>,
}

impl Edge {
    /// The edge of the given services.
    pub fn new(
        s: &Services,
        accounts: Arc<Accounts>,
        auditing: Arc<Auditing>,
        metrics: Arc<Metrics>,
        limits: BodyLimits,
    ) -> Self {
        Edge {
            documents: web::Data::from(s.documents.clone()),
            search: web::Data::from(s.search.clone()),
            access: web::Data::from(s.access.clone()),
            records: web::Data::from(s.records.clone()),
            maintenance: web::Data::from(s.maintenance.clone()),
            auditing: web::Data::from(auditing),
            accounts: web::Data::from(accounts),
            metrics: web::Data::from(metrics),
            limits: web::Data::new(limits),
        }
    }

    /// The services, the body and parameter rules, and every route (the
    /// fallback for unknown routes is `web::not_found`, set by the server).
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(self.documents.clone())
            .app_data(self.search.clone())
            .app_data(self.access.clone())
            .app_data(self.records.clone())
            .app_data(self.maintenance.clone())
            .app_data(self.auditing.clone())
            .app_data(self.accounts.clone())
            .app_data(self.metrics.clone())
            .app_data(self.limits.clone())
            .app_data(json_config(self.limits.max_json_bytes))
            .app_data(web::QueryConfig::default().error_handler(|e, _| {
                Error::new(crate::error::Code::InvalidQuery, e.to_string()).into()
            }))
            .app_data(web::PathConfig::default().error_handler(|e, _| {
                Error::new(crate::error::Code::InvalidPath, e.to_string()).into()
            }))
            .configure(routes::register);
    }
}

fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|err, _req| {
            use actix_web::error::JsonPayloadError as J;
            let e = match &err {
                J::OverflowKnownLength { .. } | J::Overflow { .. } => {
                    Error::new(Code::BodyTooLarge, err.to_string())
                }
                J::ContentType => Error::new(
                    Code::UnsupportedMediaType,
                    "expected Content-Type: application/json",
                ),
                J::Deserialize(de) if de.is_data() => Error::new(Code::InvalidBody, de.to_string()),
                J::Deserialize(de) => Error::new(Code::InvalidJson, de.to_string()),
                _ => Error::new(Code::UnreadableBody, err.to_string()),
            };
            e.into()
        })
}

/// The answer to a request no route takes (JSON; the pages' fallback hands
/// API requests and non-browsers here).
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    let message = format!(
        "no route for {} {}",
        req.method(),
        crate::domain::people::truncate(req.path(), 100)
    );
    actix_web::ResponseError::error_response(&Error::new(crate::error::Code::NotFound, message))
}
