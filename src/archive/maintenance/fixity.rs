//! Fixity: re-reading every version of every document, checking each chunk's
//! authentication tag and the whole file's SHA-256, with memory bounded by one
//! chunk and an optional read-rate limit so the server keeps serving. Damage is
//! reported by archive number and version, and recorded in the retrieval log.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::Serialize;
use serde_json::json;

use super::Maintenance;
use crate::audit::{Context, Outcome};
use crate::error::Result;

#[derive(Debug, Serialize)]
pub struct Damage {
    pub document: String,
    pub archive_no: String,
    pub version: u32,
    pub problem: String,
}

#[derive(Debug, Serialize)]
pub struct FixityReport {
    pub documents: usize,
    pub versions: usize,
    pub bytes: u64,
    pub seconds: f64,
    pub damaged: Vec<Damage>,
    pub ok: bool,
}

impl Maintenance {
    /// Checks the whole archive. `max_bytes_per_sec` of 0 means no limit.
    pub async fn fixity_check(
        &self,
        ctx: &Context,
        max_bytes_per_sec: u64,
    ) -> Result<FixityReport> {
        let started = Instant::now();
        let (mut versions, mut bytes, mut damaged) = (0, 0u64, vec![]);
        let ids = self.catalog.ids();
        for &id in &ids {
            // One manifest at a time: memory stays flat however large the archive.
            let Some(m) = self.catalog.get(id).await? else {
                continue; // disposed of meanwhile
            };
            for v in &m.versions {
                versions += 1;
                let outcome = match self.contents.read_streaming(m.id, v).await {
                    Ok(mut stream) => {
                        let mut problem = None;
                        while let Some(piece) = stream.next().await {
                            match piece {
                                Ok(p) => {
                                    bytes += p.len() as u64;
                                    if max_bytes_per_sec > 0 {
                                        let due = Duration::from_secs_f64(
                                            bytes as f64 / max_bytes_per_sec as f64,
                                        );
                                        if let Some(wait) = due.checked_sub(started.elapsed()) {
                                            tokio::time::sleep(wait).await;
                                        }
                                    }
                                }
                                Err(e) => {
                                    problem = Some(e.message().to_string());
                                    break;
                                }
                            }
                        }
                        problem
                    }
                    Err(e) => Some(e.message().to_string()),
                };
                if let Some(problem) = outcome {
                    let event = ctx
                        .event("fixity.damage", Outcome::Error)
                        .document(m.id, &m.archive_no, m.vin())
                        .detail(json!({"version": v.version, "problem": problem}));
                    self.audit.record(event).await?;
                    damaged.push(Damage {
                        document: m.id.to_string(),
                        archive_no: m.archive_no.to_string(),
                        version: v.version,
                        problem,
                    });
                }
            }
        }
        let report = FixityReport {
            documents: ids.len(),
            versions,
            bytes,
            seconds: started.elapsed().as_secs_f64(),
            ok: damaged.is_empty(),
            damaged,
        };
        let summary = json!({"documents": report.documents, "versions": report.versions, "bytes": report.bytes, "seconds": report.seconds, "damaged": report.damaged.len()});
        self.audit
            .record(
                ctx.event(
                    "fixity.run",
                    if report.ok {
                        Outcome::Allowed
                    } else {
                        Outcome::Error
                    },
                )
                .detail(summary),
            )
            .await?;
        Ok(report)
    }
}
