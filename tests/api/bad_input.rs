//! Bad input gets a clear JSON error with the right status, never a 500, and
//! leaves nothing half-written.

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::helpers::{
    Store, TestApp, error_code, repair_order, spawn_app, spawn_app_in, test_config,
};

/// Objects other than the system ones (users, key check): documents.
fn document_objects(app: &TestApp) -> usize {
    app.object_files()
        .iter()
        .filter(|p| p.to_string_lossy().contains("/docs/"))
        .count()
}

#[tokio::test]
async fn bad_filings_are_refused_with_the_field_named_and_nothing_stored() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let mut cases: Vec<(Value, u16, &str, &str)> = vec![];
    let mut m = repair_order();
    m["vehicle"]["vin"] = json!("LFV2A21K1M3000001");
    cases.push((m, 422, "invalid_metadata", "vehicle.vin"));
    let mut m = repair_order();
    m["colour"] = json!("red");
    cases.push((m, 422, "invalid_metadata", "colour"));
    let mut m = repair_order();
    m["category"] = json!("QQ");
    cases.push((m, 422, "invalid_metadata", "category"));
    let mut m = repair_order();
    m["vehicle"]["mileage_km"] = json!("forty thousand");
    cases.push((m, 422, "invalid_metadata", "vehicle.mileage_km"));
    let mut m = repair_order();
    m["customer"]["phone"] = json!("12345");
    cases.push((m, 422, "invalid_metadata", "customer.phone"));
    let mut m = repair_order();
    m["service"]["service_date"] = json!("2026-02-30");
    cases.push((m, 422, "invalid_metadata", "service.service_date"));
    let mut m = repair_order();
    m.as_object_mut().unwrap().remove("service");
    cases.push((m, 422, "invalid_metadata", "service.service_date"));
    let mut m = repair_order();
    m["branch"] = json!("SH01");
    cases.push((m, 403, "forbidden", "SH01"));
    let mut m = repair_order();
    m["confidentiality"] = json!("restricted");
    cases.push((m, 403, "forbidden", "clearance"));
    let mut m = repair_order();
    m["archive_no"] = json!("BJ01-WX-2026-000001");
    cases.push((m, 422, "invalid_metadata", "archive_no"));
    cases.push((json!([1, 2]), 422, "invalid_metadata", "object"));
    for (metadata, status, code, mention) in cases {
        let r = app
            .file(&clerk, &metadata, "a.txt", b"content".to_vec())
            .await;
        let got_status = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            (got_status, body["error"]["code"].as_str().unwrap()),
            (status, code),
            "{metadata}: {body}"
        );
        assert!(
            body["error"]["message"].as_str().unwrap().contains(mention),
            "{body} should mention {mention}"
        );
    }
    // Not JSON at all.
    let form = Form::new()
        .text("metadata", "{\"category\": ")
        .part("file", Part::bytes(b"x".to_vec()).file_name("a.txt"));
    let r = app
        .client
        .post(app.url("/api/v1/documents"))
        .bearer_auth(&clerk)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, (400, "invalid_json".into()));
    assert_eq!(document_objects(&app), 0);
    let records = app.audit_records();
    assert!(
        records
            .iter()
            .filter(|r| r["action"] == "document.file" && r["outcome"] == "error")
            .count()
            >= 10
    );
}

#[tokio::test]
async fn malformed_multipart_is_a_400_and_other_types_a_415() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let url = app.url("/api/v1/documents");
    let r = app
        .client
        .post(&url)
        .bearer_auth(&clerk)
        .header("content-type", "multipart/form-data; boundary=XYZ")
        .body("--XYZ\r\ngarbage without headers")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await.0, 400);
    let r = app
        .client
        .post(&url)
        .bearer_auth(&clerk)
        .header("content-type", "multipart/form-data")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await.0, 400);
    let r = app
        .client
        .post(&url)
        .bearer_auth(&clerk)
        .json(&repair_order())
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, (415, "unsupported_media_type".into()));
    // Parts out of order, missing, or unknown.
    let form = Form::new()
        .part("file", Part::bytes(b"x".to_vec()).file_name("a.txt"))
        .text("metadata", repair_order().to_string());
    let r = app
        .client
        .post(&url)
        .bearer_auth(&clerk)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, (400, "metadata_missing".into()));
    let form = Form::new().text("metadata", repair_order().to_string());
    let r = app
        .client
        .post(&url)
        .bearer_auth(&clerk)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, (400, "file_missing".into()));
    let form = Form::new().text("evil", "x");
    let r = app
        .client
        .post(&url)
        .bearer_auth(&clerk)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, (400, "unknown_part".into()));
    assert_eq!(document_objects(&app), 0);
}

#[tokio::test]
async fn oversized_files_metadata_and_bodies_are_413_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path(), &Store::Local);
    config.server.max_upload_bytes = 100_000;
    config.server.max_metadata_bytes = 2_000;
    config.server.max_json_bytes = 2_000;
    let app = spawn_app_in(dir, config).await;
    let clerk = app.token("clerk_bj").await;
    let r = app
        .file(&clerk, &repair_order(), "big.bin", vec![7u8; 100_001])
        .await;
    assert_eq!(error_code(r).await, (413, "file_too_large".into()));
    // Large enough to have started a multipart upload of its own? Not at this
    // limit; the object writer only buffers, so nothing at all is written.
    let mut m = repair_order();
    m["summary"] = json!("长".repeat(1000));
    let r = app.file(&clerk, &m, "a.txt", b"x".to_vec()).await;
    assert_eq!(error_code(r).await, (413, "part_too_large".into()));
    let doc = app.file_ok(&clerk, &repair_order(), b"ok").await;
    let id = doc["id"].as_str().unwrap();
    let big = json!({"changes": {"summary": "x".repeat(3000)}, "reason": "r"});
    let r = app
        .client
        .patch(app.url(&format!("/api/v1/documents/{id}")))
        .bearer_auth(&clerk)
        .json(&big)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, (413, "body_too_large".into()));
    assert_eq!(
        document_objects(&app),
        2,
        "only the one good filing's manifest and content"
    );
}

#[tokio::test]
async fn bad_json_bodies_are_400_or_422() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let doc = app.file_ok(&clerk, &repair_order(), b"ok").await;
    let url = app.url(&format!(
        "/api/v1/documents/{}",
        doc["id"].as_str().unwrap()
    ));
    let send = |body: &'static str| {
        app.client
            .patch(&url)
            .bearer_auth(&clerk)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    assert_eq!(
        error_code(send("{not json").await.unwrap()).await,
        (400, "invalid_json".into())
    );
    assert_eq!(
        error_code(send("{\"changes\": 5, \"reason\": \"r\"}").await.unwrap()).await,
        (422, "invalid_metadata".into())
    );
    assert_eq!(
        error_code(
            send("{\"changes\": {}, \"reason\": \"r\", \"extra\": 1}")
                .await
                .unwrap()
        )
        .await,
        (422, "invalid_body".into())
    );
    assert_eq!(
        error_code(
            send("{\"changes\": {\"filed_by\": \"me\"}, \"reason\": \"r\"}")
                .await
                .unwrap()
        )
        .await,
        (422, "invalid_metadata".into())
    );
    assert_eq!(
        error_code(
            send("{\"changes\": {\"title\": 5}, \"reason\": \"r\"}")
                .await
                .unwrap()
        )
        .await,
        (422, "invalid_metadata".into())
    );
    let r = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{\"username\": 1}")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, (422, "invalid_body".into()));
}

#[tokio::test]
async fn path_tricks_and_unknown_routes_are_404() {
    let app = spawn_app().await;
    let staff = app.token("staff_bj").await;
    for path in [
        "/api/v1/documents/..%2F..%2Fsystem%2Fusers",
        "/api/v1/documents/../../etc/passwd",
        "/api/v1/documents/%00",
        "/api/v1/documents/BJ01-WX-2026-000001",
        "/api/v1/nothing",
        "/objects/system/users",
    ] {
        let r = app.get(&staff, path).await;
        let (status, code) = error_code(r).await;
        assert_eq!((status, code.as_str()), (404, "not_found"), "{path}");
    }
    let r = app
        .get(&staff, "/api/v1/documents/x/content?version=abc")
        .await;
    assert_eq!(error_code(r).await, (400, "invalid_query".into()));
}

#[tokio::test]
async fn forged_expired_and_missing_tokens_are_401() {
    use base64::Engine;
    let app = spawn_app().await;
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"sub": "admin", "iss": "dangan", "aud": "dangan-api", "exp": now + 600, "iat": now, "nbf": now, "jti": "x"});
    let none = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"})),
        b64(claims.clone())
    );
    let real = app.token("staff_bj").await;
    let parts: Vec<&str> = real.split('.').collect();
    let tampered = format!("{}.{}.{}", parts[0], b64(claims), parts[2]);
    for token in [none.as_str(), tampered.as_str(), "garbage", ""] {
        let r = app
            .client
            .get(app.url("/api/v1/auth/me"))
            .header("authorization", format!("Bearer {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(error_code(r).await.0, 401, "{token}");
    }
    let r = app
        .client
        .get(app.url("/api/v1/auth/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, (401, "unauthenticated".into()));
    let r = app
        .client
        .get(app.url("/api/v1/auth/me"))
        .header("authorization", format!("Basic {real}"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await.0, 401);
    let refused = app
        .audit_records()
        .iter()
        .filter(|r| r["action"] == "auth.token_refused")
        .count();
    assert_eq!(refused, 6);
}
