//! Filing a document, adding a version, correcting metadata.

use chrono::Datelike;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Documents;
use crate::archive::change::ChangeKind;
use crate::archive::check_reason;
use crate::archive::views::{DocumentView, mask_value};
use crate::archive::{Upload, UploadStream};
use crate::audit::Outcome;
use crate::auth::guard::{Permitted, perm};
use crate::domain::DocumentId;
use crate::domain::ingest;
use crate::domain::metadata::{Metadata, MetadataError, changed_fields};
use crate::error::{Code, Error, Result};
use crate::storage::manifest::{Correction, FORMAT, Manifest, Source, Version};

/// A metadata correction as a clerk sends it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrectionRequest {
    pub changes: Value,
    pub reason: String,
}

fn metadata_error(e: MetadataError) -> Error {
    match e {
        MetadataError::Syntax(_) => Error::new(Code::InvalidJson, e.to_string()),
        MetadataError::Invalid { .. } => Error::new(Code::InvalidMetadata, e.to_string()),
    }
}

/// Where a file comes from, as an import declares it (spec §10): its path in
/// the source folder, and the SHA-256 and size its sender computed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceClaim {
    pub path: String,
    pub sha256: String,
    pub size: u64,
}

impl SourceClaim {
    /// Parses a `source` part: `{path, sha256, size}`.
    ///
    /// # Errors
    /// `invalid_source`: not that JSON, a path empty, over 1000 characters or
    /// with control characters, a SHA-256 not 64 hex digits.
    pub fn parse(json: &[u8]) -> Result<SourceClaim> {
        let bad = |m: String| Error::new(Code::InvalidSource, format!("source: {m}"));
        let claim: SourceClaim = serde_json::from_slice(json)
            .map_err(|e| bad(format!("expected {{path, sha256, size}}: {e}")))?;
        let path = claim.path.trim();
        if path.is_empty() || path.chars().count() > 1000 || path.chars().any(char::is_control) {
            return Err(bad(
                "path: 1 to 1000 characters, no control characters".into()
            ));
        }
        if claim.sha256.len() != 64 || !claim.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("sha256: 64 hexadecimal digits".into()));
        }
        Ok(SourceClaim {
            path: path.to_string(),
            sha256: claim.sha256.to_ascii_lowercase(),
            size: claim.size,
        })
    }

    fn source(&self) -> Source {
        Source {
            path: self.path.clone(),
            sha256: self.sha256.clone(),
        }
    }
}

/// What a filing did: filed anew, or found the same source already filed (an
/// import run again), which it answers with that document and files nothing.
pub enum Filed {
    New(DocumentView),
    Already(DocumentView),
}

impl Documents {
    /// Files a new document: metadata checked, content encrypted into the store,
    /// an archive number assigned, the filing recorded, the manifest written.
    /// With a `source` (an import), a file already filed from the same path
    /// with the same SHA-256 in a branch the caller files for is not filed
    /// again ([`Filed::Already`]), and the content must arrive as declared.
    pub async fn file<S: UploadStream>(
        &self,
        caller: &Permitted<perm::DocumentsFile>,
        metadata_json: &[u8],
        source: Option<SourceClaim>,
        upload: Upload<S>,
    ) -> Result<Filed> {
        let ctx = caller.ctx();
        let p = caller.principal().clone();
        let refuse = |e: Error| async move {
            self.audit
                .record(
                    ctx.event("document.file", Outcome::Error)
                        .detail(json!({"code": e.code, "message": e.message()})),
                )
                .await?;
            Err::<Filed, Error>(e)
        };
        let metadata = match Metadata::from_json(metadata_json, &self.scheme) {
            Ok(m) => m,
            Err(e) => return refuse(metadata_error(e)).await,
        };
        let category = self
            .scheme
            .get(&metadata.category)
            .expect("checked by Metadata::from_json");
        let branch = metadata.branch.clone().unwrap_or_else(|| p.branch.clone());
        if branch.is_all() {
            return refuse(Error::new(
                Code::BranchRequired,
                "branch: group-level clerks must name the document's branch",
            ))
            .await;
        }
        if !p.branch.covers(&branch) {
            return refuse(Error::forbidden(format!(
                "you file for branch {}, not {branch}",
                p.branch
            )))
            .await;
        }
        let level = metadata.confidentiality.unwrap_or(category.default_level);
        if level > p.clearance {
            return refuse(Error::forbidden(format!(
                "your clearance ({}) is below the document's level ({level})",
                p.clearance
            )))
            .await;
        }

        let _claim = match &source {
            Some(claim) => {
                let key = claim.source().key();
                if let Some(filed) = self.already_filed(caller, &key).await? {
                    return Ok(filed);
                }
                match self.catalog.claim_source(key) {
                    Some(c) => Some(c),
                    None => {
                        return refuse(Error::new(
                            Code::SourceInProgress,
                            "this source file is being filed by another request; try again when it is done",
                        ))
                        .await;
                    }
                }
            }
            None => None,
        };

        let id = DocumentId::new();
        // Until the catalog shows it, the sweep for leftovers leaves it alone.
        let _writing = self.catalog.writing(id);
        let mut stored = match self.contents.store_content(id, 1, upload).await {
            Ok(s) => s,
            Err(e) => return refuse(e).await,
        };
        if let Some(claim) = &source
            && (claim.sha256 != stored.sha256 || claim.size != stored.size)
        {
            self.changes.discard_content(id, 1).await;
            return refuse(Error::new(
                Code::ContentMismatch,
                format!(
                    "the file arrived as {} bytes with SHA-256 {}, not as declared ({} bytes, {}); nothing was filed",
                    stored.size, stored.sha256, claim.size, claim.sha256
                ),
            ))
            .await;
        }
        // Text first: it may wait for an extraction child, and a filing given up
        // meanwhile must not have taken an archive number.
        let examined = self
            .contents
            .examine_upload(
                &stored.content_type,
                stored.bytes.take(),
                &stored.head,
                stored.size,
            )
            .await;
        let checks = ingest::report(&ingest::Facts {
            sha256: &stored.sha256,
            size: stored.size,
            declared: source.as_ref().map(|c| (c.sha256.as_str(), c.size)),
            source_path: source.as_ref().map(|c| c.path.as_str()),
            actor: &p.username,
            required: &category.required,
            content_type: &stored.content_type,
            findings: &examined.findings,
            text_problem: examined.status.reason.as_deref(),
            ocr_pending: examined.status.is_pending_ocr(),
        });
        let (text, status) = (examined.text, examined.status);
        let status_pending_ocr = status.is_pending_ocr();
        let now = self.clock.now();
        // The year of the archive number and the start of retention are days of
        // the archive's calendar, not of UTC (spec §2).
        let start = metadata
            .service_date()
            .unwrap_or_else(|| self.calendar.day_of(now));
        let archive_no =
            self.catalog
                .allocate((branch.clone(), category.code.clone(), start.year()));
        let manifest = Manifest {
            format: FORMAT,
            id,
            archive_no: archive_no.clone(),
            retention_until: category.retention_until(start),
            metadata,
            branch,
            confidentiality: level,
            filed_by: p.username.clone(),
            filed_at: now,
            legal_hold: None,
            versions: vec![Version {
                version: 1,
                sha256: stored.sha256,
                size: stored.size,
                content_type: stored.content_type,
                filename: stored.filename,
                filed_by: p.username.clone(),
                filed_at: now,
                reason: None,
                key: stored.key,
                checks: Some(checks),
                ocr: None,
            }],
            corrections: vec![],
            revision: 1,
            text: Some(status),
            source: source.as_ref().map(SourceClaim::source),
        };
        let mut detail = json!({"version": 1, "bytes": manifest.versions[0].size, "category": manifest.metadata.category});
        if let Some(c) = &source {
            detail["source"] = c.path.clone().into();
        }
        let event = ctx
            .event("document.file", Outcome::Allowed)
            .document(id, &archive_no, manifest.vin())
            .detail(detail);
        match self
            .changes
            .write(ChangeKind::File, event, manifest, &text)
            .await
        {
            Ok(view) => {
                if status_pending_ocr {
                    self.ocr_queue.push(id);
                }
                Ok(Filed::New(view))
            }
            Err(e) => {
                self.catalog.release(&archive_no);
                self.changes.discard_content(id, 1).await;
                refuse(e).await
            }
        }
    }

    /// Adds a version to a document; earlier versions stay as they were.
    pub async fn add_version<S: UploadStream>(
        &self,
        caller: &Permitted<perm::DocumentsVersion>,
        key: &str,
        reason: &str,
        upload: Upload<S>,
    ) -> Result<DocumentView> {
        let ctx = caller.ctx();
        let p = caller.principal().clone();
        let kind = ChangeKind::AddVersion;
        let (_guard, m, reason) = self
            .gate
            .open_with_reason(ctx, &p, key, kind, reason)
            .await?;
        let n = m.latest().version + 1;
        let _writing = self.catalog.writing(m.id);
        let mut stored = match self.contents.store_content(m.id, n, upload).await {
            Ok(s) => s,
            Err(e) => return Err(self.gate.failed(ctx, kind, &m, e).await),
        };
        let mut next = (*m).clone();
        let size = stored.size;
        let examined = self
            .contents
            .examine_upload(
                &stored.content_type,
                stored.bytes.take(),
                &stored.head,
                stored.size,
            )
            .await;
        let category = self.scheme.get(&m.metadata.category);
        let checks = ingest::report(&ingest::Facts {
            sha256: &stored.sha256,
            size: stored.size,
            declared: None,
            source_path: None,
            actor: &p.username,
            required: category.map_or(&[][..], |c| &c.required),
            content_type: &stored.content_type,
            findings: &examined.findings,
            text_problem: examined.status.reason.as_deref(),
            ocr_pending: examined.status.is_pending_ocr(),
        });
        let pending_ocr = examined.status.is_pending_ocr();
        let (text, status) = (examined.text, examined.status);
        next.text = Some(status);
        next.versions.push(Version {
            version: n,
            sha256: stored.sha256,
            size: stored.size,
            content_type: stored.content_type,
            filename: stored.filename,
            filed_by: p.username.clone(),
            filed_at: self.clock.now(),
            reason: Some(reason.clone()),
            key: stored.key,
            checks: Some(checks),
            ocr: None,
        });
        next.revision += 1;
        let event = ctx
            .event(kind.action(), Outcome::Allowed)
            .document(m.id, &m.archive_no, m.vin())
            .detail(json!({"version": n, "bytes": size, "reason": reason}));
        let view = self.changes.write(kind, event, next, &text).await?;
        if pending_ocr {
            self.ocr_queue.push(m.id);
        }
        Ok(view)
    }

    /// The document already filed from source key `key`, if the caller files
    /// for its branch; the finding is recorded (`document.already_filed`).
    async fn already_filed(
        &self,
        caller: &Permitted<perm::DocumentsFile>,
        key: &[u8; 32],
    ) -> Result<Option<Filed>> {
        let Some(id) = self.catalog.by_source(key) else {
            return Ok(None);
        };
        let Some(m) = self.catalog.get(id).await? else {
            return Ok(None);
        };
        // Only a document the caller may see (spec §3: branch and clearance);
        // any other is as if it did not exist, and this filing goes on.
        if !self
            .policy
            .can_see(caller.principal(), crate::archive::scope(&m))
        {
            return Ok(None);
        }
        self.audit
            .record(
                caller
                    .ctx()
                    .event("document.already_filed", Outcome::Allowed)
                    .document(m.id, &m.archive_no, m.vin())
                    .detail(json!({"source": m.source.as_ref().map(|s| s.path.clone())})),
            )
            .await?;
        Ok(Some(Filed::Already(DocumentView::of(&m))))
    }

    /// Corrects metadata with a reason; the old values are kept in the history.
    pub async fn correct(
        &self,
        caller: &Permitted<perm::DocumentsCorrect>,
        key: &str,
        request: CorrectionRequest,
    ) -> Result<DocumentView> {
        let ctx = caller.ctx();
        let p = caller.principal().clone();
        let (_guard, current) = self
            .gate
            .open_for_change(ctx, &p, key, "document.correct")
            .await?;
        let m = &current;
        let event = |outcome| {
            ctx.event("document.correct", outcome)
                .document(m.id, &m.archive_no, m.vin())
        };
        let fail = |e: Error| async move {
            self.audit
                .record(
                    event(Outcome::Error).detail(json!({"code": e.code, "message": e.message()})),
                )
                .await?;
            Err::<DocumentView, Error>(e)
        };
        let reason = match check_reason(&request.reason) {
            Ok(r) => r,
            Err(e) => return fail(e).await,
        };
        let patched = match m.metadata.patched(&request.changes, &self.scheme) {
            Ok(x) => x,
            Err(e) => return fail(metadata_error(e)).await,
        };
        let old = serde_json::to_value(&m.metadata).expect("serialises");
        let new = serde_json::to_value(&patched).expect("serialises");
        let mut fields = vec![];
        changed_fields(&old, &new, "", &mut fields);
        if fields.is_empty() {
            return fail(Error::new(
                Code::NothingToCorrect,
                "changes: the correction changes nothing",
            ))
            .await;
        }
        let mut next = (**m).clone();
        if let Some(b) = &patched.branch
            && b != &m.branch
        {
            if !p.branch.covers(b) {
                return fail(Error::forbidden(format!(
                    "you cannot move a document to branch {b}"
                )))
                .await;
            }
            next.branch = b.clone();
        }
        let category = self
            .scheme
            .get(&patched.category)
            .expect("checked by patched()");
        next.confidentiality =
            patched
                .confidentiality
                .unwrap_or(if patched.category != m.metadata.category {
                    category.default_level
                } else {
                    m.confidentiality
                });
        if next.confidentiality > p.clearance {
            return fail(Error::forbidden("the new level is above your clearance")).await;
        }
        let start = patched
            .service_date()
            .unwrap_or_else(|| self.calendar.day_of(m.filed_at));
        next.retention_until = category.retention_until(start);
        next.metadata = patched;
        next.corrections.push(Correction {
            at: self.clock.now(),
            by: p.username.clone(),
            reason: reason.clone(),
            fields: fields.clone(),
            old: old.clone(),
            new: new.clone(),
        });
        next.revision += 1;
        let detail = json!({"fields": fields, "reason": reason, "old": mask_value(&old), "new": mask_value(&new)});
        let text = self.contents.text_of(&next).await;
        let event = event(Outcome::Allowed).detail(detail);
        self.changes
            .write(ChangeKind::Correct, event, next, &text)
            .await
    }
}
