//! The hash chain of the retrieval log and its verification.

use std::collections::BTreeMap;

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Record;
use super::checkpoint::Checkpoint;
use super::scan::SEGMENT_OPENED;

/// The hash of the record before the first one.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// SHA-256 over the record's canonical JSON (which includes the previous hash).
pub fn record_hash(record: &Record) -> String {
    let bytes = serde_json::to_vec(record).expect("a record always serialises");
    hex::encode(Sha256::digest(&bytes))
}

/// One line of the log file.
#[derive(Serialize, Deserialize)]
pub(super) struct Line {
    #[serde(flatten)]
    pub record: Record,
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub ok: bool,
    pub records_checked: u64,
    /// Sequence number of the first record that is altered, missing or out of place.
    pub first_bad_seq: Option<u64>,
    /// Hash of the last good record.
    pub head: String,
    pub problem: Option<String>,
    /// Signed checkpoints the log was checked against.
    pub checkpoints_checked: usize,
    /// Chain segments: 1, plus one for each `audit.segment_opened` record that
    /// continued the log after damage (the damage stays reported).
    pub segments: u32,
    /// Records saying a torn last line was set aside after a crash.
    pub torn_tails_set_aside: Vec<u64>,
    /// Sequence number of the last good record.
    pub last_seq: u64,
    /// `ok`, `damaged`, or `unanchored` (intact as far as it goes, but not
    /// every record is covered by a checkpoint verified with a key the
    /// auditor holds): see [`verify_anchored`].
    pub status: &'static str,
    /// The newest record covered by a signed checkpoint that verified.
    pub anchored_through: Option<u64>,
    /// The first record no verified checkpoint covers, if any.
    pub unanchored_from: Option<u64>,
}

impl VerifyReport {
    fn good(records: u64, head: String, checkpoints: usize) -> Self {
        VerifyReport {
            ok: true,
            records_checked: records,
            first_bad_seq: None,
            head,
            problem: None,
            checkpoints_checked: checkpoints,
            segments: 1,
            torn_tails_set_aside: vec![],
            last_seq: 0,
            status: "ok",
            anchored_through: None,
            unanchored_from: None,
        }
    }

    fn bad(seq: u64, records: u64, head: &str, why: String) -> Self {
        VerifyReport {
            ok: false,
            records_checked: records,
            first_bad_seq: Some(seq),
            head: head.to_string(),
            problem: Some(why),
            checkpoints_checked: 0,
            segments: 1,
            torn_tails_set_aside: vec![],
            last_seq: 0,
            status: "damaged",
            anchored_through: None,
            unanchored_from: None,
        }
    }

    /// Keeps whichever report names the earlier problem.
    pub fn merge(self, seq: u64, why: String) -> Self {
        match self.first_bad_seq {
            Some(s) if s <= seq => self,
            _ => VerifyReport {
                ok: false,
                first_bad_seq: Some(seq),
                problem: Some(why),
                status: "damaged",
                ..self
            },
        }
    }
}

/// Walks a log file from the start and reports the first break in the chain.
pub fn verify(path: &std::path::Path) -> std::io::Result<VerifyReport> {
    verify_with(path, &[], None)
}

/// Like [`verify`], and also checks the log against signed checkpoints: each
/// signature must be good under `key`, the log must reach every checkpoint
/// (else records were cut off or the log rolled back), and the record at each
/// checkpoint must have the hash the checkpoint signed.
pub fn verify_with(
    path: &std::path::Path,
    checkpoints: &[Checkpoint],
    key: Option<&VerifyingKey>,
) -> std::io::Result<VerifyReport> {
    match std::fs::File::open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            verify_reader(std::io::empty(), checkpoints, key)
        }
        Err(e) => Err(e),
        Ok(file) => verify_reader(std::io::BufReader::new(file), checkpoints, key),
    }
}

/// [`verify_with`] over the log's bytes from any reader (an empty log is whole).
///
/// After the first break, the walk looks for a record opening a new chain
/// segment (`audit.segment_opened`) whose previous hash is the SHA-256 of every
/// byte before it: from there the new segment is verified like the first. The
/// break stays the report's first bad record.
pub fn verify_reader(
    mut log: impl std::io::BufRead,
    checkpoints: &[Checkpoint],
    key: Option<&VerifyingKey>,
) -> std::io::Result<VerifyReport> {
    let wanted: BTreeMap<u64, &Checkpoint> = checkpoints.iter().map(|c| (c.body.seq, c)).collect();
    let mut seen: BTreeMap<u64, String> = BTreeMap::new();
    let mut prev = GENESIS.to_string();
    let mut checked = 0u64;
    let mut expected_seq = 1u64;
    let mut before = Sha256::new();
    let mut broken: Option<(u64, String)> = None;
    let mut in_damage = false;
    let mut segments = 1u32;
    let mut torn = vec![];
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if log.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        let sealed_before = hex::encode(before.clone().finalize());
        before.update(&buf);
        let text = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let parsed = serde_json::from_slice::<Line>(text);
        let opens_segment = matches!(&parsed, Ok(l) if l.record.event.action == SEGMENT_OPENED
            && l.record.prev_hash == sealed_before
            && record_hash(&l.record) == l.hash);
        if opens_segment {
            let seq = parsed.as_ref().map_or(0, |l| l.record.seq);
            // A segment is only ever opened after damage or a cut: the
            // report stays not-ok, naming the first record that was lost.
            broken.get_or_insert((
                expected_seq,
                format!(
                    "the log was damaged or cut at record {expected_seq}; a new chain segment opens at record {seq}"
                ),
            ));
            in_damage = false;
            segments += 1;
            expected_seq = seq;
            prev = sealed_before.clone();
        } else if in_damage {
            continue;
        }
        let problem = match &parsed {
            Err(e) => Some(format!("record {expected_seq} is not readable: {e}")),
            Ok(l) if l.record.seq != expected_seq => Some(format!(
                "expected record {expected_seq}, found {}",
                l.record.seq
            )),
            Ok(l) if l.record.prev_hash != prev => Some(format!(
                "record {} does not follow record {}",
                l.record.seq,
                l.record.seq.saturating_sub(1)
            )),
            Ok(l) if record_hash(&l.record) != l.hash => {
                Some(format!("record {} was altered", l.record.seq))
            }
            Ok(_) => None,
        };
        if let Some(why) = problem {
            broken.get_or_insert((expected_seq, why));
            in_damage = true;
            continue;
        }
        let l = parsed.expect("checked above");
        let seq = l.record.seq;
        if l.record.event.action == "audit.torn_tail_set_aside" {
            torn.push(seq);
        }
        if wanted.contains_key(&seq) {
            seen.insert(seq, l.hash.clone());
        }
        prev = l.hash;
        expected_seq = seq + 1;
        checked += 1;
    }
    let chain = broken;
    let mut report = match chain {
        Some((seq, why)) => VerifyReport::bad(seq, checked, &prev, why),
        None => VerifyReport::good(checked, prev.clone(), checkpoints.len()),
    };
    for cp in checkpoints {
        let seq = cp.body.seq;
        if let Some(key) = key
            && !cp.verify(key)
        {
            report = report.merge(
                seq,
                format!("the checkpoint at record {seq} has no valid signature"),
            );
            continue;
        }
        match seen.get(&seq) {
            Some(hash) if *hash == cp.body.head => {}
            Some(_) => report = report.merge(seq, format!("record {seq} differs from the signed checkpoint (log rewritten or rolled back)")),
            None if report.ok => {
                report = report.merge(checked + 1, format!("records {}..={seq} are missing: the log ends before a signed checkpoint (truncated or rolled back)", checked + 1))
            }
            None => {}
        }
    }
    report.checkpoints_checked = checkpoints.len();
    report.segments = segments;
    report.torn_tails_set_aside = torn;
    report.last_seq = expected_seq - 1;
    Ok(report)
}

/// What an auditor anchors a verification in (spec §4): the signed checkpoints
/// read from the object store, the public key the auditor holds, and
/// optionally a checkpoint (`seq`, record hash) the auditor kept themselves.
pub struct Anchors<'a> {
    pub checkpoints: &'a [Checkpoint],
    pub key: Option<&'a VerifyingKey>,
    pub held: Option<(u64, String)>,
    /// Checkpoint objects or lines that could not be read: each is a problem.
    pub unreadable: Vec<String>,
    /// Verify only the log's first `up_to` bytes (what was sealed when the
    /// verification began); `None` for the whole file.
    pub up_to: Option<u64>,
}

/// The hash recorded for record `seq` in the log at `path`, if it holds one.
fn hash_at(path: &std::path::Path, seq: u64) -> std::io::Result<Option<String>> {
    use std::io::BufRead;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    for line in std::io::BufReader::new(file).lines() {
        if let Ok(l) = serde_json::from_str::<Line>(&line?)
            && l.record.seq == seq
        {
            return Ok(Some(l.hash));
        }
    }
    Ok(None)
}

/// [`verify_with`], anchored: `ok` only when the chain is intact, agrees with
/// every checkpoint, every checkpoint and the auditor's own verify, and every
/// record is covered by a checkpoint whose signature verified under the
/// auditor's key. An intact chain that is not (wholly) covered is reported as
/// `unanchored`, never as `ok` — without the auditor's key, nothing is.
pub fn verify_anchored(
    path: &std::path::Path,
    anchors: &Anchors<'_>,
) -> std::io::Result<VerifyReport> {
    let mut report = match (std::fs::File::open(path), anchors.up_to) {
        (Ok(file), Some(limit)) => {
            use std::io::Read;
            verify_reader(
                std::io::BufReader::new(file.take(limit)),
                anchors.checkpoints,
                anchors.key,
            )?
        }
        _ => verify_with(path, anchors.checkpoints, anchors.key)?,
    };
    if let Some(what) = anchors.unreadable.first() {
        report.ok = false;
        report.status = "damaged";
        report
            .problem
            .get_or_insert_with(|| format!("checkpoint {what} is unreadable"));
    }
    if let Some((seq, hash)) = &anchors.held {
        match hash_at(path, *seq)? {
            Some(h) if h == *hash => {}
            Some(_) => {
                report = report.merge(
                    *seq,
                    format!("record {seq} differs from the checkpoint you hold"),
                )
            }
            None => {
                report = report.merge(
                    *seq,
                    format!("the log does not contain record {seq} of the checkpoint you hold"),
                )
            }
        }
    }
    let limit = report.first_bad_seq.unwrap_or(u64::MAX);
    report.anchored_through = match anchors.key {
        None => None,
        Some(key) => anchors
            .checkpoints
            .iter()
            .filter(|c| c.body.seq < limit && c.body.seq <= report.last_seq && c.verify(key))
            .map(|c| c.body.seq)
            .max(),
    };
    let covered = report.anchored_through.unwrap_or(0);
    report.unanchored_from = (report.last_seq > covered).then_some(covered + 1);
    if report.ok && report.unanchored_from.is_some() {
        report.ok = false;
        report.status = "unanchored";
        report.problem = Some(match (anchors.key, report.anchored_through) {
            (None, _) => {
                "no public key of the auditor's was given: nothing is anchored".to_string()
            }
            (Some(_), None) => "no signed checkpoint covers the log".to_string(),
            (Some(_), Some(n)) => format!(
                "records {}..={} are not yet covered by a signed checkpoint",
                n + 1,
                report.last_seq
            ),
        });
    }
    Ok(report)
}
