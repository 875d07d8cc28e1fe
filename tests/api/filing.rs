//! Filing and reading documents: the clerk's and the colleague's everyday path.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{error_code, repair_order, spawn_app};

#[tokio::test]
async fn clerk_files_a_repair_order_and_a_colleague_opens_it() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let body = "维修委托书 刹车片磨损,更换前刹车片。".as_bytes();
    let doc = app.file_ok(&clerk, &repair_order(), body).await;
    let id = doc["id"].as_str().unwrap();
    assert_eq!(doc["archive_no"], "BJ01-WX-2026-000001");
    assert_eq!(doc["retention_until"], "2029-03-01");
    assert_eq!(doc["confidentiality"], "internal");
    assert_eq!(doc["filed_by"], "clerk_bj");
    assert_eq!(
        doc["versions"][0]["sha256"],
        hex::encode(Sha256::digest(body))
    );
    assert_eq!(doc["vehicle"]["plate"], "京A12345");

    let staff = app.token("staff_bj").await;
    for key in [id, "BJ01-WX-2026-000001"] {
        let r = app.get(&staff, &format!("/api/v1/documents/{key}")).await;
        assert_eq!(r.status(), 200);
        let seen: Value = r.json().await.unwrap();
        assert_eq!(seen["id"], id);
        assert_eq!(seen["customer"]["phone"], "138****1234");
        assert_eq!(seen["customer"]["id_number"], "110***********002X");
    }
    let r = app.content(&staff, id).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["x-content-sha256"],
        hex::encode(Sha256::digest(body)).as_str()
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), body);
}

#[tokio::test]
async fn responses_never_carry_unmasked_personal_information() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let doc = app.file_ok(&clerk, &repair_order(), b"x").await;
    let id = doc["id"].as_str().unwrap();
    let fix =
        json!({"changes": {"customer": {"phone": "13900001111"}}, "reason": "客户更换手机号"});
    let r = app
        .client
        .patch(app.url(&format!("/api/v1/documents/{id}")))
        .bearer_auth(&clerk)
        .json(&fix)
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    for secret in ["13812341234", "13900001111", "11010519491231002X"] {
        assert!(!text.contains(secret), "{secret} leaked in {text}");
    }
    let records = std::fs::read_to_string(app.dir.path().join("audit/retrieval.log")).unwrap();
    for secret in ["13812341234", "13900001111", "11010519491231002X"] {
        assert!(
            !records.contains(secret),
            "{secret} leaked into the retrieval log"
        );
    }
}

#[tokio::test]
async fn an_empty_file_is_refused_and_uses_no_archive_number() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let r = app.file(&clerk, &repair_order(), "order.txt", vec![]).await;
    assert_eq!(
        crate::helpers::error_code(r).await,
        (422, "empty_file".to_string())
    );
    let doc = app.file_ok(&clerk, &repair_order(), b"x").await;
    assert_eq!(doc["archive_no"], "BJ01-WX-2026-000001");
}

#[tokio::test]
async fn archive_numbers_are_unique_and_gap_free_under_50_concurrent_filings() {
    let app = std::sync::Arc::new(spawn_app().await);
    let clerk = app.token("clerk_bj").await;
    let mut tasks = vec![];
    for i in 0..50 {
        let (app, clerk) = (app.clone(), clerk.clone());
        tasks.push(tokio::spawn(async move {
            app.file_ok(&clerk, &repair_order(), format!("doc {i}").as_bytes())
                .await
        }));
    }
    let mut numbers = vec![];
    for t in tasks {
        numbers.push(t.await.unwrap()["archive_no"].as_str().unwrap().to_string());
    }
    numbers.sort();
    let expected: Vec<String> = (1..=50).map(|n| format!("BJ01-WX-2026-{n:06}")).collect();
    assert_eq!(numbers, expected);
}

#[tokio::test]
async fn archive_numbers_continue_after_a_restart() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    app.file_ok(&clerk, &repair_order(), b"one").await;
    app.file_ok(&clerk, &repair_order(), b"two").await;
    let app = app.restart().await;
    let clerk = app.token("clerk_bj").await;
    let third = app.file_ok(&clerk, &repair_order(), b"three").await;
    assert_eq!(third["archive_no"], "BJ01-WX-2026-000003");
}

#[tokio::test]
async fn a_new_version_keeps_the_old_one_readable() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let doc = app.file_ok(&clerk, &repair_order(), b"first scan").await;
    let id = doc["id"].as_str().unwrap();
    let form = reqwest::multipart::Form::new()
        .text("reason", "重新扫描,原件不清晰")
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"second scan".to_vec()).file_name("scan2.pdf"),
        );
    let r = app
        .client
        .post(app.url(&format!("/api/v1/documents/{id}/versions")))
        .bearer_auth(&clerk)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["current_version"], 2);
    assert_eq!(v["versions"][1]["reason"], "重新扫描,原件不清晰");
    assert_eq!(
        app.content(&clerk, id)
            .await
            .bytes()
            .await
            .unwrap()
            .as_ref(),
        b"second scan"
    );
    let old = app
        .get(&clerk, &format!("/api/v1/documents/{id}/content?version=1"))
        .await;
    assert_eq!(old.bytes().await.unwrap().as_ref(), b"first scan");
    let r = app
        .get(&clerk, &format!("/api/v1/documents/{id}/content?version=3"))
        .await;
    assert_eq!(error_code(r).await, (404, "not_found".into()));
    let list: Value = app
        .get(&clerk, &format!("/api/v1/documents/{id}/versions"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["versions"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_correction_needs_a_reason_and_keeps_the_old_values() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let doc = app.file_ok(&clerk, &repair_order(), b"x").await;
    let id = doc["id"].as_str().unwrap();
    let url = app.url(&format!("/api/v1/documents/{id}"));
    let r = app
        .client
        .patch(&url)
        .bearer_auth(&clerk)
        .json(&json!({"changes": {"title": "新标题"}, "reason": " "}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, (422, "reason_required".into()));
    let fix = json!({"changes": {"title": "新标题", "service": {"service_date": "2025-01-10"}}, "reason": "录入错误"});
    let r = app
        .client
        .patch(&url)
        .bearer_auth(&clerk)
        .json(&fix)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["title"], "新标题");
    assert_eq!(
        v["retention_until"], "2028-01-10",
        "retention follows the corrected date"
    );
    assert_eq!(
        v["archive_no"], "BJ01-WX-2026-000001",
        "the archive number never changes"
    );
    let c = &v["corrections"][0];
    assert_eq!(c["reason"], "录入错误");
    assert_eq!(c["old"]["title"], "维修委托书 京A12345 刹车片更换");
    assert_eq!(c["fields"], json!(["service.service_date", "title"]));
    let audit = app.audit_records();
    let rec = audit
        .iter()
        .find(|r| r["action"] == "document.correct" && r["outcome"] == "allowed")
        .unwrap();
    assert_eq!(
        rec["detail"]["old"]["title"],
        "维修委托书 京A12345 刹车片更换"
    );
    assert_eq!(rec["detail"]["new"]["title"], "新标题");
}

#[tokio::test]
async fn a_vehicles_archive_lists_what_the_caller_may_see_newest_first() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let mut older = repair_order();
    older["service"]["service_date"] = json!("2025-05-01");
    app.file_ok(&clerk, &older, b"old").await;
    app.file_ok(&clerk, &repair_order(), b"new").await;
    let mut secret = repair_order();
    secret["confidentiality"] = json!("confidential");
    app.file_ok(&clerk, &secret, b"secret").await;
    let vin = repair_order()["vehicle"]["vin"]
        .as_str()
        .unwrap()
        .to_string();

    let staff = app.token("staff_bj").await;
    let list: Value = app
        .get(&staff, &format!("/api/v1/vehicles/{vin}/documents"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        list["total"], 2,
        "internal-clearance staff do not see the confidential record: {list}"
    );
    let dates: Vec<&str> = list["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["service_date"].as_str().unwrap())
        .collect();
    assert_eq!(dates, ["2026-03-01", "2025-05-01"]);
    let other = app.token("staff_sh").await;
    let list: Value = app
        .get(
            &other,
            &format!("/api/v1/vehicles/{}/documents", vin.to_lowercase()),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 0);
    let r = app
        .get(&staff, "/api/v1/vehicles/LFV2A21K1M3000001/documents")
        .await;
    assert_eq!(error_code(r).await, (400, "invalid_vin".into()));
}

#[tokio::test]
async fn documents_are_shown_only_to_those_entitled() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let doc = app.file_ok(&clerk, &repair_order(), b"x").await;
    let id = doc["id"].as_str().unwrap();
    let meta = format!("/api/v1/documents/{id}");
    let content = format!("/api/v1/documents/{id}/content");
    // (user, metadata status, content status)
    let cases = [
        ("staff_bj", 200, 200),
        ("super_bj", 200, 200),
        ("staff_sh", 404, 404),
        ("auditor", 200, 403),
        ("admin", 403, 403),
    ];
    for (user, meta_status, content_status) in cases {
        let token = app.token(user).await;
        assert_eq!(
            app.get(&token, &meta).await.status(),
            meta_status,
            "{user} metadata"
        );
        assert_eq!(
            app.get(&token, &content).await.status(),
            content_status,
            "{user} content"
        );
    }
    // Unknown and unseen documents answer alike.
    let staff_sh = app.token("staff_sh").await;
    let unknown = app
        .get(
            &staff_sh,
            &format!("/api/v1/documents/{}", uuid::Uuid::new_v4()),
        )
        .await;
    let unseen = app.get(&staff_sh, &meta).await;
    assert_eq!(unknown.text().await.unwrap(), unseen.text().await.unwrap());
}

#[tokio::test]
async fn every_access_leaves_one_record_in_a_verifiable_log() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let doc = app.file_ok(&clerk, &repair_order(), b"abc").await;
    let id = doc["id"].as_str().unwrap().to_string();
    let staff = app.token("staff_bj").await;
    app.get(&staff, &format!("/api/v1/documents/{id}")).await;
    app.content(&staff, &id).await.bytes().await.unwrap();
    app.get(
        &app.token("staff_sh").await,
        &format!("/api/v1/documents/{id}"),
    )
    .await;
    app.post_login("staff_bj", "wrong password").await;
    let records = app.audit_records();
    let find = |action: &str, user: &str, outcome: &str| {
        records
            .iter()
            .filter(|r| r["action"] == action && r["user"] == user && r["outcome"] == outcome)
            .count()
    };
    assert_eq!(find("document.file", "clerk_bj", "allowed"), 1);
    assert_eq!(find("document.view", "staff_bj", "allowed"), 1);
    assert_eq!(find("document.content", "staff_bj", "allowed"), 1);
    assert_eq!(find("document.view", "staff_sh", "denied"), 1);
    assert_eq!(find("auth.login_failed", "staff_bj", "denied"), 1);
    let content = records
        .iter()
        .find(|r| r["action"] == "document.content")
        .unwrap();
    assert_eq!(content["document"], id.as_str());
    assert_eq!(content["archive_no"], "BJ01-WX-2026-000001");
    assert_eq!(content["detail"]["bytes"], 3);
    assert_eq!(content["roles"], json!(["staff"]));
    assert_eq!(content["client"], "127.0.0.1");
    let report = dangan::audit::verify(&app.dir.path().join("audit/retrieval.log")).unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.records_checked as usize, records.len());
}
