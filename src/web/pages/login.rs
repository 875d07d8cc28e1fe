//! `/login`, `/logout`, `/lang`: the front desk's door. Login checks the same
//! accounts, lockout and throttling as `POST /api/v1/auth/login` (it calls the
//! same use case) and starts a session; the session cookie is `HttpOnly`,
//! `SameSite=Strict`, `Path=/`, and `Secure` over HTTPS (spec §9).

use actix_web::cookie::time::Duration as CookieAge;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::see_other;
use crate::auth::accounts::Accounts;
use crate::auth::sessions::Sessions;
use crate::error::{Code, Error};
use crate::web::PageError;
use crate::web::caller::{Chrome, PageForm, SESSION_COOKIE, Visitor, cookie, perm, read_form};
use crate::web::i18n::{LANG_COOKIE, Lang};
use crate::web::render::{Explained, OrPage, explain, local_path, render_with};

#[derive(Template)]
#[template(path = "login.html")]
struct Login<'a> {
    c: &'a Chrome,
    next: String,
    username: String,
    expired: bool,
    error: Option<Explained>,
}

#[derive(serde::Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// `GET /login?next=/page`.
pub async fn form(visitor: Visitor, req: HttpRequest) -> Result<HttpResponse, PageError> {
    let query: LoginQuery =
        serde_urlencoded::from_str(req.query_string()).unwrap_or(LoginQuery { next: None });
    // Sent here by a page, not by the visitor's own choice: the session ended.
    let expired = query.next.is_some() && req.cookie(SESSION_COOKIE).is_some();
    render_with(
        StatusCode::OK,
        &Login {
            c: &visitor.chrome,
            next: local_path(query.next.as_deref()),
            username: String::new(),
            expired,
            error: None,
        },
    )
}

/// Whether a form post comes from a page of this very server: a browser says
/// where a request comes from in `Sec-Fetch-Site`, and names the page's origin
/// in `Origin` (`null` under our `Referrer-Policy: no-referrer`).
fn same_origin(req: &HttpRequest) -> bool {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return matches!(site, "same-origin" | "none");
    }
    match header("origin") {
        None | Some("null") => true,
        Some(origin) => {
            let host = req.connection_info().host().to_string();
            origin
                .split_once("://")
                .is_some_and(|(_, rest)| rest == host)
        }
    }
}

/// `POST /login`: `username`, `password`, `next`.
pub async fn submit(
    visitor: Visitor,
    req: HttpRequest,
    accounts: web::Data<Accounts>,
    sessions: web::Data<Sessions>,
    mut payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let c = &visitor.chrome;
    if !same_origin(&req) {
        return Err(PageError::Csrf {
            lang: c.lang,
            fragment: false,
        });
    }
    let fields = read_form(&req, &mut payload).await.or_page(c)?;
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (username, password) = (field("username"), field("password"));
    let next = local_path(Some(&field("next")));
    let failed = |e: Error| {
        let status = e.kind.status();
        render_with(
            status,
            &Login {
                c,
                next: next.clone(),
                username: username.trim().to_string(),
                expired: false,
                error: Some(explain(&e, c.lang)),
            },
        )
    };
    if username.trim().is_empty() || password.is_empty() {
        return failed(Error::new(
            Code::InvalidCredentials,
            "user name and password are required",
        ));
    }
    match accounts
        .login(&visitor.ctx, username.trim(), &password)
        .await
    {
        Ok(token) => {
            let (sid, _csrf) = sessions.start(token.access_token);
            Ok(HttpResponse::SeeOther()
                .insert_header(("Location", next.clone()))
                .cookie(cookie(&req, SESSION_COOKIE, sid))
                .finish())
        }
        Err(e) => failed(e),
    }
}

/// `POST /logout`: ends the session (recorded) and forgets the cookie.
pub async fn logout(
    form: PageForm<perm::AuthMe>,
    req: HttpRequest,
    accounts: web::Data<Accounts>,
    sessions: web::Data<Sessions>,
) -> Result<HttpResponse, PageError> {
    accounts
        .logout(&form.page)
        .await
        .or_page(&form.page.chrome)?;
    if let Some(sid) = req.cookie(SESSION_COOKIE) {
        sessions.end(sid.value());
    }
    let mut gone = cookie(&req, SESSION_COOKIE, String::new());
    gone.make_removal();
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", "/login"))
        .cookie(gone)
        .finish())
}

/// `POST /lang`: `lang` (`zh` or `en`) and `next`; remembered for a year.
pub async fn switch_lang(
    req: HttpRequest,
    mut payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let fields = read_form(&req, &mut payload).await.unwrap_or_default();
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let lang = Lang::parse(field("lang"));
    let mut c = cookie(&req, LANG_COOKIE, lang.code().to_string());
    c.set_max_age(CookieAge::days(365));
    let mut r = see_other(&local_path(field("next")));
    r.add_cookie(&c).map_err(|_| PageError::Missing("cookie"))?;
    Ok(r)
}
