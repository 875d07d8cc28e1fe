//! The records and administration desks without a browser (issue #18): a
//! legal hold blocking a disposal proposal, the two-person disposal and its
//! certificate, and the administrator's users within the separation of
//! duties.

use serde_json::Value;

use crate::desks::{expired, page, post};
use crate::helpers::{PASSWORD, repair_order, spawn_app};
use crate::pages::{client, csrf_of, page_login};

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
