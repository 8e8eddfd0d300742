//! The audit trail: reading it, verifying the chain and its checkpoints, and the history
//! of every object.

use super::codec::*;
use super::store::SqlStore;
use crate::audit::{self, AuditAlert, AuditCheck, AuditEntry, AuditScope, Checkpoint, Fields};
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

fn checkpoint(r: &Row) -> Result<Checkpoint> {
    Ok(Checkpoint {
        number: r.i64("number")?,
        seq: r.i64("seq")?,
        hash: r.text("hash")?,
        at_us: r.i64("at_us")?,
        prev: r.text("prev")?,
        key_id: r.text("key_id")?,
        signature: r.text("signature")?,
    })
}

const AUDIT_PAGE: &str = "SELECT seq, at_us, actor, actor_org, event, subject_type, subject_id, data, prev_hash, hash, request_id, state_hash \
     FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2";

const AUDIT_SCOPED_PAGE: &str = "SELECT seq, at_us, actor, actor_org, event, subject_type, subject_id, data, prev_hash, hash, request_id, state_hash \
     FROM audit_log WHERE seq > $1 AND (province = $3 OR actor_org = $4) ORDER BY seq LIMIT $2";

#[async_trait]
impl AuditStore for SqlStore {
    async fn audit(
        &self,
        after_seq: i64,
        limit: u32,
        scope: Option<&AuditScope>,
    ) -> Result<Vec<AuditEntry>> {
        let limit = i64::from(limit.clamp(1, 10_000));
        let rows = match scope {
            None => {
                self.db
                    .fetch(AUDIT_PAGE, &[after_seq.into(), limit.into()])
                    .await?
            }
            Some(s) => {
                self.db
                    .fetch(
                        AUDIT_SCOPED_PAGE,
                        &[
                            after_seq.into(),
                            limit.into(),
                            s.province.clone().into(),
                            s.org_slug.clone().into(),
                        ],
                    )
                    .await?
            }
        };
        rows.iter().map(audit_entry).collect()
    }

    async fn verify_audit_from(
        &self,
        from: Option<&Checkpoint>,
        saved: &[Checkpoint],
    ) -> Result<AuditCheck> {
        let broken = |seq: i64, problem: String, count: i64, head: String| AuditCheck {
            entries: count,
            intact: false,
            head_hash: head,
            first_broken: Some(seq),
            problem: Some(problem),
            checkpoints: 0,
        };
        let stored = self.checkpoints().await?;
        if let Err((seq, problem)) = audit::check_checkpoint_links(&stored) {
            return Ok(broken(seq, problem, 0, String::new()));
        }
        // Checkpoints kept outside the database must be there unchanged.
        for s in saved {
            match stored.iter().find(|c| c.number == s.number) {
                Some(c) if c == s => {}
                Some(_) => {
                    return Ok(broken(
                        s.seq,
                        format!(
                            "checkpoint {} differs from the copy saved earlier: checkpoints were replaced",
                            s.number
                        ),
                        0,
                        String::new(),
                    ));
                }
                None => {
                    return Ok(broken(
                        s.seq,
                        format!(
                            "checkpoint {} (entry {}), saved earlier, is missing from the database: checkpoints were removed",
                            s.number, s.seq
                        ),
                        0,
                        String::new(),
                    ));
                }
            }
        }
        let after = from.map_or(0, |c| c.seq);
        let expect: std::collections::HashMap<i64, &Checkpoint> = stored
            .iter()
            .chain(saved)
            .filter(|c| c.seq > after)
            .map(|c| (c.seq, c))
            .collect();
        let (mut expected_seq, mut prev) = match from {
            None => (1i64, audit::GENESIS_HASH.to_owned()),
            Some(cp) => {
                let at = self
                    .db
                    .fetch_optional(
                        "SELECT hash FROM audit_log WHERE seq = $1",
                        &[cp.seq.into()],
                    )
                    .await?;
                if at.map(|r| r.text("hash")).transpose()?.as_deref() != Some(cp.hash.as_str()) {
                    return Ok(broken(
                        cp.seq,
                        format!(
                            "entry {} differs from signed checkpoint {}: the chain was rewritten",
                            cp.seq, cp.number
                        ),
                        cp.seq - 1,
                        String::new(),
                    ));
                }
                (cp.seq + 1, cp.hash.clone())
            }
        };
        let mut count = expected_seq - 1;
        let mut checked = 0i64;
        // Writers keep appending while the chain is walked: the walk ends at a head read
        // after the last entry it saw, and goes on if the head has moved past it.
        let mut rounds = 0;
        // The next page is read while this one is hashed.
        let page = |db: crate::db::Db, from: i64| {
            tokio::spawn(async move {
                db.fetch(
                    "SELECT seq, at_us, actor, event, subject_type, subject_id, data, prev_hash, hash, request_id, state_hash FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT 5000",
                    &[from.into()],
                )
                .await
            })
        };
        'walk: loop {
            let mut reading = page(self.db.clone(), expected_seq);
            loop {
                let rows = reading
                    .await
                    .map_err(|e| StoreError::Unavailable(format!("reading the trail: {e}")))??;
                if rows.is_empty() {
                    break;
                }
                reading = page(self.db.clone(), expected_seq + rows.len() as i64);
                for r in &rows {
                    let seq = r.i64("seq")?;
                    if seq != expected_seq {
                        return Ok(broken(
                            expected_seq,
                            format!("entry {expected_seq} is missing"),
                            count,
                            prev,
                        ));
                    }
                    count += 1;
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
                    if let Some(cp) = expect.get(&seq) {
                        if cp.hash != hash {
                            return Ok(broken(
                                seq,
                                format!(
                                    "entry {seq} differs from signed checkpoint {} at that point: the chain was rewritten",
                                    cp.number
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
            let head = self
                .db
                .fetch_optional("SELECT seq, hash FROM audit_head WHERE id = 1", &[])
                .await?
                .ok_or_else(|| StoreError::Corrupt("audit head row missing".into()))?;
            rounds += 1;
            if head.i64("seq")? > count && rounds < 100 {
                continue 'walk;
            }
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
            if let Some(beyond) = expect
                .values()
                .filter(|c| c.seq > count)
                .min_by_key(|c| c.seq)
            {
                return Ok(broken(
                    count + 1,
                    format!(
                        "signed checkpoint {} covers entry {}, but the chain ends at entry {count}: entries were removed",
                        beyond.number, beyond.seq
                    ),
                    count,
                    prev,
                ));
            }
            break;
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
            "INSERT INTO audit_checkpoints (number, seq, hash, at_us, prev, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            &[
                cp.number.into(),
                cp.seq.into(),
                cp.hash.clone().into(),
                cp.at_us.into(),
                cp.prev.clone().into(),
                cp.key_id.clone().into(),
                cp.signature.clone().into(),
            ],
        )
        .await?;
        tx.commit().await
    }

    async fn checkpoints(&self) -> Result<Vec<Checkpoint>> {
        self.checkpoints_after(0, u32::MAX).await
    }

    async fn checkpoints_after(&self, after: i64, limit: u32) -> Result<Vec<Checkpoint>> {
        self.db
            .fetch(
                "SELECT number, seq, hash, at_us, prev, key_id, signature FROM audit_checkpoints WHERE number > $1 ORDER BY number LIMIT $2",
                &[after.into(), i64::from(limit).into()],
            )
            .await?
            .iter()
            .map(checkpoint)
            .collect()
    }

    async fn last_checkpoint(&self) -> Result<Option<Checkpoint>> {
        self.db
            .fetch_optional(
                "SELECT number, seq, hash, at_us, prev, key_id, signature FROM audit_checkpoints ORDER BY number DESC LIMIT 1",
                &[],
            )
            .await?
            .as_ref()
            .map(checkpoint)
            .transpose()
    }

    async fn raise_audit_alert(
        &self,
        first_broken: i64,
        problem: &str,
        at: time::OffsetDateTime,
    ) -> Result<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "INSERT INTO audit_alerts (first_broken, problem, detected_us, last_seen_us) VALUES ($1, $2, $3, $3) \
             ON CONFLICT (first_broken) DO UPDATE SET problem = excluded.problem, last_seen_us = excluded.last_seen_us",
            &[first_broken.into(), problem.to_owned().into(), us(at).into()],
        )
        .await?;
        tx.commit().await
    }

    async fn deep_check(&self) -> Result<crate::audit::DeepCheck> {
        self.read_back().await
    }

    async fn audit_alerts(&self, limit: u32) -> Result<Vec<AuditAlert>> {
        self.db
            .fetch(
                "SELECT first_broken, problem, detected_us, last_seen_us FROM audit_alerts ORDER BY last_seen_us DESC, first_broken LIMIT $1",
                &[i64::from(limit).into()],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(AuditAlert {
                    first_broken: r.i64("first_broken")?,
                    problem: r.text("problem")?,
                    detected_at: from_us(r.i64("detected_us")?)?,
                    last_seen_at: from_us(r.i64("last_seen_us")?)?,
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
