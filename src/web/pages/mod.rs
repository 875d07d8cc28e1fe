//! One file per desk: the page handlers. Each extracts its caller with the
//! page guard, parses, calls one use case and renders a template.

pub mod admin;
pub mod approvals;
pub mod audit;
pub mod documents;
pub mod filing;
pub mod home;
pub mod login;
pub mod records;
pub mod requests;
pub mod search;
pub mod stats;
pub mod timeline;

use actix_web::HttpResponse;

#[cfg(test)]
pub use documents::FIELDS;

/// A 303 to a local path (after a form post: the browser then GETs it).
pub fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", to.to_string()))
        .finish()
}
