//! Everything that reaches the object store, and how: the store itself
//! ([`blob`]), envelope encryption ([`envelope`]), chunked content encryption
//! ([`stream`]) and document manifests ([`manifest`]); large objects of a local
//! store are written by `local_write`.
//!
//! Layout in the store (no plaintext anywhere; ids are random):
//!
//! ```text
//! system/keycheck                 sealed marker proving the master key matches
//! system/users                    sealed user list
//! docs/<id>/manifest              sealed manifest: metadata, PII, versions, history
//! docs/<id>/content/<version>     encrypted content stream of one version
//! ```

pub mod blob;
pub mod envelope;
pub mod keys;
mod local_write;
pub mod manifest;
pub mod private;
pub mod stream;

pub use blob::BlobStore;

use object_store::path::Path;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use envelope::Keyring;

/// Reads a JSON value sealed at `path` (the path is the sealing context);
/// `None` when there is no object. Damage is an integrity error naming `what`.
pub async fn read_sealed<T: DeserializeOwned>(
    blob: &BlobStore,
    keyring: &Keyring,
    path: &Path,
    what: &str,
) -> Result<Option<T>> {
    let Some(bytes) = blob.get(path).await? else {
        return Ok(None);
    };
    let plain = keyring
        .open(path.as_ref(), &bytes)
        .map_err(|e| Error::integrity(format!("{what}: {e}")))?;
    serde_json::from_slice(&plain)
        .map(Some)
        .map_err(|e| Error::integrity(format!("{what}: {e}")))
}

/// Writes `value` as JSON sealed at `path` (the path is the sealing context).
pub async fn write_sealed<T: Serialize + ?Sized>(
    blob: &BlobStore,
    keyring: &Keyring,
    path: &Path,
    value: &T,
) -> Result<()> {
    let plain = serde_json::to_vec(value).map_err(|e| Error::internal(e.to_string()))?;
    let _lock = blob.lock_object(path).await;
    blob.put(path, keyring.seal(path.as_ref(), &plain)).await
}

/// Rewraps the key of the sealed object at `path` under the active master key,
/// leaving its ciphertext as it is. `false` when it was current or is gone.
/// Holds the object's lock from read to write, so it never overwrites a newer
/// state written by [`write_sealed`] meanwhile.
pub async fn rewrap_sealed_object(
    blob: &BlobStore,
    keyring: &Keyring,
    path: &Path,
) -> Result<bool> {
    let _lock = blob.lock_object(path).await;
    let Some(bytes) = blob.get(path).await? else {
        return Ok(false);
    };
    match keyring
        .rewrap_sealed(path.as_ref(), &bytes)
        .map_err(|e| Error::integrity(format!("{path}: {e}")))?
    {
        Some(rewrapped) => {
            blob.put(path, rewrapped).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}
