//! Login, identity and user administration.

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, error_code, spawn_app};

#[tokio::test]
async fn login_gives_a_short_lived_bearer_token() {
    let app = spawn_app().await;
    let r = app.post_login("staff_bj", PASSWORD).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let token = body["access_token"].as_str().unwrap();
    let me: Value = app
        .get(token, "/api/v1/auth/me")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        me,
        json!({"username": "staff_bj", "roles": ["staff"], "branch": "BJ01", "clearance": "internal"})
    );
}

#[tokio::test]
async fn wrong_passwords_and_unknown_users_get_the_same_answer() {
    let app = spawn_app().await;
    let a = error_code(app.post_login("staff_bj", "not the password").await).await;
    let b = error_code(app.post_login("nobody", "not the password").await).await;
    assert_eq!(a, (401, "invalid_credentials".into()));
    assert_eq!(a, b);
}

#[tokio::test]
async fn only_admins_manage_users_and_never_their_own_roles() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let clerk = app.token("clerk_bj").await;
    let new = json!({"username": "clerk2", "password": "another-password", "roles": ["clerk"], "branch": "BJ02", "clearance": "internal"});
    let r = app
        .client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&clerk)
        .json(&new)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, (403, "forbidden".into()));
    let r = app
        .client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(&new)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let body = r.text().await.unwrap();
    assert!(
        !body.contains("argon2") && !body.contains("another-password"),
        "{body}"
    );
    let r = app
        .client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(&new)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, (409, "user_exists".into()));
    let r = app
        .client
        .patch(app.url("/api/v1/users/admin"))
        .bearer_auth(&admin)
        .json(&json!({"roles": ["admin", "clerk"]}))
        .send()
        .await
        .unwrap();
    // Refused twice over: admin is held alone, and nobody changes their own roles.
    assert_eq!(error_code(r).await, (422, "invalid_roles".into()));
    let r = app
        .client
        .patch(app.url("/api/v1/users/admin"))
        .bearer_auth(&admin)
        .json(&json!({"roles": ["auditor"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, (403, "forbidden".into()));
    let list: Value = app.get(&admin, "/api/v1/users").await.json().await.unwrap();
    assert_eq!(list["users"].as_array().unwrap().len(), 10);
    let records = app.audit_records();
    assert!(
        records
            .iter()
            .any(|r| r["action"] == "admin.user.create" && r["detail"]["username"] == "clerk2")
    );
    assert!(
        records
            .iter()
            .any(|r| r["action"] == "admin.user.update" && r["outcome"] == "denied")
    );
}

#[tokio::test]
async fn disabling_a_user_or_changing_roles_takes_effect_on_the_next_request() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let staff = app.token("staff_bj").await;
    assert_eq!(app.get(&staff, "/api/v1/auth/me").await.status(), 200);
    // Token times have one-second resolution: change the account a second later.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let patch = |body: Value| {
        app.client
            .patch(app.url("/api/v1/users/staff_bj"))
            .bearer_auth(&admin)
            .json(&body)
            .send()
    };
    assert_eq!(
        patch(json!({"roles": ["auditor"]})).await.unwrap().status(),
        200
    );
    assert_eq!(
        error_code(app.get(&staff, "/api/v1/auth/me").await).await,
        (401, "token_revoked".into()),
        "a token issued before a role change no longer gets in"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let fresh = app.token("staff_bj").await;
    let me: Value = app
        .get(&fresh, "/api/v1/auth/me")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["roles"], json!(["auditor"]));
    assert_eq!(
        patch(json!({"disabled": true})).await.unwrap().status(),
        200
    );
    let (status, _) = error_code(app.get(&fresh, "/api/v1/auth/me").await).await;
    assert_eq!(status, 401);
    assert_eq!(
        error_code(app.post_login("staff_bj", PASSWORD).await).await,
        (401, "invalid_credentials".into())
    );
}

#[tokio::test]
async fn the_classification_scheme_is_served_to_every_user() {
    let app = spawn_app().await;
    let staff = app.token("staff_bj").await;
    let scheme: Value = app
        .get(&staff, "/api/v1/classification")
        .await
        .json()
        .await
        .unwrap();
    let codes: Vec<&str> = scheme["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["XS", "WX", "SB", "KH", "ZL", "KJ", "XZ"]);
    assert_eq!(scheme["categories"][1]["name_zh"], "维修档案");
}

#[tokio::test]
async fn repeated_failed_logins_are_slowed_then_locked_out_for_a_while() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::helpers::test_config(dir.path(), &crate::helpers::Store::Local);
    config.auth.max_failed_logins = 3;
    config.auth.lockout_secs = 2;
    let app = crate::helpers::spawn_app_in(dir, config).await;
    let started = std::time::Instant::now();
    for _ in 0..3 {
        assert_eq!(
            error_code(app.post_login("staff_bj", "guess").await)
                .await
                .0,
            401
        );
    }
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(600),
        "failures are slowed"
    );
    assert_eq!(
        error_code(app.post_login("staff_bj", PASSWORD).await).await,
        (429, "too_many_attempts".into()),
        "even the right password"
    );
    let locked = app
        .audit_records()
        .iter()
        .filter(|r| r["action"] == "auth.login_locked")
        .count();
    assert_eq!(locked, 1);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(
        app.post_login("staff_bj", PASSWORD).await.status(),
        200,
        "the lockout ends by itself"
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_without_ids() {
    let app = spawn_app().await;
    let staff = app.token("staff_bj").await;
    let id = uuid::Uuid::new_v4();
    app.get(&staff, &format!("/api/v1/documents/{id}")).await;
    let text = crate::helpers::metrics_text(&app.address).await;
    assert!(text.contains("dangan_http_requests_total{"), "{text}");
    assert!(
        text.contains("route=\"/api/v1/documents/{id}\"") && text.contains("status=\"404\""),
        "{text}"
    );
    assert!(!text.contains(&id.to_string()), "no ids in labels");
    assert!(text.contains("dangan_documents 0"));
    assert!(text.contains("dangan_http_request_duration_seconds_bucket"));
}
