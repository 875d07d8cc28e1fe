//! The supervisor's and the auditor's desks without a browser (issue #18):
//! approving and rejecting on the approvals page and what the requester then
//! may read, revoking a grant, the log page's filter against its CSV export,
//! and the verify page before and after the log is tampered with.

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, repair_order, spawn_app};
use crate::pages::{FormBody, client, csrf_of, page_login};

/// A confidential BJ01 document: above `staff_bj`'s clearance.
async fn confidential(app: &TestApp, title: &str) -> Value {
    let clerk = app.token("clerk_bj").await;
    let mut meta = repair_order();
    meta["confidentiality"] = json!("confidential");
    meta["title"] = json!(title);
    app.file_ok(&clerk, &meta, "销售合同 机密".as_bytes()).await
}

async fn page(app: &TestApp, cookie: &str, path: &str) -> (u16, String) {
    let r = client()
        .get(format!("{}{path}", app.address))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn post(
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
fn listed(body: &str, class: &str) -> Vec<String> {
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
        &[("note", "同意，限两天")],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/approvals?done=approve");
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
    assert!(mine.contains("data-status=\"approved\"") && mine.contains("同意，限两天"));
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

/// The sequence numbers of the records the log page lists.
fn rows_shown(body: &str) -> Vec<u64> {
    let marker = "class=\"record\" data-seq=\"";
    body.match_indices(marker)
        .map(|(at, _)| {
            body[at + marker.len()..]
                .split('"')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect()
}

#[tokio::test]
async fn an_auditor_filters_the_log_to_one_document_and_the_export_holds_exactly_the_rows_shown() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let one = app
        .file_ok(&clerk, &repair_order(), "第一份".as_bytes())
        .await;
    let other = app
        .file_ok(&clerk, &repair_order(), "第二份".as_bytes())
        .await;
    let staff = app.token("staff_bj").await;
    for doc in [&one, &other, &one] {
        let id = doc["id"].as_str().unwrap();
        assert_eq!(
            app.get(&staff, &format!("/api/v1/documents/{id}"))
                .await
                .status(),
            200
        );
    }
    let archive_no = one["archive_no"].as_str().unwrap();
    let cookie = page_login(&app.address, "auditor", PASSWORD).await;
    let (status, body) = page(&app, &cookie, &format!("/audit?document={archive_no}")).await;
    assert_eq!(status, 200);
    let shown = rows_shown(&body);
    let want: Vec<u64> = app
        .audit_records()
        .iter()
        .filter(|r| r["archive_no"] == archive_no || r["document"] == archive_no)
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(
        shown, want,
        "the filing and both reads of that document, no other"
    );
    assert!(shown.len() >= 3, "{shown:?}");
    assert!(body.contains(&format!("href=\"/audit/export?document={archive_no}\"")));

    let r = client()
        .get(format!(
            "{}/audit/export?document={archive_no}",
            app.address
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = r.text().await.unwrap();
    let exported: Vec<u64> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(exported, shown, "the export is the rows shown");

    // A day the form cannot read is explained beside the form, not a 500;
    // a filter that cannot be read is refused, never taken for no filter.
    let (status, body) = page(&app, &cookie, "/audit?from=yesterday").await;
    assert_eq!(status, 400);
    assert!(
        body.contains("data-error") && body.contains("from"),
        "{body}"
    );
    assert!(rows_shown(&body).is_empty());
    let bad_cursor = format!("/audit?document={archive_no}&cursor=abc");
    let (status, body) = page(&app, &cookie, &bad_cursor).await;
    assert_eq!(status, 400);
    assert!(rows_shown(&body).is_empty());
    assert_eq!(page(&app, &cookie, "/audit/export?cursor=abc").await.0, 400);
    // Staff never see the log page.
    let staff_cookie = page_login(&app.address, "staff_bj", PASSWORD).await;
    assert_eq!(page(&app, &staff_cookie, "/audit").await.0, 403);
}

#[tokio::test]
async fn the_verify_page_reports_ok_then_names_the_first_record_a_tamperer_changed() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    app.file_ok(&clerk, &repair_order(), "核对".as_bytes())
        .await;
    let cookie = page_login(&app.address, "auditor", PASSWORD).await;
    let csrf = csrf_of(&app.address, &cookie).await;
    let (status, body) = page(&app, &cookie, "/audit/verify").await;
    assert_eq!(status, 200);
    assert!(
        !body.contains("data-status="),
        "no report before the button"
    );
    let r = post(&app, &cookie, &csrf, "/audit/verify", &[]).await;
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(body.contains("data-status=\"ok\""), "{body}");

    // One byte of record 3 changed in place, as a tamperer with file access would.
    let log = app.dir.path().join("audit/retrieval.log");
    let text = std::fs::read_to_string(&log).unwrap();
    let third = text.lines().nth(2).unwrap();
    let at = text.find(third).unwrap() + third.find("127.0.0.1").unwrap() + "127.0.0.".len();
    {
        use std::io::{Seek, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(&log).unwrap();
        f.seek(std::io::SeekFrom::Start(at as u64)).unwrap();
        f.write_all(b"2").unwrap();
    }
    let seq = serde_json::from_str::<Value>(third).unwrap()["seq"]
        .as_u64()
        .unwrap();
    let r = post(&app, &cookie, &csrf, "/audit/verify", &[]).await;
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(body.contains("data-status=\"damaged\""), "{body}");
    assert!(
        body.contains(&format!(">#{seq}</a>")),
        "names record {seq}: {body}"
    );
}

/// The figure of `measure` in the totals row of the statistics page.
fn total(body: &str, measure: &str) -> u64 {
    let marker = format!("class=\"total\" data-measure=\"{measure}\">");
    let at = body.find(&marker).unwrap() + marker.len();
    body[at..].split('<').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn the_statistics_page_counts_what_the_log_holds_and_a_supervisor_sees_their_branch() {
    let app = spawn_app().await;
    let bj = app.token("clerk_bj").await;
    let sh = app.token("clerk_sh").await;
    let mut shanghai = repair_order();
    shanghai["branch"] = json!("SH01");
    shanghai["service"]["order_no"] = json!("SH01-20260301-000001");
    let a = app.file_ok(&bj, &repair_order(), "北京一".as_bytes()).await;
    app.file_ok(&bj, &repair_order(), "北京二".as_bytes()).await;
    app.file_ok(&sh, &shanghai, "上海一".as_bytes()).await;
    let staff = app.token("staff_bj").await;
    let id = a["id"].as_str().unwrap();
    app.get(&staff, &format!("/api/v1/documents/{id}")).await;
    app.content(&staff, id).await;
    app.get(
        &app.token("staff_sh").await,
        &format!("/api/v1/documents/{id}"),
    )
    .await;

    let cookie = page_login(&app.address, "auditor", PASSWORD).await;
    let (status, body) = page(&app, &cookie, "/stats").await;
    assert_eq!(status, 200);
    let log = app.audit_records();
    let count = |action: &str, outcome: &str| {
        log.iter()
            .filter(|r| r["action"] == action && r["outcome"] == outcome)
            .count() as u64
    };
    assert_eq!(total(&body, "filings"), count("document.file", "allowed"));
    assert_eq!(total(&body, "filings"), 3);
    assert_eq!(total(&body, "reads"), count("document.view", "allowed"));
    assert_eq!(
        total(&body, "downloads"),
        count("document.content", "allowed")
    );
    let denied = log.iter().filter(|r| r["outcome"] == "denied").count() as u64;
    assert_eq!(total(&body, "denials"), denied);
    assert!(
        body.contains("<svg") && body.contains("class=\"bar m-filings\""),
        "charts"
    );
    for section in ["by-month", "by-branch", "by-category"] {
        assert!(
            body.contains(&format!("data-section=\"{section}\"")),
            "{section}"
        );
    }

    // The export is the API's CSV.
    let r = client()
        .get(format!("{}/stats/export", app.address))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let csv = r.text().await.unwrap();
    assert!(csv.starts_with("branch,category,month,filings"), "{csv}");
    assert!(csv.contains("SH01,WX,"));

    // A supervisor of BJ01 counts BJ01 only.
    let cookie = page_login(&app.address, "super_bj", PASSWORD).await;
    let (status, body) = page(&app, &cookie, "/stats").await;
    assert_eq!(status, 200);
    assert_eq!(total(&body, "filings"), 2);
    assert!(!body.contains("SH01"), "no other branch named");
}

/// A BJ01 repair order serviced in 2019: its 3 years of retention are over.
fn expired(order: &str) -> Value {
    let mut meta = repair_order();
    meta["service"]["service_date"] = json!("2019-05-01");
    meta["service"]["order_no"] = json!(order);
    meta
}

#[tokio::test]
async fn a_legal_hold_blocks_a_proposal_and_two_people_dispose_through_the_pages() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let held = app
        .file_ok(
            &clerk,
            &expired("BJ01-20190501-000001"),
            "旧委托书一".as_bytes(),
        )
        .await;
    let gone = app
        .file_ok(
            &clerk,
            &expired("BJ01-20190501-000002"),
            "旧委托书二".as_bytes(),
        )
        .await;
    let (held_no, gone_no) = (
        held["archive_no"].as_str().unwrap(),
        gone["archive_no"].as_str().unwrap(),
    );

    let clerk_cookie = page_login(&app.address, "clerk_bj", PASSWORD).await;
    let clerk_csrf = csrf_of(&app.address, &clerk_cookie).await;
    let (status, body) = page(&app, &clerk_cookie, "/retention").await;
    assert_eq!(status, 200);
    for no in [held_no, gone_no] {
        assert!(
            body.contains(&format!("data-archive-no=\"{no}\"")),
            "{no} is due"
        );
    }

    // A supervisor puts one on hold while the clerk's list is open.
    let boss = page_login(&app.address, "super_bj", PASSWORD).await;
    let boss_csrf = csrf_of(&app.address, &boss).await;
    let r = post(
        &app,
        &boss,
        &boss_csrf,
        "/holds",
        &[
            ("document", held_no),
            ("hold", "1"),
            ("reason", "客户诉讼，保全证据"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let (_, body) = page(&app, &boss, "/holds").await;
    assert!(body.contains(&format!("class=\"held-doc\" data-archive-no=\"{held_no}\"")));
    assert!(body.contains("客户诉讼，保全证据"));

    let (held_id, gone_id) = (held["id"].as_str().unwrap(), gone["id"].as_str().unwrap());
    let form = [
        ("documents", held_id),
        ("documents", gone_id),
        ("reason", "超过保管期限"),
    ];
    let r = post(&app, &clerk_cookie, &clerk_csrf, "/disposals", &form).await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("法律保全中"), "the hold is named: {body}");
    assert!(body.contains(held_no));
    assert!(
        !body.contains(&format!("data-archive-no=\"{held_no}\"")),
        "no longer due"
    );

    // Without it, the batch goes to a second person.
    let r = post(
        &app,
        &clerk_cookie,
        &clerk_csrf,
        "/disposals",
        &[("documents", gone_id), ("reason", "超过保管期限")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let batch = r.headers()["location"].to_str().unwrap().to_string();
    let (_, body) = page(&app, &clerk_cookie, &batch).await;
    assert!(body.contains("data-status=\"disposal.status.proposed\"") && body.contains(gone_no));
    assert!(!body.contains("/approve\""), "the clerk cannot approve");
    let (_, body) = page(&app, &boss, "/disposals").await;
    assert!(body.contains(&format!(
        "data-disposal=\"{}\"",
        batch.trim_start_matches("/disposals/")
    )));
    let (_, body) = page(&app, &boss, &batch).await;
    assert!(
        body.contains(&format!("action=\"{batch}/approve\"")),
        "the supervisor may approve"
    );
    let r = post(&app, &boss, &boss_csrf, &format!("{batch}/approve"), &[]).await;
    assert_eq!(r.status(), 303);
    let (_, body) = page(&app, &boss, &batch).await;
    assert!(
        body.contains("data-status=\"disposal.status.executed\""),
        "{body}"
    );
    assert_eq!(
        app.get(&clerk, &format!("/api/v1/documents/{gone_id}"))
            .await
            .status(),
        404
    );

    // The auditor finds it in the register and downloads the certificate.
    let auditor = page_login(&app.address, "auditor", PASSWORD).await;
    let (_, body) = page(&app, &auditor, "/disposals").await;
    assert!(body.contains("class=\"register-entry\""));
    let r = client()
        .get(format!("{}{batch}/certificate", app.address))
        .header("cookie", &auditor)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert!(r.bytes().await.unwrap().starts_with(b"%PDF-"));

    // Lifting the hold needs a reason too.
    let r = post(
        &app,
        &boss,
        &boss_csrf,
        "/holds",
        &[("document", held_id), ("hold", "0"), ("reason", "")],
    )
    .await;
    assert_eq!(r.status(), 422);
    let r = post(
        &app,
        &boss,
        &boss_csrf,
        "/holds",
        &[("document", held_id), ("hold", "0"), ("reason", "诉讼结束")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let (_, body) = page(&app, &boss, "/holds").await;
    assert!(!body.contains("class=\"held-doc\""));
}

#[tokio::test]
async fn an_admin_manages_users_on_the_pages_within_the_separation_of_duties_and_opens_no_document()
{
    let app = spawn_app().await;
    let doc = app
        .file_ok(&app.token("clerk_bj").await, &repair_order(), b"x")
        .await;
    let admin = page_login(&app.address, "admin", crate::helpers::ADMIN_PASSWORD).await;
    let csrf = csrf_of(&app.address, &admin).await;
    let new = [
        ("username", "clerk_new"),
        ("password", "a-long-enough-password"),
        ("roles", "clerk"),
        ("branch", "BJ01"),
        ("clearance", "internal"),
    ];
    let r = post(&app, &admin, &csrf, "/admin/users", &new).await;
    assert_eq!(r.status(), 303);
    let (_, body) = page(&app, &admin, "/admin/users?done=clerk_new").await;
    assert!(body.contains("data-user=\"clerk_new\""));
    assert_eq!(
        app.post_login("clerk_new", "a-long-enough-password")
            .await
            .status(),
        200
    );

    // admin with another role: refused, explained, nothing created.
    let both = [
        ("username", "both"),
        ("password", "a-long-enough-password"),
        ("roles", "admin"),
        ("roles", "auditor"),
        ("branch", "*"),
        ("clearance", "restricted"),
    ];
    let r = post(&app, &admin, &csrf, "/admin/users", &both).await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("三员分立") && body.contains("value=\"both\""),
        "{body}"
    );
    assert!(!body.contains("data-user=\"both\""));

    // Disabled on the page: the next login is refused.
    let off = [
        ("roles", "clerk"),
        ("branch", "BJ01"),
        ("clearance", "internal"),
        ("disabled", "1"),
    ];
    assert_eq!(
        post(&app, &admin, &csrf, "/admin/users/clerk_new", &off)
            .await
            .status(),
        303
    );
    assert_eq!(
        app.post_login("clerk_new", "a-long-enough-password")
            .await
            .status(),
        401
    );

    // Saving one's own account as it is changes nothing and is allowed; a
    // change of one's own roles is refused, saying why.
    let listed: Value = app
        .get(&app.token("admin").await, "/api/v1/users")
        .await
        .json()
        .await
        .unwrap();
    let me = listed["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "admin")
        .unwrap()
        .clone();
    let (branch, clearance) = (
        me["branch"].as_str().unwrap(),
        me["clearance"].as_str().unwrap(),
    );
    let same = [
        ("roles", "admin"),
        ("branch", branch),
        ("clearance", clearance),
    ];
    let r = post(&app, &admin, &csrf, "/admin/users/admin", &same).await;
    assert_eq!(r.status(), 303);
    // Saving ended the admin's own session token: log in again.
    let admin = page_login(&app.address, "admin", crate::helpers::ADMIN_PASSWORD).await;
    let csrf = csrf_of(&app.address, &admin).await;
    let other = [
        ("roles", "clerk"),
        ("branch", branch),
        ("clearance", clearance),
    ];
    let r = post(&app, &admin, &csrf, "/admin/users/admin", &other).await;
    assert_eq!(r.status(), 403);
    let body = r.text().await.unwrap();
    assert!(body.contains("不能修改自己的角色"), "{body}");

    // No document page, and the system page with the index's rebuild.
    let (status, _) = page(
        &app,
        &admin,
        &format!("/documents/{}", doc["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(status, 403);
    let (status, body) = page(&app, &admin, "/admin/system").await;
    assert_eq!(status, 200);
    assert!(
        body.contains("data-status=\"idle\""),
        "no rotation configured"
    );
    let r = post(&app, &admin, &csrf, "/admin/reindex", &[]).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("索引已重建：1 份文档"));
    let (status, body) = page(&app, &admin, "/admin/reindex/progress").await;
    assert_eq!(status, 200);
    assert!(body.contains("data-rebuilding=\"false\""));
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
