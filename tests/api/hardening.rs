//! The edges an attacker or a careless client reaches first (spec §6): the exact
//! shape of a multipart filing, concurrent password guessing, the headers on
//! every kind of answer, and the modes of local state.

use std::os::unix::fs::PermissionsExt;

use reqwest::multipart::{Form, Part};
use serde_json::Value;

use crate::helpers::{
    PASSWORD, Store, TestApp, error_code, repair_order, spawn_app, spawn_app_in, test_config,
};

fn metadata_part() -> Part {
    Part::text(repair_order().to_string())
        .mime_str("application/json")
        .unwrap()
}

fn file_part(bytes: &[u8]) -> Part {
    Part::bytes(bytes.to_vec())
        .file_name("order.txt")
        .mime_str("text/plain")
        .unwrap()
}

async fn post_form(app: &TestApp, token: &str, path: &str, form: Form) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// The vehicle's archive as the catalog lists it, and stored objects: neither
/// may change.
async fn stored(app: &TestApp, token: &str) -> (usize, usize) {
    let vin = repair_order()["vehicle"]["vin"]
        .as_str()
        .unwrap()
        .to_string();
    let listed: Value = app
        .get(token, &format!("/api/v1/vehicles/{vin}/documents"))
        .await
        .json()
        .await
        .unwrap();
    let count = listed["documents"].as_array().map_or(0, Vec::len);
    (count, app.object_files().len())
}

#[tokio::test]
async fn a_filing_with_more_or_fewer_parts_than_one_metadata_and_one_file_stores_nothing() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let before = stored(&app, &clerk).await;
    let cases: Vec<(&str, Form, u16, &str)> = vec![
        (
            "two files",
            Form::new()
                .part("metadata", metadata_part())
                .part("file", file_part(b"first"))
                .part("file", file_part(b"second")),
            400,
            "duplicate_part",
        ),
        (
            "two metadata parts",
            Form::new()
                .part("metadata", metadata_part())
                .part("metadata", metadata_part())
                .part("file", file_part(b"body")),
            400,
            "duplicate_part",
        ),
        (
            "a part after the file",
            Form::new()
                .part("metadata", metadata_part())
                .part("file", file_part(b"body"))
                .part("metadata", metadata_part()),
            400,
            "duplicate_part",
        ),
        (
            "an empty file",
            Form::new()
                .part("metadata", metadata_part())
                .part("file", file_part(b"")),
            422,
            "empty_file",
        ),
        (
            "the file first",
            Form::new()
                .part("file", file_part(b"body"))
                .part("metadata", metadata_part()),
            400,
            "metadata_missing",
        ),
        (
            "no file",
            Form::new().part("metadata", metadata_part()),
            400,
            "file_missing",
        ),
    ];
    for (name, form, status, code) in cases {
        let r = post_form(&app, &clerk, "/api/v1/documents", form).await;
        assert_eq!(error_code(r).await, (status, code.to_string()), "{name}");
        assert_eq!(
            stored(&app, &clerk).await,
            before,
            "{name} stored something"
        );
    }
}

#[tokio::test]
async fn a_new_version_takes_exactly_one_reason_and_one_non_empty_file() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let doc = app.file_ok(&clerk, &repair_order(), b"v1").await;
    let path = format!("/api/v1/documents/{}/versions", doc["id"].as_str().unwrap());
    let objects = app.object_files().len();
    let cases: Vec<(&str, Form, u16, &str)> = vec![
        (
            "two reasons",
            Form::new()
                .text("reason", "更正")
                .text("reason", "再次更正")
                .part("file", file_part(b"v2")),
            400,
            "duplicate_part",
        ),
        (
            "two files",
            Form::new()
                .text("reason", "更正")
                .part("file", file_part(b"v2"))
                .part("file", file_part(b"v3")),
            400,
            "duplicate_part",
        ),
        (
            "an empty file",
            Form::new()
                .text("reason", "更正")
                .part("file", file_part(b"")),
            422,
            "empty_file",
        ),
    ];
    for (name, form, status, code) in cases {
        let r = post_form(&app, &clerk, &path, form).await;
        assert_eq!(error_code(r).await, (status, code.to_string()), "{name}");
        assert_eq!(app.object_files().len(), objects, "{name} stored something");
    }
    let versions: Value = app.get(&clerk, &path).await.json().await.unwrap();
    assert_eq!(
        versions["versions"].as_array().map(Vec::len),
        Some(1),
        "{versions}"
    );
}

#[tokio::test]
async fn forty_concurrent_wrong_guesses_are_cut_off_at_the_lockout_count() {
    let app = spawn_app().await;
    let max = app.config.auth.max_failed_logins as usize;
    let guesses = (0..40).map(|_| app.post_login("staff_bj", "not-the-password"));
    let statuses: Vec<u16> = futures_util::future::join_all(guesses)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    let evaluated = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        evaluated <= max,
        "{evaluated} guesses evaluated: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    let failed_records = app
        .audit_records()
        .iter()
        .filter(|r| r["action"] == "auth.login_failed")
        .count();
    assert!(failed_records <= max, "{failed_records}");
    // Locked: the right password is refused too.
    let r = app.post_login("staff_bj", PASSWORD).await;
    assert_eq!(error_code(r).await, (429, "too_many_attempts".to_string()));
}

#[tokio::test]
async fn another_users_success_does_not_reset_the_address_count() {
    let app = spawn_app().await;
    let max = app.config.auth.max_failed_logins;
    for _ in 0..max - 1 {
        assert_eq!(app.post_login("staff_bj", "wrong").await.status(), 401);
    }
    app.token("clerk_bj").await;
    // One more failure from this address reaches the count, whoever it names.
    assert_eq!(app.post_login("staff_sh", "wrong").await.status(), 401);
    let r = app.post_login("super_bj", PASSWORD).await;
    assert_eq!(error_code(r).await, (429, "too_many_attempts".to_string()));
}

fn assert_protective_headers(r: &reqwest::Response, what: &str) {
    let h = r.headers();
    let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    assert_eq!(get("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(get("cache-control"), "no-store", "{what}");
    assert_eq!(get("x-frame-options"), "DENY", "{what}");
    let csp = get("content-security-policy");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{what}: {csp}"
    );
}

#[tokio::test]
async fn json_file_and_error_answers_carry_the_protective_headers() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let doc = app
        .file_ok(&clerk, &repair_order(), b"<script>alert(1)</script>")
        .await;
    let id = doc["id"].as_str().unwrap();
    let json = app.get(&clerk, &format!("/api/v1/documents/{id}")).await;
    assert_protective_headers(&json, "JSON");
    let file = app.content(&clerk, id).await;
    assert_protective_headers(&file, "file");
    assert!(
        file.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment"),
    );
    let missing = app.get(&clerk, "/api/v1/documents/no-such-document").await;
    assert_eq!(missing.status(), 404);
    assert_protective_headers(&missing, "error");
    let unauthenticated = app
        .client
        .get(app.url("/api/v1/auth/me"))
        .send()
        .await
        .unwrap();
    assert_protective_headers(&unauthenticated, "401");
}

/// Every directory below `root` and its mode, every file and its mode.
fn modes(root: &std::path::Path) -> Vec<(std::path::PathBuf, u32)> {
    let mut out = vec![];
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        out.push((
            dir.clone(),
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        ));
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.clone(),
                    std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                ));
            }
        }
    }
    out
}

fn assert_private(root: &std::path::Path) {
    for (path, mode) in modes(root) {
        let want = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode, want, "{} is {mode:o}", path.display());
    }
}

#[tokio::test]
async fn a_fresh_data_directory_and_everything_in_it_are_private() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let config = test_config(&data, &Store::Local);
    let app = spawn_app_in(root, config).await;
    let clerk = app.token("clerk_bj").await;
    app.file_ok(&clerk, &repair_order(), "发动机异响".as_bytes())
        .await;
    let (root, _) = app.stop().await;
    let data = root.path().join("data");
    assert!(data.join("audit").is_dir() && data.join("index").is_dir());
    assert_private(&data);
}

#[tokio::test]
async fn a_loose_existing_data_directory_is_made_private_at_start() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    app.file_ok(&clerk, &repair_order(), "发动机异响".as_bytes())
        .await;
    let (dir, config) = app.stop().await;
    // Someone loosened it all, as `cp -r` with another umask would.
    for (path, _) in modes(dir.path()) {
        let mode = if path.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let app = spawn_app_in(dir, config).await;
    let (dir, _) = app.stop().await;
    assert_private(dir.path());
}
