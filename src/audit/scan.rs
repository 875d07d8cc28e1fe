//! Reading the log file at open: where its last complete record ends, and which
//! documents the records after a known position name.
//!
//! A snapshot of derived state (the catalog) remembers the log's head when it was
//! taken. At the next start only the records after that head are read, so opening
//! does not grow with the log; without a usable mark the whole file is scanned.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};

use serde::Deserialize;

use super::Head;
use super::chain::GENESIS;

/// The longest record line a mark is looked for in (records are a few hundred
/// bytes; a longer line only means the mark is not used).
const MARK_WINDOW: u64 = 64 * 1024;

/// What the scan needs of a line; serde skips the rest of the record.
#[derive(Deserialize)]
struct LineHead {
    seq: u64,
    hash: String,
    action: String,
    document: Option<String>,
}

/// A record after the mark that names a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touched {
    pub seq: u64,
    pub action: String,
    pub document: String,
}

/// The result of a scan: the head of the durable log, when the scan started at
/// a mark the records after it that name a document, and what is wrong after
/// the head, if anything.
pub(super) struct Scanned {
    pub head: Head,
    pub after_mark: Option<Vec<Touched>>,
    pub damage: Option<Damage>,
}

/// What follows the last good record (spec §4: the log is never repaired by
/// deletion; see `recovery`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Damage {
    /// The file ends in a line without its newline, `bytes` long from `offset`:
    /// a write a crash interrupted, never acknowledged.
    TornTail { offset: u64, bytes: u64 },
    /// The complete line at `offset` is not record `seq` (unreadable, or another
    /// number), and no later record opened a new segment naming it. `max_seq`
    /// is the highest sequence number the rest of the file holds or implies.
    Broken { seq: u64, offset: u64, max_seq: u64 },
    /// The log ends cleanly at record `seq - 1`, but the object store holds a
    /// signed checkpoint at `checkpoint_seq`: records were cut off or the file
    /// was rolled back to an older copy.
    Cut {
        seq: u64,
        offset: u64,
        checkpoint_seq: u64,
    },
}

/// The action of the record that opens a new chain segment after damage.
pub const SEGMENT_OPENED: &str = "audit.segment_opened";

/// Scans `file`: from `mark` when the log still holds that record at that
/// offset, else from the start. Stops at the end, at a torn last line, or at
/// the first damaged line that no later segment record acknowledges.
pub(super) fn scan(file: &mut File, mark: Option<&Head>) -> std::io::Result<Scanned> {
    let start = match mark {
        Some(m) if holds(file, m)? => Some(m.clone()),
        _ => None,
    };
    let from = start.clone().unwrap_or(Head {
        seq: 0,
        hash: GENESIS.to_string(),
        len: 0,
    });
    file.seek(SeekFrom::Start(from.len))?;
    let mut reader = BufReader::with_capacity(1 << 20, &*file);
    let mut head = from;
    let mut touched = start.as_ref().map(|_| Vec::new());
    let mut buf = Vec::new();
    let mut damage = None;
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf)?;
        if n == 0 {
            break;
        }
        if buf.last() != Some(&b'\n') {
            damage = Some(Damage::TornTail {
                offset: head.len,
                bytes: n as u64,
            });
            break;
        }
        let parsed = serde_json::from_slice::<LineHead>(&buf)
            .ok()
            .filter(|l| l.seq == head.seq + 1);
        let Some(line) = parsed else {
            // A segment opened right here (after a cut, with no damaged line).
            if let Some(opened) = segment_opening(&buf, &head) {
                head = Head {
                    len: head.len + n as u64,
                    ..opened
                };
                continue;
            }
            match past_damage(&mut reader, &head, head.len + n as u64)? {
                Ok(resumed) => {
                    head = resumed;
                    continue;
                }
                Err(broken) => {
                    damage = Some(broken);
                    break;
                }
            }
        };
        head = Head {
            seq: line.seq,
            hash: line.hash,
            len: head.len + n as u64,
        };
        if let (Some(list), Some(document)) = (touched.as_mut(), line.document) {
            list.push(Touched {
                seq: line.seq,
                action: line.action,
                document,
            });
        }
    }
    Ok(Scanned {
        head,
        after_mark: touched,
        damage,
    })
}

#[derive(Deserialize)]
struct Opened {
    seq: u64,
    hash: String,
    action: String,
    #[serde(default)]
    detail: serde_json::Value,
}

/// The head a line makes if it opens a segment naming damage at `head.len`
/// (its `len` is left for the caller to set).
fn segment_opening(line: &[u8], head: &Head) -> Option<Head> {
    let o = serde_json::from_slice::<Opened>(line).ok()?;
    let opens = o.action == SEGMENT_OPENED && o.detail["damage_offset"].as_u64() == Some(head.len);
    opens.then_some(Head {
        seq: o.seq,
        hash: o.hash,
        len: 0,
    })
}

/// After a damaged line at `head.len` (the next one starts at `next`): reads on
/// for the record that opened a new segment naming this damage, and returns
/// that record as the new head; or, at the end, the damage with the highest
/// sequence number the rest implies (a line that names none counts as one).
fn past_damage(
    reader: &mut impl BufRead,
    head: &Head,
    mut next: u64,
) -> std::io::Result<Result<Head, Damage>> {
    let mut max_seq = head.seq + 1;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf)? as u64;
        if n == 0 {
            return Ok(Err(Damage::Broken {
                seq: head.seq + 1,
                offset: head.len,
                max_seq,
            }));
        }
        next += n;
        if let Some(opened) = segment_opening(&buf, head) {
            return Ok(Ok(Head {
                len: next,
                ..opened
            }));
        }
        match serde_json::from_slice::<Opened>(&buf) {
            Ok(o) => max_seq = max_seq.max(o.seq),
            Err(_) => max_seq += 1,
        }
    }
}

/// Where the first record numbered above `seq` starts, if any (a full read:
/// only after a new segment made a checkpoint's offset meaningless).
pub(super) fn offset_after(file: &mut File, seq: u64) -> std::io::Result<Option<u64>> {
    #[derive(Deserialize)]
    struct Numbered {
        seq: u64,
    }
    file.seek(SeekFrom::Start(0))?;
    let mut reader = BufReader::new(&*file);
    let (mut offset, mut buf) = (0u64, Vec::new());
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf)? as u64;
        if n == 0 {
            return Ok(None);
        }
        if serde_json::from_slice::<Numbered>(&buf).is_ok_and(|l| l.seq > seq) {
            return Ok(Some(offset));
        }
        offset += n;
    }
}

/// Whether the line that ends at `mark.len` is the record `mark` names.
pub(super) fn holds(file: &mut File, mark: &Head) -> std::io::Result<bool> {
    if mark.len == 0 {
        return Ok(mark.seq == 0 && mark.hash == GENESIS);
    }
    if file.metadata()?.len() < mark.len {
        return Ok(false);
    }
    let from = mark.len.saturating_sub(MARK_WINDOW);
    file.seek(SeekFrom::Start(from))?;
    let mut window = vec![0; (mark.len - from) as usize];
    file.read_exact(&mut window)?;
    let Some((&b'\n', body)) = window.split_last() else {
        return Ok(false);
    };
    let line = match body.iter().rposition(|&b| b == b'\n') {
        Some(i) => &body[i + 1..],
        None if from == 0 => body,
        None => return Ok(false),
    };
    Ok(serde_json::from_slice::<LineHead>(line)
        .is_ok_and(|l| l.seq == mark.seq && l.hash == mark.hash))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use crate::audit::{AuditLog, Context, Outcome, verify};

    fn ctx() -> Context {
        Context::anonymous("req-1".into(), "127.0.0.1".into())
    }

    async fn record(log: &AuditLog, action: &'static str, document: Option<&str>) -> u64 {
        let mut event = ctx().event(action, Outcome::Allowed);
        if let Some(d) = document {
            event = event.document(d, "BJ01-WX-2026-000001", None);
        }
        log.record(event).await.unwrap()
    }

    #[tokio::test]
    async fn a_mark_reads_only_the_records_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let log = AuditLog::open(&path).unwrap();
        for i in 0..20 {
            record(&log, "document.read", Some(&format!("before-{i}"))).await;
        }
        let mark = log.head();
        assert_eq!(mark.seq, 20);
        record(&log, "login", None).await;
        record(&log, "document.file", Some("doc-a")).await;
        record(&log, "document.correct", Some("doc-b")).await;
        drop(log);

        let (log, after) = AuditLog::open_after(&path, Some(&mark)).unwrap();
        let after = after.expect("the mark is usable");
        let named: Vec<_> = after
            .iter()
            .map(|t| (t.seq, t.action.as_str(), t.document.as_str()))
            .collect();
        assert_eq!(
            named,
            vec![
                (22, "document.file", "doc-a"),
                (23, "document.correct", "doc-b")
            ]
        );
        // The head found from the mark is the true head: numbering continues.
        assert_eq!(record(&log, "login", None).await, 24);
        assert!(verify(&path).unwrap().ok);
    }

    #[tokio::test]
    async fn a_mark_the_log_does_not_hold_means_a_full_scan() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let log = AuditLog::open(&path).unwrap();
        for _ in 0..5 {
            record(&log, "document.read", Some("d")).await;
        }
        let mut mark = log.head();
        drop(log);
        for bad in [
            // Another log's hash at the same place.
            {
                mark.hash = "ab".repeat(32);
                mark.clone()
            },
            // A length that does not end a record.
            {
                let mut m = AuditLog::open(&path).unwrap().head();
                m.len -= 3;
                m
            },
            // Beyond the end (the log was replaced by a shorter one).
            {
                let mut m = AuditLog::open(&path).unwrap().head();
                m.len += 100;
                m
            },
        ] {
            let (log, after) = AuditLog::open_after(&path, Some(&bad)).unwrap();
            assert!(after.is_none(), "{bad:?} must not be trusted");
            assert_eq!(log.head().seq, 5, "the full scan still finds the head");
        }
    }

    #[tokio::test]
    async fn a_torn_tail_after_the_mark_is_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let log = AuditLog::open(&path).unwrap();
        record(&log, "document.read", Some("d")).await;
        let mark = log.head();
        record(&log, "document.file", Some("e")).await;
        drop(log);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"seq\":3,\"action\":\"document.fi")
            .unwrap();
        let (log, after) = AuditLog::open_after(&path, Some(&mark)).unwrap();
        assert_eq!(after.unwrap().len(), 1);
        // Record 3 says a torn line was set aside; numbering goes on after it.
        assert_eq!(record(&log, "login", None).await, 4);
        assert!(verify(&path).unwrap().ok);
    }
}
