//! The supervisor's approval queue (调阅审批, spec §3): the requests they may
//! decide — touching their branch, never their own, and for a document not
//! above their clearance (a supervisor who cannot approve it is not shown
//! that it exists) — and the grants they may revoke that are still running.

use serde::Serialize;
use serde_json::json;

use super::{AccessRequest, AccessRequests, Status, decidable_by, shown};
use crate::audit::Outcome;
use crate::auth::Principal;
use crate::auth::guard::{Permitted, perm};
use crate::error::Result;

/// What a supervisor has to decide, and what they may still revoke.
#[derive(Debug, Serialize)]
pub struct Queue {
    /// Pending requests, first asked first.
    pub pending: Vec<AccessRequest>,
    /// Approved requests whose grant has not expired, soonest to end first.
    pub running: Vec<AccessRequest>,
}

impl AccessRequests {
    /// Whether a decider `p` may see `r` at all: it touches their branch, is
    /// not theirs, and names no document above their clearance.
    pub(super) async fn before_decider(&self, r: &AccessRequest, p: &Principal) -> Result<bool> {
        if r.requester == p.username || !decidable_by(r, &p.branch) {
            return Ok(false);
        }
        Ok(match r.document_id {
            Some(id) => self
                .catalog
                .get(id)
                .await?
                .is_none_or(|m| m.confidentiality <= p.clearance),
            None => true,
        })
    }

    /// The caller's approval queue. Recorded (`access.queue`).
    pub async fn queue(&self, caller: &Permitted<perm::AccessDecide>) -> Result<Queue> {
        let (ctx, p) = (caller.ctx(), caller.principal());
        let now = self.clock.now();
        let (mut pending, mut running) = (vec![], vec![]);
        for r in self.access.all().await {
            let list = match r.status {
                Status::Pending => &mut pending,
                Status::Approved if r.expires_at.is_some_and(|e| e > now) => &mut running,
                _ => continue,
            };
            if !self.before_decider(&r, p).await? {
                continue;
            }
            // Which other branches hold the vehicle is not theirs to know.
            let mut r = shown(r);
            r.branches.retain(|b| p.branch.covers(b));
            list.push(r);
        }
        pending.sort_by_key(|r| r.created_at);
        running.sort_by_key(|r| r.expires_at);
        self.audit
            .record(
                ctx.event("access.queue", Outcome::Allowed)
                    .detail(json!({"pending": pending.len(), "running": running.len()})),
            )
            .await?;
        Ok(Queue { pending, running })
    }
}
