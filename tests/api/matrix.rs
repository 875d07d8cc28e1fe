//! Deny by default, walked exhaustively: every route × every role, and every
//! document-reading route × role × {own, other branch} × {each level}.

use serde_json::{Value, json};

use crate::helpers::{TestApp, repair_order, spawn_app};

pub const ROLES: [&str; 5] = ["clerk", "staff", "supervisor", "auditor", "admin"];

/// Creates `m_<role>_<branch>` with clearance `confidential` for every role and
/// both branches, and returns their tokens.
pub async fn matrix_users(app: &TestApp) -> Vec<(String, String, String)> {
    let admin = app.token("admin").await;
    let mut out = vec![];
    for role in ROLES {
        for branch in ["BJ01", "SH01"] {
            let name = format!("m_{role}_{}", branch.to_lowercase());
            let body = json!({"username": name, "password": "matrix-password", "roles": [role], "branch": branch, "clearance": "confidential"});
            let r = app
                .client
                .post(app.url("/api/v1/users"))
                .bearer_auth(&admin)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
            out.push((
                role.to_string(),
                branch.to_string(),
                app.login(&name, "matrix-password").await,
            ));
        }
    }
    out
}

#[tokio::test]
async fn every_route_refuses_every_role_its_table_does_not_allow() {
    let app = spawn_app().await;
    let users = matrix_users(&app).await;
    let doc = app
        .file_ok(&app.token("clerk_bj").await, &repair_order(), b"x")
        .await;
    let id = doc["id"].as_str().unwrap().to_string();
    let vin = repair_order()["vehicle"]["vin"]
        .as_str()
        .unwrap()
        .to_string();
    // (method, path, roles allowed by schema/roles.toml)
    let routes: Vec<(&str, String, &[&str])> = vec![
        ("GET", "/api/v1/auth/me".into(), &ROLES),
        ("GET", "/api/v1/classification".into(), &ROLES),
        ("GET", "/api/v1/users".into(), &["admin"]),
        ("POST", "/api/v1/users".into(), &["admin"]),
        ("PATCH", "/api/v1/users/nobody".into(), &["admin"]),
        ("POST", "/api/v1/documents".into(), &["clerk"]),
        (
            "GET",
            format!("/api/v1/documents/{id}"),
            &["clerk", "staff", "supervisor", "auditor"],
        ),
        ("PATCH", format!("/api/v1/documents/{id}"), &["clerk"]),
        (
            "GET",
            format!("/api/v1/documents/{id}/content"),
            &["clerk", "staff", "supervisor"],
        ),
        (
            "GET",
            format!("/api/v1/documents/{id}/text"),
            &["clerk", "staff", "supervisor"],
        ),
        (
            "GET",
            format!("/api/v1/documents/{id}/versions"),
            &["clerk", "staff", "supervisor", "auditor"],
        ),
        (
            "POST",
            format!("/api/v1/documents/{id}/versions"),
            &["clerk"],
        ),
        (
            "GET",
            format!("/api/v1/vehicles/{vin}/documents"),
            &["clerk", "staff", "supervisor", "auditor"],
        ),
        (
            "GET",
            "/api/v1/search?q=x".into(),
            &["clerk", "staff", "supervisor", "auditor"],
        ),
        (
            "POST",
            "/api/v1/access-requests".into(),
            &["staff", "supervisor"],
        ),
        (
            "GET",
            "/api/v1/access-requests".into(),
            &["staff", "supervisor"],
        ),
        (
            "GET",
            "/api/v1/access-requests/queue".into(),
            &["supervisor"],
        ),
        (
            "POST",
            "/api/v1/access-requests/none/approve".into(),
            &["supervisor"],
        ),
        (
            "POST",
            "/api/v1/access-requests/none/reject".into(),
            &["supervisor"],
        ),
        (
            "POST",
            "/api/v1/access-requests/none/revoke".into(),
            &["supervisor"],
        ),
        ("GET", "/api/v1/audit/events".into(), &["auditor"]),
        ("GET", "/api/v1/audit/verify".into(), &["auditor"]),
        ("GET", "/api/v1/audit/checkpoints".into(), &["auditor"]),
        ("GET", "/api/v1/stats".into(), &["supervisor", "auditor"]),
        ("POST", "/api/v1/admin/reindex".into(), &["admin"]),
        ("GET", "/api/v1/admin/key-rotation".into(), &["admin"]),
        ("POST", "/api/v1/disposals".into(), &["clerk"]),
        (
            "POST",
            format!("/api/v1/disposals/{}/approve", uuid::Uuid::new_v4()),
            &["supervisor"],
        ),
        (
            "POST",
            format!("/api/v1/disposals/{}/reject", uuid::Uuid::new_v4()),
            &["supervisor"],
        ),
        (
            "GET",
            format!("/api/v1/disposals/{}", uuid::Uuid::new_v4()),
            &["clerk", "supervisor", "auditor"],
        ),
        (
            "PUT",
            format!("/api/v1/documents/{id}/legal-hold"),
            &["supervisor"],
        ),
        ("GET", "/api/v1/legal-holds".into(), &["supervisor"]),
        (
            "GET",
            "/api/v1/disposals".into(),
            &["clerk", "supervisor", "auditor"],
        ),
        (
            "GET",
            "/api/v1/retention/due".into(),
            &["clerk", "supervisor"],
        ),
    ];
    // The OpenAPI document describes every route, with the permission the table says.
    let policy = dangan::auth::Policy::from_toml(include_str!("../../schema/roles.toml")).unwrap();
    let doc: Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (method, path, allowed) in &routes {
        let template = path
            .split('?')
            .next()
            .unwrap()
            .replace(&id, "{id}")
            .replace(&vin, "{vin}")
            .replace("/nobody", "/{username}")
            .replace("/none/", "/{id}/");
        let template = regex_free_uuid(&template);
        let op = &doc["paths"][&template][method.to_lowercase()];
        assert!(
            op.is_object(),
            "{method} {template} missing from openapi.json"
        );
        let name = op["x-dangan-permission"].as_str().unwrap();
        let action = dangan::auth::Action::ALL
            .into_iter()
            .find(|a| a.as_str() == name)
            .unwrap();
        let permitted: Vec<&str> = ROLES
            .into_iter()
            .filter(|r| policy.permits(&[r.parse().unwrap()], action))
            .collect();
        assert_eq!(
            permitted, *allowed,
            "{method} {template}: openapi says {name}"
        );
    }
    // ... and every operation it lists that needs a permission is walked here.
    let guarded = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|ops| ops.as_object().unwrap().values())
        .filter(|op| op["x-dangan-permission"].is_string())
        .count();
    assert_eq!(
        guarded,
        routes.len(),
        "every guarded route is in this table"
    );
    let mut checked = 0;
    for (method, path, allowed) in &routes {
        for (role, branch, token) in &users {
            let req = match *method {
                "GET" => app.client.get(app.url(path)),
                "POST" => app.client.post(app.url(path)),
                "PUT" => app.client.put(app.url(path)),
                _ => app.client.patch(app.url(path)),
            };
            // Bodies that no permitted caller can succeed with, so nothing changes.
            let r = req
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            if allowed.contains(&role.as_str()) {
                assert!(
                    status != 401
                        && !(status == 403
                            && body["error"]["message"]
                                .as_str()
                                .unwrap_or("")
                                .contains("roles")),
                    "{role}@{branch} {method} {path}: {status} {body}"
                );
            } else {
                assert_eq!(status, 403, "{role}@{branch} {method} {path}: {body}");
                assert_eq!(body["error"]["code"], "forbidden");
            }
            checked += 1;
        }
        let r = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(
            r.status(),
            if *method == "GET" {
                401
            } else {
                405.min(r.status().as_u16()).max(401)
            },
            "{path} without a token"
        );
    }
    assert_eq!(checked, routes.len() * 10);
    // Whatever was refused, nothing was filed or changed.
    let staff = app.token("staff_bj").await;
    let seen: Value = app
        .get(&staff, &format!("/api/v1/documents/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seen["current_version"], 1);
    assert!(seen["corrections"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn documents_are_visible_by_branch_and_clearance_for_every_role_and_level() {
    let app = spawn_app().await;
    let users = matrix_users(&app).await;
    let filer = app.token("clerk_all").await;
    let mut docs = vec![];
    for level in ["public", "internal", "confidential", "restricted"] {
        let mut meta = repair_order();
        meta["confidentiality"] = json!(level);
        let doc = app
            .file_ok(&filer, &meta, format!("{level} 正文标记").as_bytes())
            .await;
        docs.push((level, doc["id"].as_str().unwrap().to_string()));
    }
    tokio::time::sleep(std::time::Duration::from_millis(600)).await; // the index commits
    let not_found: Value = app
        .get(
            &app.token("staff_bj").await,
            &format!("/api/v1/documents/{}", uuid::Uuid::new_v4()),
        )
        .await
        .json()
        .await
        .unwrap();
    for (role, branch, token) in &users {
        for (level, id) in &docs {
            let reads = matches!(role.as_str(), "clerk" | "staff" | "supervisor");
            let in_scope = branch == "BJ01" && *level != "restricted";
            let meta_expected = match role.as_str() {
                "admin" => 403,
                "auditor" => 200,
                _ if in_scope => 200,
                _ => 404,
            };
            let content_expected = match role.as_str() {
                "admin" | "auditor" => 403,
                _ if reads && in_scope => 200,
                _ => 404,
            };
            let r = app.get(token, &format!("/api/v1/documents/{id}")).await;
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap();
            assert_eq!(
                status, meta_expected,
                "{role}@{branch} metadata of a {level} document"
            );
            match status {
                200 => {
                    assert_eq!(
                        body["customer"]["phone"], "138****1234",
                        "PII stays masked for {role}"
                    );
                    assert_eq!(body["customer"]["id_number"], "110***********002X");
                }
                404 => assert_eq!(body, not_found, "an unseen document looks like no document"),
                _ => {}
            }
            let r = app
                .get(token, &format!("/api/v1/documents/{id}/content"))
                .await;
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            assert_eq!(
                status, content_expected,
                "{role}@{branch} content of a {level} document"
            );
            if status != 200 {
                assert!(
                    !text.contains("正文标记"),
                    "refusals carry no content: {text}"
                );
            }
            let list: Value = app
                .get(token, &format!("/api/v1/search?q={}", &level))
                .await
                .json()
                .await
                .unwrap_or(Value::Null);
            if let Some(total) = list["total"].as_u64() {
                let expect = u64::from(role != "auditor" && reads && in_scope);
                assert_eq!(
                    total, expect,
                    "{role}@{branch} search for the {level} document's content word"
                );
            }
        }
    }
}

/// Replaces a UUID path segment by `{id}`.
fn regex_free_uuid(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if uuid::Uuid::try_parse(seg).is_ok() {
                "{id}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}
