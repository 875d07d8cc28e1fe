//! A filing acknowledged with 201 survives `kill -9` of the server.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{ADMIN_PASSWORD, MASTER_KEY, repair_order};

/// A `dangan` process; killed when dropped, so a failing test leaves none behind.
pub struct Server {
    pub child: Child,
    pub address: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the real `dangan` binary on `data_dir` and waits until it answers.
pub async fn start_server(data_dir: &std::path::Path) -> Server {
    start_server_with(data_dir, &[], MASTER_KEY).await
}

/// [`start_server`] with more arguments (`--config FILE`) and a master key.
pub async fn start_server_with(
    data_dir: &std::path::Path,
    args: &[&str],
    master_key: &str,
) -> Server {
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dangan"));
    cmd.args([
        "serve",
        "--bind",
        &format!("127.0.0.1:{port}"),
        "--data-dir",
    ])
    .arg(data_dir)
    .args(args);
    let child = server_env(&mut cmd, master_key).spawn().unwrap();
    wait_until_up(child, port).await
}

/// The environment a test server runs with: admin password, master key, two
/// workers, warnings only on stderr.
pub fn server_env<'a>(cmd: &'a mut Command, master_key: &str) -> &'a mut Command {
    cmd.env("DANGAN_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("DANGAN__CRYPTO__MASTER_KEY", master_key)
        .env("DANGAN__SERVER__WORKERS", "2")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
}

/// Waits until a started `dangan` on `port` answers its health check.
pub async fn wait_until_up(child: std::process::Child, port: u16) -> Server {
    let server = Server {
        child,
        address: format!("http://127.0.0.1:{port}"),
    };
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if reqwest::get(format!("{}/healthz", server.address))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("dangan did not start within 30 s");
}

/// Runs `dangan <command> --data-dir DIR` (reindex, fixity, audit-verify) to its
/// end; asserts it succeeded and returns what it printed.
pub fn run_cli(command: &str, data_dir: &std::path::Path, master_key: &str) -> String {
    let (ok, stdout) = run_cli_status(command, data_dir, master_key);
    assert!(ok, "dangan {command} failed: {stdout}");
    stdout
}

/// Runs `dangan <command> --data-dir DIR` to its end; whether it succeeded,
/// and what it printed on stdout.
pub fn run_cli_status(
    command: &str,
    data_dir: &std::path::Path,
    master_key: &str,
) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dangan"))
        .args([command, "--data-dir"])
        .arg(data_dir)
        .env("DANGAN__CRYPTO__MASTER_KEY", master_key)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    if !out.status.success() {
        eprintln!("dangan {command}: {}", String::from_utf8_lossy(&out.stderr));
    }
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

/// Runs `dangan audit-verify` on `data_dir` as an auditor holding the audit
/// public key; asserts the log is intact (exit 0, or 2 when its newest
/// records are not yet under a signed checkpoint) and returns the report.
pub fn verify_offline(data_dir: &std::path::Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_dangan"))
        .args(["audit-verify", "--data-dir"])
        .arg(data_dir)
        .arg("--public-key")
        .arg(data_dir.join("keys/audit-ed25519.der.pub"))
        .env("DANGAN__CRYPTO__MASTER_KEY", crate::helpers::MASTER_KEY)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("audit-verify: {}", String::from_utf8_lossy(&out.stderr)));
    assert!(
        matches!(out.status.code(), Some(0 | 2)) && report["first_bad_seq"].is_null(),
        "the log is intact: {report}"
    );
    report
}

/// Logs in as admin, creates a BJ01 clerk and logs them in: (admin token, clerk token).
pub async fn add_clerk(client: &reqwest::Client, address: &str) -> (String, String) {
    let admin = login(client, address, "admin", ADMIN_PASSWORD).await;
    let clerk = serde_json::json!({"username": "clerk", "password": "clerk-password", "roles": ["clerk"], "branch": "BJ01", "clearance": "restricted"});
    let r = client
        .post(format!("{address}/api/v1/users"))
        .bearer_auth(&admin)
        .json(&clerk)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    (
        admin,
        login(client, address, "clerk", "clerk-password").await,
    )
}

/// Files one repair order with `body` as a clerk; returns the document.
pub async fn file_one(
    client: &reqwest::Client,
    address: &str,
    token: &str,
    body: Vec<u8>,
) -> Value {
    let form = reqwest::multipart::Form::new()
        .text("metadata", repair_order().to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(body).file_name("a.txt"),
        );
    let r = client
        .post(format!("{address}/api/v1/documents"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

pub async fn login(client: &reqwest::Client, address: &str, user: &str, password: &str) -> String {
    let r = client
        .post(format!("{address}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": user, "password": password}))
        .send()
        .await
        .unwrap();
    r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_filing_acknowledged_with_201_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let mut server = start_server(dir.path()).await;
    let (_, token) = add_clerk(&client, &server.address).await;
    let mut filed = vec![];
    for i in 0..5 {
        let body = format!("第{i}份委托书").repeat(1000).into_bytes();
        let form = reqwest::multipart::Form::new()
            .text("metadata", repair_order().to_string())
            .part(
                "file",
                reqwest::multipart::Part::bytes(body.clone()).file_name("a.txt"),
            );
        let r = client
            .post(format!("{}/api/v1/documents", server.address))
            .bearer_auth(&token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let doc: Value = r.json().await.unwrap();
        filed.push((
            doc["id"].as_str().unwrap().to_string(),
            doc["archive_no"].as_str().unwrap().to_string(),
            body,
        ));
    }
    server.child.kill().unwrap(); // SIGKILL, right after the last 201
    server.child.wait().unwrap();

    let mut server = start_server(dir.path()).await;
    let token = login(&client, &server.address, "clerk", "clerk-password").await;
    for (id, archive_no, body) in &filed {
        let r = client
            .get(format!(
                "{}/api/v1/documents/{archive_no}/content",
                server.address
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{archive_no}");
        assert_eq!(r.bytes().await.unwrap().as_ref(), body.as_slice());
        let meta: Value = client
            .get(format!("{}/api/v1/documents/{id}", server.address))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(meta["archive_no"], archive_no.as_str());
    }
    let report = dangan::audit::verify(&dir.path().join("audit/retrieval.log")).unwrap();
    assert!(report.ok, "{report:?}");
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}

#[tokio::test]
async fn documents_filed_just_before_kill_9_are_searchable_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let mut server = start_server(dir.path()).await;
    let (_, token) = add_clerk(&client, &server.address).await;
    for i in 0..10 {
        let form = reqwest::multipart::Form::new()
            .text("metadata", repair_order().to_string())
            .part(
                "file",
                reqwest::multipart::Part::bytes(format!("冷却液渗漏 第{i}次").into_bytes())
                    .file_name("a.txt")
                    .mime_str("text/plain")
                    .unwrap(),
            );
        let r = client
            .post(format!("{}/api/v1/documents", server.address))
            .bearer_auth(&token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    // Killed within the index's commit interval: the store has the documents,
    // the index may not.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let server = start_server(dir.path()).await;
    let token = login(&client, &server.address, "clerk", "clerk-password").await;
    let r: Value = client
        .get(format!(
            "{}/api/v1/search?q=%E5%86%B7%E5%8D%B4%E6%B6%B2%E6%B8%97%E6%BC%8F",
            server.address
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["total"], 10, "{r}");
}

#[tokio::test]
async fn the_reindex_command_rebuilds_the_index_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    {
        let server = start_server(dir.path()).await;
        let (admin, token) = add_clerk(&client, &server.address).await;
        for _ in 0..3 {
            let form = reqwest::multipart::Form::new()
                .text("metadata", repair_order().to_string())
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("a.txt"),
                );
            client
                .post(format!("{}/api/v1/documents", server.address))
                .bearer_auth(&token)
                .multipart(form)
                .send()
                .await
                .unwrap();
        }
        let r = client
            .post(format!("{}/api/v1/admin/reindex", server.address))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.json::<Value>().await.unwrap()["reindexed"], 3);
        let r = client
            .post(format!("{}/api/v1/admin/reindex", server.address))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
    }
    std::fs::write(dir.path().join("index/meta.json"), b"garbage").unwrap();
    assert!(run_cli("reindex", dir.path(), MASTER_KEY).contains("rebuilt: 3 documents"));
}

#[tokio::test]
async fn every_response_received_before_kill_9_has_its_record() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let mut server = start_server(dir.path()).await;
    let (_, token) = add_clerk(&client, &server.address).await;
    let doc = file_one(&client, &server.address, &token, b"x".to_vec()).await;
    let url = format!(
        "{}/api/v1/documents/{}",
        server.address,
        doc["id"].as_str().unwrap()
    );
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut readers = vec![];
    for _ in 0..16 {
        let (client, url, token, received) =
            (client.clone(), url.clone(), token.clone(), received.clone());
        readers.push(tokio::spawn(async move {
            for _ in 0..10_000 {
                match client.get(&url).bearer_auth(&token).send().await {
                    Ok(r) if r.status() == 200 => {
                        let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
                        if r.bytes().await.is_ok() {
                            received.lock().unwrap().push(id);
                        }
                    }
                    _ => return,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    for r in readers {
        r.await.unwrap();
    }
    let received = received.lock().unwrap().clone();
    assert!(
        received.len() > 100,
        "only {} reads before the kill",
        received.len()
    );
    let log = std::fs::read_to_string(dir.path().join("audit/retrieval.log")).unwrap();
    let recorded: std::collections::HashSet<String> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["action"] == "document.view" && r["outcome"] == "allowed")
        .map(|r| r["request_id"].as_str().unwrap().to_string())
        .collect();
    let missing: Vec<&String> = received
        .iter()
        .filter(|id| !recorded.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} responses have no record",
        missing.len(),
        received.len()
    );
    let _server = start_server(dir.path()).await;
    let report = dangan::audit::verify(&dir.path().join("audit/retrieval.log")).unwrap();
    assert!(report.ok, "{report:?}");
}

#[tokio::test]
async fn sigterm_finishes_in_flight_work_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let mut server = start_server(dir.path()).await;
    let (_, token) = add_clerk(&client, &server.address).await;
    let form = reqwest::multipart::Form::new()
        .text("metadata", repair_order().to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes("机油泄漏".as_bytes().to_vec())
                .file_name("a.txt")
                .mime_str("text/plain")
                .unwrap(),
        );
    let r = client
        .post(format!("{}/api/v1/documents", server.address))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(server.child.id() as i32, libc::SIGTERM);
    }
    let started = Instant::now();
    let status = loop {
        if let Some(s) = server.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "still running 30 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exit status {status}");
    // The index was committed on the way out: no catch-up needed to find it.
    let keyring = dangan::storage::envelope::Keyring::new(
        dangan::storage::envelope::MasterKey::from_bytes(&hex::decode(MASTER_KEY).unwrap())
            .unwrap(),
    );
    let key = keyring.derive_key("dangan/search-index/pii/v1");
    let index =
        dangan::index::SearchIndex::open(&dir.path().join("index"), key, 20_000_000).unwrap();
    assert_eq!(index.num_docs(), 1);
}

/// No access without a durable record: when the retrieval log cannot be
/// written (here the disk refuses to let the file grow), reads fail with 503
/// and nothing is served.
#[tokio::test]
async fn when_the_log_cannot_be_written_access_is_refused_with_503() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    // Prepare the archive with a normal server first.
    let (id, token) = {
        let server = start_server(dir.path()).await;
        let (_, token) = add_clerk(&client, &server.address).await;
        let doc = file_one(&client, &server.address, &token, b"secret body".to_vec()).await;
        (doc["id"].as_str().unwrap().to_string(), token)
    };
    // Restart with a file-size limit a little above the log's current size; a
    // write past it fails with EFBIG (SIGXFSZ is ignored, as exec keeps it).
    let log_len = std::fs::metadata(dir.path().join("audit/retrieval.log"))
        .unwrap()
        .len();
    let limit = log_len + 20_000;
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dangan"));
    cmd.args([
        "serve",
        "--bind",
        &format!("127.0.0.1:{port}"),
        "--data-dir",
    ])
    .arg(dir.path())
    .env("DANGAN__CRYPTO__MASTER_KEY", MASTER_KEY)
    .env("DANGAN__SERVER__WORKERS", "2")
    .env("RUST_LOG", "error")
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &lim);
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let server = Server {
        child: cmd.spawn().unwrap(),
        address: format!("http://127.0.0.1:{port}"),
    };
    let started = Instant::now();
    while reqwest::get(format!("{}/healthz", server.address))
        .await
        .is_err()
    {
        assert!(started.elapsed() < Duration::from_secs(30));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = format!("{}/api/v1/documents/{id}/content", server.address);
    let mut served = 0;
    let refused = loop {
        let r = client.get(&url).bearer_auth(&token).send().await.unwrap();
        let status = r.status().as_u16();
        let body = r.text().await.unwrap();
        if status == 503 {
            break body;
        }
        assert_eq!((status, body.as_str()), (200, "secret body"));
        served += 1;
        assert!(served < 1000, "the log never filled up");
    };
    let error: Value = serde_json::from_str(&refused).unwrap();
    assert_eq!(error["error"]["code"], "audit_unavailable", "{refused}");
    assert!(!refused.contains("secret body"));
    // Every read that was served has its record: the log still verifies.
    drop(server);
    let report = dangan::audit::verify(&dir.path().join("audit/retrieval.log")).unwrap();
    assert!(report.ok, "{report:?}");
    let log = std::fs::read_to_string(dir.path().join("audit/retrieval.log")).unwrap();
    let reads = log
        .lines()
        .filter(|l| l.contains("\"document.content\"") && l.contains("\"allowed\""))
        .count();
    assert_eq!(reads, served, "one record per served read");
}
