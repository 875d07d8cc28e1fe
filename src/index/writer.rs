//! The index's one writer thread: it takes changes from its queue, commits
//! them in batches, retries a commit that failed (a full disk) until it
//! succeeds, and purges deleted documents from the files when asked.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use tantivy::{IndexReader, IndexWriter, TantivyDocument, Term};
use tokio::sync::oneshot;

use super::schema::Fields;
use super::{COMMIT_INTERVAL, DRAIN_AT_ONCE, purge};

/// A change or a request sent to the writer.
pub(super) enum Op {
    Upsert(Box<TantivyDocument>, String),
    Delete(String),
    DeleteAll,
    /// Commit now and answer when the commit is visible to searches.
    Flush(oneshot::Sender<()>),
    /// Answer once every change sent before has reached the writer (no commit).
    Taken(oneshot::Sender<()>),
    /// Commit, then merge away every deleted document (see `purge`).
    Purge(oneshot::Sender<std::result::Result<usize, String>>),
}

pub(super) fn run_writer(
    mut writer: IndexWriter,
    reader: IndexReader,
    fields: Fields,
    rx: mpsc::Receiver<Op>,
) {
    // Changes since the last successful commit. A commit can fail (a full disk);
    // tantivy then drops them, so they are rolled back and applied again, and the
    // commit is retried until it succeeds, without a restart.
    let mut journal: Vec<Op> = Vec::new();
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    let mut purging: Vec<oneshot::Sender<std::result::Result<usize, String>>> = Vec::new();
    let mut oldest_pending: Option<Instant> = None;
    let mut retry_after = COMMIT_INTERVAL;
    loop {
        let timeout = match oldest_pending {
            Some(t) => retry_after.saturating_sub(t.elapsed()),
            None => Duration::from_secs(3600),
        };
        let mut disconnected = false;
        let mut take = |op: Op, journal: &mut Vec<Op>| match op {
            Op::Flush(tx) => waiting.push(tx),
            Op::Purge(tx) => purging.push(tx),
            Op::Taken(tx) => {
                let _ = tx.send(());
            }
            op => {
                apply(&mut writer, &fields, &op);
                journal.push(op);
            }
        };
        match rx.recv_timeout(timeout) {
            Ok(op) => {
                take(op, &mut journal);
                // A bounded batch: under a steady stream (catch-up) the queue
                // never empties, and commits must still come due, or the
                // journal would keep every document until the stream ends.
                for op in rx.try_iter().take(DRAIN_AT_ONCE) {
                    take(op, &mut journal);
                }
                if !journal.is_empty() && oldest_pending.is_none() {
                    oldest_pending = Some(Instant::now());
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => disconnected = true,
        }
        let due = oldest_pending.is_some_and(|t| t.elapsed() >= retry_after);
        if !journal.is_empty()
            && (due || !waiting.is_empty() || !purging.is_empty() || disconnected)
        {
            match writer.commit() {
                Ok(_) => {
                    if let Err(e) = reader.reload() {
                        tracing::error!(error = %e, "index reader reload failed");
                    }
                    journal.clear();
                    oldest_pending = None;
                    retry_after = COMMIT_INTERVAL;
                }
                Err(e) => {
                    tracing::error!(error = %e, pending = journal.len(), "index commit failed; retrying");
                    if let Err(e) = writer.rollback() {
                        tracing::error!(error = %e, "index rollback failed");
                    }
                    // The failed commit may have left files behind (a `.del`
                    // file of a deterministic name); the retry would find them.
                    if let Err(e) = writer.garbage_collect_files().wait() {
                        tracing::error!(error = %e, "index garbage collection failed");
                    }
                    // A purge cannot wait for the disk: its caller is told now
                    // and retries (see `Records::retry_purges`).
                    for tx in purging.drain(..) {
                        let _ = tx.send(Err(format!("index commit failed: {e}")));
                    }
                    for op in &journal {
                        apply(&mut writer, &fields, op);
                    }
                    oldest_pending = Some(Instant::now());
                    retry_after = (retry_after * 2).min(Duration::from_secs(5));
                }
            }
        }
        for tx in waiting.drain(..) {
            let _ = tx.send(());
        }
        if !purging.is_empty() && journal.is_empty() {
            let result = purge::compact(&mut writer, &reader);
            if let Err(e) = &result {
                tracing::error!(error = %e, "purging deleted documents from the index failed");
            }
            for tx in purging.drain(..) {
                let _ = tx.send(result.clone());
            }
        }
        if disconnected {
            return;
        }
    }
}

/// Applies one change to the writer (not yet committed).
fn apply(writer: &mut IndexWriter, fields: &Fields, op: &Op) {
    match op {
        Op::Upsert(doc, id) => {
            writer.delete_term(Term::from_field_text(fields.id, id));
            if let Err(e) = writer.add_document(doc.as_ref().clone()) {
                tracing::error!(error = %e, "index add failed");
            }
        }
        Op::Delete(id) => {
            writer.delete_term(Term::from_field_text(fields.id, id));
        }
        Op::DeleteAll => {
            if let Err(e) = writer.delete_all_documents() {
                tracing::error!(error = %e, "index clear failed");
            }
        }
        Op::Flush(_) | Op::Taken(_) | Op::Purge(_) => {}
    }
}
