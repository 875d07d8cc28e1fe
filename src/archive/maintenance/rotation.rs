//! Master-key rotation: every data key is rewrapped under the active master key;
//! content is never re-encrypted. Small sealed objects (manifests, users, access
//! requests, register entries, tombstones, log segments) get their keys rewrapped
//! the same way. Each object is rewritten on its own and skipped once current, so
//! an interrupted rotation simply runs again. When the report counts no remaining
//! references, the retired key can be removed from the configuration.
//!
//! The server runs it in the background at start whenever retired keys are
//! configured (so a restart after a crash resumes it); `dangan keys-rotate` runs
//! it offline.

use std::time::Instant;

use object_store::path::Path;
use serde::Serialize;

use super::Maintenance;
use crate::audit::{Context, Outcome};
use crate::auth::guard::{Permitted, perm};
use crate::domain::DocumentId;
use crate::error::{Error, Result};
use crate::storage::manifest::manifest_path;
use crate::storage::rewrap_sealed_object;

#[derive(Debug, Clone, Serialize)]
pub struct RotationReport {
    pub active_key: String,
    pub manifests_rewrapped: usize,
    pub objects_rewrapped: usize,
    /// Objects still wrapped under another key after this run (0 when done).
    pub remaining: usize,
    pub seconds: f64,
}

/// Where the server's own rotation run stands.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RotationState {
    /// `idle` (no retired key configured), `running`, `done` or `failed`.
    pub status: &'static str,
    pub retired_keys: usize,
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Documents checked so far in the running pass, of `documents`.
    pub checked: usize,
    pub documents: usize,
    pub report: Option<RotationReport>,
    pub error: Option<String>,
}

/// Sealed objects outside manifests, by prefix; each is sealed with its path as context.
const SEALED_PREFIXES: [&str; 4] = ["system", "disposals", "audit/segments", "docs"];

impl Maintenance {
    /// Rewraps every data key still wrapped under a retired master key. Safe while
    /// the server serves: each manifest is rewritten under its document's lock and
    /// every other mutable object under its object lock, so no concurrent change is
    /// overwritten; reads keep working because both keys are known throughout.
    pub async fn rotate_keys(&self, ctx: &Context) -> Result<RotationReport> {
        let started = Instant::now();
        let active = self.keyring.active_id().to_string();
        let mut manifests_rewrapped = 0;
        let all = self.catalog.ids();
        self.set_rotation(|s| (s.checked, s.documents) = (0, all.len()));
        for (n, id) in all.iter().enumerate() {
            if n > 0 && n % 1000 == 0 {
                tracing::info!(
                    checked = n,
                    of = all.len(),
                    rewrapped = manifests_rewrapped,
                    "key rotation"
                );
            }
            if self.rewrap_manifest(*id, &active).await? {
                manifests_rewrapped += 1;
            }
            self.set_rotation(|s| s.checked = n + 1);
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
                match rewrap_sealed_object(&self.blob, &self.keyring, &path).await {
                    Ok(true) => objects_rewrapped += 1,
                    Ok(false) => {}
                    Err(e) => {
                        tracing::error!(object = name, error = ?e, "cannot rewrap");
                        remaining += 1;
                    }
                }
            }
        }
        for id in self.catalog.ids() {
            if let Some(m) = self.catalog.get(id).await?
                && m.versions.iter().any(|v| v.key.kek != active)
            {
                remaining += 1;
            }
        }
        let report = RotationReport {
            active_key: active,
            manifests_rewrapped,
            objects_rewrapped,
            remaining,
            seconds: started.elapsed().as_secs_f64(),
        };
        let outcome = if remaining == 0 {
            Outcome::Allowed
        } else {
            Outcome::Error
        };
        self.audit
            .record(
                ctx.event("keys.rotate", outcome)
                    .detail(serde_json::to_value(&report).unwrap_or_default()),
            )
            .await?;
        Ok(report)
    }

    /// How many master keys besides the active one this server knows.
    pub fn retired_keys(&self) -> usize {
        self.keyring.retired_count()
    }

    /// Runs [`Self::rotate_keys`] and keeps its outcome for [`Self::rotation_state`].
    pub async fn run_rotation(&self, ctx: &Context) {
        self.set_rotation(|s| {
            s.status = "running";
            s.started_at = Some(chrono::Utc::now());
        });
        match self.rotate_keys(ctx).await {
            Ok(report) => {
                tracing::info!(
                    manifests = report.manifests_rewrapped,
                    objects = report.objects_rewrapped,
                    remaining = report.remaining,
                    seconds = report.seconds,
                    "key rotation finished"
                );
                self.set_rotation(|s| {
                    s.status = if report.remaining == 0 {
                        "done"
                    } else {
                        "failed"
                    };
                    s.report = Some(report);
                });
            }
            Err(e) => {
                tracing::error!(error = ?e, "key rotation stopped; it resumes at the next start");
                self.set_rotation(|s| {
                    s.status = "failed";
                    s.error = Some(e.message().to_string());
                });
            }
        }
    }

    fn set_rotation(&self, change: impl FnOnce(&mut RotationState)) {
        let mut state = self.rotation.lock().expect("rotation state");
        state.retired_keys = self.keyring.retired_count();
        change(&mut state);
    }

    /// The server's key rotation, for administrators (`GET /admin/key-rotation`).
    pub async fn rotation_state(
        &self,
        caller: &Permitted<perm::KeysRead>,
    ) -> Result<RotationState> {
        let ctx = caller.ctx();
        let mut state = self.rotation.lock().expect("rotation state").clone();
        state.retired_keys = self.keyring.retired_count();
        if state.status.is_empty() {
            state.status = "idle";
        }
        self.audit
            .record(ctx.event("keys.rotation_status", Outcome::Allowed))
            .await?;
        Ok(state)
    }

    /// Rewraps one document's manifest if any of its keys is not under `active`.
    /// A document disposed of meanwhile is skipped.
    async fn rewrap_manifest(&self, id: DocumentId, active: &str) -> Result<bool> {
        let Some(entry) = self.catalog.resolve(&id.to_string()).await? else {
            return Ok(false);
        };
        let _guard = entry.lock.lock().await;
        let Some(current) = self.catalog.resolve(&id.to_string()).await? else {
            return Ok(false);
        };
        let current = current.manifest;
        let path = manifest_path(id);
        let Some(stored) = self.blob.get(&path).await? else {
            return Ok(false);
        };
        let sealed_old = self
            .keyring
            .rewrap_sealed(path.as_ref(), &stored)
            .map_err(|e| Error::integrity(e.to_string()))?
            .is_some();
        if !sealed_old && current.versions.iter().all(|v| v.key.kek == active) {
            return Ok(false);
        }
        let mut next = (*current).clone();
        for v in &mut next.versions {
            if v.key.kek != active {
                let context = crate::storage::manifest::content_context(id, v.version);
                let dek = self
                    .keyring
                    .unwrap(&v.key, &context)
                    .map_err(|e| Error::integrity(e.to_string()))?;
                v.key = self.keyring.wrap(&dek, &context);
            }
        }
        self.changes.rewrap(next).await?;
        Ok(true)
    }
}
