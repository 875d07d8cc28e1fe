//! The lists the supervisors' and auditors' desks work from: the disposal
//! register's entries a caller may read (newest first), and the documents on
//! legal hold in a supervisor's branch and clearance. Both are recorded like
//! any other reading (spec §4).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use super::Records;
use super::disposal::{Damaged, Disposal, DisposalStatus};
use crate::archive::views::DocumentSummary;
use crate::audit::Outcome;
use crate::auth::guard::{Permitted, perm};
use crate::domain::Role;
use crate::error::Result;

/// A document on legal hold, and the hold's reason, setter and time.
#[derive(Debug, Serialize)]
pub struct HeldDocument {
    #[serde(flatten)]
    pub document: DocumentSummary,
    /// The reason as given, personal data masked (spec §3).
    pub hold_reason: String,
    pub held_by: String,
    pub held_at: DateTime<Utc>,
}

impl Records {
    /// The register entries the caller may read — every one for an auditor,
    /// for clerks and supervisors those whose every line is in their branch —
    /// newest proposal first, `status` only if given, reasons and notes
    /// masked. An unreadable entry is skipped with a warning.
    pub async fn list_disposals(
        &self,
        caller: &Permitted<perm::DisposalsRead>,
        status: Option<DisposalStatus>,
    ) -> Result<Vec<Disposal>> {
        let (ctx, p) = (caller.ctx(), caller.principal());
        let auditor = p.roles.contains(&Role::Auditor);
        let mut found: Vec<Disposal> = self
            .disposals_where(Damaged::Skip, |d| {
                status.is_none_or(|s| d.status == s) && (auditor || d.covered_by(&p.branch))
            })
            .await?
            .into_iter()
            .map(Disposal::masked)
            .collect();
        found.sort_by_key(|d| std::cmp::Reverse(d.proposed_at));
        self.audit
            .record(
                ctx.event("disposal.list", Outcome::Allowed)
                    .detail(json!({"status": status, "disposals": found.len()})),
            )
            .await?;
        Ok(found)
    }

    /// The documents on legal hold that the caller may see, by archive number.
    pub async fn legal_holds(
        &self,
        caller: &Permitted<perm::DocumentsHold>,
    ) -> Result<Vec<HeldDocument>> {
        let (ctx, p) = (caller.ctx(), caller.principal());
        let mut held = vec![];
        for id in self.catalog.held() {
            let Some(m) = self.catalog.get(id).await? else {
                continue;
            };
            let Some(hold) = &m.legal_hold else { continue };
            if !self.policy.can_see(p, crate::archive::scope(&m)) {
                continue;
            }
            held.push(HeldDocument {
                document: DocumentSummary::of(&m),
                hold_reason: crate::domain::free_text::mask_free_text(&hold.reason).0,
                held_by: hold.set_by.clone(),
                held_at: hold.set_at,
            });
        }
        held.sort_by(|a, b| a.document.archive_no.cmp(&b.document.archive_no));
        self.audit
            .record(
                ctx.event("legal_hold.list", Outcome::Allowed)
                    .detail(json!({"documents": held.len()})),
            )
            .await?;
        Ok(held)
    }
}
