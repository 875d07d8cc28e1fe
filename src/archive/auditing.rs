//! The auditors' use cases: the retrieval log's events (filtered, exported),
//! its anchored verification, and its signed checkpoints (spec §4). Each
//! answer is itself recorded.

use std::sync::Arc;

use serde::Serialize;
use serde_json::json;

use crate::audit::checkpoint::{self, AuditSigner, Checkpoint};
use crate::audit::query::{EventFilter, EventPage, read_events};
use crate::audit::stats::{Stats, tally};
use crate::audit::{AuditLog, Outcome, VerifyReport};
use crate::auth::guard::{Permitted, perm};
use crate::domain::calendar::Calendar;
use crate::domain::{Branch, Role};
use crate::error::{Error, Result};
use crate::storage::BlobStore;
use crate::storage::envelope::Keyring;

#[derive(Debug, Serialize)]
pub struct Checkpoints {
    pub public_key: String,
    pub key_id: String,
    pub checkpoints: Vec<Checkpoint>,
}

/// The auditors' use cases.
pub struct Auditing {
    pub log: AuditLog,
    pub blob: BlobStore,
    pub keyring: Arc<Keyring>,
    pub signer: Arc<AuditSigner>,
    /// The one writer of checkpoints, shared with the schedule.
    pub sealer: Arc<checkpoint::Sealer>,
    /// The archive's calendar, in which a query's days are counted (spec §2).
    pub calendar: Calendar,
}

impl Auditing {
    /// The calendar the `from` and `to` days of a query are read in.
    pub fn calendar(&self) -> Calendar {
        self.calendar
    }

    pub async fn events(
        &self,
        caller: &Permitted<perm::AuditRead>,
        filter: EventFilter,
    ) -> Result<EventPage> {
        let ctx = caller.ctx();
        self.log
            .record(
                ctx.event("audit.query", Outcome::Allowed)
                    .detail(json!(filter)),
            )
            .await?;
        let path = self.log.path().to_path_buf();
        tokio::task::spawn_blocking(move || read_events(&path, &filter))
            .await
            .map_err(|e| Error::internal(e.to_string()))?
            .map_err(|e| Error::internal(format!("reading the retrieval log: {e}")))
    }

    /// Verifies the local log, anchored (spec §4): first seals what it holds
    /// beyond the newest checkpoint (so the report covers every record up to
    /// now), then checks the chain against every signed checkpoint read from
    /// the object store, the sealed segments against theirs, and `held` — a
    /// checkpoint (`seq`, hash) the auditor kept — against the log.
    pub async fn verify(
        &self,
        caller: &Permitted<perm::AuditRead>,
        held: Option<(u64, String)>,
    ) -> Result<VerifyReport> {
        let ctx = caller.ctx();
        // Seal first; then verify what the newest checkpoint covers, so that
        // records appended meanwhile are not mistaken for unanchored ones.
        let sealed_len = match self.sealer.seal().await {
            Ok(len) => Some(len),
            Err(e) => {
                tracing::warn!(error = ?e, "sealing before verification failed");
                None
            }
        };
        let (checkpoints, unreadable) = checkpoint::read_store_all(&self.blob).await?;
        let key = self.signer.public_key();
        let path = self.log.path().to_path_buf();
        let cps = checkpoints.clone();
        let mut report = tokio::task::spawn_blocking(move || {
            let anchors = crate::audit::Anchors {
                checkpoints: &cps,
                key: Some(&key),
                held,
                unreadable,
                up_to: sealed_len,
            };
            crate::audit::verify_anchored(&path, &anchors)
        })
        .await
        .map_err(|e| Error::internal(e.to_string()))?
        .map_err(|e| Error::internal(format!("reading the retrieval log: {e}")))?;
        if let Some((seq, why)) =
            checkpoint::verify_segments(&self.blob, &self.keyring, &checkpoints).await
        {
            report = report.merge(seq, why);
        }
        self.log
            .record(
                ctx.event("audit.verify", Outcome::Allowed)
                    .detail(json!({"ok": report.ok, "status": report.status, "first_bad_seq": report.first_bad_seq})),
            )
            .await?;
        Ok(report)
    }

    pub async fn checkpoints(&self, caller: &Permitted<perm::AuditRead>) -> Result<Checkpoints> {
        let ctx = caller.ctx();
        let checkpoints = checkpoint::read_store(&self.blob).await?;
        self.log
            .record(
                ctx.event("audit.checkpoints", Outcome::Allowed)
                    .detail(json!({"checkpoints": checkpoints.len()})),
            )
            .await?;
        Ok(Checkpoints {
            public_key: self.signer.public_hex(),
            key_id: self.signer.id().to_string(),
            checkpoints,
        })
    }

    /// The retrieval log's statistics (`audit::stats`): every branch for an
    /// auditor, the caller's branch scope for anyone else. Recorded.
    pub async fn stats(&self, caller: &Permitted<perm::StatsRead>) -> Result<Stats> {
        let (ctx, p) = (caller.ctx(), caller.principal());
        let scope = (!p.roles.contains(&Role::Auditor)).then(|| p.branch.clone());
        let covered = scope
            .as_ref()
            .map_or(Branch::ALL, |b| b.as_str())
            .to_string();
        let path = self.log.path().to_path_buf();
        let calendar = self.calendar;
        let stats = tokio::task::spawn_blocking(move || tally(&path, calendar, scope.as_ref()))
            .await
            .map_err(|e| Error::internal(e.to_string()))?
            .map_err(|e| Error::internal(format!("reading the retrieval log: {e}")))?;
        self.log
            .record(
                ctx.event("audit.stats", Outcome::Allowed)
                    .detail(json!({"rows": stats.rows.len(), "branch": covered})),
            )
            .await?;
        Ok(stats)
    }
}
