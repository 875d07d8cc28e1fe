//! The hash chain of the retrieval log and its verification.

use std::io::BufRead;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Record;

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
}

/// Walks a log file from the start and reports the first break in the chain.
pub fn verify(path: &std::path::Path) -> std::io::Result<VerifyReport> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(VerifyReport {
                ok: true,
                records_checked: 0,
                first_bad_seq: None,
                head: GENESIS.into(),
                problem: None,
            });
        }
        Err(e) => return Err(e),
    };
    let mut prev = GENESIS.to_string();
    let mut checked = 0u64;
    let bad = |seq: u64, prev: &str, checked: u64, why: String| VerifyReport {
        ok: false,
        records_checked: checked,
        first_bad_seq: Some(seq),
        head: prev.to_string(),
        problem: Some(why),
    };
    for (expected_seq, line) in (1u64..).zip(std::io::BufReader::new(file).lines()) {
        let line = line?;
        let parsed: Line = match serde_json::from_str(&line) {
            Ok(l) => l,
            Err(e) => {
                return Ok(bad(
                    expected_seq,
                    &prev,
                    checked,
                    format!("record {expected_seq} is not readable: {e}"),
                ));
            }
        };
        let seq = parsed.record.seq;
        if seq != expected_seq {
            return Ok(bad(
                expected_seq,
                &prev,
                checked,
                format!("expected record {expected_seq}, found {seq}"),
            ));
        }
        if parsed.record.prev_hash != prev {
            return Ok(bad(
                seq,
                &prev,
                checked,
                format!("record {seq} does not follow record {}", seq - 1),
            ));
        }
        if record_hash(&parsed.record) != parsed.hash {
            return Ok(bad(
                seq,
                &prev,
                checked,
                format!("record {seq} was altered"),
            ));
        }
        prev = parsed.hash;
        checked += 1;
    }
    Ok(VerifyReport {
        ok: true,
        records_checked: checked,
        first_bad_seq: None,
        head: prev,
        problem: None,
    })
}
