//! The use cases: file, add a version, correct, read, download, list a vehicle's
//! archive. This is the one place that owns the order of work — check the
//! caller's permission, write the retrieval-log record, then touch storage — so
//! no HTTP handler can skip a step. Nothing here knows about HTTP.

pub mod access;
pub mod catalog;
mod content;
pub mod disposal;
pub mod filing;
pub mod fixity;
mod reading;
pub mod register;
pub mod retention;
pub mod rotation;
mod search;
pub mod views;

use std::sync::Arc;

use bytes::Bytes;
use futures_util::Stream;

use crate::audit::{AuditLog, Context, Outcome};
use crate::auth::policy::{DocScope, Subject};
use crate::auth::{Action, Policy, Principal};
use crate::clock::Clock;
use crate::domain::Classification;
use crate::error::{Code, Error, Result};
use crate::index::SearchIndex;
use crate::storage::BlobStore;
use crate::storage::envelope::Keyring;
use crate::storage::manifest::Manifest;
use catalog::Catalog;

/// Size limits the use cases enforce.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_upload_bytes: u64,
    pub verify_before_send_bytes: u64,
}

/// A file arriving as a stream of pieces.
pub struct Upload<S> {
    pub filename: String,
    pub content_type: String,
    pub body: S,
}

pub trait UploadStream: Stream<Item = Result<Bytes>> + Unpin {}
impl<T: Stream<Item = Result<Bytes>> + Unpin> UploadStream for T {}

/// What an [`Archive`] is built from.
pub struct ArchiveParts {
    pub blob: BlobStore,
    pub keyring: Arc<Keyring>,
    pub catalog: Catalog,
    pub scheme: Classification,
    pub policy: Policy,
    pub audit: AuditLog,
    pub limits: Limits,
    pub index: Arc<SearchIndex>,
    pub access: access::AccessStore,
    pub access_limits: access::AccessLimits,
    pub masking: crate::domain::pii::Masking,
    pub clock: Arc<dyn Clock>,
    /// The text-extraction children: the only way uploaded bytes get parsed.
    pub extractor: Arc<crate::extract::pool::ExtractPool>,
    /// Whose calendar days archive numbers, retention and "today" count in.
    pub calendar: crate::domain::calendar::Calendar,
}

pub struct Archive {
    blob: BlobStore,
    keyring: Arc<Keyring>,
    catalog: Catalog,
    scheme: Classification,
    policy: Policy,
    audit: AuditLog,
    limits: Limits,
    index: Arc<SearchIndex>,
    access: access::AccessStore,
    access_limits: access::AccessLimits,
    masking: crate::domain::pii::Masking,
    clock: Arc<dyn Clock>,
    extractor: Arc<crate::extract::pool::ExtractPool>,
    calendar: crate::domain::calendar::Calendar,
    rotation: std::sync::Mutex<rotation::RotationState>,
}

impl Archive {
    pub fn new(parts: ArchiveParts) -> Self {
        let ArchiveParts {
            blob,
            keyring,
            catalog,
            scheme,
            policy,
            audit,
            limits,
            index,
            access,
            access_limits,
            masking,
            clock,
            extractor,
            calendar,
        } = parts;
        Archive {
            blob,
            keyring,
            catalog,
            scheme,
            policy,
            audit,
            limits,
            index,
            access,
            access_limits,
            masking,
            clock,
            extractor,
            calendar,
            rotation: Default::default(),
        }
    }

    pub fn index(&self) -> &SearchIndex {
        &self.index
    }

    /// The archive's calendar (spec §2).
    pub fn calendar(&self) -> crate::domain::calendar::Calendar {
        self.calendar
    }

    pub fn scheme(&self) -> &Classification {
        &self.scheme
    }

    /// The classification scheme in force, as a reader asks for it (recorded).
    pub async fn classification(&self, ctx: &Context) -> Result<&Classification> {
        self.audit
            .record(ctx.event("classification.read", Outcome::Allowed))
            .await?;
        Ok(&self.scheme)
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    fn principal<'a>(&self, ctx: &'a Context) -> Result<&'a Principal> {
        ctx.principal
            .as_ref()
            .ok_or_else(|| Error::new(Code::Unauthenticated, "a token is required"))
    }

    /// Refuses, with a record, a caller whose roles do not allow `action`.
    async fn require(&self, ctx: &Context, action: Action) -> Result<Principal> {
        let p = self.principal(ctx)?.clone();
        if self.policy.permits(&p.roles, action) {
            return Ok(p);
        }
        self.audit
            .record(
                ctx.event("permission.denied", Outcome::Denied)
                    .detail(serde_json::json!({"action": action.as_str()})),
            )
            .await?;
        Err(Error::forbidden(format!(
            "your roles do not allow {}",
            action.as_str()
        )))
    }

    /// Finds a document the caller may see; anything else is "not found", so that
    /// existence does not leak. The refusal is recorded.
    /// Finds a document the caller may see — by branch and clearance, or through
    /// an active access grant (whose id is returned, to be recorded with the use).
    /// Anything else is "not found", so that existence does not leak; the refusal
    /// is recorded, saying when a grant has expired.
    async fn visible(
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
            access::Grant::Active(id) => Some(id),
            access::Grant::Expired(id) if !self.policy.can_see(p, scope(&m)) => {
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
    async fn open_for_change(
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

    fn can_read_content(&self, who: &impl Subject, m: &Manifest) -> bool {
        self.policy.can_read_content(who, scope(m))
    }
}

fn scope(m: &Manifest) -> DocScope<'_> {
    DocScope {
        branch: &m.branch,
        level: m.confidentiality,
    }
}
