//! Signed checkpoints and sealed segments: the retrieval log's copy in the
//! object store, and what makes truncation and rollback detectable.
//!
//! Every `checkpoint_interval_secs` (when there are new records) the checkpointer
//! seals the records written since the last checkpoint as one segment object
//! (`audit/segments/<first>-<last>`, encrypted: user names are personal data),
//! then signs a checkpoint — last sequence number, its hash, the segment's
//! SHA-256 — with the server's Ed25519 audit key, and writes it both to the store
//! (`audit/checkpoints/<seq>`) and to `audit/checkpoints.jsonl` beside the log.
//! Both object writes are create-only, so nothing sealed is overwritten. A lost
//! server disk loses at most the unsealed tail: the records of the last interval.

use std::io::{BufRead, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use object_store::path::Path as ObjectPath;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::AuditLog;
use crate::storage::BlobStore;
use crate::storage::envelope::{Keyring, random_bytes};

/// What a checkpoint asserts; signed as its canonical JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointBody {
    /// Last record covered, and its hash: the head of the log at that point.
    pub seq: u64,
    pub head: String,
    pub time: DateTime<Utc>,
    /// First record of the segment sealed with this checkpoint.
    pub first_seq: u64,
    pub segment: String,
    pub segment_sha256: String,
    /// Length of the local log file up to `seq` (where the next segment starts).
    pub log_offset: u64,
    pub key_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    #[serde(flatten)]
    pub body: CheckpointBody,
    /// Ed25519 signature over the body's JSON, hex.
    pub signature: String,
}

impl Checkpoint {
    pub fn verify(&self, key: &VerifyingKey) -> bool {
        let Ok(bytes) = hex::decode(&self.signature) else {
            return false;
        };
        let Ok(sig) = Signature::from_slice(&bytes) else {
            return false;
        };
        let message = serde_json::to_vec(&self.body).expect("serialises");
        key.verify(&message, &sig).is_ok()
    }
}

/// The server's audit signing key.
pub struct AuditSigner {
    key: SigningKey,
    id: String,
}

impl AuditSigner {
    /// Loads the key from `path` or creates it (0600), writing the public key as
    /// hex beside it (`<path>.pub`) for auditors to keep.
    pub fn load_or_create(path: &Path) -> Result<Self, String> {
        let key = if path.exists() {
            let der = std::fs::read(path)
                .map_err(|e| format!("cannot read audit key {}: {e}", path.display()))?;
            SigningKey::from_pkcs8_der(&der)
                .map_err(|e| format!("audit key {}: {e}", path.display()))?
        } else {
            let key = SigningKey::from_bytes(&random_bytes());
            let der = key
                .to_pkcs8_der()
                .map_err(|e| format!("cannot encode audit key: {e}"))?;
            crate::storage::keys::write_secret_file(path, der.as_bytes())?;
            key
        };
        let public = hex::encode(key.verifying_key().as_bytes());
        let pub_path = PathBuf::from(format!("{}.pub", path.display()));
        std::fs::write(&pub_path, format!("{public}\n"))
            .map_err(|e| format!("cannot write {}: {e}", pub_path.display()))?;
        let id = format!(
            "ak-{}",
            &hex::encode(Sha256::digest(key.verifying_key().as_bytes()))[..16]
        );
        Ok(AuditSigner { key, id })
    }

    pub fn public_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    pub fn public_hex(&self) -> String {
        hex::encode(self.key.verifying_key().as_bytes())
    }

    pub fn sign(&self, body: CheckpointBody) -> Checkpoint {
        let message = serde_json::to_vec(&body).expect("serialises");
        let signature = hex::encode(self.key.sign(&message).to_bytes());
        Checkpoint { body, signature }
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

pub fn parse_public_key(hex_text: &str) -> Result<VerifyingKey, String> {
    let bytes = hex::decode(hex_text.trim())
        .map_err(|_| "public key: expected 64 hex characters".to_string())?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| "public key: expected 32 bytes".to_string())?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| format!("public key: {e}"))
}

/// Reads a local checkpoints file (one JSON checkpoint per line).
pub fn read_local(path: &Path) -> std::io::Result<Vec<Checkpoint>> {
    match std::fs::File::open(path) {
        Ok(f) => Ok(std::io::BufReader::new(f)
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| serde_json::from_str(&l).ok())
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(vec![]),
        Err(e) => Err(e),
    }
}

/// The local cache of checkpoints, beside the log.
pub const LOCAL_CHECKPOINTS: &str = "checkpoints.jsonl";

pub fn checkpoint_path(seq: u64) -> ObjectPath {
    ObjectPath::from(format!("audit/checkpoints/{seq:020}"))
}

/// Every checkpoint in the object store, in order.
pub async fn read_store(blob: &BlobStore) -> crate::error::Result<Vec<Checkpoint>> {
    Ok(read_store_all(blob).await?.0)
}

/// Every checkpoint in the object store, in order, and the names of checkpoint
/// objects that could not be read (never skipped silently by a verifier).
pub async fn read_store_all(
    blob: &BlobStore,
) -> crate::error::Result<(Vec<Checkpoint>, Vec<String>)> {
    let mut paths = blob.list(&ObjectPath::from("audit/checkpoints")).await?;
    paths.sort();
    let (mut out, mut unreadable) = (Vec::with_capacity(paths.len()), vec![]);
    for p in paths {
        match blob.get(&p).await? {
            Some(bytes) => match serde_json::from_slice::<Checkpoint>(&bytes) {
                Ok(cp) => out.push(cp),
                Err(_) => unreadable.push(p.to_string()),
            },
            None => unreadable.push(p.to_string()),
        }
    }
    Ok((out, unreadable))
}

/// A local checkpoints file, and the numbers of the lines that could not be read.
pub fn read_local_all(path: &Path) -> std::io::Result<(Vec<Checkpoint>, Vec<String>)> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((vec![], vec![])),
        Err(e) => return Err(e),
    };
    let (mut out, mut unreadable) = (vec![], vec![]);
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        match serde_json::from_str(line) {
            Ok(cp) => out.push(cp),
            Err(_) => unreadable.push(format!("{} line {}", path.display(), n + 1)),
        }
    }
    Ok((out, unreadable))
}

/// The newest checkpoint in the object store (the record of truth; the local
/// file is a cache that a crash or a restore may leave behind).
pub async fn latest_in_store(blob: &BlobStore) -> crate::error::Result<Option<Checkpoint>> {
    let paths = blob.list(&ObjectPath::from("audit/checkpoints")).await?;
    let Some(newest) = paths.into_iter().max() else {
        return Ok(None);
    };
    Ok(match blob.get(&newest).await? {
        Some(bytes) => serde_json::from_slice(&bytes).ok(),
        None => None,
    })
}

/// Seals what the log holds beyond `last`, the newest checkpoint. Returns the
/// new checkpoint.
pub async fn checkpoint_once(
    log: &AuditLog,
    blob: &BlobStore,
    keyring: &Keyring,
    signer: &AuditSigner,
    local: &Path,
    last: Option<&Checkpoint>,
) -> crate::error::Result<Option<Checkpoint>> {
    let (from_seq, from_offset) = last
        .as_ref()
        .map_or((1, 0), |c| (c.body.seq + 1, c.body.log_offset));
    let head = log.head();
    if head.seq < from_seq {
        return Ok(None);
    }
    let path = log.path().to_path_buf();
    let mark = last.map(|c| super::Head {
        seq: c.body.seq,
        hash: c.body.head.clone(),
        len: c.body.log_offset,
    });
    let bytes = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
        let mut f = std::fs::File::open(&path)?;
        // After a new segment the local file no longer holds the newest
        // checkpoint's record where it says: seal from the first record above it.
        let from_offset = match &mark {
            Some(m) if !super::scan::holds(&mut f, m)? => {
                super::scan::offset_after(&mut f, m.seq)?.unwrap_or(head.len)
            }
            _ => from_offset,
        };
        f.seek(SeekFrom::Start(from_offset))?;
        let mut buf = vec![0; head.len.saturating_sub(from_offset) as usize];
        f.read_exact(&mut buf)?;
        Ok(buf)
    })
    .await
    .map_err(|e| crate::error::Error::internal(e.to_string()))?
    .map_err(|e| crate::error::Error::internal(format!("reading the retrieval log: {e}")))?;
    let segment = format!("audit/segments/{from_seq:020}-{:020}", head.seq);
    let body = CheckpointBody {
        seq: head.seq,
        head: head.hash.clone(),
        time: Utc::now(),
        first_seq: from_seq,
        segment: segment.clone(),
        segment_sha256: hex::encode(Sha256::digest(&bytes)),
        log_offset: head.len,
        key_id: signer.id().to_string(),
    };
    blob.put_new(
        &ObjectPath::from(segment.as_str()),
        keyring.seal(&segment, &bytes),
    )
    .await?;
    let cp = signer.sign(body);
    let json = serde_json::to_vec(&cp).expect("serialises");
    blob.put_new(&checkpoint_path(cp.body.seq), json.clone())
        .await?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(local)
        .map_err(|e| crate::error::Error::internal(e.to_string()))?;
    f.write_all(&[json.as_slice(), b"\n"].concat())
        .and_then(|()| f.sync_data())
        .map_err(|e| crate::error::Error::internal(e.to_string()))?;
    Ok(Some(cp))
}

/// The one writer of checkpoints. The schedule and the auditors' verify both
/// seal through it, one at a time, each from the newest checkpoint either made
/// (two sealers working from different views would seal overlapping segments).
pub struct Sealer {
    log: AuditLog,
    blob: BlobStore,
    keyring: Arc<Keyring>,
    signer: Arc<AuditSigner>,
    local: PathBuf,
    last: tokio::sync::Mutex<Option<Checkpoint>>,
}

impl Sealer {
    /// `last` is the newest checkpoint in the store at start.
    pub fn new(
        log: AuditLog,
        blob: BlobStore,
        keyring: Arc<Keyring>,
        signer: Arc<AuditSigner>,
        local: PathBuf,
        last: Option<Checkpoint>,
    ) -> Self {
        Sealer {
            log,
            blob,
            keyring,
            signer,
            local,
            last: tokio::sync::Mutex::new(last),
        }
    }

    /// Seals what the log holds beyond the newest checkpoint. Returns the log
    /// length the newest checkpoint covers afterwards (0 when there is none).
    pub async fn seal(&self) -> crate::error::Result<u64> {
        let mut last = self.last.lock().await;
        match checkpoint_once(
            &self.log,
            &self.blob,
            &self.keyring,
            &self.signer,
            &self.local,
            last.as_ref(),
        )
        .await
        {
            Ok(Some(cp)) => *last = Some(cp),
            Ok(None) => {}
            Err(e) => {
                // Another process may have sealed meanwhile: take its view.
                if let Ok(Some(newest)) = latest_in_store(&self.blob).await
                    && last.as_ref().is_none_or(|l| newest.body.seq > l.body.seq)
                {
                    *last = Some(newest);
                }
                return Err(e);
            }
        }
        Ok(last.as_ref().map_or(0, |c| c.body.log_offset))
    }

    pub fn signer(&self) -> &AuditSigner {
        &self.signer
    }
}

/// Seals every `interval` until the process ends.
pub fn spawn_checkpointer(sealer: Arc<Sealer>, interval: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = sealer.seal().await {
                tracing::error!(error = ?e, "retrieval log checkpoint failed; will retry");
            }
        }
    });
}

/// On an empty data directory restored from a backup of the object store:
/// writes the local log back from the sealed segments, in order, each checked
/// against its checkpoint's SHA-256, so the log continues where the store's
/// copy ends instead of starting a second chain. Does nothing when the local
/// log has any byte. Returns the number of segments restored.
///
/// # Errors
/// A segment that is missing, cannot be opened or does not match its
/// checkpoint: the start stops rather than build on a broken copy.
pub async fn restore_log(
    blob: &BlobStore,
    keyring: &Keyring,
    path: &Path,
) -> Result<usize, String> {
    // Only on a data directory that never had a log: an emptied or truncated
    // log is damage, which the start reports instead of papering over.
    let cache = path.with_file_name(LOCAL_CHECKPOINTS);
    if path.exists() || cache.exists() {
        return Ok(0);
    }
    let (checkpoints, _) = read_store_all(blob)
        .await
        .map_err(|e| format!("cannot read the retrieval log's checkpoints: {e}"))?;
    if checkpoints.is_empty() {
        return Ok(0);
    }
    let mut bytes = Vec::new();
    for cp in &checkpoints {
        let b = &cp.body;
        let sealed = blob
            .get(&ObjectPath::from(b.segment.as_str()))
            .await
            .map_err(|e| format!("sealed log segment {}: {e}", b.segment))?
            .ok_or_else(|| format!("sealed log segment {} is missing", b.segment))?;
        let plain = keyring
            .open(&b.segment, &sealed)
            .map_err(|_| format!("sealed log segment {} cannot be opened", b.segment))?;
        if hex::encode(Sha256::digest(&plain)) != b.segment_sha256
            || bytes.len() as u64 + plain.len() as u64 != b.log_offset
        {
            return Err(format!(
                "sealed log segment {} does not match its checkpoint",
                b.segment
            ));
        }
        bytes.extend_from_slice(&plain);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let mut f = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(&bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    tracing::warn!(
        segments = checkpoints.len(),
        records = checkpoints.last().map_or(0, |c| c.body.seq),
        "the retrieval log was restored from the object store's sealed segments"
    );
    Ok(checkpoints.len())
}

/// Checks the sealed segments in the store against their signed checkpoints.
/// Returns the first sequence number of the first bad segment, with the reason.
pub async fn verify_segments(
    blob: &BlobStore,
    keyring: &Keyring,
    checkpoints: &[Checkpoint],
) -> Option<(u64, String)> {
    for cp in checkpoints {
        let b = &cp.body;
        let bad = |why: &str| Some((b.first_seq, format!("sealed segment {} {why}", b.segment)));
        let bytes = match blob.get(&ObjectPath::from(b.segment.as_str())).await {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return bad("is missing"),
            Err(_) => return bad("cannot be read"),
        };
        let Ok(plain) = keyring.open(&b.segment, &bytes) else {
            return bad("was altered or replaced");
        };
        if hex::encode(Sha256::digest(&plain)) != b.segment_sha256 {
            return bad("does not match its checkpoint");
        }
    }
    None
}
