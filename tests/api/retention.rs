//! Retention periods and legal holds.

use serde_json::{Value, json};

use crate::helpers::{error_code, repair_order, spawn_app};

#[tokio::test]
async fn records_past_retention_are_listed_unless_on_legal_hold() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let mut old = repair_order();
    old["service"]["service_date"] = json!("2019-05-01"); // repair files: 3 years
    let expired = app.file_ok(&clerk, &old, b"old").await;
    app.file_ok(&clerk, &repair_order(), b"new").await;
    let id = expired["id"].as_str().unwrap();
    assert_eq!(expired["retention_until"], "2022-05-01");

    let due: Value = app
        .get(&clerk, "/api/v1/retention/due")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(due["total"], 1);
    assert_eq!(due["documents"][0]["id"], id);
    let later: Value = app
        .get(&clerk, "/api/v1/retention/due?as_of=2029-03-02")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        later["total"], 2,
        "the newer record falls due after 2029-03-01"
    );
    let other: Value = app
        .get(&app.token("clerk_sh").await, "/api/v1/retention/due")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(other["total"], 0, "only the caller's branch");

    let supervisor = app.token("super_bj").await;
    let url = app.url(&format!("/api/v1/documents/{id}/legal-hold"));
    let r = app
        .client
        .put(&url)
        .bearer_auth(&supervisor)
        .json(&json!({"hold": true, "reason": " "}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, (422, "reason_required".into()));
    let r = app
        .client
        .put(&url)
        .bearer_auth(&supervisor)
        .json(&json!({"hold": true, "reason": "客户诉讼,保全证据"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let held: Value = r.json().await.unwrap();
    assert_eq!(held["legal_hold"]["reason"], "客户诉讼,保全证据");
    assert_eq!(held["legal_hold"]["set_by"], "super_bj");
    let r = app
        .client
        .put(&url)
        .bearer_auth(&supervisor)
        .json(&json!({"hold": true, "reason": "again"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, (409, "no_change".into()));
    let due: Value = app
        .get(&clerk, "/api/v1/retention/due")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(due["total"], 0, "a held record is never due");
    let r = app
        .client
        .put(&url)
        .bearer_auth(&clerk)
        .json(&json!({"hold": false, "reason": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await.0, 403, "clerks do not lift holds");
    let r = app
        .client
        .put(&url)
        .bearer_auth(&supervisor)
        .json(&json!({"hold": false, "reason": "诉讼结束"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let due: Value = app
        .get(&clerk, "/api/v1/retention/due")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(due["total"], 1);
    let records = app.audit_records();
    let holds: Vec<&Value> = records
        .iter()
        .filter(|r| r["action"] == "document.legal_hold" && r["outcome"] == "allowed")
        .collect();
    assert_eq!(holds.len(), 2);
    assert_eq!(holds[0]["detail"]["reason"], "客户诉讼,保全证据");
    // The hold survives a restart: it is in the manifest in the store.
    let app = app.restart().await;
    let supervisor = app.token("super_bj").await;
    let r = app
        .client
        .put(app.url(&format!("/api/v1/documents/{id}/legal-hold")))
        .bearer_auth(&supervisor)
        .json(&json!({"hold": true, "reason": "复查"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let app = app.restart().await;
    let clerk = app.token("clerk_bj").await;
    let due: Value = app
        .get(&clerk, "/api/v1/retention/due")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(due["total"], 0);
}

/// The object store is the system of record: with a copy of it and the master
/// key, a fresh machine serves every document, searchable, with its users.
#[tokio::test]
async fn a_copy_of_the_object_store_and_the_key_restore_onto_an_empty_data_dir() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let doc = app
        .file_ok(&clerk, &repair_order(), "恢复演练 刹车片".as_bytes())
        .await;
    let objects = app.dir.path().join("objects");
    let backup = tempfile::tempdir().unwrap();
    let copy = |from: &std::path::Path, to: &std::path::Path| {
        let status = std::process::Command::new("cp")
            .arg("-a")
            .arg(from)
            .arg(to)
            .status()
            .unwrap();
        assert!(status.success());
    };
    let app = app.restart().await; // quiesce, as a backup would
    copy(&objects, &backup.path().join("objects"));
    drop(app);

    let fresh = tempfile::tempdir().unwrap();
    let mut config = crate::helpers::test_config(fresh.path(), &crate::helpers::Store::Local);
    config.storage.url = format!("file://{}", backup.path().join("objects").display());
    let restored = crate::helpers::spawn_app_in(fresh, config).await;
    let staff = restored.token("staff_bj").await;
    let id = doc["id"].as_str().unwrap();
    let r = restored
        .get(&staff, &format!("/api/v1/documents/{id}/content"))
        .await;
    assert_eq!(r.text().await.unwrap(), "恢复演练 刹车片");
    let found: Value = restored
        .get(
            &staff,
            "/api/v1/search?q=%E6%81%A2%E5%A4%8D%E6%BC%94%E7%BB%83",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["total"], 1, "the index is rebuilt from the store");
    let next = restored
        .file_ok(&restored.token("clerk_bj").await, &repair_order(), b"next")
        .await;
    assert_eq!(
        next["archive_no"], "BJ01-WX-2026-000002",
        "numbering continues"
    );
}
