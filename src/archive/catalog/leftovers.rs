//! What interrupted writes leave in the store, and how the catalog keeps clear
//! of writes under way: content no manifest refers to (found at load, or swept
//! while serving after a crash) and the register of documents being written.

use futures_util::TryStreamExt;
use object_store::path::Path;

use super::Catalog;
use crate::domain::DocumentId;
use crate::error::{Error, Result};

impl Catalog {
    /// Removes what writes a crash interrupted left behind, while the server
    /// serves (after a start from a snapshot that was not a clean stop):
    /// content no document owns, and, in a local store, staging files older
    /// than `started`. Content a write of this process is putting in place is
    /// never touched: such a write registers its document ([`Self::writing`])
    /// before its first byte, and leaves the register only after the catalog
    /// shows the result, so looking at the register first and the catalog
    /// second can not miss it. Returns how many objects were removed.
    pub async fn sweep_leftovers(&self, started: std::time::SystemTime) -> Result<usize> {
        // Streamed: at a million documents the listing has ~3M paths.
        let mut paths = self.blob.list_each(&Path::from("docs"));
        let mut removed = 0;
        while let Some(path) = paths.try_next().await? {
            let segments: Vec<&str> = path.as_ref().split('/').collect();
            let [_, id, "content", version] = segments.as_slice() else {
                continue;
            };
            let (Some(doc), Ok(version)) = (DocumentId::parse(id), version.parse::<u32>()) else {
                continue;
            };
            if self
                .pending
                .lock()
                .expect("pending writes")
                .contains_key(&doc)
            {
                continue;
            }
            let owned = {
                let inner = self.inner.read().expect("catalog lock");
                match inner.docs.get(&doc) {
                    Some(d) => (1..=d.latest_version).contains(&version),
                    None => inner.damaged.contains(&doc),
                }
            };
            if !owned {
                self.blob.delete(&path).await?;
                removed += 1;
            }
        }
        let blob = self.blob.clone();
        removed += tokio::task::spawn_blocking(move || blob.remove_staged_leftovers(Some(started)))
            .await
            .map_err(|e| Error::internal(e.to_string()))?
            .map_err(|e| Error::internal(format!("staging files: {e}")))?;
        Ok(removed)
    }

    /// Registers a write of document `id`'s content or manifest under way,
    /// until the returned guard is dropped (after the catalog shows it).
    pub fn writing(&self, id: DocumentId) -> Writing<'_> {
        *self
            .pending
            .lock()
            .expect("pending writes")
            .entry(id)
            .or_insert(0) += 1;
        Writing { catalog: self, id }
    }

    /// Content objects that no readable manifest lists: left by a filing or a new
    /// version that crashed before its manifest was written, or by a disposal that
    /// crashed after its tombstone. Their data keys were never stored (or are
    /// destroyed), so they can never be read. Documents whose manifest is damaged
    /// are left alone.
    pub(super) fn unreferenced(&self, paths: &[Path]) -> Vec<Path> {
        let inner = self.inner.read().expect("catalog lock");
        paths
            .iter()
            .filter(|p| {
                let segments: Vec<&str> = p.as_ref().split('/').collect();
                let [_, id, "content", version] = segments.as_slice() else {
                    return false;
                };
                let Some(doc) = DocumentId::parse(id) else {
                    return false;
                };
                match inner.docs.get(&doc) {
                    Some(d) => !version
                        .parse::<u32>()
                        .is_ok_and(|v| (1..=d.latest_version).contains(&v)),
                    // Every manifest in the store was either read or found damaged.
                    None => !inner.damaged.contains(&doc),
                }
            })
            .cloned()
            .collect()
    }

    /// The unreferenced content objects found at load, once. Only a process that
    /// holds the index writer lock (so no other dangan process writes this archive)
    /// may delete them.
    pub fn take_leftovers(&self) -> Vec<Path> {
        std::mem::take(&mut *self.leftovers.lock().expect("leftovers"))
    }
}

/// A write of a document under way; see [`Catalog::writing`].
pub struct Writing<'a> {
    catalog: &'a Catalog,
    id: DocumentId,
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        let mut pending = self.catalog.pending.lock().expect("pending writes");
        if let Some(n) = pending.get_mut(&self.id) {
            *n -= 1;
            if *n == 0 {
                pending.remove(&self.id);
            }
        }
    }
}
