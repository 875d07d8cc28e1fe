//! The import's side of the API: log in, file one file with its source,
//! re-log in when the token expires, retry what the server could not take
//! yet (503, 409 `source_in_progress`, a dropped connection).

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use crate::domain::ingest::CheckReport;

/// How often a filing is tried before the run stops.
const ATTEMPTS: u32 = 5;

pub(super) struct Client {
    http: reqwest::Client,
    base: String,
    user: String,
    password: String,
    token: tokio::sync::RwLock<String>,
}

/// What the server said of a document: enough for the receipt.
#[derive(Debug, Deserialize)]
pub(super) struct Filed {
    pub archive_no: String,
    #[serde(default)]
    versions: Vec<VersionChecks>,
    #[serde(skip)]
    pub checks: Option<CheckReport>,
}

#[derive(Debug, Deserialize)]
struct VersionChecks {
    #[serde(default)]
    checks: Option<CheckReport>,
}

pub(super) enum Sent {
    /// Filed (`false`) or found already filed (`true`).
    Filed(Filed, bool),
    /// The server refused the row, with its reason.
    Refused(String),
}

/// SHA-256 (hex) and size of a file, read in 1 MiB pieces.
pub(super) async fn hash_file(path: &Path) -> Result<(String, u64), String> {
    let mut f = tokio::fs::File::open(path)
        .await
        .map_err(|e| format!("file not found or unreadable: {e}"))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .await
            .map_err(|e| format!("cannot read the file: {e}"))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), size))
}

fn message(body: &Value) -> String {
    body["error"]["message"]
        .as_str()
        .unwrap_or("the server refused the file")
        .to_string()
}

impl Client {
    /// Logs in as `user`.
    ///
    /// # Errors
    /// The server unreachable, or the login refused.
    pub(super) async fn login(url: &str, user: &str, password: &str) -> Result<Client, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| format!("cannot set up HTTP: {e}"))?;
        let client = Client {
            http,
            base: url.trim_end_matches('/').to_string(),
            user: user.to_string(),
            password: password.to_string(),
            token: tokio::sync::RwLock::new(String::new()),
        };
        client.relogin().await?;
        Ok(client)
    }

    async fn relogin(&self) -> Result<(), String> {
        let response = self
            .http
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({"username": self.user, "password": self.password}))
            .send()
            .await
            .map_err(|e| format!("server unreachable at {}: {e}", self.base))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(format!(
                "login refused for {}: {}",
                self.user,
                message(&body)
            ));
        }
        let token = body["access_token"]
            .as_str()
            .ok_or("the server's login answer has no token")?;
        *self.token.write().await = token.to_string();
        Ok(())
    }

    /// Files `path` as source `file` with `metadata`.
    ///
    /// # Errors
    /// The server could not be reached after several tries: the run stops.
    pub(super) async fn file(
        &self,
        file: &str,
        path: &Path,
        sha256: &str,
        size: u64,
        metadata: &Value,
    ) -> Result<Sent, String> {
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
            }
            let form = match self.form(file, path, sha256, size, metadata).await {
                Ok(f) => f,
                Err(e) => return Ok(Sent::Refused(e)),
            };
            let token = self.token.read().await.clone();
            let sent = self
                .http
                .post(format!("{}/api/v1/documents", self.base))
                .bearer_auth(token)
                .multipart(form)
                .send()
                .await;
            let response = match sent {
                Ok(r) => r,
                Err(e) => {
                    last = format!("server unreachable: {e}");
                    continue;
                }
            };
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            match status {
                200 | 201 => {
                    let mut filed: Filed = serde_json::from_value(body)
                        .map_err(|e| format!("the server's answer is not a document: {e}"))?;
                    filed.checks = filed.versions.first_mut().and_then(|v| v.checks.take());
                    return Ok(Sent::Filed(filed, status == 200));
                }
                401 => {
                    self.relogin().await?;
                    last = "the session expired".into();
                }
                409 if body["error"]["code"] == "source_in_progress" => last = message(&body),
                500.. => last = format!("server error {status}: {}", message(&body)),
                _ => return Ok(Sent::Refused(message(&body))),
            }
        }
        Err(last)
    }

    async fn form(
        &self,
        file: &str,
        path: &Path,
        sha256: &str,
        size: u64,
        metadata: &Value,
    ) -> Result<reqwest::multipart::Form, String> {
        let f = tokio::fs::File::open(path)
            .await
            .map_err(|e| format!("file not found or unreadable: {e}"))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| file.to_string());
        let mime = mime_guess::from_path(path).first_or_octet_stream();
        let body = reqwest::Body::wrap_stream(futures_util::stream::unfold(f, |mut f| async {
            let mut buf = vec![0u8; 256 * 1024];
            match f.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok::<_, std::io::Error>(buf), f))
                }
                Err(e) => Some((Err(e), f)),
            }
        }));
        let part = reqwest::multipart::Part::stream_with_length(body, size)
            .file_name(name)
            .mime_str(mime.essence_str())
            .map_err(|e| e.to_string())?;
        let source = json!({"path": file, "sha256": sha256, "size": size});
        Ok(reqwest::multipart::Form::new()
            .text("source", source.to_string())
            .text("metadata", metadata.to_string())
            .part("file", part))
    }
}
