//! Retention and legal hold: which records are past their retention period, and
//! the holds that keep a record whatever its retention says.

use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;

use super::Records;
use crate::archive::change::ChangeKind;
use crate::archive::views::{DocumentSummary, DocumentView};
use crate::audit::Outcome;
use crate::auth::guard::{Permitted, perm};
use crate::error::{Code, Error, Result};
use crate::storage::manifest::LegalHold;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldRequest {
    pub hold: bool,
    pub reason: String,
}

impl Records {
    /// Sets or lifts a legal hold (a supervisor of the document's branch).
    pub async fn legal_hold(
        &self,
        caller: &Permitted<perm::DocumentsHold>,
        key: &str,
        request: HoldRequest,
    ) -> Result<DocumentView> {
        let ctx = caller.ctx();
        let p = caller.principal().clone();
        let kind = ChangeKind::LegalHold;
        let (_guard, m, reason) = self
            .gate
            .open_with_reason(ctx, &p, key, kind, &request.reason)
            .await?;
        let event = |outcome| {
            ctx.event(kind.action(), outcome)
                .document(m.id, &m.archive_no, m.vin())
        };
        if request.hold == m.legal_hold.is_some() {
            let state = if request.hold {
                "already on hold"
            } else {
                "not on hold"
            };
            self.audit
                .record(event(Outcome::Error).detail(json!({"code": Code::NoChange})))
                .await?;
            return Err(Error::new(
                Code::NoChange,
                format!("the document is {state}"),
            ));
        }
        let mut next = (*m).clone();
        next.legal_hold = request.hold.then(|| LegalHold {
            reason: reason.clone(),
            set_by: p.username.clone(),
            set_at: Utc::now(),
        });
        next.revision += 1;
        let text = self.contents.text_of(&next).await;
        let event = event(Outcome::Allowed).detail(json!({"hold": request.hold, "reason": reason}));
        self.changes
            .write(ChangeKind::LegalHold, event, next, &text)
            .await
    }

    /// Documents the caller may see whose retention ended before `as_of` (today by
    /// default) and that are not on legal hold, oldest first.
    pub async fn retention_due(
        &self,
        caller: &Permitted<perm::RetentionRead>,
        as_of: Option<NaiveDate>,
    ) -> Result<Vec<DocumentSummary>> {
        let ctx = caller.ctx();
        let p = caller.principal().clone();
        let today = as_of.unwrap_or_else(|| self.calendar.day_of(self.clock.now()));
        let mut due = vec![];
        for id in self.catalog.retention_ended(today) {
            if let Some(m) = self.catalog.get(id).await?
                && m.retention_until < today
                && m.legal_hold.is_none()
                && self.policy.can_see(&p, crate::archive::scope(&m))
            {
                due.push(m);
            }
        }
        due.sort_by_key(|m| (m.retention_until, m.archive_no.to_string()));
        self.audit
            .record(
                ctx.event("retention.due", Outcome::Allowed)
                    .detail(json!({"as_of": today, "documents": due.len()})),
            )
            .await?;
        Ok(due.iter().map(|m| DocumentSummary::of(m)).collect())
    }
}
