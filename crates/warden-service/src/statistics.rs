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
    /// The dashboard's figures over the last `days` days, from what the caller may see: cases
    /// opened per day and category, time from decision to report-back, and overdue notices by
    /// province and by recipient; aggregated in the database.
    pub async fn dashboard(&self, actor: &Actor, days: u16) -> Result<Dashboard> {
        let now = self.now();
        let from = now - time::Duration::days(i64::from(days));
        let today = warden_core::calendar::shanghai_date(now);
        let mut opened_rows = vec![];
        if let Some(scope) = case_scope(actor) {
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
            opened_rows = self.store.cases_opened(&s).await?;
        }
        let mut figures = NoticeFigures::default();
        if let Some(scope) = measure_scope(actor) {
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
            figures = self.store.notice_figures(&s).await?;
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
        let (groups, as_of) = self.kept_timeliness(s, q.group_by).await?;
        Ok(TimelinessReport {
            group_by: q.group_by,
            from: q.from.map(rfc3339),
            to: q.to.map(rfc3339),
            groups: groups.as_ref().clone(),
            as_of: rfc3339(as_of),
        })
    }

    /// The figures for `s`: kept ones when they are current or young enough (then one
    /// recomputation starts in the background), else computed now.
    async fn kept_timeliness(
        &self,
        s: TimingScope,
        group_by: warden_core::stats::GroupBy,
    ) -> Result<(
        std::sync::Arc<Vec<warden_core::stats::Group>>,
        OffsetDateTime,
    )> {
        use crate::stats_cache::Kept;
        let key = format!("{s:?}/{group_by:?}");
        let (head, _) = self.store.audit_head().await?;
        let now = self.now();
        match self.stats_cache.get(&key, head, now) {
            Kept::Use {
                groups,
                as_of,
                refresh,
            } => {
                if refresh {
                    let (store, cache, clock) = (
                        self.store.clone(),
                        self.stats_cache.clone(),
                        self.clock.clone(),
                    );
                    tokio::spawn(async move {
                        let now = clock.now().to_offset(warden_core::calendar::SHANGHAI);
                        let head = match store.audit_head().await {
                            Ok((h, _)) => h,
                            Err(_) => return cache.failed(&key),
                        };
                        match store.timeliness(&s, group_by).await {
                            Ok(g) => cache.put(key, head, now, std::sync::Arc::new(g)),
                            Err(e) => {
                                tracing::warn!(error = %e, "recomputing timeliness figures");
                                cache.failed(&key);
                            }
                        }
                    });
                }
                Ok((groups, as_of))
            }
            Kept::Compute => {
                let groups = std::sync::Arc::new(self.store.timeliness(&s, group_by).await?);
                self.stats_cache.put(key, head, now, groups.clone());
                Ok((groups, now))
            }
        }
    }
}

/// The ten largest counts, most first (ties by key).
fn top(counts: impl Iterator<Item = (String, u64)>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = counts.collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(10);
    v
}
