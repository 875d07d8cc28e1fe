//! The retrieval log (查阅登记): one record per access, durable before the response.
//!
//! Records are appended to a local file by one writer thread that batches what
//! arrives while it syncs (group commit: write the batch, `fdatasync`, then release
//! every waiting request). Each record carries the SHA-256 of the previous one, so
//! editing, removing or reordering records breaks the chain, which [`verify`]
//! reports by sequence number. If a record cannot be made durable the caller gets
//! an error and must refuse the access: no access without a record.
//!
//! Records never hold document content or unmasked personal information.

pub mod chain;
pub mod checkpoint;
pub mod offline;
pub mod query;
mod recovery;
mod scan;
pub mod stats;
mod writer;

pub use chain::{Anchors, VerifyReport, record_hash, verify, verify_anchored, verify_with};
pub use scan::Touched;
pub use writer::{AuditLog, Head};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::people::Principal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Allowed,
    Denied,
    Error,
}

/// Who asked, from where, under which request id.
#[derive(Debug, Clone)]
pub struct Context {
    pub request_id: String,
    pub client: String,
    pub principal: Option<Principal>,
}

impl Context {
    pub fn anonymous(request_id: String, client: String) -> Self {
        Context {
            request_id,
            client,
            principal: None,
        }
    }

    pub fn username(&self) -> &str {
        self.principal.as_ref().map_or("", |p| p.username.as_str())
    }

    /// Starts a record of `action` by this caller.
    pub fn event(&self, action: &'static str, outcome: Outcome) -> Event {
        let p = self.principal.as_ref();
        Event {
            action: action.to_string(),
            outcome,
            request_id: self.request_id.clone(),
            client: self.client.clone(),
            user: p.map(|p| p.username.clone()),
            roles: p
                .map(|p| p.roles.iter().map(|r| r.as_str().to_string()).collect())
                .unwrap_or_default(),
            branch: p.map(|p| p.branch.to_string()),
            provider: p.and_then(|p| p.provider.clone()),
            document: None,
            archive_no: None,
            vin: None,
            purpose: None,
            detail: Value::Null,
        }
    }
}

/// One record as the caller builds it; the writer adds sequence, time and hashes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub action: String,
    pub outcome: Outcome,
    pub request_id: String,
    pub client: String,
    pub user: Option<String>,
    pub roles: Vec<String>,
    pub branch: Option<String>,
    /// The identity provider that vouched for the user; absent for local accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    pub document: Option<String>,
    pub archive_no: Option<String>,
    pub vin: Option<String>,
    pub purpose: Option<String>,
    /// Action-specific facts: version and bytes served, fields corrected, query…
    pub detail: Value,
}

impl Event {
    pub fn document(
        mut self,
        id: impl ToString,
        archive_no: impl ToString,
        vin: Option<&str>,
    ) -> Self {
        self.document = Some(id.to_string());
        self.archive_no = Some(archive_no.to_string());
        self.vin = vin.map(str::to_string);
        self
    }

    pub fn vin(mut self, vin: &str) -> Self {
        self.vin = Some(vin.to_string());
        self
    }

    pub fn detail(mut self, detail: Value) -> Self {
        self.detail = detail;
        self
    }

    pub fn user(mut self, user: &str) -> Self {
        if self.user.is_none() {
            self.user = Some(user.to_string());
        }
        self
    }
}

/// A record as stored: the event plus what the writer adds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub seq: u64,
    pub time: chrono::DateTime<chrono::Utc>,
    #[serde(flatten)]
    pub event: Event,
    pub prev_hash: String,
}
