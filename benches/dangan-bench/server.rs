//! The real `dangan` server as a child process on loopback, its memory as the
//! kernel reports it, and the few calls the scenarios need (log in, add users,
//! file a record).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ADMIN_PASSWORD: &str = "bench-admin-password";
pub const PASSWORD: &str = "bench-user-password";
/// Fixed so that a server restarted on the same data directory can read it.
const MASTER_KEY: &str = "5ab1e5ab1e5ab1e5ab1e5ab1e5ab1e5ab1e5ab1e5ab1e5ab1e5ab1e5ab1e5ab1";

pub struct Server {
    child: Child,
    pub address: String,
    /// From spawning the process to its first healthy answer.
    pub start_secs: f64,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn dangan() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dangan"));
    cmd.env("DANGAN_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("DANGAN__CRYPTO__MASTER_KEY", MASTER_KEY)
        .env("DANGAN__SERVER__WORKERS", "2")
        .env("DANGAN__AUTH__TOKEN_TTL_SECS", "86400")
        .env("RUST_LOG", "warn")
        // OCR takes cores for seconds a scan: only the OCR scenario turns it on.
        .env("DANGAN__OCR__ENABLED", "false")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    cmd
}

impl Server {
    pub async fn start(data_dir: &Path) -> anyhow::Result<Server> {
        Self::start_with(data_dir, &[]).await
    }

    /// [`Server::start`] with more environment variables.
    pub async fn start_with(data_dir: &Path, env: &[(&str, &str)]) -> anyhow::Result<Server> {
        let port = free_port();
        let started = Instant::now();
        let child = dangan()
            .envs(env.iter().copied())
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--bind")
            .arg(format!("127.0.0.1:{port}"))
            .spawn()?;
        let address = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        loop {
            if client
                .get(format!("{address}/healthz"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                break;
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(600),
                "dangan did not start"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(Server {
            child,
            address,
            start_secs: started.elapsed().as_secs_f64(),
        })
    }

    fn status_kib(&self, key: &str) -> f64 {
        status_kib(self.child.id(), key)
    }

    /// Resident memory now, MiB.
    pub fn rss_mib(&self) -> f64 {
        self.status_kib("VmRSS:") / 1024.0
    }

    /// Resident anonymous memory now (heap and stacks, without the mapped
    /// index files the kernel can drop and re-read), MiB.
    pub fn anon_mib(&self) -> f64 {
        self.status_kib("RssAnon:") / 1024.0
    }

    /// Highest resident memory since the start, MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        self.status_kib("VmHWM:") / 1024.0
    }

    /// SIGTERM, and wait for the graceful exit.
    pub fn stop(mut self) -> anyhow::Result<()> {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        let status = self.child.wait()?;
        anyhow::ensure!(status.success(), "dangan exited with {status}");
        Ok(())
    }

    /// SIGKILL: a crash.
    pub fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A figure (kB) from `/proc/<pid>/status`, NaN once the process is gone.
fn status_kib(pid: u32, key: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(f64::NAN)
}

/// `dangan reindex` on a stopped server's data directory; returns seconds and
/// its peak RSS in MiB. Earlier phases' dirty pages are written back first, so
/// their writeback is not measured here.
pub fn reindex(data_dir: &Path) -> anyhow::Result<(f64, f64)> {
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
    let t = Instant::now();
    let mut child = dangan()
        .arg("reindex")
        .arg("--data-dir")
        .arg(data_dir)
        .stdout(Stdio::null())
        .spawn()?;
    // The high-water mark of the exec'd process, read until it exits (the
    // kernel's rusage would count the bench's own pages shared at fork).
    let mut peak_kib: f64 = 0.0;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        peak_kib = peak_kib.max(status_kib(child.id(), "VmHWM:"));
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let seconds = t.elapsed().as_secs_f64();
    anyhow::ensure!(status.success(), "reindex failed: {status}");
    Ok((seconds, peak_kib / 1024.0))
}

pub async fn login(client: &reqwest::Client, address: &str, user: &str) -> anyhow::Result<String> {
    let password = if user == "admin" {
        ADMIN_PASSWORD
    } else {
        PASSWORD
    };
    let r: Value = client
        .post(format!("{address}/api/v1/auth/login"))
        .json(&json!({"username": user, "password": password}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(r["access_token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no token"))?
        .to_string())
}

/// Logs `user` in through the login page; returns the session cookie's value.
pub async fn page_session(address: &str, user: &str) -> anyhow::Result<String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let r = client
        .post(format!("{address}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string([
            ("username", user),
            ("password", PASSWORD),
            ("next", "/search"),
        ])?)
        .send()
        .await?;
    anyhow::ensure!(r.status().is_redirection(), "login page: {}", r.status());
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("dangan_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("the login set no session cookie"))
}

/// Group-level users: a clerk who files for every branch, staff who see every
/// branch at every level, and staff of one branch.
pub async fn add_users(client: &reqwest::Client, address: &str) -> anyhow::Result<()> {
    let admin = login(client, address, "admin").await?;
    for (name, role, branch, clearance) in [
        ("clerk", "clerk", "*", "restricted"),
        ("staff", "staff", "*", "restricted"),
        ("staff_bj", "staff", "BJ01", "internal"),
    ] {
        client
            .post(format!("{address}/api/v1/users"))
            .bearer_auth(&admin)
            .json(
                &json!({"username": name, "password": PASSWORD, "roles": [role],
                          "branch": branch, "clearance": clearance}),
            )
            .send()
            .await?
            .error_for_status()?;
    }
    Ok(())
}

/// A filing request for one record with `body` as its file.
pub fn filing(
    client: &reqwest::Client,
    address: &str,
    token: &str,
    metadata: &Value,
    body: Vec<u8>,
) -> reqwest::RequestBuilder {
    filing_as(
        client,
        address,
        token,
        metadata,
        body,
        "order.txt",
        "text/plain",
    )
}

/// A filing request with the file's name and type.
pub fn filing_as(
    client: &reqwest::Client,
    address: &str,
    token: &str,
    metadata: &Value,
    body: Vec<u8>,
    filename: &str,
    content_type: &str,
) -> reqwest::RequestBuilder {
    let form = reqwest::multipart::Form::new()
        .text("metadata", metadata.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(body)
                .file_name(filename.to_string())
                .mime_str(content_type)
                .expect("valid type"),
        );
    client
        .post(format!("{address}/api/v1/documents"))
        .bearer_auth(token)
        .multipart(form)
}

/// `text` repeated and cut (at a character boundary) to about `size` bytes.
pub fn padded(text: &str, size: usize) -> Vec<u8> {
    if size == 0 || text.is_empty() {
        return text.as_bytes().to_vec();
    }
    let mut out = String::with_capacity(size + 8);
    while out.len() < size {
        out.push_str(text);
        out.push('\n');
    }
    let mut cut = size;
    while !out.is_char_boundary(cut) {
        cut -= 1;
    }
    out.truncate(cut);
    out.into_bytes()
}
