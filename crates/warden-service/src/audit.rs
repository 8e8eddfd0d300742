//! The audit trail: read by auditors, and verified end to end with the checkpoints' platform
//! signatures.

use crate::filters::AuditFilter;
use crate::proto::*;
use crate::service::{Result, Service};
use warden_core::lifecycle::*;
use warden_core::org::Actor;

/// The audit trail is read by auditors of the authorities and institutions.
fn may_read_audit(actor: &Actor) -> Result<()> {
    if can_read_audit(actor) {
        return Ok(());
    }
    Err(Refusal {
        code: RefusalCode::Role,
        message: "the audit trail is read by auditors of the authorities and institutions".into(),
    }
    .into())
}

impl Service {
    pub async fn audit(&self, actor: &Actor, q: AuditFilter) -> Result<AuditPage> {
        may_read_audit(actor)?;
        // A provincial authority's auditors read their province's part of the trail and
        // what their organisation did; the national bodies' read all of it.
        let scope = actor.org().and_then(|o| match o.jurisdiction {
            Some(warden_core::org::Jurisdiction::Province(p)) => Some(warden_store::AuditScope {
                province: p.to_string(),
                org_slug: o.slug.clone(),
            }),
            _ => None,
        });
        let items = self.store.audit(q.after, q.limit, scope.as_ref()).await?;
        let next_after = (items.len() == q.limit as usize)
            .then(|| items.last().map(|e| e.seq))
            .flatten();
        Ok(AuditPage { items, next_after })
    }

    /// Re-walks the audit chain and checks every checkpoint's platform signature.
    pub async fn verify_audit(&self, actor: &Actor) -> Result<AuditVerification> {
        may_read_audit(actor)?;
        let check = self.store.verify_audit().await?;
        let mut v = AuditVerification {
            intact: check.intact,
            entries: check.entries,
            head_hash: check.head_hash,
            first_broken: check.first_broken,
            problem: check.problem,
            checkpoints: check.checkpoints,
        };
        if v.intact {
            let key = self.keys.platform().1.verifying_key();
            let cps = self.store.checkpoints().await?;
            if let Some((seq, problem)) = crate::keys::first_unsigned_checkpoint(&cps, &key) {
                v.intact = false;
                v.first_broken = Some(seq);
                v.problem = Some(problem);
            }
        }
        Ok(v)
    }

    /// The trail since the last checkpoint, that checkpoint's signature, and the alerts the
    /// checkpoint job raised: what an auditor's pages show on every load without walking
    /// the whole chain (that is `verify_audit`).
    pub async fn audit_status(&self, actor: &Actor) -> Result<AuditStatus> {
        may_read_audit(actor)?;
        let (last, check) = self.check_since_last_checkpoint().await?;
        let alerts: Vec<AuditAlertDoc> = self
            .store
            .audit_alerts(20)
            .await?
            .into_iter()
            .map(|a| AuditAlertDoc {
                first_broken: a.first_broken,
                problem: a.problem,
                detected_at: a.detected_at,
                last_seen_at: a.last_seen_at,
            })
            .collect();
        let first = alerts.iter().map(|a| a.first_broken).min();
        Ok(AuditStatus {
            intact: check.intact && alerts.is_empty(),
            entries: check.entries,
            head_hash: check.head_hash,
            last_checkpoint: last.map(Into::into),
            first_broken: check.first_broken.or(first),
            problem: check
                .problem
                .or_else(|| alerts.first().map(|a| a.problem.clone())),
            alerts,
        })
    }

    /// The last checkpoint, and the trail since it: that checkpoint's signature, then every
    /// entry after it. What the checkpoint job checks before it signs, and what auditors'
    /// pages show on every load.
    pub(crate) async fn check_since_last_checkpoint(
        &self,
    ) -> Result<(Option<warden_store::Checkpoint>, warden_store::AuditCheck)> {
        let last = self.store.last_checkpoint().await?;
        let key = self.keys.platform().1.verifying_key();
        let unsigned = last
            .as_ref()
            .and_then(|c| crate::keys::first_unsigned_checkpoint(std::slice::from_ref(c), &key));
        let check = match unsigned {
            Some((seq, problem)) => {
                let (entries, head_hash) = self.store.audit_head().await?;
                warden_store::AuditCheck {
                    entries,
                    intact: false,
                    head_hash,
                    first_broken: Some(seq),
                    problem: Some(problem),
                    checkpoints: 0,
                }
            }
            None => self.store.verify_audit_from(last.as_ref(), &[]).await?,
        };
        Ok((last, check))
    }

    /// Published checkpoints, for anyone: members keep copies where the database cannot
    /// reach them.
    pub async fn published_checkpoints(&self, after: i64, limit: u32) -> Result<CheckpointPage> {
        let limit = limit.clamp(1, 1000);
        let items: Vec<CheckpointDoc> = self
            .store
            .checkpoints_after(after, limit)
            .await?
            .into_iter()
            .map(Into::into)
            .collect();
        let next_after = (items.len() == limit as usize)
            .then(|| items.last().map(|c| c.number))
            .flatten();
        Ok(CheckpointPage {
            platform_key: crate::keys::platform_public_key(&self.keys),
            items,
            next_after,
        })
    }

    /// The latest 50 checkpoints as an Atom feed (RFC 4287), newest first; each entry's
    /// content is the checkpoint as `/api/v1/audit/checkpoints` gives it.
    pub async fn checkpoints_atom(&self, base_url: &str) -> Result<String> {
        let last = self.store.last_checkpoint().await?.map_or(0, |c| c.number);
        let mut items = self.store.checkpoints_after((last - 50).max(0), 50).await?;
        items.reverse();
        let esc = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
        };
        let ts = |at_us: i64| {
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_us) * 1000)
                .ok()
                .and_then(|t| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_default()
        };
        let now_us = i64::try_from(self.now().unix_timestamp_nanos() / 1000).unwrap_or(0);
        let base = esc(base_url);
        let mut out = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n\
             <id>{base}/api/v1/audit/checkpoints.atom</id>\n<title>Warden: signed checkpoints of the audit trail</title>\n\
             <updated>{}</updated>\n<link rel=\"self\" href=\"{base}/api/v1/audit/checkpoints.atom\"/>\n\
             <author><name>platform</name></author>\n",
            ts(items.first().map_or(now_us, |c| c.at_us)),
        );
        for c in items {
            let (number, seq, at_us) = (c.number, c.seq, c.at_us);
            let doc = serde_json::to_string(&CheckpointDoc::from(c)).unwrap_or_default();
            out.push_str(&format!(
                "<entry>\n<id>{base}/api/v1/audit/checkpoints#{number}</id>\n<title>Checkpoint {number}: entry {seq}</title>\n\
                 <updated>{}</updated>\n<content type=\"text\">{}</content>\n</entry>\n",
                ts(at_us),
                esc(&doc),
            ));
        }
        out.push_str("</feed>\n");
        Ok(out)
    }
}
