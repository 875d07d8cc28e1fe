//! Which documents a caller may see, and the start of every change: the
//! per-document rules of spec §3 (branch, clearance, an active grant 调阅)
//! applied the same way for every service, with the refusal recorded. A
//! caller who may not see a document gets "not found", never a hint that it
//! exists.

use std::sync::Arc;

use super::access::{AccessStore, Grant};
use super::catalog::{self, Catalog};
use super::change::ChangeKind;
use super::scope;
use crate::audit::{AuditLog, Context, Outcome};
use crate::auth::policy::Subject;
use crate::auth::{Policy, Principal};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::storage::manifest::Manifest;

/// The parts the visibility rules read.
pub(super) struct Gate {
    pub catalog: Arc<Catalog>,
    pub policy: Policy,
    pub audit: AuditLog,
    pub access: Arc<AccessStore>,
    pub clock: Arc<dyn Clock>,
}

impl Gate {
    /// The caller's grant for `m`, if any, at the archive's clock.
    pub(super) async fn grant_for(&self, p: &Principal, m: &Manifest) -> Grant {
        self.access.grant_for(p, m, self.clock.now()).await
    }

    /// Ids of the documents the caller holds an active grant for (for search).
    pub(super) async fn granted_ids(&self, p: &Principal) -> Vec<String> {
        self.access
            .granted_ids(p, self.clock.now(), &self.catalog)
            .await
    }

    /// Whether the grant `id` was asked for with a purpose that needs contact data.
    pub(super) async fn grant_needs_contact(&self, id: &str) -> bool {
        self.access.needs_contact(id).await
    }

    /// Finds a document the caller may see — by branch and clearance, or through
    /// an active access grant (whose id is returned, to be recorded with the use).
    /// Anything else is "not found", so that existence does not leak; the refusal
    /// is recorded, saying when a grant has expired.
    pub(super) async fn visible(
        &self,
        ctx: &Context,
        p: &Principal,
        key: &str,
        action: &'static str,
    ) -> Result<(catalog::Entry, Option<String>)> {
        let Some(entry) = self.catalog.resolve(key).await? else {
            if self.catalog.is_damaged(key) {
                let detail = serde_json::json!({"reason": "manifest damaged", "document": key});
                self.audit
                    .record(ctx.event(action, Outcome::Error).detail(detail))
                    .await?;
                return Err(Error::integrity(format!(
                    "the manifest of document {key} failed its integrity check"
                )));
            }
            let detail = serde_json::json!({"reason": "unknown document", "key": crate::domain::people::truncate(key, 64)});
            self.audit
                .record(ctx.event(action, Outcome::Denied).detail(detail))
                .await?;
            return Err(Error::not_found("document"));
        };
        let m = entry.manifest.clone();
        let grant = match self.grant_for(p, &m).await {
            Grant::Active(id) => Some(id),
            Grant::Expired(id) if !self.policy.can_see(p, scope(&m)) => {
                let detail = serde_json::json!({"reason": "access grant expired", "grant": id});
                self.audit
                    .record(
                        ctx.event("grant.expired", Outcome::Denied)
                            .document(m.id, &m.archive_no, m.vin())
                            .detail(detail),
                    )
                    .await?;
                return Err(Error::not_found("document"));
            }
            _ => None,
        };
        if grant.is_some() || self.policy.can_see(p, scope(&m)) {
            return Ok((entry, grant));
        }
        let detail = serde_json::json!({"reason": "not visible"});
        self.audit
            .record(
                ctx.event(action, Outcome::Denied)
                    .document(m.id, &m.archive_no, m.vin())
                    .detail(detail),
            )
            .await?;
        Err(Error::not_found("document"))
    }

    /// The start of every change to a document: find it as the caller may see it,
    /// take its lock, read its current manifest, and refuse (with a record) a
    /// caller who may not read its content in their own right. A grant lets one
    /// read, never change.
    pub(super) async fn open_for_change(
        &self,
        ctx: &Context,
        p: &Principal,
        key: &str,
        action: &'static str,
    ) -> Result<(tokio::sync::OwnedMutexGuard<()>, Arc<Manifest>)> {
        let (entry, _) = self.visible(ctx, p, key, action).await?;
        let guard = entry.lock.clone().lock_owned().await;
        let current = self
            .catalog
            .resolve(key)
            .await?
            .ok_or_else(|| Error::not_found("document"))?
            .manifest;
        if !self.can_read_content(p, &current) {
            self.audit
                .record(ctx.event(action, Outcome::Denied).document(
                    current.id,
                    &current.archive_no,
                    current.vin(),
                ))
                .await?;
            return Err(Error::forbidden("you may not change this document"));
        }
        Ok((guard, current))
    }

    pub(super) fn can_read_content(&self, who: &impl Subject, m: &Manifest) -> bool {
        self.policy.can_read_content(who, scope(m))
    }

    /// [`Self::open_for_change`] for a change that needs a reason: also checks
    /// the reason, recording a bad one as an error of `kind`. Returns the
    /// document's lock, its current manifest and the reason as kept.
    pub(super) async fn open_with_reason(
        &self,
        ctx: &Context,
        p: &Principal,
        key: &str,
        kind: ChangeKind,
        reason: &str,
    ) -> Result<(tokio::sync::OwnedMutexGuard<()>, Arc<Manifest>, String)> {
        let (guard, current) = self.open_for_change(ctx, p, key, kind.action()).await?;
        match super::check_reason(reason) {
            Ok(reason) => Ok((guard, current, reason)),
            Err(e) => Err(self.failed(ctx, kind, &current, e).await),
        }
    }

    /// Records that the change `kind` to `m` failed with `e` (its code only),
    /// and returns `e` — or the log's error, if the record cannot be written.
    pub(super) async fn failed(
        &self,
        ctx: &Context,
        kind: ChangeKind,
        m: &Manifest,
        e: Error,
    ) -> Error {
        let event = ctx
            .event(kind.action(), Outcome::Error)
            .document(m.id, &m.archive_no, m.vin())
            .detail(serde_json::json!({"code": e.code}));
        match self.audit.record(event).await {
            Ok(_) => e,
            Err(logged) => logged,
        }
    }
}
