//! A real `dangan` process for the tests that stop, kill or restart it: start
//! it on a free port, wait until it answers, run its offline commands.

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
    let mut cmd = serve_command(data_dir, port);
    cmd.args(args);
    let child = server_env(&mut cmd, master_key).spawn().unwrap();
    wait_until_up(child, port).await
}

/// [`start_server`] with more arguments and more environment variables.
pub async fn start_server_env(
    data_dir: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Server {
    let port = free_port();
    let mut cmd = serve_command(data_dir, port);
    cmd.args(args);
    server_env(&mut cmd, MASTER_KEY);
    for (k, v) in env {
        cmd.env(k, v);
    }
    wait_until_up(cmd.spawn().unwrap(), port).await
}

/// `dangan serve` on loopback `port` with `data_dir`, nothing else set.
pub fn serve_command(data_dir: &std::path::Path, port: u16) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dangan"));
    cmd.args([
        "serve",
        "--bind",
        &format!("127.0.0.1:{port}"),
        "--data-dir",
    ])
    .arg(data_dir);
    cmd
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
