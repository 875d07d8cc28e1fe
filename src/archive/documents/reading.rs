//! Reading: metadata, version lists, content, a vehicle's archive.

use serde_json::json;

use super::Documents;
use crate::archive::views::{Content, ContentBody, DocumentSummary, DocumentView, VersionView};
use crate::audit::Outcome;
use crate::auth::guard::{Permitted, perm};
use crate::domain::Vin;
use crate::error::{Code, Error, Result};

/// Notes the access grant a read relied on, if any ("grant use" in the log).
fn with_grant(event: crate::audit::Event, grant: &Option<String>) -> crate::audit::Event {
    match grant {
        Some(id) => event.detail(json!({"grant": id})),
        None => event,
    }
}

impl Documents {
    pub async fn get(
        &self,
        caller: &Permitted<perm::DocumentsRead>,
        key: &str,
    ) -> Result<DocumentView> {
        let ctx = caller.ctx();
        let p = caller.principal().clone();
        let (entry, grant) = self.gate.visible(ctx, &p, key, "document.view").await?;
        let m = &entry.manifest;
        let by_role = p.roles.iter().any(|r| self.masking.roles.contains(r));
        let by_grant = match &grant {
            Some(id) => {
                self.masking.grants_with_contact_purpose && self.gate.grant_needs_contact(id).await
            }
            None => false,
        };
        let unmask = by_role || by_grant;
        let event =
            ctx.event("document.view", Outcome::Allowed)
                .document(m.id, &m.archive_no, m.vin());
        let detail = json!({"grant": grant, "pii": if unmask { "unmasked" } else { "masked" }});
        self.audit.record(event.detail(detail)).await?;
        Ok(if grant.is_none() && !self.gate.can_read_content(&p, m) {
            DocumentView::without_content(m)
        } else if unmask {
            DocumentView::unmasked(m)
        } else {
            DocumentView::of(m)
        })
    }

    pub async fn versions(
        &self,
        caller: &Permitted<perm::DocumentsRead>,
        key: &str,
    ) -> Result<Vec<VersionView>> {
        let ctx = caller.ctx();
        let p = caller.principal().clone();
        let (entry, grant) = self.gate.visible(ctx, &p, key, "document.versions").await?;
        let m = &entry.manifest;
        let event =
            ctx.event("document.versions", Outcome::Allowed)
                .document(m.id, &m.archive_no, m.vin());
        self.audit.record(with_grant(event, &grant)).await?;
        Ok(m.versions.iter().map(VersionView::from).collect())
    }

    /// The bytes of a version (the latest by default), decrypted and verified.
    pub async fn content(
        &self,
        caller: &Permitted<perm::DocumentsContent>,
        key: &str,
        version: Option<u32>,
    ) -> Result<Content> {
        let ctx = caller.ctx();
        let p = caller.principal().clone();
        let (entry, grant) = self.gate.visible(ctx, &p, key, "document.content").await?;
        let m = &entry.manifest;
        let event = |outcome| {
            ctx.event("document.content", outcome)
                .document(m.id, &m.archive_no, m.vin())
        };
        if grant.is_none() && !self.gate.can_read_content(&p, m) {
            self.audit
                .record(
                    event(Outcome::Denied)
                        .detail(json!({"reason": "content above the caller's access"})),
                )
                .await?;
            return Err(Error::forbidden(
                "you may see this document's metadata but not its content; ask for access (调阅)",
            ));
        }
        let v = match version {
            None => m.latest(),
            Some(n) => match m.version(n) {
                Some(v) => v,
                None => {
                    self.audit
                        .record(
                            event(Outcome::Error)
                                .detail(json!({"version": n, "reason": "no such version"})),
                        )
                        .await?;
                    return Err(Error::not_found("version"));
                }
            },
        };
        self.audit
            .record(
                event(Outcome::Allowed)
                    .detail(json!({"version": v.version, "bytes": v.size, "grant": grant})),
            )
            .await?;
        let body = if v.size <= self.limits.verify_before_send_bytes {
            match self.contents.read_verified(m.id, v).await {
                Ok(bytes) => ContentBody::Verified(bytes),
                Err(e) => {
                    if e.kind == crate::error::ErrorKind::Integrity {
                        self.audit
                            .record(event(Outcome::Error).detail(
                                json!({"version": v.version, "reason": "integrity check failed"}),
                            ))
                            .await?;
                    }
                    return Err(e);
                }
            }
        } else {
            ContentBody::Streaming(self.contents.read_streaming(m.id, v).await?)
        };
        Ok(Content {
            version: VersionView::from(v),
            body,
        })
    }

    /// A vehicle's archive as the caller may see it, newest first.
    pub async fn vehicle_documents(
        &self,
        caller: &Permitted<perm::DocumentsRead>,
        vin: &str,
    ) -> Result<Vec<DocumentSummary>> {
        let ctx = caller.ctx();
        let p = caller.principal().clone();
        let vin = Vin::parse(vin).map_err(|e| Error::new(Code::InvalidVin, e))?;
        let granted = self.gate.granted_ids(&p).await;
        let mut docs: Vec<_> = self
            .catalog
            .by_vin(vin.as_str())
            .await?
            .into_iter()
            .filter(|m| {
                granted.contains(&m.id.to_string())
                    || self.policy.can_see(&p, crate::archive::scope(m))
            })
            .collect();
        docs.sort_by_key(|m| std::cmp::Reverse((m.metadata.service_date(), m.filed_at)));
        self.audit
            .record(
                ctx.event("vehicle.history", Outcome::Allowed)
                    .vin(vin.as_str())
                    .detail(json!({"documents": docs.len()})),
            )
            .await?;
        Ok(docs.iter().map(|m| DocumentSummary::of(m)).collect())
    }
}
