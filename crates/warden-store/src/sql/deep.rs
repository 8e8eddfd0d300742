//! The deep check: every live row read back against what the trail recorded. A row edited
//! behind the server's back keeps its audit entries intact, so the chain alone cannot see
//! it; its body no longer hashes to the state the last entry about it recorded, or a column
//! the server derives from the body (a block's status, a measure's target) no longer
//! agrees with the body.

use super::codec::*;
use super::committer::{shape, tally_key};
use super::store::SqlStore;
use super::timings;
use crate::audit::{DeepCheck, Discrepancy, sha256_hex};
use crate::db::{Arg, Row};
use crate::error::Result;
use crate::model::*;
use std::collections::HashMap;

/// Differences reported in full; past this they are only counted.
const KEEP: usize = 1000;
const PAGE: i64 = 500;

struct Table {
    kind: &'static str,
    /// Whether the trail records this kind's states (notices and signing keys are signed
    /// or endorsed instead, and checked by their signatures).
    audited: bool,
    page: &'static str,
    rebuild: fn(&str, &Row) -> Result<Write>,
}

const TABLES: &[Table] = &[
    Table {
        kind: "organisation",
        audited: true,
        page: "SELECT * FROM organisations WHERE id > $1 ORDER BY id LIMIT $2",
        rebuild: |b, _| {
            Ok(Write::Organisation {
                org: from_json("organisation", b)?,
                expected: None,
            })
        },
    },
    Table {
        kind: "principal",
        audited: true,
        page: "SELECT * FROM principals WHERE id > $1 ORDER BY id LIMIT $2",
        rebuild: |b, _| {
            Ok(Write::Principal {
                principal: from_json("principal", b)?,
                expected: None,
            })
        },
    },
    Table {
        kind: "token",
        audited: true,
        page: "SELECT * FROM api_tokens WHERE id > $1 ORDER BY id LIMIT $2",
        rebuild: |b, _| {
            Ok(Write::Token {
                token: from_json("token", b)?,
                hash: None,
                expected: None,
            })
        },
    },
    Table {
        kind: "report",
        audited: true,
        page: "SELECT * FROM reports WHERE id > $1 ORDER BY id LIMIT $2",
        rebuild: |b, _| {
            Ok(Write::Report {
                report: from_json("report", b)?,
                expected: None,
            })
        },
    },
    Table {
        kind: "case",
        audited: true,
        page: "SELECT * FROM cases WHERE id > $1 ORDER BY id LIMIT $2",
        rebuild: |b, _| {
            Ok(Write::Case {
                case: from_json("case", b)?,
                expected: None,
            })
        },
    },
    Table {
        kind: "measure",
        audited: true,
        page: "SELECT * FROM measures WHERE id > $1 ORDER BY id LIMIT $2",
        rebuild: |b, _| {
            Ok(Write::Measure {
                measure: from_json("measure", b)?,
                expected: None,
            })
        },
    },
    Table {
        kind: "appeal",
        audited: true,
        page: "SELECT * FROM appeals WHERE id > $1 ORDER BY id LIMIT $2",
        rebuild: |b, _| {
            Ok(Write::Appeal {
                appeal: from_json("appeal", b)?,
                expected: None,
            })
        },
    },
    Table {
        kind: "inquiry",
        audited: true,
        page: "SELECT * FROM inquiries WHERE id > $1 ORDER BY id LIMIT $2",
        rebuild: |b, _| {
            Ok(Write::Inquiry {
                inquiry: from_json("inquiry", b)?,
                expected: None,
            })
        },
    },
    Table {
        kind: "enforcement",
        audited: true,
        page: "SELECT * FROM enforcements WHERE id > $1 ORDER BY id LIMIT $2",
        rebuild: |b, _| {
            Ok(Write::Enforcement {
                enforcement: from_json("enforcement", b)?,
                expected: None,
            })
        },
    },
    Table {
        kind: "bulletin",
        audited: true,
        page: "SELECT * FROM bulletins WHERE id > $1 ORDER BY id LIMIT $2",
        rebuild: |b, _| {
            Ok(Write::Bulletin {
                bulletin: from_json("bulletin", b)?,
                expected: None,
            })
        },
    },
    Table {
        kind: "allowlist_entry",
        audited: true,
        page: "SELECT * FROM allowlist_entries WHERE id > $1 ORDER BY id LIMIT $2",
        rebuild: |b, _| {
            Ok(Write::AllowlistEntry {
                entry: from_json("allowlist entry", b)?,
                expected: None,
            })
        },
    },
    Table {
        kind: "resource_claim",
        audited: true,
        page: "SELECT * FROM resource_claims WHERE id > $1 ORDER BY id LIMIT $2",
        rebuild: |b, _| {
            Ok(Write::ResourceClaim {
                claim: from_json("resource claim", b)?,
                expected: None,
            })
        },
    },
    Table {
        kind: "signing_key",
        audited: false,
        page: "SELECT * FROM signing_keys WHERE id > $1 ORDER BY id LIMIT $2",
        rebuild: |b, _| {
            Ok(Write::SigningKey {
                key: from_json("signing key", b)?,
                expected: None,
            })
        },
    },
    Table {
        kind: "notice",
        audited: false,
        page: "SELECT * FROM notices WHERE id > $1 ORDER BY id LIMIT $2",
        rebuild: |b, r| {
            let recipient: String = r.text("recipient_org")?;
            Ok(Write::Notice {
                notice: from_json("notice", b)?,
                recipient_org_id: recipient
                    .parse()
                    .map_err(|_| crate::StoreError::Corrupt("notice recipient".into()))?,
            })
        },
    },
];

/// The names of a shape's columns, in the order of its values: those between `id` and
/// `body` in its INSERT statement.
fn column_names(insert: &str) -> Vec<&str> {
    insert
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(cols, _)| cols.split(',').map(str::trim).collect::<Vec<_>>())
        .map(|cols| {
            cols.into_iter()
                .skip(1)
                .take_while(|c| *c != "body")
                .collect()
        })
        .unwrap_or_default()
}

fn stored_differs(r: &Row, name: &str, want: &Arg) -> Result<Option<String>> {
    let show = |v: Option<String>| v.unwrap_or_else(|| "null".into());
    Ok(match want {
        Arg::Text(w) => {
            let got = r.opt_text(name)?;
            (got.as_deref() != Some(w.as_str())).then(|| format!("{} ≠ {w}", show(got)))
        }
        Arg::OptText(w) => {
            let got = r.opt_text(name)?;
            (got != *w).then(|| format!("{} ≠ {}", show(got), show(w.clone())))
        }
        Arg::I64(w) => {
            let got = r.opt_i64(name)?;
            (got != Some(*w)).then(|| format!("{} ≠ {w}", show(got.map(|v| v.to_string()))))
        }
        Arg::OptI64(w) => {
            let got = r.opt_i64(name)?;
            (got != *w).then(|| {
                format!(
                    "{} ≠ {}",
                    show(got.map(|v| v.to_string())),
                    show(w.map(|v| v.to_string()))
                )
            })
        }
        Arg::Bytes(_) => None,
    })
}

/// As `stored_differs`, allowing one unit on the instants and durations (see
/// `timings::rounded`).
fn timing_differs(r: &Row, name: &str, want: &Arg) -> Result<Option<String>> {
    if timings::rounded(name) {
        let want = match want {
            Arg::I64(w) => Some(*w),
            Arg::OptI64(w) => *w,
            _ => None,
        };
        let got = r.opt_i64(name)?;
        let close = match (got, want) {
            (Some(g), Some(w)) => g.abs_diff(w) <= 1,
            (g, w) => g == w,
        };
        let show = |v: Option<i64>| v.map_or_else(|| "null".to_owned(), |v| v.to_string());
        return Ok((!close).then(|| format!("{} ≠ {}", show(got), show(want))));
    }
    stored_differs(r, name, want)
}

impl SqlStore {
    /// Reads every object back against the trail (see the module's note).
    pub(super) async fn read_back(&self) -> Result<DeepCheck> {
        let mut out = DeepCheck::default();
        let note = |out: &mut DeepCheck, kind: &str, id: &str, field: &str, problem: String| {
            out.differences += 1;
            if out.discrepancies.len() < KEEP {
                out.discrepancies.push(Discrepancy {
                    subject_type: kind.to_owned(),
                    id: id.to_owned(),
                    field: field.to_owned(),
                    problem,
                });
            }
        };
        // The compliance tallies, counted again from the measures' bodies.
        let mut tallies: HashMap<(String, String), (i64, i64)> = HashMap::new();
        for t in TABLES {
            let mut after = String::new();
            loop {
                let rows = self
                    .db
                    .fetch(t.page, &[after.clone().into(), PAGE.into()])
                    .await?;
                let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
                    break;
                };
                let (lo, hi) = (first.text("id")?, last.text("id")?);
                // The newest recorded state of each object of the page, in one range read
                // of the trail's subject index.
                let mut states: HashMap<String, String> = HashMap::new();
                if t.audited {
                    for s in self
                        .db
                        .fetch(
                            "SELECT subject_id, state_hash FROM audit_log WHERE subject_type = $1 AND subject_id >= $2 AND subject_id <= $3 AND state_hash IS NOT NULL ORDER BY seq",
                            &[t.kind.into(), lo.clone().into(), hi.clone().into()],
                        )
                        .await?
                    {
                        states.insert(s.text("subject_id")?, s.text("state_hash")?);
                    }
                }
                // The timing rows of the page's cases or measures (migration 28).
                let timing_sql = match t.kind {
                    "case" => Some((
                        "SELECT * FROM case_timings WHERE case_id >= $1 AND case_id <= $2",
                        "case_id",
                    )),
                    "measure" => Some((
                        "SELECT * FROM measure_timings WHERE measure_id >= $1 AND measure_id <= $2",
                        "measure_id",
                    )),
                    _ => None,
                };
                let mut timing_rows: HashMap<String, Row> = HashMap::new();
                if let Some((sql, key)) = timing_sql {
                    for tr in self
                        .db
                        .fetch(sql, &[lo.clone().into(), hi.clone().into()])
                        .await?
                    {
                        timing_rows.insert(tr.text(key)?, tr);
                    }
                }
                for r in &rows {
                    out.objects += 1;
                    let id = r.text("id")?;
                    let body = r.text("body")?;
                    if t.audited {
                        match states.get(&id) {
                            None => note(
                                &mut out,
                                t.kind,
                                &id,
                                "state",
                                "no audit entry records this object's state: it was inserted behind the server's back (or written before states were recorded)".into(),
                            ),
                            Some(h) if *h != sha256_hex(body.as_bytes()) => note(
                                &mut out,
                                t.kind,
                                &id,
                                "body",
                                "differs from the state its last audit entry recorded: it was edited behind the server's back".into(),
                            ),
                            Some(_) => {}
                        }
                    }
                    let rebuilt = (t.rebuild)(&body, r);
                    let timing = match &rebuilt {
                        Ok(Write::Measure { measure, .. }) => {
                            let e = tallies.entry(tally_key(measure)).or_default();
                            e.0 += 1;
                            e.1 += i64::from(measure.overdue);
                            Some((
                                "measure_timing",
                                &timings::MEASURE_COLUMNS[..],
                                timings::measure_row(measure),
                            ))
                        }
                        Ok(Write::Case { case, .. }) => Some((
                            "case_timing",
                            &timings::CASE_COLUMNS[..],
                            timings::case_row(case),
                        )),
                        _ => None,
                    };
                    if let Some((what, columns, want)) = timing {
                        match timing_rows.get(&id) {
                            None => note(
                                &mut out,
                                what,
                                &id,
                                "row",
                                "missing: the timeliness figures leave this object out".into(),
                            ),
                            Some(tr) => {
                                for (name, want) in columns.iter().zip(&want) {
                                    if let Some(d) = timing_differs(tr, name, want)? {
                                        note(
                                            &mut out,
                                            what,
                                            &id,
                                            name,
                                            format!("timing and body disagree: {d}"),
                                        );
                                    }
                                }
                            }
                        }
                    }
                    let shaped = rebuilt.and_then(|w| shape(&w));
                    let (s, _) = match shaped {
                        Ok(s) => s,
                        Err(e) => {
                            note(&mut out, t.kind, &id, "body", format!("unreadable: {e}"));
                            continue;
                        }
                    };
                    if s.id != id {
                        note(
                            &mut out,
                            t.kind,
                            &id,
                            "id",
                            format!("the body names {}", s.id),
                        );
                    }
                    for (name, want) in column_names(s.insert).into_iter().zip(&s.columns) {
                        // A token's secret hash is not in its body: nothing to compare.
                        if t.kind == "token" && name == "hash" {
                            continue;
                        }
                        if let Some(d) = stored_differs(r, name, want)? {
                            note(
                                &mut out,
                                t.kind,
                                &id,
                                name,
                                format!("column and body disagree: {d}"),
                            );
                        }
                    }
                }
                after = hi;
                if (rows.len() as i64) < PAGE {
                    break;
                }
            }
        }
        let stored = self
            .db
            .fetch(
                "SELECT recipient_org, province, notices, overdue FROM measure_tallies",
                &[],
            )
            .await?;
        let mut kept: HashMap<(String, String), (i64, i64)> = HashMap::new();
        for r in &stored {
            kept.insert(
                (r.text("recipient_org")?, r.text("province")?),
                (r.i64("notices")?, r.i64("overdue")?),
            );
        }
        let keys: std::collections::BTreeSet<&(String, String)> =
            kept.keys().chain(tallies.keys()).collect();
        for key in keys {
            // A tally that is missing counts nothing.
            let have = kept.get(key).copied().unwrap_or_default();
            let want = tallies.get(key).copied().unwrap_or_default();
            if have != want {
                note(
                    &mut out,
                    "measure_tally",
                    &format!("{} {}", key.0, key.1),
                    "notices",
                    format!(
                        "counts {} notices, {} overdue; the measures make {}, {}",
                        have.0, have.1, want.0, want.1
                    ),
                );
            }
        }
        Ok(out)
    }
}
