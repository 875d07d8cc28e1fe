//! Disposal (销毁): a clerk proposes a batch of records past retention, a
//! supervisor who is not the proposer approves it (两人监销), and execution
//! destroys the content irrecoverably: the manifest holding the only wrapped
//! copies of the content keys is deleted (crypto-shredding) with the content
//! objects, and a tombstone keeps the archive number and what the register needs.
//! The register entry (销毁清册) is a permanent sealed object, `disposals/<id>`.
//!
//! A document is named by at most one open proposal, and a batch never
//! "executes" a document another batch destroyed. The register is read by
//! auditors, and by clerks and supervisors whose branch covers every line.

use std::sync::atomic::Ordering;

use chrono::{DateTime, NaiveDate, Utc};
use object_store::path::Path;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Records;
use crate::audit::{Context, Outcome};
use crate::auth::guard::{Permitted, perm};
use crate::domain::DocumentId;
use crate::error::{Code, Error, Result};
use crate::storage::manifest::{Tombstone, tombstone_path};
use crate::storage::{read_sealed, write_sealed};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisposalStatus {
    Proposed,
    Executed,
    /// Turned down by a supervisor: its documents may be proposed again.
    Rejected,
}

/// One line of the disposal register.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterLine {
    pub document_id: DocumentId,
    pub archive_no: String,
    pub category: String,
    pub branch: String,
    pub service_date: Option<NaiveDate>,
    pub filed_at: DateTime<Utc>,
    pub retention_until: NaiveDate,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disposal {
    pub id: String,
    pub status: DisposalStatus,
    pub reason: String,
    pub documents: Vec<RegisterLine>,
    pub proposed_by: String,
    pub proposed_at: DateTime<Utc>,
    pub approved_by: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    pub executed_at: Option<DateTime<Utc>>,
    /// Who turned the batch down, when and why (a rejected batch is kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection_note: Option<String>,
    /// Set while the search index still has to be purged of the batch's
    /// documents (spec §6): the purge failed at execution (a full disk, say)
    /// and is retried until it succeeds (see [`Records::retry_purges`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub purge_pending: bool,
}

impl Disposal {
    /// Whether a user of `branch` covers every line of the batch.
    pub fn covered_by(&self, branch: &crate::domain::Branch) -> bool {
        self.documents
            .iter()
            .all(|l| crate::domain::Branch::parse(&l.branch).is_ok_and(|b| branch.covers(&b)))
    }

    /// The entry as a reader is shown it: the reason and the note with any
    /// personal data in them masked (spec §3, free text). The stored entry,
    /// its CSV, its certificate and the hash printed on it are unchanged.
    pub fn masked(mut self) -> Self {
        use crate::domain::free_text::mask_free_text;
        self.reason = mask_free_text(&self.reason).0;
        self.rejection_note = self.rejection_note.map(|n| mask_free_text(&n).0);
        self
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proposal {
    pub document_ids: Vec<String>,
    pub reason: String,
}

/// What a listing of the register does with an entry it cannot read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Damaged {
    Fail,
    Skip,
}

fn register_path(id: &str) -> Path {
    Path::from(format!("disposals/{id}"))
}

impl Records {
    async fn load_disposal(&self, id: &str) -> Result<Disposal> {
        if uuid::Uuid::try_parse(id).is_err() {
            return Err(Error::not_found("disposal"));
        }
        read_sealed(
            &self.blob,
            &self.keyring,
            &register_path(id),
            &format!("disposal {id}"),
        )
        .await?
        .ok_or_else(|| Error::not_found("disposal"))
    }

    pub(super) async fn save_disposal(&self, d: &Disposal) -> Result<()> {
        write_sealed(&self.blob, &self.keyring, &register_path(&d.id), d).await
    }

    /// Proposes a batch; every document must be visible to the clerk, past
    /// retention and not on legal hold.
    pub async fn propose_disposal(
        &self,
        caller: &Permitted<perm::DisposalsPropose>,
        proposal: Proposal,
    ) -> Result<Disposal> {
        let ctx = caller.ctx();
        let p = caller.principal().clone();
        let reason = crate::archive::check_reason(&proposal.reason)?;
        if proposal.document_ids.is_empty() || proposal.document_ids.len() > 1000 {
            return Err(Error::new(
                Code::InvalidBatch,
                "document_ids: 1 to 1000 documents",
            ));
        }
        let today = self.calendar.day_of(self.clock.now());
        let open = self.open_proposals().await?;
        let mut lines = vec![];
        for key in &proposal.document_ids {
            let (entry, _) = self.gate.visible(ctx, &p, key, "disposal.propose").await?;
            let m = &entry.manifest;
            if m.legal_hold.is_some() {
                return Err(Error::new(
                    Code::LegalHold,
                    format!("{} is on legal hold and cannot be disposed", m.archive_no),
                ));
            }
            if m.retention_until >= today {
                return Err(Error::new(
                    Code::RetentionRunning,
                    format!("{} is kept until {}", m.archive_no, m.retention_until),
                ));
            }
            if lines.iter().any(|l: &RegisterLine| l.document_id == m.id) {
                continue;
            }
            if let Some(other) = open
                .iter()
                .find(|d| d.documents.iter().any(|l| l.document_id == m.id))
            {
                return Err(Error::new(
                    Code::AlreadyProposed,
                    format!(
                        "{} is already in disposal batch {} awaiting approval",
                        m.archive_no, other.id
                    ),
                ));
            }
            lines.push(RegisterLine {
                document_id: m.id,
                archive_no: m.archive_no.to_string(),
                category: m.metadata.category.clone(),
                branch: m.branch.to_string(),
                service_date: m.metadata.service_date(),
                filed_at: m.filed_at,
                retention_until: m.retention_until,
            });
        }
        let d = Disposal {
            id: uuid::Uuid::new_v4().to_string(),
            status: DisposalStatus::Proposed,
            reason,
            documents: lines,
            proposed_by: p.username.clone(),
            proposed_at: self.clock.now(),
            approved_by: None,
            approved_at: None,
            executed_at: None,
            rejected_by: None,
            rejected_at: None,
            rejection_note: None,
            purge_pending: false,
        };
        let numbers: Vec<&str> = d.documents.iter().map(|l| l.archive_no.as_str()).collect();
        self.audit
            .record(
                ctx.event("disposal.propose", Outcome::Allowed)
                    .detail(json!({"disposal": d.id, "archive_nos": numbers, "reason": d.reason})),
            )
            .await?;
        self.save_disposal(&d).await?;
        Ok(d)
    }

    /// Turns a batch down (a supervisor whose branch covers all of it):
    /// nothing is destroyed, the batch is kept as rejected, and its documents
    /// may be proposed again.
    pub async fn reject_disposal(
        &self,
        caller: &Permitted<perm::DisposalsApprove>,
        id: &str,
        note: Option<String>,
    ) -> Result<Disposal> {
        let ctx = caller.ctx();
        let p = caller.principal().clone();
        let mut d = self.known_disposal(ctx, id, "disposal.reject").await?;
        let covers_all = d.covered_by(&p.branch);
        let refusal = if d.status != DisposalStatus::Proposed {
            Some(Error::new(
                Code::InvalidState,
                "only a batch awaiting approval can be rejected",
            ))
        } else if !covers_all {
            Some(Error::forbidden("the batch holds another branch's records"))
        } else if note.as_ref().is_some_and(|n| n.chars().count() > 1000) {
            Some(Error::new(
                Code::InvalidNote,
                "note: at most 1000 characters",
            ))
        } else {
            None
        };
        if let Some(e) = refusal {
            self.audit
                .record(
                    ctx.event("disposal.reject", Outcome::Denied)
                        .detail(json!({"disposal": id, "code": e.code})),
                )
                .await?;
            return Err(e);
        }
        d.status = DisposalStatus::Rejected;
        d.rejected_by = Some(p.username.clone());
        d.rejected_at = Some(self.clock.now());
        d.rejection_note = note;
        self.audit
            .record(
                ctx.event("disposal.reject", Outcome::Allowed)
                    .detail(json!({"disposal": id, "note": d.rejection_note})),
            )
            .await?;
        self.save_disposal(&d).await?;
        Ok(d)
    }

    /// The batch whose execution destroyed document `id`, from its tombstone.
    async fn disposed_by(&self, id: DocumentId) -> Result<Option<String>> {
        Ok(match self.blob.get(&tombstone_path(id)).await? {
            Some(bytes) => Some(Tombstone::open(id, &bytes, &self.keyring)?.disposal),
            None => None,
        })
    }

    /// The batches awaiting approval.
    async fn open_proposals(&self) -> Result<Vec<Disposal>> {
        self.disposals_where(Damaged::Fail, |d| d.status == DisposalStatus::Proposed)
            .await
    }

    /// Every register entry `keep` selects (few: each is a person's decision).
    /// A damaged entry fails the listing, or is skipped with a warning.
    pub(super) async fn disposals_where(
        &self,
        damaged: Damaged,
        keep: impl Fn(&Disposal) -> bool,
    ) -> Result<Vec<Disposal>> {
        let mut found = vec![];
        for path in self.blob.list(&Path::from("disposals")).await? {
            let Some(id) = path.filename() else { continue };
            let d = match self.load_disposal(id).await {
                Ok(d) => d,
                Err(e) if damaged == Damaged::Skip => {
                    tracing::warn!(disposal = id, error = ?e, "unreadable disposal register entry skipped");
                    continue;
                }
                Err(e) => return Err(e),
            };
            if keep(&d) {
                found.push(d);
            }
        }
        Ok(found)
    }

    /// A batch by id, or a recorded refusal naming the unknown id.
    async fn known_disposal(
        &self,
        ctx: &Context,
        id: &str,
        action: &'static str,
    ) -> Result<Disposal> {
        match self.load_disposal(id).await {
            Err(e) if e.kind == crate::error::ErrorKind::NotFound => {
                let id = crate::domain::people::truncate(id, 64);
                self.audit
                    .record(
                        ctx.event(action, Outcome::Denied)
                            .detail(json!({"disposal": id, "reason": "unknown disposal"})),
                    )
                    .await?;
                Err(e)
            }
            other => other,
        }
    }

    /// Approves and executes a batch (a supervisor other than the proposer).
    pub async fn approve_disposal(
        &self,
        caller: &Permitted<perm::DisposalsApprove>,
        id: &str,
    ) -> Result<Disposal> {
        let ctx = caller.ctx();
        let p = caller.principal().clone();
        let mut d = self.known_disposal(ctx, id, "disposal.approve").await?;
        let event = |outcome| {
            ctx.event("disposal.approve", outcome)
                .detail(json!({"disposal": id}))
        };
        let refusal = if d.proposed_by == p.username {
            Some(Error::forbidden(
                "the proposer of a disposal cannot approve it (两人监销)",
            ))
        } else if d.status != DisposalStatus::Proposed {
            Some(Error::new(
                Code::InvalidState,
                match d.status {
                    DisposalStatus::Rejected => "the disposal was rejected; propose a new batch",
                    _ => "the disposal was already executed",
                },
            ))
        } else if let Some(l) = d.documents.iter().find(|l| {
            !p.branch.covers(
                &crate::domain::Branch::parse(&l.branch).unwrap_or_else(|_| p.branch.clone()),
            )
        }) {
            Some(Error::forbidden(format!(
                "{} belongs to another branch",
                l.archive_no
            )))
        } else {
            // Holds can be set after the proposal: check again at execution;
            // and a document gone since was destroyed by another batch.
            let mut held = None;
            for l in &d.documents {
                match self.catalog.get(l.document_id).await? {
                    Some(m) if m.legal_hold.is_some() => {
                        held = Some(Error::new(
                            Code::LegalHold,
                            format!("{} was put on legal hold after the proposal", l.archive_no),
                        ));
                        break;
                    }
                    Some(_) => {}
                    // Gone by this batch's own interrupted run: it resumes.
                    None if self.disposed_by(l.document_id).await?.as_deref() == Some(id) => {}
                    None => {
                        held = Some(Error::new(
                            Code::AlreadyDisposed,
                            format!("{} was already disposed by another batch", l.archive_no),
                        ));
                        break;
                    }
                }
            }
            held
        };
        if let Some(e) = refusal {
            self.audit
                .record(event(Outcome::Denied).detail(json!({"disposal": id, "code": e.code})))
                .await?;
            return Err(e);
        }
        let now = self.clock.now();
        d.approved_by = Some(p.username.clone());
        d.approved_at = Some(now);
        self.audit.record(event(Outcome::Allowed)).await?;
        for line in &d.documents {
            self.dispose_one(ctx, &d.id, line, now).await?;
        }
        // Before the answer: no search finds them, and no index file still
        // holds their text, title or personal data (spec §6).
        if let Err(e) = self.index.purge(&[]).await {
            tracing::error!(error = %e, disposal = %d.id, "disposed documents could not be purged from the index; retrying until they are");
            d.purge_pending = true;
        }
        d.status = DisposalStatus::Executed;
        d.executed_at = Some(self.clock.now());
        self.save_disposal(&d).await?;
        if d.purge_pending {
            self.purge_due.store(true, Ordering::SeqCst);
        }
        Ok(d)
    }

    async fn dispose_one(
        &self,
        ctx: &Context,
        disposal: &str,
        line: &RegisterLine,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let Some(entry) = self.catalog.resolve(&line.document_id.to_string()).await? else {
            return Ok(()); // already disposed by an earlier, interrupted run
        };
        let _guard = entry.lock.lock().await;
        let m = entry.manifest.clone();
        let tombstone = Tombstone {
            id: m.id,
            archive_no: m.archive_no.clone(),
            category: m.metadata.category.clone(),
            branch: m.branch.clone(),
            service_date: m.metadata.service_date(),
            filed_at: m.filed_at,
            retention_until: m.retention_until,
            disposal: disposal.to_string(),
            disposed_at: now,
        };
        let event = ctx
            .event("document.dispose", Outcome::Allowed)
            .document(m.id, &m.archive_no, m.vin())
            .detail(json!({"disposal": disposal}));
        self.changes.dispose(event, &m, tombstone).await
    }

    /// The register entry of a batch: for auditors, and for clerks and
    /// supervisors whose branch covers every line (others: not found).
    pub async fn disposal(
        &self,
        caller: &Permitted<perm::DisposalsRead>,
        id: &str,
    ) -> Result<Disposal> {
        let ctx = caller.ctx();
        let p = caller.principal().clone();
        let d = self.known_disposal(ctx, id, "disposal.view").await?;
        let covers_all = d.covered_by(&p.branch);
        if !p.roles.contains(&crate::domain::Role::Auditor) && !covers_all {
            self.audit
                .record(
                    ctx.event("disposal.view", Outcome::Denied)
                        .detail(json!({"disposal": id, "reason": "another branch's register"})),
                )
                .await?;
            return Err(Error::not_found("disposal"));
        }
        self.audit
            .record(
                ctx.event("disposal.view", Outcome::Allowed)
                    .detail(json!({"disposal": id})),
            )
            .await?;
        Ok(d)
    }
}
