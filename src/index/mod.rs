//! The search index: derived data, rebuilt from the object store whenever it is
//! missing, behind, or built by another analyzer version.
//!
//! One writer thread owns the tantivy `IndexWriter`; filings send it documents
//! and it commits in batches (at most every [`COMMIT_INTERVAL`]), so a filed
//! document is searchable within a second and concurrent filings never contend
//! for the index lock. Readers reload after each commit.

pub mod analysis;
mod document;
mod facets;
mod purge;
mod query;
mod schema;
mod snippet;
mod writer;

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tantivy::collector::{Count, TopDocs};
use tantivy::schema::Value;
use tantivy::{Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument};
use tokio::sync::oneshot;

pub use document::pii_key;
pub use query::{SearchHit, SearchRequest, SearchResults, Sort, Visibility, vin_key};
use schema::Fields;
use writer::{Op, run_writer};

use crate::domain::DocumentId;
use crate::error::{Error, Result};
use crate::storage::manifest::Manifest;

/// Longest time between a filing and its commit.
pub const COMMIT_INTERVAL: Duration = Duration::from_millis(250);
const VERSION_FILE: &str = "dangan-analyzer-version";
/// Changes the writer takes from its queue before it checks whether a commit is due.
const DRAIN_AT_ONCE: usize = 1024;
const DOCSTORE_BLOCK_BYTES: usize = 4096;

/// What the index holds, from [`SearchIndex::indexed`].
#[derive(Debug, Default)]
pub struct Indexed {
    /// Each document's id and the revision it was indexed at, sorted by id.
    pub docs: Vec<(DocumentId, u64)>,
    /// Index entries whose id names no document (to be removed).
    pub strays: Vec<String>,
}

pub struct SearchIndex {
    reader: IndexReader,
    fields: Fields,
    ops: Option<mpsc::Sender<Op>>,
    writer_thread: Option<std::thread::JoinHandle<()>>,
    pii_key: [u8; 32],
    /// Whose calendar days the date fields hold (spec §2).
    calendar: crate::domain::calendar::Calendar,
}

impl Drop for SearchIndex {
    /// Commits what is pending and waits for the writer to let go of the index
    /// lock, so the same directory can be opened again at once.
    fn drop(&mut self) {
        self.ops.take();
        if let Some(t) = self.writer_thread.take() {
            let _ = t.join();
        }
    }
}

fn index_error(e: impl std::fmt::Display) -> Error {
    Error::internal(format!("search index: {e}"))
}

impl SearchIndex {
    /// Opens the index in `dir`, starting afresh when it was built by another
    /// analyzer version. `pii_key` keys the hashes of phone and ID numbers.
    pub fn open(
        dir: &Path,
        pii_key: [u8; 32],
        heap_bytes: usize,
    ) -> std::result::Result<Self, String> {
        Self::open_in(dir, pii_key, heap_bytes, Default::default())
    }

    /// [`SearchIndex::open`] with the archive's calendar: documents' days are
    /// days in its zone, and a change of zone rebuilds the index.
    pub fn open_in(
        dir: &Path,
        pii_key: [u8; 32],
        heap_bytes: usize,
        calendar: crate::domain::calendar::Calendar,
    ) -> std::result::Result<Self, String> {
        let version_file = dir.join(VERSION_FILE);
        // The analyzer version and a fingerprint of the key of the PII hashes: a
        // change of either (a new analyzer, a rotated master key) means a rebuild.
        let fingerprint = &hex::encode(sha2::Digest::finalize(sha2::Digest::chain_update(
            sha2::Sha256::default(),
            pii_key,
        )))[..16];
        let expected = format!(
            "{} {fingerprint} {}",
            analysis::ANALYZER_VERSION,
            calendar.name()
        );
        let current = std::fs::read_to_string(&version_file).ok();
        if dir.exists() && current.as_deref().map(str::trim) != Some(expected.as_str()) {
            tracing::warn!(dir = %dir.display(), "search index built by another analyzer or key: rebuilding");
            clear(dir).map_err(|e| format!("cannot clear {}: {e}", dir.display()))?;
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let (schema, fields) = schema::build();
        let directory = tantivy::directory::MmapDirectory::open(dir)
            .map_err(|e| format!("search index {}: {e}", dir.display()))?;
        // Small doc-store blocks: a hit's stored fields are read by decompressing
        // its whole block, and hits are scattered, so 4 KiB (a few documents)
        // instead of 16 KiB quarters the work per fetched hit.
        let settings = tantivy::IndexSettings {
            docstore_blocksize: DOCSTORE_BLOCK_BYTES,
            ..Default::default()
        };
        let index = Index::builder()
            .schema(schema)
            .settings(settings)
            .open_or_create(directory)
            .map_err(|e| format!("search index {}: {e}", dir.display()))?;
        index
            .tokenizers()
            .register(analysis::CHARS, analysis::CharTokenizer);
        index
            .tokenizers()
            .register(analysis::WORDS, analysis::JiebaTokenizer);
        index
            .tokenizers()
            .register(analysis::BIGRAMS, analysis::BigramTokenizer);
        std::fs::write(&version_file, &expected).map_err(|e| format!("search index: {e}"))?;
        let writer = open_writer(&index, heap_bytes.max(15_000_000))?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e| format!("search index reader: {e}"))?;
        let (ops, rx) = mpsc::channel();
        let (w_reader, w_fields) = (reader.clone(), fields.clone());
        let writer_thread = std::thread::Builder::new()
            .name("index-writer".into())
            .spawn(move || run_writer(writer, w_reader, w_fields, rx))
            .map_err(|e| format!("cannot start the index writer: {e}"))?;
        analysis::jieba();
        Ok(SearchIndex {
            reader,
            fields,
            ops: Some(ops),
            writer_thread: Some(writer_thread),
            pii_key,
            calendar,
        })
    }

    fn send(&self, op: Op) {
        if let Some(ops) = &self.ops {
            let _ = ops.send(op);
        }
    }

    pub fn pii_key(&self) -> &[u8; 32] {
        &self.pii_key
    }

    /// Adds or replaces a document; visible to searches after the next commit.
    pub fn upsert(&self, manifest: &Manifest, text: &str) {
        let doc = document::build(&self.fields, &self.pii_key, &self.calendar, manifest, text);
        self.send(Op::Upsert(Box::new(doc), manifest.id.to_string()));
    }

    /// Empties the index (before a rebuild).
    pub fn clear(&self) {
        self.send(Op::DeleteAll);
    }

    pub fn delete(&self, id: &str) {
        self.send(Op::Delete(id.to_string()));
    }

    /// Deletes `ids` and waits until no file of the index holds them any more:
    /// committed, their segments merged, the old files removed (spec §6).
    pub async fn purge(&self, ids: &[String]) -> std::result::Result<usize, String> {
        for id in ids {
            self.delete(id);
        }
        let (tx, rx) = oneshot::channel();
        let sent = self
            .ops
            .as_ref()
            .is_some_and(|ops| ops.send(Op::Purge(tx)).is_ok());
        if !sent {
            return Err("the index writer has stopped".into());
        }
        rx.await
            .unwrap_or_else(|_| Err("the index writer has stopped".into()))
    }

    /// Resolves once the writer has taken every change sent before (without
    /// committing): lets a bulk producer keep the queue, and memory, bounded.
    pub fn taken(&self) -> impl std::future::Future<Output = ()> + use<> {
        let (tx, rx) = oneshot::channel();
        let sent = self
            .ops
            .as_ref()
            .is_some_and(|ops| ops.send(Op::Taken(tx)).is_ok());
        async move {
            if sent {
                let _ = rx.await;
            }
        }
    }

    /// Commits what is pending and waits until searches see it.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self
            .ops
            .as_ref()
            .is_some_and(|ops| ops.send(Op::Flush(tx)).is_ok())
        {
            let _ = rx.await;
        }
    }

    /// Each indexed document's id and revision, sorted by id, read from the
    /// fast columns (no stored document is decompressed).
    pub fn indexed(&self) -> Result<Indexed> {
        let searcher = self.reader.searcher();
        let mut docs = Vec::with_capacity(searcher.num_docs() as usize);
        let mut strays = vec![];
        for segment in searcher.segment_readers() {
            let ff = segment.fast_fields();
            let ids = ff
                .str("id")
                .map_err(index_error)?
                .ok_or_else(|| index_error("the id column is missing"))?;
            let revisions = ff.u64("revision").map_err(index_error)?;
            // The ids in ordinal order, in one pass over the dictionary: looking
            // each up by ordinal decompresses a dictionary block per document.
            let mut by_ord: Vec<Option<DocumentId>> = Vec::with_capacity(ids.num_terms());
            let mut terms = ids.dictionary().stream().map_err(index_error)?;
            while terms.advance() {
                let id = std::str::from_utf8(terms.key())
                    .ok()
                    .and_then(DocumentId::parse);
                if id.is_none() {
                    strays.push(String::from_utf8_lossy(terms.key()).into_owned());
                }
                by_ord.push(id);
            }
            for doc in segment.doc_ids_alive() {
                if let Some(Some(id)) = ids.ords().first(doc).and_then(|o| by_ord.get(o as usize)) {
                    docs.push((*id, revisions.first(doc).unwrap_or(0)));
                }
            }
        }
        docs.sort_unstable_by_key(|(id, _)| *id);
        Ok(Indexed { docs, strays })
    }

    /// Segments a search currently visits (each adds a fixed cost to a query).
    pub fn segments(&self) -> usize {
        self.reader.searcher().segment_readers().len()
    }

    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Runs a search as seen by a caller with `visibility`.
    pub fn search(
        &self,
        request: &SearchRequest,
        visibility: &Visibility,
    ) -> Result<SearchResults> {
        let searcher = self.reader.searcher();
        let built = query::build(&self.fields, &self.pii_key, request, visibility)?;
        let offset = (request.page.saturating_sub(1) * request.per_page) as usize;
        let limit = request.per_page as usize;
        let facets = facets::FacetCounter;
        let top = TopDocs::with_limit(limit).and_offset(offset);
        let (total, facets, addresses): (usize, _, Vec<(f32, tantivy::DocAddress)>) =
            match request.sort {
                Sort::Relevance => {
                    let (total, facets, hits) = searcher
                        .search(&built, &(Count, facets, top.order_by_score()))
                        .map_err(index_error)?;
                    (total, facets, hits)
                }
                Sort::Date => {
                    let (total, facets, hits) = searcher
                        .search(
                            &built,
                            &(Count, facets, top.order_by_u64_field("day", Order::Desc)),
                        )
                        .map_err(index_error)?;
                    (
                        total,
                        facets,
                        hits.into_iter().map(|(_, a)| (0.0, a)).collect(),
                    )
                }
            };
        let highlighter = match &request.q {
            Some(q) if visibility.content => Some(snippet::Highlighter::new(q)),
            _ => None,
        };
        let mut hits = Vec::with_capacity(addresses.len());
        for (score, address) in addresses {
            let doc: TantivyDocument = searcher.doc(address).map_err(index_error)?;
            let text = |f| {
                doc.get_first(f)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            let opt = |f| {
                doc.get_first(f)
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            };
            let snippet = highlighter
                .as_ref()
                .map(|h| {
                    h.snippet(
                        doc.get_first(self.fields.body_chars)
                            .and_then(|v| v.as_str())
                            .unwrap_or_default(),
                    )
                })
                .unwrap_or_default();
            hits.push(SearchHit {
                id: text(self.fields.id),
                archive_no: text(self.fields.archive_no),
                title: text(self.fields.title),
                category: text(self.fields.category),
                branch: text(self.fields.branch),
                service_date: text(self.fields.service_date),
                vin: opt(self.fields.vin),
                plate: opt(self.fields.plate),
                snippet,
                score,
            });
        }
        Ok(SearchResults {
            total: total as u64,
            hits,
            facets,
        })
    }
}

/// Takes the index's writer lock, waiting up to 10 s for a previous owner (a
/// process or server instance still shutting down) to let go of it.
fn open_writer(index: &Index, heap_bytes: usize) -> std::result::Result<IndexWriter, String> {
    let started = Instant::now();
    loop {
        match index.writer_with_num_threads(1, heap_bytes) {
            Ok(w) => return Ok(w),
            Err(tantivy::TantivyError::LockFailure(..))
                if started.elapsed() < Duration::from_secs(10) =>
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => return Err(format!("search index writer: {e}")),
        }
    }
}

/// Empties `dir` but keeps it: it may be a mount point of its own (the index
/// on a disk of its own), which cannot be removed.
fn clear(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}
