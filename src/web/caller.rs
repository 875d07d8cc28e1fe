//! Who is at the front desk: the guard every page declares.
//!
//! `Page<perm::X>` is the page edge's `Authorized<perm::X>`: it finds the
//! session of the cookie, authenticates the session's token through
//! `Accounts::authenticate` (the same checks as a bearer token), and passes the
//! caller through `auth::guard::permit`, which records a refusal — before the
//! handler body runs. A request that changes something must also carry the
//! session's CSRF token: a form field (`PageForm`), or for uploads the
//! `X-CSRF-Token` header. A missing or ended session answers with the way back
//! to the login page and, after it, to the page asked for (spec §9).

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};

use super::PageError;
use super::i18n::{LANG_COOKIE, Lang};
use crate::archive::access::Status;
use crate::auth::Action;
use crate::auth::accounts::Accounts;
use crate::auth::extractor::{Permission, Permitted, request_context};
use crate::auth::sessions::{Sessions, same_secret};
use crate::domain::calendar::Calendar;
use crate::domain::people::Principal;
use crate::error::ErrorKind;

/// The session cookie.
pub const SESSION_COOKIE: &str = "dangan_session";
/// The header an upload carries the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Largest page form body (bytes).
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// What every page shows around its content: language, caller, navigation.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub lang: Lang,
    /// `None` on the login page.
    pub user: Option<Principal>,
    pub csrf: String,
    /// The path and query of this request (where the language switch returns).
    pub here: String,
    /// Navigation: `(href, text key)` the caller's roles allow.
    pub nav: Vec<(&'static str, &'static str)>,
    /// The request wants a fragment (htmx, the upload script), not a page.
    pub fragment: bool,
    /// The request's id (shown with an internal error).
    pub request_id: String,
    /// The archive's time zone, for the times shown.
    pub calendar: Calendar,
}

impl Chrome {
    pub fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }

    /// Whether a navigation entry is the page shown.
    pub fn current(&self, href: &str) -> bool {
        self.here == href
            || self.here.starts_with(&format!("{href}?"))
            || self.here.starts_with(&format!("{href}/"))
    }

    /// An asset's versioned URL.
    pub fn asset(&self, path: &str) -> String {
        super::assets::url(path)
    }

    /// The display names of the caller's roles.
    pub fn roles(&self) -> String {
        self.user.as_ref().map_or_else(String::new, |u| {
            u.roles
                .iter()
                .map(|r| self.t(&format!("role.{r}")))
                .collect::<Vec<_>>()
                .join("、")
        })
    }

    /// A time as the archive's local time with its offset.
    pub fn time(&self, t: &chrono::DateTime<chrono::Utc>) -> String {
        self.calendar.local_minute(*t)
    }

    /// An access request's status, in words.
    pub fn status(&self, s: &Status) -> &'static str {
        self.t(match s {
            Status::Pending => "request.status.pending",
            Status::Approved => "request.status.approved",
            Status::Rejected => "request.status.rejected",
            Status::Revoked => "request.status.revoked",
        })
    }

    /// An access request's status as its API name.
    pub fn status_code(&self, s: &Status) -> &'static str {
        match s {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::Revoked => "revoked",
        }
    }

    /// A category's name in the page's language (its code if unknown).
    pub fn category(&self, scheme: &crate::domain::Classification, code: &str) -> String {
        match scheme.get(code) {
            Some(d) if self.lang == super::i18n::Lang::Zh => d.name_zh.clone(),
            Some(d) => d.name_en.clone(),
            None => code.to_string(),
        }
    }

    /// A confidentiality level's name.
    pub fn level(&self, level: &str) -> &'static str {
        self.t(&format!("level.{level}"))
    }
}

/// The navigation entries and the permission each needs.
const NAV: &[(&str, &str, Action)] = &[
    ("/search", "nav.search", Action::DocumentsRead),
    ("/file", "nav.file", Action::DocumentsFile),
    ("/requests", "nav.requests", Action::AccessRequest),
    ("/approvals", "nav.approvals", Action::AccessDecide),
    ("/retention", "nav.retention", Action::RetentionRead),
    ("/holds", "nav.holds", Action::DocumentsHold),
    ("/disposals", "nav.disposals", Action::DisposalsRead),
    ("/audit", "nav.audit", Action::AuditRead),
    ("/stats", "nav.stats", Action::StatsRead),
    ("/admin/users", "nav.users", Action::UsersManage),
    ("/admin/system", "nav.system", Action::KeysRead),
];

/// The visitor's language (cookie), whoever they are.
pub fn lang_of(req: &HttpRequest) -> Lang {
    Lang::parse(req.cookie(LANG_COOKIE).as_ref().map(|c| c.value()))
}

/// Where a request should return after logging in: its path and query.
pub fn here(req: &HttpRequest) -> String {
    match req.query_string() {
        "" => req.path().to_string(),
        q => format!("{}?{q}", req.path()),
    }
}

/// Whether the browser reached us over HTTPS (here, or at a TLS proxy that
/// says so), so cookies must be `Secure`.
pub fn https(req: &HttpRequest) -> bool {
    req.app_config().secure() || req.connection_info().scheme() == "https"
}

/// A cookie of the front desk: `HttpOnly`, `SameSite=Strict`, `Path=/`, and
/// `Secure` over HTTPS (spec §9).
pub fn cookie<'a>(req: &HttpRequest, name: &'a str, value: String) -> Cookie<'a> {
    Cookie::build(name, value)
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/")
        .secure(https(req))
        .finish()
}

/// A caller allowed to use a page needing `P`.
pub struct Page<P> {
    permitted: Permitted<P>,
    pub chrome: Chrome,
}

impl<P> std::ops::Deref for Page<P> {
    type Target = Permitted<P>;
    fn deref(&self) -> &Permitted<P> {
        &self.permitted
    }
}

impl<P> Page<P> {
    /// A second permission the same page needs (the filing form also reads the
    /// classification scheme): checked, and a refusal recorded, like the first.
    pub async fn also<Q: Permission>(&self, req: &HttpRequest) -> Result<Permitted<Q>, PageError> {
        let accounts = accounts(req)?;
        crate::auth::guard::permit::<Q>(
            self.permitted.ctx().clone(),
            accounts.policy(),
            accounts.audit(),
            req.path(),
        )
        .await
        .map_err(|e| PageError::failed(e, &self.chrome))
    }

    /// Whether the caller's roles allow `action` (to show or hide a form; the
    /// use case still decides).
    pub fn may(&self, req: &HttpRequest, action: Action) -> bool {
        accounts(req).is_ok_and(|a| a.policy().permits(&self.principal().roles, action))
    }
}

fn accounts(req: &HttpRequest) -> Result<web::Data<Accounts>, PageError> {
    req.app_data::<web::Data<Accounts>>()
        .cloned()
        .ok_or_else(|| PageError::Missing("accounts"))
}

/// How the request proves it comes from our own page.
enum Csrf {
    /// A read: nothing to prove.
    NotNeeded,
    /// A change: the token it carried, if any.
    Given(Option<String>),
}

async fn open<P: Permission>(req: HttpRequest, csrf: Csrf) -> Result<Page<P>, PageError> {
    let lang = lang_of(&req);
    let fragment = wants_fragment(&req);
    let login = || PageError::Login {
        next: here(&req),
        fragment,
    };
    let sessions = req
        .app_data::<web::Data<Sessions>>()
        .cloned()
        .ok_or(PageError::Missing("sessions"))?;
    let accounts = accounts(&req)?;
    let Some(sid) = req.cookie(SESSION_COOKIE).map(|c| c.value().to_string()) else {
        return Err(login());
    };
    let Some(session) = sessions.get(&sid) else {
        return Err(login());
    };
    let mut ctx = request_context(&req);
    let principal = match accounts
        .authenticate(&ctx, Some(&session.token), req.path())
        .await
    {
        Ok(p) => p,
        Err(e) if e.kind == ErrorKind::Unauthenticated => {
            sessions.end(&sid);
            return Err(login());
        }
        Err(e) => {
            let chrome = bare_chrome(lang, &req);
            return Err(PageError::failed(e, &chrome));
        }
    };
    ctx.principal = Some(principal.clone());
    // The edge records any refusal of this caller's that no use case did.
    req.extensions_mut().insert(ctx.clone());
    let chrome = Chrome {
        lang,
        nav: NAV
            .iter()
            .filter(|(_, _, a)| accounts.policy().permits(&principal.roles, *a))
            .map(|(href, key, _)| (*href, *key))
            .collect(),
        user: Some(principal.clone()),
        csrf: session.csrf.clone(),
        here: here(&req),
        fragment,
        request_id: ctx.request_id.clone(),
        calendar: calendar_of(&req),
    };
    if let Csrf::Given(given) = csrf
        && !given.is_some_and(|g| same_secret(&g, &session.csrf))
    {
        return Err(PageError::Csrf { lang, fragment });
    }
    let permitted =
        crate::auth::guard::permit::<P>(ctx, accounts.policy(), accounts.audit(), req.path())
            .await
            .map_err(|e| PageError::failed(e, &chrome))?;
    if session.renew
        && let Some(token) = accounts.renew(&principal).await
    {
        sessions.renew(&sid, token);
    }
    Ok(Page { permitted, chrome })
}

/// The chrome of a page shown to nobody in particular (login, errors).
pub fn bare_chrome(lang: Lang, req: &HttpRequest) -> Chrome {
    Chrome {
        lang,
        user: None,
        csrf: String::new(),
        here: here(req),
        nav: vec![],
        fragment: wants_fragment(req),
        request_id: request_context(req).request_id,
        calendar: calendar_of(req),
    }
}

fn calendar_of(req: &HttpRequest) -> Calendar {
    req.app_data::<web::Data<Calendar>>()
        .map(|c| *c.get_ref())
        .unwrap_or_default()
}

/// Whether the request comes from htmx or the upload script.
pub fn wants_fragment(req: &HttpRequest) -> bool {
    req.headers().contains_key("hx-request")
}

fn is_read(req: &HttpRequest) -> bool {
    matches!(req.method().as_str(), "GET" | "HEAD")
}

impl<P: Permission + 'static> FromRequest for Page<P> {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PageError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let csrf = match is_read(&req) {
                true => Csrf::NotNeeded,
                // An upload carries it in a header (script) or in the
                // form's action URL (a multipart form, whose parts are exact).
                false => Csrf::Given(
                    req.headers()
                        .get(CSRF_HEADER)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                        .or_else(|| {
                            serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
                                .ok()?
                                .into_iter()
                                .find(|(k, _)| k == "csrf")
                                .map(|(_, v)| v)
                        }),
                ),
            };
            open::<P>(req, csrf).await
        })
    }
}

/// The fields of a page's form (`application/x-www-form-urlencoded`).
pub struct Form(Vec<(String, String)>);

impl Form {
    /// The value of a field, trimmed; `None` when missing or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Every non-blank value of a repeated field (checkboxes), trimmed.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
            .collect()
    }
}

/// A caller allowed to use a page needing `P`, and the form they sent, whose
/// `csrf` field must be the session's token.
pub struct PageForm<P> {
    pub page: Page<P>,
    pub form: Form,
}

impl<P: Permission + 'static> FromRequest for PageForm<P> {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PageError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let fields = read_form(&req, &mut payload).await;
            let csrf = fields
                .as_ref()
                .ok()
                .and_then(|f| f.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.clone()))
                .or_else(|| {
                    req.headers()
                        .get(CSRF_HEADER)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                });
            let page = open::<P>(req.clone(), Csrf::Given(csrf)).await?;
            let fields = fields.map_err(|e| PageError::failed(e, &page.chrome))?;
            Ok(PageForm {
                page,
                form: Form(fields),
            })
        })
    }
}

/// Reads a urlencoded form body of at most [`MAX_FORM_BYTES`].
pub async fn read_form<S>(
    req: &HttpRequest,
    payload: &mut S,
) -> Result<Vec<(String, String)>, crate::error::Error>
where
    S: futures_util::Stream<Item = Result<bytes::Bytes, actix_web::error::PayloadError>> + Unpin,
{
    use crate::error::{Code, Error};
    use futures_util::StreamExt;
    let urlencoded = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !urlencoded {
        return Err(Error::new(
            Code::UnsupportedMediaType,
            "expected a form (application/x-www-form-urlencoded)",
        ));
    }
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| Error::new(Code::UnreadableBody, e.to_string()))?;
        if body.len() + chunk.len() > MAX_FORM_BYTES {
            return Err(Error::new(
                Code::BodyTooLarge,
                format!("a form is at most {MAX_FORM_BYTES} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    serde_urlencoded::from_bytes(&body).map_err(|e| Error::new(Code::InvalidBody, e.to_string()))
}

/// The caller of an open page (login): the request context and language.
pub struct Visitor {
    pub ctx: crate::audit::Context,
    pub chrome: Chrome,
}

impl FromRequest for Visitor {
    type Error = PageError;
    type Future = std::future::Ready<Result<Self, PageError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Visitor {
            ctx: request_context(req),
            chrome: bare_chrome(lang_of(req), req),
        }))
    }
}

/// The permission types, for page handlers.
pub use crate::auth::extractor::perm;
