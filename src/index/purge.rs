//! Purging deleted documents from the index's files (spec §6: crypto-shredding
//! is complete — no copy of a disposed document's text, title or personal data
//! remains in any derived store). tantivy only *marks* a deleted document; its
//! stored fields stay in the segment files until the segment is merged. After a
//! disposal, every segment holding deleted documents is merged (rewritten
//! without them) and the old files are garbage-collected, then the result is
//! checked: no live segment may still hold a deleted document.

use tantivy::index::SegmentId;
use tantivy::{IndexReader, IndexWriter};

/// Merges away every deleted document and removes the files that held them.
/// Returns how many segments were rewritten.
///
/// # Errors
/// A merge, a garbage collection or the final check failed; the caller reports
/// it (the disposal itself stands: content keys are already destroyed).
pub(super) fn compact(writer: &mut IndexWriter, reader: &IndexReader) -> Result<usize, String> {
    reader.reload().map_err(|e| format!("index reload: {e}"))?;
    let with_deletes: Vec<SegmentId> = reader
        .searcher()
        .segment_readers()
        .iter()
        .filter(|s| s.num_deleted_docs() > 0)
        .map(|s| s.segment_id())
        .collect();
    if !with_deletes.is_empty() {
        writer
            .merge(&with_deletes)
            .wait()
            .map_err(|e| format!("index merge: {e}"))?;
    }
    writer
        .garbage_collect_files()
        .wait()
        .map_err(|e| format!("index garbage collection: {e}"))?;
    reader.reload().map_err(|e| format!("index reload: {e}"))?;
    let left = reader
        .searcher()
        .segment_readers()
        .iter()
        .filter(|s| s.num_deleted_docs() > 0)
        .count();
    if left > 0 {
        return Err(format!(
            "{left} index segments still hold deleted documents"
        ));
    }
    Ok(with_deletes.len())
}
