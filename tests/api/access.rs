//! Access requests (调阅): request, decision by another supervisor of the
//! branch, reading under the grant, expiry and revocation.

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, repair_order, spawn_app};

async fn confidential_doc(app: &TestApp) -> Value {
    let clerk = app.token("clerk_bj").await;
    let mut meta = repair_order();
    meta["confidentiality"] = json!("confidential");
    app.file_ok(&clerk, &meta, "销售合同 机密".as_bytes()).await
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn staff_request_a_supervisor_approves_staff_read_until_the_grant_expires() {
    let app = spawn_app().await;
    let doc = confidential_doc(&app).await;
    let (id, archive_no) = (
        doc["id"].as_str().unwrap(),
        doc["archive_no"].as_str().unwrap(),
    );
    let staff = app.token("staff_bj").await;
    let meta = format!("/api/v1/documents/{id}");
    let content = format!("/api/v1/documents/{id}/content");
    assert_eq!(
        app.get(&staff, &meta).await.status(),
        404,
        "above the staff member's clearance"
    );

    let r = post(
        &app,
        &staff,
        "/api/v1/access-requests",
        json!({"document_id": archive_no, "purpose": "客户投诉处理需查阅销售合同", "days": 2}),
    )
    .await;
    assert_eq!(r.status(), 201);
    let request: Value = r.json().await.unwrap();
    assert_eq!(request["status"], "pending");
    let rid = request["id"].as_str().unwrap();

    // Staff cannot decide at all; a supervisor cannot decide their own request.
    let r = post(
        &app,
        &staff,
        &format!("/api/v1/access-requests/{rid}/approve"),
        json!({}),
    )
    .await;
    assert_eq!(error_code(r).await.0, 403);
    let supervisor = app.token("super_bj").await;
    let own: Value = post(
        &app,
        &supervisor,
        "/api/v1/access-requests",
        json!({"document_id": id, "purpose": "自查"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let r = post(
        &app,
        &supervisor,
        &format!(
            "/api/v1/access-requests/{}/approve",
            own["id"].as_str().unwrap()
        ),
        json!({}),
    )
    .await;
    assert_eq!(
        error_code(r).await,
        (403, "forbidden".into()),
        "self-approval is refused"
    );

    let pending: Value = app
        .get(&supervisor, "/api/v1/access-requests?status=pending")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pending["requests"].as_array().unwrap().len(), 2);
    let r = post(
        &app,
        &supervisor,
        &format!("/api/v1/access-requests/{rid}/approve"),
        json!({"note": "同意,仅限本次投诉处理"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let approved: Value = r.json().await.unwrap();
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["decided_by"], "super_bj");

    assert_eq!(app.get(&staff, &meta).await.status(), 200);
    let r = app.get(&staff, &content).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "销售合同 机密");
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let found: Value = app
        .get(
            &staff,
            "/api/v1/search?q=%E9%94%80%E5%94%AE%E5%90%88%E5%90%8C",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        found["total"], 1,
        "the granted document is searchable: {found}"
    );

    app.clock
        .advance(chrono::Duration::days(2) + chrono::Duration::minutes(1));
    assert_eq!(
        app.get(&staff, &meta).await.status(),
        404,
        "the grant expired by itself"
    );
    let found: Value = app
        .get(
            &staff,
            "/api/v1/search?q=%E9%94%80%E5%94%AE%E5%90%88%E5%90%8C",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["total"], 0);

    let records = app.audit_records();
    let has = |action: &str, outcome: &str| {
        records
            .iter()
            .any(|r| r["action"] == action && r["outcome"] == outcome)
    };
    assert!(has("access.request", "allowed"));
    assert!(has("access.approve", "allowed"));
    assert!(has("access.approve", "denied"), "the self-approval attempt");
    assert!(has("grant.expired", "denied"));
    let used = records
        .iter()
        .find(|r| r["action"] == "document.content" && r["user"] == "staff_bj")
        .unwrap();
    assert_eq!(used["detail"]["grant"], rid, "grant use is recorded");
    let req = records
        .iter()
        .find(|r| r["action"] == "access.request" && r["user"] == "staff_bj")
        .unwrap();
    assert_eq!(req["purpose"], "客户投诉处理需查阅销售合同");
}

#[tokio::test]
async fn grants_can_be_revoked_and_cover_a_whole_vehicle() {
    let app = spawn_app().await;
    let doc = confidential_doc(&app).await;
    confidential_doc(&app).await;
    let vin = repair_order()["vehicle"]["vin"]
        .as_str()
        .unwrap()
        .to_string();
    let staff = app.token("staff_bj").await;
    let supervisor = app.token("super_bj").await;
    let history = format!("/api/v1/vehicles/{vin}/documents");
    let list: Value = app.get(&staff, &history).await.json().await.unwrap();
    assert_eq!(list["total"], 0);
    let request: Value = post(
        &app,
        &staff,
        "/api/v1/access-requests",
        json!({"vin": vin, "purpose": "整车维修历史核查"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let rid = request["id"].as_str().unwrap();
    assert_eq!(request["days"], 3, "the default lifetime");
    post(
        &app,
        &supervisor,
        &format!("/api/v1/access-requests/{rid}/approve"),
        json!({}),
    )
    .await;
    let list: Value = app.get(&staff, &history).await.json().await.unwrap();
    assert_eq!(list["total"], 2);
    let r = post(
        &app,
        &supervisor,
        &format!("/api/v1/access-requests/{rid}/reject"),
        json!({}),
    )
    .await;
    assert_eq!(
        error_code(r).await.0,
        409,
        "an approved request cannot be rejected, only revoked"
    );
    let r = app
        .client
        .post(app.url(&format!("/api/v1/access-requests/{rid}/revoke")))
        .bearer_auth(&supervisor)
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "revoked");
    assert_eq!(
        app.get(
            &staff,
            &format!("/api/v1/documents/{}", doc["id"].as_str().unwrap())
        )
        .await
        .status(),
        404
    );
    // Another branch's supervisor cannot decide BJ01 requests.
    let again: Value = post(
        &app,
        &staff,
        "/api/v1/access-requests",
        json!({"vin": vin, "purpose": "再次核查"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let other = app.token("staff_sh").await;
    let r = post(
        &app,
        &other,
        &format!(
            "/api/v1/access-requests/{}/approve",
            again["id"].as_str().unwrap()
        ),
        json!({}),
    )
    .await;
    assert_eq!(error_code(r).await.0, 403);
}

#[tokio::test]
async fn bad_access_requests_are_refused_clearly() {
    let app = spawn_app().await;
    let doc = confidential_doc(&app).await;
    let id = doc["id"].as_str().unwrap();
    let staff = app.token("staff_bj").await;
    let cases = [
        (
            json!({"document_id": id, "purpose": "x", "days": 30}),
            422,
            "invalid_days",
        ),
        (
            json!({"document_id": id, "purpose": " "}),
            422,
            "purpose_required",
        ),
        (
            json!({"document_id": id, "vin": "LFV2A21K2M3000001", "purpose": "x"}),
            422,
            "invalid_request",
        ),
        (json!({"purpose": "x"}), 422, "invalid_request"),
        (
            json!({"document_id": id, "purpose": "x", "extra": 1}),
            422,
            "invalid_body",
        ),
    ];
    for (body, status, code) in cases {
        let r = post(&app, &staff, "/api/v1/access-requests", body.clone()).await;
        assert_eq!(error_code(r).await, (status, code.to_string()), "{body}");
    }
    let clerk = app.token("clerk_bj").await;
    let r = post(
        &app,
        &clerk,
        "/api/v1/access-requests",
        json!({"document_id": id, "purpose": "x"}),
    )
    .await;
    assert_eq!(error_code(r).await.0, 403, "clerks do not request access");
    let supervisor = app.token("super_bj").await;
    let r = app
        .client
        .post(app.url("/api/v1/access-requests/nope/approve"))
        .bearer_auth(&supervisor)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await.0, 400);
    let r = app
        .client
        .post(app.url("/api/v1/access-requests/nope/approve"))
        .bearer_auth(&supervisor)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await.0, 404);
}

#[tokio::test]
async fn a_grant_asked_for_contact_data_shows_the_customers_phone_and_nothing_else_does() {
    let app = spawn_app().await;
    let doc = confidential_doc(&app).await;
    let id = doc["id"].as_str().unwrap();
    let staff = app.token("staff_bj").await;
    let supervisor = app.token("super_bj").await;
    let ask =
        |contact: bool| json!({"document_id": id, "purpose": "回访客户投诉", "contact": contact});
    let plain: Value = post(&app, &staff, "/api/v1/access-requests", ask(false))
        .await
        .json()
        .await
        .unwrap();
    post(
        &app,
        &supervisor,
        &format!(
            "/api/v1/access-requests/{}/approve",
            plain["id"].as_str().unwrap()
        ),
        json!({}),
    )
    .await;
    let seen: Value = app
        .get(&staff, &format!("/api/v1/documents/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        seen["customer"]["phone"], "138****1234",
        "a grant without a contact purpose keeps PII masked"
    );

    let contact: Value = post(&app, &supervisor, "/api/v1/access-requests", ask(true))
        .await
        .json()
        .await
        .unwrap();
    let group_supervisor = app.token("super_all").await;
    post(
        &app,
        &group_supervisor,
        &format!(
            "/api/v1/access-requests/{}/approve",
            contact["id"].as_str().unwrap()
        ),
        json!({}),
    )
    .await;
    let seen: Value = app
        .get(&supervisor, &format!("/api/v1/documents/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        seen["customer"]["phone"], "13812341234",
        "the contact grant shows the number"
    );
    assert_eq!(seen["customer"]["id_number"], "11010519491231002X");
    let clerk = app.token("clerk_bj").await;
    let seen: Value = app
        .get(&clerk, &format!("/api/v1/documents/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        seen["customer"]["phone"], "138****1234",
        "no role unmasks by default"
    );
    let records = app.audit_records();
    let unmasked: Vec<&Value> = records
        .iter()
        .filter(|r| r["action"] == "document.view" && r["detail"]["pii"] == "unmasked")
        .collect();
    assert_eq!(unmasked.len(), 1);
    assert_eq!(unmasked[0]["user"], "super_bj");
    assert!(
        !std::fs::read_to_string(app.dir.path().join("audit/retrieval.log"))
            .unwrap()
            .contains("13812341234")
    );
}
