//! HTTP: request and response types and handlers, one file per resource.
//!
//! A handler extracts the caller (its `Authorized<perm::X>` argument declares the
//! permission the route needs), parses the request, calls one use case and maps
//! the result. The route table below is the whole API surface.

mod access;
mod admin;
mod audit;
mod auth;
mod classification;
mod documents;
mod health;
pub mod multipart;
pub mod openapi;
mod search;
mod users;
mod vehicles;

use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::{Code, Error};

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
    let Some(state) = request.app_data::<web::Data<crate::startup::AppState>>() else {
        return Ok(res);
    };
    let log = state.accounts.audit();
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
                match state
                    .accounts
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

/// Every route, with the handler that serves it.
pub fn routes(cfg: &mut web::ServiceConfig, max_json_bytes: usize) {
    cfg.app_data(json_config(max_json_bytes))
        .app_data(
            web::QueryConfig::default()
                .error_handler(|e, _| Error::new(Code::InvalidQuery, e.to_string()).into()),
        )
        .app_data(
            web::PathConfig::default()
                .error_handler(|e, _| Error::new(Code::InvalidPath, e.to_string()).into()),
        )
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(health::metrics))
        .service(
            web::scope("/api/v1")
                .route("/openapi.json", web::get().to(openapi::serve))
                .route("/auth/login", web::post().to(auth::login))
                .route("/auth/me", web::get().to(auth::me))
                .route("/users", web::post().to(users::create))
                .route("/users", web::get().to(users::list))
                .route("/users/{username}", web::patch().to(users::update))
                .route("/classification", web::get().to(classification::get))
                .route("/documents", web::post().to(documents::file))
                .route("/documents/{id}", web::get().to(documents::get))
                .route("/documents/{id}", web::patch().to(documents::correct))
                .route("/documents/{id}/content", web::get().to(documents::content))
                .route(
                    "/documents/{id}/versions",
                    web::get().to(documents::versions),
                )
                .route(
                    "/documents/{id}/versions",
                    web::post().to(documents::add_version),
                )
                .route(
                    "/vehicles/{vin}/documents",
                    web::get().to(vehicles::documents),
                )
                .route("/search", web::get().to(search::search))
                .route("/admin/reindex", web::post().to(admin::reindex))
                .route("/admin/key-rotation", web::get().to(admin::key_rotation))
                .route(
                    "/documents/{id}/legal-hold",
                    web::put().to(documents::legal_hold),
                )
                .route("/retention/due", web::get().to(documents::retention_due))
                .route("/disposals", web::post().to(documents::propose_disposal))
                .route(
                    "/disposals/{id}/approve",
                    web::post().to(documents::approve_disposal),
                )
                .route(
                    "/disposals/{id}/reject",
                    web::post().to(documents::reject_disposal),
                )
                .route("/disposals/{id}", web::get().to(documents::disposal))
                .route("/audit/events", web::get().to(audit::events))
                .route("/audit/verify", web::get().to(audit::verify))
                .route("/audit/checkpoints", web::get().to(audit::checkpoints))
                .route("/access-requests", web::post().to(access::create))
                .route("/access-requests", web::get().to(access::list))
                .route(
                    "/access-requests/{id}/approve",
                    web::post().to(access::approve),
                )
                .route(
                    "/access-requests/{id}/reject",
                    web::post().to(access::reject),
                )
                .route(
                    "/access-requests/{id}/revoke",
                    web::post().to(access::revoke),
                ),
        )
        .default_service(web::to(not_found));
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

async fn not_found(req: HttpRequest) -> HttpResponse {
    let message = format!(
        "no route for {} {}",
        req.method(),
        crate::domain::people::truncate(req.path(), 100)
    );
    actix_web::ResponseError::error_response(&Error::new(crate::error::Code::NotFound, message))
}
