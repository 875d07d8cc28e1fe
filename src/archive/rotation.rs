//! Master-key rotation: every data key is rewrapped under the active master key;
//! content is never re-encrypted. Small sealed objects (manifests, users, access
//! requests, register entries, tombstones, log segments) get their keys rewrapped
//! the same way. Each object is rewritten on its own and skipped once current, so
//! an interrupted rotation simply runs again. When the report counts no remaining
//! references, the retired key can be removed from the configuration.

use object_store::path::Path;
use serde::Serialize;

use super::Archive;
use crate::error::{Error, Result};
use crate::storage::manifest::manifest_path;

#[derive(Debug, Serialize)]
pub struct RotationReport {
    pub active_key: String,
    pub manifests_rewrapped: usize,
    pub objects_rewrapped: usize,
    /// Objects still wrapped under another key after this run (0 when done).
    pub remaining: usize,
}

/// Sealed objects outside manifests, by prefix; each is sealed with its path as context.
const SEALED_PREFIXES: [&str; 4] = ["system", "disposals", "audit/segments", "docs"];

impl Archive {
    pub async fn rotate_keys(&self) -> Result<RotationReport> {
        let active = self.keyring.active_id().to_string();
        let mut manifests_rewrapped = 0;
        for m in self.catalog.all() {
            let entry = self
                .catalog
                .resolve(&m.id.to_string())
                .ok_or_else(|| Error::not_found("document"))?;
            let _guard = entry.lock.lock().await;
            let current = self
                .catalog
                .resolve(&m.id.to_string())
                .ok_or_else(|| Error::not_found("document"))?
                .manifest;
            let path = manifest_path(m.id);
            let stored = self.blob.get(&path).await?.ok_or_else(|| {
                Error::integrity(format!("manifest of {} is missing", m.archive_no))
            })?;
            let sealed_old = self
                .keyring
                .rewrap_sealed(path.as_ref(), &stored)
                .map_err(|e| Error::integrity(e.to_string()))?
                .is_some();
            if !sealed_old && current.versions.iter().all(|v| v.key.kek == active) {
                continue;
            }
            let mut next = (*current).clone();
            for v in &mut next.versions {
                if v.key.kek != active {
                    let context = crate::storage::manifest::content_context(m.id, v.version);
                    let dek = self
                        .keyring
                        .unwrap(&v.key, &context)
                        .map_err(|e| Error::integrity(e.to_string()))?;
                    v.key = self.keyring.wrap(&dek, &context);
                }
            }
            self.blob.put(&path, next.seal(&self.keyring)).await?;
            self.catalog.insert(next);
            manifests_rewrapped += 1;
        }
        let mut objects_rewrapped = 0;
        let mut remaining = 0;
        for prefix in SEALED_PREFIXES {
            for path in self.blob.list(&Path::from(prefix)).await? {
                let name = path.as_ref();
                if name.ends_with("/manifest")
                    || name.contains("/content/")
                    || name.starts_with("audit/checkpoints")
                {
                    continue; // manifests above; content is never re-encrypted; checkpoints are signed, not sealed
                }
                let Some(bytes) = self.blob.get(&path).await? else {
                    continue;
                };
                match self.keyring.rewrap_sealed(name, &bytes) {
                    Ok(Some(rewrapped)) => {
                        self.blob.put(&path, rewrapped).await?;
                        objects_rewrapped += 1;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::error!(object = name, error = %e, "cannot rewrap");
                        remaining += 1;
                    }
                }
            }
        }
        remaining += self
            .catalog
            .all()
            .iter()
            .filter(|m| m.versions.iter().any(|v| v.key.kek != active))
            .count();
        Ok(RotationReport {
            active_key: active,
            manifests_rewrapped,
            objects_rewrapped,
            remaining,
        })
    }
}
