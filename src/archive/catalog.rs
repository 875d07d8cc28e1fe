//! The in-memory catalog of filed documents, rebuilt from the object store's
//! manifests at start. Derived data: the store is the system of record.
//!
//! It resolves archive numbers and VINs to documents, keeps the archive-number
//! counters, and hands out one lock per document so that concurrent changes to the
//! same document are applied one after the other.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path;

use crate::domain::ids::Series;
use crate::domain::{ArchiveNo, DocumentId};
use crate::error::{Error, Result};
use crate::storage::BlobStore;
use crate::storage::envelope::Keyring;
use crate::storage::manifest::{Manifest, Tombstone, manifest_path};

#[derive(Clone)]
pub struct Entry {
    pub manifest: Arc<Manifest>,
    pub lock: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Default)]
struct Inner {
    docs: HashMap<DocumentId, Entry>,
    by_archive_no: HashMap<String, DocumentId>,
    by_vin: HashMap<String, BTreeSet<DocumentId>>,
    /// Highest sequence handed out per series, and numbers handed back unused.
    counters: HashMap<Series, u64>,
    returned: HashMap<Series, BTreeSet<u64>>,
    /// Documents whose manifest failed its integrity check at load.
    damaged: BTreeSet<DocumentId>,
}

#[derive(Default)]
pub struct Catalog {
    inner: RwLock<Inner>,
    /// Content objects no manifest refers to, found at load (see [`Self::take_leftovers`]).
    leftovers: std::sync::Mutex<Vec<Path>>,
}

impl Catalog {
    /// Reads every manifest in the store. A manifest that fails its integrity
    /// check is logged and remembered as damaged (reads of it answer with an
    /// integrity error); the rest of the archive stays available.
    pub async fn load(blob: &BlobStore, keyring: &Keyring) -> Result<Self> {
        let catalog = Catalog::default();
        let paths: Vec<Path> = blob.list(&Path::from("docs")).await?;
        // Disposed documents keep their archive numbers out of circulation.
        for p in &paths {
            let parts: Vec<_> = p.parts().collect();
            if let [_, id, name] = parts.as_slice()
                && name.as_ref() == "tombstone"
                && let Some(id) = DocumentId::parse(id.as_ref())
                && let Some(bytes) = blob.get(p).await?
            {
                let t = Tombstone::open(id, &bytes, keyring)?;
                catalog.reserve(&t.archive_no);
            }
        }
        let ids: Vec<DocumentId> = paths
            .iter()
            .filter_map(|p| {
                let parts: Vec<_> = p.parts().collect();
                match parts.as_slice() {
                    [_, id, name] if name.as_ref() == "manifest" => DocumentId::parse(id.as_ref()),
                    _ => None,
                }
            })
            .collect();
        let opened: Vec<(DocumentId, Result<Manifest>)> = futures_util::stream::iter(ids)
            .map(|id| async move {
                let bytes = blob
                    .get(&manifest_path(id))
                    .await?
                    .ok_or_else(|| Error::not_found("manifest"))?;
                Ok::<_, Error>((id, Manifest::open(id, &bytes, keyring)))
            })
            .buffer_unordered(16)
            .try_collect()
            .await?;
        for (id, manifest) in opened {
            match manifest {
                Ok(m) => catalog.insert(m),
                Err(e) => {
                    tracing::error!(document = %id, error = ?e, "manifest failed its integrity check");
                    catalog
                        .inner
                        .write()
                        .expect("catalog lock")
                        .damaged
                        .insert(id);
                }
            }
        }
        *catalog.leftovers.lock().expect("leftovers") = catalog.unreferenced(&paths);
        Ok(catalog)
    }

    /// Content objects that no readable manifest lists: left by a filing or a new
    /// version that crashed before its manifest was written, or by a disposal that
    /// crashed after its tombstone. Their data keys were never stored (or are
    /// destroyed), so they can never be read. Documents whose manifest is damaged
    /// are left alone.
    fn unreferenced(&self, paths: &[Path]) -> Vec<Path> {
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
                    Some(e) => !e
                        .manifest
                        .versions
                        .iter()
                        .any(|v| v.version.to_string() == *version),
                    // Every manifest in the store was either opened (docs) or found damaged.
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

    pub fn len(&self) -> usize {
        self.inner.read().expect("catalog lock").docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds or replaces a document's manifest.
    pub fn insert(&self, manifest: Manifest) {
        let mut inner = self.inner.write().expect("catalog lock");
        let id = manifest.id;
        let series = manifest.archive_no.series();
        let seq = manifest.archive_no.seq;
        let counter = inner.counters.entry(series.clone()).or_insert(0);
        *counter = (*counter).max(seq);
        if let Some(set) = inner.returned.get_mut(&series) {
            set.remove(&seq);
        }
        if let Some(old) = inner.docs.get(&id).map(|e| e.manifest.clone())
            && let Some(vin) = old.vin()
            && let Some(set) = inner.by_vin.get_mut(vin)
        {
            set.remove(&id);
        }
        inner
            .by_archive_no
            .insert(manifest.archive_no.to_string(), id);
        if let Some(vin) = manifest.vin() {
            inner.by_vin.entry(vin.to_string()).or_default().insert(id);
        }
        let lock = inner
            .docs
            .get(&id)
            .map(|e| e.lock.clone())
            .unwrap_or_default();
        inner.docs.insert(
            id,
            Entry {
                manifest: Arc::new(manifest),
                lock,
            },
        );
    }

    /// Resolves a document id or an archive number.
    pub fn resolve(&self, key: &str) -> Option<Entry> {
        let inner = self.inner.read().expect("catalog lock");
        let id = match DocumentId::parse(key) {
            Some(id) => id,
            None => *inner.by_archive_no.get(key)?,
        };
        inner.docs.get(&id).cloned()
    }

    pub fn is_damaged(&self, key: &str) -> bool {
        DocumentId::parse(key).is_some_and(|id| {
            self.inner
                .read()
                .expect("catalog lock")
                .damaged
                .contains(&id)
        })
    }

    /// Every document's manifest.
    pub fn all(&self) -> Vec<Arc<Manifest>> {
        self.inner
            .read()
            .expect("catalog lock")
            .docs
            .values()
            .map(|e| e.manifest.clone())
            .collect()
    }

    pub fn by_vin(&self, vin: &str) -> Vec<Arc<Manifest>> {
        let inner = self.inner.read().expect("catalog lock");
        inner
            .by_vin
            .get(vin)
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| inner.docs.get(id))
                    .map(|e| e.manifest.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Hands out the next archive number of a series: a number handed back by a
    /// failed filing first, so that the register has no gaps.
    pub fn allocate(&self, series: Series) -> ArchiveNo {
        let mut inner = self.inner.write().expect("catalog lock");
        let reused = inner
            .returned
            .get_mut(&series)
            .and_then(|set| set.pop_first());
        let seq = reused.unwrap_or_else(|| {
            let counter = inner.counters.entry(series.clone()).or_insert(0);
            *counter += 1;
            *counter
        });
        let (branch, category, year) = series;
        ArchiveNo {
            branch,
            category,
            year,
            seq,
        }
    }

    /// Marks an archive number as used for good (a disposed document's).
    pub fn reserve(&self, archive_no: &ArchiveNo) {
        let mut inner = self.inner.write().expect("catalog lock");
        let counter = inner.counters.entry(archive_no.series()).or_insert(0);
        *counter = (*counter).max(archive_no.seq);
    }

    /// Removes a disposed document; its number stays reserved.
    pub fn remove(&self, id: DocumentId) {
        let mut inner = self.inner.write().expect("catalog lock");
        if let Some(entry) = inner.docs.remove(&id) {
            let m = entry.manifest;
            inner.by_archive_no.remove(&m.archive_no.to_string());
            if let Some(vin) = m.vin()
                && let Some(set) = inner.by_vin.get_mut(vin)
            {
                set.remove(&id);
            }
        }
    }

    /// Gives back a number whose filing failed before anyone saw it.
    pub fn release(&self, archive_no: &ArchiveNo) {
        let mut inner = self.inner.write().expect("catalog lock");
        inner
            .returned
            .entry(archive_no.series())
            .or_default()
            .insert(archive_no.seq);
    }

    /// Counts per series, for diagnostics and tests.
    pub fn counters(&self) -> BTreeMap<String, u64> {
        let inner = self.inner.read().expect("catalog lock");
        inner
            .counters
            .iter()
            .map(|((b, c, y), n)| (format!("{b}-{c}-{y}"), *n))
            .collect()
    }
}
