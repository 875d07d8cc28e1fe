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
            crate::startup::write_secret_file(path, der.as_bytes())?;
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

pub fn checkpoint_path(seq: u64) -> ObjectPath {
    ObjectPath::from(format!("audit/checkpoints/{seq:020}"))
}

/// Every checkpoint in the object store, in order.
pub async fn read_store(blob: &BlobStore) -> crate::error::Result<Vec<Checkpoint>> {
    let mut paths = blob.list(&ObjectPath::from("audit/checkpoints")).await?;
    paths.sort();
    let mut out = Vec::with_capacity(paths.len());
    for p in paths {
        if let Some(bytes) = blob.get(&p).await?
            && let Ok(cp) = serde_json::from_slice::<Checkpoint>(&bytes)
        {
            out.push(cp);
        }
    }
    Ok(out)
}

/// Seals what the log holds beyond the last checkpoint. Returns the new checkpoint.
pub async fn checkpoint_once(
    log: &AuditLog,
    blob: &BlobStore,
    keyring: &Keyring,
    signer: &AuditSigner,
    local: &Path,
) -> crate::error::Result<Option<Checkpoint>> {
    let last = read_local(local)
        .map_err(|e| crate::error::Error::internal(e.to_string()))?
        .pop();
    let (from_seq, from_offset) = last
        .as_ref()
        .map_or((1, 0), |c| (c.body.seq + 1, c.body.log_offset));
    let head = log.head();
    if head.seq < from_seq {
        return Ok(None);
    }
    let path = log.path().to_path_buf();
    let bytes = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
        let mut f = std::fs::File::open(&path)?;
        f.seek(SeekFrom::Start(from_offset))?;
        let mut buf = vec![0; (head.len - from_offset) as usize];
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

/// Runs [`checkpoint_once`] every `interval` until the process ends.
pub fn spawn_checkpointer(
    log: AuditLog,
    blob: BlobStore,
    keyring: Arc<Keyring>,
    signer: Arc<AuditSigner>,
    local: PathBuf,
    interval: Duration,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = checkpoint_once(&log, &blob, &keyring, &signer, &local).await {
                tracing::error!(error = ?e, "retrieval log checkpoint failed; will retry");
            }
        }
    });
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
