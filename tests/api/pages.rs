//! The front desk's pages without a browser: every page of the page table ×
//! every role (deny by default, a refusal recorded), CSRF refusal, the
//! session's expiry and its return path.

use std::collections::BTreeMap;

use reqwest::redirect::Policy;

use crate::helpers::{ADMIN_PASSWORD, PASSWORD, spawn_app, spawn_app_in, test_config};
use dangan::web::routes::PAGES;

/// A urlencoded form body, as a browser posts it.
pub trait FormBody {
    fn form_body<T: serde::Serialize + ?Sized>(self, fields: &T) -> Self;
}

impl FormBody for reqwest::RequestBuilder {
    fn form_body<T: serde::Serialize + ?Sized>(self, fields: &T) -> Self {
        self.header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(fields).unwrap())
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// Logs in through the login form: the session cookie's `name=value`.
pub async fn page_login(address: &str, user: &str, password: &str) -> String {
    let r = client()
        .post(format!("{address}/login"))
        .form_body(&[("username", user), ("password", password), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "login of {user}");
    let cookie = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    cookie.split(';').next().unwrap().to_string()
}

/// The CSRF token of a session, as its pages carry it.
pub async fn csrf_of(address: &str, cookie: &str) -> String {
    let body = reqwest::Client::new()
        .get(format!("{address}/"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = body.find("data-csrf=\"").unwrap() + "data-csrf=\"".len();
    body[at..].split('"').next().unwrap().to_string()
}

/// The roles each page's permission allows, written out independently of
/// `schema/roles.toml` (the oracle the table is checked against).
fn allowed(permission: &str) -> &'static [&'static str] {
    match permission {
        "auth.me" => &["clerk", "staff", "supervisor", "auditor", "admin"],
        "documents.read" => &["clerk", "staff", "supervisor", "auditor"],
        "documents.file" | "documents.version" | "documents.correct" => &["clerk"],
        "documents.content" => &["clerk", "staff", "supervisor"],
        "access.request" => &["staff", "supervisor"],
        "access.decide" => &["supervisor"],
        "audit.read" => &["auditor"],
        "stats.read" => &["supervisor", "auditor"],
        "users.manage" | "index.rebuild" | "keys.read" => &["admin"],
        "retention.read" => &["clerk", "supervisor"],
        "disposals.propose" => &["clerk"],
        "disposals.read" => &["clerk", "supervisor", "auditor"],
        "disposals.approve" | "documents.hold" => &["supervisor"],
        other => panic!("page permission {other} not in the test's table"),
    }
}

#[tokio::test]
async fn every_page_answers_only_the_roles_its_permission_allows() {
    let app = spawn_app().await;
    let admin = page_login(&app.address, "admin", ADMIN_PASSWORD).await;
    let mut users = BTreeMap::new();
    users.insert("admin", admin);
    for (name, role) in [
        ("clerk_bj", "clerk"),
        ("staff_bj", "staff"),
        ("super_bj", "supervisor"),
        ("auditor", "auditor"),
    ] {
        users.insert(role, page_login(&app.address, name, PASSWORD).await);
    }
    let mut tokens = BTreeMap::new();
    for (role, cookie) in &users {
        tokens.insert(*role, csrf_of(&app.address, cookie).await);
    }
    let mut walked = 0;
    // Logging out ends the session the rest of the walk uses: the browser
    // test covers it.
    for page in PAGES
        .iter()
        .filter(|p| p.permission.is_some() && p.path != "/logout")
    {
        let permission = page.permission.unwrap().as_str();
        let path = page
            .path
            .replace("{id}", "BJ01-WX-2026-999999")
            .replace("{vin}", "LFV2A21K0M3000001")
            .replace("{decision}", "approve")
            .replace("{username}", "nobody");
        for (role, cookie) in &users {
            let request = match page.method {
                "GET" => client().get(format!("{}{path}", app.address)),
                // A form with nothing but the session's token: the handler
                // itself runs and must refuse the empty form, never fail.
                _ => client()
                    .post(format!("{}{path}", app.address))
                    .header("x-csrf-token", &tokens[role])
                    .form_body(&[("csrf", tokens[role].as_str())]),
            };
            let r = request
                .header("cookie", cookie)
                .header("accept", "text/html")
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            if allowed(permission).contains(role) {
                assert_ne!(status, 403, "{role} {} {path}", page.method);
                assert!(status < 500, "{role} {} {path}: {status}", page.method);
            } else {
                assert_eq!(status, 403, "{role} {} {path}", page.method);
                let body = r.text().await.unwrap();
                assert!(body.contains("data-error"), "a page a person can read");
            }
            walked += 1;
        }
    }
    assert!(
        walked >= 37 * 5,
        "walked {walked}: every guarded page × 5 roles"
    );
    let denied: Vec<serde_json::Value> = app
        .audit_records()
        .into_iter()
        .filter(|r| r["action"] == "permission.denied" && r["user"] == "admin")
        .collect();
    assert!(!denied.is_empty(), "the admin's refusals are recorded");
}

#[tokio::test]
async fn a_form_without_the_session_token_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let cookie = page_login(&app.address, "staff_bj", PASSWORD).await;
    for csrf in [None, Some("not-the-token")] {
        let mut form = vec![("document", "BJ01-WX-2026-000001"), ("purpose", "forged")];
        if let Some(c) = csrf {
            form.push(("csrf", c));
        }
        let r = client()
            .post(format!("{}/requests", app.address))
            .header("cookie", &cookie)
            .form_body(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        assert!(r.text().await.unwrap().contains("表单已过期或来自其他网站"));
    }
    let token = app.token("staff_bj").await;
    let mine: serde_json::Value = app
        .get(&token, "/api/v1/access-requests")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["requests"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn an_idle_session_ends_and_the_login_returns_to_the_page_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path(), &crate::helpers::Store::Local);
    config.auth.session_idle_secs = 1;
    let app = spawn_app_in(dir, config).await;
    let cookie = page_login(&app.address, "staff_bj", PASSWORD).await;
    let search = |cookie: String| {
        let address = app.address.clone();
        async move {
            client()
                .get(format!("{address}/search?q=%E5%88%B9%E8%BD%A6"))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(search(cookie.clone()).await.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    let r = search(cookie).await;
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(
        to,
        "/login?next=/search%3Fq%3D%25E5%2588%25B9%25E8%25BD%25A6"
    );
    let r = client()
        .post(format!("{}/login", app.address))
        .form_body(&[
            ("username", "staff_bj"),
            ("password", PASSWORD),
            ("next", "/search?q=%E5%88%B9%E8%BD%A6"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/search?q=%E5%88%B9%E8%BD%A6");
    // A return path elsewhere is not followed.
    let r = client()
        .post(format!("{}/login", app.address))
        .form_body(&[
            ("username", "staff_bj"),
            ("password", PASSWORD),
            ("next", "//evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/");
}
