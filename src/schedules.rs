//! The server's background work, started once the parts are open: catalog
//! snapshots, the sweep for what a crash left, the fixity check, the retry
//! of a failed index purge after a disposal, the OCR of scans, and the
//! rotation of retired master keys. Each holds the application only weakly,
//! so a stopped server's state (and its index lock) is never kept alive.

use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::audit::Context;
use crate::open::AppState;

/// How often a running server snapshots its catalog when documents changed:
/// a crash then replays at most this long's changes at the next start.
const SNAPSHOT_EVERY: Duration = Duration::from_secs(300);

/// Starts every schedule the configuration asks for.
pub fn spawn_all(state: &Arc<AppState>) {
    // After reading every manifest, snapshot at once so the next start
    // need not; after a start from a snapshot, only once documents change.
    let first = if state.start.from_snapshot {
        SNAPSHOT_EVERY
    } else {
        Duration::ZERO
    };
    spawn_snapshots(Arc::downgrade(state), first);
    if state.start.from_snapshot && !state.start.after_clean_stop {
        spawn_sweep(state.clone());
    }
    let fixity = &state.config.fixity;
    if fixity.interval_hours > 0 {
        spawn_fixity(
            Arc::downgrade(state),
            Duration::from_secs(fixity.interval_hours * 3600),
            fixity.max_mb_per_sec * 1_000_000,
        );
    }
    spawn_purge_retry(Arc::downgrade(state));
    // OCR of scans, `ocr.workers` at once; the first also queues what a
    // previous run left pending.
    let recognition = &state.services.recognition;
    if recognition.available() {
        recognition.queue_pending();
        for _ in 0..state.config.ocr.workers.max(1) {
            spawn_ocr(Arc::downgrade(state));
        }
    }
    if state.services.maintenance.retired_keys() > 0 {
        // Retired keys are configured: rewrap what still uses them while serving.
        // An interrupted run resumes here at the next start.
        let maintenance = state.services.maintenance.clone();
        tokio::spawn(async move {
            let ctx = Context::anonymous("key-rotation".into(), "local".into());
            maintenance.run_rotation(&ctx).await;
        });
    }
}

fn spawn_fixity(state: Weak<AppState>, every: Duration, max_bytes_per_sec: u64) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await; // not at start: the first run comes one interval later
        loop {
            tick.tick().await;
            let Some(state) = state.upgrade() else { return };
            let ctx = Context::anonymous("fixity-schedule".into(), "local".into());
            let maintenance = &state.services.maintenance;
            match maintenance.fixity_check(&ctx, max_bytes_per_sec).await {
                Ok(r) if r.ok => tracing::info!(
                    versions = r.versions,
                    seconds = r.seconds,
                    "fixity check passed"
                ),
                Ok(r) => tracing::error!(damaged = r.damaged.len(), "fixity check found damage"),
                Err(e) => tracing::error!(error = ?e, "fixity check failed"),
            }
        }
    });
}

/// How often a pending index purge of disposed documents is retried (spec §6);
/// with none pending, a tick costs nothing.
const PURGE_RETRY_EVERY: Duration = Duration::from_secs(5);

fn spawn_purge_retry(state: Weak<AppState>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PURGE_RETRY_EVERY);
        loop {
            tick.tick().await;
            let Some(state) = state.upgrade() else { return };
            let ctx = Context::anonymous("index-purge".into(), "local".into());
            if let Err(e) = state.services.records.retry_purges(&ctx).await {
                tracing::warn!(error = ?e, "index purge of disposed documents still pending");
            }
        }
    });
}

/// Reads queued scans one after the other while the server runs.
fn spawn_ocr(state: Weak<AppState>) {
    let Some(queue) = state.upgrade().map(|s| s.services.recognition.queue()) else {
        return;
    };
    tokio::spawn(async move {
        loop {
            let id = queue.pop().await;
            let Some(app) = state.upgrade() else { return };
            let job = app.services.recognition.prepare(id).await;
            drop(app); // a stop need not wait for the OCR
            let read = match job {
                Ok(Some(job)) => job.read().await,
                Ok(None) => continue,
                Err(e) => {
                    tracing::error!(document = %id, error = ?e, "cannot read a scan for OCR; it is tried again at the next start");
                    continue;
                }
            };
            let Some(app) = state.upgrade() else { return };
            if let Err(e) = app.services.recognition.finish(read).await {
                tracing::error!(document = %id, error = ?e, "cannot write what OCR read; it is tried again at the next start");
            }
        }
    });
}

/// After a start from the snapshot of a stop that was not clean: removes what
/// interrupted writes left, while serving (listing a large store takes
/// minutes with a cold cache; nothing depends on the leftovers being gone).
fn spawn_sweep(state: Arc<AppState>) {
    let started = std::time::SystemTime::now();
    state.metrics.leftover_sweep_running.set(1);
    tokio::spawn(async move {
        match state.services.maintenance.sweep_leftovers(started).await {
            Ok(n) if n > 0 => {
                tracing::warn!(objects = n, "removed what interrupted writes left behind")
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = ?e, "sweep for leftovers of interrupted writes failed")
            }
        }
        state.metrics.leftover_sweep_running.set(0);
    });
}

fn spawn_snapshots(state: Weak<AppState>, first: Duration) {
    tokio::spawn(async move {
        let mut tick =
            tokio::time::interval_at(tokio::time::Instant::now() + first, SNAPSHOT_EVERY);
        // Started from a snapshot: write again only once documents changed.
        let mut saved = (!first.is_zero()).then_some(0);
        loop {
            tick.tick().await;
            let Some(state) = state.upgrade() else { return };
            let maintenance = &state.services.maintenance;
            let changes = maintenance.changes_begun();
            if saved == Some(changes) {
                continue;
            }
            match maintenance.save_snapshot(false).await {
                Ok(()) => saved = Some(changes),
                Err(e) => tracing::error!(error = ?e, "catalog snapshot failed"),
            }
        }
    });
}
