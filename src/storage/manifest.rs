//! The manifest of a document: everything about it except its content bytes.
//!
//! Sealed as one object (`docs/<id>/manifest`) under its own data key, so the
//! metadata and personal information are encrypted at rest. It also holds each
//! version's wrapped content key: rotating the master key rewrites manifests only.

use chrono::{DateTime, NaiveDate, Utc};
use object_store::path::Path;
use serde::{Deserialize, Serialize};

use super::envelope::{Keyring, WrappedKey};
use crate::domain::ingest::CheckReport;
use crate::domain::metadata::Metadata;
use crate::domain::{ArchiveNo, Branch, DocumentId, Level};
use crate::error::{Error, Result};

pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    pub id: DocumentId,
    pub archive_no: ArchiveNo,
    pub metadata: Metadata,
    /// Effective branch and level (metadata's, or the defaults applied at filing).
    pub branch: Branch,
    pub confidentiality: Level,
    pub filed_by: String,
    pub filed_at: DateTime<Utc>,
    pub retention_until: NaiveDate,
    pub legal_hold: Option<LegalHold>,
    pub versions: Vec<Version>,
    pub corrections: Vec<Correction>,
    /// Incremented on every change.
    pub revision: u64,
    /// Whether the latest version's text is in the search index, or why not.
    #[serde(default)]
    pub text: Option<TextStatus>,
    /// Where an imported document came from (spec §10); `None` for a filing
    /// without a `source` part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

/// An imported file's origin: its path in the source folder and the SHA-256
/// its sender computed. Together they are the key that keeps a re-run of an
/// import from filing a file twice (spec §10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub path: String,
    pub sha256: String,
}

impl Source {
    /// The catalog's key of this source: SHA-256 over path, NUL, hash.
    pub fn key(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(self.path.as_bytes());
        h.update([0]);
        h.update(self.sha256.as_bytes());
        h.finalize().into()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalHold {
    pub reason: String,
    pub set_by: String,
    pub set_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Version {
    pub version: u32,
    /// SHA-256 of the plaintext, hex.
    pub sha256: String,
    pub size: u64,
    pub content_type: String,
    pub filename: String,
    pub filed_by: String,
    pub filed_at: DateTime<Utc>,
    pub reason: Option<String>,
    /// The content data key, wrapped under a master key.
    pub key: WrappedKey,
    /// The ingest checks (四性检测) made when the version was filed
    /// (spec §10); absent on versions filed before they existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checks: Option<CheckReport>,
    /// What OCR read of a scan, once it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocr: Option<OcrOutcome>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Correction {
    pub at: DateTime<Utc>,
    pub by: String,
    pub reason: String,
    /// Dotted paths of the fields that changed.
    pub fields: Vec<String>,
    /// The metadata before and after the correction.
    pub old: serde_json::Value,
    pub new: serde_json::Value,
}

pub fn manifest_path(id: DocumentId) -> Path {
    Path::from(format!("docs/{id}/manifest"))
}

pub fn content_path(id: DocumentId, version: u32) -> Path {
    Path::from(format!("docs/{id}/content/{version}"))
}

/// Whether a version's text made it into the index, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextStatus {
    pub indexed: bool,
    pub reason: Option<String>,
    /// The background work the text waits for: `"ocr"` for a scan queued for
    /// recognition (spec §10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<String>,
}

impl TextStatus {
    /// Indexed.
    pub fn indexed() -> Self {
        TextStatus {
            indexed: true,
            reason: None,
            pending: None,
        }
    }

    /// Not indexed, for `reason`.
    pub fn not_indexed(reason: String) -> Self {
        TextStatus {
            indexed: false,
            reason: Some(reason),
            pending: None,
        }
    }

    /// Queued for OCR.
    pub fn pending_ocr() -> Self {
        TextStatus {
            indexed: false,
            reason: None,
            pending: Some("ocr".into()),
        }
    }

    pub fn is_pending_ocr(&self) -> bool {
        self.pending.as_deref() == Some("ocr")
    }
}

/// The outcome of OCR on a version: the engine, its mean confidence over the
/// lines it read (0–1), how many lines and pages, and the VIN it found,
/// repaired by its check digit (ISO 3779), offered as a metadata suggestion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OcrOutcome {
    pub engine: String,
    pub confidence: Option<f64>,
    pub lines: u32,
    pub pages: u32,
    pub at: DateTime<Utc>,
    /// Why nothing was read, when nothing was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggested_vin: Option<String>,
}

/// Where the recognised text of a version is kept, sealed like a manifest.
pub fn text_path(id: DocumentId, version: u32) -> Path {
    Path::from(format!("docs/{id}/text/{version}"))
}

/// Binds a content object and its key to one document and version.
pub fn content_context(id: DocumentId, version: u32) -> String {
    format!("docs/{id}/content/{version}")
}

fn manifest_context(id: DocumentId) -> String {
    format!("docs/{id}/manifest")
}

impl Manifest {
    pub fn seal(&self, keyring: &Keyring) -> Vec<u8> {
        let plain = serde_json::to_vec(self).expect("a manifest always serialises");
        keyring.seal(&manifest_context(self.id), &plain)
    }

    /// Opens the sealed manifest of document `id`; any damage is an integrity error.
    pub fn open(id: DocumentId, bytes: &[u8], keyring: &Keyring) -> Result<Manifest> {
        let plain = keyring.open(&manifest_context(id), bytes).map_err(|e| {
            Error::integrity(format!(
                "manifest of document {id} failed its integrity check"
            ))
            .with_source(e)
        })?;
        let manifest: Manifest = serde_json::from_slice(&plain).map_err(|e| {
            Error::integrity(format!("manifest of document {id} is unreadable")).with_source(e)
        })?;
        if manifest.id != id || manifest.format != FORMAT {
            return Err(Error::integrity(format!(
                "manifest of document {id} belongs elsewhere"
            )));
        }
        Ok(manifest)
    }

    pub fn version(&self, n: u32) -> Option<&Version> {
        self.versions.iter().find(|v| v.version == n)
    }

    pub fn latest(&self) -> &Version {
        self.versions
            .last()
            .expect("a filed document has at least one version")
    }

    pub fn vin(&self) -> Option<&str> {
        self.metadata.vin().map(|v| v.as_str())
    }
}

/// What remains of a disposed document: enough for the disposal register and to
/// keep its archive number from ever being handed out again. No content keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tombstone {
    pub id: DocumentId,
    pub archive_no: ArchiveNo,
    pub category: String,
    pub branch: Branch,
    pub service_date: Option<NaiveDate>,
    pub filed_at: DateTime<Utc>,
    pub retention_until: NaiveDate,
    pub disposal: String,
    pub disposed_at: DateTime<Utc>,
}

pub fn tombstone_path(id: DocumentId) -> Path {
    Path::from(format!("docs/{id}/tombstone"))
}

impl Tombstone {
    pub fn seal(&self, keyring: &Keyring) -> Vec<u8> {
        let plain = serde_json::to_vec(self).expect("a tombstone always serialises");
        keyring.seal(tombstone_path(self.id).as_ref(), &plain)
    }

    pub fn open(id: DocumentId, bytes: &[u8], keyring: &Keyring) -> Result<Tombstone> {
        let plain = keyring
            .open(tombstone_path(id).as_ref(), bytes)
            .map_err(|e| {
                Error::integrity(format!(
                    "tombstone of document {id} failed its integrity check"
                ))
                .with_source(e)
            })?;
        serde_json::from_slice(&plain).map_err(|e| {
            Error::integrity(format!("tombstone of document {id} is unreadable")).with_source(e)
        })
    }
}
