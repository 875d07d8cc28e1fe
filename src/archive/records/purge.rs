//! The retry of an index purge that failed after a disposal (spec §6: no
//! index file may keep a disposed document's text, title or personal data).
//! The batch's register entry carries `purge_pending` until a purge succeeds.

use std::sync::atomic::Ordering;

use serde_json::json;

use super::Records;
use super::disposal::Damaged;
use crate::audit::{Context, Outcome};
use crate::error::{Error, Result};

impl Records {
    /// Purges the index of executed batches whose purge failed, and clears
    /// their mark; each settled batch is recorded (`disposal.purged`). Does no
    /// I/O unless a purge may be pending: since the start (once), or since a
    /// purge failed. Returns how many batches were settled.
    ///
    /// # Errors
    /// The store's, or the index's (the batches stay marked, to be retried).
    pub async fn retry_purges(&self, ctx: &Context) -> Result<usize> {
        if !self.purge_due.swap(false, Ordering::SeqCst) {
            return Ok(0);
        }
        let settled = self.settle_purges(ctx).await;
        if settled.is_err() {
            self.purge_due.store(true, Ordering::SeqCst);
        }
        settled
    }

    async fn settle_purges(&self, ctx: &Context) -> Result<usize> {
        // One damaged entry must not hold back the purge the others owe.
        let pending = self
            .disposals_where(Damaged::Skip, |d| d.purge_pending)
            .await?;
        if pending.is_empty() {
            return Ok(0);
        }
        self.index
            .purge(&[])
            .await
            .map_err(|e| Error::internal(format!("the index purge failed again: {e}")))?;
        for mut d in pending.iter().cloned() {
            d.purge_pending = false;
            self.audit
                .record(
                    ctx.event("disposal.purged", Outcome::Allowed)
                        .detail(json!({"disposal": d.id, "documents": d.documents.len()})),
                )
                .await?;
            self.save_disposal(&d).await?;
        }
        tracing::info!(
            batches = pending.len(),
            "disposed documents purged from the index after a retry"
        );
        Ok(pending.len())
    }
}
