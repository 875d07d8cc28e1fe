//! The maintenance service: fixity checks ([`fixity`]), master-key rotation
//! ([`rotation`]), readiness, and the catalog's snapshots and sweep for
//! what interrupted writes left. Run by schedules, offline commands and
//! administrators.

pub mod fixity;
pub mod rotation;

use std::sync::{Arc, Mutex};

use super::catalog::Catalog;
use super::change::ChangeWriter;
use super::content::Contents;
use crate::audit::AuditLog;
use crate::error::{Code, Error, Result};
use crate::storage::BlobStore;
use crate::storage::envelope::Keyring;

/// Fixity, key rotation, readiness and the catalog's upkeep.
pub struct Maintenance {
    pub(super) contents: Arc<Contents>,
    pub(super) changes: Arc<ChangeWriter>,
    pub(super) audit: AuditLog,
    pub(super) catalog: Arc<Catalog>,
    pub(super) blob: BlobStore,
    pub(super) keyring: Arc<Keyring>,
    pub(super) rotation: Mutex<rotation::RotationState>,
}

impl Maintenance {
    /// Whether the object store answers; the number of documents if so
    /// (`GET /readyz`). Errors: the store's (`storage_unavailable`).
    pub async fn readiness(&self) -> Result<usize> {
        self.blob
            .list(&object_store::path::Path::from("system"))
            .await
            .map_err(|e| {
                Error::new(Code::StorageUnavailable, "the object store is unavailable")
                    .with_source(e)
            })?;
        Ok(self.catalog.len())
    }

    /// How many documents the catalog holds.
    pub fn documents(&self) -> usize {
        self.catalog.len()
    }

    /// The retrieval log's newest sequence number.
    pub fn log_head(&self) -> u64 {
        self.audit.head().seq
    }

    /// Writes a catalog snapshot (`clean`: at a stop, nothing served since).
    pub async fn save_snapshot(&self, clean: bool) -> Result<()> {
        self.catalog.save_snapshot(&self.audit, clean).await
    }

    /// How many document changes have begun since start (to skip a snapshot
    /// when nothing changed).
    pub fn changes_begun(&self) -> u64 {
        self.catalog.changes().begun()
    }

    /// Removes what writes interrupted by a crash left in the store, older than
    /// `started`; returns how many objects.
    pub async fn sweep_leftovers(&self, started: std::time::SystemTime) -> Result<usize> {
        self.catalog.sweep_leftovers(started).await
    }
}
