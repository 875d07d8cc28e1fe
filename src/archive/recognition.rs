//! OCR in the background (spec §10): scans filed with `text.pending: "ocr"`
//! are read after their 201, a few at a time, by the OCR children
//! (`extract::ocr`, the limits of `[ocr]`). The recognised text is content:
//! sealed in the store beside the version (`docs/<id>/text/<n>`), indexed,
//! snippeted and masked like extracted text. The outcome (engine, confidence,
//! lines, a VIN repaired by its check digit as a suggestion) is written to the
//! version through the one change writer, recorded as `document.ocr`.
//!
//! The queue is the catalog's list of documents still pending: a crash or a
//! restart loses nothing, the next start queues them again.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::sync::Notify;

use super::catalog::Catalog;
use super::change::{ChangeKind, ChangeWriter};
use super::content::Contents;
use crate::audit::{Context, Outcome};
use crate::clock::Clock;
use crate::domain::DocumentId;
use crate::error::Result;
use crate::extract::TextStatus;
use crate::extract::ocr::{ENGINE, find_vin};
use crate::extract::pool::ExtractPool;
use crate::storage::manifest::OcrOutcome;

/// Documents waiting for OCR, each once.
#[derive(Default)]
pub struct OcrQueue {
    waiting: Mutex<(VecDeque<DocumentId>, HashSet<DocumentId>)>,
    wake: Notify,
}

impl OcrQueue {
    /// Queues `id` (again, if it is not waiting already).
    pub fn push(&self, id: DocumentId) {
        let mut w = self.waiting.lock().expect("ocr queue");
        if w.1.insert(id) {
            w.0.push_back(id);
            self.wake.notify_one();
        }
    }

    /// How many documents wait.
    pub fn len(&self) -> usize {
        self.waiting.lock().expect("ocr queue").0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The next document, waiting for one.
    pub async fn pop(&self) -> DocumentId {
        loop {
            let notified = self.wake.notified();
            {
                let mut w = self.waiting.lock().expect("ocr queue");
                if let Some(id) = w.0.pop_front() {
                    w.1.remove(&id);
                    return id;
                }
            }
            notified.await;
        }
    }
}

/// The OCR of queued scans.
pub struct Recognition {
    pub(super) contents: Arc<Contents>,
    pub(super) changes: Arc<ChangeWriter>,
    pub(super) catalog: Arc<Catalog>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) queue: Arc<OcrQueue>,
    pub(super) ocr: Option<Arc<ExtractPool>>,
}

impl Recognition {
    /// Whether this server has an OCR engine.
    pub fn available(&self) -> bool {
        self.ocr.is_some()
    }

    /// Scans waiting.
    pub fn waiting(&self) -> usize {
        self.queue.len()
    }

    /// Queues every document the catalog says is pending (at start: what a
    /// crash or a stop left).
    pub fn queue_pending(&self) {
        if self.ocr.is_some() {
            for id in self.catalog.ocr_pending() {
                self.queue.push(id);
            }
        }
    }

    /// The queue, for the workers that take from it (`schedules`).
    pub fn queue(&self) -> Arc<OcrQueue> {
        self.queue.clone()
    }

    /// The work of reading one document's latest version, if it still
    /// waits for OCR: its bytes, read and verified. The OCR itself
    /// ([`Job::read`]) needs nothing of the server but its OCR children, so a
    /// stop does not wait for it.
    ///
    /// # Errors
    /// The store's: the document stays pending.
    pub async fn prepare(&self, id: DocumentId) -> Result<Option<Job>> {
        let Some(pool) = &self.ocr else {
            return Ok(None);
        };
        let Some(m) = self.catalog.get(id).await? else {
            return Ok(None); // disposed meanwhile
        };
        if !m.text.as_ref().is_some_and(TextStatus::is_pending_ocr) {
            return Ok(None);
        }
        let v = m.latest();
        let bytes = self.contents.read_verified(id, v).await?;
        let scan_type = crate::extract::inspect::sniff(&bytes).unwrap_or(v.content_type.clone());
        Ok(Some(Job {
            id,
            version: v.version,
            scan_type,
            bytes,
            pool: pool.clone(),
        }))
    }

    /// Writes what OCR read: the text sealed beside the version, the outcome
    /// in the manifest, the text in the index, the record `document.ocr`.
    /// Nothing is written if the document changed version or was disposed
    /// meanwhile.
    ///
    /// # Errors
    /// The store's or the log's: the document stays pending.
    pub async fn finish(&self, done: Read) -> Result<()> {
        let id = done.id;
        let Some(entry) = self.catalog.resolve(&id.to_string()).await? else {
            return Ok(());
        };
        let _guard = entry.lock.lock().await;
        let Some(m) = self.catalog.get(id).await? else {
            return Ok(());
        };
        let v = m.latest().version;
        if v != done.version || !m.text.as_ref().is_some_and(TextStatus::is_pending_ocr) {
            return Ok(());
        }
        let now = self.clock.now();
        let (text, status, outcome) = match done.result {
            Ok(read) => {
                if !read.text.is_empty() {
                    self.contents
                        .store_recognised_text(id, v, &read.text)
                        .await?;
                }
                let status = if read.text.trim().is_empty() {
                    TextStatus::not_indexed(
                        "OCR found no text on the scan; add a transcript to the metadata".into(),
                    )
                } else {
                    TextStatus::indexed()
                };
                let outcome = OcrOutcome {
                    engine: ENGINE.into(),
                    confidence: read.confidence.map(|c| (c * 1000.0).round() / 1000.0),
                    lines: read.lines,
                    pages: read.pages,
                    at: now,
                    error: None,
                    suggested_vin: find_vin(&read.text),
                };
                (read.text, status, outcome)
            }
            Err(reason) => {
                let outcome = OcrOutcome {
                    engine: ENGINE.into(),
                    confidence: None,
                    lines: 0,
                    pages: 0,
                    at: now,
                    error: Some(reason.clone()),
                    suggested_vin: None,
                };
                (String::new(), TextStatus::not_indexed(reason), outcome)
            }
        };
        let detail = json!({
            "version": v,
            "lines": outcome.lines,
            "pages": outcome.pages,
            "confidence": outcome.confidence,
            "seconds": (done.seconds * 10.0).round() / 10.0,
            "error": outcome.error,
        });
        let mut next = (*m).clone();
        if let Some(last) = next.versions.last_mut() {
            last.ocr = Some(outcome);
        }
        next.text = Some(status);
        next.revision += 1;
        let ctx = Context::anonymous("ocr".into(), "local".into());
        let event = ctx
            .event(ChangeKind::Recognise.action(), Outcome::Allowed)
            .document(id, &m.archive_no, m.vin())
            .detail(detail);
        // The writer indexes the recognised text with the metadata, as it
        // indexes extracted text.
        self.changes
            .write(ChangeKind::Recognise, event, next, &text)
            .await?;
        Ok(())
    }
}

/// One scan to read.
pub struct Job {
    id: DocumentId,
    version: u32,
    scan_type: String,
    bytes: bytes::Bytes,
    pool: Arc<ExtractPool>,
}

/// What OCR made of a [`Job`].
pub struct Read {
    id: DocumentId,
    version: u32,
    result: std::result::Result<crate::extract::ocr::OcrRead, String>,
    seconds: f64,
}

impl Job {
    /// Reads the scan in an OCR child (waiting for a free one first).
    pub async fn read(self) -> Read {
        let started = std::time::Instant::now();
        let result = self.pool.recognise(&self.scan_type, &self.bytes).await;
        Read {
            id: self.id,
            version: self.version,
            result,
            seconds: started.elapsed().as_secs_f64(),
        }
    }
}
