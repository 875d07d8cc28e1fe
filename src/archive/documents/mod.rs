//! The documents service: file a document, add a version, correct its
//! metadata ([`filing`]); read it, its versions and its content, and a
//! vehicle's archive 一车一档 ([`reading`]); the text OCR read of a scan
//! ([`text`]); the classification scheme the filing form follows.

mod filing;
mod reading;
mod text;

use std::sync::Arc;

pub use filing::{CorrectionRequest, Filed, SourceClaim};
pub use text::RecognisedText;

use super::Limits;
use super::catalog::Catalog;
use super::change::ChangeWriter;
use super::content::Contents;
use super::gate::Gate;
use crate::audit::{AuditLog, Outcome};
use crate::auth::Policy;
use crate::auth::guard::{Permitted, perm};
use crate::clock::Clock;
use crate::domain::Classification;
use crate::domain::calendar::Calendar;
use crate::domain::pii::Masking;
use crate::error::Result;

/// Filing, versions, corrections and reading of documents.
pub struct Documents {
    pub(super) gate: Arc<Gate>,
    pub(super) contents: Arc<Contents>,
    pub(super) changes: Arc<ChangeWriter>,
    pub(super) audit: AuditLog,
    pub(super) catalog: Arc<Catalog>,
    pub(super) scheme: Arc<Classification>,
    pub(super) masking: Arc<Masking>,
    pub(super) policy: Policy,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) calendar: Calendar,
    pub(super) limits: Limits,
    /// Where filings of scans queue them for OCR.
    pub(super) ocr_queue: Arc<super::recognition::OcrQueue>,
}

impl Documents {
    /// The classification scheme in force, as a reader asks for it (recorded).
    pub async fn classification(
        &self,
        caller: &Permitted<perm::ClassificationRead>,
    ) -> Result<&Classification> {
        let ctx = caller.ctx();
        self.audit
            .record(ctx.event("classification.read", Outcome::Allowed))
            .await?;
        Ok(&self.scheme)
    }

    /// The classification scheme, for naming categories on a page the caller
    /// was already allowed (not a reading of it: nothing is recorded).
    pub fn scheme(&self) -> &Classification {
        &self.scheme
    }

    /// The size limits filing enforces (for the edge's own body limits).
    pub fn limits(&self) -> Limits {
        self.limits
    }
}
