//! The records service: legal hold and retention ([`retention`]), disposal
//! 销毁 by batch with a second person's approval ([`disposal`]), and the
//! disposal register's exports ([`register`]), and the lists of the register
//! and of held documents the desks work from ([`listing`]).

pub mod disposal;
pub mod listing;
mod purge;
pub mod register;
pub mod retention;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::catalog::Catalog;
use super::change::ChangeWriter;
use super::content::Contents;
use super::gate::Gate;
use crate::audit::AuditLog;
use crate::auth::Policy;
use crate::clock::Clock;
use crate::domain::calendar::Calendar;
use crate::index::SearchIndex;
use crate::storage::BlobStore;
use crate::storage::envelope::Keyring;

/// Legal hold, retention and disposal.
pub struct Records {
    pub(super) gate: Arc<Gate>,
    pub(super) contents: Arc<Contents>,
    pub(super) changes: Arc<ChangeWriter>,
    pub(super) audit: AuditLog,
    pub(super) catalog: Arc<Catalog>,
    pub(super) index: Arc<SearchIndex>,
    /// The disposal register's entries are sealed objects of their own.
    pub(super) blob: BlobStore,
    pub(super) keyring: Arc<Keyring>,
    pub(super) policy: Policy,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) calendar: Calendar,
    /// Whether an executed batch may still await its index purge: true from
    /// the start (until the register is read once) and after a failed purge.
    pub(super) purge_due: AtomicBool,
}
