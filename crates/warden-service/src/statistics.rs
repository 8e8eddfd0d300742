//! Timeliness (Art. 4): the dashboard's figures and the statistics by province,
//! organisation or category.

use crate::error::ServiceError;
use crate::filters::TimelinessFilter;
use crate::proto::*;
use crate::service::{Result, Service};
use time::OffsetDateTime;
use warden_core::lifecycle::*;
use warden_core::org::Actor;
use warden_core::taxonomy::Category;
use warden_store::{NoticeFigures, TimingScope};

/// A bound of the period as the caller gave it (offset kept).
fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl Service {
    /// The dashboard's figures over the last `days` days, from what the caller may see: cases
    /// opened per day and category, time from decision to report-back, and overdue notices by
    /// province and by recipient; aggregated in the database and kept between requests like
    /// the timeliness figures (`as_of` says when they were computed).
    pub async fn dashboard(&self, actor: &Actor, days: u16) -> Result<Dashboard> {
        let (cases, measures) = (case_scope(actor), measure_scope(actor));
        let key = format!("{cases:?}/{measures:?}/{days}");
        let store = self.store.clone();
        let (figures, _) = crate::stats_cache::kept(
            &self.dashboard_cache,
            &self.store,
            &self.clock,
            key,
            move |now| dashboard_figures(store.clone(), now, cases, measures, days),
        )
        .await?;
        Ok(figures.as_ref().clone())
    }

    pub async fn timeliness(&self, actor: &Actor, q: TimelinessFilter) -> Result<TimelinessReport> {
        let oversight = actor.org().is_some_and(|o| {
            o.org_type.is_authority() || o.org_type == warden_core::org::OrgType::Institution
        });
        let scope = case_scope(actor).filter(|_| oversight).ok_or_else(|| {
            ServiceError::Refused(Refusal {
                code: RefusalCode::Organisation,
                message:
                    "timeliness statistics are for the telecom authorities and the institutions"
                        .into(),
            })
        })?;
        let mut s = TimingScope {
            opened_from: q.from,
            opened_to: q.to,
            ..TimingScope::default()
        };
        match scope {
            CaseScope::All => {}
            CaseScope::Province(p) => {
                s.case_province = Some(p.to_string());
                s.measure_province = Some(p.to_string());
            }
            CaseScope::AssignedTo(id) | CaseScope::ReportedBy(id) => {
                s.case_assigned_to = Some(id);
                s.measure_determining_org = Some(id);
            }
        }
        let key = format!("{s:?}/{:?}", q.group_by);
        let (store, group_by) = (self.store.clone(), q.group_by);
        let (groups, as_of) = crate::stats_cache::kept(
            &self.stats_cache,
            &self.store,
            &self.clock,
            key,
            move |_| {
                let (store, s) = (store.clone(), s.clone());
                async move { Ok(store.timeliness(&s, group_by).await?) }
            },
        )
        .await?;
        Ok(TimelinessReport {
            group_by: q.group_by,
            from: q.from.map(rfc3339),
            to: q.to.map(rfc3339),
            groups: groups.as_ref().clone(),
            as_of: rfc3339(as_of),
        })
    }
}

/// The dashboard's figures at `now` for what the scopes select.
async fn dashboard_figures(
    store: std::sync::Arc<dyn warden_store::Store>,
    now: OffsetDateTime,
    cases: Option<CaseScope>,
    measures: Option<MeasureScope>,
    days: u16,
) -> Result<Dashboard> {
    let from = now - time::Duration::days(i64::from(days));
    let today = warden_core::calendar::shanghai_date(now);
    let mut opened_rows = vec![];
    if let Some(scope) = cases {
        let mut s = TimingScope {
            opened_from: Some(from),
            ..TimingScope::default()
        };
        match scope {
            CaseScope::All => {}
            CaseScope::Province(p) => s.case_province = Some(p.to_string()),
            CaseScope::AssignedTo(id) => s.case_assigned_to = Some(id),
            CaseScope::ReportedBy(id) => s.case_reporter = Some(id),
        }
        opened_rows = store.cases_opened(&s).await?;
    }
    let mut figures = NoticeFigures::default();
    if let Some(scope) = measures {
        let mut s = TimingScope {
            decided_from: Some(from),
            ..TimingScope::default()
        };
        match scope {
            MeasureScope::All => {}
            MeasureScope::Province(p) => s.measure_province = Some(p.to_string()),
            MeasureScope::Determiner(id) => s.measure_determining_org = Some(id),
            MeasureScope::Recipient(id) => s.measure_recipient = Some(id),
        }
        figures = store.notice_figures(&s).await?;
    }
    let epoch = time::Date::from_calendar_date(1970, time::Month::January, 1)
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let opened = warden_core::stats::opened_per_day(
        opened_rows.iter().map(|(day, category, n)| {
            (
                epoch + time::Duration::days(*day),
                category.parse::<Category>().unwrap_or(Category::Other),
                *n,
            )
        }),
        today,
        days,
    );
    Ok(Dashboard {
        cases: opened_rows.iter().map(|r| r.2).sum(),
        notices: figures.notices,
        opened,
        handling: figures.handling,
        awaiting_report: figures.awaiting_report,
        overdue_by_province: top(figures
            .overdue_by_province
            .into_iter()
            .map(|(p, n)| (p.unwrap_or_else(|| "—".into()), n))),
        overdue_by_org: top(figures.overdue_by_org.into_iter()),
        as_of: now,
    })
}

/// The ten largest counts, most first (ties by key).
fn top(counts: impl Iterator<Item = (String, u64)>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = counts.collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(10);
    v
}
