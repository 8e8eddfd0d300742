//! The storage logic, written once for both backends.

use crate::audit::{self, AuditCheck, AuditEntry, Checkpoint, Fields};
use crate::db::{Arg, Db, Row, Tx};
use crate::{
    Backend, BlockChange, CaseFilter, Changeset, CommitOutcome, Health, IdempotencyClaim,
    ListedBlock, MeasureFilter, ObjectVersion, Page, Result, SigningKeyRecord, Store, StoreError,
    Versioned, Write,
};
use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;
use warden_core::indicator::Indicator;
use warden_core::lifecycle::{Appeal, Case, Enforcement, Measure, Report};
use warden_core::notice::SignedNotice;
use warden_core::org::{ApiToken, Organisation, Principal};

type Pending = (Changeset, oneshot::Sender<Result<CommitOutcome>>);

pub struct SqlStore {
    db: Db,
    /// The group committer (always present; an Option so a direct path stays available).
    committer: Option<mpsc::Sender<Pending>>,
}

/// At most this many commits share one transaction.
const GROUP: usize = 256;

impl SqlStore {
    pub fn new(db: Db) -> Self {
        // Both backends serialise commits on the audit chain's head row, so each commit
        // waiting for the previous one's fsync would cap throughput at the disk's fsync
        // rate; grouping them pays one fsync per group.
        let (tx, rx) = mpsc::channel::<Pending>(4 * GROUP);
        tokio::spawn(group_committer(db.clone(), rx));
        let committer = Some(tx);
        SqlStore { db, committer }
    }
}

/// The claim, the writes and the audit records of one changeset, inside a transaction.
async fn apply_changeset(tx: &mut Tx, cs: &Changeset) -> Result<CommitOutcome> {
    let at_us = us(cs.at);
    if let Some(c) = &cs.idempotency
        && let Some(response) = claim(tx, c, at_us).await?
    {
        return Ok(CommitOutcome::Replayed { response });
    }
    let mut states = std::collections::HashMap::new();
    for w in &cs.writes {
        if let Some((id, hash)) = apply_write(tx, w, at_us).await? {
            states.insert(id, hash);
        }
    }
    let seq = append_audit(tx, cs, at_us, &states).await?;
    Ok(CommitOutcome::Applied { audit_seq: seq })
}

/// Takes whatever commits are waiting, applies each under its own savepoint in one
/// transaction, commits once, then answers each. A failed changeset is rolled back to its
/// savepoint and leaves the others alone; if the final commit fails, all of them fail.
async fn group_committer(db: Db, mut rx: mpsc::Receiver<Pending>) {
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

async fn commit_group(db: &Db, batch: &[Pending]) -> Vec<Result<CommitOutcome>> {
    let failed_all = |e: &StoreError| -> Vec<Result<CommitOutcome>> {
        batch
            .iter()
            .map(|_| Err(StoreError::Unavailable(e.to_string())))
            .collect()
    };
    let mut tx = match db.begin().await {
        Ok(t) => t,
        Err(e) => return failed_all(&e),
    };
    let mut results = Vec::with_capacity(batch.len());
    for (cs, _) in batch {
        if let Err(e) = tx.execute("SAVEPOINT one_commit", &[]).await {
            let _ = tx.rollback().await;
            return failed_all(&e);
        }
        let outcome = apply_changeset(&mut tx, cs).await;
        let undo = !matches!(outcome, Ok(CommitOutcome::Applied { .. }));
        let step = if undo {
            match tx.execute("ROLLBACK TO SAVEPOINT one_commit", &[]).await {
                Ok(_) => tx.execute("RELEASE SAVEPOINT one_commit", &[]).await,
                Err(e) => Err(e),
            }
        } else {
            tx.execute("RELEASE SAVEPOINT one_commit", &[]).await
        };
        if let Err(e) = step {
            let _ = tx.rollback().await;
            return failed_all(&e);
        }
        results.push(outcome);
    }
    match tx.commit().await {
        Ok(()) => results,
        Err(e) => failed_all(&e),
    }
}

pub async fn migrate(m: &sqlx::migrate::Migrator, db: &Db) -> Result<()> {
    let r = match db {
        Db::Sqlite(p) => m.run(p).await,
        Db::Postgres(p) => m.run(p).await,
    };
    r.map_err(|e| match e {
        sqlx::migrate::MigrateError::VersionMissing(v) => StoreError::SchemaTooNew(format!(
            "the database has migration {v}, which this binary does not know"
        )),
        other => StoreError::Migration(other.to_string()),
    })
}

pub fn us(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

pub fn from_us(v: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(v) * 1000)
        .map_err(|e| StoreError::Corrupt(format!("timestamp {v}: {e}")))
}

fn to_json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn from_json<T: DeserializeOwned>(kind: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{kind}: {e}")))
}

fn versioned<T: DeserializeOwned>(kind: &str, r: &Row) -> Result<Versioned<T>> {
    Ok(Versioned {
        version: r.i64(0)?,
        value: from_json(kind, &r.text(1)?)?,
    })
}

fn enum_str<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// What a write puts in its table: the SQL for insert and versioned update, and the columns.
/// Both statements take `$1` = id, then the table's columns in order, and the update takes the
/// expected version last.
struct Shape {
    kind: &'static str,
    id: String,
    insert: &'static str,
    update: &'static str,
    columns: Vec<Arg>,
    body: String,
}

fn shape(w: &Write) -> Result<(Shape, Option<i64>)> {
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
                insert: "INSERT INTO enforcements (id, measure_id, org_id, authority_id, province, body, version, created_us, updated_us) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7)",
                update: "UPDATE enforcements SET measure_id = $2, org_id = $3, authority_id = $4, province = $5, body = $6, version = version + 1, updated_us = $7 WHERE id = $1 AND version = $8",
                columns: vec![
                    e.measure_id.to_string().into(),
                    e.org.id.to_string().into(),
                    e.authority.id.to_string().into(),
                    e.province.map(|p| p.to_string()).into(),
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
        Write::Password { .. } => {
            return Err(StoreError::Corrupt(
                "passwords are not shaped objects".into(),
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
                    i64::from(
                        measure.written_notice_due.is_some()
                            && measure.delivered_at.is_none()
                            && measure.acknowledged_at.is_none()
                            && !measure.written_notice_overdue,
                    )
                    .into(),
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
        _ => "SELECT version FROM appeals WHERE id = $1",
    }
}

/// Writes one object; returns its (id, SHA-256 of the new body) for the audit entries.
async fn apply_write(tx: &mut Tx, w: &Write, at_us: i64) -> Result<Option<(String, String)>> {
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
    // Whether a block measure was listed before this write: a change starts or ends a listing.
    let listed_before = match (w, expected) {
        (Write::Measure { .. }, Some(_)) => tx
            .fetch(
                "SELECT block_status FROM measures WHERE id = $1",
                &[id.clone().into()],
            )
            .await?
            .first()
            .map(|r| r.opt_text(0))
            .transpose()?
            .flatten()
            .is_some_and(|s| s == "active"),
        _ => false,
    };
    let version = match expected {
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
    // PostgreSQL numbers versions from a sequence; SQLite, whose writers hold its one write
    // lock, takes the next number.
    let insert_version = match tx.backend() {
        Backend::Postgres => {
            "INSERT INTO object_versions (subject_type, subject_id, version, body, at_us) VALUES ($1, $2, $3, $4, $5)"
        }
        Backend::Sqlite => {
            "INSERT INTO object_versions (subject_type, subject_id, version, body, at_us, seq) \
             VALUES ($1, $2, $3, $4, $5, (SELECT COALESCE(MAX(seq), 0) + 1 FROM object_versions))"
        }
    };
    tx.execute(
        insert_version,
        &[
            s.kind.into(),
            id.clone().into(),
            version.into(),
            s.body.into(),
            at_us.into(),
        ],
    )
    .await?;
    if let Write::Measure { measure, .. } = w
        && measure.block_active() != listed_before
    {
        record_block_change(tx, &id, measure.block_active(), at_us).await?;
    }
    if let Write::Case { case, .. } = w {
        // Indicators only ever join a case, so inserting the new ones is enough.
        for i in &case.indicators {
            tx.execute(
                "INSERT INTO case_indicators (case_id, kind, value) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[id.clone().into(), i.kind().as_str().into(), i.value().into()],
            )
            .await?;
        }
    }
    Ok(Some((id, state_hash)))
}

fn row_uuid(r: &Row, i: usize) -> Result<Uuid> {
    let t = r.text(i)?;
    Uuid::parse_str(&t).map_err(|e| StoreError::Corrupt(format!("bad id {t:?}: {e}")))
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn import_record(r: &Row) -> Result<crate::ImportRecord> {
    Ok(crate::ImportRecord {
        id: row_uuid(r, 0)?,
        org_id: row_uuid(r, 1)?,
        format: r.text(2)?,
        source: r.text(3)?,
        status: r.text(4)?,
        started: from_us(r.i64(5)?)?,
        finished: r.opt_i64(6)?.map(from_us).transpose()?,
        lines: r.i64(7)?.max(0) as u64,
        accepted: r.i64(8)?.max(0) as u64,
        rejected: r.i64(9)?.max(0) as u64,
        new_indicators: r.i64(10)?.max(0) as u64,
        bytes: r.i64(11)?.max(0) as u64,
        detail: r.opt_text(12)?,
    })
}

/// A `ListedBlock` from the columns starting at `at`.
fn listed_block(r: &Row, at: usize) -> Result<ListedBlock> {
    let t = |us: i64| {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000)
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    };
    Ok(ListedBlock {
        measure_id: row_uuid(r, at)?,
        target_kind: r.opt_text(at + 1)?.unwrap_or_default(),
        target_value: r.opt_text(at + 2)?.unwrap_or_default(),
        scope: r.opt_text(at + 3)?,
        range_last: r.opt_text(at + 4)?,
        recipient_id: row_uuid(r, at + 5)?,
        recipient_slug: r.text(at + 6)?,
        reference: r.opt_text(at + 7)?.unwrap_or_default(),
        since: t(r.i64(at + 8)?)?,
        expires: t(r.opt_i64(at + 9)?.unwrap_or(0))?,
        listed_serial: r.i64(at + 10)?,
    })
}

/// Appends to the blocklist change sequence. Serials must become visible in order (followers
/// read "after serial N"), so the writer first takes the audit head's row lock, which every
/// commit takes and holds to its end: serials are drawn in commit order.
async fn record_block_change(
    tx: &mut Tx,
    measure_id: &str,
    listed: bool,
    at_us: i64,
) -> Result<()> {
    tx.execute("UPDATE audit_head SET seq = seq WHERE id = 1", &[])
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
        .i64(0)?;
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
    if row.text(0)? != c.request_hash {
        return Err(StoreError::IdempotencyKeyReused { key: c.key.clone() });
    }
    Ok(Some(from_json("idempotency response", &row.text(1)?)?))
}

async fn append_audit(
    tx: &mut Tx,
    cs: &Changeset,
    at_us: i64,
    states: &std::collections::HashMap<String, String>,
) -> Result<i64> {
    // Updating the single head row locks it (PostgreSQL) or runs under the write lock
    // (SQLite): appends to the chain are serialised.
    let head = tx
        .fetch(
            "UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash",
            &[],
        )
        .await?;
    let head = head
        .first()
        .ok_or_else(|| StoreError::Corrupt("audit head row missing".into()))?;
    let (mut seq, mut prev) = (head.i64(0)?, head.text(1)?);
    let actor = to_json(&cs.actor)?;
    let actor_org = cs.actor.org().map(|o| o.slug.clone());
    for e in &cs.events {
        seq += 1;
        let data = to_json(&e.data)?;
        let subject_type = e.subject.kind.as_str();
        let subject_id = e.subject.id.to_string();
        let state_hash = states.get(&subject_id).cloned();
        let hash = audit::entry_hash(&Fields {
            prev_hash: &prev,
            seq,
            at_us,
            actor: &actor,
            event: &e.name,
            subject_type,
            subject_id: &subject_id,
            data: &data,
            request_id: cs.request_id.as_deref(),
            state_hash: state_hash.as_deref(),
        });
        tx.execute(
            "INSERT INTO audit_log (seq, at_us, actor, actor_org, event, subject_type, subject_id, data, prev_hash, hash, request_id, state_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            &[
                seq.into(),
                at_us.into(),
                actor.clone().into(),
                actor_org.clone().into(),
                e.name.clone().into(),
                subject_type.into(),
                subject_id.into(),
                data.into(),
                prev.clone().into(),
                hash.clone().into(),
                cs.request_id.clone().into(),
                state_hash.into(),
            ],
        )
        .await?;
        prev = hash;
    }
    tx.execute(
        "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1",
        &[seq.into(), prev.into()],
    )
    .await?;
    Ok(seq)
}

fn audit_entry(r: &Row) -> Result<AuditEntry> {
    Ok(AuditEntry {
        seq: r.i64(0)?,
        at: from_us(r.i64(1)?)?,
        actor: from_json("audit actor", &r.text(2)?)?,
        actor_org: r.opt_text(3)?,
        event: r.text(4)?,
        subject_type: r.text(5)?,
        subject_id: r.text(6)?,
        data: from_json("audit data", &r.text(7)?)?,
        prev_hash: r.text(8)?,
        hash: r.text(9)?,
        request_id: r.opt_text(10)?,
        state_hash: r.opt_text(11)?,
    })
}

const AUDIT_PAGE: &str = "SELECT seq, at_us, actor, actor_org, event, subject_type, subject_id, data, prev_hash, hash, request_id, state_hash \
     FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2";

fn encode_cursor(created_us: i64, id: &str) -> String {
    format!("{created_us}.{id}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The position a cursor names, or none for the first page; a cursor this store did not
/// issue is `NotFound { kind: "cursor" }`.
fn split_cursor(cursor: Option<&str>) -> Result<(Option<i64>, Option<String>)> {
    match cursor {
        Some(c) => {
            let (t, id) = decode_cursor(c).ok_or_else(|| StoreError::NotFound {
                kind: "cursor",
                id: c.to_owned(),
            })?;
            Ok((Some(t), Some(id)))
        }
        None => Ok((None, None)),
    }
}

fn decode_cursor(c: &str) -> Option<(i64, String)> {
    let bytes: Option<Vec<u8>> = (0..c.len())
        .step_by(2)
        .map(|i| c.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect();
    let s = String::from_utf8(bytes?).ok()?;
    let (t, id) = s.split_once('.')?;
    Some((t.parse().ok()?, id.to_owned()))
}

/// A page from rows of (version, body, created_us, id), fetched with one extra row to know
/// whether another page follows.
fn page_of<T: DeserializeOwned>(
    kind: &str,
    rows: &[Row],
    limit: u32,
) -> Result<Page<Versioned<T>>> {
    let limit = limit as usize;
    let mut items = Vec::with_capacity(limit.min(rows.len()));
    for r in rows.iter().take(limit) {
        items.push(versioned(kind, r)?);
    }
    let next = match (rows.len() > limit, rows.get(limit.wrapping_sub(1))) {
        (true, Some(last)) => Some(encode_cursor(last.i64(2)?, &last.text(3)?)),
        _ => None,
    };
    Ok(Page { items, next })
}

impl SqlStore {
    async fn one<T: DeserializeOwned>(
        &self,
        kind: &str,
        sql: &'static str,
        args: &[Arg],
    ) -> Result<Option<Versioned<T>>> {
        self.db
            .fetch_optional(sql, args)
            .await?
            .map(|r| versioned(kind, &r))
            .transpose()
    }

    async fn many<T: DeserializeOwned>(
        &self,
        kind: &str,
        sql: &'static str,
        args: &[Arg],
    ) -> Result<Vec<Versioned<T>>> {
        self.db
            .fetch(sql, args)
            .await?
            .iter()
            .map(|r| versioned(kind, r))
            .collect()
    }
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> Backend {
        self.db.backend()
    }

    async fn health(&self) -> Result<Health> {
        let row = self
            .db
            .fetch_optional(
                "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success",
                &[],
            )
            .await?;
        let schema_version = match row {
            Some(r) => r.i64(0)?,
            None => 0,
        };
        Ok(Health {
            backend: self.backend(),
            schema_version,
        })
    }

    async fn commit(&self, cs: Changeset) -> Result<CommitOutcome> {
        if !cs.writes.is_empty() && cs.events.is_empty() {
            return Err(StoreError::Corrupt(
                "refusing a write without an audit record".into(),
            ));
        }
        match &self.committer {
            // Queued commits share one transaction and one fsync (group commit); each keeps
            // its own outcome through a savepoint.
            Some(tx) => {
                let (reply, answer) = oneshot::channel();
                tx.send((cs, reply))
                    .await
                    .map_err(|_| StoreError::Unavailable("the SQLite committer stopped".into()))?;
                answer
                    .await
                    .map_err(|_| StoreError::Unavailable("the SQLite committer stopped".into()))?
            }
            None => {
                let mut tx = self.db.begin().await?;
                match apply_changeset(&mut tx, &cs).await {
                    Ok(applied @ CommitOutcome::Applied { .. }) => {
                        tx.commit().await?;
                        Ok(applied)
                    }
                    Ok(replayed) => {
                        tx.rollback().await?;
                        Ok(replayed)
                    }
                    Err(e) => {
                        let _ = tx.rollback().await;
                        Err(e)
                    }
                }
            }
        }
    }

    async fn idempotent_response(
        &self,
        scope: &str,
        key: &str,
        request_hash: &str,
    ) -> Result<Option<serde_json::Value>> {
        let row = self
            .db
            .fetch_optional(
                "SELECT request_hash, response FROM idempotency_keys WHERE scope = $1 AND key = $2",
                &[scope.into(), key.into()],
            )
            .await?;
        match row {
            None => Ok(None),
            Some(r) if r.text(0)? == request_hash => {
                Ok(Some(from_json("idempotency response", &r.text(1)?)?))
            }
            Some(_) => Err(StoreError::IdempotencyKeyReused {
                key: key.to_owned(),
            }),
        }
    }

    async fn organisation(&self, id: Uuid) -> Result<Option<Versioned<Organisation>>> {
        self.one(
            "organisation",
            "SELECT version, body FROM organisations WHERE id = $1",
            &[id.to_string().into()],
        )
        .await
    }

    async fn organisation_by_slug(&self, slug: &str) -> Result<Option<Versioned<Organisation>>> {
        self.one(
            "organisation",
            "SELECT version, body FROM organisations WHERE slug = $1",
            &[slug.into()],
        )
        .await
    }

    async fn organisations(&self) -> Result<Vec<Versioned<Organisation>>> {
        self.many(
            "organisation",
            "SELECT version, body FROM organisations ORDER BY slug",
            &[],
        )
        .await
    }

    async fn principal(&self, id: Uuid) -> Result<Option<Versioned<Principal>>> {
        self.one(
            "principal",
            "SELECT version, body FROM principals WHERE id = $1",
            &[id.to_string().into()],
        )
        .await
    }

    async fn principal_by_name(&self, name: &str) -> Result<Option<Versioned<Principal>>> {
        self.one(
            "principal",
            "SELECT version, body FROM principals WHERE kind = 'user' AND name = $1",
            &[name.into()],
        )
        .await
    }

    async fn principals_of_org(&self, org_id: Uuid) -> Result<Vec<Versioned<Principal>>> {
        self.many(
            "principal",
            "SELECT version, body FROM principals WHERE org_id = $1 ORDER BY kind, name",
            &[org_id.to_string().into()],
        )
        .await
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<Versioned<ApiToken>>> {
        self.one(
            "token",
            "SELECT version, body FROM api_tokens WHERE hash = $1",
            &[hash.into()],
        )
        .await
    }

    async fn credentials(&self, hash: &str) -> Result<Option<(ApiToken, Principal, Organisation)>> {
        let row = self
            .db
            .fetch_optional(
                "SELECT t.body, p.body, o.body FROM api_tokens t \
                 JOIN principals p ON p.id = t.principal_id \
                 JOIN organisations o ON o.id = p.org_id WHERE t.hash = $1",
                &[hash.into()],
            )
            .await?;
        row.map(|r| {
            Ok((
                from_json("token", &r.text(0)?)?,
                from_json("principal", &r.text(1)?)?,
                from_json("organisation", &r.text(2)?)?,
            ))
        })
        .transpose()
    }

    async fn token_by_prefix(&self, prefix: &str) -> Result<Option<Versioned<ApiToken>>> {
        self.one(
            "token",
            "SELECT version, body FROM api_tokens WHERE prefix = $1",
            &[prefix.into()],
        )
        .await
    }

    async fn tokens_of_org(&self, org_id: Uuid) -> Result<Vec<Versioned<ApiToken>>> {
        self.many(
            "token",
            "SELECT t.version, t.body FROM api_tokens t JOIN principals p ON p.id = t.principal_id \
             WHERE p.org_id = $1 ORDER BY t.created_us DESC, t.id",
            &[org_id.to_string().into()],
        )
        .await
    }

    async fn password_hash(&self, principal_id: Uuid) -> Result<Option<String>> {
        self.db
            .fetch_optional(
                "SELECT hash FROM passwords WHERE principal_id = $1",
                &[principal_id.to_string().into()],
            )
            .await?
            .map(|r| r.text(0))
            .transpose()
    }

    async fn report(&self, id: Uuid) -> Result<Option<Versioned<Report>>> {
        self.one(
            "report",
            "SELECT version, body FROM reports WHERE id = $1",
            &[id.to_string().into()],
        )
        .await
    }

    async fn reports_of_case(&self, case_id: Uuid) -> Result<Vec<Versioned<Report>>> {
        self.many(
            "report",
            "SELECT version, body FROM reports WHERE case_id = $1 ORDER BY created_us, id",
            &[case_id.to_string().into()],
        )
        .await
    }

    async fn case(&self, id: Uuid) -> Result<Option<Versioned<Case>>> {
        self.one(
            "case",
            "SELECT version, body FROM cases WHERE id = $1",
            &[id.to_string().into()],
        )
        .await
    }

    async fn cases(
        &self,
        f: &CaseFilter,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<Versioned<Case>>> {
        let limit = limit.clamp(1, 1000);
        let (c_us, c_id) = split_cursor(cursor)?;
        let rows = self
            .db
            .fetch(
                "SELECT version, body, created_us, id FROM cases \
                 WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR category = $2) \
                 AND ($3 IS NULL OR province = $3) AND ($4 IS NULL OR assigned_to = $4) \
                 AND ($5 IS NULL OR id IN (SELECT case_id FROM reports WHERE reporter_org = $5)) \
                 AND ($6 IS NULL OR created_us >= $6) AND ($7 IS NULL OR created_us < $7) \
                 AND ($8 IS NULL OR created_us < $8 OR (created_us = $8 AND id < $9)) \
                 ORDER BY created_us DESC, id DESC LIMIT $10",
                &[
                    f.status.clone().into(),
                    f.category.clone().into(),
                    f.province.clone().into(),
                    f.assigned_to.map(|u| u.to_string()).into(),
                    f.reporter_org.map(|u| u.to_string()).into(),
                    f.opened_from.map(us).into(),
                    f.opened_to.map(us).into(),
                    c_us.into(),
                    c_id.into(),
                    (i64::from(limit) + 1).into(),
                ],
            )
            .await?;
        page_of("case", &rows, limit)
    }

    async fn open_case_matching(&self, indicators: &[Indicator]) -> Result<Option<Uuid>> {
        let mut best: Option<(i64, String)> = None;
        for i in indicators {
            let row = self
                .db
                .fetch_optional(
                    "SELECT c.created_us, c.id FROM case_indicators ci JOIN cases c ON c.id = ci.case_id \
                     WHERE ci.kind = $1 AND ci.value = $2 AND c.status NOT IN ('rejected', 'dismissed') \
                     ORDER BY c.created_us DESC, c.id DESC LIMIT 1",
                    &[i.kind().as_str().into(), i.value().into()],
                )
                .await?;
            if let Some(r) = row {
                let cand = (r.i64(0)?, r.text(1)?);
                if best.as_ref().is_none_or(|b| cand > *b) {
                    best = Some(cand);
                }
            }
        }
        best.map(|(_, id)| {
            id.parse()
                .map_err(|e| StoreError::Corrupt(format!("case id {id}: {e}")))
        })
        .transpose()
    }

    async fn measure(&self, id: Uuid) -> Result<Option<Versioned<Measure>>> {
        self.one(
            "measure",
            "SELECT version, body FROM measures WHERE id = $1",
            &[id.to_string().into()],
        )
        .await
    }

    async fn measure_by_notice(&self, notice_id: Uuid) -> Result<Option<Versioned<Measure>>> {
        self.one(
            "measure",
            "SELECT version, body FROM measures WHERE notice_id = $1",
            &[notice_id.to_string().into()],
        )
        .await
    }

    async fn measure_by_reference(&self, reference: &str) -> Result<Option<Versioned<Measure>>> {
        self.one(
            "measure",
            "SELECT version, body FROM measures WHERE reference = $1",
            &[reference.to_ascii_uppercase().into()],
        )
        .await
    }

    async fn measures_of_case(&self, case_id: Uuid) -> Result<Vec<Versioned<Measure>>> {
        self.many(
            "measure",
            "SELECT version, body FROM measures WHERE case_id = $1 ORDER BY created_us, id",
            &[case_id.to_string().into()],
        )
        .await
    }

    async fn measures_past_deadline(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Versioned<Measure>>> {
        self.many(
            "measure",
            "SELECT version, body FROM measures WHERE overdue = 0 \
             AND status IN ('issued', 'delivered', 'acknowledged', 'reopened') \
             AND deadline_us < $1 ORDER BY deadline_us, id LIMIT $2",
            &[us(now).into(), i64::from(limit).into()],
        )
        .await
    }

    async fn reminders_due(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Versioned<Measure>>> {
        self.many(
            "measure",
            "SELECT version, body FROM measures WHERE remind_pending = 1 AND remind_us <= $1 \
             ORDER BY remind_us, id LIMIT $2",
            &[us(now).into(), i64::from(limit).into()],
        )
        .await
    }

    async fn written_notices_overdue(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Versioned<Measure>>> {
        self.many(
            "measure",
            "SELECT version, body FROM measures WHERE written_pending = 1 AND written_due_us < $1 \
             ORDER BY written_due_us, id LIMIT $2",
            &[us(now).into(), i64::from(limit).into()],
        )
        .await
    }

    async fn blocks_expiring(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Versioned<Measure>>> {
        self.many(
            "measure",
            "SELECT version, body FROM measures WHERE block_status = 'active' AND expires_us <= $1 \
             ORDER BY expires_us, id LIMIT $2",
            &[us(now).into(), i64::from(limit).into()],
        )
        .await
    }

    async fn probes_due(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<Versioned<Measure>>> {
        self.many(
            "measure",
            "SELECT version, body FROM measures WHERE probe_next_us <= $1 \
             ORDER BY probe_next_us, id LIMIT $2",
            &[us(now).into(), i64::from(limit).into()],
        )
        .await
    }

    async fn blocks_due_review(
        &self,
        horizon: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Versioned<Measure>>> {
        self.many(
            "measure",
            "SELECT version, body FROM measures WHERE review_pending = 1 AND expires_us <= $1 \
             ORDER BY expires_us, id LIMIT $2",
            &[us(horizon).into(), i64::from(limit).into()],
        )
        .await
    }

    async fn measures(
        &self,
        f: &MeasureFilter,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<Versioned<Measure>>> {
        let limit = limit.clamp(1, 1000);
        let (c_us, c_id) = split_cursor(cursor)?;
        let rows = self
            .db
            .fetch(
                "SELECT m.version, m.body, m.created_us, m.id FROM measures m JOIN cases c ON c.id = m.case_id \
                 WHERE ($1 IS NULL OR m.recipient_org = $1) AND ($2 IS NULL OR m.deciding_org = $2) \
                 AND ($3 IS NULL OR c.assigned_to = $3) AND ($4 IS NULL OR c.province = $4) \
                 AND ($5 IS NULL OR m.status = $5) AND ($6 IS NULL OR m.overdue = $6) \
                 AND ($7 IS NULL OR m.created_us < $7 OR (m.created_us = $7 AND m.id < $8)) \
                 AND ($10 IS NULL OR c.category = $10) \
                 AND ($11 IS NULL OR m.created_us >= $11) AND ($12 IS NULL OR m.created_us < $12) \
                 ORDER BY m.created_us DESC, m.id DESC LIMIT $9",
                &[
                    f.recipient_org.map(|u| u.to_string()).into(),
                    f.deciding_org.map(|u| u.to_string()).into(),
                    f.determining_org.map(|u| u.to_string()).into(),
                    f.province.clone().into(),
                    f.status.clone().into(),
                    f.overdue.map(i64::from).into(),
                    c_us.into(),
                    c_id.into(),
                    (i64::from(limit) + 1).into(),
                    f.category.clone().into(),
                    f.decided_from.map(us).into(),
                    f.decided_to.map(us).into(),
                ],
            )
            .await?;
        page_of("measure", &rows, limit)
    }

    async fn signing_keys(&self) -> Result<Vec<Versioned<SigningKeyRecord>>> {
        self.many(
            "signing_key",
            "SELECT version, body FROM signing_keys ORDER BY created_us, id",
            &[],
        )
        .await
    }

    async fn notice(&self, id: Uuid) -> Result<Option<SignedNotice>> {
        Ok(self
            .one::<SignedNotice>(
                "notice",
                "SELECT version, body FROM notices WHERE id = $1",
                &[id.to_string().into()],
            )
            .await?
            .map(|v| v.value))
    }

    async fn notices_of_measure(&self, measure_id: Uuid) -> Result<Vec<SignedNotice>> {
        Ok(self
            .many::<SignedNotice>(
                "notice",
                "SELECT version, body FROM notices WHERE measure_id = $1 ORDER BY created_us, id",
                &[measure_id.to_string().into()],
            )
            .await?
            .into_iter()
            .map(|v| v.value)
            .collect())
    }

    async fn enforcement(&self, id: Uuid) -> Result<Option<Versioned<Enforcement>>> {
        self.one(
            "enforcement",
            "SELECT version, body FROM enforcements WHERE id = $1",
            &[id.to_string().into()],
        )
        .await
    }

    async fn bulletins(
        &self,
        kind: warden_core::bulletin::BulletinKind,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<Versioned<warden_core::bulletin::Bulletin>>> {
        let limit = limit.clamp(1, 1000);
        let (c_us, c_id) = split_cursor(cursor)?;
        let rows = self
            .db
            .fetch(
                "SELECT version, body, created_us, id FROM bulletins WHERE kind = $1 \
                 AND ($2 IS NULL OR created_us < $2 OR (created_us = $2 AND id < $3)) \
                 ORDER BY created_us DESC, id DESC LIMIT $4",
                &[
                    kind.as_str().into(),
                    c_us.into(),
                    c_id.into(),
                    (i64::from(limit) + 1).into(),
                ],
            )
            .await?;
        page_of("bulletin", &rows, limit)
    }

    async fn enforcements(
        &self,
        org: Option<Uuid>,
        province: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Versioned<Enforcement>>> {
        self.many(
            "enforcement",
            "SELECT version, body FROM enforcements WHERE ($1 IS NULL OR org_id = $1) \
             AND ($2 IS NULL OR province = $2) ORDER BY created_us DESC, id DESC LIMIT $3",
            &[
                org.map(|u| u.to_string()).into(),
                province.map(str::to_owned).into(),
                i64::from(limit.clamp(1, 1000)).into(),
            ],
        )
        .await
    }

    async fn listed_blocks(&self, after: Option<Uuid>, limit: u32) -> Result<Vec<ListedBlock>> {
        let rows = self
            .db
            .fetch(
                "SELECT m.id, m.target_kind, m.target_value, m.scope, m.range_last, m.recipient_org, o.slug, \
                 m.reference, m.created_us, m.expires_us, COALESCE(m.listed_serial, 0) \
                 FROM measures m JOIN organisations o ON o.id = m.recipient_org \
                 WHERE m.block_status = 'active' AND m.id > $1 ORDER BY m.id LIMIT $2",
                &[
                    after.map(|u| u.to_string()).unwrap_or_default().into(),
                    i64::from(limit.clamp(1, 100_000)).into(),
                ],
            )
            .await?;
        rows.iter().map(|r| listed_block(r, 0)).collect()
    }

    async fn block_changes(&self, after: i64, limit: u32) -> Result<Vec<BlockChange>> {
        self.block_versions(&crate::BlockVersionQuery {
            after_serial: after,
            versions: crate::VersionSelect::All,
            limit,
            ..Default::default()
        })
        .await
    }

    async fn block_versions(&self, q: &crate::BlockVersionQuery) -> Result<Vec<BlockChange>> {
        let mode = match q.versions {
            crate::VersionSelect::Last => "last",
            crate::VersionSelect::First => "first",
            crate::VersionSelect::All => "all",
        };
        let rows = self
            .db
            .fetch(
                "SELECT c.serial, c.listed, c.at_us, m.id, m.target_kind, m.target_value, m.scope, m.range_last, \
                 m.recipient_org, o.slug, m.reference, m.created_us, m.expires_us, COALESCE(m.listed_serial, 0) \
                 FROM block_changes c JOIN measures m ON m.id = c.measure_id \
                 JOIN organisations o ON o.id = m.recipient_org \
                 WHERE c.serial > $1 AND c.at_us > $2 AND ($3 = '' OR m.recipient_org = $3) \
                 AND ($4 = '' OR c.measure_id = $4) \
                 AND ($5 = 'all' \
                   OR ($5 = 'last' AND NOT EXISTS (SELECT 1 FROM block_changes d WHERE d.measure_id = c.measure_id AND d.serial > c.serial)) \
                   OR ($5 = 'first' AND NOT EXISTS (SELECT 1 FROM block_changes d WHERE d.measure_id = c.measure_id AND d.serial < c.serial))) \
                 ORDER BY c.serial LIMIT $6",
                &[
                    q.after_serial.into(),
                    q.added_after.map_or(i64::MIN, us).into(),
                    q.recipient.map(|u| u.to_string()).unwrap_or_default().into(),
                    q.measure.map(|u| u.to_string()).unwrap_or_default().into(),
                    mode.to_owned().into(),
                    i64::from(q.limit.clamp(1, 100_000)).into(),
                ],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(BlockChange {
                    serial: r.i64(0)?,
                    listed: r.i64(1)? != 0,
                    at: OffsetDateTime::from_unix_timestamp_nanos(i128::from(r.i64(2)?) * 1000)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    block: listed_block(r, 3)?,
                })
            })
            .collect()
    }

    async fn put_import(&self, rec: &crate::ImportRecord) -> Result<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "INSERT INTO imports (id, org_id, format, source, status, started_us, finished_us, lines, accepted, rejected, new_indicators, bytes, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, finished_us = excluded.finished_us, \
             lines = excluded.lines, accepted = excluded.accepted, rejected = excluded.rejected, \
             new_indicators = excluded.new_indicators, bytes = excluded.bytes, detail = excluded.detail",
            &[
                rec.id.to_string().into(),
                rec.org_id.to_string().into(),
                rec.format.clone().into(),
                rec.source.clone().into(),
                rec.status.clone().into(),
                us(rec.started).into(),
                rec.finished.map(us).into(),
                count(rec.lines).into(),
                count(rec.accepted).into(),
                count(rec.rejected).into(),
                count(rec.new_indicators).into(),
                count(rec.bytes).into(),
                rec.detail.clone().into(),
            ],
        )
        .await?;
        tx.commit().await
    }

    async fn import(&self, id: Uuid) -> Result<Option<crate::ImportRecord>> {
        let rows = self
            .db
            .fetch(
                "SELECT id, org_id, format, source, status, started_us, finished_us, lines, accepted, rejected, new_indicators, bytes, detail \
                 FROM imports WHERE id = $1",
                &[id.to_string().into()],
            )
            .await?;
        rows.first().map(import_record).transpose()
    }

    async fn imports_of_org(&self, org_id: Uuid, limit: u32) -> Result<Vec<crate::ImportRecord>> {
        self.db
            .fetch(
                "SELECT id, org_id, format, source, status, started_us, finished_us, lines, accepted, rejected, new_indicators, bytes, detail \
                 FROM imports WHERE org_id = $1 ORDER BY started_us DESC, id DESC LIMIT $2",
                &[org_id.to_string().into(), i64::from(limit).into()],
            )
            .await?
            .iter()
            .map(import_record)
            .collect()
    }

    async fn imports_pending(&self) -> Result<Vec<crate::ImportRecord>> {
        self.db
            .fetch(
                "SELECT id, org_id, format, source, status, started_us, finished_us, lines, accepted, rejected, new_indicators, bytes, detail \
                 FROM imports WHERE status IN ('queued', 'running') ORDER BY started_us, id",
                &[],
            )
            .await?
            .iter()
            .map(import_record)
            .collect()
    }

    async fn import_rejects(
        &self,
        id: Uuid,
        after: u64,
        limit: u32,
    ) -> Result<Vec<crate::ImportReject>> {
        self.db
            .fetch(
                "SELECT n, place, reason FROM import_rejects WHERE import_id = $1 AND n > $2 ORDER BY n LIMIT $3",
                &[
                    id.to_string().into(),
                    count(after).into(),
                    i64::from(limit).into(),
                ],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(crate::ImportReject {
                    n: r.i64(0)?.max(0) as u64,
                    place: r.text(1)?,
                    reason: r.text(2)?,
                })
            })
            .collect()
    }

    async fn add_import_chunk(&self, id: Uuid, seq: u64, data: Vec<u8>) -> Result<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "INSERT INTO import_chunks (import_id, seq, data) VALUES ($1, $2, $3)",
            &[id.to_string().into(), count(seq).into(), data.into()],
        )
        .await?;
        tx.commit().await
    }

    async fn import_chunk(&self, id: Uuid, seq: u64) -> Result<Option<Vec<u8>>> {
        self.db
            .fetch_optional(
                "SELECT data FROM import_chunks WHERE import_id = $1 AND seq = $2",
                &[id.to_string().into(), count(seq).into()],
            )
            .await?
            .map(|r| r.bytes(0))
            .transpose()
    }

    async fn drop_import_chunks(&self, id: Uuid) -> Result<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "DELETE FROM import_chunks WHERE import_id = $1",
            &[id.to_string().into()],
        )
        .await?;
        tx.commit().await
    }

    async fn add_feed_rows(
        &self,
        import: &crate::ImportRecord,
        at: OffsetDateTime,
        rows: crate::FeedRows,
        rejects: &[crate::ImportReject],
    ) -> Result<u64> {
        let batch = rows.into_json();
        let mut tx = self.db.begin().await?;
        // The batch: which import wrote these rows, and when. Rows name it by number.
        let batch_n = tx
            .fetch(
                "INSERT INTO feed_batches (import_id, at_us) VALUES ($1, $2) RETURNING n",
                &[import.id.to_string().into(), us(at).into()],
            )
            .await?
            .first()
            .map(|r| r.i64(0))
            .transpose()?
            .ok_or_else(|| StoreError::Corrupt("no batch number returned".into()))?;
        let upsert = match self.db.backend() {
            Backend::Sqlite => {
                "INSERT INTO feed_sightings (kind, value, sightings, first_batch, last_batch) \
                 SELECT json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]'), json_extract(j.value, '$[2]'), $2, $2 \
                 FROM jsonb_each($1) j WHERE true \
                 ON CONFLICT (kind, value) DO UPDATE SET sightings = feed_sightings.sightings + excluded.sightings, \
                 last_batch = excluded.last_batch"
            }
            Backend::Postgres => {
                "INSERT INTO feed_sightings (kind, value, sightings, first_batch, last_batch) \
                 SELECT j->>0, j->>1, (j->>2)::bigint, $2, $2 FROM jsonb_array_elements($1::jsonb) j \
                 ON CONFLICT (kind, value) DO UPDATE SET sightings = feed_sightings.sightings + excluded.sightings, \
                 last_batch = excluded.last_batch"
            }
        };
        tx.execute(upsert, &[batch.into(), batch_n.into()]).await?;
        // The rows this batch inserted are those it brought first: counted through the index
        // on first_batch (a row per indicator handed back by the upsert costs more).
        let new = tx
            .fetch(
                "SELECT COUNT(*) FROM feed_sightings WHERE first_batch = $1",
                &[batch_n.into()],
            )
            .await?
            .first()
            .map(|r| r.i64(0))
            .transpose()?
            .unwrap_or(0);
        let new = new.max(0) as u64;
        tx.execute(
            "UPDATE imports SET status = $2, lines = $3, accepted = $4, rejected = $5, new_indicators = $6, bytes = $7 WHERE id = $1",
            &[
                import.id.to_string().into(),
                import.status.clone().into(),
                count(import.lines).into(),
                count(import.accepted).into(),
                count(import.rejected).into(),
                count(import.new_indicators + new).into(),
                count(import.bytes).into(),
            ],
        )
        .await?;
        let kept: Vec<(i64, &str, &str)> = rejects
            .iter()
            .filter(|r| r.n <= crate::IMPORT_REJECTS_KEPT)
            .map(|r| (count(r.n), r.place.as_str(), r.reason.as_str()))
            .collect();
        if !kept.is_empty() {
            let sql = match self.db.backend() {
                Backend::Sqlite => {
                    "INSERT INTO import_rejects (import_id, n, place, reason) \
                     SELECT $1, json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]'), json_extract(j.value, '$[2]') \
                     FROM json_each($2) j WHERE true ON CONFLICT DO NOTHING"
                }
                Backend::Postgres => {
                    "INSERT INTO import_rejects (import_id, n, place, reason) \
                     SELECT $1, (j->>0)::bigint, j->>1, j->>2 FROM jsonb_array_elements($2::jsonb) j ON CONFLICT DO NOTHING"
                }
            };
            let json =
                serde_json::to_string(&kept).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            tx.execute(sql, &[import.id.to_string().into(), json.into()])
                .await?;
        }
        tx.commit().await?;
        Ok(new)
    }

    async fn feed_indicator(
        &self,
        kind: &str,
        value: &str,
    ) -> Result<Option<crate::FeedIndicator>> {
        let rows = self
            .db
            .fetch(
                "SELECT f.kind, f.value, f.sightings, a.at_us, b.at_us, i.org_id, a.import_id, b.import_id \
                 FROM feed_sightings f \
                 JOIN feed_batches a ON a.n = f.first_batch \
                 JOIN feed_batches b ON b.n = f.last_batch \
                 JOIN imports i ON i.id = a.import_id \
                 WHERE f.kind = $1 AND f.value = $2",
                &[kind.to_owned().into(), value.to_owned().into()],
            )
            .await?;
        let Some(r) = rows.first() else {
            return Ok(None);
        };
        Ok(Some(crate::FeedIndicator {
            kind: r.text(0)?,
            value: r.text(1)?,
            sightings: r.i64(2)?.max(0) as u64,
            first_seen: from_us(r.i64(3)?)?,
            last_seen: from_us(r.i64(4)?)?,
            first_org: row_uuid(r, 5)?,
            first_import: row_uuid(r, 6)?,
            last_import: row_uuid(r, 7)?,
        }))
    }

    async fn put_taxii_status(
        &self,
        id: Uuid,
        org_id: Uuid,
        at: OffsetDateTime,
        body: &str,
    ) -> Result<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "INSERT INTO taxii_statuses (id, org_id, created_us, body) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            &[
                id.to_string().into(),
                org_id.to_string().into(),
                us(at).into(),
                body.to_owned().into(),
            ],
        )
        .await?;
        tx.commit().await
    }

    async fn taxii_status(&self, id: Uuid) -> Result<Option<(Uuid, String)>> {
        let rows = self
            .db
            .fetch(
                "SELECT org_id, body FROM taxii_statuses WHERE id = $1",
                &[id.to_string().into()],
            )
            .await?;
        match rows.first() {
            Some(r) => Ok(Some((row_uuid(r, 0)?, r.text(1)?))),
            None => Ok(None),
        }
    }

    async fn block_serial(&self) -> Result<i64> {
        let rows = self
            .db
            .fetch("SELECT COALESCE(MAX(serial), 0) FROM block_changes", &[])
            .await?;
        rows.first().map(|r| r.i64(0)).unwrap_or(Ok(0))
    }

    async fn allowlist_entries(
        &self,
    ) -> Result<Vec<Versioned<warden_core::allowlist::AllowlistRecord>>> {
        self.many(
            "allowlist_entry",
            "SELECT version, body FROM allowlist_entries ORDER BY created_us, id",
            &[],
        )
        .await
    }

    async fn resource_claims(
        &self,
    ) -> Result<Vec<Versioned<warden_core::resources::ResourceClaim>>> {
        self.many(
            "resource_claim",
            "SELECT version, body FROM resource_claims ORDER BY created_us, id",
            &[],
        )
        .await
    }

    async fn resource_claim(
        &self,
        id: Uuid,
    ) -> Result<Option<Versioned<warden_core::resources::ResourceClaim>>> {
        self.one(
            "resource_claim",
            "SELECT version, body FROM resource_claims WHERE id = $1",
            &[id.to_string().into()],
        )
        .await
    }

    async fn allowlist_entry(
        &self,
        id: Uuid,
    ) -> Result<Option<Versioned<warden_core::allowlist::AllowlistRecord>>> {
        self.one(
            "allowlist_entry",
            "SELECT version, body FROM allowlist_entries WHERE id = $1",
            &[id.to_string().into()],
        )
        .await
    }

    async fn claim_job(
        &self,
        name: &str,
        owner: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<bool> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "INSERT INTO jobs (name, next_run_us) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[name.into(), us(now).into()],
        )
        .await?;
        // The conditional update is the lock: only one caller can match it.
        let n = tx
            .execute(
                "UPDATE jobs SET lease_owner = $2, lease_until_us = $3 WHERE name = $1 \
                 AND next_run_us <= $4 AND (lease_until_us IS NULL OR lease_until_us < $4)",
                &[
                    name.into(),
                    owner.into(),
                    us(lease_until).into(),
                    us(now).into(),
                ],
            )
            .await?;
        tx.commit().await?;
        Ok(n == 1)
    }

    async fn case_versions(&self, q: &crate::CaseVersionQuery) -> Result<Vec<crate::CaseVersion>> {
        use crate::VersionSelect as V;
        // One statement per backend and selection: the position is SQLite's rowid, or the
        // sequence PostgreSQL assigns.
        macro_rules! sql {
            ($which:literal) => {
                concat!(
                    "SELECT o.seq, o.version, o.at_us, o.body FROM object_versions o \
                     WHERE o.subject_type = 'case' AND o.seq > $1 AND o.at_us > $2 \
                     AND ($3 = '' OR o.subject_id = $3) ",
                    $which,
                    " ORDER BY o.seq LIMIT $4"
                )
            };
        }
        let sql = match q.versions {
            V::All => sql!(""),
            V::Last => sql!(
                "AND NOT EXISTS (SELECT 1 FROM object_versions n WHERE n.subject_type = 'case' AND n.subject_id = o.subject_id AND n.version > o.version)"
            ),
            V::First => sql!("AND o.version = 1"),
        };
        self.db
            .fetch(
                sql,
                &[
                    q.after.into(),
                    q.added_after.map(us).unwrap_or(i64::MIN).into(),
                    q.case.map(|c| c.to_string()).unwrap_or_default().into(),
                    i64::from(q.limit).into(),
                ],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(crate::CaseVersion {
                    position: r.i64(0)?,
                    version: r.i64(1)?,
                    at: from_us(r.i64(2)?)?,
                    case: serde_json::from_str(&r.text(3)?)
                        .map_err(|e| StoreError::Corrupt(format!("case version: {e}")))?,
                })
            })
            .collect()
    }

    async fn put_session(&self, s: &crate::SessionRecord) -> Result<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "INSERT INTO sessions (id_hash, principal_id, csrf, created_us, expires_us, ended_us) VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                s.id_hash.clone().into(),
                s.principal_id.to_string().into(),
                s.csrf.clone().into(),
                us(s.created).into(),
                us(s.expires).into(),
                s.ended.map(us).into(),
            ],
        )
        .await?;
        tx.commit().await
    }

    async fn session(&self, id_hash: &str) -> Result<Option<crate::SessionRecord>> {
        self.db
            .fetch_optional(
                "SELECT id_hash, principal_id, csrf, created_us, expires_us, ended_us FROM sessions WHERE id_hash = $1",
                &[id_hash.into()],
            )
            .await?
            .map(|r| {
                Ok(crate::SessionRecord {
                    id_hash: r.text(0)?,
                    principal_id: row_uuid(&r, 1)?,
                    csrf: r.text(2)?,
                    created: from_us(r.i64(3)?)?,
                    expires: from_us(r.i64(4)?)?,
                    ended: r.opt_i64(5)?.map(from_us).transpose()?,
                })
            })
            .transpose()
    }

    async fn end_session(&self, id_hash: &str, at: OffsetDateTime) -> Result<bool> {
        let mut tx = self.db.begin().await?;
        let n = tx
            .execute(
                "UPDATE sessions SET ended_us = $2 WHERE id_hash = $1 AND ended_us IS NULL",
                &[id_hash.into(), us(at).into()],
            )
            .await?;
        tx.commit().await?;
        Ok(n == 1)
    }

    async fn renew_job(
        &self,
        name: &str,
        owner: &str,
        lease_until: OffsetDateTime,
    ) -> Result<bool> {
        let mut tx = self.db.begin().await?;
        let n = tx
            .execute(
                "UPDATE jobs SET lease_until_us = $3 WHERE name = $1 AND lease_owner = $2",
                &[name.into(), owner.into(), us(lease_until).into()],
            )
            .await?;
        tx.commit().await?;
        Ok(n == 1)
    }

    async fn finish_job(
        &self,
        name: &str,
        owner: &str,
        now: OffsetDateTime,
        next_run: OffsetDateTime,
    ) -> Result<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "UPDATE jobs SET lease_owner = NULL, lease_until_us = NULL, last_run_us = $3, next_run_us = $4 \
             WHERE name = $1 AND lease_owner = $2",
            &[name.into(), owner.into(), us(now).into(), us(next_run).into()],
        )
        .await?;
        tx.commit().await
    }

    async fn appeal(&self, id: Uuid) -> Result<Option<Versioned<Appeal>>> {
        self.one(
            "appeal",
            "SELECT version, body FROM appeals WHERE id = $1",
            &[id.to_string().into()],
        )
        .await
    }

    async fn appeals_of_measure(&self, measure_id: Uuid) -> Result<Vec<Versioned<Appeal>>> {
        self.many(
            "appeal",
            "SELECT version, body FROM appeals WHERE measure_id = $1 ORDER BY created_us, id",
            &[measure_id.to_string().into()],
        )
        .await
    }

    async fn open_appeals(&self, deciding_org: Uuid, limit: u32) -> Result<Vec<Versioned<Appeal>>> {
        self.many(
            "appeal",
            "SELECT version, body FROM appeals WHERE deciding_org = $1 AND status IN ('filed', 'under_review') \
             ORDER BY reply_due_us, id LIMIT $2",
            &[deciding_org.to_string().into(), i64::from(limit).into()],
        )
        .await
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
                    version: r.i64(0)?,
                    body: from_json("version body", &r.text(1)?)?,
                    at: from_us(r.i64(2)?)?,
                })
            })
            .collect()
    }

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
                let seq = r.i64(0)?;
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
                    r.text(2)?,
                    r.text(3)?,
                    r.text(4)?,
                    r.text(5)?,
                    r.text(6)?,
                    r.text(7)?,
                    r.text(8)?,
                );
                if prev_hash != prev {
                    return Ok(broken(
                        seq,
                        format!("entry {seq} does not link to entry {}", seq - 1),
                        count,
                        prev,
                    ));
                }
                let (request_id, state_hash) = (r.opt_text(9)?, r.opt_text(10)?);
                let recomputed = audit::entry_hash(&Fields {
                    prev_hash: &prev_hash,
                    seq,
                    at_us: r.i64(1)?,
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
        if head.i64(0)? != count || head.text(1)? != prev {
            return Ok(broken(
                count + 1,
                format!(
                    "the chain ends at entry {count} but the head records entry {}: entries were removed from the end",
                    head.i64(0)?
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
        Ok((r.i64(0)?, r.text(1)?))
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
                    seq: r.i64(0)?,
                    hash: r.text(1)?,
                    at_us: r.i64(2)?,
                    key_id: r.text(3)?,
                    signature: r.text(4)?,
                })
            })
            .collect()
    }

    async fn schema_columns(&self) -> Result<Vec<(String, String)>> {
        let sql = match self.db {
            Db::Sqlite(_) => {
                "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%' \
                 ORDER BY 1, 2"
            }
            Db::Postgres(_) => {
                "SELECT table_name::text, column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name NOT LIKE '\\_sqlx%' \
                 ORDER BY 1, 2"
            }
        };
        self.db
            .fetch(sql, &[])
            .await?
            .iter()
            .map(|r| Ok((r.text(0)?, r.text(1)?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = encode_cursor(1_700_000_000_000_000, "0190c2d4-aaaa");
        assert_eq!(
            decode_cursor(&c),
            Some((1_700_000_000_000_000, "0190c2d4-aaaa".into()))
        );
        assert_eq!(decode_cursor("zz"), None);
        assert_eq!(decode_cursor("abc"), None);
    }

    #[test]
    fn schema_version_names_the_last_migration_of_both_backends() {
        for backend in ["sqlite", "postgres"] {
            let dir = format!("{}/migrations/{backend}", env!("CARGO_MANIFEST_DIR"));
            let n = std::fs::read_dir(&dir).unwrap().count() as i64;
            assert_eq!(n, crate::SCHEMA_VERSION, "{dir}");
        }
    }

    #[test]
    fn microsecond_times_round_trip() {
        let t = time::macros::datetime!(2026-09-28 10:00:00.123456 +8);
        assert_eq!(from_us(us(t)).unwrap(), t);
    }
}
