//! Timeliness (Art. 4) aggregated in the database, from the narrow timing rows every commit
//! keeps (`timings`): counts, and medians and 90th percentiles by nearest rank, exactly as
//! `warden_core::stats::timeliness` computes them from bodies. PostgreSQL has ordered-set
//! aggregates (`percentile_disc`, whose rank is the same `ceil(p × n)`); SQLite numbers each
//! group's values with a window and keeps the two ranks.

use super::codec::us;
use super::store::SqlStore;
use crate::db::{Arg, Row};
use crate::error::Result;
use crate::model::*;
use crate::traits::*;
use async_trait::async_trait;
use std::collections::BTreeMap;
use warden_core::stats::{Durations, Group, GroupBy};

/// Cases by period and scope: parameters $1–$5.
macro_rules! case_where {
    () => {
        "($1 IS NULL OR c.opened_us >= $1) AND ($2 IS NULL OR c.opened_us < $2) \
         AND ($3 IS NULL OR c.province = $3) AND ($4 IS NULL OR c.assigned_to = $4) \
         AND ($5 IS NULL OR c.case_id IN (SELECT case_id FROM reports WHERE reporter_org = $5))"
    };
}

/// Notices by scope and decision date: parameters $6–$9.
macro_rules! measure_where {
    () => {
        "($6 IS NULL OR m.province = $6) AND ($7 IS NULL OR m.determining_org = $7) \
         AND ($8 IS NULL OR m.recipient_org = $8) AND ($9 IS NULL OR m.decided_us >= $9)"
    };
}

/// Count, median and 90th percentile of one column among its values ≥ 0 (a negative one is
/// a clock that went back, left out as the core leaves it out).
macro_rules! pg_durations {
    ($col:literal, $n:literal) => {
        concat!(
            "COUNT(",
            $col,
            ") FILTER (WHERE ",
            $col,
            " >= 0) AS n",
            $n,
            ", ",
            "percentile_disc(0.5) WITHIN GROUP (ORDER BY ",
            $col,
            ") FILTER (WHERE ",
            $col,
            " >= 0) AS p",
            $n,
            "_50, ",
            "percentile_disc(0.9) WITHIN GROUP (ORDER BY ",
            $col,
            ") FILTER (WHERE ",
            $col,
            " >= 0) AS p",
            $n,
            "_90"
        )
    };
}

/// Each group's values of each step, numbered in order, keeping the ranks of the median and
/// the 90th percentile (`ceil(p × n)`, as the core computes it).
macro_rules! sqlite_ranks {
    ($from:expr, $where:expr, $key:literal, $stages:literal, $pick:literal) => {
        concat!(
            "SELECT k, s, n, i, d FROM (SELECT k, s, d, ",
            "ROW_NUMBER() OVER (PARTITION BY k, s ORDER BY d) AS i, ",
            "COUNT(*) OVER (PARTITION BY k, s) AS n FROM (SELECT ",
            $key,
            " AS k, ",
            "st.column1 AS s, ",
            $pick,
            " AS d FROM ",
            $from,
            " CROSS JOIN (VALUES ",
            $stages,
            ") AS st WHERE ",
            $where,
            ") x WHERE d >= 0) y WHERE ",
            "i = CAST(0.5 * n AS INTEGER) + (0.5 * n > CAST(0.5 * n AS INTEGER)) ",
            "OR i = CAST(0.9 * n AS INTEGER) + (0.9 * n > CAST(0.9 * n AS INTEGER))"
        )
    };
}

/// Each notice's bucket of time to its first report-back (see `notice_figures`).
const HANDLING_SQL: &str = concat!(
    "SELECT x.b, x.o, x.p, r.slug AS s, x.n FROM (",
    "SELECT CAST(CASE WHEN m.report_ms IS NULL THEN 7 ",
    "WHEN m.report_ms < 3600000 THEN 0 WHEN m.report_ms < 21600000 THEN 1 ",
    "WHEN m.report_ms < 86400000 THEN 2 WHEN m.report_ms < 172800000 THEN 3 ",
    "WHEN m.report_ms < 432000000 THEN 4 WHEN m.report_ms < 864000000 THEN 5 ",
    "ELSE 6 END AS BIGINT) AS b, m.overdue AS o, m.province AS p, ",
    // Only the overdue notices' recipients are named: fewer groups, and fewer to join.
    "CASE WHEN m.overdue = 1 THEN m.recipient_org END AS rid, COUNT(*) AS n ",
    "FROM measure_timings m ",
    "WHERE $1 IS NULL AND $2 IS NULL AND $3 IS NULL AND $4 IS NULL AND $5 IS NULL AND ",
    measure_where!(),
    " GROUP BY 1, 2, 3, 4) x LEFT JOIN organisations r ON r.id = x.rid"
);

struct Queries {
    pg_cases: &'static str,
    pg_measures: &'static str,
    cases: &'static str,
    measures: &'static str,
    case_ranks: &'static str,
    measure_ranks: &'static str,
}

macro_rules! queries {
    ($ckey:literal, $cjoin:literal, $mkey:literal, $mjoin:literal) => {
        Queries {
            pg_cases: concat!(
                "SELECT ",
                $ckey,
                " AS k, COUNT(*) AS n, ",
                pg_durations!("c.determine_ms", "0"),
                ", ",
                pg_durations!("c.decide_ms", "1"),
                " FROM case_timings c ",
                $cjoin,
                " WHERE ",
                case_where!(),
                " GROUP BY 1"
            ),
            pg_measures: concat!(
                "SELECT ",
                $mkey,
                " AS k, COUNT(*) AS n, CAST(SUM(m.overdue) AS BIGINT) AS o, ",
                pg_durations!("m.acknowledge_ms", "2"),
                ", ",
                pg_durations!("m.report_ms", "3"),
                ", ",
                pg_durations!("m.verify_ms", "4"),
                " FROM measure_timings m JOIN case_timings c ON c.case_id = m.case_id ",
                $mjoin,
                " WHERE ",
                case_where!(),
                " AND ",
                measure_where!(),
                " GROUP BY 1"
            ),
            cases: concat!(
                "SELECT ",
                $ckey,
                " AS k, COUNT(*) AS n FROM case_timings c ",
                $cjoin,
                " WHERE ",
                case_where!(),
                " GROUP BY 1"
            ),
            measures: concat!(
                "SELECT ",
                $mkey,
                " AS k, COUNT(*) AS n, SUM(m.overdue) AS o ",
                "FROM measure_timings m JOIN case_timings c ON c.case_id = m.case_id ",
                $mjoin,
                " WHERE ",
                case_where!(),
                " AND ",
                measure_where!(),
                " GROUP BY 1"
            ),
            case_ranks: sqlite_ranks!(
                concat!("case_timings c ", $cjoin),
                case_where!(),
                $ckey,
                "(0), (1)",
                "CASE st.column1 WHEN 0 THEN c.determine_ms ELSE c.decide_ms END"
            ),
            measure_ranks: sqlite_ranks!(
                concat!(
                    "measure_timings m JOIN case_timings c ON c.case_id = m.case_id ",
                    $mjoin
                ),
                concat!(case_where!(), " AND ", measure_where!()),
                $mkey,
                "(2), (3), (4)",
                "CASE st.column1 WHEN 2 THEN m.acknowledge_ms WHEN 3 THEN m.report_ms \
                 ELSE m.verify_ms END"
            ),
        }
    };
}

const BY_PROVINCE: Queries = queries!(
    "COALESCE(c.province, '(none)')",
    "",
    "COALESCE(m.province, '(none)')",
    ""
);
const BY_ORG: Queries = queries!(
    "COALESCE(o.slug, '(none)')",
    "LEFT JOIN organisations o ON o.id = c.assigned_to",
    "o.slug",
    "JOIN organisations o ON o.id = m.recipient_org"
);
const BY_CATEGORY: Queries = queries!("c.category", "", "c.category", "");

fn args(s: &TimingScope) -> Vec<Arg> {
    vec![
        s.opened_from.map(us).into(),
        s.opened_to.map(us).into(),
        s.case_province.clone().into(),
        s.case_assigned_to.map(|o| o.to_string()).into(),
        s.case_reporter.map(|o| o.to_string()).into(),
        s.measure_province.clone().into(),
        s.measure_determining_org.map(|o| o.to_string()).into(),
        s.measure_recipient.map(|o| o.to_string()).into(),
        s.decided_from.map(us).into(),
    ]
}

fn count(r: &Row, column: &str) -> Result<u64> {
    Ok(r.opt_i64(column)?.unwrap_or(0).max(0) as u64)
}

fn seconds(ms: Option<i64>) -> Option<f64> {
    ms.map(|v| v as f64 / 1000.0)
}

fn durations(r: &Row, n: usize) -> Result<Durations> {
    let count = count(r, &format!("n{n}"))?;
    Ok(if count == 0 {
        Durations::default()
    } else {
        Durations {
            count,
            median_s: seconds(r.opt_i64(&format!("p{n}_50"))?),
            p90_s: seconds(r.opt_i64(&format!("p{n}_90"))?),
        }
    })
}

/// The nearest rank of `p` among `n` values, 1-based, as the core computes it.
fn rank(p: f64, n: u64) -> u64 {
    ((p * n as f64).ceil() as u64).clamp(1, n.max(1))
}

fn stage(g: &mut Group, s: i64) -> Option<&mut Durations> {
    Some(match s {
        0 => &mut g.time_to_determine,
        1 => &mut g.time_to_decide,
        2 => &mut g.time_to_acknowledge,
        3 => &mut g.time_to_report_back,
        4 => &mut g.time_to_verify,
        _ => return None,
    })
}

#[async_trait]
impl StatisticsStore for SqlStore {
    async fn timeliness(&self, scope: &TimingScope, by: GroupBy) -> Result<Vec<Group>> {
        let q = match by {
            GroupBy::Province => &BY_PROVINCE,
            GroupBy::Org => &BY_ORG,
            GroupBy::Category => &BY_CATEGORY,
        };
        let a = args(scope);
        let mut groups: BTreeMap<String, Group> = BTreeMap::new();
        let group = |groups: &mut BTreeMap<String, Group>, key: String| {
            groups
                .entry(key.clone())
                .or_insert_with(|| Group {
                    key,
                    ..Group::default()
                })
                .clone()
        };
        match self.db.backend() {
            Backend::Postgres => {
                for r in self.db.fetch(q.pg_cases, &a).await? {
                    let mut g = group(&mut groups, r.text("k")?);
                    g.cases = count(&r, "n")?;
                    g.time_to_determine = durations(&r, 0)?;
                    g.time_to_decide = durations(&r, 1)?;
                    groups.insert(g.key.clone(), g);
                }
                for r in self.db.fetch(q.pg_measures, &a).await? {
                    let mut g = group(&mut groups, r.text("k")?);
                    g.notices = count(&r, "n")?;
                    g.overdue = count(&r, "o")?;
                    g.time_to_acknowledge = durations(&r, 2)?;
                    g.time_to_report_back = durations(&r, 3)?;
                    g.time_to_verify = durations(&r, 4)?;
                    groups.insert(g.key.clone(), g);
                }
            }
            Backend::Sqlite => {
                for r in self.db.fetch(q.cases, &a).await? {
                    let mut g = group(&mut groups, r.text("k")?);
                    g.cases = count(&r, "n")?;
                    groups.insert(g.key.clone(), g);
                }
                for r in self.db.fetch(q.measures, &a).await? {
                    let mut g = group(&mut groups, r.text("k")?);
                    g.notices = count(&r, "n")?;
                    g.overdue = count(&r, "o")?;
                    groups.insert(g.key.clone(), g);
                }
                let mut ranks = self.db.fetch(q.case_ranks, &a).await?;
                ranks.extend(self.db.fetch(q.measure_ranks, &a).await?);
                for r in ranks {
                    let key = r.text("k")?;
                    let (s, n, i) = (r.i64("s")?, count(&r, "n")?, count(&r, "i")?);
                    let d = seconds(r.opt_i64("d")?);
                    let g = groups.entry(key.clone()).or_insert_with(|| Group {
                        key,
                        ..Group::default()
                    });
                    if let Some(t) = stage(g, s) {
                        t.count = n;
                        if i == rank(0.5, n) {
                            t.median_s = d;
                        }
                        if i == rank(0.9, n) {
                            t.p90_s = d;
                        }
                    }
                }
            }
        }
        Ok(groups
            .into_values()
            .map(|mut g| {
                g.overdue_rate = (g.notices > 0).then(|| g.overdue as f64 / g.notices as f64);
                g
            })
            .collect())
    }

    async fn cases_opened(&self, scope: &TimingScope) -> Result<Vec<(i64, String, u64)>> {
        let rows = self
            .db
            .fetch(
                concat!(
                    "SELECT (c.opened_us / 1000000 + 28800) / 86400 AS day, c.category, ",
                    "COUNT(*) AS n FROM case_timings c WHERE ",
                    case_where!(),
                    " AND $6 IS NULL AND $7 IS NULL AND $8 IS NULL AND $9 IS NULL",
                    " GROUP BY 1, 2"
                ),
                &args(scope),
            )
            .await?;
        rows.iter()
            .map(|r| Ok((r.i64("day")?, r.text("category")?, count(r, "n")?)))
            .collect()
    }

    async fn notice_figures(&self, scope: &TimingScope) -> Result<NoticeFigures> {
        let a = args(scope);
        let mut out = NoticeFigures::default();
        // The bucket of each notice's first report-back (7: none yet), as
        // `warden_core::stats::handling_histogram` buckets whole seconds: the bounds are
        // `HANDLING_BUCKETS` in milliseconds (a unit test holds them equal).
        let buckets = self.db.fetch(HANDLING_SQL, &a).await?;
        // One pass: each (bucket, overdue, province, recipient) counted once, summed here.
        let mut by_province: BTreeMap<Option<String>, u64> = BTreeMap::new();
        let mut by_org: BTreeMap<String, u64> = BTreeMap::new();
        for r in &buckets {
            let (b, n) = (r.i64("b")?, count(r, "n")?);
            out.notices += n;
            match usize::try_from(b)
                .ok()
                .and_then(|b| out.handling.get_mut(b))
            {
                Some(slot) => *slot += n,
                None => out.awaiting_report += n,
            }
            if r.i64("o")? != 0 {
                *by_province.entry(r.opt_text("p")?).or_default() += n;
                *by_org
                    .entry(r.opt_text("s")?.unwrap_or_default())
                    .or_default() += n;
            }
        }
        out.overdue_by_province = by_province.into_iter().collect();
        out.overdue_by_org = by_org.into_iter().collect();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_handling_buckets_are_the_cores() {
        for b in warden_core::stats::HANDLING_BUCKETS {
            let bound = format!("m.report_ms < {} THEN", b * 1000);
            assert!(HANDLING_SQL.contains(&bound), "{bound}");
        }
        assert_eq!((super::rank(0.9, 70), super::rank(0.9, 10)), (63, 9));
        assert_eq!(super::rank(0.5, 1), 1);
    }
    use super::HANDLING_SQL;
}
