//! Bulk loading: many changesets written in one transaction, row for row as the committer
//! writes them one by one (objects, every version, indicators, block changes, the audit chain).
//! PostgreSQL receives each table's rows in one `COPY`, which saves the committer's twenty-odd
//! round trips per changeset; SQLite, which has no round trips to save, applies each changeset
//! with the committer's own code inside the one transaction.

use super::codec::*;
use super::committer::{
    AUDIT_COLUMNS, Shape, add_to_tally, apply_changeset, audit_row, lock_head, provinces_of,
    set_head, shape, tally_change, tally_key,
};
use super::store::SqlStore;
use super::timings;
use crate::audit;
use crate::copy::copy_text;
use crate::db::{Arg, Tx};
use crate::error::{Result, StoreError};
use crate::model::*;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

/// The tables in the order their foreign keys allow them to be filled.
const TABLE_ORDER: &[&str] = &[
    "organisations",
    "principals",
    "passwords",
    "api_tokens",
    "signing_keys",
    "cases",
    "case_timings",
    "case_indicators",
    "reports",
    "measures",
    "measure_timings",
    "notices",
    "appeals",
    "enforcements",
    "inquiries",
    "bulletins",
    "allowlist_entries",
    "resource_claims",
    "object_versions",
    "block_changes",
    "audit_log",
];

/// Where each value of a table's insert statement comes from.
#[derive(Clone, Copy)]
enum Source {
    /// `$n`: the n-th argument (1-based) of [id, columns…, body, at].
    Arg(usize),
    Version,
    Created,
    Updated,
}

struct Parsed {
    table: String,
    columns: Vec<String>,
    sources: Vec<Source>,
}

/// Reads `INSERT INTO t (a, b, …) VALUES ($1, $2, 1, …)`: the statements the committer uses.
fn parse_insert(sql: &str) -> Result<Parsed> {
    let bad = || StoreError::Corrupt(format!("unexpected insert statement: {sql}"));
    let rest = sql.strip_prefix("INSERT INTO ").ok_or_else(bad)?;
    let (table, rest) = rest.split_once(" (").ok_or_else(bad)?;
    let (cols, rest) = rest.split_once(") VALUES (").ok_or_else(bad)?;
    let vals = rest.strip_suffix(')').ok_or_else(bad)?;
    let columns: Vec<String> = cols.split(", ").map(str::to_owned).collect();
    let vals: Vec<&str> = vals.split(", ").collect();
    if columns.len() != vals.len() {
        return Err(bad());
    }
    let mut sources = vec![];
    for (c, v) in columns.iter().zip(&vals) {
        sources.push(match c.as_str() {
            "version" => Source::Version,
            "created_us" => Source::Created,
            "updated_us" => Source::Updated,
            _ => Source::Arg(
                v.strip_prefix('$')
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(bad)?,
            ),
        });
    }
    Ok(Parsed {
        table: table.to_owned(),
        columns,
        sources,
    })
}

/// One object as the batch leaves it.
struct Obj {
    insert: &'static str,
    args: Vec<Arg>,
    version: i64,
    created_us: i64,
    updated_us: i64,
    listed: bool,
    listed_serial: Option<i64>,
    overdue: bool,
}

/// The rows of one table in `COPY … FROM STDIN` text format.
#[derive(Default)]
struct CopyBuf {
    columns: Vec<String>,
    data: Vec<u8>,
    rows: u64,
}

fn copy_arg(out: &mut Vec<u8>, a: &Arg) {
    match a {
        Arg::I64(v) | Arg::OptI64(Some(v)) => out.extend_from_slice(v.to_string().as_bytes()),
        Arg::Text(s) | Arg::OptText(Some(s)) => copy_text(out, s),
        Arg::OptI64(None) | Arg::OptText(None) => out.extend_from_slice(b"\\N"),
        Arg::Bytes(b) => {
            let mut hex = String::with_capacity(b.len() * 2 + 3);
            hex.push_str("\\\\x");
            for byte in b {
                let _ = write!(hex, "{byte:02x}");
            }
            out.extend_from_slice(hex.as_bytes());
        }
    }
}

impl CopyBuf {
    fn row(&mut self, values: &[Arg]) {
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.data.push(b'\t');
            }
            copy_arg(&mut self.data, v);
        }
        self.data.push(b'\n');
        self.rows += 1;
    }
}

/// The rows a batch writes, table by table.
struct Rows {
    tables: HashMap<String, CopyBuf>,
}

impl Rows {
    fn table(&mut self, name: &str, columns: &[&str]) -> &mut CopyBuf {
        self.tables
            .entry(name.to_owned())
            .or_insert_with(|| CopyBuf {
                columns: columns.iter().map(|c| (*c).to_owned()).collect(),
                ..Default::default()
            })
    }
}

impl SqlStore {
    pub(super) async fn bulk(&self, batch: &[Changeset]) -> Result<BulkOutcome> {
        for cs in batch {
            if cs.idempotency.is_some() {
                return Err(StoreError::Corrupt(
                    "a bulk load takes no idempotency keys".into(),
                ));
            }
            if !cs.writes.is_empty() && cs.events.is_empty() {
                return Err(StoreError::Corrupt(
                    "refusing a write without an audit record".into(),
                ));
            }
        }
        let mut tx = self.db.begin().await?;
        let result = match tx.backend() {
            Backend::Sqlite => sqlite_bulk(&mut tx, batch).await,
            Backend::Postgres => postgres_bulk(&mut tx, batch).await,
        };
        match result {
            Ok(outcome) => {
                tx.commit().await?;
                Ok(outcome)
            }
            Err(e) => {
                let _ = tx.rollback().await;
                Err(e)
            }
        }
    }
}

async fn sqlite_bulk(tx: &mut Tx, batch: &[Changeset]) -> Result<BulkOutcome> {
    let mut out = BulkOutcome::default();
    for cs in batch {
        match apply_changeset(tx, cs).await? {
            CommitOutcome::Applied { audit_seq } => out.audit_seq = audit_seq,
            CommitOutcome::Replayed { .. } => {
                return Err(StoreError::Corrupt("a bulk load replays nothing".into()));
            }
        }
        out.changesets += 1;
        out.writes += cs.writes.len() as u64;
        out.audit_entries += cs.events.len() as u64;
    }
    Ok(out)
}

async fn postgres_bulk(tx: &mut Tx, batch: &[Changeset]) -> Result<BulkOutcome> {
    // The head row's lock serialises this batch with every other commit, as the committer's
    // own appends are; block-change serials are drawn under it too.
    let (mut seq, mut prev) = lock_head(tx).await?;
    let writes_measures = batch
        .iter()
        .flat_map(|cs| &cs.writes)
        .any(|w| matches!(w, Write::Measure { .. }));
    // Serials come from the identity's sequence: reserve the first, then COPY draws the next
    // ones in row order (checked below).
    let mut serial = if writes_measures {
        tx.fetch(
            "SELECT nextval(pg_get_serial_sequence('block_changes', 'serial')) AS s",
            &[],
        )
        .await?
        .first()
        .ok_or_else(|| StoreError::Corrupt("no serial".into()))?
        .i64("s")?
    } else {
        0
    };
    let first_serial = serial;

    let mut parsed: HashMap<&'static str, Parsed> = HashMap::new();
    let mut objects: HashMap<String, Obj> = HashMap::new();
    let mut order: Vec<String> = vec![];
    let mut rows = Rows {
        tables: HashMap::new(),
    };
    let mut indicators: HashSet<(String, String, String)> = HashSet::new();
    let mut tallies: HashMap<(String, String), (i64, i64)> = HashMap::new();
    // Each case's and measure's timing row as the batch leaves it.
    let mut timing_rows: HashMap<String, (&'static str, Vec<Arg>)> = HashMap::new();
    // The batch's block changes in serial order; each but the last of a block is superseded.
    let mut changes: Vec<(String, bool, i64)> = vec![];
    let mut out = BulkOutcome::default();
    for cs in batch {
        let at_us = us(cs.at);
        let mut states: HashMap<String, String> = HashMap::new();
        for w in &cs.writes {
            if let Write::Password { principal_id, hash } = w {
                rows.table(
                    "passwords",
                    &["principal_id", "hash", "version", "updated_us"],
                )
                .row(&[
                    principal_id.to_string().into(),
                    hash.clone().into(),
                    1.into(),
                    at_us.into(),
                ]);
                continue;
            }
            let (s, expected): (Shape, Option<i64>) = shape(w)?;
            let Shape {
                kind,
                id,
                insert,
                columns,
                body,
                ..
            } = s;
            let mut args: Vec<Arg> = Vec::with_capacity(columns.len() + 3);
            args.push(id.clone().into());
            args.extend(columns);
            args.push(body.clone().into());
            args.push(at_us.into());
            let measure = match w {
                Write::Measure { measure, .. } => Some(measure),
                _ => None,
            };
            let listed_now = measure.is_some_and(|m| m.block_active());
            let overdue_now = measure.is_some_and(|m| m.overdue);
            // Whether the measure was overdue before this write (None: it is new).
            let mut overdue_before = None;
            let version = match (expected, objects.get_mut(&id)) {
                (None, Some(_)) => {
                    return Err(StoreError::Duplicate { kind, id });
                }
                (None, None) => {
                    parsed.entry(insert).or_insert(parse_insert(insert)?);
                    objects.insert(
                        id.clone(),
                        Obj {
                            insert,
                            args,
                            version: 1,
                            created_us: at_us,
                            updated_us: at_us,
                            listed: false,
                            listed_serial: None,
                            overdue: overdue_now,
                        },
                    );
                    order.push(id.clone());
                    1
                }
                (Some(v), Some(o)) if o.version == v => {
                    overdue_before = Some(o.overdue);
                    o.args = args;
                    o.overdue = overdue_now;
                    o.version = v + 1;
                    o.updated_us = at_us;
                    v + 1
                }
                (Some(v), Some(_)) => {
                    return Err(StoreError::Conflict {
                        kind,
                        id,
                        expected: v,
                    });
                }
                (Some(_), None) => {
                    // Only objects the batch creates can be updated: their rows are written once.
                    return Err(StoreError::NotFound { kind, id });
                }
            };
            match w {
                Write::Measure { measure, .. } => {
                    timing_rows.insert(
                        id.clone(),
                        (timings::MEASURE_TABLE, timings::measure_row(measure)),
                    );
                }
                Write::Case { case, .. } => {
                    timing_rows.insert(id.clone(), (timings::CASE_TABLE, timings::case_row(case)));
                }
                _ => {}
            }
            if let Some(m) = measure {
                let (notices, overdue) = tally_change(overdue_before, overdue_now);
                let t = tallies.entry(tally_key(m)).or_default();
                t.0 += notices;
                t.1 += overdue;
            }
            states.insert(id.clone(), audit::sha256_hex(body.as_bytes()));
            rows.table(
                "object_versions",
                &["subject_type", "subject_id", "version", "body", "at_us"],
            )
            .row(&[
                kind.into(),
                id.clone().into(),
                version.into(),
                body.into(),
                at_us.into(),
            ]);
            if let Some(o) = objects.get_mut(&id)
                && kind == "measure"
                && o.listed != listed_now
            {
                serial += 1;
                o.listed = listed_now;
                if listed_now {
                    o.listed_serial = Some(serial);
                }
                changes.push((id.clone(), listed_now, at_us));
            }
            if let Write::Case { case, .. } = w {
                for i in &case.indicators {
                    let key = (
                        id.clone(),
                        i.kind().as_str().to_owned(),
                        i.value().to_owned(),
                    );
                    if indicators.insert(key.clone()) {
                        rows.table("case_indicators", &["case_id", "kind", "value"])
                            .row(&[key.0.into(), key.1.into(), key.2.into()]);
                    }
                }
            }
            out.writes += 1;
        }
        let actor = to_json(&cs.actor)?;
        let actor_org = cs.actor.org().map(|o| o.slug.clone());
        let provinces = provinces_of(&cs.writes);
        for e in &cs.events {
            seq += 1;
            let (hash, row) = audit_row(
                cs, e, seq, at_us, &prev, &actor, &actor_org, &provinces, &states,
            )?;
            rows.table("audit_log", &AUDIT_COLUMNS).row(&row);
            prev = hash;
            out.audit_entries += 1;
        }
        out.changesets += 1;
    }
    let mut later: HashSet<&str> = HashSet::new();
    let mut superseded = vec![false; changes.len()];
    for (k, (id, _, _)) in changes.iter().enumerate().rev() {
        superseded[k] = !later.insert(id.as_str());
    }
    for ((id, listed, at_us), sup) in changes.iter().zip(superseded) {
        rows.table(
            "block_changes",
            &["measure_id", "listed", "at_us", "superseded"],
        )
        .row(&[
            id.clone().into(),
            i64::from(*listed).into(),
            (*at_us).into(),
            i64::from(sup).into(),
        ]);
    }
    // The objects' rows, as they stand after the batch.
    for id in &order {
        let Some(o) = objects.get(id) else { continue };
        let Some(p) = parsed.get(o.insert) else {
            continue;
        };
        let mut values: Vec<Arg> = p
            .sources
            .iter()
            .map(|s| match *s {
                Source::Arg(n) => o.args.get(n - 1).cloned().unwrap_or(Arg::OptText(None)),
                Source::Version => o.version.into(),
                Source::Created => o.created_us.into(),
                Source::Updated => o.updated_us.into(),
            })
            .collect();
        let mut columns: Vec<&str> = p.columns.iter().map(String::as_str).collect();
        if p.table == "measures" {
            columns.push("listed_serial");
            values.push(o.listed_serial.into());
        }
        rows.table(&p.table, &columns).row(&values);
        if let Some((table, row)) = timing_rows.get(id) {
            let columns: &[&str] = if *table == timings::CASE_TABLE {
                &timings::CASE_COLUMNS
            } else {
                &timings::MEASURE_COLUMNS
            };
            rows.table(table, columns).row(row);
        }
    }
    for name in rows.tables.keys() {
        if !TABLE_ORDER.contains(&name.as_str()) {
            return Err(StoreError::Corrupt(format!(
                "no place in the bulk order for table {name}"
            )));
        }
    }
    for name in TABLE_ORDER {
        let Some(buf) = rows.tables.remove(*name) else {
            continue;
        };
        let statement = format!("COPY {name} ({}) FROM STDIN", buf.columns.join(", "));
        let n = tx.copy_in(&statement, buf.data).await?;
        if n != buf.rows {
            return Err(StoreError::Corrupt(format!(
                "COPY {name} took {n} rows of {}",
                buf.rows
            )));
        }
    }
    if serial > first_serial {
        let last = tx
            .fetch(
                "SELECT COALESCE(MAX(serial), 0) AS s FROM block_changes",
                &[],
            )
            .await?
            .first()
            .ok_or_else(|| StoreError::Corrupt("no serial".into()))?
            .i64("s")?;
        if last != serial {
            return Err(StoreError::Corrupt(format!(
                "block serials drawn out of order: expected {serial}, found {last}"
            )));
        }
    }
    for (key, (notices, overdue)) in &tallies {
        if *notices != 0 || *overdue != 0 {
            add_to_tally(tx, key, *notices, *overdue).await?;
        }
    }
    set_head(tx, seq, prev).await?;
    out.audit_seq = seq;
    Ok(out)
}
