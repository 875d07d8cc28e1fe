//! The supervisor's, auditor's and administrator's desks end to end in
//! headless Chromium (issue #18): this test starts the real binary, makes the
//! users, documents and access requests through the API, runs
//! `tests/e2e/desks.mjs`, then checks in the retrieval log what the pages did
//! and that the API's verification names the record the browser step
//! tampered with. Needs what `front_desk` needs (`.ci/run` installs it).

use std::path::Path;

use serde_json::{Value, json};

use crate::front_desk::{add_user, browser_ready, events, file_text, run_script};
use crate::helpers::{ADMIN_PASSWORD, repair_order};
use crate::process::{login, start_server};

/// Files `meta` through the API; the id and archive number the script needs.
async fn file(client: &reqwest::Client, address: &str, token: &str, meta: &Value) -> Value {
    let doc = file_text(client, address, token, meta, "销售合同 正文".as_bytes()).await;
    json!({"id": doc["id"], "archive_no": doc["archive_no"]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisors_auditors_and_admins_work_their_desks_in_chromium() {
    if !browser_ready() {
        return;
    }
    let _heavy = crate::helpers::HEAVY.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = start_server(&data).await;
    let address = server.address.clone();
    let client = reqwest::Client::new();
    let admin = login(&client, &address, "admin", ADMIN_PASSWORD).await;
    let user = |name: &str, role: &str, branch: &str, clearance: &str| {
        json!({"username": name, "password": format!("{name}-password-1"), "roles": [role],
            "branch": branch, "clearance": clearance})
    };
    for u in [
        user("boss1", "supervisor", "BJ01", "confidential"),
        user("staff1", "staff", "BJ01", "internal"),
        user("clerk1", "clerk", "BJ01", "confidential"),
        user("auditor1", "auditor", "*", "restricted"),
    ] {
        add_user(&client, &address, &admin, u).await;
    }
    let clerk = login(&client, &address, "clerk1", "clerk1-password-1").await;
    let mut contract = repair_order();
    contract["confidentiality"] = json!("confidential");
    contract["title"] = json!("销售合同 甲");
    let wanted = file(&client, &address, &clerk, &contract).await;
    contract["title"] = json!("销售合同 乙");
    let refused = file(&client, &address, &clerk, &contract).await;
    let mut old = repair_order();
    old["service"]["service_date"] = json!("2019-05-01");
    let held = file(&client, &address, &clerk, &old).await;
    let disposed = file(&client, &address, &clerk, &old).await;
    let staff = login(&client, &address, "staff1", "staff1-password-1").await;
    for doc in [&wanted, &refused] {
        let r = client
            .post(format!("{address}/api/v1/access-requests"))
            .bearer_auth(&staff)
            .json(&json!({"document_id": doc["archive_no"], "purpose": "客户投诉处理", "days": 2}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }

    let users = json!({
        "supervisor": {"username": "boss1", "password": "boss1-password-1"},
        "staff": {"username": "staff1", "password": "staff1-password-1"},
        "clerk": {"username": "clerk1", "password": "clerk1-password-1"},
        "auditor": {"username": "auditor1", "password": "auditor1-password-1"},
        "admin": {"username": "admin", "password": ADMIN_PASSWORD},
    });
    let docs = json!({"wanted": wanted, "refused": refused, "held": held, "disposed": disposed});
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e-artifacts/desks");
    let summary = run_script(
        "desks.mjs",
        &address,
        &artifacts,
        &[
            ("DANGAN_E2E_USERS", users.to_string()),
            ("DANGAN_E2E_DOCS", docs.to_string()),
            (
                "DANGAN_E2E_LOG",
                data.join("audit/retrieval.log").display().to_string(),
            ),
        ],
    );

    // What the pages did is in the log, as the API's use cases write it.
    let auditor = login(&client, &address, "auditor1", "auditor1-password-1").await;
    for (user, action) in [
        ("boss1", "access.approve"),
        ("boss1", "access.reject"),
        ("boss1", "access.revoke"),
        ("boss1", "document.legal_hold"),
        ("clerk1", "disposal.propose"),
        ("boss1", "disposal.approve"),
        ("auditor1", "audit.query"),
        ("auditor1", "audit.verify"),
        ("auditor1", "audit.stats"),
        ("admin", "admin.user.create"),
        ("admin", "admin.index.rebuild"),
    ] {
        let found = events(
            &client,
            &address,
            &auditor,
            &format!("user={user}&action={action}"),
        )
        .await;
        assert!(
            found.iter().any(|e| e["outcome"] == "allowed"),
            "{action} by {user}: {found:?}"
        );
    }
    let created = events(
        &client,
        &address,
        &auditor,
        "user=admin&action=admin.user.create",
    )
    .await;
    assert!(created.iter().any(|e| e["detail"]["username"] == "clerk9"));
    assert!(
        created
            .iter()
            .all(|e| e["detail"]["username"] != "both" || e["outcome"] != "allowed"),
        "the refused user was not created"
    );
    // The API's verification agrees with the page about the tampered record.
    let report: Value = client
        .get(format!("{address}/api/v1/audit/verify"))
        .bearer_auth(&auditor)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["first_bad_seq"], summary["tampered_seq"], "{report}");
    let axed = summary["axe"].as_object().unwrap();
    for page in [
        "approvals",
        "retention",
        "holds",
        "disposals",
        "audit",
        "stats",
        "verify",
        "users",
        "system",
    ] {
        assert_eq!(axed[page]["serious_or_critical"], 0, "{page}");
    }
    drop(server);
}
