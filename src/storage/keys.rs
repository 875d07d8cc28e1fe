//! The master key and other secret files: reading the configured master key
//! (or creating one on first start), checking it against the store's key check
//! object, and writing any secret file with mode 0600, synced. Nothing here
//! logs a key.

use std::io::Write;
use std::path::Path;

use object_store::path::Path as ObjectPath;
use secrecy::ExposeSecret;
use sha2::Digest;

use super::BlobStore;
use super::envelope::{CryptoError, Keyring, MasterKey, random_bytes};
use crate::config::{Config, parse_key_text};

const KEYCHECK: &str = "system/keycheck";

fn read_key_file(path: &Path) -> Result<MasterKey, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read master key file {}: {e}", path.display()))?;
    let bytes =
        parse_key_text(&text).map_err(|e| format!("master key file {}: {e}", path.display()))?;
    MasterKey::from_bytes(&bytes)
}

/// The master key from configuration, or from the key file, created on first start.
pub fn load_keyring(config: &Config) -> Result<Keyring, String> {
    let active = if !config.crypto.master_key.expose_secret().is_empty() {
        MasterKey::from_bytes(
            &parse_key_text(config.crypto.master_key.expose_secret())
                .map_err(|e| format!("crypto.master_key: {e}"))?,
        )?
    } else if !config.crypto.master_key_file.is_empty() {
        read_key_file(Path::new(&config.crypto.master_key_file))?
    } else {
        let path = config.data_dir.join("keys").join("master.key");
        if !path.exists() {
            let key: [u8; 32] = random_bytes();
            write_secret_file(&path, format!("{}\n", hex::encode(key)).as_bytes())?;
            tracing::warn!(path = %path.display(), "created a new master key; back it up: without it the archive cannot be read");
        }
        read_key_file(&path)?
    };
    let mut ring = Keyring::new(active);
    for file in &config.crypto.retired_key_files {
        ring.add_retired(read_key_file(Path::new(file))?);
    }
    Ok(ring)
}

/// Refuses to start with a master key that does not match the archive.
/// Checks the configured master key against the store's key check object (made
/// at the first start). Returns an identity of the store: a hash of that
/// object, which is random, so another store (or a fresh one) differs.
pub async fn check_master_key(blob: &BlobStore, keyring: &Keyring) -> Result<String, String> {
    let path = ObjectPath::from(KEYCHECK);
    let identity = |bytes: &[u8]| hex::encode(sha2::Sha256::digest(bytes));
    match blob
        .get(&path)
        .await
        .map_err(|e| format!("object store: {}", e.describe()))?
    {
        Some(bytes) => match keyring.open(KEYCHECK, &bytes) {
            Ok(_) => Ok(identity(&bytes)),
            Err(CryptoError::UnknownKey(id)) => Err(format!(
                "wrong master key: the archive was written with master key {id}, but the configured key is {}",
                keyring.active_id()
            )),
            Err(e) => Err(format!("wrong master key or damaged key check object: {e}")),
        },
        None => {
            let sealed = keyring.seal(KEYCHECK, b"dangan key check");
            let id = identity(&sealed);
            blob.put(&path, sealed)
                .await
                .map_err(|e| format!("object store: {}", e.describe()))?;
            Ok(id)
        }
    }
}

/// Writes a new secret file with mode 0600 and syncs it and its directory.
pub fn write_secret_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| format!("cannot sync {}: {e}", dir.display()))?;
    Ok(())
}
