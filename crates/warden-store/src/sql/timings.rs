//! How long each step of a case and of a notice took (Art. 4), one narrow row per case and per
//! measure (migration 28). Every commit that writes a case or a measure rewrites its row, bulk
//! loads copy them, and the deep check derives them again from the bodies: the timeliness
//! report and the dashboard aggregate these rows in SQL instead of reading bodies.

use super::codec::us;
use crate::db::{Arg, Tx};
use crate::error::Result;
use time::OffsetDateTime;
use warden_core::lifecycle::{Case, Measure, VerificationResult};

pub(super) const CASE_TABLE: &str = "case_timings";
pub(super) const MEASURE_TABLE: &str = "measure_timings";

pub(super) const CASE_COLUMNS: [&str; 7] = [
    "case_id",
    "opened_us",
    "province",
    "assigned_to",
    "category",
    "determine_ms",
    "decide_ms",
];

pub(super) const MEASURE_COLUMNS: [&str; 10] = [
    "measure_id",
    "case_id",
    "decided_us",
    "province",
    "recipient_org",
    "determining_org",
    "overdue",
    "acknowledge_ms",
    "report_ms",
    "verify_ms",
];

/// The columns compared with a tolerance of one unit: instants and durations, whose SQL
/// backfill (migration 28) parses the bodies' RFC 3339 text and may round the last digit
/// the other way.
pub(super) fn rounded(column: &str) -> bool {
    column.ends_with("_ms") || column.ends_with("_us")
}

/// An instant to the millisecond, rounded half up.
fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from((t.unix_timestamp_nanos() + 500_000).div_euclid(1_000_000)).unwrap_or(i64::MAX)
}

fn between(a: OffsetDateTime, b: Option<OffsetDateTime>) -> Option<i64> {
    b.map(|b| ms(b) - ms(a))
}

/// A case's timing row, in `CASE_COLUMNS` order.
pub(super) fn case_row(c: &Case) -> Vec<Arg> {
    let determined = c.determination.as_ref().map(|d| d.at);
    vec![
        c.id.to_string().into(),
        us(c.opened_at).into(),
        c.province.map(|p| p.to_string()).into(),
        c.assigned_to.as_ref().map(|o| o.id.to_string()).into(),
        c.classification.category.as_str().into(),
        between(c.opened_at, determined).into(),
        determined
            .and_then(|d| between(d, c.decision.as_ref().map(|x| x.at)))
            .into(),
    ]
}

/// A measure's timing row, in `MEASURE_COLUMNS` order.
pub(super) fn measure_row(m: &Measure) -> Vec<Arg> {
    let first_feedback = m.feedback.first().map(|f| f.filed_at);
    let first_pass = m
        .verifications
        .iter()
        .find(|v| v.result == VerificationResult::Passed)
        .map(|v| v.at);
    vec![
        m.id.to_string().into(),
        m.case_id.to_string().into(),
        us(m.decided_at).into(),
        m.province.map(|p| p.to_string()).into(),
        m.recipient.id.to_string().into(),
        m.determining_org.id.to_string().into(),
        i64::from(m.overdue).into(),
        between(m.decided_at, m.acknowledged_at).into(),
        between(m.decided_at, first_feedback).into(),
        first_feedback.and_then(|f| between(f, first_pass)).into(),
    ]
}

fn upsert_sql(table: &str, columns: &[&str]) -> String {
    let params: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
    let sets: Vec<String> = columns[1..]
        .iter()
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    format!(
        "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {}",
        columns.join(", "),
        params.join(", "),
        columns[0],
        sets.join(", ")
    )
}

static CASE_UPSERT: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| upsert_sql(CASE_TABLE, &CASE_COLUMNS));
static MEASURE_UPSERT: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| upsert_sql(MEASURE_TABLE, &MEASURE_COLUMNS));

pub(super) async fn write_case(tx: &mut Tx, c: &Case) -> Result<()> {
    tx.execute(&CASE_UPSERT, &case_row(c)).await?;
    Ok(())
}

pub(super) async fn write_measure(tx: &mut Tx, m: &Measure) -> Result<()> {
    tx.execute(&MEASURE_UPSERT, &measure_row(m)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn milliseconds_round_half_up() {
        assert_eq!(ms(datetime!(1970-01-01 00:00:00.0004999 UTC)), 0);
        assert_eq!(ms(datetime!(1970-01-01 00:00:00.0005 UTC)), 1);
        assert_eq!(ms(datetime!(1969-12-31 23:59:59.9995 UTC)), 0);
        assert_eq!(ms(datetime!(1969-12-31 23:59:59.9994 UTC)), -1);
        assert_eq!(
            upsert_sql("t", &["id", "a", "b"]),
            "INSERT INTO t (id, a, b) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET a = excluded.a, b = excluded.b"
        );
    }
}
