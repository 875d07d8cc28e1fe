//! Tokens from an external identity provider: claims map to a dangan identity,
//! keys are picked by `kid` only from the provider's set, and every forgery and
//! misaddressed token is refused.

use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, repair_order, spawn_app, spawn_app_in, test_config};

const ISSUER: &str = "https://idp.dealer-group.example";
const AUDIENCE: &str = "dangan";

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn jwk(kid: &str, key: &SigningKey) -> Value {
    json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "use": "sig",
           "x": URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes())})
}

/// Two signing keys and a symmetric key whose secret an attacker knows.
fn key_set() -> Value {
    json!({"keys": [
        jwk("idp-1", &key(21)),
        jwk("idp-2", &key(22)),
        {"kty": "oct", "kid": "shared", "alg": "HS256", "k": URL_SAFE_NO_PAD.encode(b"known secret")},
    ]})
}

fn sign_with(alg: Algorithm, kid: Option<&str>, claims: &Value, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_string);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn sign(kid: Option<&str>, signer: &SigningKey, claims: &Value) -> String {
    let der = signer.to_pkcs8_der().unwrap();
    sign_with(
        Algorithm::EdDSA,
        kid,
        claims,
        &EncodingKey::from_ed_der(der.as_bytes()),
    )
}

fn claims() -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({"sub": "7f3a-0042", "iss": ISSUER, "aud": AUDIENCE, "exp": now + 600,
           "iat": now, "nbf": now, "preferred_username": "wang.fang",
           "groups": ["dms-staff", "intranet-users"], "store": "BJ01", "clearance": "internal"})
}

fn with(key: &str, value: Value) -> Value {
    let mut c = claims();
    if value.is_null() {
        c.as_object_mut().unwrap().remove(key);
    } else {
        c[key] = value;
    }
    c
}

fn configure(config: &mut dangan::config::Config, jwks_file: String, jwks_url: String) {
    let ext = &mut config.auth.external;
    ext.issuer = ISSUER.into();
    ext.audience = AUDIENCE.into();
    ext.jwks_file = jwks_file;
    ext.jwks_url = jwks_url;
    ext.roles_claim = "groups".into();
    ext.branch_claim = "store".into();
    ext.role_map = [("dms-staff", "staff"), ("dms-records", "clerk")]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
}

async fn app_with_jwks_file() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, key_set().to_string()).unwrap();
    let mut config = test_config(dir.path(), &crate::helpers::Store::Local);
    configure(&mut config, path.display().to_string(), String::new());
    spawn_app_in(dir, config).await
}

#[tokio::test]
async fn a_provider_token_maps_to_roles_branch_and_clearance() {
    let app = app_with_jwks_file().await;
    let token = sign(Some("idp-1"), &key(21), &claims());
    let r = app.get(&token, "/api/v1/auth/me").await;
    assert_eq!(r.status(), 200);
    let me: Value = r.json().await.unwrap();
    assert_eq!(
        me,
        json!({"username": "wang.fang", "roles": ["staff"], "branch": "BJ01", "clearance": "internal"}),
        "unmapped group names are ignored"
    );
    // The mapped identity is what the policy sees: staff of BJ01 at `internal`.
    let clerk = app.token("clerk_bj").await;
    let internal = app.file_ok(&clerk, &repair_order(), b"internal").await;
    let mut meta = repair_order();
    meta["confidentiality"] = json!("confidential");
    let confidential = app.file_ok(&clerk, &meta, b"confidential").await;
    let doc = |d: &Value| format!("/api/v1/documents/{}", d["id"].as_str().unwrap());
    assert_eq!(app.get(&token, &doc(&internal)).await.status(), 200);
    assert_eq!(app.get(&token, &doc(&confidential)).await.status(), 404);
    assert_eq!(app.get(&token, "/api/v1/users").await.status(), 403);
    // A second key of the set, and a second role through the map.
    let mut c = claims();
    c["groups"] = json!(["dms-records"]);
    let r = app
        .get(&sign(Some("idp-2"), &key(22), &c), "/api/v1/auth/me")
        .await;
    let me: Value = r.json().await.unwrap();
    assert_eq!(me["roles"], json!(["clerk"]));
    let records = app.audit_records();
    assert!(
        records
            .iter()
            .any(|r| r["user"] == "wang.fang" && r["action"] == "document.view"),
        "provider users are in the retrieval log by their mapped name"
    );
}

#[tokio::test]
async fn forged_misaddressed_and_unmappable_provider_tokens_are_refused() {
    let app = app_with_jwks_file().await;
    let good = sign(Some("idp-1"), &key(21), &claims());
    assert_eq!(app.get(&good, "/api/v1/auth/me").await.status(), 200);
    let now = chrono::Utc::now().timestamp();
    let public = key(21).verifying_key().to_bytes();
    let parts: Vec<&str> = good.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(with("groups", json!(["dms-records"])).to_string()),
        parts[2]
    );
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT", "kid": "idp-1"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims().to_string())
    );
    let cases: Vec<(&str, String)> = vec![
        ("alg none", none),
        (
            "HS256 signed with the provider's public key",
            sign_with(
                Algorithm::HS256,
                Some("idp-1"),
                &claims(),
                &EncodingKey::from_secret(&public),
            ),
        ),
        (
            "HS256 with the set's symmetric key",
            sign_with(
                Algorithm::HS256,
                Some("shared"),
                &claims(),
                &EncodingKey::from_secret(b"known secret"),
            ),
        ),
        ("unknown kid", sign(Some("idp-9"), &key(21), &claims())),
        (
            "kid of one key, signed by another",
            sign(Some("idp-1"), &key(22), &claims()),
        ),
        (
            "a key outside the set",
            sign(Some("idp-1"), &key(99), &claims()),
        ),
        (
            "no kid: judged as our own token",
            sign(None, &key(21), &claims()),
        ),
        ("tampered payload", tampered),
        (
            "expired",
            sign(Some("idp-1"), &key(21), &with("exp", json!(now - 60))),
        ),
        (
            "not yet valid",
            sign(Some("idp-1"), &key(21), &with("nbf", json!(now + 3600))),
        ),
        (
            "missing exp",
            sign(Some("idp-1"), &key(21), &with("exp", Value::Null)),
        ),
        (
            "exp as a string",
            sign(Some("idp-1"), &key(21), &with("exp", json!("tomorrow"))),
        ),
        (
            "wrong iss",
            sign(
                Some("idp-1"),
                &key(21),
                &with("iss", json!("https://evil.example")),
            ),
        ),
        (
            "wrong aud",
            sign(Some("idp-1"), &key(21), &with("aud", json!("other-app"))),
        ),
        (
            "missing aud",
            sign(Some("idp-1"), &key(21), &with("aud", Value::Null)),
        ),
        (
            "our own issuer name",
            sign(Some("idp-1"), &key(21), &with("iss", json!("dangan"))),
        ),
        (
            "no mapped role",
            sign(
                Some("idp-1"),
                &key(21),
                &with("groups", json!(["dms-admins"])),
            ),
        ),
        (
            "a dangan role name the map does not list",
            sign(Some("idp-1"), &key(21), &with("groups", json!(["admin"]))),
        ),
        (
            "a local account's name",
            sign(
                Some("idp-1"),
                &key(21),
                &with("preferred_username", json!("admin")),
            ),
        ),
        (
            "user name with a path",
            sign(
                Some("idp-1"),
                &key(21),
                &with("preferred_username", json!("../admin")),
            ),
        ),
        (
            "bad branch",
            sign(Some("idp-1"), &key(21), &with("store", json!("bj 01"))),
        ),
        (
            "missing clearance",
            sign(Some("idp-1"), &key(21), &with("clearance", Value::Null)),
        ),
        (
            "unknown clearance",
            sign(
                Some("idp-1"),
                &key(21),
                &with("clearance", json!("top-secret")),
            ),
        ),
    ];
    let before = app.audit_records().len();
    for (why, token) in &cases {
        let (status, code) = error_code(app.get(token, "/api/v1/auth/me").await).await;
        assert_eq!(
            (status, code.as_str()),
            (401, "invalid_token"),
            "{why} must not get in"
        );
    }
    let refusals = app.audit_records()[before..]
        .iter()
        .filter(|r| r["action"] == "auth.token_refused" && r["outcome"] == "denied")
        .count();
    assert_eq!(
        refusals,
        cases.len(),
        "every refusal is in the retrieval log"
    );
}

#[tokio::test]
async fn a_token_naming_a_key_is_refused_when_no_provider_is_configured() {
    let app = spawn_app().await;
    let token = sign(Some("idp-1"), &key(21), &claims());
    assert_eq!(
        error_code(app.get(&token, "/api/v1/auth/me").await).await,
        (401, "invalid_token".into())
    );
}

/// A JWKS endpoint whose key set the test changes, as a provider rotating keys does.
async fn serve_jwks(set: Arc<Mutex<Value>>) -> String {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let server = HttpServer::new(move || {
        let set = set.clone();
        App::new().route(
            "/.well-known/jwks.json",
            web::get().to(move || {
                let body = set.lock().unwrap().to_string();
                async move {
                    HttpResponse::Ok()
                        .content_type("application/json")
                        .body(body)
                }
            }),
        )
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    format!("http://127.0.0.1:{port}/.well-known/jwks.json")
}

#[tokio::test]
async fn keys_from_a_jwks_url_follow_the_providers_rotation() {
    let set = Arc::new(Mutex::new(json!({"keys": [jwk("2026-a", &key(31))]})));
    let url = serve_jwks(set.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path(), &crate::helpers::Store::Local);
    configure(&mut config, String::new(), url);
    config.auth.external.jwks_min_refetch_secs = 1;
    let app = spawn_app_in(dir, config).await;

    let old = sign(Some("2026-a"), &key(31), &claims());
    assert_eq!(app.get(&old, "/api/v1/auth/me").await.status(), 200);
    // The provider rotates: the new key replaces the old one in the set.
    *set.lock().unwrap() = json!({"keys": [jwk("2026-b", &key(32))]});
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let new = sign(Some("2026-b"), &key(32), &claims());
    assert_eq!(
        app.get(&new, "/api/v1/auth/me").await.status(),
        200,
        "an unknown kid fetches the set again"
    );
    assert_eq!(
        app.get(&old, "/api/v1/auth/me").await.status(),
        401,
        "a key the provider dropped is no longer accepted"
    );
    // Made-up key ids do not make the server fetch again within the interval.
    *set.lock().unwrap() = json!({"keys": [jwk("2026-b", &key(32)), jwk("2026-c", &key(33))]});
    let soon = sign(Some("2026-c"), &key(33), &claims());
    assert_eq!(app.get(&soon, "/api/v1/auth/me").await.status(), 401);
}

#[tokio::test]
async fn a_provider_configuration_that_cannot_work_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let base = test_config(dir.path(), &crate::helpers::Store::Local);
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, key_set().to_string()).unwrap();
    let file = path.display().to_string();
    type Change = Box<dyn Fn(&mut dangan::config::Config)>;
    let cases: Vec<(&str, Change)> = vec![
        (
            "both file and url",
            Box::new(|c| c.auth.external.jwks_url = "http://x".into()),
        ),
        (
            "HS256 accepted",
            Box::new(|c| c.auth.external.algorithms = vec!["HS256".into()]),
        ),
        (
            "unknown role in the map",
            Box::new(|c| {
                c.auth
                    .external
                    .role_map
                    .insert("x".into(), "superuser".into());
            }),
        ),
        (
            "missing key file",
            Box::new(|c| c.auth.external.jwks_file = "/nonexistent/jwks.json".into()),
        ),
        (
            "our own issuer",
            Box::new(|c| c.auth.external.issuer = "dangan".into()),
        ),
    ];
    for (why, change) in cases {
        let mut config = base.clone();
        configure(&mut config, file.clone(), String::new());
        change(&mut config);
        let started = dangan::startup::Application::build(config).await;
        assert!(started.is_err(), "{why} must stop the start");
    }
}

#[tokio::test]
async fn provider_identities_are_marked_held_to_separation_of_duties_and_cannot_shadow_local_names()
{
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, key_set().to_string()).unwrap();
    let mut config = test_config(dir.path(), &crate::helpers::Store::Local);
    configure(&mut config, path.display().to_string(), String::new());
    config
        .auth
        .external
        .role_map
        .insert("dms-admin".into(), "admin".into());
    let app = spawn_app_in(dir, config).await;

    let token = sign(Some("idp-1"), &key(21), &claims());
    assert_eq!(app.get(&token, "/api/v1/auth/me").await.status(), 200);
    let records = app.audit_records();
    let mine: Vec<&Value> = records
        .iter()
        .filter(|r| r["user"] == "wang.fang")
        .collect();
    assert!(!mine.is_empty());
    assert!(mine.iter().all(|r| r["provider"] == ISSUER), "{mine:?}");
    assert!(
        records
            .iter()
            .filter(|r| r["user"] == "clerk_bj" || r["user"] == "admin")
            .all(|r| r.get("provider").is_none()),
        "local accounts carry no provider"
    );

    let admin_and_staff = with("groups", json!(["dms-admin", "dms-staff"]));
    let r = app
        .get(
            &sign(Some("idp-1"), &key(21), &admin_and_staff),
            "/api/v1/auth/me",
        )
        .await;
    assert_eq!(error_code(r).await, (401, "invalid_token".into()));
    let admin_only = with("groups", json!(["dms-admin"]));
    let r = app
        .get(
            &sign(Some("idp-1"), &key(21), &admin_only),
            "/api/v1/auth/me",
        )
        .await;
    assert_eq!(r.status(), 200, "admin alone is fine");

    for name in ["ADMIN", "Clerk_BJ"] {
        let shadow = with("preferred_username", json!(name));
        let r = app
            .get(&sign(Some("idp-1"), &key(21), &shadow), "/api/v1/auth/me")
            .await;
        assert_eq!(error_code(r).await, (401, "invalid_token".into()), "{name}");
    }
}
