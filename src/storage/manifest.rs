//! The manifest of a document: everything about it except its content bytes.
//!
//! Sealed as one object (`docs/<id>/manifest`) under its own data key, so the
//! metadata and personal information are encrypted at rest. It also holds each
//! version's wrapped content key: rotating the master key rewrites manifests only.

use chrono::{DateTime, NaiveDate, Utc};
use object_store::path::Path;
use serde::{Deserialize, Serialize};

use super::envelope::{Keyring, WrappedKey};
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
