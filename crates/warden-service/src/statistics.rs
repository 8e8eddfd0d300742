//! Timeliness (Art. 4): the dashboard's figures and the statistics by province,
//! organisation or category.

use crate::error::ServiceError;
use crate::filters::TimelinessFilter;
use crate::proto::*;
use crate::service::{Result, Service};
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::lifecycle::*;
use warden_core::org::Actor;
use warden_store::CaseFilter;

/// The figures of the console's dashboard.
pub struct Dashboard {
    pub cases: u64,
    pub notices: u64,
    pub opened: Vec<(time::Date, [u64; 5])>,
    /// Decision → first report-back, in `warden_core::stats::HANDLING_BUCKETS` and beyond.
    pub handling: [u64; 7],
    pub awaiting_report: u64,
    pub overdue_by_province: Vec<(String, u64)>,
    pub overdue_by_org: Vec<(String, u64)>,
}

/// A bound of the period as the caller gave it (offset kept).
fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl Service {
    /// Every case that `f` selects, page by page.
    pub(crate) async fn all_cases(&self, f: &CaseFilter) -> Result<Vec<Case>> {
        let mut out = vec![];
        let mut cursor: Option<String> = None;
        loop {
            let page = self.store.cases(f, 1000, cursor.as_deref()).await?;
            out.extend(page.items.into_iter().map(|c| c.value));
            match page.next {
                Some(n) => cursor = Some(n),
                None => return Ok(out),
            }
        }
    }

    /// Every measure that `f` selects, page by page.
    pub(crate) async fn all_measures(
        &self,
        f: &warden_store::MeasureFilter,
    ) -> Result<Vec<Measure>> {
        let mut out = vec![];
        let mut cursor: Option<String> = None;
        loop {
            let page = self.store.measures(f, 1000, cursor.as_deref()).await?;
            out.extend(page.items.into_iter().map(|m| m.value));
            match page.next {
                Some(n) => cursor = Some(n),
                None => return Ok(out),
            }
        }
    }

    /// The dashboard's figures over the last `days` days, from what the caller may see: cases
    /// opened per day and category, time from decision to report-back, and overdue notices by
    /// province and by recipient.
    pub async fn dashboard(&self, actor: &Actor, days: u16) -> Result<Dashboard> {
        let now = self.now();
        let from = now - time::Duration::days(i64::from(days));
        let mut cf = CaseFilter {
            opened_from: Some(from),
            ..CaseFilter::default()
        };
        let cases = match case_scope(actor) {
            None => vec![],
            Some(scope) => {
                match scope {
                    CaseScope::All => {}
                    CaseScope::Province(p) => cf.province = Some(p.to_string()),
                    CaseScope::AssignedTo(id) => cf.assigned_to = Some(id),
                    CaseScope::ReportedBy(id) => cf.reporter_org = Some(id),
                }
                self.all_cases(&cf).await?
            }
        };
        let mut mf = warden_store::MeasureFilter {
            decided_from: Some(from),
            ..Default::default()
        };
        let measures = match measure_scope(actor) {
            None => vec![],
            Some(scope) => {
                match scope {
                    MeasureScope::All => {}
                    MeasureScope::Province(p) => mf.province = Some(p.to_string()),
                    MeasureScope::Determiner(id) => mf.determining_org = Some(id),
                    MeasureScope::Recipient(id) => mf.recipient_org = Some(id),
                }
                self.all_measures(&mf).await?
            }
        };
        let today = warden_core::calendar::shanghai_date(now);
        let opened = warden_core::stats::opened_per_day(
            cases
                .iter()
                .map(|c| (c.opened_at, c.classification.category)),
            today,
            days,
        );
        let (handling, open) = warden_core::stats::handling_histogram(measures.iter().map(|m| {
            m.feedback
                .first()
                .map(|f| (f.filed_at - m.decided_at).whole_seconds())
        }));
        let overdue = || measures.iter().filter(|m| m.overdue);
        Ok(Dashboard {
            cases: cases.len() as u64,
            notices: measures.len() as u64,
            opened,
            handling,
            awaiting_report: open,
            overdue_by_province: warden_core::stats::top_counts(
                overdue().map(|m| {
                    m.province
                        .map(|p| p.to_string())
                        .unwrap_or_else(|| "—".into())
                }),
                10,
            ),
            overdue_by_org: warden_core::stats::top_counts(
                overdue().map(|m| m.recipient.slug.clone()),
                10,
            ),
        })
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
        let mut cf = CaseFilter {
            opened_from: q.from,
            opened_to: q.to,
            ..CaseFilter::default()
        };
        let mut mf = warden_store::MeasureFilter::default();
        match scope {
            CaseScope::All => {}
            CaseScope::Province(p) => {
                cf.province = Some(p.to_string());
                mf.province = Some(p.to_string());
            }
            CaseScope::AssignedTo(id) | CaseScope::ReportedBy(id) => {
                cf.assigned_to = Some(id);
                mf.determining_org = Some(id);
            }
        }
        let cases = self.all_cases(&cf).await?;
        let ids: std::collections::HashSet<Uuid> = cases.iter().map(|c| c.id).collect();
        let mut measures = self.all_measures(&mf).await?;
        measures.retain(|m| ids.contains(&m.case_id));
        Ok(TimelinessReport {
            group_by: q.group_by,
            from: q.from.map(rfc3339),
            to: q.to.map(rfc3339),
            groups: warden_core::stats::timeliness(&cases, &measures, q.group_by),
        })
    }
}
