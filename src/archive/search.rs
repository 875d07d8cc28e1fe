//! Search and the search index's upkeep: what each caller may find, the text
//! that goes into the index, and catching the index up with the store.

use futures_util::StreamExt;
use serde_json::json;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::catalog::Catalog;
use super::content::Contents;
use super::gate::Gate;
use crate::audit::AuditLog;
use crate::audit::Outcome;
use crate::auth::Policy;
use crate::auth::guard::{Permitted, perm};
use crate::auth::{Action, Principal};
use crate::domain::{DocumentId, Role};
use crate::error::Result;
use crate::index::analysis::mask_pii;
use crate::index::{Indexed, SearchRequest, SearchResults, Visibility};

/// Documents read at once while the index catches up with the store.
const CATCH_UP_READS: usize = 8;
/// Documents queued for the index writer at most (twice this) during catch-up.
const CATCH_UP_QUEUE: usize = 256;

/// Search, and the search index's upkeep. Cheap to clone (shared parts), so
/// a rebuild can run as a task of its own.
#[derive(Clone)]
pub struct Search {
    pub(super) gate: Arc<Gate>,
    pub(super) contents: Arc<Contents>,
    pub(super) index: Arc<crate::index::SearchIndex>,
    pub(super) catalog: Arc<Catalog>,
    pub(super) audit: AuditLog,
    pub(super) policy: Policy,
    pub(super) scheme: Arc<crate::domain::Classification>,
    /// How the running catch-up or rebuild stands.
    pub(super) progress: Arc<Progress>,
}

/// Counters of the index's catch-up: documents to (re)index and done so far,
/// and whether an administrator's rebuild is running.
#[derive(Debug, Default)]
pub struct Progress {
    rebuilding: AtomicBool,
    total: AtomicUsize,
    done: AtomicUsize,
}

/// A reading of [`Progress`].
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct RebuildState {
    pub rebuilding: bool,
    /// Documents of the last or running catch-up to (re)index.
    pub total: usize,
    /// Of which indexed so far.
    pub done: usize,
}

/// Clears the rebuilding flag however the rebuild ends.
struct Rebuilding(Arc<Progress>);

impl Drop for Rebuilding {
    fn drop(&mut self) {
        self.0.rebuilding.store(false, Ordering::SeqCst);
    }
}

impl Search {
    /// How many documents the search index holds.
    pub fn indexed_documents(&self) -> u64 {
        self.index.num_docs()
    }

    /// The classification scheme searches are checked against.
    pub fn scheme(&self) -> &crate::domain::Classification {
        &self.scheme
    }

    /// What `p` may find: content readers their branch up to their clearance
    /// (matching content text too); auditors every document's metadata only.
    fn visibility(&self, p: &Principal) -> Visibility {
        if p.roles.contains(&Role::Auditor) {
            return Visibility {
                branch: None,
                max_level: None,
                content: false,
                granted: vec![],
            };
        }
        let reads = p.roles.iter().any(|r| r.reads_content())
            && self.policy.permits(&p.roles, Action::DocumentsContent);
        Visibility {
            branch: if p.branch.is_all() {
                None
            } else {
                Some(p.branch.clone())
            },
            max_level: Some(p.clearance),
            content: reads,
            granted: vec![],
        }
    }

    pub async fn search(
        &self,
        caller: &Permitted<perm::DocumentsRead>,
        request: SearchRequest,
    ) -> Result<SearchResults> {
        let ctx = caller.ctx();
        let p = caller.principal().clone();
        let mut visibility = self.visibility(&p);
        visibility.granted = self.gate.granted_ids(&p).await;
        let results = self.index.search(&request, &visibility);
        let (outcome, total) = match &results {
            Ok(r) => (Outcome::Allowed, Some(r.total)),
            Err(_) => (Outcome::Error, None),
        };
        let detail = json!({
            "q": request.q.as_deref().map(|q| mask_pii(q).0),
            "category": request.category,
            "branch": request.branch,
            "vin": request.vin,
            "plate": request.plate,
            "order_no": request.order_no,
            "from": request.from,
            "to": request.to,
            "page": request.page,
            "hits": total,
        });
        let mut event = ctx.event("search", outcome).detail(detail);
        event.vin = request.vin.clone();
        self.audit.record(event).await?;
        results
    }

    /// Rebuilds the search index from the archive (an administrator's action);
    /// returns the documents indexed. One rebuild at a time: a second while one
    /// runs is `invalid_state` (409).
    pub async fn rebuild_index(&self, caller: &Permitted<perm::IndexRebuild>) -> Result<usize> {
        let ctx = caller.ctx();
        if self.progress.rebuilding.swap(true, Ordering::SeqCst) {
            self.audit
                .record(
                    ctx.event("admin.index.rebuild", Outcome::Denied)
                        .detail(json!({"running": true})),
                )
                .await?;
            return Err(crate::error::Error::new(
                crate::error::Code::InvalidState,
                "a rebuild of the index is already running",
            ));
        }
        let running = Rebuilding(self.progress.clone());
        self.progress.done.store(0, Ordering::SeqCst);
        self.progress
            .total
            .store(self.catalog.len(), Ordering::SeqCst);
        self.audit
            .record(ctx.event("admin.index.rebuild", Outcome::Allowed))
            .await?;
        // The rebuild is a task of its own: a caller who gives up waiting (a
        // closed browser tab) does not stop it halfway with the index cleared.
        let this = self.clone();
        tokio::spawn(async move {
            let _running = running;
            // Commit what is in flight first: clearing only drops committed segments.
            this.index.flush().await;
            this.index.clear();
            this.index.flush().await;
            this.catch_up_index().await
        })
        .await
        .map_err(|e| crate::error::Error::internal(format!("the index rebuild stopped: {e}")))?
    }

    /// How the index's catch-up or rebuild stands (counts only: nothing of
    /// any document, so the reading is not recorded).
    pub fn rebuild_state(&self, _caller: &Permitted<perm::IndexRebuild>) -> RebuildState {
        RebuildState {
            rebuilding: self.progress.rebuilding.load(Ordering::SeqCst),
            total: self.progress.total.load(Ordering::SeqCst),
            done: self.progress.done.load(Ordering::SeqCst),
        }
    }

    /// Brings the index up to date with the catalog: documents missing from it or
    /// indexed at an older revision are (re)indexed, documents no longer in the
    /// catalog are removed. Returns how many documents were (re)indexed.
    pub async fn catch_up_index(&self) -> Result<usize> {
        let indexed = self.index.indexed()?;
        self.catch_up_index_from(indexed).await
    }

    /// [`Archive::catch_up_index`] from what the index held (read earlier, e.g.
    /// while the catalog was loading).
    pub async fn catch_up_index_from(&self, indexed: Indexed) -> Result<usize> {
        let mut revisions = self.catalog.revisions();
        revisions.sort_unstable_by_key(|(id, _)| *id);
        let (stale, gone) = differences(&revisions, &indexed.docs);
        drop(revisions);
        self.progress.done.store(0, Ordering::SeqCst);
        self.progress.total.store(stale.len(), Ordering::SeqCst);
        let mut updated = 0;
        // Read only what needs (re)indexing: manifest and text of a few documents
        // at a time, so store latency overlaps; the index writer takes them in turn.
        let mut read = futures_util::stream::iter(stale)
            .map(|id| async move {
                let Some(m) = self.catalog.get(id).await? else {
                    return Ok(None);
                };
                let text = self.contents.text_of(&m).await;
                Ok::<_, crate::error::Error>(Some((m, text)))
            })
            .buffer_unordered(CATCH_UP_READS);
        // Documents go to the writer faster than it indexes them; waiting for
        // it every so often keeps the queue (whole documents) from growing to
        // a large part of the archive.
        let mut taken = None;
        while let Some(next) = read.next().await {
            if let Some((m, text)) = next? {
                self.index.upsert(&m, &text);
                updated += 1;
                self.progress.done.store(updated, Ordering::SeqCst);
                if updated % CATCH_UP_QUEUE == 0
                    && let Some(previous) = taken.replace(self.index.taken())
                {
                    previous.await;
                }
            }
        }
        for id in gone {
            self.index.delete(&id.to_string());
        }
        for id in &indexed.strays {
            self.index.delete(id);
        }
        self.index.flush().await;
        Ok(updated)
    }
}

/// Compares the catalog's documents with the index's, both sorted by id: the
/// documents to (re)index (missing, at another revision, or indexed twice) and
/// the index entries of documents the catalog no longer has.
fn differences(
    catalog: &[(DocumentId, u64)],
    index: &[(DocumentId, u64)],
) -> (Vec<DocumentId>, Vec<DocumentId>) {
    let (mut stale, mut gone) = (vec![], vec![]);
    let mut j = 0;
    for &(id, revision) in catalog {
        while j < index.len() && index[j].0 < id {
            gone.push(index[j].0);
            j += 1;
        }
        let first = j;
        while j < index.len() && index[j].0 == id {
            j += 1;
        }
        if !(j == first + 1 && index[first].1 == revision) {
            stale.push(id);
        }
    }
    gone.extend(index[j..].iter().map(|(id, _)| *id));
    (stale, gone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_what_to_index_and_what_to_remove() {
        let mut ids: Vec<DocumentId> = (0..6).map(|_| DocumentId::new()).collect();
        ids.sort();
        let [a, b, c, d, e, f] = ids[..] else {
            unreachable!()
        };
        // a: current; b: stale revision; c: missing from the index; d: only in
        // the index; e: indexed twice; f: only in the index, past the end.
        let catalog = [(a, 1), (b, 2), (c, 1), (e, 1)];
        let index = [(a, 1), (b, 1), (d, 4), (e, 1), (e, 1), (f, 1)];
        let (stale, gone) = differences(&catalog, &index);
        assert_eq!(stale, vec![b, c, e]);
        assert_eq!(gone, vec![d, f]);
        assert_eq!(differences(&catalog, &[]).0, vec![a, b, c, e]);
        assert_eq!(differences(&[], &index).1, vec![a, b, d, e, e, f]);
    }
}
