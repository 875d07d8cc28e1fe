//! What opening the retrieval log does with what follows its last good record
//! (spec §4): the log is never repaired by deletion.
//!
//! - A torn last line (no newline: a write a crash interrupted, never
//!   acknowledged) is moved whole to a side file beside the log
//!   (`<log>.torn`, one line per set-aside) and the log says so in its next
//!   record, `audit.torn_tail_set_aside`, which verification reports.
//! - Any other damage stops the start with a message naming the first bad
//!   record — unless the operator starts with `--open-new-log-segment`. Then
//!   the damaged bytes stay where they are and a new chain segment begins after
//!   them: its first record, `audit.segment_opened`, names the damage, takes
//!   sequence numbers above any the file holds (none is ever reused), and
//!   chains to the SHA-256 of the whole file before it, so the damaged bytes
//!   themselves are sealed into the new chain.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde_json::json;
use sha2::{Digest, Sha256};

use super::scan::{Damage, SEGMENT_OPENED};
use super::{Context, Event, Head, Outcome};

/// Where the log's writer starts, and the records it writes first.
pub(super) struct Settled {
    pub len: u64,
    pub next_seq: u64,
    pub prev_hash: String,
    pub notices: Vec<Event>,
}

/// The side file torn tails are moved to.
pub fn torn_path(log: &Path) -> PathBuf {
    let mut name = log.file_name().unwrap_or_default().to_os_string();
    name.push(".torn");
    log.with_file_name(name)
}

fn notice(action: &'static str, detail: serde_json::Value) -> Event {
    Context::anonymous("startup".into(), "local".into())
        .event(action, Outcome::Allowed)
        .detail(detail)
}

/// Decides, for a log whose last good record is `head`, what happens to
/// `damage`; `open_new_segment` is the operator's explicit consent.
///
/// # Errors
/// A sentence naming the first bad record, when the log is damaged and no new
/// segment was asked for; or an I/O failure.
pub(super) fn settle(
    file: &mut File,
    path: &Path,
    head: Head,
    damage: Option<Damage>,
    open_new_segment: bool,
) -> Result<Settled, String> {
    let io = |e: std::io::Error| format!("retrieval log {}: {e}", path.display());
    let mut settled = Settled {
        len: head.len,
        next_seq: head.seq + 1,
        prev_hash: head.hash.clone(),
        notices: vec![],
    };
    match damage {
        None => {}
        Some(Damage::TornTail { offset, bytes }) => {
            let mut tail = vec![0; bytes as usize];
            file.seek(SeekFrom::Start(offset)).map_err(io)?;
            file.read_exact(&mut tail).map_err(io)?;
            let side = torn_path(path);
            let mut out = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&side)
                .map_err(io)?;
            out.write_all(&tail)
                .and_then(|()| out.write_all(b"\n"))
                .and_then(|()| out.sync_all())
                .map_err(io)?;
            if let Some(dir) = side.parent() {
                File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
            }
            // Only now, with the bytes safe beside it, does the log lose them.
            file.set_len(offset).map_err(io)?;
            file.sync_all().map_err(io)?;
            tracing::warn!(
                bytes,
                side_file = %side.display(),
                "a torn last line of the retrieval log (a write interrupted by a crash) was set aside"
            );
            settled.notices.push(notice(
                "audit.torn_tail_set_aside",
                json!({
                    "bytes": bytes,
                    "offset": offset,
                    "sha256": hex::encode(Sha256::digest(&tail)),
                    "side_file": side.file_name().map(|n| n.to_string_lossy().into_owned()),
                }),
            ));
        }
        Some(damage @ (Damage::Broken { .. } | Damage::Cut { .. })) => {
            let (seq, offset, max_seq, what) = match damage {
                Damage::Broken {
                    seq,
                    offset,
                    max_seq,
                } => (
                    seq,
                    offset,
                    max_seq,
                    format!("record {seq} (at byte {offset}) is damaged"),
                ),
                Damage::Cut {
                    seq,
                    offset,
                    checkpoint_seq,
                } => (
                    seq,
                    offset,
                    checkpoint_seq,
                    format!(
                        "it ends at record {} but the object store holds a signed checkpoint at record \
                         {checkpoint_seq}: records were cut off or the file was rolled back",
                        seq - 1
                    ),
                ),
                Damage::TornTail { .. } => unreachable!("matched above"),
            };
            if !open_new_segment {
                return Err(format!(
                    "retrieval log {}: {what}; records 1..={} are intact. \
                     The server does not start on a damaged log and never deletes a record: check it with \
                     `dangan audit-verify`, restore it from a backup, or start with --open-new-log-segment \
                     to keep its bytes and continue in a new chain segment that names the damage",
                    path.display(),
                    head.seq
                ));
            }
            let mut bytes = Vec::new();
            file.seek(SeekFrom::Start(0)).map_err(io)?;
            file.read_to_end(&mut bytes).map_err(io)?;
            if bytes.last().is_some_and(|&b| b != b'\n') {
                file.write_all(b"\n").map_err(io)?;
                bytes.push(b'\n');
            }
            file.sync_all().map_err(io)?;
            let file_hash = hex::encode(Sha256::digest(&bytes));
            tracing::warn!(
                first_bad_seq = seq,
                offset,
                "the retrieval log is damaged; its bytes are kept and a new chain segment is opened"
            );
            settled.len = bytes.len() as u64;
            settled.next_seq = max_seq.max(head.seq).saturating_add(1);
            settled.prev_hash = file_hash.clone();
            settled.notices.push(notice(
                SEGMENT_OPENED,
                json!({
                    "damage_offset": offset,
                    "first_bad_seq": seq,
                    "last_good_seq": head.seq,
                    "log_sha256_before": file_hash,
                }),
            ));
        }
    }
    Ok(settled)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use crate::audit::{AuditLog, Context, Outcome, verify};

    async fn log_of(path: &std::path::Path, n: usize) {
        let log = AuditLog::open(path).unwrap();
        for _ in 0..n {
            log.record(
                Context::anonymous("r".into(), "127.0.0.1".into())
                    .event("search", Outcome::Allowed),
            )
            .await
            .unwrap();
        }
    }

    /// Changes one byte inside record `seq` so that it no longer parses.
    fn damage(path: &std::path::Path, seq: usize) {
        let mut bytes = std::fs::read(path).unwrap();
        let start: usize = bytes
            .split_inclusive(|&b| b == b'\n')
            .take(seq - 1)
            .map(<[u8]>::len)
            .sum();
        bytes[start + 1] = b'#';
        std::fs::write(path, bytes).unwrap();
    }

    #[tokio::test]
    async fn a_damaged_record_stops_the_open_and_nothing_is_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("retrieval.log");
        log_of(&path, 40).await;
        damage(&path, 30);
        let before = std::fs::read(&path).unwrap();
        let refused = AuditLog::open(&path)
            .err()
            .expect("a damaged log is not opened");
        assert!(refused.contains("record 30"), "{refused}");
        assert!(refused.contains("--open-new-log-segment"), "{refused}");
        assert_eq!(std::fs::read(&path).unwrap(), before, "not a byte changed");
        let report = verify(&path).unwrap();
        assert_eq!((report.ok, report.first_bad_seq), (false, Some(30)));
    }

    #[tokio::test]
    async fn a_new_segment_keeps_the_damaged_bytes_and_reuses_no_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("retrieval.log");
        log_of(&path, 40).await;
        damage(&path, 30);
        let before = std::fs::read(&path).unwrap();
        let (log, _) = AuditLog::open_with(&path, None, true, None).unwrap();
        let next = log
            .record(
                Context::anonymous("r".into(), "127.0.0.1".into()).event("login", Outcome::Allowed),
            )
            .await
            .unwrap();
        assert_eq!(next, 42, "41 opened the segment; 30..=40 are never reused");
        drop(log);
        let after = std::fs::read(&path).unwrap();
        assert!(
            after.starts_with(&before),
            "the damaged bytes stay where they are"
        );
        let text = String::from_utf8_lossy(&after[before.len()..]).to_string();
        assert!(text.contains("\"audit.segment_opened\"") && text.contains("\"first_bad_seq\":30"));
        let report = verify(&path).unwrap();
        assert_eq!(report.first_bad_seq, Some(30), "{report:?}");
        assert!(!report.ok);
        assert_eq!(report.segments, 2);
        assert_eq!(report.records_checked, 29 + 2);
        // The damage was acknowledged: a later start needs no flag, and
        // numbering goes on.
        let log = AuditLog::open(&path).unwrap();
        assert_eq!(log.head().seq, 42);
    }

    #[tokio::test]
    async fn a_torn_last_line_is_set_aside_whole_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("retrieval.log");
        log_of(&path, 3).await;
        let torn = b"{\"seq\":4,\"action\":\"document.fi";
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(torn)
            .unwrap();
        let log = AuditLog::open(&path).unwrap();
        assert_eq!(log.head().seq, 4, "record 4 says what was set aside");
        drop(log);
        let side = std::fs::read(super::torn_path(&path)).unwrap();
        assert_eq!(side, [&torn[..], b"\n"].concat());
        let report = verify(&path).unwrap();
        assert!(report.ok, "{report:?}");
        assert_eq!(report.torn_tails_set_aside, vec![4]);
    }
}
