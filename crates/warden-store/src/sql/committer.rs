//! The commit path: every write goes through one committer task per process, which
//! applies the waiting changesets under savepoints in one transaction (one fsync for the
//! group), each with its version checks, object versions, block changes, idempotency claim
//! and audit entries.

use super::codec::*;
use crate::audit::{self, Fields};
use crate::db::{Arg, Column, Db, Tx};
use crate::error::{Result, StoreError};
use crate::model::*;
use tokio::sync::{mpsc, oneshot};

pub(super) type Pending = (Changeset, oneshot::Sender<Result<CommitOutcome>>);

/// At most this many commits share one transaction.
pub(super) const GROUP: usize = 256;

/// The claim, the writes and the audit records of one changeset, inside a transaction, as a
/// group of its own.
pub(super) async fn apply_changeset(tx: &mut Tx, cs: &Changeset) -> Result<CommitOutcome> {
    let mut tail = Tail::begin(tx, false).await?;
    let outcome = apply_into(tx, cs, &mut tail).await?;
    if matches!(outcome, CommitOutcome::Applied { .. }) {
        tail.finish(tx).await?;
    }
    Ok(outcome)
}

/// One changeset inside a group: its claim and writes go to the database at once, its object
/// versions and audit entries to `tail`, written when the group ends.
pub(super) async fn apply_into(
    tx: &mut Tx,
    cs: &Changeset,
    tail: &mut Tail,
) -> Result<CommitOutcome> {
    let at_us = us(cs.at);
    if let Some(c) = &cs.idempotency
        && let Some(response) = claim(tx, c, at_us).await?
    {
        return Ok(CommitOutcome::Replayed { response });
    }
    // A changeset that only makes new cases and reports (a report's) leaves its rows to the
    // group's end; any other first writes out what earlier ones left, so that it finds them.
    let deferred = tail.defer
        && cs.writes.iter().all(|w| {
            matches!(
                w,
                Write::Case { expected: None, .. } | Write::Report { expected: None, .. }
            )
        });
    if !deferred {
        tail.flush_inserts(tx).await?;
    }
    let mut states = std::collections::HashMap::new();
    for w in &cs.writes {
        if let Some((id, hash)) = apply_write(tx, w, at_us, tail, deferred).await? {
            states.insert(id, hash);
        }
    }
    let seq = tail.append_audit(cs, at_us, &states)?;
    Ok(CommitOutcome::Applied { audit_seq: seq })
}

/// What a group's changesets leave to be written once, when the group ends: the chain's head
/// (locked when the group began, so audit sequence numbers and block-change serials are drawn
/// in commit order), and the object versions and audit entries in order. On PostgreSQL each
/// goes in one statement for the whole group: per-row statements were most of a commit's
/// round trips.
pub(super) struct Tail {
    seq: i64,
    prev: String,
    /// Object versions (kind, id, version, body, at) and audit entries (`AUDIT_COLUMNS`).
    versions: Vec<Vec<Arg>>,
    audit: Vec<Vec<Arg>>,
    /// Whether new cases and reports wait for the group's end too (PostgreSQL, in a pass
    /// without savepoints: a failure there reruns the group with them, undeferred).
    defer: bool,
    /// Deferred rows: new cases (their insert's arguments), their timing rows and indicators,
    /// new reports.
    cases: Vec<Vec<Arg>>,
    case_timings: Vec<Vec<Arg>>,
    indicators: Vec<Vec<Arg>>,
    reports: Vec<Vec<Arg>>,
}

/// Where a tail stood before a changeset, to forget what a failed one added. Deferred rows
/// need no mark: a pass that defers is abandoned whole when a changeset fails.
pub(super) struct Mark {
    seq: i64,
    prev: String,
    versions: usize,
    audit: usize,
}

impl Tail {
    pub(super) async fn begin(tx: &mut Tx, defer: bool) -> Result<Tail> {
        let (seq, prev) = lock_head(tx).await?;
        Ok(Tail {
            seq,
            prev,
            versions: Vec::new(),
            audit: Vec::new(),
            defer: defer && tx.backend() == Backend::Postgres,
            cases: Vec::new(),
            case_timings: Vec::new(),
            indicators: Vec::new(),
            reports: Vec::new(),
        })
    }

    pub(super) fn mark(&self) -> Mark {
        Mark {
            seq: self.seq,
            prev: self.prev.clone(),
            versions: self.versions.len(),
            audit: self.audit.len(),
        }
    }

    pub(super) fn undo(&mut self, m: Mark) {
        self.seq = m.seq;
        self.prev = m.prev;
        self.versions.truncate(m.versions);
        self.audit.truncate(m.audit);
    }

    /// Writes the deferred cases (with their timing rows and indicators) and reports, one
    /// statement per table, in the order their foreign keys need.
    pub(super) async fn flush_inserts(&mut self, tx: &mut Tx) -> Result<()> {
        if !self.cases.is_empty() {
            tx.execute_columns(
                "INSERT INTO cases (id, status, category, subtype, province, assigned_to, body, version, created_us, updated_us) \
                 SELECT a, b, c, d, e, f, g, 1, h, h FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
                 $6::text[], $7::text[], $8::bigint[]) AS x(a, b, c, d, e, f, g, h)",
                Column::all(&self.cases)?,
            )
            .await?;
            self.cases.clear();
        }
        if !self.case_timings.is_empty() {
            tx.execute_columns(
                "INSERT INTO case_timings (case_id, opened_us, province, assigned_to, category, determine_ms, decide_ms) \
                 SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[]) \
                 ON CONFLICT (case_id) DO UPDATE SET opened_us = excluded.opened_us, province = excluded.province, \
                 assigned_to = excluded.assigned_to, category = excluded.category, \
                 determine_ms = excluded.determine_ms, decide_ms = excluded.decide_ms",
                Column::all(&self.case_timings)?,
            )
            .await?;
            self.case_timings.clear();
        }
        insert_case_indicators(tx, &self.indicators).await?;
        self.indicators.clear();
        if !self.reports.is_empty() {
            tx.execute_columns(
                "INSERT INTO reports (id, case_id, reporter_org, category, province, self_handled, body, version, created_us, updated_us) \
                 SELECT a, b, c, d, e, f, g, 1, h, h FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
                 $6::bigint[], $7::text[], $8::bigint[]) AS x(a, b, c, d, e, f, g, h)",
                Column::all(&self.reports)?,
            )
            .await?;
            self.reports.clear();
        }
        Ok(())
    }

    /// Chains the changeset's events after the head; answers the last sequence number.
    fn append_audit(
        &mut self,
        cs: &Changeset,
        at_us: i64,
        states: &std::collections::HashMap<String, String>,
    ) -> Result<i64> {
        let actor = to_json(&cs.actor)?;
        let actor_org = cs.actor.org().map(|o| o.slug.clone());
        let provinces = provinces_of(&cs.writes);
        for e in &cs.events {
            let seq = self.seq + 1;
            let (hash, row) = audit_row(
                cs, e, seq, at_us, &self.prev, &actor, &actor_org, &provinces, states,
            )?;
            self.audit.push(row);
            self.seq = seq;
            self.prev = hash;
        }
        Ok(self.seq)
    }

    /// Writes the versions and entries held, and moves the head to the last entry.
    pub(super) async fn finish(mut self, tx: &mut Tx) -> Result<()> {
        self.flush_inserts(tx).await?;
        // PostgreSQL numbers versions from a sequence, in the order given (WITH ORDINALITY);
        // SQLite, whose writers hold its one write lock, takes the next number.
        insert_rows(
            tx,
            "INSERT INTO object_versions (subject_type, subject_id, version, body, at_us) \
             SELECT t, i, v, b, a FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bigint[]) \
             WITH ORDINALITY AS x(t, i, v, b, a, n) ORDER BY n",
            "INSERT INTO object_versions (subject_type, subject_id, version, body, at_us, seq) \
             VALUES ($1, $2, $3, $4, $5, (SELECT COALESCE(MAX(seq), 0) + 1 FROM object_versions))",
            &self.versions,
        )
        .await?;
        insert_rows(
            tx,
            "INSERT INTO audit_log (seq, at_us, actor, actor_org, event, subject_type, subject_id, data, prev_hash, hash, request_id, state_hash, province) \
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
             $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[])",
            "INSERT INTO audit_log (seq, at_us, actor, actor_org, event, subject_type, subject_id, data, prev_hash, hash, request_id, state_hash, province) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            &self.audit,
        )
        .await?;
        set_head(tx, self.seq, self.prev).await
    }
}

/// Takes whatever commits are waiting, applies them in one transaction, commits once, then
/// answers each.
pub(super) async fn group_committer(db: Db, mut rx: mpsc::Receiver<Pending>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < GROUP {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let results = commit_group(&db, &batch).await;
        for ((_, reply), result) in batch.into_iter().zip(results) {
            let _ = reply.send(result);
        }
    }
}

/// How a pass over a group ended.
enum Pass {
    Done(Vec<Result<CommitOutcome>>),
    /// A changeset failed without savepoints: the group must be run again with them.
    Isolate,
}

/// A group is first applied without savepoints (two round trips fewer per changeset); only
/// if one of its changesets fails is it rolled back and applied again with each changeset
/// under its own savepoint, so that the failure leaves the others alone. If the final commit
/// fails, all of them fail.
async fn commit_group(db: &Db, batch: &[Pending]) -> Vec<Result<CommitOutcome>> {
    match run_group(db, batch, false).await {
        Pass::Done(results) => results,
        Pass::Isolate => match run_group(db, batch, true).await {
            Pass::Done(results) => results,
            Pass::Isolate => failed_all(
                batch,
                &StoreError::Corrupt("a group with savepoints asked for savepoints".into()),
            ),
        },
    }
}

/// The same failure for every changeset of the group; a read-only database stays what it is
/// (the caller answers `read-only-node`, not an outage).
fn failed_all(batch: &[Pending], e: &StoreError) -> Vec<Result<CommitOutcome>> {
    batch
        .iter()
        .map(|_| {
            Err(match e {
                StoreError::ReadOnly => StoreError::ReadOnly,
                other => StoreError::Unavailable(other.to_string()),
            })
        })
        .collect()
}

async fn run_group(db: &Db, batch: &[Pending], savepoints: bool) -> Pass {
    let mut tx = match db.begin().await {
        Ok(t) => t,
        Err(e) => return Pass::Done(failed_all(batch, &e)),
    };
    let mut tail = match Tail::begin(&mut tx, !savepoints).await {
        Ok(t) => t,
        Err(e) => {
            let _ = tx.rollback().await;
            return Pass::Done(failed_all(batch, &e));
        }
    };
    let mut results = Vec::with_capacity(batch.len());
    for (cs, _) in batch {
        if savepoints && let Err(e) = tx.execute("SAVEPOINT one_commit", &[]).await {
            let _ = tx.rollback().await;
            return Pass::Done(failed_all(batch, &e));
        }
        let mark = tail.mark();
        let outcome = apply_into(&mut tx, cs, &mut tail).await;
        let applied = matches!(outcome, Ok(CommitOutcome::Applied { .. }));
        if !applied {
            tail.undo(mark);
        }
        if !savepoints {
            if let Err(e) = outcome {
                let _ = tx.rollback().await;
                // Alone in its group, the changeset's own error is the answer.
                return if batch.len() == 1 {
                    Pass::Done(vec![Err(e)])
                } else {
                    Pass::Isolate
                };
            }
            results.push(outcome);
            continue;
        }
        let step = if applied {
            tx.execute("RELEASE SAVEPOINT one_commit", &[]).await
        } else {
            match tx.execute("ROLLBACK TO SAVEPOINT one_commit", &[]).await {
                Ok(_) => tx.execute("RELEASE SAVEPOINT one_commit", &[]).await,
                Err(e) => Err(e),
            }
        };
        if let Err(e) = step {
            let _ = tx.rollback().await;
            return Pass::Done(failed_all(batch, &e));
        }
        results.push(outcome);
    }
    if let Err(e) = tail.finish(&mut tx).await {
        let _ = tx.rollback().await;
        // Without savepoints the deferred rows of any changeset may be the cause: find which.
        return if savepoints {
            Pass::Done(failed_all(batch, &e))
        } else {
            Pass::Isolate
        };
    }
    match tx.commit().await {
        Ok(()) => Pass::Done(results),
        Err(e) => Pass::Done(failed_all(batch, &e)),
    }
}

/// What a write puts in its table: the SQL for insert and versioned update, and the columns.
/// Both statements take `$1` = id, then the table's columns in order, and the update takes the
/// expected version last.
pub(super) struct Shape {
    pub(super) kind: &'static str,
    pub(super) id: String,
    pub(super) insert: &'static str,
    pub(super) update: &'static str,
    pub(super) columns: Vec<Arg>,
    pub(super) body: String,
}

pub(super) fn shape(w: &Write) -> Result<(Shape, Option<i64>)> {
    Ok(match w {
        Write::Token {
            token,
            hash,
            expected,
        } => (
            Shape {
                kind: "token",
                id: token.id.to_string(),
                insert: "INSERT INTO api_tokens (id, principal_id, prefix, hash, expires_us, revoked_us, body, version, created_us, updated_us) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8)",
                update: "UPDATE api_tokens SET principal_id = $2, prefix = $3, hash = COALESCE($4, hash), expires_us = $5, revoked_us = $6, body = $7, version = version + 1, updated_us = $8 WHERE id = $1 AND version = $9",
                columns: vec![
                    token.principal_id.to_string().into(),
                    token.prefix.clone().into(),
                    hash.clone().into(),
                    token.expires_at.map(us).into(),
                    token.revoked_at.map(us).into(),
                ],
                body: to_json(token)?,
            },
            *expected,
        ),
        Write::SigningKey { key, expected } => (
            Shape {
                kind: "signing_key",
                id: key.key_id.clone(),
                insert: "INSERT INTO signing_keys (id, org_id, retired_us, body, version, created_us, updated_us) VALUES ($1, $2, $3, $4, 1, $5, $5)",
                update: "UPDATE signing_keys SET org_id = $2, retired_us = $3, body = $4, version = version + 1, updated_us = $5 WHERE id = $1 AND version = $6",
                columns: vec![key.org_id.to_string().into(), key.retired_at.map(us).into()],
                body: to_json(key)?,
            },
            *expected,
        ),
        Write::Enforcement {
            enforcement: e,
            expected,
        } => (
            Shape {
                kind: "enforcement",
                id: e.id.to_string(),
                insert: "INSERT INTO enforcements (id, measure_id, org_id, authority_id, province, reason, body, version, created_us, updated_us) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8)",
                update: "UPDATE enforcements SET measure_id = $2, org_id = $3, authority_id = $4, province = $5, reason = $6, body = $7, version = version + 1, updated_us = $8 WHERE id = $1 AND version = $9",
                columns: vec![
                    e.measure_id.to_string().into(),
                    e.org.id.to_string().into(),
                    e.authority.id.to_string().into(),
                    e.province.map(|p| p.to_string()).into(),
                    enum_str(&e.reason).into(),
                ],
                body: to_json(e)?,
            },
            *expected,
        ),
        Write::Bulletin {
            bulletin: b,
            expected,
        } => (
            Shape {
                kind: "bulletin",
                id: b.id.to_string(),
                insert: "INSERT INTO bulletins (id, kind, issuer_org, body, version, created_us, updated_us) VALUES ($1, $2, $3, $4, 1, $5, $5)",
                update: "UPDATE bulletins SET kind = $2, issuer_org = $3, body = $4, version = version + 1, updated_us = $5 WHERE id = $1 AND version = $6",
                columns: vec![b.kind.as_str().into(), b.issuer.id.to_string().into()],
                body: to_json(b)?,
            },
            *expected,
        ),
        Write::AllowlistEntry { entry, expected } => (
            Shape {
                kind: "allowlist_entry",
                id: entry.id.to_string(),
                insert: "INSERT INTO allowlist_entries (id, value, org_id, active, body, version, created_us, updated_us) VALUES ($1, $2, $3, $4, $5, 1, $6, $6)",
                update: "UPDATE allowlist_entries SET value = $2, org_id = $3, active = $4, body = $5, version = version + 1, updated_us = $6 WHERE id = $1 AND version = $7",
                columns: vec![
                    entry.value.clone().into(),
                    entry.org.id.to_string().into(),
                    i64::from(entry.removed.is_none()).into(),
                ],
                body: to_json(entry)?,
            },
            *expected,
        ),
        Write::ResourceClaim { claim, expected } => (
            Shape {
                kind: "resource_claim",
                id: claim.id.to_string(),
                insert: "INSERT INTO resource_claims (id, org_id, kind, value, status, body, version, created_us, updated_us) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7)",
                update: "UPDATE resource_claims SET org_id = $2, kind = $3, value = $4, status = $5, body = $6, version = version + 1, updated_us = $7 WHERE id = $1 AND version = $8",
                columns: vec![
                    claim.org.id.to_string().into(),
                    claim.kind.as_str().into(),
                    claim.value.clone().into(),
                    claim.status.as_str().into(),
                ],
                body: to_json(claim)?,
            },
            *expected,
        ),
        Write::Notice {
            notice,
            recipient_org_id,
        } => (
            Shape {
                kind: "notice",
                id: notice.id.to_string(),
                insert: "INSERT INTO notices (id, measure_id, recipient_org, notice_type, body, version, created_us, updated_us) VALUES ($1, $2, $3, $4, $5, 1, $6, $6)",
                // Never used: a notice is written once (`expected` is always None).
                update: "",
                columns: vec![
                    notice.measure_id.to_string().into(),
                    recipient_org_id.to_string().into(),
                    enum_str(&notice.body.notice_type).into(),
                ],
                body: to_json(notice)?,
            },
            None,
        ),
        Write::Password { .. }
        | Write::Link { .. }
        | Write::UseLink { .. }
        | Write::SecondFactor { .. } => {
            return Err(StoreError::Corrupt(
                "credentials are not shaped objects".into(),
            ));
        }
        Write::Organisation { org, expected } => (
            Shape {
                kind: "organisation",
                id: org.id.to_string(),
                insert: "INSERT INTO organisations (id, slug, org_type, body, version, created_us, updated_us) VALUES ($1, $2, $3, $4, 1, $5, $5)",
                update: "UPDATE organisations SET slug = $2, org_type = $3, body = $4, version = version + 1, updated_us = $5 WHERE id = $1 AND version = $6",
                columns: vec![org.slug.clone().into(), org.org_type.as_str().into()],
                body: to_json(org)?,
            },
            *expected,
        ),
        Write::Principal {
            principal,
            expected,
        } => (
            Shape {
                kind: "principal",
                id: principal.id.to_string(),
                insert: "INSERT INTO principals (id, org_id, kind, name, body, version, created_us, updated_us) VALUES ($1, $2, $3, $4, $5, 1, $6, $6)",
                update: "UPDATE principals SET org_id = $2, kind = $3, name = $4, body = $5, version = version + 1, updated_us = $6 WHERE id = $1 AND version = $7",
                columns: vec![
                    principal.org_id.to_string().into(),
                    enum_str(&principal.kind).into(),
                    principal.name.clone().into(),
                ],
                body: to_json(principal)?,
            },
            *expected,
        ),
        Write::Report { report, expected } => (
            Shape {
                kind: "report",
                id: report.id.to_string(),
                insert: "INSERT INTO reports (id, case_id, reporter_org, category, province, self_handled, body, version, created_us, updated_us) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8)",
                update: "UPDATE reports SET case_id = $2, reporter_org = $3, category = $4, province = $5, self_handled = $6, body = $7, version = version + 1, updated_us = $8 WHERE id = $1 AND version = $9",
                columns: vec![
                    report.case_id.map(|c| c.to_string()).into(),
                    report.reporter.id.to_string().into(),
                    report.content.classification.category.as_str().into(),
                    report.content.province.map(|p| p.to_string()).into(),
                    i64::from(report.self_handled.is_some()).into(),
                ],
                body: to_json(report)?,
            },
            *expected,
        ),
        Write::Case { case, expected } => (
            Shape {
                kind: "case",
                id: case.id.to_string(),
                insert: "INSERT INTO cases (id, status, category, subtype, province, assigned_to, body, version, created_us, updated_us) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8)",
                update: "UPDATE cases SET status = $2, category = $3, subtype = $4, province = $5, assigned_to = $6, body = $7, version = version + 1, updated_us = $8 WHERE id = $1 AND version = $9",
                columns: vec![
                    case.status.as_str().into(),
                    case.classification.category.as_str().into(),
                    case.classification.subtype.as_str().into(),
                    case.province.map(|p| p.to_string()).into(),
                    case.assigned_to.as_ref().map(|o| o.id.to_string()).into(),
                ],
                body: to_json(case)?,
            },
            *expected,
        ),
        Write::Measure { measure, expected } => (
            Shape {
                kind: "measure",
                id: measure.id.to_string(),
                insert: "INSERT INTO measures (id, case_id, notice_id, kind, recipient_org, deciding_org, status, overdue, block_status, target_kind, target_value, deadline_us, expires_us, reference, written_due_us, written_pending, remind_us, remind_pending, scope, range_last, review_pending, probe_next_us, body, version, created_us, updated_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, 1, $24, $24)",
                update: "UPDATE measures SET case_id = $2, notice_id = $3, kind = $4, recipient_org = $5, deciding_org = $6, status = $7, overdue = $8, block_status = $9, target_kind = $10, target_value = $11, deadline_us = $12, expires_us = $13, reference = $14, written_due_us = $15, written_pending = $16, remind_us = $17, remind_pending = $18, scope = $19, range_last = $20, review_pending = $21, probe_next_us = $22, body = $23, version = version + 1, updated_us = $24 WHERE id = $1 AND version = $25",
                columns: vec![
                    measure.case_id.to_string().into(),
                    measure.notice_id.to_string().into(),
                    measure.kind.as_str().into(),
                    measure.recipient.id.to_string().into(),
                    measure.deciding_org.id.to_string().into(),
                    measure.status.as_str().into(),
                    i64::from(measure.overdue).into(),
                    measure.block.as_ref().map(|b| enum_str(&b.status)).into(),
                    measure
                        .target
                        .as_ref()
                        .map(|t| t.kind().as_str().to_owned())
                        .into(),
                    measure.target.as_ref().map(|t| t.value().to_owned()).into(),
                    us(measure.deadline).into(),
                    measure.block.as_ref().map(|b| us(b.expires_at)).into(),
                    warden_core::notice::reference_number(measure).into(),
                    measure.written_notice_due.map(us).into(),
                    i64::from(measure.written_notice_awaited()).into(),
                    us(measure.remind_at()).into(),
                    i64::from(measure.reminder_pending()).into(),
                    measure.scope().map(|s| s.as_str().to_owned()).into(),
                    measure
                        .range_last
                        .as_ref()
                        .map(|r| r.value().to_owned())
                        .into(),
                    i64::from(measure.review_pending()).into(),
                    measure
                        .probe
                        .as_ref()
                        .filter(|_| measure.status != warden_core::lifecycle::NoticeStatus::Closed)
                        .map(|p| us(p.next_at))
                        .into(),
                ],
                body: to_json(measure)?,
            },
            *expected,
        ),
        Write::Inquiry {
            inquiry: q,
            expected,
        } => (
            Shape {
                kind: "inquiry",
                id: q.id.to_string(),
                insert: "INSERT INTO inquiries (id, addressee_org, authority_org, asker_org, province, status, overdue, due_us, subject_kind, subject_value, holder_org, body, version, created_us, updated_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $13)",
                update: "UPDATE inquiries SET addressee_org = $2, authority_org = $3, asker_org = $4, province = $5, status = $6, overdue = $7, due_us = $8, subject_kind = $9, subject_value = $10, holder_org = $11, body = $12, version = version + 1, updated_us = $13 WHERE id = $1 AND version = $14",
                columns: vec![
                    q.addressee.id.to_string().into(),
                    q.authority.id.to_string().into(),
                    q.asked_by.id.to_string().into(),
                    q.province.map(|p| p.to_string()).into(),
                    q.status.as_str().into(),
                    i64::from(q.overdue).into(),
                    us(q.due).into(),
                    q.subject.kind().as_str().into(),
                    q.subject.value().to_owned().into(),
                    q.answer.as_ref().and_then(|a| a.holder_org.clone()).into(),
                ],
                body: to_json(q)?,
            },
            *expected,
        ),
        Write::Appeal { appeal, expected } => (
            Shape {
                kind: "appeal",
                id: appeal.id.to_string(),
                insert: "INSERT INTO appeals (id, measure_id, deciding_org, status, reply_due_us, body, version, created_us, updated_us) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7)",
                update: "UPDATE appeals SET measure_id = $2, deciding_org = $3, status = $4, reply_due_us = $5, body = $6, version = version + 1, updated_us = $7 WHERE id = $1 AND version = $8",
                columns: vec![
                    appeal.measure_id.to_string().into(),
                    appeal.deciding_org.id.to_string().into(),
                    appeal.status.as_str().into(),
                    us(appeal.reply_due).into(),
                ],
                body: to_json(appeal)?,
            },
            *expected,
        ),
    })
}

fn exists_sql(kind: &str) -> &'static str {
    match kind {
        "organisation" => "SELECT version FROM organisations WHERE id = $1",
        "principal" => "SELECT version FROM principals WHERE id = $1",
        "report" => "SELECT version FROM reports WHERE id = $1",
        "case" => "SELECT version FROM cases WHERE id = $1",
        "measure" => "SELECT version FROM measures WHERE id = $1",
        "token" => "SELECT version FROM api_tokens WHERE id = $1",
        "signing_key" => "SELECT version FROM signing_keys WHERE id = $1",
        "notice" => "SELECT version FROM notices WHERE id = $1",
        "enforcement" => "SELECT version FROM enforcements WHERE id = $1",
        "bulletin" => "SELECT version FROM bulletins WHERE id = $1",
        "allowlist_entry" => "SELECT version FROM allowlist_entries WHERE id = $1",
        "resource_claim" => "SELECT version FROM resource_claims WHERE id = $1",
        "inquiry" => "SELECT version FROM inquiries WHERE id = $1",
        _ => "SELECT version FROM appeals WHERE id = $1",
    }
}

/// Writes one object; returns its (id, SHA-256 of the new body) for the audit entries.
async fn apply_write(
    tx: &mut Tx,
    w: &Write,
    at_us: i64,
    tail: &mut Tail,
    deferred: bool,
) -> Result<Option<(String, String)>> {
    match w {
        Write::Link { link } => {
            // A new link replaces the person's earlier ones that were not used.
            tx.execute(
                "UPDATE one_time_links SET used_us = $2 WHERE principal_id = $1 AND used_us IS NULL",
                &[link.principal_id.to_string().into(), at_us.into()],
            )
            .await?;
            tx.execute(
                "INSERT INTO one_time_links (id_hash, principal_id, purpose, created_us, expires_us, used_us) VALUES ($1, $2, $3, $4, $5, NULL)",
                &[
                    link.id_hash.clone().into(),
                    link.principal_id.to_string().into(),
                    link.purpose.clone().into(),
                    us(link.created).into(),
                    us(link.expires).into(),
                ],
            )
            .await?;
            return Ok(None);
        }
        Write::UseLink { id_hash } => {
            let n = tx
                .execute(
                    "UPDATE one_time_links SET used_us = $2 WHERE id_hash = $1 AND used_us IS NULL AND expires_us > $2",
                    &[id_hash.clone().into(), at_us.into()],
                )
                .await?;
            if n != 1 {
                return Err(StoreError::Conflict {
                    kind: "one_time_link",
                    id: "the link".into(),
                    expected: 0,
                });
            }
            return Ok(None);
        }
        Write::SecondFactor { factor } => {
            tx.execute(
                "INSERT INTO second_factors (principal_id, sealed_secret, confirmed_us, last_step) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (principal_id) DO UPDATE SET sealed_secret = excluded.sealed_secret, confirmed_us = excluded.confirmed_us, last_step = excluded.last_step",
                &[
                    factor.principal_id.to_string().into(),
                    factor.sealed_secret.clone().into(),
                    factor.confirmed.map(us).into(),
                    factor.last_step.into(),
                ],
            )
            .await?;
            return Ok(None);
        }
        _ => {}
    }
    if let Write::Password { principal_id, hash } = w {
        tx.execute(
            "INSERT INTO passwords (principal_id, hash, version, updated_us) VALUES ($1, $2, 1, $3) \
             ON CONFLICT (principal_id) DO UPDATE SET hash = excluded.hash, version = passwords.version + 1, updated_us = excluded.updated_us",
            &[principal_id.to_string().into(), hash.clone().into(), at_us.into()],
        )
        .await?;
        return Ok(None);
    }
    let (s, expected) = shape(w)?;
    let id = s.id.clone();
    let mut args: Vec<Arg> = Vec::with_capacity(s.columns.len() + 4);
    args.push(id.clone().into());
    args.extend(s.columns);
    args.push(s.body.clone().into());
    args.push(at_us.into());
    // Whether a block measure was listed and overdue before this write: a change starts or ends
    // a listing, and moves the recipient's tally.
    let (listed_before, overdue_before) = match (w, expected) {
        (Write::Measure { .. }, Some(_)) => {
            let rows = tx
                .fetch(
                    "SELECT block_status, overdue FROM measures WHERE id = $1",
                    &[id.clone().into()],
                )
                .await?;
            match rows.first() {
                Some(r) => (
                    r.opt_text("block_status")?.is_some_and(|s| s == "active"),
                    Some(r.i64("overdue")? != 0),
                ),
                None => (false, None),
            }
        }
        _ => (false, None),
    };
    let version = match expected {
        None if deferred => {
            match w {
                Write::Case { case, .. } => {
                    tail.cases.push(args);
                    tail.case_timings.push(super::timings::case_row(case));
                    tail.indicators
                        .extend(indicator_rows(&id, &case.indicators));
                }
                _ => tail.reports.push(args),
            }
            1
        }
        None => {
            tx.execute(s.insert, &args).await.map_err(|e| match e {
                StoreError::Duplicate { .. } => StoreError::Duplicate {
                    kind: s.kind,
                    id: id.clone(),
                },
                other => other,
            })?;
            1
        }
        Some(v) => {
            args.push(v.into());
            if tx.execute(s.update, &args).await? == 0 {
                let found = tx.fetch(exists_sql(s.kind), &[id.clone().into()]).await?;
                return Err(if found.is_empty() {
                    StoreError::NotFound { kind: s.kind, id }
                } else {
                    StoreError::Conflict {
                        kind: s.kind,
                        id,
                        expected: v,
                    }
                });
            }
            v + 1
        }
    };
    let state_hash = crate::audit::sha256_hex(s.body.as_bytes());
    tail.versions.push(vec![
        s.kind.into(),
        id.clone().into(),
        version.into(),
        s.body.into(),
        at_us.into(),
    ]);
    if let Write::Measure { measure, .. } = w {
        if measure.block_active() != listed_before {
            record_block_change(tx, &id, measure.block_active(), at_us).await?;
        }
        let (notices, overdue) = tally_change(overdue_before, measure.overdue);
        if notices != 0 || overdue != 0 {
            add_to_tally(tx, &tally_key(measure), notices, overdue).await?;
        }
        super::timings::write_measure(tx, measure).await?;
    }
    if let Write::Case { case, .. } = w
        && !(deferred && expected.is_none())
    {
        super::timings::write_case(tx, case).await?;
        insert_case_indicators(
            tx,
            &indicator_rows(&id, &case.indicators).collect::<Vec<_>>(),
        )
        .await?;
    }
    Ok(Some((id, state_hash)))
}

/// A case's indicators as rows of `case_indicators`.
fn indicator_rows<'a>(
    case_id: &'a str,
    indicators: &'a std::collections::BTreeSet<warden_core::indicator::Indicator>,
) -> impl Iterator<Item = Vec<Arg>> + 'a {
    indicators
        .iter()
        .map(move |i| vec![case_id.into(), i.kind().as_str().into(), i.value().into()])
}

/// Indicators join cases, and only ever join: inserting the new ones is enough.
async fn insert_case_indicators(tx: &mut Tx, rows: &[Vec<Arg>]) -> Result<()> {
    insert_rows(
        tx,
        "INSERT INTO case_indicators (case_id, kind, value) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING",
        "INSERT INTO case_indicators (case_id, kind, value) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        rows,
    )
    .await
}

/// Rows into a table: one statement over their columns on PostgreSQL (`pg` takes each column
/// as an array), one statement per row on SQLite (`sqlite` takes a row), where statements
/// cost no round trip.
async fn insert_rows(
    tx: &mut Tx,
    pg: &'static str,
    sqlite: &'static str,
    rows: &[Vec<Arg>],
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    match tx.backend() {
        Backend::Postgres => {
            tx.execute_columns(pg, Column::all(rows)?).await?;
        }
        Backend::Sqlite => {
            for row in rows {
                tx.execute(sqlite, row).await?;
            }
        }
    }
    Ok(())
}

/// The key of a measure's tally: its recipient and province ('' for none).
pub(super) fn tally_key(m: &warden_core::lifecycle::Measure) -> (String, String) {
    (
        m.recipient.id.to_string(),
        m.province.map(|p| p.to_string()).unwrap_or_default(),
    )
}

/// What a write of a measure adds to its tally (notices, overdue), given whether it was
/// overdue before (None: the measure is new). A measure keeps its recipient and province:
/// only its arrival and its overdue flag move the tally.
pub(super) fn tally_change(overdue_before: Option<bool>, overdue: bool) -> (i64, i64) {
    match overdue_before {
        None => (1, i64::from(overdue)),
        Some(was) => (0, i64::from(overdue) - i64::from(was)),
    }
}

/// Adds to the notices and overdue notices counted for a recipient in a province.
pub(super) async fn add_to_tally(
    tx: &mut Tx,
    key: &(String, String),
    notices: i64,
    overdue: i64,
) -> Result<()> {
    tx.execute(
        "INSERT INTO measure_tallies (recipient_org, province, notices, overdue) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (recipient_org, province) DO UPDATE SET notices = measure_tallies.notices + excluded.notices, \
         overdue = measure_tallies.overdue + excluded.overdue",
        &[
            key.0.clone().into(),
            key.1.clone().into(),
            notices.into(),
            overdue.into(),
        ],
    )
    .await?;
    Ok(())
}

/// Appends to the blocklist change sequence. Serials must become visible in order (followers
/// read "after serial N"); the writer already holds the audit head's row lock, which every
/// commit takes first and holds to its end: serials are drawn in commit order.
async fn record_block_change(
    tx: &mut Tx,
    measure_id: &str,
    listed: bool,
    at_us: i64,
) -> Result<()> {
    tx.execute(
        "UPDATE block_changes SET superseded = 1 WHERE measure_id = $1 AND superseded = 0",
        &[measure_id.to_owned().into()],
    )
    .await?;
    let rows = tx
        .fetch(
            "INSERT INTO block_changes (measure_id, listed, at_us) VALUES ($1, $2, $3) RETURNING serial",
            &[measure_id.to_owned().into(), i64::from(listed).into(), at_us.into()],
        )
        .await?;
    let serial = rows
        .first()
        .ok_or_else(|| StoreError::Corrupt("block change without serial".into()))?
        .i64("serial")?;
    if listed {
        tx.execute(
            "UPDATE measures SET listed_serial = $2 WHERE id = $1",
            &[measure_id.to_owned().into(), serial.into()],
        )
        .await?;
    }
    Ok(())
}

/// Claims the key inside the transaction. Returns the earlier response if the key was used.
async fn claim(tx: &mut Tx, c: &IdempotencyClaim, at_us: i64) -> Result<Option<serde_json::Value>> {
    let inserted = tx
        .execute(
            "INSERT INTO idempotency_keys (scope, key, request_hash, response, created_us) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            &[
                c.scope.clone().into(),
                c.key.clone().into(),
                c.request_hash.clone().into(),
                to_json(&c.response)?.into(),
                at_us.into(),
            ],
        )
        .await?;
    if inserted == 1 {
        return Ok(None);
    }
    let rows = tx
        .fetch(
            "SELECT request_hash, response FROM idempotency_keys WHERE scope = $1 AND key = $2",
            &[c.scope.clone().into(), c.key.clone().into()],
        )
        .await?;
    let row = rows
        .first()
        .ok_or_else(|| StoreError::Corrupt("idempotency key vanished".into()))?;
    if row.text("request_hash")? != c.request_hash {
        return Err(StoreError::IdempotencyKeyReused { key: c.key.clone() });
    }
    Ok(Some(from_json(
        "idempotency response",
        &row.text("response")?,
    )?))
}

/// The province of each object a changeset writes, by id: what its audit entries are about.
pub(super) fn provinces_of(
    writes: &[Write],
) -> std::collections::HashMap<uuid::Uuid, Option<warden_core::org::Province>> {
    writes
        .iter()
        .filter_map(|w| match w {
            Write::Case { case, .. } => Some((case.id, case.province)),
            Write::Measure { measure, .. } => Some((measure.id, measure.province)),
            Write::Report { report, .. } => Some((report.id, report.content.province)),
            Write::Appeal { appeal, .. } => Some((appeal.id, appeal.province)),
            Write::Inquiry { inquiry, .. } => Some((inquiry.id, inquiry.province)),
            Write::Enforcement { enforcement, .. } => Some((enforcement.id, enforcement.province)),
            Write::Organisation { org, .. } => Some((org.id, org.province)),
            _ => None,
        })
        .collect()
}

/// The columns of `audit_log`, in the order [`audit_row`] gives them.
pub(super) const AUDIT_COLUMNS: [&str; 13] = [
    "seq",
    "at_us",
    "actor",
    "actor_org",
    "event",
    "subject_type",
    "subject_id",
    "data",
    "prev_hash",
    "hash",
    "request_id",
    "state_hash",
    "province",
];

/// One audit entry of `cs` after `prev`: its hash and its row.
#[allow(clippy::too_many_arguments)]
pub(super) fn audit_row(
    cs: &Changeset,
    e: &warden_core::lifecycle::Event,
    seq: i64,
    at_us: i64,
    prev: &str,
    actor: &str,
    actor_org: &Option<String>,
    provinces: &std::collections::HashMap<uuid::Uuid, Option<warden_core::org::Province>>,
    states: &std::collections::HashMap<String, String>,
) -> Result<(String, Vec<Arg>)> {
    let data = to_json(&e.data)?;
    let subject_type = e.subject.kind.as_str();
    let subject_id = e.subject.id.to_string();
    let state_hash = states.get(&subject_id).cloned();
    let hash = audit::entry_hash(&Fields {
        prev_hash: prev,
        seq,
        at_us,
        actor,
        event: &e.name,
        subject_type,
        subject_id: &subject_id,
        data: &data,
        request_id: cs.request_id.as_deref(),
        state_hash: state_hash.as_deref(),
    });
    let row = vec![
        seq.into(),
        at_us.into(),
        actor.to_owned().into(),
        actor_org.clone().into(),
        e.name.clone().into(),
        subject_type.into(),
        subject_id.into(),
        data.into(),
        prev.to_owned().into(),
        hash.clone().into(),
        cs.request_id.clone().into(),
        state_hash.into(),
        provinces
            .get(&e.subject.id)
            .copied()
            .flatten()
            .map(|p| p.to_string())
            .into(),
    ];
    Ok((hash, row))
}

/// Takes the chain's head: its last sequence number and hash. Updating the single head row
/// locks it (PostgreSQL) or runs under the write lock (SQLite), so appends to the chain are
/// serialised until the transaction ends.
pub(super) async fn lock_head(tx: &mut Tx) -> Result<(i64, String)> {
    let head = tx
        .fetch(
            "UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash",
            &[],
        )
        .await?;
    let head = head
        .first()
        .ok_or_else(|| StoreError::Corrupt("audit head row missing".into()))?;
    Ok((head.i64("seq")?, head.text("hash")?))
}

/// Moves the chain's head to the last entry appended.
pub(super) async fn set_head(tx: &mut Tx, seq: i64, hash: String) -> Result<()> {
    tx.execute(
        "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1",
        &[seq.into(), hash.into()],
    )
    .await?;
    Ok(())
}
