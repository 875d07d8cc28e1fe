//! The catalog of filed documents, rebuilt from the object store's manifests at
//! start. Derived data: the store is the system of record.
//!
//! It resolves archive numbers and VINs to documents, keeps the archive-number
//! counters, and hands out one lock per document so that concurrent changes to the
//! same document are applied one after the other. Memory stays small as the
//! archive grows: per document it keeps only the id, archive number, VIN,
//! revision and lock; whole manifests are read from the store on demand and kept
//! in a bounded cache of the most recently used ones.

mod changes;
mod leftovers;
mod maps;
pub mod snapshot;

use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, RwLock};

use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path;

use crate::domain::ids::Series;
use crate::domain::{ArchiveNo, DocumentId};
use crate::error::{Error, Result};
use crate::storage::BlobStore;
use crate::storage::envelope::Keyring;
use crate::storage::manifest::{Manifest, Tombstone, manifest_path, tombstone_path};
pub use leftovers::Writing;
use maps::{Facts, Inner};
use snapshot::Changes;

/// A filing's hold on a source key (see [`Catalog::claim_source`]).
pub struct SourceClaim {
    catalog: Arc<Catalog>,
    key: [u8; 32],
}

impl Drop for SourceClaim {
    fn drop(&mut self) {
        self.catalog
            .sources_filing
            .lock()
            .expect("source claims")
            .remove(&self.key);
    }
}

/// Manifests kept in memory (the most recently used; a few KB each).
pub const MANIFEST_CACHE: usize = 1024;

#[derive(Clone)]
pub struct Entry {
    pub manifest: Arc<Manifest>,
    pub lock: Arc<tokio::sync::Mutex<()>>,
}

/// Document locks: a fixed set of stripes, a document's chosen by its id. Two
/// documents may share one, which only orders their changes; no code holds two
/// documents' locks at once. (A lock per document cost ~50 bytes each.)
const LOCK_STRIPES: usize = 4096;

pub struct Catalog {
    inner: RwLock<Inner>,
    locks: Box<[Arc<tokio::sync::Mutex<()>>]>,
    /// Changes under way, for a consistent snapshot (see [`snapshot`]).
    changes: Changes,
    /// Where snapshots of this catalog are kept, and the identity of the store
    /// they describe (none in memory-only use).
    snapshot_path: Option<(std::path::PathBuf, String)>,
    cache: Mutex<lru::LruCache<DocumentId, Arc<Manifest>>>,
    blob: BlobStore,
    keyring: Arc<Keyring>,
    /// Documents with a write under way (see [`Self::writing`]).
    pending: Mutex<HashMap<DocumentId, usize>>,
    /// Content objects no manifest refers to, found at load (see [`Self::take_leftovers`]).
    leftovers: Mutex<Vec<Path>>,
    /// Source keys of filings under way (see [`Self::claim_source`]).
    sources_filing: Mutex<std::collections::HashSet<[u8; 32]>>,
}

impl Catalog {
    /// Reads every manifest in the store. A manifest that fails its integrity
    /// check is logged and remembered as damaged (reads of it answer with an
    /// integrity error); the rest of the archive stays available.
    pub async fn load(blob: &BlobStore, keyring: &Arc<Keyring>) -> Result<Self> {
        let catalog = Catalog::empty(blob, keyring);
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
        let mut opened = futures_util::stream::iter(ids)
            .map(|id| async move {
                let bytes = blob
                    .get(&manifest_path(id))
                    .await?
                    .ok_or_else(|| Error::not_found("manifest"))?;
                Ok::<_, Error>((id, Manifest::open(id, &bytes, keyring)))
            })
            .buffer_unordered(16);
        while let Some((id, manifest)) = opened.try_next().await? {
            match manifest {
                Ok(m) => catalog.index(&m),
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

    fn empty(blob: &BlobStore, keyring: &Arc<Keyring>) -> Self {
        Catalog {
            inner: RwLock::default(),
            locks: (0..LOCK_STRIPES).map(|_| Arc::default()).collect(),
            changes: Changes::default(),
            snapshot_path: None,
            cache: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(MANIFEST_CACHE).expect("non-zero"),
            )),
            blob: blob.clone(),
            keyring: keyring.clone(),
            leftovers: Mutex::default(),
            pending: Mutex::default(),
            sources_filing: Mutex::default(),
        }
    }

    /// Brings one document up to date with the store: its manifest as stored
    /// now, or, when there is none, its removal (and its number's reservation
    /// if a tombstone says it was disposed).
    pub async fn refresh(&self, id: DocumentId) -> Result<()> {
        self.cache.lock().expect("manifest cache").pop(&id);
        match self.blob.get(&manifest_path(id)).await? {
            Some(bytes) => match Manifest::open(id, &bytes, &self.keyring) {
                Ok(m) => {
                    self.inner
                        .write()
                        .expect("catalog lock")
                        .damaged
                        .remove(&id);
                    self.index(&m);
                }
                Err(e) => {
                    tracing::error!(document = %id, error = ?e, "manifest failed its integrity check");
                    self.remove(id);
                    self.inner.write().expect("catalog lock").damaged.insert(id);
                }
            },
            None => {
                if let Some(bytes) = self.blob.get(&tombstone_path(id)).await? {
                    let t = Tombstone::open(id, &bytes, &self.keyring)?;
                    self.reserve(&t.archive_no);
                }
                self.remove(id);
            }
        }
        Ok(())
    }

    /// Keeps snapshots at `path`, of the store `store_id`, from now on.
    pub fn keep_snapshots_at(&mut self, path: std::path::PathBuf, store_id: String) {
        self.snapshot_path = Some((path, store_id));
    }

    /// Changes under way: a change to a document begins here before its log
    /// record is written and is done once the catalog shows it.
    pub fn changes(&self) -> &Changes {
        &self.changes
    }

    pub fn len(&self) -> usize {
        self.inner.read().expect("catalog lock").docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds or replaces a document's manifest (after it was written to the store).
    pub fn insert(&self, manifest: Manifest) {
        self.index(&manifest);
        let manifest = Arc::new(manifest);
        self.cache
            .lock()
            .expect("manifest cache")
            .put(manifest.id, manifest);
    }

    /// Records what the catalog keeps of `m` (not the manifest itself).
    fn index(&self, m: &Manifest) {
        let mut inner = self.inner.write().expect("catalog lock");
        let id = m.id;
        let series = m.archive_no.series();
        let seq = m.archive_no.seq;
        let counter = inner.counters.entry(series.clone()).or_insert(0);
        *counter = (*counter).max(seq);
        if let Some(set) = inner.returned.get_mut(&series) {
            set.remove(&seq);
        }
        inner.put(
            id,
            &m.archive_no.to_string(),
            m.vin(),
            Facts {
                revision: m.revision,
                retention_until: m.retention_until,
                held: m.legal_hold.is_some(),
                latest_version: m.latest().version,
                source: m.source.as_ref().map(|s| s.key()),
                ocr_pending: m.text.as_ref().is_some_and(|t| t.is_pending_ocr()),
            },
        );
    }

    /// The imported document filed from source key `key`, if any.
    pub fn by_source(&self, key: &[u8; 32]) -> Option<DocumentId> {
        self.inner
            .read()
            .expect("catalog lock")
            .by_source
            .get(key)
            .copied()
    }

    /// Claims source key `key` for a filing under way; `None` while another
    /// filing holds it. The claim ends when the guard is dropped.
    pub fn claim_source(self: &Arc<Self>, key: [u8; 32]) -> Option<SourceClaim> {
        let mut claimed = self.sources_filing.lock().expect("source claims");
        claimed.insert(key).then(|| SourceClaim {
            catalog: self.clone(),
            key,
        })
    }

    /// The documents whose latest version waits for OCR.
    pub fn ocr_pending(&self) -> Vec<DocumentId> {
        self.inner
            .read()
            .expect("catalog lock")
            .docs
            .iter()
            .filter(|(_, d)| d.ocr_pending)
            .map(|(id, _)| *id)
            .collect()
    }

    /// The manifest of a catalogued document: from the cache, or read from the
    /// store (`None` if it is gone from the store meanwhile, e.g. disposed).
    async fn manifest(&self, id: DocumentId) -> Result<Option<Arc<Manifest>>> {
        if let Some(m) = self.cache.lock().expect("manifest cache").get(&id) {
            return Ok(Some(m.clone()));
        }
        let Some(bytes) = self.blob.get(&manifest_path(id)).await? else {
            return Ok(None);
        };
        let loaded = Arc::new(Manifest::open(id, &bytes, &self.keyring)?);
        let mut cache = self.cache.lock().expect("manifest cache");
        // A change written meanwhile put a newer revision here: keep that one.
        match cache.get(&id) {
            Some(newer) if newer.revision >= loaded.revision => Ok(Some(newer.clone())),
            _ => {
                cache.put(id, loaded.clone());
                Ok(Some(loaded))
            }
        }
    }

    fn id_of(&self, key: &str) -> Option<(DocumentId, Arc<tokio::sync::Mutex<()>>)> {
        let inner = self.inner.read().expect("catalog lock");
        let id = match DocumentId::parse(key) {
            Some(id) => id,
            None => *inner.by_archive_no.get(key)?,
        };
        inner.docs.contains_key(&id).then(|| (id, self.lock_of(id)))
    }

    /// The lock a change to document `id` holds.
    fn lock_of(&self, id: DocumentId) -> Arc<tokio::sync::Mutex<()>> {
        use std::hash::{Hash, Hasher};
        // DefaultHasher::new() has fixed keys: the same id, the same stripe.
        let mut h = std::hash::DefaultHasher::new();
        id.hash(&mut h);
        let stripe = h.finish() as usize % LOCK_STRIPES;
        self.locks[stripe].clone()
    }

    /// Resolves a document id or an archive number.
    pub async fn resolve(&self, key: &str) -> Result<Option<Entry>> {
        let Some((id, lock)) = self.id_of(key) else {
            return Ok(None);
        };
        Ok(self
            .manifest(id)
            .await?
            .map(|manifest| Entry { manifest, lock }))
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

    /// Every document's id and manifest revision.
    pub fn revisions(&self) -> Vec<(DocumentId, u64)> {
        self.inner
            .read()
            .expect("catalog lock")
            .docs
            .iter()
            .map(|(id, d)| (*id, d.revision))
            .collect()
    }

    /// Documents whose retention ended before `today` and that are not on hold.
    pub fn retention_ended(&self, today: chrono::NaiveDate) -> Vec<DocumentId> {
        self.inner
            .read()
            .expect("catalog lock")
            .docs
            .iter()
            .filter(|(_, d)| d.retention_until < today && !d.held)
            .map(|(id, _)| *id)
            .collect()
    }

    /// The documents on legal hold.
    pub fn held(&self) -> Vec<DocumentId> {
        self.inner
            .read()
            .expect("catalog lock")
            .docs
            .iter()
            .filter(|(_, d)| d.held)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Every document's id.
    pub fn ids(&self) -> Vec<DocumentId> {
        self.revisions().into_iter().map(|(id, _)| id).collect()
    }

    /// A document's manifest by id (`None` if it is not, or no longer, filed).
    pub async fn get(&self, id: DocumentId) -> Result<Option<Arc<Manifest>>> {
        if !self
            .inner
            .read()
            .expect("catalog lock")
            .docs
            .contains_key(&id)
        {
            return Ok(None);
        }
        self.manifest(id).await
    }

    /// The documents of a vehicle, by id.
    pub fn ids_by_vin(&self, vin: &str) -> Vec<DocumentId> {
        let inner = self.inner.read().expect("catalog lock");
        inner.by_vin.get(vin).cloned().unwrap_or_default()
    }

    /// The manifests of a vehicle's documents.
    pub async fn by_vin(&self, vin: &str) -> Result<Vec<Arc<Manifest>>> {
        let mut out = vec![];
        for id in self.ids_by_vin(vin) {
            out.extend(self.get(id).await?);
        }
        Ok(out)
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
        let reserved = inner.reserved.entry(archive_no.series()).or_insert(0);
        *reserved = (*reserved).max(archive_no.seq);
        let counter = inner.counters.entry(archive_no.series()).or_insert(0);
        *counter = (*counter).max(archive_no.seq);
    }

    /// Removes a disposed document; its number stays reserved.
    pub fn remove(&self, id: DocumentId) {
        let mut inner = self.inner.write().expect("catalog lock");
        if let Some(d) = inner.take(id)
            && let Ok(no) = ArchiveNo::parse(&d.archive_no)
        {
            let reserved = inner.reserved.entry(no.series()).or_insert(0);
            *reserved = (*reserved).max(no.seq);
        }
        self.cache.lock().expect("manifest cache").pop(&id);
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
