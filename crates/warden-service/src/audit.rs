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
        let items = self.store.audit(q.after, q.limit).await?;
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
            if let Some(cp) = self
                .store
                .checkpoints()
                .await?
                .into_iter()
                .find(|cp| !crate::keys::checkpoint_signed_by(cp, &key))
            {
                v.intact = false;
                v.first_broken = Some(cp.seq);
                v.problem = Some(format!(
                    "the checkpoint at entry {} is not signed by this platform's key",
                    cp.seq
                ));
            }
        }
        Ok(v)
    }

    /// Whether the audit chain is intact (an auditor's home page); false for anyone else.
    pub async fn audit_intact(&self, actor: &Actor) -> Result<bool> {
        if !can_read_audit(actor) {
            return Ok(false);
        }
        Ok(self.store.verify_audit().await?.intact)
    }
}
