//! Document changes under way, each with the retrieval log's head when it
//! began: a catalog snapshot is consistent only up to the earliest change not
//! yet shown by the catalog (see `snapshot` and `archive::change`).

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::archive::change::ChangeKind;
use crate::audit::{AuditLog, Head};

/// Changes under way, each with the log head it began at.
#[derive(Default)]
pub struct Changes {
    state: Mutex<ChangeState>,
}

#[derive(Default)]
struct ChangeState {
    next: u64,
    open: BTreeMap<u64, Head>,
    /// The earliest start of a change that ended without reaching the catalog.
    held_back: Option<Head>,
}

/// One change under way; [`Change::done`] once the catalog shows it.
pub struct Change<'a> {
    changes: &'a Changes,
    key: u64,
    done: bool,
}

impl Changes {
    /// Registers a change about to write its log record for `action`.
    pub fn begin(&self, _kind: ChangeKind, log: &AuditLog) -> Change<'_> {
        let mut state = self.state.lock().expect("changes lock");
        let key = state.next;
        state.next += 1;
        state.open.insert(key, log.head());
        Change {
            changes: self,
            key,
            done: false,
        }
    }

    /// How many changes have begun so far.
    pub fn begun(&self) -> u64 {
        self.state.lock().expect("changes lock").next
    }

    /// The mark for a snapshot taken now, and whether no change is unfinished.
    pub(super) fn mark(&self, log: &AuditLog) -> (Head, bool) {
        let state = self.state.lock().expect("changes lock");
        // Read under the lock: a change that begins later starts at or after it.
        let head = log.head();
        let earliest = state
            .open
            .values()
            .chain(&state.held_back)
            .min_by_key(|h| h.seq)
            .cloned();
        match earliest {
            Some(h) if h.seq < head.seq => (h, false),
            Some(_) => (head, false),
            None => (head, true),
        }
    }
}

impl Change<'_> {
    pub fn done(mut self) {
        self.done = true;
    }
}

impl Drop for Change<'_> {
    fn drop(&mut self) {
        let mut state = self.changes.state.lock().expect("changes lock");
        let Some(start) = state.open.remove(&self.key) else {
            return;
        };
        if !self.done && state.held_back.as_ref().is_none_or(|h| start.seq < h.seq) {
            state.held_back = Some(start);
        }
    }
}
