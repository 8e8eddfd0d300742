//! Timeliness (Art. 4: timely discovery, scientific determination, effective handling): how
//! long each step takes, by province, organisation or category, and how many notices went
//! overdue.

use crate::lifecycle::{Case, Measure, VerificationResult};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Province,
    /// Cases by assigned institution, notices by recipient.
    Org,
    Category,
}

/// Count, median and 90th percentile of a duration, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Durations {
    pub count: u64,
    pub median_s: Option<f64>,
    pub p90_s: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Group {
    pub key: String,
    pub cases: u64,
    pub notices: u64,
    pub overdue: u64,
    /// Overdue notices per notice.
    pub overdue_rate: Option<f64>,
    /// Opened → determined.
    pub time_to_determine: Durations,
    /// Determined → decided.
    pub time_to_decide: Durations,
    /// Decided → acknowledged by the recipient.
    pub time_to_acknowledge: Durations,
    /// Decided → first feedback.
    pub time_to_report_back: Durations,
    /// First feedback → first passed verification.
    pub time_to_verify: Durations,
}

fn secs(a: OffsetDateTime, b: OffsetDateTime) -> Option<f64> {
    let d = (b - a).as_seconds_f64();
    (d >= 0.0).then_some(d)
}

fn summarise(mut v: Vec<f64>) -> Durations {
    if v.is_empty() {
        return Durations::default();
    }
    v.sort_by(f64::total_cmp);
    // Nearest-rank percentiles: always one of the observed values.
    let rank = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    Durations {
        count: v.len() as u64,
        median_s: Some(rank(0.5)),
        p90_s: Some(rank(0.9)),
    }
}

#[derive(Default)]
struct Acc {
    cases: u64,
    notices: u64,
    overdue: u64,
    determine: Vec<f64>,
    decide: Vec<f64>,
    ack: Vec<f64>,
    report_back: Vec<f64>,
    verify: Vec<f64>,
}

/// Aggregates `cases` and the `measures` decided on them.
pub fn timeliness(cases: &[Case], measures: &[Measure], by: GroupBy) -> Vec<Group> {
    let mut groups: BTreeMap<String, Acc> = BTreeMap::new();
    let none = "(none)".to_owned();
    let case_key = |c: &Case| match by {
        GroupBy::Province => c.province.map(|p| p.to_string()).unwrap_or(none.clone()),
        GroupBy::Org => c
            .assigned_to
            .as_ref()
            .map(|o| o.slug.clone())
            .unwrap_or(none.clone()),
        GroupBy::Category => c.classification.category.as_str().to_owned(),
    };
    let category: HashMap<Uuid, String> = cases
        .iter()
        .map(|c| (c.id, c.classification.category.as_str().to_owned()))
        .collect();
    for c in cases {
        let acc = groups.entry(case_key(c)).or_default();
        acc.cases += 1;
        if let Some(d) = &c.determination {
            acc.determine.extend(secs(c.opened_at, d.at));
            if let Some(dec) = &c.decision {
                acc.decide.extend(secs(d.at, dec.at));
            }
        }
    }
    for m in measures {
        let key = match by {
            GroupBy::Province => m.province.map(|p| p.to_string()).unwrap_or(none.clone()),
            GroupBy::Org => m.recipient.slug.clone(),
            GroupBy::Category => category.get(&m.case_id).cloned().unwrap_or(none.clone()),
        };
        let acc = groups.entry(key).or_default();
        acc.notices += 1;
        acc.overdue += u64::from(m.overdue);
        if let Some(a) = m.acknowledged_at {
            acc.ack.extend(secs(m.decided_at, a));
        }
        if let Some(f) = m.feedback.first() {
            acc.report_back.extend(secs(m.decided_at, f.filed_at));
            if let Some(v) = m
                .verifications
                .iter()
                .find(|v| v.result == VerificationResult::Passed)
            {
                acc.verify.extend(secs(f.filed_at, v.at));
            }
        }
    }
    groups
        .into_iter()
        .map(|(key, a)| Group {
            key,
            cases: a.cases,
            notices: a.notices,
            overdue: a.overdue,
            overdue_rate: (a.notices > 0).then(|| a.overdue as f64 / a.notices as f64),
            time_to_determine: summarise(a.determine),
            time_to_decide: summarise(a.decide),
            time_to_acknowledge: summarise(a.ack),
            time_to_report_back: summarise(a.report_back),
            time_to_verify: summarise(a.verify),
        })
        .collect()
}

/// Upper bounds (seconds) of the handling-time buckets of the dashboard: 1 h, 6 h, 1 d, 2 d,
/// 5 d, 10 d, and beyond.
pub const HANDLING_BUCKETS: [i64; 6] = [3_600, 21_600, 86_400, 172_800, 432_000, 864_000];

/// Cases opened per day and category (in `Category::ALL` order), for the `days` days that end
/// with `last_day`, oldest first, from counts per Asia/Shanghai date and category.
pub fn opened_per_day(
    opened: impl IntoIterator<Item = (time::Date, crate::taxonomy::Category, u64)>,
    last_day: time::Date,
    days: u16,
) -> Vec<(time::Date, [u64; 5])> {
    let first = last_day - time::Duration::days(i64::from(days.saturating_sub(1)));
    let mut out: Vec<(time::Date, [u64; 5])> = (0..i64::from(days))
        .map(|d| (first + time::Duration::days(d), [0; 5]))
        .collect();
    for (day, category, n) in opened {
        if day < first || day > last_day {
            continue;
        }
        let row = (day - first).whole_days() as usize;
        let col = crate::taxonomy::Category::ALL
            .iter()
            .position(|c| *c == category)
            .unwrap_or(4);
        if let Some(r) = out.get_mut(row) {
            r.1[col] += n;
        }
    }
    out
}

/// How many durations (seconds) fall in each of `HANDLING_BUCKETS` and beyond (7 counts), and
/// how many are still open (None).
pub fn handling_histogram(durations: impl IntoIterator<Item = Option<i64>>) -> ([u64; 7], u64) {
    let mut buckets = [0u64; 7];
    let mut open = 0;
    for d in durations {
        match d {
            Some(s) => {
                let i = HANDLING_BUCKETS
                    .iter()
                    .position(|b| s < *b)
                    .unwrap_or(HANDLING_BUCKETS.len());
                buckets[i] += 1;
            }
            None => open += 1,
        }
    }
    (buckets, open)
}

/// The `n` most frequent keys with their counts, most first (ties by key).
pub fn top_counts(keys: impl IntoIterator<Item = String>, n: usize) -> Vec<(String, u64)> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for k in keys {
        *counts.entry(k).or_default() += 1;
    }
    let mut v: Vec<_> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let d = summarise((1..=10).map(f64::from).collect());
        assert_eq!((d.count, d.median_s, d.p90_s), (10, Some(5.0), Some(9.0)));
        let d = summarise(vec![7.0]);
        assert_eq!((d.median_s, d.p90_s), (Some(7.0), Some(7.0)));
        assert_eq!(summarise(vec![]), Durations::default());
    }

    #[test]
    fn dashboard_aggregates() {
        use crate::taxonomy::Category;
        use time::macros::date;
        let rows = opened_per_day(
            [
                (date!(2026 - 12 - 01), Category::Vulnerability, 2),
                (date!(2026 - 11 - 29), Category::MaliciousResource, 1),
                (date!(2026 - 11 - 01), Category::Other, 1),
            ],
            date!(2026 - 12 - 01),
            3,
        );
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0], (date!(2026 - 11 - 29), [1, 0, 0, 0, 0]));
        assert_eq!(rows[1], (date!(2026 - 11 - 30), [0; 5]));
        assert_eq!(rows[2], (date!(2026 - 12 - 01), [0, 0, 2, 0, 0]));
        let (b, open) = handling_histogram([Some(10), Some(3_600), Some(900_000), None]);
        assert_eq!((b, open), ([1, 1, 0, 0, 0, 0, 1], 1));
        assert_eq!(
            top_counts(["b", "a", "b", "c", "a", "b"].map(String::from), 2),
            vec![("b".to_owned(), 3), ("a".to_owned(), 2)]
        );
    }
}
