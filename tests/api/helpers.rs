//! `spawn_app()`: the real application on port 0 with a fresh data directory,
//! users of every role, and typed helpers for the calls tests make.

use std::path::{Path, PathBuf};

use dangan::config::{Config, Overrides};
use dangan::startup::Application;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

/// Held by the tests whose timing suffers under load (hostile files, the
/// browser test), so they never run at the same time.
pub static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";
pub const PASSWORD: &str = "password-for-tests";
/// A 256-bit master key for tests (hex).
pub const MASTER_KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// Where the object store of a test app lives.
#[derive(Clone, Debug)]
pub enum Store {
    /// `file://<data dir>/objects`, the embedded default.
    Local,
    /// A real S3-compatible server (see [`s3_target`]), under a fresh bucket prefix.
    S3(S3Target),
}

#[derive(Clone, Debug)]
pub struct S3Target {
    pub endpoint: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
}

/// The S3-compatible server named by `DANGAN_TEST_S3_ENDPOINT` (`.ci/run` starts
/// SeaweedFS and sets it). Under CI its absence is a failure, not a skip.
pub fn s3_target() -> Option<S3Target> {
    match std::env::var("DANGAN_TEST_S3_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => Some(S3Target {
            endpoint,
            bucket: std::env::var("DANGAN_TEST_S3_BUCKET").unwrap_or_else(|_| "dangan-test".into()),
            access_key: std::env::var("DANGAN_TEST_S3_ACCESS_KEY").unwrap_or_default(),
            secret_key: std::env::var("DANGAN_TEST_S3_SECRET_KEY").unwrap_or_default(),
        }),
        _ => {
            assert!(
                std::env::var("CI").is_err(),
                "CI must run the S3 tests: DANGAN_TEST_S3_ENDPOINT is not set"
            );
            eprintln!(
                "DANGAN_TEST_S3_ENDPOINT not set: skipping the S3 part of this test (.ci/run sets it)"
            );
            None
        }
    }
}

pub struct TestApp {
    pub address: String,
    /// The clock access grants expire by; tests move it forward.
    pub clock: std::sync::Arc<dangan::clock::ManualClock>,
    server: actix_web::dev::ServerHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    pub config: Config,
}

pub fn test_config(data_dir: &Path, store: &Store) -> Config {
    let mut config = Config::load(
        None,
        &Overrides {
            bind: Some("127.0.0.1:0".into()),
            data_dir: Some(data_dir.to_path_buf()),
            ..Overrides::default()
        },
    )
    .unwrap();
    config.crypto.master_key = MASTER_KEY.to_string().into();
    config.auth.bootstrap_admin_password = ADMIN_PASSWORD.to_string().into();
    config.server.workers = 2;
    // The in-process server re-executes the real binary as its extraction child.
    config.extract.program = env!("CARGO_BIN_EXE_dangan").to_string();
    // OCR takes a core for seconds per scan: only the tests of OCR turn it on.
    config.ocr.enabled = false;
    if let Store::S3(t) = store {
        // Each app gets a prefix of its own so tests do not see each other's objects.
        config.storage.url = format!("s3://{}", t.bucket);
        config.storage.prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
        config.storage.s3.endpoint = t.endpoint.clone();
        config.storage.s3.allow_http = true;
        config.storage.s3.access_key_id = t.access_key.clone();
        config.storage.s3.secret_access_key = t.secret_key.clone().into();
    }
    config
}

/// The test users: (username, roles, branch, clearance).
pub const USERS: &[(&str, &[&str], &str, &str)] = &[
    ("clerk_bj", &["clerk"], "BJ01", "confidential"),
    ("clerk_sh", &["clerk"], "SH01", "restricted"),
    ("staff_bj", &["staff"], "BJ01", "internal"),
    ("staff_sh", &["staff"], "SH01", "restricted"),
    ("super_bj", &["supervisor"], "BJ01", "restricted"),
    ("auditor", &["auditor"], "*", "restricted"),
    ("clerk_all", &["clerk"], "*", "restricted"),
    ("super_all", &["supervisor"], "*", "restricted"),
];

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Store::Local).await
}

pub async fn spawn_app_with(store: Store) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path(), &store);
    spawn_app_in(dir, config).await
}

pub async fn spawn_app_in(dir: tempfile::TempDir, config: Config) -> TestApp {
    let clock = std::sync::Arc::new(dangan::clock::ManualClock::default());
    let app = Application::build_with_clock(config.clone(), clock.clone())
        .await
        .expect("application starts");
    let port = app.port();
    let server = app.handle();
    let task = tokio::spawn(app.run_until_stopped());
    let app = TestApp {
        address: format!("http://127.0.0.1:{port}"),
        clock,
        server,
        task,
        client: reqwest::Client::new(),
        dir,
        config,
    };
    let admin = app.login("admin", ADMIN_PASSWORD).await;
    for (name, roles, branch, clearance) in USERS {
        let body = json!({"username": name, "password": PASSWORD, "roles": roles, "branch": branch, "clearance": clearance});
        let r = app
            .client
            .post(app.url("/api/v1/users"))
            .bearer_auth(&admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            r.status() == 201 || r.status() == 409,
            "creating {name}: {}",
            r.status()
        );
    }
    app
}

/// A repair order for branch BJ01 with customer PII, valid under the shipped scheme.
pub fn repair_order() -> Value {
    json!({
        "category": "WX",
        "title": "维修委托书 京A12345 刹车片更换",
        "vehicle": {"vin": "LFV2A21K0M3000001".to_string().pipe_vin(), "plate": "京A·12345", "model": "大众帕萨特", "mileage_km": 42000},
        "customer": {"name": "王伟", "phone": "13812341234", "id_number": "11010519491231002X"},
        "service": {"order_no": "BJ01-20260301-000001", "service_date": "2026-03-01", "technician": "李师傅"},
        "branch": "BJ01",
        "tags": ["制动系统"]
    })
}

/// The Prometheus text of the server at `address` (`http://host:port`).
pub async fn metrics_text(address: &str) -> String {
    reqwest::get(format!("{address}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// A valid VIN derived from a 17-character draft by fixing its check digit.
pub trait PipeVin {
    fn pipe_vin(self) -> String;
}

impl PipeVin for String {
    fn pipe_vin(self) -> String {
        let mut v = self.into_bytes();
        v[8] = dangan::domain::vehicle::vin_check_digit(&v).unwrap();
        String::from_utf8(v).unwrap()
    }
}

impl TestApp {
    /// Stops the server gracefully and starts it again on the same data directory.
    pub async fn restart(self) -> TestApp {
        let (dir, config) = self.stop().await;
        spawn_app_in(dir, config).await
    }

    /// Stops the server gracefully, handing back its data directory.
    pub async fn stop(self) -> (tempfile::TempDir, Config) {
        self.server.stop(true).await;
        let _ = self.task.await;
        (self.dir, self.config)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn login(&self, username: &str, password: &str) -> String {
        let r = self.post_login(username, password).await;
        assert_eq!(r.status(), 200, "login {username}");
        r.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn post_login(&self, username: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap()
    }

    pub async fn token(&self, username: &str) -> String {
        let pw = if username == "admin" {
            ADMIN_PASSWORD
        } else {
            PASSWORD
        };
        self.login(username, pw).await
    }

    pub async fn file(
        &self,
        token: &str,
        metadata: &Value,
        filename: &str,
        bytes: Vec<u8>,
    ) -> reqwest::Response {
        let form = Form::new()
            .part(
                "metadata",
                Part::text(metadata.to_string())
                    .mime_str("application/json")
                    .unwrap(),
            )
            .part(
                "file",
                Part::bytes(bytes)
                    .file_name(filename.to_string())
                    .mime_str("text/plain")
                    .unwrap(),
            );
        self.client
            .post(self.url("/api/v1/documents"))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    /// Files a document and returns its JSON, asserting 201.
    pub async fn file_ok(&self, token: &str, metadata: &Value, bytes: &[u8]) -> Value {
        let r = self
            .file(token, metadata, "order.txt", bytes.to_vec())
            .await;
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        assert_eq!(status, 201, "{body}");
        body
    }

    /// POSTs `body` as JSON with the caller's token.
    pub async fn post_json(&self, token: &str, path: &str, body: Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, token: &str, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn content(&self, token: &str, id: &str) -> reqwest::Response {
        self.get(token, &format!("/api/v1/documents/{id}/content"))
            .await
    }

    /// Every object file below the local store, for scans and tampering.
    pub fn object_files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out)
                } else {
                    out.push(p)
                }
            }
        }
        let mut out = vec![];
        walk(&self.dir.path().join("objects"), &mut out);
        out
    }

    /// The records of the retrieval log.
    pub fn audit_records(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.dir.path().join("audit/retrieval.log"))
            .unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

pub async fn error_code(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let body: Value = r
        .json()
        .await
        .unwrap_or_else(|e| panic!("error body is not JSON ({status}): {e}"));
    (
        status,
        body["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code in {body}"))
            .to_string(),
    )
}
