//! The fourth dimension of the visibility matrix: access grants. Every role ×
//! {own, other branch} × {each level} is checked with no grant, an active grant,
//! a revoked grant and an expired grant, on metadata, content and search —
//! including that search totals never count a document the grant no longer covers.

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, spawn_app};
use crate::matrix::{ROLES, matrix_users};

const LEVELS: [&str; 4] = ["public", "internal", "confidential", "restricted"];

#[derive(Clone, Copy, PartialEq, Debug)]
enum Grant {
    Without,
    Active,
    Revoked,
    Expired,
}

struct Doc {
    id: String,
    level: &'static str,
    /// A word only this document's content holds.
    word: String,
    /// What happens to its grants after they are used: revoked or expired.
    fate: Grant,
}

/// (metadata, content, search total) a caller should get. Matrix users are
/// of clearance `confidential`; the documents are BJ01's.
fn expected(role: &str, branch: &str, level: &str, grant: Grant) -> (u16, u16, u64) {
    let reads = matches!(role, "clerk" | "staff" | "supervisor");
    let in_scope = branch == "BJ01" && level != "restricted";
    let granted = grant == Grant::Active && matches!(role, "staff" | "supervisor");
    let meta = match role {
        "admin" => 403,
        "auditor" => 200,
        _ if in_scope || granted => 200,
        _ => 404,
    };
    let content = match role {
        "admin" | "auditor" => 403,
        _ if reads && (in_scope || granted) => 200,
        _ => 404,
    };
    (meta, content, u64::from(content == 200))
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    app.post_json(token, path, body).await
}

async fn check(
    app: &TestApp,
    users: &[(String, String, String)],
    docs: &[Doc],
    state: impl Fn(&str, &Doc) -> Grant,
    not_found: &Value,
) -> usize {
    let mut checked = 0;
    for (role, branch, token) in users {
        for doc in docs {
            let grant = state(role, doc);
            let (meta, content, total) = expected(role, branch, doc.level, grant);
            let what = format!("{role}@{branch}, {} document, grant {grant:?}", doc.level);
            let r = app
                .get(token, &format!("/api/v1/documents/{}", doc.id))
                .await;
            assert_eq!(r.status().as_u16(), meta, "metadata: {what}");
            let body: Value = r.json().await.unwrap();
            match meta {
                200 => assert_eq!(body["customer"]["phone"], "138****1234", "{what}"),
                404 => assert_eq!(&body, not_found, "{what}: looks like no document"),
                _ => {}
            }
            let r = app.content(token, &doc.id).await;
            assert_eq!(r.status().as_u16(), content, "content: {what}");
            let text = r.text().await.unwrap();
            assert_eq!(text.contains("正文标记"), content == 200, "{what}: {text}");
            let found: Value = app
                .get(token, &format!("/api/v1/search?q={}", doc.word))
                .await
                .json()
                .await
                .unwrap_or(Value::Null);
            if let Some(n) = found["total"].as_u64() {
                assert_eq!(n, total, "search total: {what}");
                let facets: u64 = found["facets"]["branch"]
                    .as_object()
                    .map(|f| f.values().map(|n| n.as_u64().unwrap()).sum())
                    .unwrap_or(0);
                assert_eq!(facets, total, "branch facet: {what}");
            }
            checked += 1;
        }
    }
    checked
}

#[tokio::test]
async fn every_role_branch_and_level_with_no_active_revoked_or_expired_grant() {
    let app = spawn_app().await;
    let users = matrix_users(&app).await;
    let filer = app.token("clerk_all").await;
    let approver = app.token("super_bj").await;
    let mut docs = vec![];
    for fate in [Grant::Revoked, Grant::Expired] {
        for level in LEVELS {
            let word = format!("{level}{fate:?}").to_lowercase();
            let mut meta = crate::helpers::repair_order();
            meta["confidentiality"] = json!(level);
            let doc = app
                .file_ok(&filer, &meta, format!("{word} 正文标记").as_bytes())
                .await;
            docs.push(Doc {
                id: doc["id"].as_str().unwrap().to_string(),
                level,
                word,
                fate,
            });
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(600)).await; // the index commits
    let not_found: Value = app
        .get(
            &filer,
            &format!("/api/v1/documents/{}", uuid::Uuid::new_v4()),
        )
        .await
        .json()
        .await
        .unwrap();

    let mut checked = check(&app, &users, &docs, |_, _| Grant::Without, &not_found).await;

    // Everyone who may ask asks for every document; the others are refused.
    let mut grants = vec![];
    for (role, branch, token) in &users {
        for doc in &docs {
            let r = post(
                &app,
                token,
                "/api/v1/access-requests",
                json!({"document_id": doc.id, "purpose": "矩阵测试调阅", "days": 1}),
            )
            .await;
            if !matches!(role.as_str(), "staff" | "supervisor") {
                assert_eq!(error_code(r).await.0, 403, "{role}@{branch} cannot ask");
                continue;
            }
            assert_eq!(r.status(), 201, "{role}@{branch} asks");
            let rid = r.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string();
            let path = format!("/api/v1/access-requests/{rid}/approve");
            let r = post(&app, &approver, &path, json!({"note": "同意"})).await;
            assert_eq!(r.status(), 200);
            grants.push((rid, doc.fate));
        }
    }
    assert_eq!(grants.len(), 4 * docs.len());
    checked += check(&app, &users, &docs, |_, _| Grant::Active, &not_found).await;

    for (rid, fate) in &grants {
        if *fate == Grant::Revoked {
            let path = format!("/api/v1/access-requests/{rid}/revoke");
            assert_eq!(post(&app, &approver, &path, json!({})).await.status(), 200);
        }
    }
    let after_revoking = |_: &str, d: &Doc| match d.fate {
        Grant::Revoked => Grant::Revoked,
        _ => Grant::Active,
    };
    checked += check(&app, &users, &docs, after_revoking, &not_found).await;

    app.clock
        .advance(chrono::Duration::days(1) + chrono::Duration::minutes(1));
    checked += check(&app, &users, &docs, |_, d| d.fate, &not_found).await;
    assert_eq!(checked, 4 * ROLES.len() * 2 * docs.len());
}

/// A vehicle-wide grant (调阅 of a whole VIN) for every branch × level of that
/// vehicle's documents, approved by supervisors of two clearances: it covers
/// exactly the documents in the approver's branch at or below the approver's
/// clearance — also those filed after the approval — on metadata, content and
/// search alike (spec §3).
#[tokio::test]
async fn vehicle_grants_cover_the_approvers_branch_and_clearance_for_every_level() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let mut tokens = vec![];
    for (name, role, branch, clearance) in [
        ("v_super_int", "supervisor", "BJ01", "internal"),
        ("v_staff_gz", "staff", "GZ01", "restricted"),
        ("v_staff_cd", "staff", "CD01", "restricted"),
    ] {
        let body = json!({"username": name, "password": "matrix-password", "roles": [role], "branch": branch, "clearance": clearance});
        let r = post(&app, &admin, "/api/v1/users", body).await;
        assert_eq!(r.status(), 201);
        tokens.push(app.login(name, "matrix-password").await);
    }
    let (super_int, by_restricted, by_internal) = (&tokens[0], &tokens[1], &tokens[2]);
    let super_bj = app.token("super_bj").await;
    let filer = app.token("clerk_all").await;
    let vin = crate::helpers::repair_order()["vehicle"]["vin"]
        .as_str()
        .unwrap()
        .to_string();
    // One document first, so the vehicle has an archive to ask for.
    app.file_ok(&filer, &crate::helpers::repair_order(), b"first")
        .await;
    for (requester, approver) in [(by_restricted, &super_bj), (by_internal, super_int)] {
        let r = post(
            &app,
            requester,
            "/api/v1/access-requests",
            json!({"vin": vin, "purpose": "整车调阅矩阵", "days": 3}),
        )
        .await;
        assert_eq!(r.status(), 201);
        let rid = r.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let path = format!("/api/v1/access-requests/{rid}/approve");
        assert_eq!(post(&app, approver, &path, json!({})).await.status(), 200);
    }
    // Every branch × level, filed after the approvals.
    let mut docs = vec![];
    for branch in ["BJ01", "SH01"] {
        for level in LEVELS {
            let word = format!("vin{branch}{level}").to_lowercase();
            let mut meta = crate::helpers::repair_order();
            meta["branch"] = json!(branch);
            meta["confidentiality"] = json!(level);
            let doc = app
                .file_ok(&filer, &meta, format!("{word} 正文标记").as_bytes())
                .await;
            docs.push((doc["id"].as_str().unwrap().to_string(), branch, level, word));
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let rank = |l: &str| LEVELS.iter().position(|x| *x == l).unwrap();
    let mut checked = 0;
    for (token, clearance) in [(by_restricted, "restricted"), (by_internal, "internal")] {
        for (id, branch, level, word) in &docs {
            let covered = *branch == "BJ01" && rank(level) <= rank(clearance);
            let want = if covered { 200 } else { 404 };
            let what = format!("grant approved at {clearance}: {branch} {level}");
            let r = app.get(token, &format!("/api/v1/documents/{id}")).await;
            assert_eq!(r.status().as_u16(), want, "metadata: {what}");
            let r = app.content(token, id).await;
            assert_eq!(r.status().as_u16(), want, "content: {what}");
            let found: Value = app
                .get(token, &format!("/api/v1/search?q={word}"))
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(found["total"], u64::from(covered), "search: {what}");
            checked += 1;
        }
    }
    assert_eq!(checked, 2 * 2 * LEVELS.len());
}
