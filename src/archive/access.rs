//! Access requests (调阅): asking for a document or a vehicle's whole archive with
//! a purpose, a supervisor of that branch (never the requester) deciding, and the
//! resulting grant, which expires by itself and can be revoked.
//!
//! Requests are kept as one sealed object (`system/access-requests`). A grant is
//! checked on every read; its use, and a refusal because it expired, are
//! recorded with the access.
//!
//! Rules of spec §3:
//! - asking reveals nothing: the answer to a request carries no archive number,
//!   VIN or branch the requester may not already see, and a request for a
//!   document that does not exist is taken like any other (no supervisor will
//!   ever see it);
//! - a supervisor decides only requests touching their branch, approves a
//!   document only at or below their clearance, and a grant — for a document or
//!   a whole vehicle, documents filed later included — covers only documents in
//!   the approver's branch scope and clearance.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use object_store::path::Path;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::{Mutex, RwLock};

use super::catalog::Catalog;
use crate::audit::{AuditLog, Outcome};
use crate::auth::guard::{Permitted, perm};
use crate::auth::{Action, Policy, Principal};
use crate::clock::Clock;
use crate::domain::{Branch, DocumentId, Level, Vin};
use crate::error::{Code, Error, Result};
use crate::storage::envelope::Keyring;
use crate::storage::manifest::Manifest;
use crate::storage::{BlobStore, read_sealed, write_sealed};

mod queue;

pub use queue::Queue;

const OBJECT: &str = "system/access-requests";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Approved,
    Rejected,
    Revoked,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRequest {
    pub id: String,
    pub requester: String,
    pub document_id: Option<DocumentId>,
    pub archive_no: Option<String>,
    pub vin: Option<String>,
    /// Branches of the documents asked for: the deciding supervisor must cover all.
    pub branches: Vec<Branch>,
    pub purpose: String,
    /// The purpose needs the customer's contact data (see schema/masking.toml).
    #[serde(default)]
    pub contact: bool,
    pub days: u32,
    pub status: Status,
    pub created_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub note: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    /// The document id or archive number the requester gave, as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asked_for: Option<String>,
    /// The approver's branch and clearance: what the grant may ever cover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<GrantScope>,
}

/// What a grant covers at most: its approver's branch scope and clearance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantScope {
    pub branch: Branch,
    pub clearance: Level,
}

/// What a requester sends.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    pub document_id: Option<String>,
    pub vin: Option<String>,
    pub purpose: String,
    pub days: Option<u32>,
    /// Ask to see the customer's phone and ID number unmasked.
    pub contact: Option<bool>,
}

#[derive(Debug, Clone, Copy)]
pub struct AccessLimits {
    pub default_days: u32,
    pub max_days: u32,
}

pub struct AccessStore {
    blob: BlobStore,
    keyring: Arc<Keyring>,
    requests: RwLock<Vec<AccessRequest>>,
    write: Mutex<()>,
}

impl AccessStore {
    pub async fn load(blob: BlobStore, keyring: Arc<Keyring>) -> Result<Self> {
        let requests = read_sealed(&blob, &keyring, &Path::from(OBJECT), "access requests")
            .await?
            .unwrap_or_default();
        Ok(AccessStore {
            blob,
            keyring,
            requests: RwLock::new(requests),
            write: Mutex::new(()),
        })
    }

    async fn save(&self, list: Vec<AccessRequest>) -> Result<()> {
        write_sealed(&self.blob, &self.keyring, &Path::from(OBJECT), &list).await?;
        *self.requests.write().await = list;
        Ok(())
    }

    pub async fn all(&self) -> Vec<AccessRequest> {
        self.requests.read().await.clone()
    }
}

/// A caller's standing for one document through grants.
pub enum Grant {
    Active(String),
    Expired(String),
    None,
}

/// Whether request `r`, as approved, covers `m`. A request names one document
/// (its `vin` is then only informative) or, without a document, a vehicle's
/// whole archive; either way only within the approver's scope.
fn covers(r: &AccessRequest, m: &Manifest) -> bool {
    let named = match r.document_id {
        Some(id) => id == m.id,
        None => r.vin.is_some() && r.vin.as_deref() == m.vin(),
    };
    let in_scope = match &r.scope {
        Some(s) => s.branch.covers(&m.branch) && m.confidentiality <= s.clearance,
        // Approved before scopes were kept: the branches asked for, at the time.
        None => r.branches.contains(&m.branch),
    };
    named && in_scope
}

/// `r` as an answer shows it: personal data typed into its purpose or note
/// masked (spec §3).
fn shown(mut r: AccessRequest) -> AccessRequest {
    use crate::domain::free_text::mask_free_text;
    r.purpose = mask_free_text(&r.purpose).0;
    r.note = r.note.map(|n| mask_free_text(&n).0);
    r
}

/// Whether a supervisor of `branch` has a say in `r`: some document it names is
/// in their branch scope. A request naming nothing that exists has no decider.
fn decidable_by(r: &AccessRequest, branch: &Branch) -> bool {
    r.branches.iter().any(|b| branch.covers(b))
}

impl AccessStore {
    /// Whether the grant `id` was asked for with a purpose that needs contact data.
    pub(super) async fn needs_contact(&self, id: &str) -> bool {
        self.requests
            .read()
            .await
            .iter()
            .any(|r| r.id == id && r.contact)
    }

    /// The caller's grant for `m`, if any, at the archive's clock.
    pub(super) async fn grant_for(&self, p: &Principal, m: &Manifest, now: DateTime<Utc>) -> Grant {
        let mut expired = None;
        for r in self.requests.read().await.iter() {
            if r.requester != p.username || r.status != Status::Approved || !covers(r, m) {
                continue;
            }
            match r.expires_at {
                Some(t) if t > now => return Grant::Active(r.id.clone()),
                _ => expired = Some(r.id.clone()),
            }
        }
        expired.map_or(Grant::None, Grant::Expired)
    }

    /// Ids of the documents the caller holds an active grant for (for search).
    pub(super) async fn granted_ids(
        &self,
        p: &Principal,
        now: DateTime<Utc>,
        catalog: &Catalog,
    ) -> Vec<String> {
        let active: Vec<AccessRequest> = self
            .requests
            .read()
            .await
            .iter()
            .filter(|r| {
                r.requester == p.username
                    && r.status == Status::Approved
                    && r.expires_at.is_some_and(|t| t > now)
            })
            .cloned()
            .collect();
        let mut ids = vec![];
        for r in active {
            let named = match (&r.document_id, &r.vin) {
                (Some(id), _) => vec![*id],
                (None, Some(vin)) => catalog.ids_by_vin(vin),
                (None, None) => vec![],
            };
            for id in named {
                if let Ok(Some(m)) = catalog.get(id).await
                    && covers(&r, &m)
                {
                    ids.push(id.to_string());
                }
            }
        }
        ids
    }
}

/// The access-request use cases (调阅): ask, list, decide.
pub struct AccessRequests {
    pub(super) access: Arc<AccessStore>,
    pub(super) catalog: Arc<Catalog>,
    pub(super) policy: Policy,
    pub(super) audit: AuditLog,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) access_limits: AccessLimits,
}

impl AccessRequests {
    /// `r` as its requester may see it: what they asked for, never details of
    /// a document they may not already see (spec §3, "asking reveals nothing").
    async fn as_requester_sees(&self, p: &Principal, mut r: AccessRequest) -> AccessRequest {
        let visible = match r.document_id {
            Some(id) => matches!(
                self.catalog.get(id).await,
                Ok(Some(m)) if self.policy.can_see(p, crate::archive::scope(&m))
            ),
            None => false,
        };
        if !visible {
            r.archive_no = None;
            r.branches = vec![];
            if r.asked_for.is_some() {
                // Asked by document: its id and VIN are the archive's to keep.
                r.document_id = None;
                r.vin = None;
            }
        }
        r.scope = None;
        shown(r)
    }

    pub async fn request_access(
        &self,
        caller: &Permitted<perm::AccessRequest>,
        new: NewRequest,
    ) -> Result<AccessRequest> {
        let ctx = caller.ctx();
        let p = caller.principal().clone();
        let purpose = crate::archive::check_reason(&new.purpose).map_err(|_| {
            Error::new(
                Code::PurposeRequired,
                "purpose: say what the access is for (1-1000 characters)",
            )
        })?;
        let days = new.days.unwrap_or(self.access_limits.default_days);
        if days == 0 || days > self.access_limits.max_days {
            return Err(Error::new(
                Code::InvalidDays,
                format!("days: 1 to {}", self.access_limits.max_days),
            ));
        }
        // Whether or not the target exists, the request is taken the same way;
        // one naming nothing that exists has no branches, so no decider.
        let (document_id, archive_no, vin, branches) = match (&new.document_id, &new.vin) {
            (Some(key), None) => match self.catalog.resolve(key).await? {
                Some(entry) => {
                    let m = &entry.manifest;
                    (
                        Some(m.id),
                        Some(m.archive_no.to_string()),
                        m.vin().map(str::to_string),
                        vec![m.branch.clone()],
                    )
                }
                None => (None, None, None, vec![]),
            },
            (None, Some(vin)) => {
                let vin = Vin::parse(vin)
                    .map_err(|e| Error::new(Code::InvalidRequest, format!("vin: {e}")))?;
                let docs = self.catalog.by_vin(vin.as_str()).await?;
                let mut branches: Vec<Branch> = docs.iter().map(|m| m.branch.clone()).collect();
                branches.sort();
                branches.dedup();
                (None, None, Some(vin.to_string()), branches)
            }
            _ => {
                return Err(Error::new(
                    Code::InvalidRequest,
                    "give either document_id or vin",
                ));
            }
        };
        let request = AccessRequest {
            id: uuid::Uuid::new_v4().to_string(),
            requester: p.username.clone(),
            document_id,
            archive_no: archive_no.clone(),
            vin: vin.clone(),
            branches,
            purpose: purpose.clone(),
            contact: new.contact.unwrap_or(false),
            days,
            status: Status::Pending,
            created_at: self.clock.now(),
            decided_by: None,
            decided_at: None,
            note: None,
            expires_at: None,
            asked_for: new
                .document_id
                .as_deref()
                .map(|k| crate::domain::people::truncate(k, 64)),
            scope: None,
        };
        let mut event = ctx
            .event("access.request", Outcome::Allowed)
            .detail(json!({"request": request.id, "days": days}));
        event.document = document_id.map(|d| d.to_string());
        event.archive_no = archive_no;
        event.vin = vin;
        event.purpose = Some(purpose);
        self.audit.record(event).await?;
        let _guard = self.access.write.lock().await;
        let mut list = self.access.all().await;
        list.push(request.clone());
        self.access.save(list).await?;
        Ok(self.as_requester_sees(&p, request).await)
    }

    /// The caller's own requests, and, for supervisors, those they may decide
    /// (touching their branch, not above their clearance).
    pub async fn list_access(
        &self,
        caller: &Permitted<perm::AccessRequest>,
        status: Option<Status>,
    ) -> Result<Vec<AccessRequest>> {
        let ctx = caller.ctx();
        let p = caller.principal().clone();
        let decides = self.policy.permits(&p.roles, Action::AccessDecide);
        let mut list = vec![];
        for r in self.access.all().await {
            if status.is_some_and(|s| r.status != s) {
                continue;
            }
            // Supervisors see the details of what they may decide; requesters
            // see their own requests as they asked them.
            if decides && self.before_decider(&r, &p).await? {
                // Which other branches hold the vehicle is not theirs to know.
                let mut r = shown(r);
                r.branches.retain(|b| p.branch.covers(b));
                list.push(r);
            } else if r.requester == p.username {
                list.push(self.as_requester_sees(&p, r).await);
            }
        }
        self.audit
            .record(
                ctx.event("access.list", Outcome::Allowed)
                    .detail(json!({"requests": list.len()})),
            )
            .await?;
        Ok(list)
    }

    /// Approves, rejects or revokes a request. An approval may grant fewer
    /// `days` than were asked (1 to the days asked; the asked days if
    /// `None`); only an approval takes days (`invalid_days` otherwise).
    pub async fn decide(
        &self,
        caller: &Permitted<perm::AccessDecide>,
        id: &str,
        to: Status,
        note: Option<String>,
        days: Option<u32>,
    ) -> Result<AccessRequest> {
        let ctx = caller.ctx();
        let p = caller.principal().clone();
        let action = match to {
            Status::Approved => "access.approve",
            Status::Rejected => "access.reject",
            _ => "access.revoke",
        };
        if days.is_some() && to != Status::Approved {
            return Err(Error::new(
                Code::InvalidDays,
                "days: only an approval grants days",
            ));
        }
        if note.as_ref().is_some_and(|n| n.chars().count() > 1000) {
            return Err(Error::new(
                Code::InvalidNote,
                "note: at most 1000 characters",
            ));
        }
        let _guard = self.access.write.lock().await;
        let mut list = self.access.all().await;
        let Some(r) = list.iter_mut().find(|r| r.id == id) else {
            return Err(Error::not_found("access request"));
        };
        let event = |outcome| {
            let mut e = ctx.event(action, outcome).detail(
                json!({"request": r.id, "requester": r.requester, "note": note, "days": days}),
            );
            e.document = r.document_id.map(|d| d.to_string());
            e.archive_no = r.archive_no.clone();
            e.vin = r.vin.clone();
            e.purpose = Some(r.purpose.clone());
            e
        };
        let level = match r.document_id {
            Some(id) => self.catalog.get(id).await?.map(|m| m.confidentiality),
            None => None,
        };
        let refusal = if r.requester == p.username {
            Some(Error::forbidden("nobody decides their own access request"))
        } else if !decidable_by(r, &p.branch) {
            Some(Error::forbidden(
                "only a supervisor of the document's branch decides this request",
            ))
        } else if days.is_some_and(|d| d == 0 || d > r.days) {
            Some(Error::new(
                Code::InvalidDays,
                format!("days: 1 to the {} days asked for", r.days),
            ))
        } else if to == Status::Approved && level.is_some_and(|l| l > p.clearance) {
            Some(Error::forbidden(
                "the document is above your clearance; a supervisor cleared for it must decide",
            ))
        } else {
            match (r.status, to) {
                (Status::Pending, Status::Approved | Status::Rejected)
                | (Status::Approved, Status::Revoked) => None,
                (from, _) => Some(Error::new(
                    Code::InvalidState,
                    format!("the request is {from:?}, it cannot become {to:?}").to_lowercase(),
                )),
            }
        };
        if let Some(e) = refusal {
            self.audit.record(event(Outcome::Denied)).await?;
            return Err(e);
        }
        let now = self.clock.now();
        r.status = to;
        r.decided_by = Some(p.username.clone());
        r.decided_at = Some(now);
        r.note = note.clone();
        if to == Status::Approved {
            r.days = days.unwrap_or(r.days);
            r.expires_at = Some(now + Duration::days(i64::from(r.days)));
            r.scope = Some(GrantScope {
                branch: p.branch.clone(),
                clearance: p.clearance,
            });
        }
        let decided = r.clone();
        self.audit.record(event(Outcome::Allowed)).await?;
        self.access.save(list).await?;
        Ok(shown(decided))
    }
}
