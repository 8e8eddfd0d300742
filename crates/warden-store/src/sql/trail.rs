//! The audit trail: reading it, verifying the chain and its checkpoints, and the history
//! of every object.

use super::codec::*;
use super::store::SqlStore;
use crate::audit::{self, AuditCheck, AuditEntry, Checkpoint, Fields};
use crate::db::Row;
use crate::error::{Result, StoreError};
use crate::model::*;
use crate::traits::*;
use async_trait::async_trait;
use uuid::Uuid;

fn audit_entry(r: &Row) -> Result<AuditEntry> {
    Ok(AuditEntry {
        seq: r.i64("seq")?,
        at: from_us(r.i64("at_us")?)?,
        actor: from_json("audit actor", &r.text("actor")?)?,
        actor_org: r.opt_text("actor_org")?,
        event: r.text("event")?,
        subject_type: r.text("subject_type")?,
        subject_id: r.text("subject_id")?,
        data: from_json("audit data", &r.text("data")?)?,
        prev_hash: r.text("prev_hash")?,
        hash: r.text("hash")?,
        request_id: r.opt_text("request_id")?,
        state_hash: r.opt_text("state_hash")?,
    })
}

const AUDIT_PAGE: &str = "SELECT seq, at_us, actor, actor_org, event, subject_type, subject_id, data, prev_hash, hash, request_id, state_hash \
     FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2";

#[async_trait]
impl AuditStore for SqlStore {
    async fn audit(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditEntry>> {
        self.db
            .fetch(
                AUDIT_PAGE,
                &[after_seq.into(), i64::from(limit.clamp(1, 10_000)).into()],
            )
            .await?
            .iter()
            .map(audit_entry)
            .collect()
    }

    async fn verify_audit(&self) -> Result<AuditCheck> {
        let mut prev = audit::GENESIS_HASH.to_owned();
        let mut expected_seq = 1i64;
        let mut count = 0i64;
        let broken = |seq: i64, problem: String, count: i64, head: String| AuditCheck {
            entries: count,
            intact: false,
            head_hash: head,
            first_broken: Some(seq),
            problem: Some(problem),
            checkpoints: 0,
        };
        let checkpoints: std::collections::HashMap<i64, String> = self
            .checkpoints()
            .await?
            .into_iter()
            .map(|c| (c.seq, c.hash))
            .collect();
        let mut checked = 0i64;
        loop {
            let rows = self
                .db
                .fetch(
                    "SELECT seq, at_us, actor, event, subject_type, subject_id, data, prev_hash, hash, request_id, state_hash FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT 5000",
                    &[expected_seq.into()],
                )
                .await?;
            if rows.is_empty() {
                break;
            }
            for r in &rows {
                let seq = r.i64("seq")?;
                count += 1;
                if seq != expected_seq {
                    return Ok(broken(
                        expected_seq,
                        format!("entry {expected_seq} is missing"),
                        count,
                        prev,
                    ));
                }
                let (actor, event, st, sid, data, prev_hash, hash) = (
                    r.text("actor")?,
                    r.text("event")?,
                    r.text("subject_type")?,
                    r.text("subject_id")?,
                    r.text("data")?,
                    r.text("prev_hash")?,
                    r.text("hash")?,
                );
                if prev_hash != prev {
                    return Ok(broken(
                        seq,
                        format!("entry {seq} does not link to entry {}", seq - 1),
                        count,
                        prev,
                    ));
                }
                let (request_id, state_hash) =
                    (r.opt_text("request_id")?, r.opt_text("state_hash")?);
                let recomputed = audit::entry_hash(&Fields {
                    prev_hash: &prev_hash,
                    seq,
                    at_us: r.i64("at_us")?,
                    actor: &actor,
                    event: &event,
                    subject_type: &st,
                    subject_id: &sid,
                    data: &data,
                    request_id: request_id.as_deref(),
                    state_hash: state_hash.as_deref(),
                });
                if recomputed != hash {
                    return Ok(broken(
                        seq,
                        format!("entry {seq} was altered: its hash does not match its content"),
                        count,
                        prev,
                    ));
                }
                if let Some(h) = checkpoints.get(&seq) {
                    if *h != hash {
                        return Ok(broken(
                            seq,
                            format!(
                                "entry {seq} differs from the signed checkpoint at that point: the chain was rewritten"
                            ),
                            count,
                            prev,
                        ));
                    }
                    checked += 1;
                }
                prev = hash;
                expected_seq += 1;
            }
        }
        if let Some(beyond) = checkpoints.keys().filter(|s| **s > count).min() {
            return Ok(broken(
                count + 1,
                format!(
                    "a signed checkpoint covers entry {beyond}, but the chain ends at entry {count}: entries were removed"
                ),
                count,
                prev,
            ));
        }
        let head = self
            .db
            .fetch_optional("SELECT seq, hash FROM audit_head WHERE id = 1", &[])
            .await?
            .ok_or_else(|| StoreError::Corrupt("audit head row missing".into()))?;
        if head.i64("seq")? != count || head.text("hash")? != prev {
            return Ok(broken(
                count + 1,
                format!(
                    "the chain ends at entry {count} but the head records entry {}: entries were removed from the end",
                    head.i64("seq")?
                ),
                count,
                prev,
            ));
        }
        Ok(AuditCheck {
            entries: count,
            intact: true,
            head_hash: prev,
            first_broken: None,
            problem: None,
            checkpoints: checked,
        })
    }

    async fn audit_head(&self) -> Result<(i64, String)> {
        let r = self
            .db
            .fetch_optional("SELECT seq, hash FROM audit_head WHERE id = 1", &[])
            .await?
            .ok_or_else(|| StoreError::Corrupt("audit head row missing".into()))?;
        Ok((r.i64("seq")?, r.text("hash")?))
    }

    async fn add_checkpoint(&self, cp: &Checkpoint) -> Result<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "INSERT INTO audit_checkpoints (seq, hash, at_us, key_id, signature) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            &[
                cp.seq.into(),
                cp.hash.clone().into(),
                cp.at_us.into(),
                cp.key_id.clone().into(),
                cp.signature.clone().into(),
            ],
        )
        .await?;
        tx.commit().await
    }

    async fn checkpoints(&self) -> Result<Vec<Checkpoint>> {
        self.db
            .fetch(
                "SELECT seq, hash, at_us, key_id, signature FROM audit_checkpoints ORDER BY seq",
                &[],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(Checkpoint {
                    seq: r.i64("seq")?,
                    hash: r.text("hash")?,
                    at_us: r.i64("at_us")?,
                    key_id: r.text("key_id")?,
                    signature: r.text("signature")?,
                })
            })
            .collect()
    }

    async fn history(&self, subject_type: &str, id: Uuid) -> Result<Vec<ObjectVersion>> {
        self.db
            .fetch(
                "SELECT version, body, at_us FROM object_versions WHERE subject_type = $1 AND subject_id = $2 ORDER BY version",
                &[subject_type.into(), id.to_string().into()],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(ObjectVersion {
                    version: r.i64("version")?,
                    body: from_json("version body", &r.text("body")?)?,
                    at: from_us(r.i64("at_us")?)?,
                })
            })
            .collect()
    }
}
