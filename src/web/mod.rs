//! The web front desk (spec §9): server-rendered pages for the people of a
//! dealership, served by the same binary at `/`.
//!
//! Pages are an edge like `api/`: a page handler extracts the session's caller
//! (`Page<perm::X>` declares the permission and hands the use case its proof),
//! parses the form or query into domain types, calls the same use case the API
//! calls — so the same permission checks, masking and retrieval-log records
//! apply — and renders a template (askama, checked at compile time). No page
//! touches the store or the index. [`routes::PAGES`] lists every page.
//!
//! - [`caller`]: sessions in cookies, CSRF, the page guard;
//! - [`render`]: the pages' headers and the error page;
//! - [`i18n`]: every text in Chinese and English;
//! - [`assets`]: our scripts and styles and the vendored libraries, embedded;
//! - `pages/`: one file per desk.

pub mod assets;
pub mod caller;
pub mod i18n;
mod pages;
pub mod render;
pub mod routes;

pub use render::PageError;

use std::sync::Arc;

use actix_web::web;

use crate::auth::sessions::Sessions;

/// Registers the pages and the session store they share.
pub fn configure(
    cfg: &mut web::ServiceConfig,
    sessions: &web::Data<Sessions>,
    calendar: &web::Data<crate::domain::calendar::Calendar>,
) {
    cfg.app_data(sessions.clone())
        .app_data(calendar.clone())
        .configure(routes::register);
}

/// The answer to a request no route takes: a page a person can act on for a
/// browser asking for a page, the API's JSON 404 for anything else.
pub async fn not_found(req: actix_web::HttpRequest) -> actix_web::HttpResponse {
    let page = !req.path().starts_with("/api/")
        && req
            .headers()
            .get(actix_web::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
    if !page {
        return crate::api::not_found(req).await;
    }
    let lang = caller::lang_of(&req);
    let chrome = caller::bare_chrome(lang, &req);
    actix_web::ResponseError::error_response(&PageError::failed(
        crate::error::Error::new(crate::error::Code::NotFound, "no such page"),
        &chrome,
    ))
}

/// The session store of a server, from its configuration.
pub fn sessions(config: &crate::config::AuthConfig) -> web::Data<Sessions> {
    use std::time::Duration;
    web::Data::from(Arc::new(Sessions::new(
        Duration::from_secs(config.session_idle_secs),
        Duration::from_secs(config.session_max_secs),
        Duration::from_secs(config.token_ttl_secs),
    )))
}
