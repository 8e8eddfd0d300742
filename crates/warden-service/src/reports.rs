//! Threat reports (Art. 6): submitted, correlated into an open case that shares an indicator
//! or opening one of their own, and self-handled reports (Art. 6, 11).

use crate::error::ServiceError;
use crate::proto::*;
use crate::service::{Idem, Result, Service};
use uuid::Uuid;
use warden_core::indicator::Indicator;
use warden_core::lifecycle::*;
use warden_core::org::{Actor, Province};
use warden_core::taxonomy::Classification;
use warden_store::{Changeset, Write};

/// An indicator as sent, parsed and normalised; errors name the field.
pub(crate) fn parse_indicator(field: String, i: &IndicatorInput) -> Result<Indicator> {
    let kind = i.kind.parse().map_err(|source| ServiceError::Indicator {
        field: format!("{field}.type"),
        source,
    })?;
    Indicator::parse(kind, &i.value).map_err(|source| ServiceError::Indicator { field, source })
}

impl Service {
    /// Parses and normalises what a reporter sent.
    pub(crate) fn report_content(req: ReportRequest) -> Result<ReportContent> {
        let classification = Classification::parse(&req.category, &req.subtype)?;
        let province = req
            .province
            .as_deref()
            .map(str::parse::<Province>)
            .transpose()?;
        let indicators = req
            .indicators
            .iter()
            .enumerate()
            .map(|(i, x)| parse_indicator(format!("indicators[{i}]"), x))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ReportContent {
            classification,
            title: req.title,
            description: req.description,
            observed_at: req.observed_at,
            province,
            tlp: req.tlp.unwrap_or(Tlp::Amber),
            indicators,
            victim: req.victim,
        })
    }

    pub async fn submit_self_report(
        &self,
        actor: &Actor,
        req: SelfReportRequest,
        idem: Option<Idem>,
    ) -> Result<SelfReportCreated> {
        let content = Self::report_content(req.report)?;
        self.once(idem, || async {
            let now = self.now();
            let out =
                Report::file_self_handled(actor, Uuid::now_v7(), content, req.actions_taken, now)?;
            let created = SelfReportCreated {
                id: out.next.id,
                status: "self_handled".into(),
            };
            let changes = Changeset::new(
                actor.clone(),
                now,
                vec![Write::Report {
                    report: out.next,
                    expected: None,
                }],
                out.events,
            );
            Ok((created, changes))
        })
        .await
    }

    pub async fn submit_report(
        &self,
        actor: &Actor,
        req: ReportRequest,
        idem: Option<Idem>,
    ) -> Result<ReportCreated> {
        let now = self.now();
        let mut content = Self::report_content(req)?;
        if let Some(slug) = content
            .victim
            .as_ref()
            .and_then(|v| v.supervising_org.clone())
        {
            self.org("victim.supervising_org", &slug).await?;
        }
        if let Some(slug) = content.victim.as_ref().and_then(|v| v.org.clone()) {
            self.org("victim.org", &slug).await?;
        }
        if content.province.is_none() {
            content.province = self.infer_province(&content.indicators);
        }
        let province = content.province;
        self.once(idem, || async {
            let mut report = Report::submit(actor, Uuid::now_v7(), content, None, now)?;
            // Correlation: the same normalised indicator in an open case makes this a sighting.
            if let Some(case_id) = self
                .store
                .open_case_matching(&report.content.indicators)
                .await?
                && let Some(case) = self.store.case(case_id).await?
            {
                let mut sighting = report.clone();
                sighting.case_id = Some(case_id);
                let cmd = CaseCommand::AddReport {
                    report: Box::new(sighting.clone()),
                };
                if let Ok(out) = case
                    .value
                    .apply(actor, cmd, self.ctx(now, case.value.province))
                {
                    let created = ReportCreated {
                        id: sighting.id,
                        case_id,
                        status: out.next.status.as_str().to_owned(),
                        correlated: true,
                        allowlist_flags: self.allowlist_flags(sighting.content.indicators.iter()),
                    };
                    let changes = Changeset::new(
                        actor.clone(),
                        now,
                        vec![
                            Write::Report {
                                report: sighting,
                                expected: None,
                            },
                            Write::Case {
                                case: out.next,
                                expected: Some(case.version),
                            },
                        ],
                        out.events,
                    );
                    return Ok((created, changes));
                }
                // A refused sighting (for instance the reporter holds the case for
                // determination) opens a case of its own instead.
            }
            let rules = self.policy.for_province(province);
            let institution = self
                .store
                .organisation_by_slug(&rules.default_institution)
                .await?
                .map(|o| o.value.org_ref());
            let out = Case::open(&mut report, Uuid::now_v7(), institution, now)?;
            let created = ReportCreated {
                id: report.id,
                case_id: out.next.id,
                status: out.next.status.as_str().to_owned(),
                correlated: false,
                allowlist_flags: self.allowlist_flags(report.content.indicators.iter()),
            };
            let changes = Changeset::new(
                actor.clone(),
                now,
                vec![
                    Write::Case {
                        case: out.next,
                        expected: None,
                    },
                    Write::Report {
                        report,
                        expected: None,
                    },
                ],
                out.events,
            );
            Ok((created, changes))
        })
        .await
    }

    pub async fn report(&self, actor: &Actor, id: Uuid) -> Result<ReportView> {
        let not_found = || ServiceError::NotFound(format!("report {id}"));
        let r = self.store.report(id).await?.ok_or_else(not_found)?;
        let case = match r.value.case_id {
            Some(c) => self.store.case(c).await?.map(|c| c.value),
            None => None,
        };
        if !can_view_report(actor, &r.value, case.as_ref()) {
            return Err(not_found());
        }
        Ok(ReportView {
            report: r.value,
            version: r.version,
        })
    }

    /// The indicators that hit the false-positive guards (as blocks with the default scope).
    pub fn allowlist_flags<'a>(
        &self,
        indicators: impl Iterator<Item = &'a Indicator>,
    ) -> Vec<AllowlistFlag> {
        let allow = self.blocklist.allowlist();
        indicators
            .filter_map(|i| {
                let hits = allow.check(
                    i,
                    warden_core::indicator::TargetScope::default_for(i.kind()),
                );
                (!hits.is_empty()).then(|| AllowlistFlag {
                    indicator: IndicatorInput {
                        kind: i.kind().as_str().into(),
                        value: i.value().into(),
                    },
                    hits,
                })
            })
            .collect()
    }
}
