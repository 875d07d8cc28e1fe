//! `dangan audit-verify`: the auditor's verification without the server
//! (spec §4). Anchored in what a server-side intruder cannot quietly rewrite:
//! the signed checkpoints are read from the object store (the local
//! `checkpoints.jsonl` is only a cache, read when named explicitly), their
//! signatures are checked with the public key the *auditor* holds (never the
//! key file in the data directory, which an intruder could replace), and a
//! checkpoint the auditor wrote down can be named too.

use std::path::PathBuf;

use super::checkpoint::{self, Checkpoint};
use super::{Anchors, VerifyReport, verify_anchored};
use crate::config::Config;
use crate::storage::BlobStore;

/// What the auditor asks the command.
pub struct OfflineRequest {
    /// The log file (default: `<data_dir>/audit/retrieval.log`).
    pub log: Option<PathBuf>,
    /// A local checkpoints file to read besides the object store.
    pub checkpoints: Option<PathBuf>,
    /// The audit public key as hex, or a file holding it.
    pub public_key: Option<String>,
    /// A checkpoint the auditor kept, `SEQ:HASH`.
    pub held: Option<(u64, String)>,
}

/// A checkpoint as an auditor writes it down: `SEQ:HASH` (the record's hash,
/// 64 hex characters).
pub fn parse_held_checkpoint(raw: &str) -> Result<(u64, String), String> {
    let bad = || "a checkpoint is SEQ:HASH, e.g. 1200:3f2a… (64 hex characters)".to_string();
    let (seq, hash) = raw.split_once(':').ok_or_else(bad)?;
    let seq = seq.trim().parse::<u64>().map_err(|_| bad())?;
    let hash = hash.trim().to_ascii_lowercase();
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    Ok((seq, hash))
}

/// The exit status for a report: 0 ok, 1 damaged, 2 intact but unanchored.
pub fn exit_code(report: &VerifyReport) -> i32 {
    match report.status {
        "ok" => 0,
        "unanchored" => 2,
        _ => 1,
    }
}

/// Verifies the log as `request` says.
///
/// # Errors
/// An unreadable log, or a public key that does not parse.
pub async fn verify_offline(
    config: &Config,
    request: OfflineRequest,
) -> Result<VerifyReport, String> {
    let path = request
        .log
        .unwrap_or_else(|| config.data_dir.join("audit").join("retrieval.log"));
    let key = match request.public_key {
        None => None,
        Some(k) => {
            let text = if std::path::Path::new(&k).is_file() {
                std::fs::read_to_string(&k).map_err(|e| format!("{k}: {e}"))?
            } else {
                k
            };
            Some(checkpoint::parse_public_key(&text)?)
        }
    };
    let mut checkpoints: Vec<Checkpoint> = vec![];
    let mut unreadable = vec![];
    let local_objects = config.data_dir.join("objects");
    let store = if config.storage.url.trim().is_empty() && !local_objects.is_dir() {
        Err(format!("no object store at {}", local_objects.display()))
    } else {
        BlobStore::open(&config.storage, &local_objects)
    };
    match store {
        Ok(blob) => match checkpoint::read_store_all(&blob).await {
            Ok((found, bad)) => {
                checkpoints = found;
                unreadable = bad;
            }
            Err(e) => eprintln!("the object store's checkpoints cannot be read: {e}"),
        },
        Err(e) => eprintln!("the object store cannot be opened: {e}"),
    }
    if let Some(file) = &request.checkpoints {
        let (found, bad) =
            checkpoint::read_local_all(file).map_err(|e| format!("{}: {e}", file.display()))?;
        unreadable.extend(bad);
        for cp in found {
            match checkpoints.iter().find(|c| c.body.seq == cp.body.seq) {
                Some(c) if *c == cp => {}
                Some(_) => unreadable.push(format!(
                    "{} (record {}: differs from the object store's)",
                    file.display(),
                    cp.body.seq
                )),
                None => checkpoints.push(cp),
            }
        }
        checkpoints.sort_by_key(|c| c.body.seq);
    }
    let anchors = Anchors {
        checkpoints: &checkpoints,
        key: key.as_ref(),
        held: request.held,
        unreadable,
        up_to: None,
    };
    verify_anchored(&path, &anchors).map_err(|e| format!("{}: {e}", path.display()))
}
