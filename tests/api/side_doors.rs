//! No side doors (spec §3, §4): grants stop at their approver's branch and
//! clearance, asking reveals nothing, `admin` is held alone, names are unique in
//! any letter case, a revoked token has no same-second window, a query of
//! nothing searchable finds nothing, registers stay in their branches, and
//! exports are safe to open in a spreadsheet.

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, error_code, repair_order, spawn_app};

/// Creates a user (the admin's token) and returns their token.
async fn add_user(
    app: &TestApp,
    name: &str,
    roles: &[&str],
    branch: &str,
    clearance: &str,
) -> String {
    let admin = app.token("admin").await;
    let user = json!({"username": name, "password": PASSWORD, "roles": roles, "branch": branch, "clearance": clearance});
    let r = app
        .client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{name}");
    app.token(name).await
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    app.post_json(token, path, body).await
}

fn order(branch: &str, level: &str, title: &str) -> Value {
    let mut m = repair_order();
    m["branch"] = json!(branch);
    m["confidentiality"] = json!(level);
    m["title"] = json!(title);
    m
}

async fn approve(app: &TestApp, token: &str, request: &Value) -> reqwest::Response {
    let id = request["id"].as_str().unwrap();
    post(
        app,
        token,
        &format!("/api/v1/access-requests/{id}/approve"),
        json!({}),
    )
    .await
}

fn path_of(doc: &Value) -> String {
    format!("/api/v1/documents/{}", doc["id"].as_str().unwrap())
}

#[tokio::test]
async fn a_vehicle_grant_covers_only_the_approvers_branch_and_clearance_even_for_later_filings() {
    let app = spawn_app().await;
    let vin = repair_order()["vehicle"]["vin"]
        .as_str()
        .unwrap()
        .to_string();
    let clerk_bj = app.token("clerk_bj").await;
    let clerk_sh = app.token("clerk_sh").await;
    let bj_internal = app
        .file_ok(&clerk_bj, &order("BJ01", "internal", "保养"), b"a")
        .await;
    let visitor = add_user(&app, "staff_gz", &["staff"], "GZ01", "restricted").await;
    let supervisor = app.token("super_bj").await;
    let asked: Value = post(
        &app,
        &visitor,
        "/api/v1/access-requests",
        json!({"vin": vin, "purpose": "客户转店维修"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(approve(&app, &supervisor, &asked).await.status(), 200);
    // Filed after the approval: one in the approver's branch, one in another
    // branch at the top level.
    let bj_later = app
        .file_ok(&clerk_bj, &order("BJ01", "confidential", "索赔"), b"b")
        .await;
    let sh_restricted = app
        .file_ok(&clerk_sh, &order("SH01", "restricted", "事故车定损"), b"c")
        .await;
    assert_eq!(
        app.get(&visitor, &path_of(&bj_internal)).await.status(),
        200
    );
    assert_eq!(app.get(&visitor, &path_of(&bj_later)).await.status(), 200);
    assert_eq!(
        app.get(&visitor, &path_of(&sh_restricted)).await.status(),
        404
    );
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let found: Value = app
        .get(&visitor, &format!("/api/v1/search?vin={vin}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["total"], 2, "{found}");

    // A supervisor cleared `internal` grants no more than `internal`.
    let internal_sup = add_user(&app, "super_int", &["supervisor"], "BJ01", "internal").await;
    let second = add_user(&app, "staff_cd", &["staff"], "CD01", "restricted").await;
    let asked: Value = post(
        &app,
        &second,
        "/api/v1/access-requests",
        json!({"vin": vin, "purpose": "保险核查"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(approve(&app, &internal_sup, &asked).await.status(), 200);
    assert_eq!(app.get(&second, &path_of(&bj_internal)).await.status(), 200);
    assert_eq!(app.get(&second, &path_of(&bj_later)).await.status(), 404);
}

#[tokio::test]
async fn a_supervisor_approves_no_document_above_their_clearance() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let secret = app
        .file_ok(&clerk, &order("BJ01", "confidential", "销售合同"), b"x")
        .await;
    let visitor = add_user(&app, "staff_gz", &["staff"], "GZ01", "restricted").await;
    let internal_sup = add_user(&app, "super_int", &["supervisor"], "BJ01", "internal").await;
    let asked: Value = post(
        &app,
        &visitor,
        "/api/v1/access-requests",
        json!({"document_id": secret["id"], "purpose": "合同复核"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let r = approve(&app, &internal_sup, &asked).await;
    assert_eq!(error_code(r).await, (403, "forbidden".into()));
    assert_eq!(app.get(&visitor, &path_of(&secret)).await.status(), 404);
    let r = approve(&app, &app.token("super_bj").await, &asked).await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.get(&visitor, &path_of(&secret)).await.status(), 200);
}

#[tokio::test]
async fn asking_for_access_reveals_nothing_about_the_target() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let doc = app.file_ok(&clerk, &repair_order(), b"x").await;
    let staff_sh = app.token("staff_sh").await;
    let asks = [
        json!({"document_id": doc["archive_no"], "purpose": "核对"}),
        json!({"document_id": "BJ01-WX-2026-000099", "purpose": "核对"}),
        json!({"document_id": doc["id"], "purpose": "核对"}),
        json!({"document_id": "00000000-0000-4000-8000-000000000000", "purpose": "核对"}),
    ];
    let mut shapes = vec![];
    for ask in asks {
        let r = post(&app, &staff_sh, "/api/v1/access-requests", ask.clone()).await;
        assert_eq!(r.status(), 201, "{ask}");
        let body: Value = r.json().await.unwrap();
        for key in ["archive_no", "vin", "document_id"] {
            assert_eq!(body[key], Value::Null, "{key} in {body}");
        }
        assert_eq!(body["branches"], json!([]), "{body}");
        let mut keys: Vec<String> = body.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        shapes.push(keys);
    }
    assert!(shapes.windows(2).all(|w| w[0] == w[1]), "{shapes:?}");
    // By VIN: which branches hold the vehicle stays unsaid.
    let vin = doc["vehicle"]["vin"].as_str().unwrap();
    let body: Value = post(
        &app,
        &staff_sh,
        "/api/v1/access-requests",
        json!({"vin": vin, "purpose": "核对"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(body["branches"], json!([]), "{body}");
    // The supervisor deciding sees the details; the requester's list does not.
    let queue: Value = app
        .get(&app.token("super_bj").await, "/api/v1/access-requests")
        .await
        .json()
        .await
        .unwrap();
    let queue = queue["requests"].as_array().unwrap();
    assert!(
        queue.iter().any(|r| r["archive_no"] == doc["archive_no"]),
        "{queue:?}"
    );
    let own: Value = app
        .get(&staff_sh, "/api/v1/access-requests")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        own["requests"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["archive_no"].is_null() && r["branches"] == json!([])),
        "{own}"
    );
}

#[tokio::test]
async fn admin_is_held_alone_and_names_are_unique_in_any_letter_case() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    for roles in [json!(["admin", "staff"]), json!(["admin", "auditor"])] {
        let user = json!({"username": "mixed", "password": PASSWORD, "roles": roles, "branch": "*", "clearance": "restricted"});
        let r = post(&app, &admin, "/api/v1/users", user).await;
        assert_eq!(
            error_code(r).await,
            (422, "invalid_roles".into()),
            "{roles}"
        );
    }
    for name in ["ADMIN", "Admin", "Clerk_BJ"] {
        let user = json!({"username": name, "password": PASSWORD, "roles": ["staff"], "branch": "BJ01", "clearance": "internal"});
        let r = post(&app, &admin, "/api/v1/users", user).await;
        assert_eq!(error_code(r).await, (409, "user_exists".into()), "{name}");
    }
}

#[tokio::test]
async fn a_token_issued_just_before_a_password_change_is_void() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    for _ in 0..3 {
        let token = app.token("staff_bj").await;
        let r = app
            .client
            .patch(app.url("/api/v1/users/staff_bj"))
            .bearer_auth(&admin)
            .json(&json!({"password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let r = app.get(&token, "/api/v1/auth/me").await;
        assert_eq!(error_code(r).await, (401, "token_revoked".into()));
        // A token issued after the change works.
        let fresh = app.token("staff_bj").await;
        assert_eq!(app.get(&fresh, "/api/v1/auth/me").await.status(), 200);
    }
}

#[tokio::test]
async fn a_query_of_nothing_searchable_is_refused_not_answered_with_everything() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    app.file_ok(&clerk, &repair_order(), b"x").await;
    for q in ["🚗", "！", "——", "*", "。。 ，"] {
        let path = format!(
            "/api/v1/search?q={}",
            url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
        );
        let r = app.get(&clerk, &path).await;
        assert_eq!(error_code(r).await, (400, "empty_query".into()), "{q}");
    }
}

#[tokio::test]
async fn a_disposal_register_stays_with_its_branches_and_unknown_ids_are_recorded() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let mut old = repair_order();
    old["service"]["service_date"] = json!("2019-05-01");
    let doc = app.file_ok(&clerk, &old, b"old").await;
    let proposal: Value = post(
        &app,
        &clerk,
        "/api/v1/disposals",
        json!({"document_ids": [doc["id"]], "reason": "保管期满"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let path = format!("/api/v1/disposals/{}", proposal["id"].as_str().unwrap());
    assert_eq!(app.get(&clerk, &path).await.status(), 200);
    assert_eq!(
        app.get(&app.token("auditor").await, &path).await.status(),
        200
    );
    let other = app.get(&app.token("clerk_sh").await, &path).await;
    assert_eq!(error_code(other).await, (404, "not_found".into()));

    let unknown = "/api/v1/disposals/00000000-0000-4000-8000-000000000000";
    assert_eq!(app.get(&clerk, unknown).await.status(), 404);
    let records = app.audit_records();
    let denied: Vec<&Value> = records
        .iter()
        .filter(|r| r["action"] == "disposal.view" && r["outcome"] == "denied")
        .collect();
    assert_eq!(denied.len(), 2, "{denied:?}");
}

#[tokio::test]
async fn cells_a_spreadsheet_would_run_are_neutralised_in_the_csv_export() {
    let app = spawn_app().await;
    let hostile = "=HYPERLINK(\"http://x\",\"y\")";
    assert_eq!(
        app.post_login(hostile, "wrong-password").await.status(),
        401
    );
    let clerk = app.token("clerk_bj").await;
    let doc = app.file_ok(&clerk, &repair_order(), b"x").await;
    let staff = app.token("staff_sh").await;
    for purpose in ["+1 核对", "-1 核对", "@SUM(A1) 核对", "\t核对"] {
        let r = post(
            &app,
            &staff,
            "/api/v1/access-requests",
            json!({"document_id": doc["id"], "purpose": purpose}),
        )
        .await;
        assert_eq!(r.status(), 201, "{purpose}");
    }
    let csv = app
        .get(
            &app.token("auditor").await,
            "/api/v1/audit/events?format=csv",
        )
        .await
        .text()
        .await
        .unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let mut cells = 0;
    for row in reader.records() {
        for cell in row.unwrap().iter() {
            cells += 1;
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{cell:?}"
            );
        }
    }
    assert!(cells > 50);
    assert!(csv.contains("'=HYPERLINK"), "the value is kept, made inert");
}

#[tokio::test]
async fn every_authenticated_answer_and_every_login_attempt_leaves_a_record() {
    let app = spawn_app().await;
    let staff = app.token("staff_bj").await;
    let auditor = app.token("auditor").await;
    let cases: Vec<(&str, &str, &str, Option<Value>)> = vec![
        ("staff_bj", "GET", "/api/v1/classification", None),
        ("staff_bj", "GET", "/api/v1/search?page=0", None),
        ("staff_bj", "GET", "/api/v1/search?category=%E6%97%A0", None),
        (
            "staff_bj",
            "GET",
            "/api/v1/vehicles/NOT-A-VIN/documents",
            None,
        ),
        (
            "staff_bj",
            "POST",
            "/api/v1/access-requests",
            Some(json!({"purpose": "x"})),
        ),
        (
            "auditor",
            "GET",
            "/api/v1/audit/events?from=yesterday",
            None,
        ),
        (
            "staff_bj",
            "GET",
            "/api/v1/documents/x/versions?version=abc",
            None,
        ),
    ];
    for (user, method, path, body) in cases {
        let token = if user == "auditor" { &auditor } else { &staff };
        let before = app.audit_records().len();
        let mut req = app
            .client
            .request(method.parse().unwrap(), app.url(path))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let status = req.send().await.unwrap().status();
        let new: Vec<Value> = app.audit_records().into_iter().skip(before).collect();
        assert!(
            new.iter().any(|r| r["user"] == user),
            "{method} {path} ({status}) left no record of {user}: {new:?}"
        );
    }
    // A malformed login body is an attempt too.
    let before = app.audit_records().len();
    let r = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let new: Vec<Value> = app.audit_records().into_iter().skip(before).collect();
    assert!(
        new.iter()
            .any(|r| r["action"] == "auth.login" && r["outcome"] == "denied"),
        "{new:?}"
    );
}

#[tokio::test]
async fn an_auditor_sees_a_documents_metadata_but_never_its_transcript() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let mut meta = order("BJ01", "confidential", "扫描件 委托书");
    meta["transcript"] = json!("手写：发动机大修，客户要求保密");
    let doc = app.file_ok(&clerk, &meta, b"scan").await;
    let auditor = add_user(&app, "auditor_sh", &["auditor"], "SH01", "public").await;
    let seen: Value = app
        .get(&auditor, &path_of(&doc))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seen["archive_no"], doc["archive_no"], "{seen}");
    assert!(seen.get("transcript").is_none(), "{seen}");
    assert!(!seen.to_string().contains("发动机大修"), "{seen}");
    let clerk_view: Value = app.get(&clerk, &path_of(&doc)).await.json().await.unwrap();
    assert_eq!(clerk_view["transcript"], meta["transcript"], "{clerk_view}");
}

#[tokio::test]
async fn server_set_days_are_days_of_the_archives_calendar() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    // 22:30 UTC on New Year's Eve is 06:30 on 1 January in Beijing.
    let target: chrono::DateTime<chrono::Utc> = "2026-12-31T22:30:30Z".parse().unwrap();
    app.clock.advance(target - chrono::Utc::now());
    let mut meta = repair_order();
    meta["category"] = json!("ZL");
    meta.as_object_mut().unwrap().remove("service");
    let doc = app.file_ok(&clerk, &meta, b"complaint").await;
    assert_eq!(doc["archive_no"], "BJ01-ZL-2027-000001", "{doc}");
    assert_eq!(doc["retention_until"], "2030-01-01", "{doc}");
    assert!(
        doc["filed_at"]
            .as_str()
            .unwrap()
            .starts_with("2026-12-31T22:3"),
        "instants stay RFC 3339 in UTC: {doc}"
    );
    // Search's day filter counts the same local day.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let staff = app.token("staff_bj").await;
    let found: Value = app
        .get(&staff, "/api/v1/search?from=2027-01-01&to=2027-01-01")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["total"], 1, "{found}");
}
