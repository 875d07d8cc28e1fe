//! The supervisor's desk without a browser (issue #18): approving and
//! rejecting on the approvals page and what the requester then may read,
//! revoking, a grant's expiry, and what the supervisors' lists show of other
//! branches and higher levels. The helpers here serve `desks_audit` and
//! `desks_records` too.

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, repair_order, spawn_app};
use crate::pages::{FormBody, client, csrf_of, page_login};

/// A confidential BJ01 document: above `staff_bj`'s clearance.
pub async fn confidential(app: &TestApp, title: &str) -> Value {
    let clerk = app.token("clerk_bj").await;
    let mut meta = repair_order();
    meta["confidentiality"] = json!("confidential");
    meta["title"] = json!(title);
    app.file_ok(&clerk, &meta, "销售合同 机密".as_bytes()).await
}

pub async fn page(app: &TestApp, cookie: &str, path: &str) -> (u16, String) {
    let r = client()
        .get(format!("{}{path}", app.address))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

pub async fn post(
    app: &TestApp,
    cookie: &str,
    csrf: &str,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut fields = form.to_vec();
    fields.push(("csrf", csrf));
    client()
        .post(format!("{}{path}", app.address))
        .header("cookie", cookie)
        .form_body(&fields)
        .send()
        .await
        .unwrap()
}

/// The ids of the access requests listed under the element with `class`.
pub fn listed(body: &str, class: &str) -> Vec<String> {
    let marker = format!("class=\"{class}\" data-request=\"");
    body.match_indices(&marker)
        .map(|(at, _)| {
            body[at + marker.len()..]
                .split('"')
                .next()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn a_supervisor_approves_one_request_and_rejects_another_and_the_requester_reads_only_the_approved()
 {
    let app = spawn_app().await;
    let wanted = confidential(&app, "销售合同 甲").await;
    let refused = confidential(&app, "销售合同 乙").await;
    let staff = app.token("staff_bj").await;
    let mut ids = vec![];
    for doc in [&wanted, &refused] {
        let r = app
            .post_json(
                &staff,
                "/api/v1/access-requests",
                json!({"document_id": doc["archive_no"], "purpose": "客户投诉处理", "days": 2}),
            )
            .await;
        assert_eq!(r.status(), 201);
        ids.push(
            r.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    // The supervisor's own request is never theirs to decide.
    let supervisor = app.token("super_bj").await;
    let own = app
        .post_json(
            &supervisor,
            "/api/v1/access-requests",
            json!({"vin": repair_order()["vehicle"]["vin"], "purpose": "自查", "days": 1}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let cookie = page_login(&app.address, "super_bj", PASSWORD).await;
    let csrf = csrf_of(&app.address, &cookie).await;
    let (status, body) = page(&app, &cookie, "/approvals").await;
    assert_eq!(status, 200);
    assert_eq!(
        listed(&body, "card request"),
        ids,
        "oldest first, not their own"
    );
    assert!(!body.contains(&own));
    assert!(body.contains("客户投诉处理") && body.contains("staff_bj"));
    assert!(
        body.contains(wanted["archive_no"].as_str().unwrap()),
        "the target is named"
    );

    let r = post(
        &app,
        &cookie,
        &csrf,
        &format!("/approvals/{}/approve", ids[0]),
        &[("note", "同意，限一天"), ("days", "3")],
    )
    .await;
    assert_eq!(r.status(), 422, "more days than asked for");
    assert!(r.text().await.unwrap().contains("data-error"));
    let r = post(
        &app,
        &cookie,
        &csrf,
        &format!("/approvals/{}/approve", ids[0]),
        &[("note", "同意，限一天"), ("days", "1")],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/approvals?done=approve");
    let granted: Value = app
        .get(&staff, "/api/v1/access-requests")
        .await
        .json()
        .await
        .unwrap();
    let grant = granted["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == ids[0].as_str())
        .unwrap()
        .clone();
    let at = |k: &str| {
        grant[k]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    };
    assert_eq!(
        at("expires_at") - at("decided_at"),
        chrono::Duration::days(1),
        "{grant}"
    );
    let r = post(
        &app,
        &cookie,
        &csrf,
        &format!("/approvals/{}/reject", ids[1]),
        &[("note", "用途不充分")],
    )
    .await;
    assert_eq!(r.status(), 303);
    // Deciding twice is refused with a sentence, and changes nothing.
    let r = post(
        &app,
        &cookie,
        &csrf,
        &format!("/approvals/{}/approve", ids[1]),
        &[],
    )
    .await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("data-error"));

    let (_, body) = page(&app, &cookie, "/approvals?done=reject").await;
    assert!(
        listed(&body, "card request").is_empty(),
        "the queue is empty"
    );
    assert_eq!(
        listed(&body, "grant"),
        vec![ids[0].clone()],
        "the running grant"
    );

    // The requester sees both outcomes with the notes, and reads only the approved.
    let staff_cookie = page_login(&app.address, "staff_bj", PASSWORD).await;
    let (_, mine) = page(&app, &staff_cookie, "/requests").await;
    assert!(mine.contains("data-status=\"approved\"") && mine.contains("同意，限一天"));
    assert!(mine.contains("data-status=\"rejected\"") && mine.contains("用途不充分"));
    let read = |doc: &Value| format!("/api/v1/documents/{}", doc["id"].as_str().unwrap());
    assert_eq!(app.get(&staff, &read(&wanted)).await.status(), 200);
    assert_eq!(app.get(&staff, &read(&refused)).await.status(), 404);
    let (status, _) = page(
        &app,
        &staff_cookie,
        &format!("/documents/{}", wanted["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(status, 200, "the document page too");

    // Revoked on the page: read no more.
    let r = post(
        &app,
        &cookie,
        &csrf,
        &format!("/approvals/{}/revoke", ids[0]),
        &[],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(app.get(&staff, &read(&wanted)).await.status(), 404);
    let (_, body) = page(&app, &cookie, "/approvals").await;
    assert!(listed(&body, "grant").is_empty());

    let decided: Vec<(String, String)> = app
        .audit_records()
        .into_iter()
        .filter(|r| {
            r["user"] == "super_bj"
                && r["action"]
                    .as_str()
                    .is_some_and(|a| a.starts_with("access."))
        })
        .map(|r| {
            (
                r["action"].as_str().unwrap().to_string(),
                r["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for want in [
        ("access.approve", "allowed"),
        ("access.reject", "allowed"),
        ("access.approve", "denied"),
        ("access.revoke", "allowed"),
    ] {
        assert!(
            decided.contains(&(want.0.to_string(), want.1.to_string())),
            "{want:?} in {decided:?}"
        );
    }
}

#[tokio::test]
async fn a_grant_shown_on_the_approvals_page_leaves_it_when_it_expires() {
    let app = spawn_app().await;
    let doc = confidential(&app, "销售合同 丙").await;
    let staff = app.token("staff_bj").await;
    let id = app
        .post_json(
            &staff,
            "/api/v1/access-requests",
            json!({"document_id": doc["archive_no"], "purpose": "核对", "days": 1}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let cookie = page_login(&app.address, "super_bj", PASSWORD).await;
    let csrf = csrf_of(&app.address, &cookie).await;
    post(
        &app,
        &cookie,
        &csrf,
        &format!("/approvals/{id}/approve"),
        &[],
    )
    .await;
    let (_, body) = page(&app, &cookie, "/approvals").await;
    assert_eq!(listed(&body, "grant"), vec![id.clone()]);
    app.clock
        .advance(chrono::Duration::days(1) + chrono::Duration::minutes(1));
    let (_, body) = page(&app, &cookie, "/approvals").await;
    assert!(listed(&body, "grant").is_empty(), "expired");
    let path = format!("/api/v1/documents/{}", doc["id"].as_str().unwrap());
    assert_eq!(app.get(&staff, &path).await.status(), 404);
}

/// A BJ01 repair order serviced in 2019: its 3 years of retention are over.
pub fn expired(order: &str) -> Value {
    let mut meta = repair_order();
    meta["service"]["service_date"] = json!("2019-05-01");
    meta["service"]["order_no"] = json!(order);
    meta
}

#[tokio::test]
async fn what_the_supervisor_desks_list_stays_within_branch_and_clearance() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    for (name, branch, clearance) in [
        ("super_sh", "SH01", "restricted"),
        ("super_low", "BJ01", "internal"),
    ] {
        let user = json!({"username": name, "password": PASSWORD, "roles": ["supervisor"],
            "branch": branch, "clearance": clearance});
        assert_eq!(
            app.post_json(&admin, "/api/v1/users", user).await.status(),
            201
        );
    }
    let secret = confidential(&app, "销售合同 丁").await;
    let staff = app.token("staff_bj").await;
    let ask = json!({"document_id": secret["archive_no"], "purpose": "核对", "days": 1});
    assert_eq!(
        app.post_json(&staff, "/api/v1/access-requests", ask)
            .await
            .status(),
        201
    );
    let clerk = app.token("clerk_bj").await;
    let held = app
        .file_ok(&clerk, &expired("BJ01-20190501-000003"), b"held")
        .await;
    let old = app
        .file_ok(&clerk, &expired("BJ01-20190501-000004"), b"old")
        .await;
    let hold = json!({"hold": true, "reason": "诉讼"});
    let path = format!(
        "/api/v1/documents/{}/legal-hold",
        held["id"].as_str().unwrap()
    );
    let r = app
        .client
        .put(app.url(&path))
        .bearer_auth(app.token("super_bj").await)
        .json(&hold)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let batch = json!({"document_ids": [old["id"]], "reason": "超过保管期限，联系 13812341234"});
    assert_eq!(
        app.post_json(&clerk, "/api/v1/disposals", batch)
            .await
            .status(),
        201
    );

    let count = |v: Value, key: &str| v[key].as_array().map_or(usize::MAX, Vec::len);
    // super_low is cleared for the held (internal) record, not for the
    // confidential one asked for.
    for (user, pending, holds) in [("super_bj", 1, 1), ("super_low", 0, 1), ("super_sh", 0, 0)] {
        let token = app.token(user).await;
        let queue: Value = app
            .get(&token, "/api/v1/access-requests/queue")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(count(queue, "pending"), pending, "{user}'s queue");
        let listed: Value = app
            .get(&token, "/api/v1/legal-holds")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(listed["total"], holds, "{user}'s holds");
        let cookie = page_login(&app.address, user, PASSWORD).await;
        let (_, body) = page(&app, &cookie, "/approvals").await;
        assert_eq!(listed_requests(&body), pending, "{user}'s approvals page");
        let (_, body) = page(&app, &cookie, "/holds").await;
        assert_eq!(
            body.matches("class=\"held-doc\"").count(),
            holds,
            "{user}'s holds page"
        );
    }
    for (user, batches) in [
        ("clerk_bj", 1),
        ("clerk_sh", 0),
        ("super_sh", 0),
        ("auditor", 1),
    ] {
        let token = app.token(user).await;
        let listed: Value = app
            .get(&token, "/api/v1/disposals")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(listed["total"], batches, "{user}'s register");
        if batches == 1 {
            let reason = listed["disposals"][0]["reason"].as_str().unwrap();
            assert!(!reason.contains("13812341234"), "masked: {reason}");
        }
        let cookie = page_login(&app.address, user, PASSWORD).await;
        let (_, body) = page(&app, &cookie, "/disposals").await;
        assert_eq!(
            body.matches("class=\"batch card\"").count(),
            batches,
            "{user}'s page"
        );
        assert!(!body.contains("13812341234"));
    }
}

/// How many requests an approvals page lists as pending.
fn listed_requests(body: &str) -> usize {
    listed(body, "card request").len()
}
