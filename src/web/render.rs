//! Turning a page or a failure into a response: the pages' headers (a strict
//! CSP with no inline script or style, spec §6 and §9) and the error page a
//! person can act on, in their language, with the field named and never an
//! internal message.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use super::caller::Chrome;
use super::i18n::Lang;
use crate::error::{Code, Error, ErrorKind};

/// The policy of every page: scripts, styles, fonts, images and connections
/// from this server only; pdf.js's worker from this server; forms post only
/// here; no framing, no plugins, no base-URL tricks.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; font-src 'self' data:; connect-src 'self'; worker-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A rendered page (or fragment) with the pages' headers.
pub fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Content-Security-Policy", PAGE_CSP))
        .insert_header(("Cache-Control", "no-store"))
        .body(body)
}

/// Renders a template; a template that fails to render is an internal error.
pub fn render(t: &impl Template) -> Result<HttpResponse, PageError> {
    render_with(StatusCode::OK, t)
}

pub fn render_with(status: StatusCode, t: &impl Template) -> Result<HttpResponse, PageError> {
    let body = t.render().map_err(|e| {
        tracing::error!(error = %e, "a page template failed to render");
        PageError::Missing("template")
    })?;
    Ok(html(status, body))
}

/// Why a page could not be shown.
#[derive(Debug)]
pub enum PageError {
    /// No live session: back to the login page, then to `next`.
    Login { next: String, fragment: bool },
    /// A change without this session's CSRF token (a forged or stale form).
    Csrf { lang: Lang, fragment: bool },
    /// A use case refused or failed.
    Failed {
        error: Error,
        lang: Lang,
        fragment: bool,
        request_id: String,
    },
    /// A part of the server is missing (a bug).
    Missing(&'static str),
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PageError::Login { .. } => f.write_str("login required"),
            PageError::Csrf { .. } => f.write_str("csrf token missing or wrong"),
            PageError::Failed { error, .. } => write!(f, "{error}"),
            PageError::Missing(what) => write!(f, "{what} missing"),
        }
    }
}

impl PageError {
    pub fn failed(error: Error, chrome: &Chrome) -> Self {
        PageError::Failed {
            error,
            lang: chrome.lang,
            fragment: chrome.fragment,
            request_id: chrome.request_id.clone(),
        }
    }
}

/// Results of use cases, as page results.
pub trait OrPage<T> {
    fn or_page(self, chrome: &Chrome) -> Result<T, PageError>;
}

impl<T> OrPage<T> for crate::error::Result<T> {
    fn or_page(self, chrome: &Chrome) -> Result<T, PageError> {
        self.map_err(|e| PageError::failed(e, chrome))
    }
}

/// What a person is told of an error: a sentence, and the field it is about.
pub struct Explained {
    pub message: String,
    pub field: Option<String>,
    pub detail: Option<String>,
}

/// Error codes with a sentence of their own.
const CODE_TEXTS: &[(Code, &str)] = &[
    (Code::InvalidCredentials, "err.login"),
    (Code::TooManyAttempts, "err.locked"),
    (Code::InvalidVin, "vehicle.vin_bad"),
    (Code::InvalidPlate, "vehicle.plate_bad"),
    (Code::PurposeRequired, "err.purpose"),
    (Code::ReasonRequired, "err.reason"),
    (Code::InvalidReason, "err.reason"),
    (Code::EmptyFile, "err.empty_file"),
    (Code::InvalidDays, "err.days"),
    (Code::NothingToCorrect, "err.nothing"),
    (Code::LegalHold, "err.legal_hold"),
    (Code::InvalidRoles, "err.roles"),
    (Code::UserExists, "err.user_exists"),
    (Code::WeakPassword, "err.weak_password"),
];

/// Whether `e` refuses what a form said (shown beside the form, with the
/// error's own status) rather than a failure (the error page).
pub fn is_input(e: &Error) -> bool {
    matches!(
        e.kind,
        ErrorKind::BadRequest
            | ErrorKind::Invalid
            | ErrorKind::Conflict
            | ErrorKind::Forbidden
            | ErrorKind::NotFound
    )
}

/// Explains an error in `lang`: a sentence by code or kind, the field named in
/// the message (`vehicle.vin: ...`) as its label, and the server's own message
/// for a person to quote — never for an internal error.
pub fn explain(e: &Error, lang: Lang) -> Explained {
    let (field, rest) = match e.message().split_once(": ") {
        Some((f, rest))
            if !f.is_empty()
                && f.len() <= 40
                && f.bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_') =>
        {
            (Some(f), rest)
        }
        _ => (None, e.message()),
    };
    let label = field.map(|f| match lang.t_opt(f) {
        Some(label) => label.to_string(),
        None => f.to_string(),
    });
    let by_code = CODE_TEXTS
        .iter()
        .find(|(c, _)| *c == e.code)
        .map(|(_, k)| *k);
    let key = by_code.unwrap_or(match e.kind {
        ErrorKind::NotFound => "err.not_found",
        ErrorKind::Forbidden => "err.forbidden",
        ErrorKind::TooLarge => "err.too_large",
        ErrorKind::Unavailable | ErrorKind::InsufficientStorage => "err.unavailable",
        ErrorKind::Internal | ErrorKind::Integrity => "err.internal",
        ErrorKind::TooManyRequests => "err.locked",
        _ => "err.invalid",
    });
    let internal = matches!(e.kind, ErrorKind::Internal | ErrorKind::Integrity);
    let shows_detail = !internal && !matches!(e.kind, ErrorKind::NotFound | ErrorKind::Forbidden);
    Explained {
        message: lang.t(key).to_string(),
        field: label,
        detail: shows_detail.then(|| rest.to_string()),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    c: &'a Chrome,
    e: Explained,
    request_id: Option<String>,
}

#[derive(Template)]
#[template(path = "error_fragment.html")]
struct ErrorFragment<'a> {
    c: &'a Chrome,
    e: Explained,
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::Login { fragment: true, .. } => StatusCode::UNAUTHORIZED,
            PageError::Login { .. } => StatusCode::SEE_OTHER,
            PageError::Csrf { .. } => StatusCode::FORBIDDEN,
            PageError::Failed { error, .. } => error.kind.status(),
            PageError::Missing(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut request_id = None;
        let (error, lang, fragment) = match self {
            PageError::Login { next, fragment } => {
                let to = format!("/login?next={}", urlencode(next));
                let mut r = HttpResponse::build(self.status_code());
                r.insert_header(("Location", to.clone()));
                if *fragment {
                    // htmx and the upload script follow this to the login page.
                    r.insert_header(("HX-Redirect", to));
                }
                return r.finish();
            }
            PageError::Csrf { lang, fragment } => {
                (Error::new(Code::Forbidden, "csrf"), *lang, *fragment)
            }
            PageError::Failed {
                error,
                lang,
                fragment,
                request_id: id,
            } => {
                request_id = Some(id.clone());
                (
                    Error::new(error.code, error.message().to_string()),
                    *lang,
                    *fragment,
                )
            }
            PageError::Missing(what) => (Error::internal(*what), Lang::Zh, false),
        };
        if matches!(
            error.kind,
            ErrorKind::Internal | ErrorKind::Integrity | ErrorKind::Unavailable
        ) {
            tracing::error!(code = error.code.as_str(), error = ?self, "page failed");
        }
        let chrome = Chrome {
            lang,
            user: None,
            csrf: String::new(),
            here: "/".into(),
            nav: vec![],
            fragment,
            request_id: String::new(),
            calendar: Default::default(),
        };
        let internal = matches!(error.kind, ErrorKind::Internal | ErrorKind::Integrity);
        let request_id = request_id.filter(|_| internal);
        let mut e = explain(&error, lang);
        if matches!(self, PageError::Csrf { .. }) {
            e = Explained {
                message: lang.t("err.csrf").into(),
                field: None,
                detail: None,
            };
        }
        let body = if fragment {
            ErrorFragment { c: &chrome, e }.render()
        } else {
            ErrorPage {
                c: &chrome,
                e,
                request_id,
            }
            .render()
        };
        html(self.status_code(), body.unwrap_or_else(|_| "error".into()))
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters kept).
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A return path from a form or query: a local path only (`/…`, not `//…` or
/// a URL elsewhere), so logging in cannot send anyone off-site.
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_return_path_stays_on_this_server() {
        assert_eq!(local_path(Some("/search?q=1")), "/search?q=1");
        for bad in ["//evil.example", "https://evil.example", "/\\evil", "x", ""] {
            assert_eq!(local_path(Some(bad)), "/", "{bad}");
        }
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn an_error_names_its_field_in_the_page_language() {
        let e = Error::new(
            Code::InvalidMetadata,
            "vehicle.vin: check digit is 1 but should be 2",
        );
        let zh = explain(&e, Lang::Zh);
        assert_eq!(zh.field.as_deref(), Some("车架号（VIN）"));
        assert_eq!(zh.message, Lang::Zh.t("err.invalid"));
        assert_eq!(
            zh.detail.as_deref(),
            Some("check digit is 1 but should be 2")
        );
        let en = explain(&e, Lang::En);
        assert_eq!(en.field.as_deref(), Some("VIN"));
    }

    #[test]
    fn an_internal_error_shows_no_internal_message() {
        let e = Error::internal("catalog lock poisoned at src/archive/catalog.rs:12");
        let shown = explain(&e, Lang::En);
        assert_eq!(shown.detail, None);
        assert!(!shown.message.contains("catalog"));
    }
}
