//! Disposal (销毁): two people, irreversible, and a permanent register.

use dangan::storage::envelope::{Keyring, MasterKey};
use serde_json::{Value, json};

use crate::helpers::{MASTER_KEY, error_code, repair_order, spawn_app};

#[tokio::test]
async fn a_record_past_retention_is_disposed_after_a_second_person_approves() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let both = json!({"username": "clerk_super", "password": "password-for-tests", "roles": ["clerk", "supervisor"], "branch": "BJ01", "clearance": "restricted"});
    app.client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(&both)
        .send()
        .await
        .unwrap();
    let clerk = app.token("clerk_bj").await;
    let mut old = repair_order();
    old["service"]["service_date"] = json!("2019-05-01");
    let held = app.file_ok(&clerk, &old, b"held").await;
    // The disposed record is the last of its series, so reuse would show.
    let doc = app
        .file_ok(&clerk, &old, "待销毁的维修委托书".as_bytes())
        .await;
    let current = app.file_ok(&clerk, &repair_order(), b"current").await;
    // Another series, so the disposed record stays the last of its own.
    let mut older = old.clone();
    older["service"]["service_date"] = json!("2018-05-01");
    let other = app.file_ok(&clerk, &older, b"another old record").await;
    let (id, archive_no) = (
        doc["id"].as_str().unwrap().to_string(),
        doc["archive_no"].as_str().unwrap().to_string(),
    );
    assert_eq!(archive_no, "BJ01-WX-2019-000002");
    let supervisor = app.token("super_bj").await;
    let hold = json!({"hold": true, "reason": "诉讼保全"});
    app.client
        .put(app.url(&format!(
            "/api/v1/documents/{}/legal-hold",
            held["id"].as_str().unwrap()
        )))
        .bearer_auth(&supervisor)
        .json(&hold)
        .send()
        .await
        .unwrap();

    let propose = |ids: Vec<&str>, token: String| {
        let body = json!({"document_ids": ids, "reason": "保管期满,按规定销毁"});
        let req = app
            .client
            .post(app.url("/api/v1/disposals"))
            .bearer_auth(token)
            .json(&body);
        async move { req.send().await.unwrap() }
    };
    let r = propose(vec![current["id"].as_str().unwrap()], clerk.clone()).await;
    assert_eq!(error_code(r).await, (422, "retention_running".into()));
    let r = propose(vec![held["id"].as_str().unwrap()], clerk.clone()).await;
    assert_eq!(
        error_code(r).await,
        (422, "legal_hold".into()),
        "a held document is never disposed"
    );

    // Someone holding both roles still cannot approve their own proposal.
    let both = app.token("clerk_super").await;
    let other_id = other["id"].as_str().unwrap();
    let own: Value = propose(vec![other_id], both.clone())
        .await
        .json()
        .await
        .unwrap();
    let r = app
        .client
        .post(app.url(&format!(
            "/api/v1/disposals/{}/approve",
            own["id"].as_str().unwrap()
        )))
        .bearer_auth(&both)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, (403, "forbidden".into()));

    let r = propose(vec![&id], clerk.clone()).await;
    assert_eq!(r.status(), 201);
    let proposal: Value = r.json().await.unwrap();
    // A document is named by one open batch at a time.
    let r = propose(vec![&id], clerk.clone()).await;
    assert_eq!(error_code(r).await, (409, "already_proposed".into()));
    let did = proposal["id"].as_str().unwrap().to_string();
    let content_file = app.dir.path().join(format!("objects/docs/{id}/content/1"));
    let raw_copy = std::fs::read(&content_file).unwrap();
    let r = app
        .client
        .post(app.url(&format!("/api/v1/disposals/{did}/approve")))
        .bearer_auth(&supervisor)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let executed: Value = r.json().await.unwrap();
    assert_eq!(executed["status"], "executed");

    // Gone from reading, history, search; content objects and manifest deleted.
    let staff = app.token("staff_bj").await;
    assert_eq!(
        app.get(&staff, &format!("/api/v1/documents/{id}"))
            .await
            .status(),
        404
    );
    assert_eq!(
        app.get(&staff, &format!("/api/v1/documents/{archive_no}/content"))
            .await
            .status(),
        404
    );
    let vin = old["vehicle"]["vin"].as_str().unwrap();
    let history: Value = app
        .get(&staff, &format!("/api/v1/vehicles/{vin}/documents"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        history["documents"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["id"] != id.as_str())
    );
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let found: Value = app
        .get(&staff, "/api/v1/search?q=%E5%BE%85%E9%94%80%E6%AF%81")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["total"], 0);
    let left: Vec<String> = std::fs::read_dir(app.dir.path().join(format!("objects/docs/{id}")))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(left, ["tombstone"]);

    // The raw ciphertext kept from before cannot be decrypted: the only wrapped
    // copy of its key was in the deleted manifest; the tombstone holds none.
    let keyring = Keyring::new(MasterKey::from_bytes(&hex::decode(MASTER_KEY).unwrap()).unwrap());
    let tomb = std::fs::read(app.dir.path().join(format!("objects/docs/{id}/tombstone"))).unwrap();
    let plain: Value = serde_json::from_slice(
        &keyring
            .open(&format!("docs/{id}/tombstone"), &tomb)
            .unwrap(),
    )
    .unwrap();
    assert!(
        plain.get("versions").is_none() && !plain.to_string().contains("\"kek\""),
        "{plain}"
    );
    assert!(!raw_copy.is_empty());

    // The register, readable by auditors.
    let auditor = app.token("auditor").await;
    let register: Value = app
        .get(&auditor, &format!("/api/v1/disposals/{did}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(register["proposed_by"], "clerk_bj");
    assert_eq!(register["approved_by"], "super_bj");
    assert_eq!(register["documents"][0]["archive_no"], archive_no.as_str());
    assert_eq!(register["documents"][0]["retention_until"], "2022-05-01");
    let csv = app
        .get(&auditor, &format!("/api/v1/disposals/{did}?format=csv"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        csv.starts_with("archive_no,category,branch,service_date"),
        "{csv}"
    );
    assert!(
        csv.contains(&archive_no) && csv.contains("clerk_bj") && csv.contains("super_bj"),
        "{csv}"
    );
    let r = app
        .get(&auditor, &format!("/api/v1/disposals/{did}?format=pdf"))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let pdf = r.bytes().await.unwrap();
    let text = lopdf::Document::load_mem(&pdf)
        .unwrap()
        .extract_text(&[1])
        .unwrap();
    for needle in [
        "档案销毁证明",
        archive_no.as_str(),
        "clerk_bj",
        "super_bj",
        "2022-05-01",
    ] {
        assert!(
            text.contains(needle),
            "the certificate names {needle}: {text}"
        );
    }
    let r = app
        .get(&auditor, &format!("/api/v1/disposals/{did}?format=docx"))
        .await;
    assert_eq!(crate::helpers::error_code(r).await.0, 400);
    let records = app.audit_records();
    for action in ["disposal.propose", "disposal.approve", "document.dispose"] {
        assert!(
            records
                .iter()
                .any(|r| r["action"] == action && r["outcome"] == "allowed"),
            "{action}"
        );
    }

    // The archive number is never reused, also after a restart.
    let app = app.restart().await;
    let clerk = app.token("clerk_bj").await;
    let next = app.file_ok(&clerk, &old, b"later").await;
    assert_eq!(next["archive_no"], "BJ01-WX-2019-000003");
}

/// Whether any file below `dir` holds `needle`, byte for byte.
fn held_anywhere(dir: &std::path::Path, needle: &[u8]) -> Vec<std::path::PathBuf> {
    let mut found = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read(&p)
                .unwrap()
                .windows(needle.len())
                .any(|w| w == needle)
            {
                found.push(p);
            }
        }
    }
    found
}

#[tokio::test]
async fn a_disposed_document_leaves_no_copy_of_its_text_title_or_customer_anywhere() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let marker = "ZQXJ-disposal-marker-7731";
    let title = "销毁标记文书甲乙丙丁";
    let customer = "欧阳锋华";
    let mut old = repair_order();
    old["service"]["service_date"] = json!("2019-05-01");
    old["title"] = json!(title);
    old["customer"]["name"] = json!(customer);
    old["summary"] = json!(format!("摘要 {marker}"));
    let body = format!("正文 {marker} 更换正时皮带\n");
    let doc = app.file_ok(&clerk, &old, body.as_bytes()).await;
    // Another document stays, so the index is not simply empty.
    app.file_ok(&clerk, &repair_order(), b"kept").await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let staff = app.token("staff_bj").await;
    // A word of the body, not the marker: queries are kept in the log (spec §4).
    let q = "/api/v1/search?q=%E6%AD%A3%E6%97%B6%E7%9A%AE%E5%B8%A6".to_string();
    let found: Value = app.get(&staff, &q).await.json().await.unwrap();
    assert_eq!(found["total"], 1, "searchable before");

    let proposal: Value = app
        .client
        .post(app.url("/api/v1/disposals"))
        .bearer_auth(&clerk)
        .json(&json!({"document_ids": [doc["id"]], "reason": "保管期满"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = app
        .client
        .post(app.url(&format!(
            "/api/v1/disposals/{}/approve",
            proposal["id"].as_str().unwrap()
        )))
        .bearer_auth(&app.token("super_bj").await)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Not even for a moment after the approval.
    let found: Value = app.get(&staff, &q).await.json().await.unwrap();
    assert_eq!(found["total"], 0, "{found}");

    let app = app.restart().await;
    let (dir, _) = app.stop().await;
    for needle in [marker, title, customer] {
        let holders = held_anywhere(dir.path(), needle.as_bytes());
        assert!(holders.is_empty(), "{needle} is still in {holders:?}");
    }
}

#[tokio::test]
async fn a_rejected_batch_destroys_nothing_and_frees_its_documents() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let mut old = repair_order();
    old["service"]["service_date"] = json!("2019-05-01");
    let doc = app.file_ok(&clerk, &old, b"old").await;
    let propose = || {
        app.client
            .post(app.url("/api/v1/disposals"))
            .bearer_auth(&clerk)
            .json(&json!({"document_ids": [doc["id"]], "reason": "保管期满"}))
            .send()
    };
    let first: Value = propose().await.unwrap().json().await.unwrap();
    let r = propose().await.unwrap();
    assert_eq!(error_code(r).await, (409, "already_proposed".into()));
    let reject = format!("/api/v1/disposals/{}/reject", first["id"].as_str().unwrap());
    // Clerks propose; supervisors decide.
    let r = app
        .client
        .post(app.url(&reject))
        .bearer_auth(&clerk)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let supervisor = app.token("super_bj").await;
    let r = app
        .client
        .post(app.url(&reject))
        .bearer_auth(&supervisor)
        .json(&json!({"note": "尚有纠纷,暂缓销毁"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let rejected: Value = r.json().await.unwrap();
    assert_eq!(rejected["status"], "rejected", "{rejected}");
    assert_eq!(rejected["rejected_by"], "super_bj");
    // Nothing was destroyed, and the document may be proposed again.
    let path = format!("/api/v1/documents/{}", doc["id"].as_str().unwrap());
    assert_eq!(app.get(&clerk, &path).await.status(), 200);
    assert_eq!(propose().await.unwrap().status(), 201);
    // A rejected batch cannot be approved any more.
    let approve = format!(
        "/api/v1/disposals/{}/approve",
        first["id"].as_str().unwrap()
    );
    let r = app
        .client
        .post(app.url(&approve))
        .bearer_auth(&supervisor)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, (409, "invalid_state".into()));
}
