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

    /// Reads one document's latest version, if it still waits for OCR.
    ///
    /// # Errors
    /// The store's or the log's: the document stays pending.
    pub async fn recognise(&self, id: DocumentId) -> Result<()> {
        let Some(pool) = &self.ocr else {
            return Ok(());
        };
        let Some(entry) = self.catalog.resolve(&id.to_string()).await? else {
            return Ok(()); // disposed meanwhile
        };
        let _guard = entry.lock.lock().await;
        let Some(m) = self.catalog.get(id).await? else {
            return Ok(());
        };
        if !m.text.as_ref().is_some_and(TextStatus::is_pending_ocr) {
            return Ok(());
        }
        let v = m.latest().clone();
        let bytes = self.contents.read_verified(id, &v).await?;
        let scan_type = crate::extract::inspect::sniff(&bytes).unwrap_or(v.content_type.clone());
        let started = std::time::Instant::now();
        let read = pool.recognise(&scan_type, &bytes).await;
        drop(bytes);
        let mut next = (*m).clone();
        let now = self.clock.now();
        let (text, status, outcome) = match read {
            Ok(read) => {
                if !read.text.is_empty() {
                    self.contents
                        .store_recognised_text(id, v.version, &read.text)
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
            "version": v.version,
            "lines": outcome.lines,
            "pages": outcome.pages,
            "confidence": outcome.confidence,
            "seconds": (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
            "error": outcome.error,
        });
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
        // The index gets the recognised text with the metadata (the writer
        // indexes both), as it gets extracted text.
        self.changes
            .write(ChangeKind::Recognise, event, next, &text)
            .await?;
        Ok(())
    }
}
