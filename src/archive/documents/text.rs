//! The text OCR read of a scan (spec §10): content, read under the same rule
//! and record as the file itself.

use serde::Serialize;
use serde_json::json;

use super::Documents;
use crate::audit::Outcome;
use crate::auth::guard::{Permitted, perm};
use crate::error::{Error, Result};
use crate::storage::manifest::OcrOutcome;

/// A version's recognised text with the outcome of its OCR.
#[derive(Debug, Serialize)]
pub struct RecognisedText {
    pub version: u32,
    pub text: String,
    pub ocr: OcrOutcome,
}

impl Documents {
    /// The text OCR read of the latest version, recorded as
    /// `document.text`. Errors: as for the content (404 not visible, 403
    /// content above the caller's access without a grant); 404 when the
    /// version was not (yet) read by OCR.
    pub async fn recognised_text(
        &self,
        caller: &Permitted<perm::DocumentsContent>,
        key: &str,
    ) -> Result<RecognisedText> {
        let ctx = caller.ctx();
        let p = caller.principal().clone();
        let (entry, grant) = self.gate.visible(ctx, &p, key, "document.text").await?;
        let m = &entry.manifest;
        let event = |outcome| {
            ctx.event("document.text", outcome)
                .document(m.id, &m.archive_no, m.vin())
        };
        if grant.is_none() && !self.gate.can_read_content(&p, m) {
            self.audit
                .record(
                    event(Outcome::Denied)
                        .detail(json!({"reason": "content above the caller's access"})),
                )
                .await?;
            return Err(Error::forbidden(
                "you may see this document's metadata but not its content; ask for access (调阅)",
            ));
        }
        let v = m.latest();
        let Some(ocr) = v.ocr.clone() else {
            return Err(Error::not_found(
                "recognised text: this version was not read by OCR (or not yet)",
            ));
        };
        self.audit
            .record(event(Outcome::Allowed).detail(json!({"version": v.version, "grant": grant})))
            .await?;
        let text = self.contents.recognised_text(m.id, v.version).await?;
        Ok(RecognisedText {
            version: v.version,
            text,
            ocr,
        })
    }
}
