//! Snapshots of the catalog in the data directory, so that start-up does not
//! read and decrypt every manifest in the store.
//!
//! A snapshot holds what the catalog keeps of each document, the archive
//! numbers disposals reserved, and the retrieval log's head when it was taken
//! (its *mark*). Every change to a document writes its durable log record
//! before it touches the store, so the documents named by change records after
//! the mark are exactly the ones the snapshot may be behind on: start-up reads
//! those manifests again and nothing else. A change under way when a snapshot
//! is taken holds the mark back to the log head it started at ([`Changes`]),
//! and a change that ended without reaching the catalog (an error, a dropped
//! request) holds it back for the rest of the process, since its write may
//! still have reached the store.
//!
//! Snapshots are written every 5 minutes while documents change, at a
//! graceful stop (followed by a clean-stop marker, `catalog.clean`), and
//! right after a start that read the whole store; never on the start path.
//!
//! The file is sealed with the master key (it holds VINs) and replaced
//! atomically. Anything wrong with it — missing, another store's, another
//! log's, unreadable — means a full load from the store, which stays the
//! system of record; `dangan reindex` removes it first.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use super::changes::{Change, Changes};
use super::maps::Fast;
use super::{Catalog, Facts};
use crate::archive::change::ChangeKind;
use crate::audit::{AuditLog, Head};
use crate::domain::{ArchiveNo, DocumentId};
use crate::error::{Error, Result};
use crate::storage::BlobStore;
use crate::storage::envelope::Keyring;

/// Bumped when the file's layout changes; another version means a full load.
const FORMAT: u32 = 4;
/// What the sealed file is bound to.
const CONTEXT: &str = "dangan/catalog-snapshot/v1";

/// What the catalog keeps of one document. Strings borrow from the decoded
/// file: a million of them are read at each start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageDoc<'a> {
    pub id: DocumentId,
    #[serde(borrow)]
    pub archive_no: Cow<'a, str>,
    /// Empty when the document names no vehicle.
    #[serde(borrow)]
    pub vin: Cow<'a, str>,
    pub revision: u64,
    pub retention_until: chrono::NaiveDate,
    pub held: bool,
    pub latest_version: u32,
    /// An imported document's source key.
    pub source: Option<[u8; 32]>,
    pub ocr_pending: bool,
}

/// The catalog's state, as a snapshot keeps it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Image<'a> {
    #[serde(borrow)]
    pub docs: Vec<ImageDoc<'a>>,
    /// The highest archive number a disposal reserved, per series.
    pub reserved: Vec<String>,
    /// Documents whose manifest failed its integrity check.
    pub damaged: Vec<DocumentId>,
}

/// The snapshot file.
#[derive(Serialize, Deserialize)]
pub struct Snapshot<'a> {
    format: u32,
    /// The identity of the object store it describes (from its key check object).
    store: String,
    /// The retrieval log's head the snapshot is current up to.
    pub mark: Head,
    pub taken_at: chrono::DateTime<chrono::Utc>,
    #[serde(borrow)]
    pub image: Image<'a>,
}

impl Catalog {
    /// A catalog from an [`Image`] (no manifest is read). Documents changed
    /// since the image was taken are brought up to date with [`Catalog::refresh`].
    pub fn from_image(image: Image<'_>, blob: &BlobStore, keyring: &Arc<Keyring>) -> Result<Self> {
        let catalog = Catalog::empty(blob, keyring);
        {
            let mut guard = catalog.inner.write().expect("catalog lock");
            let inner = &mut *guard;
            // The next number of each series follows the highest one in use or
            // reserved; each series' highest is parsed once, not each number.
            let mut highest: HashMap<&str, (u64, &str), Fast> = HashMap::default();
            let numbers = (image.reserved.iter().map(String::as_str))
                .chain(image.docs.iter().map(|d| d.archive_no.as_ref()));
            for raw in numbers {
                let (series, seq) = raw
                    .rsplit_once('-')
                    .and_then(|(series, n)| Some((series, n.parse::<u64>().ok()?)))
                    .ok_or_else(|| Error::internal(format!("snapshot: archive number `{raw}`")))?;
                let top = highest.entry(series).or_insert((seq, raw));
                if seq > top.0 {
                    *top = (seq, raw);
                }
            }
            for (_, raw) in highest.into_values() {
                let no = ArchiveNo::parse(raw).map_err(Error::internal)?;
                let counter = inner.counters.entry(no.series()).or_insert(0);
                *counter = (*counter).max(no.seq);
            }
            for raw in &image.reserved {
                let no = ArchiveNo::parse(raw).map_err(Error::internal)?;
                inner.reserved.insert(no.series(), no.seq);
            }
            inner.docs.reserve(image.docs.len());
            inner.by_archive_no.reserve(image.docs.len());
            for d in &image.docs {
                inner.put(
                    d.id,
                    &d.archive_no,
                    Some(d.vin.as_ref()).filter(|v| !v.is_empty()),
                    Facts {
                        revision: d.revision,
                        retention_until: d.retention_until,
                        held: d.held,
                        latest_version: d.latest_version,
                        source: d.source,
                        ocr_pending: d.ocr_pending,
                    },
                );
            }
            inner.damaged = image.damaged.into_iter().collect();
        }
        Ok(catalog)
    }

    /// What a snapshot keeps of the catalog.
    pub fn image(&self) -> Image<'static> {
        let inner = self.inner.read().expect("catalog lock");
        let mut docs: Vec<ImageDoc> = inner
            .docs
            .iter()
            .map(|(id, d)| ImageDoc {
                id: *id,
                archive_no: Cow::Owned(d.archive_no.to_string()),
                vin: Cow::Owned(d.vin.as_deref().unwrap_or_default().to_string()),
                revision: d.revision,
                retention_until: d.retention_until,
                held: d.held,
                latest_version: d.latest_version,
                source: d.source.as_deref().copied(),
                ocr_pending: d.ocr_pending,
            })
            .collect();
        docs.sort_by_key(|d| d.id);
        let mut reserved: Vec<String> = inner
            .reserved
            .iter()
            .map(|((branch, category, year), seq)| {
                ArchiveNo {
                    branch: branch.clone(),
                    category: category.clone(),
                    year: *year,
                    seq: *seq,
                }
                .to_string()
            })
            .collect();
        reserved.sort();
        Image {
            docs,
            reserved,
            damaged: inner.damaged.iter().copied().collect(),
        }
    }

    /// Writes a snapshot of the catalog as it is now (nothing if the catalog
    /// keeps none). `stopping`: the server has stopped taking requests, so the
    /// snapshot is clean if no change is unfinished either.
    pub async fn save_snapshot(&self, log: &AuditLog, stopping: bool) -> Result<()> {
        let Some((path, store)) = self.snapshot_path.clone() else {
            return Ok(());
        };
        let (mark, settled) = self.changes.mark(log);
        let snapshot = Snapshot {
            format: FORMAT,
            store,
            mark,
            taken_at: chrono::Utc::now(),
            image: self.image(),
        };
        let keyring = self.keyring.clone();
        let clean = stopping && settled;
        tokio::task::spawn_blocking(move || {
            write(&path, &keyring, &snapshot)?;
            if clean {
                // The stop was clean: no write can have been interrupted.
                write_marker(&marker_path(&path), &snapshot.mark)?;
            }
            Ok::<_, std::io::Error>(())
        })
        .await
        .map_err(|e| Error::internal(format!("catalog snapshot: {e}")))?
        .map_err(|e| Error::internal(format!("cannot write the catalog snapshot: {e}")))
    }
}

/// Reads and opens the sealed snapshot at `path`; says why not in the log
/// when there is one that cannot be opened. [`decode`] the result.
pub fn read(path: &Path, keyring: &Keyring) -> Option<Vec<u8>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!(error = %e, "catalog snapshot unreadable: loading from the store");
            return None;
        }
    };
    keyring
        .open_binary(CONTEXT, &bytes)
        .map_err(
            |e| tracing::warn!(error = %e, "catalog snapshot unreadable: loading from the store"),
        )
        .ok()
}

/// The snapshot in an opened file, if it is usable for `store`.
pub fn decode<'a>(plain: &'a [u8], store: &str) -> Option<Snapshot<'a>> {
    match postcard::from_bytes::<Snapshot>(plain) {
        Ok(s) if s.format == FORMAT && s.store == store => Some(s),
        Ok(_) => {
            tracing::warn!("catalog snapshot of another format or store: loading from the store");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "catalog snapshot undecodable: loading from the store");
            None
        }
    }
}

/// Removes the snapshot at `path` and its clean-stop marker (so the next
/// start loads from the store).
pub fn remove(path: &Path) -> std::io::Result<()> {
    remove_file(&marker_path(path))?;
    remove_file(path)
}

fn remove_file(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The clean-stop marker of the snapshot at `path`: written after the
/// snapshot of a graceful stop with no change unfinished, holding its mark;
/// removed at the next start before anything is served. Present and naming
/// the snapshot's mark, it says no write was interrupted since.
fn marker_path(path: &Path) -> std::path::PathBuf {
    path.with_extension("clean")
}

fn write_marker(path: &Path, mark: &Head) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    serde_json::to_writer(&mut tmp, mark)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    std::fs::File::open(dir)?.sync_all()
}

/// Whether the marker names `mark`; then removes it (durably) in any case.
fn take_marker(path: &Path, mark: &Head) -> std::io::Result<bool> {
    let clean = std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Head>(&b).ok())
        .is_some_and(|m| m == *mark);
    remove_file(path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::File::open(dir)?.sync_all()?;
    Ok(clean)
}

/// Seals and writes atomically: a temporary file, synced, renamed over the old
/// one, the directory synced.
fn write(path: &Path, keyring: &Keyring, snapshot: &Snapshot) -> std::io::Result<()> {
    let plain = postcard::to_stdvec(snapshot).map_err(std::io::Error::other)?;
    let sealed = keyring.seal_binary(CONTEXT, &plain);
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(&sealed)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    std::fs::File::open(dir)?.sync_all()
}

/// How the catalog was loaded at start.
#[derive(Debug, Clone, Copy)]
pub struct LoadReport {
    /// From a snapshot (else from every manifest in the store).
    pub from_snapshot: bool,
    /// Manifests read from the store while loading.
    pub manifests_read: usize,
    /// From a snapshot taken at a graceful stop with no change unfinished:
    /// no interrupted write can have left anything behind since. From a
    /// snapshot otherwise, [`Catalog::sweep_leftovers`] should run.
    pub after_clean_stop: bool,
}

/// Opens the retrieval log and the catalog together: from the snapshot at
/// `snapshot_path` and the log's change records after its mark when both are
/// usable, else by reading every manifest in the store. From then on the
/// catalog keeps its snapshots at `snapshot_path`.
pub async fn open_with_log(
    snapshot_path: &Path,
    log_path: &Path,
    blob: &BlobStore,
    keyring: &Arc<Keyring>,
    store_id: &str,
    open_new_log_segment: bool,
    anchored_seq: Option<u64>,
) -> std::result::Result<(Catalog, AuditLog, LoadReport), String> {
    let started = std::time::Instant::now();
    let plain = read(snapshot_path, keyring);
    let snapshot = plain.as_deref().and_then(|p| decode(p, store_id));
    let (log, after_mark) = AuditLog::open_with(
        log_path,
        snapshot.as_ref().map(|s| &s.mark),
        open_new_log_segment,
        anchored_seq,
    )?;
    let failed = |e: Error| format!("cannot load the archive: {e}");
    let (mut catalog, report) = match (snapshot, after_mark) {
        (Some(snapshot), Some(after_mark)) => {
            let clean = take_marker(&marker_path(snapshot_path), &snapshot.mark)
                .map_err(|e| format!("catalog snapshot marker: {e}"))?;
            let catalog = Catalog::from_image(snapshot.image, blob, keyring).map_err(failed)?;
            let changed: std::collections::BTreeSet<DocumentId> = after_mark
                .iter()
                .filter(|t| ChangeKind::is_change(&t.action))
                .filter_map(|t| DocumentId::parse(&t.document))
                .collect();
            use futures_util::{StreamExt, TryStreamExt};
            futures_util::stream::iter(changed.iter().copied())
                .map(|id| catalog.refresh(id))
                .buffer_unordered(16)
                .try_collect::<Vec<()>>()
                .await
                .map_err(failed)?;
            let report = LoadReport {
                from_snapshot: true,
                manifests_read: changed.len(),
                after_clean_stop: clean,
            };
            (catalog, report)
        }
        _ => {
            let catalog = Catalog::load(blob, keyring).await.map_err(failed)?;
            let report = LoadReport {
                from_snapshot: false,
                manifests_read: catalog.len(),
                after_clean_stop: false,
            };
            (catalog, report)
        }
    };
    tracing::info!(
        documents = catalog.len(),
        from_snapshot = report.from_snapshot,
        manifests_read = report.manifests_read,
        after_clean_stop = report.after_clean_stop,
        ms = started.elapsed().as_millis() as u64,
        "archive loaded"
    );
    catalog.keep_snapshots_at(snapshot_path.to_path_buf(), store_id.to_string());
    Ok((catalog, log, report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Context, Outcome};

    async fn record(log: &AuditLog) -> u64 {
        let ctx = Context::anonymous("r".into(), "local".into());
        log.record(ctx.event("document.file", Outcome::Allowed))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_change_under_way_holds_the_mark_back_until_it_is_done() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(&dir.path().join("log")).unwrap();
        let changes = Changes::default();
        record(&log).await;
        assert_eq!(changes.mark(&log), (log.head(), true));

        let change = changes.begin(ChangeKind::File, &log);
        let started = log.head();
        record(&log).await;
        record(&log).await;
        assert_eq!(changes.mark(&log), (started.clone(), false));
        change.done();
        assert_eq!(changes.mark(&log), (log.head(), true));
    }

    #[tokio::test]
    async fn a_change_that_never_reached_the_catalog_holds_it_back_for_good() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(&dir.path().join("log")).unwrap();
        let changes = Changes::default();
        record(&log).await;
        let failed_at = log.head();
        drop(changes.begin(ChangeKind::Correct, &log)); // an error, or a dropped request
        let later = changes.begin(ChangeKind::File, &log);
        record(&log).await;
        later.done();
        record(&log).await;
        assert_eq!(changes.mark(&log), (failed_at, false));
        assert_eq!(changes.begun(), 2);
    }

    #[test]
    fn an_image_survives_the_file_format() {
        let keyring = Keyring::new(
            crate::storage::envelope::MasterKey::from_bytes(
                &crate::storage::envelope::random_bytes::<32>(),
            )
            .unwrap(),
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.snapshot");
        let doc = ImageDoc {
            id: DocumentId::new(),
            archive_no: "BJ01-WX-2026-000007".into(),
            vin: "LSVAU2180N2183294".into(),
            revision: 3,
            retention_until: chrono::NaiveDate::from_ymd_opt(2036, 5, 1).unwrap(),
            held: true,
            latest_version: 2,
            source: Some([7; 32]),
            ocr_pending: true,
        };
        let snapshot = Snapshot {
            format: FORMAT,
            store: "store-a".into(),
            mark: Head {
                seq: 9,
                hash: "ab".repeat(32),
                len: 4096,
            },
            taken_at: chrono::Utc::now(),
            image: Image {
                docs: vec![doc.clone()],
                reserved: vec!["SH01-BX-2020-000002".into()],
                damaged: vec![DocumentId::new()],
            },
        };
        write(&path, &keyring, &snapshot).unwrap();
        let raw = std::fs::read(&path).unwrap();
        assert!(
            !raw.windows(17).any(|w| w == b"LSVAU2180N2183294"),
            "sealed: no VIN in the file"
        );
        let plain = read(&path, &keyring).expect("readable");
        let back = decode(&plain, "store-a").expect("decodable");
        assert_eq!(back.image.docs, vec![doc]);
        assert_eq!(back.image.reserved, snapshot.image.reserved);
        assert_eq!(back.mark, snapshot.mark);
        assert!(
            !marker_path(&path).exists(),
            "a plain snapshot is no clean stop"
        );
        assert!(decode(&plain, "store-b").is_none(), "another store's");
        let other = Keyring::new(
            crate::storage::envelope::MasterKey::from_bytes(
                &crate::storage::envelope::random_bytes::<32>(),
            )
            .unwrap(),
        );
        assert!(read(&path, &other).is_none(), "another key's");
    }
}
