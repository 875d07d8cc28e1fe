//! The use cases, one service per resource: [`Documents`] (file, version,
//! correct, read, a vehicle's archive), [`Search`], [`AccessRequests`] (调阅),
//! [`Records`] (legal hold, retention, disposal 销毁) and [`Maintenance`]
//! (fixity, key rotation, readiness, catalog snapshots), and the OCR of
//! scans in the background ([`recognition`]). Each holds only the
//! parts it uses and lives in the file (or folder) of its name.
//!
//! A use case takes the caller's proof of permission
//! ([`crate::auth::guard::Permitted`]), never checks the role table again, and
//! owns the order of the rest: which documents the caller may see ([`gate`]),
//! the retrieval-log record, then storage. Every change to a document goes
//! through the one writer in [`change`]. Nothing here knows about HTTP.

pub mod access;
pub mod auditing;
pub mod catalog;
pub mod change;
mod content;
pub mod documents;
mod gate;
pub mod maintenance;
pub mod recognition;
pub mod records;
pub mod search;
pub mod views;

use std::sync::Arc;

use bytes::Bytes;
use futures_util::Stream;

use crate::audit::AuditLog;
use crate::auth::Policy;
use crate::auth::policy::DocScope;
use crate::clock::Clock;
use crate::domain::Classification;
use crate::domain::calendar::Calendar;
use crate::error::{Code, Error, Result};
use crate::extract::pool::ExtractPool;
use crate::index::SearchIndex;
use crate::storage::BlobStore;
use crate::storage::envelope::Keyring;
use crate::storage::manifest::Manifest;
use catalog::Catalog;

pub use access::AccessRequests;
pub use documents::Documents;
pub use maintenance::Maintenance;
pub use records::Records;
pub use search::Search;

/// Size limits the use cases enforce.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_upload_bytes: u64,
    pub verify_before_send_bytes: u64,
}

/// A file arriving as a stream of pieces.
pub struct Upload<S> {
    pub filename: String,
    pub content_type: String,
    pub body: S,
}

pub trait UploadStream: Stream<Item = Result<Bytes>> + Unpin {}
impl<T: Stream<Item = Result<Bytes>> + Unpin> UploadStream for T {}

/// What the services are built from, opened in order by `crate::open`.
pub struct Parts {
    pub blob: BlobStore,
    pub keyring: Arc<Keyring>,
    pub catalog: Arc<Catalog>,
    pub scheme: Arc<Classification>,
    pub policy: Policy,
    pub audit: AuditLog,
    pub limits: Limits,
    pub index: Arc<SearchIndex>,
    pub access: Arc<access::AccessStore>,
    pub access_limits: access::AccessLimits,
    pub masking: Arc<crate::domain::pii::Masking>,
    pub clock: Arc<dyn Clock>,
    /// The text-extraction children: the only way uploaded bytes get parsed.
    pub extractor: Arc<ExtractPool>,
    /// The OCR children, when the server has an OCR engine.
    pub ocr: Option<Arc<ExtractPool>>,
    /// Whose calendar days archive numbers, retention and "today" count in.
    pub calendar: Calendar,
}

/// Every archive service, sharing the parts they have in common.
pub struct Services {
    pub documents: Arc<Documents>,
    pub search: Arc<Search>,
    pub access: Arc<AccessRequests>,
    pub records: Arc<Records>,
    pub maintenance: Arc<Maintenance>,
    pub recognition: Arc<recognition::Recognition>,
}

impl Services {
    pub fn new(p: Parts) -> Self {
        let gate = Arc::new(gate::Gate {
            catalog: p.catalog.clone(),
            policy: p.policy.clone(),
            audit: p.audit.clone(),
            access: p.access.clone(),
            clock: p.clock.clone(),
        });
        let contents = Arc::new(content::Contents {
            blob: p.blob.clone(),
            keyring: p.keyring.clone(),
            limits: p.limits,
            extractor: p.extractor.clone(),
            ocr: p.ocr.clone(),
        });
        let ocr_queue = Arc::new(recognition::OcrQueue::default());
        let changes = Arc::new(change::ChangeWriter {
            audit: p.audit.clone(),
            blob: p.blob.clone(),
            keyring: p.keyring.clone(),
            catalog: p.catalog.clone(),
            index: p.index.clone(),
        });
        Services {
            documents: Arc::new(Documents {
                gate: gate.clone(),
                contents: contents.clone(),
                changes: changes.clone(),
                audit: p.audit.clone(),
                catalog: p.catalog.clone(),
                scheme: p.scheme.clone(),
                masking: p.masking.clone(),
                policy: p.policy.clone(),
                clock: p.clock.clone(),
                calendar: p.calendar,
                limits: p.limits,
                ocr_queue: ocr_queue.clone(),
            }),
            search: Arc::new(Search {
                gate: gate.clone(),
                contents: contents.clone(),
                index: p.index.clone(),
                catalog: p.catalog.clone(),
                audit: p.audit.clone(),
                policy: p.policy.clone(),
                scheme: p.scheme.clone(),
                progress: Arc::default(),
            }),
            access: Arc::new(AccessRequests {
                access: p.access.clone(),
                catalog: p.catalog.clone(),
                policy: p.policy.clone(),
                audit: p.audit.clone(),
                clock: p.clock.clone(),
                access_limits: p.access_limits,
            }),
            records: Arc::new(Records {
                gate,
                contents: contents.clone(),
                changes: changes.clone(),
                audit: p.audit.clone(),
                catalog: p.catalog.clone(),
                index: p.index.clone(),
                blob: p.blob.clone(),
                keyring: p.keyring.clone(),
                policy: p.policy,
                clock: p.clock.clone(),
                calendar: p.calendar,
                purge_due: std::sync::atomic::AtomicBool::new(true),
            }),
            recognition: Arc::new(recognition::Recognition {
                contents: contents.clone(),
                changes: changes.clone(),
                catalog: p.catalog.clone(),
                clock: p.clock.clone(),
                queue: ocr_queue,
                ocr: p.ocr,
            }),
            maintenance: Arc::new(Maintenance {
                contents,
                changes,
                audit: p.audit,
                catalog: p.catalog,
                blob: p.blob,
                keyring: p.keyring,
                rotation: Default::default(),
            }),
        }
    }
}

/// A reason (or purpose) as a change needs it: trimmed, 1-1000 characters, no
/// control characters but newlines. Errors: `reason_required`, `invalid_reason`.
pub(crate) fn check_reason(reason: &str) -> Result<String> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::new(
            Code::ReasonRequired,
            "reason: a reason is required",
        ));
    }
    if reason.chars().count() > 1000 || reason.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Error::new(
            Code::InvalidReason,
            "reason: at most 1000 characters, no control characters",
        ));
    }
    Ok(reason.to_string())
}

fn scope(m: &Manifest) -> DocScope<'_> {
    DocScope {
        branch: &m.branch,
        level: m.confidentiality,
    }
}
