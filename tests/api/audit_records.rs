//! Every action leaves exactly one retrieval-log record, with its fields (spec §4).

use serde_json::Value;

use crate::helpers::{repair_order, spawn_app};

/// Performs every kind of access once and finds exactly one record of each,
/// with who, what and the outcome, including the refused ones.
#[tokio::test]
async fn every_action_leaves_exactly_one_record_with_its_fields() {
    use serde_json::json;
    let app = spawn_app().await;
    let before = app.audit_records().len();
    let clerk = app.token("clerk_bj").await; // auth.login
    app.post_login("staff_bj", "wrong password").await; // auth.login_failed
    let mut old = repair_order();
    old["service"]["service_date"] = json!("2019-05-01");
    let doc = app.file_ok(&clerk, &old, "维修委托书".as_bytes()).await; // document.file
    let id = doc["id"].as_str().unwrap().to_string();
    let vin = old["vehicle"]["vin"].as_str().unwrap().to_string();
    let staff = app.token("staff_bj").await;
    let supervisor = app.token("super_bj").await;
    let auditor = app.token("auditor").await;
    let admin = app.token("admin").await;
    let logins = 5;
    app.get(&staff, &format!("/api/v1/documents/{id}")).await; // document.view
    app.get(&staff, &format!("/api/v1/documents/{id}/content"))
        .await
        .bytes()
        .await
        .unwrap(); // document.content
    app.get(&staff, &format!("/api/v1/documents/{id}/versions"))
        .await; // document.versions
    app.get(&staff, &format!("/api/v1/vehicles/{vin}/documents"))
        .await; // vehicle.history
    app.get(&staff, "/api/v1/search?q=13812341234").await; // search
    let form = reqwest::multipart::Form::new().text("reason", "重扫").part(
        "file",
        reqwest::multipart::Part::bytes(b"v2".to_vec()).file_name("v2.txt"),
    );
    app.client
        .post(app.url(&format!("/api/v1/documents/{id}/versions")))
        .bearer_auth(&clerk)
        .multipart(form)
        .send()
        .await
        .unwrap(); // document.version.add
    let fix = json!({"changes": {"title": "更正"}, "reason": "录入错误"});
    app.client
        .patch(app.url(&format!("/api/v1/documents/{id}")))
        .bearer_auth(&clerk)
        .json(&fix)
        .send()
        .await
        .unwrap(); // document.correct
    let mut secret = repair_order();
    secret["confidentiality"] = json!("confidential");
    let hidden = app.file_ok(&clerk, &secret, b"secret").await; // document.file (2nd)
    let hid = hidden["id"].as_str().unwrap().to_string();
    let req: Value = app
        .client
        .post(app.url("/api/v1/access-requests"))
        .bearer_auth(&staff)
        .json(&json!({"document_id": hid, "purpose": "投诉处理"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap(); // access.request
    app.client
        .post(app.url(&format!(
            "/api/v1/access-requests/{}/approve",
            req["id"].as_str().unwrap()
        )))
        .bearer_auth(&supervisor)
        .send()
        .await
        .unwrap(); // access.approve
    app.get(&staff, &format!("/api/v1/documents/{hid}")).await; // document.view with grant (2nd view)
    app.client
        .put(app.url(&format!("/api/v1/documents/{id}/legal-hold")))
        .bearer_auth(&supervisor)
        .json(&json!({"hold": true, "reason": "保全"}))
        .send()
        .await
        .unwrap(); // document.legal_hold
    app.client
        .put(app.url(&format!("/api/v1/documents/{id}/legal-hold")))
        .bearer_auth(&supervisor)
        .json(&json!({"hold": false, "reason": "解除"}))
        .send()
        .await
        .unwrap(); // document.legal_hold (2nd)
    let d: Value = app
        .client
        .post(app.url("/api/v1/disposals"))
        .bearer_auth(&clerk)
        .json(&json!({"document_ids": [id], "reason": "期满"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap(); // disposal.propose
    app.client
        .post(app.url(&format!(
            "/api/v1/disposals/{}/approve",
            d["id"].as_str().unwrap()
        )))
        .bearer_auth(&supervisor)
        .send()
        .await
        .unwrap(); // disposal.approve + document.dispose
    app.client
        .get(app.url("/api/v1/auth/me"))
        .bearer_auth("forged.token.here")
        .send()
        .await
        .unwrap(); // auth.token_refused
    app.get(&staff, "/api/v1/users").await; // permission.denied
    let new_user = json!({"username": "newbie", "password": "newbie-password", "roles": ["staff"], "branch": "BJ01", "clearance": "internal"});
    app.client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(&new_user)
        .send()
        .await
        .unwrap(); // admin.user.create
    app.client
        .patch(app.url("/api/v1/users/newbie"))
        .bearer_auth(&admin)
        .json(&json!({"clearance": "public"}))
        .send()
        .await
        .unwrap(); // admin.user.update
    app.get(&admin, "/api/v1/users").await; // admin.user.list
    app.get(&auditor, "/api/v1/audit/events?user=staff_bj")
        .await; // audit.query
    app.get(&auditor, "/api/v1/audit/events?format=csv").await; // audit.query (export)
    app.get(&auditor, "/api/v1/audit/verify").await; // audit.verify

    let records: Vec<Value> = app.audit_records().into_iter().skip(before).collect();
    let count = |action: &str, outcome: &str| {
        records
            .iter()
            .filter(|r| r["action"] == action && r["outcome"] == outcome)
            .count()
    };
    let expected = [
        ("auth.login", "allowed", logins),
        ("auth.login_failed", "denied", 1),
        ("document.file", "allowed", 2),
        ("document.view", "allowed", 2),
        ("document.content", "allowed", 1),
        ("document.versions", "allowed", 1),
        ("vehicle.history", "allowed", 1),
        ("search", "allowed", 1),
        ("document.version.add", "allowed", 1),
        ("document.correct", "allowed", 1),
        ("access.request", "allowed", 1),
        ("access.approve", "allowed", 1),
        ("document.legal_hold", "allowed", 2),
        ("disposal.propose", "allowed", 1),
        ("disposal.approve", "allowed", 1),
        ("document.dispose", "allowed", 1),
        ("auth.token_refused", "denied", 1),
        ("permission.denied", "denied", 1),
        ("admin.user.create", "allowed", 1),
        ("admin.user.update", "allowed", 1),
        ("admin.user.list", "allowed", 1),
        ("audit.query", "allowed", 2),
        ("audit.verify", "allowed", 1),
    ];
    for (action, outcome, n) in expected {
        assert_eq!(count(action, outcome), n, "{action}/{outcome}");
    }
    let grant_use = records
        .iter()
        .filter(|r| r["action"] == "document.view" && r["detail"]["grant"].is_string())
        .count();
    assert_eq!(grant_use, 1, "grant use");
    let content = records
        .iter()
        .find(|r| r["action"] == "document.content")
        .unwrap();
    assert_eq!(
        (
            content["user"].as_str(),
            content["document"].as_str(),
            content["vin"].as_str()
        ),
        (Some("staff_bj"), Some(id.as_str()), Some(vin.as_str()))
    );
    assert_eq!(content["detail"]["version"], 1);
    let search = records.iter().find(|r| r["action"] == "search").unwrap();
    assert_eq!(search["detail"]["q"], "138****1234");
    let denied = records
        .iter()
        .find(|r| r["action"] == "permission.denied")
        .unwrap();
    assert_eq!(denied["detail"]["action"], "users.manage");
    assert_eq!(denied["user"], "staff_bj");
    let mut seqs: Vec<u64> = app
        .audit_records()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    let n = seqs.len() as u64;
    seqs.dedup();
    assert_eq!(seqs, (1..=n).collect::<Vec<_>>(), "one sequence, no gaps");
}
