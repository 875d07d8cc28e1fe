//! The one writer of document manifests. Every change to a document — filing,
//! a new version, a correction, a legal hold, disposal — runs the same order,
//! written once here:
//!
//! 1. register the change with the catalog (`Changes::begin`), at the log's head;
//! 2. write its retrieval-log record (no change without a durable record, §4);
//! 3. write the sealed manifest (or, for disposal, the tombstone, then delete);
//! 4. update the search index;
//! 5. update the catalog, and mark the change done.
//!
//! Crash recovery depends on this order: a catalog snapshot is consistent up
//! to the earliest change still open, and a start from a snapshot replays the
//! log records of [`ChangeKind`] after it (see `catalog::snapshot`). A change
//! that fails after step 1 is never marked done, so the next snapshot holds
//! back to before it.

use std::sync::Arc;

use super::catalog::Catalog;
use super::views::DocumentView;
use crate::audit::{AuditLog, Event};
use crate::domain::DocumentId;
use crate::error::Result;
use crate::index::SearchIndex;
use crate::storage::BlobStore;
use crate::storage::envelope::Keyring;
use crate::storage::manifest::{
    Manifest, Tombstone, content_path, manifest_path, text_path, tombstone_path,
};

macro_rules! change_kinds {
    ($($kind:ident = $action:literal,)*) => {
        /// The changes to a document, each with the action its log record carries.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ChangeKind {
            $($kind,)*
        }

        impl ChangeKind {
            /// Every kind: the log records a start from a snapshot replays.
            pub const ALL: &'static [ChangeKind] = &[$(ChangeKind::$kind),*];

            /// The action of the change's log record.
            pub fn action(self) -> &'static str {
                match self {
                    $(ChangeKind::$kind => $action,)*
                }
            }
        }
    };
}

change_kinds! {
    File = "document.file",
    AddVersion = "document.version.add",
    Correct = "document.correct",
    LegalHold = "document.legal_hold",
    Dispose = "document.dispose",
    Recognise = "document.ocr",
}

impl ChangeKind {
    /// Whether a log record's action is a change to a document.
    pub fn is_change(action: &str) -> bool {
        Self::ALL.iter().any(|k| k.action() == action)
    }
}

/// The parts a change writes to.
pub struct ChangeWriter {
    pub(super) audit: AuditLog,
    pub(super) blob: BlobStore,
    pub(super) keyring: Arc<Keyring>,
    pub(super) catalog: Arc<Catalog>,
    pub(super) index: Arc<SearchIndex>,
}

impl ChangeWriter {
    /// Writes `next` as the document's new state, `event` its log record and
    /// `text` its searchable text, in the order above. The caller holds the
    /// document's lock (or, for a new document, its only reference).
    ///
    /// # Errors
    /// The log's or the store's error; the catalog and index then still show
    /// the previous state.
    pub async fn write(
        &self,
        kind: ChangeKind,
        event: Event,
        next: Manifest,
        text: &str,
    ) -> Result<DocumentView> {
        debug_assert_eq!(event.action, kind.action(), "a change's record names it");
        let change = self.catalog.changes().begin(kind, &self.audit);
        self.audit.record(event).await?;
        self.blob
            .put(&manifest_path(next.id), next.seal(&self.keyring))
            .await?;
        let view = DocumentView::of(&next);
        self.index.upsert(&next, text);
        self.catalog.insert(next);
        change.done();
        Ok(view)
    }

    /// Removes the content of a version no manifest came to refer to (a filing
    /// that failed after its content was stored). Best effort: the sweep for
    /// leftovers takes what this misses.
    pub async fn discard_content(&self, id: DocumentId, version: u32) {
        if let Err(e) = self.blob.delete(&content_path(id, version)).await {
            tracing::warn!(document = %id, error = ?e, "cannot remove the content of a failed filing");
        }
    }

    /// Destroys a document (销毁): the record, then the tombstone that keeps its
    /// archive number reserved, then the manifest (the only wrapped copies of
    /// its content keys) and every version's content, then the index entry and
    /// the catalog entry. The caller holds the document's lock.
    pub async fn dispose(&self, event: Event, m: &Manifest, tombstone: Tombstone) -> Result<()> {
        let change = self
            .catalog
            .changes()
            .begin(ChangeKind::Dispose, &self.audit);
        self.audit.record(event).await?;
        self.blob
            .put(&tombstone_path(m.id), tombstone.seal(&self.keyring))
            .await?;
        self.blob.delete(&manifest_path(m.id)).await?;
        for v in &m.versions {
            self.blob.delete(&content_path(m.id, v.version)).await?;
            if v.ocr.is_some() {
                self.blob.delete(&text_path(m.id, v.version)).await?;
            }
        }
        self.index.delete(&m.id.to_string());
        self.catalog.remove(m.id);
        change.done();
        Ok(())
    }

    /// Rewrites a manifest whose content keys were rewrapped under the active
    /// master key: what it says is unchanged, so no record, no index update
    /// and nothing for recovery to replay. The caller holds the document's lock.
    pub async fn rewrap(&self, next: Manifest) -> Result<()> {
        self.blob
            .put(&manifest_path(next.id), next.seal(&self.keyring))
            .await?;
        self.catalog.insert(next);
        Ok(())
    }
}
