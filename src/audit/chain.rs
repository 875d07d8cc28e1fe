//! The hash chain of the retrieval log and its verification.

use std::collections::BTreeMap;

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Record;
use super::checkpoint::Checkpoint;

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
pub fn verify_reader(
    log: impl std::io::BufRead,
    checkpoints: &[Checkpoint],
    key: Option<&VerifyingKey>,
) -> std::io::Result<VerifyReport> {
    let wanted: BTreeMap<u64, &Checkpoint> = checkpoints.iter().map(|c| (c.body.seq, c)).collect();
    let mut seen: BTreeMap<u64, String> = BTreeMap::new();
    let mut prev = GENESIS.to_string();
    let mut checked = 0u64;
    let chain = {
        let mut broken = None;
        for (expected_seq, line) in (1u64..).zip(log.lines()) {
            let line = line?;
            let parsed: Line = match serde_json::from_str(&line) {
                Ok(l) => l,
                Err(e) => {
                    broken = Some((
                        expected_seq,
                        format!("record {expected_seq} is not readable: {e}"),
                    ));
                    break;
                }
            };
            let seq = parsed.record.seq;
            let problem = if seq != expected_seq {
                Some(format!("expected record {expected_seq}, found {seq}"))
            } else if parsed.record.prev_hash != prev {
                Some(format!(
                    "record {seq} does not follow record {}",
                    seq.saturating_sub(1)
                ))
            } else if record_hash(&parsed.record) != parsed.hash {
                Some(format!("record {seq} was altered"))
            } else {
                None
            };
            if let Some(why) = problem {
                broken = Some((expected_seq, why));
                break;
            }
            if wanted.contains_key(&seq) {
                seen.insert(seq, parsed.hash.clone());
            }
            prev = parsed.hash;
            checked += 1;
        }
        broken
    };
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
    Ok(report)
}
