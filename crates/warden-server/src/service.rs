//! The operations behind the API: read, call the core transition, commit with its audit
//! records. Handlers only extract and respond; permissions are the core's.

use crate::error::ApiError;
use crate::types::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::calendar::Calendar;
use warden_core::clock::Clock;
use warden_core::indicator::Indicator;
use warden_core::lifecycle::*;
use warden_core::notice::{NoticeBody, NoticeType, SignedNotice};
use warden_core::org::{Actor, OrgRef, Organisation, Province};
use warden_core::policy::Policy;
use warden_core::taxonomy::Classification;
use warden_store::{
    CaseFilter, Changeset, CommitOutcome, IdempotencyClaim, Store, Versioned, Write,
};

pub struct Service {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub calendar: Arc<Calendar>,
    pub policy: Arc<Policy>,
    pub keys: Arc<crate::keys::KeyRing>,
    /// Present when the server runs on a simulated clock (training, tests).
    pub simulated: Option<Arc<warden_core::clock::SimulatedClock>>,
    /// The matcher over listed blocks and the allow-lists.
    pub blocklist: Arc<crate::blocklist::Blocklist>,
    /// Who holds which resources (attribution and routing).
    pub registry: Arc<crate::registry::Registry>,
}

/// Query parameters of `GET /api/v1/notices`.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NoticesQuery {
    pub status: Option<String>,
    pub overdue: Option<bool>,
    pub province: Option<String>,
    /// The category of the case.
    pub category: Option<String>,
    /// Decided at or after (RFC 3339).
    pub from: Option<String>,
    /// Decided before (RFC 3339).
    pub to: Option<String>,
    /// Slug of the recipient organisation.
    pub recipient: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The `Idempotency-Key` of a write, scoped to its caller and bound to its request.
#[derive(Debug, Clone)]
pub struct Idem {
    pub scope: String,
    pub key: String,
    pub request_hash: String,
}

/// Query parameters of `GET /api/v1/cases`.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CasesQuery {
    pub status: Option<String>,
    pub category: Option<String>,
    pub province: Option<String>,
    /// Slug of a reporting organisation.
    pub org: Option<String>,
    /// Slug of the institution the case is assigned to.
    pub assigned_to: Option<String>,
    /// Opened at or after (RFC 3339).
    pub from: Option<String>,
    /// Opened before (RFC 3339).
    pub to: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

fn parse_indicator(field: String, i: &IndicatorInput) -> Result<Indicator, ApiError> {
    let kind = i.kind.parse().map_err(|source| ApiError::Indicator {
        field: format!("{field}.type"),
        source,
    })?;
    Indicator::parse(kind, &i.value).map_err(|source| ApiError::Indicator { field, source })
}

/// The page size a list request asked for: 50 unless said, at most 500.
fn page_limit(asked: Option<u32>) -> Result<u32, ApiError> {
    let limit = asked.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::InvalidQuery("limit: from 1 to 500".into()));
    }
    Ok(limit)
}

/// A cursor the store did not recognise is the caller's mistake, not a missing object.
fn cursor_error(e: warden_store::StoreError) -> ApiError {
    match e {
        warden_store::StoreError::NotFound { kind: "cursor", .. } => {
            ApiError::InvalidQuery("cursor: not one this server issued".into())
        }
        other => other.into(),
    }
}

/// The optional `from`/`to` bounds of a list query.
type Range = (Option<OffsetDateTime>, Option<OffsetDateTime>);

fn time_range(from: Option<&str>, to: Option<&str>) -> Result<Range, ApiError> {
    Ok((
        from.map(|s| parse_time("from", s)).transpose()?,
        to.map(|s| parse_time("to", s)).transpose()?,
    ))
}

/// Refuses a province filter that is not a GB/T 2260 code.
fn check_province(p: Option<&str>) -> Result<(), ApiError> {
    if let Some(p) = p {
        p.parse::<Province>()?;
    }
    Ok(())
}

fn parse_time(field: &str, s: &str) -> Result<OffsetDateTime, ApiError> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).map_err(|_| {
        ApiError::InvalidQuery(format!(
            "{field}: {s:?} is not an RFC 3339 time like 2026-09-28T10:00:00+08:00"
        ))
    })
}

impl Service {
    /// Times in the API are given in Asia/Shanghai, where the measures' deadlines are defined.
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now().to_offset(warden_core::calendar::SHANGHAI)
    }

    fn ctx(&self, now: OffsetDateTime, province: Option<Province>) -> Context<'_> {
        Context {
            now,
            calendar: &self.calendar,
            rules: self.policy.for_province(province),
        }
    }

    pub(crate) async fn org(&self, field: &str, slug: &str) -> Result<Organisation, ApiError> {
        self.store
            .organisation_by_slug(slug)
            .await?
            .map(|o| o.value)
            .ok_or_else(|| ApiError::UnknownOrganisation {
                field: field.to_owned(),
                slug: slug.to_owned(),
            })
    }

    /// Runs a write once per idempotency key: a retry gets the first response back.
    pub(crate) async fn once<T, F, Fut>(&self, idem: Option<Idem>, build: F) -> Result<T, ApiError>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(T, Changeset), ApiError>>,
    {
        if let Some(i) = &idem
            && let Some(stored) = self
                .store
                .idempotent_response(&i.scope, &i.key, &i.request_hash)
                .await?
        {
            return serde_json::from_value(stored)
                .map_err(|e| ApiError::InvalidBody(format!("stored response unreadable: {e}")));
        }
        let (response, mut changes) = build().await?;
        changes.request_id = crate::current_request_id();
        if let Some(i) = idem {
            changes.idempotency = Some(IdempotencyClaim {
                scope: i.scope,
                key: i.key,
                request_hash: i.request_hash,
                response: serde_json::to_value(&response)
                    .map_err(|e| ApiError::InvalidBody(e.to_string()))?,
            });
        }
        // Only block measures are listed: other measure writes cannot change the blocklist.
        let touches_blocks = changes
            .writes
            .iter()
            .any(|w| matches!(w, Write::Measure { measure, .. } if measure.block.is_some()));
        let touches_allowlist = changes
            .writes
            .iter()
            .any(|w| matches!(w, Write::AllowlistEntry { .. }));
        let touches_registry = changes
            .writes
            .iter()
            .any(|w| matches!(w, Write::ResourceClaim { .. }));
        match self.store.commit(changes).await? {
            CommitOutcome::Applied { .. } => {
                self.after_commit(touches_blocks, touches_allowlist).await;
                if touches_registry && let Err(e) = self.registry.reload(self.store.as_ref()).await
                {
                    tracing::warn!(error = %e, "registry reload failed; the poll will retry");
                }
                Ok(response)
            }
            CommitOutcome::Replayed { response } => serde_json::from_value(response)
                .map_err(|e| ApiError::InvalidBody(format!("stored response unreadable: {e}"))),
        }
    }

    /// This server's own writes show in its lookups and exports before it answers; other
    /// servers see them at their next poll.
    pub async fn after_commit(&self, blocks: bool, allowlist: bool) {
        if blocks && let Err(e) = self.blocklist.sync(&self.store).await {
            tracing::warn!(error = %e, "blocklist sync after commit failed; the poll will retry");
        }
        if allowlist && let Err(e) = self.blocklist.reload_allowlist(self.store.as_ref()).await {
            tracing::warn!(error = %e, "allow-list reload failed");
        }
    }

    async fn visible_case(&self, actor: &Actor, id: Uuid) -> Result<Versioned<Case>, ApiError> {
        match self.store.case(id).await? {
            Some(c) if can_view_case(actor, &c.value) => Ok(c),
            // Existence is not revealed to those who may not see it.
            _ => Err(ApiError::NotFound(format!("case {id}"))),
        }
    }

    /// Parses and normalises what a reporter sent.
    fn report_content(req: ReportRequest) -> Result<ReportContent, ApiError> {
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
    ) -> Result<SelfReportCreated, ApiError> {
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
    ) -> Result<ReportCreated, ApiError> {
        let now = self.now();
        let mut content = Self::report_content(req)?;
        if let Some(slug) = content
            .victim
            .as_ref()
            .and_then(|v| v.supervising_org.clone())
        {
            self.org("victim.supervising_org", &slug).await?;
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

    pub async fn report(&self, actor: &Actor, id: Uuid) -> Result<ReportView, ApiError> {
        let not_found = || ApiError::NotFound(format!("report {id}"));
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

    pub async fn case(&self, actor: &Actor, id: Uuid) -> Result<CaseView, ApiError> {
        let c = self.visible_case(actor, id).await?;
        let case = self.as_seen_by(actor, c.value).await?;
        let flags = self.allowlist_flags(case.indicators.iter());
        let mut view = CaseView::new(case, c.version);
        view.allowlist_flags = flags;
        Ok(view)
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

    /// Insiders see the whole case; a reporter sees its progress and its own reports' part.
    async fn as_seen_by(&self, actor: &Actor, case: Case) -> Result<Case, ApiError> {
        if case_insider(actor, &case) {
            return Ok(case);
        }
        let Some(org) = actor.org() else {
            return Ok(case);
        };
        let reports = self.store.reports_of_case(case.id).await?;
        let own: Vec<&Report> = reports
            .iter()
            .map(|r| &r.value)
            .filter(|r| r.reporter.id == org.id)
            .collect();
        Ok(case_for_reporter(&case, &own))
    }

    pub async fn cases(&self, actor: &Actor, q: CasesQuery) -> Result<CaseList, ApiError> {
        let empty = CaseList {
            items: vec![],
            next: None,
        };
        let Some(scope) = case_scope(actor) else {
            return Ok(empty);
        };
        check_province(q.province.as_deref())?;
        let (opened_from, opened_to) = time_range(q.from.as_deref(), q.to.as_deref())?;
        let mut f = CaseFilter {
            status: q.status,
            category: q.category,
            province: q.province,
            opened_from,
            opened_to,
            ..CaseFilter::default()
        };
        if let Some(s) = &q.org {
            f.reporter_org = Some(self.org("org", s).await?.id);
        }
        if let Some(s) = &q.assigned_to {
            f.assigned_to = Some(self.org("assigned_to", s).await?.id);
        }
        // The caller's scope narrows whatever was asked; a contradiction is an empty list.
        match scope {
            CaseScope::All => {}
            CaseScope::Province(p) => {
                if f.province.as_deref().is_some_and(|q| q != p.to_string()) {
                    return Ok(empty);
                }
                f.province = Some(p.to_string());
            }
            CaseScope::AssignedTo(id) => {
                if f.assigned_to.is_some_and(|a| a != id) {
                    return Ok(empty);
                }
                f.assigned_to = Some(id);
            }
            CaseScope::ReportedBy(id) => {
                if f.reporter_org.is_some_and(|a| a != id) {
                    return Ok(empty);
                }
                f.reporter_org = Some(id);
            }
        }
        let limit = page_limit(q.limit)?;
        let page = self
            .store
            .cases(&f, limit, q.cursor.as_deref())
            .await
            .map_err(cursor_error)?;
        let mut items = Vec::with_capacity(page.items.len());
        for c in page.items {
            let case = self.as_seen_by(actor, c.value).await?;
            items.push(CaseView::new(case, c.version));
        }
        Ok(CaseList {
            items,
            next: page.next,
        })
    }

    /// Applies a case command and commits it; measures a decision issues are written too.
    async fn case_transition(
        &self,
        actor: &Actor,
        id: Uuid,
        cmd: CaseCommand,
    ) -> Result<(CaseOutcome, Changeset), ApiError> {
        let now = self.now();
        // Telecom authorities learn why they may not act (jurisdiction); others cannot tell
        // a case they may not see from one that does not exist.
        let case = match self.store.case(id).await? {
            Some(c)
                if can_view_case(actor, &c.value)
                    || actor.org().is_some_and(|o| o.org_type.is_authority()) =>
            {
                c
            }
            _ => return Err(ApiError::NotFound(format!("case {id}"))),
        };
        let out = case
            .value
            .apply(actor, cmd, self.ctx(now, case.value.province))?;
        let mut writes = vec![Write::Case {
            case: out.next.clone(),
            expected: Some(case.version),
        }];
        writes.extend(out.measures.iter().map(|m| Write::Measure {
            measure: m.clone(),
            expected: None,
        }));
        let changes = Changeset::new(actor.clone(), now, writes, out.events.clone());
        Ok((out, changes))
    }

    fn status(out: &CaseOutcome, version: i64) -> CaseStatusResponse {
        CaseStatusResponse {
            case_id: out.next.id,
            status: out.next.status.as_str().to_owned(),
            version,
        }
    }

    pub async fn assign(
        &self,
        actor: &Actor,
        id: Uuid,
        req: AssignmentRequest,
        idem: Option<Idem>,
    ) -> Result<CaseStatusResponse, ApiError> {
        let institution = self.org("institution", &req.institution).await?.org_ref();
        self.case_step(actor, id, CaseCommand::Assign { institution }, idem)
            .await
    }

    /// One case transition, committed once per idempotency key; answers the new status.
    async fn case_step(
        &self,
        actor: &Actor,
        id: Uuid,
        cmd: CaseCommand,
        idem: Option<Idem>,
    ) -> Result<CaseStatusResponse, ApiError> {
        self.once(idem, || async {
            let (out, changes) = self.case_transition(actor, id, cmd).await?;
            let version = self.version_after(&changes);
            Ok((Self::status(&out, version), changes))
        })
        .await
    }

    /// Art. 8(3) for a Party/government or CII victim when the decision names no one: its
    /// superior unit (if the report named it) and the cyberspace administration (the one in
    /// the case's province, else the national one). The core still refuses what is missing.
    async fn art_8_3_recipients(&self, case: &Case) -> Result<Vec<OrgRef>, ApiError> {
        let Some(victim) = case
            .victim
            .as_ref()
            .filter(|v| v.kind.needs_extra_notices())
        else {
            return Ok(vec![]);
        };
        let mut out = vec![];
        if let Some(slug) = &victim.supervising_org
            && let Some(o) = self.store.organisation_by_slug(slug).await?
        {
            out.push(o.value.org_ref());
        }
        let cacs: Vec<Organisation> = self
            .store
            .organisations()
            .await?
            .into_iter()
            .map(|o| o.value)
            .filter(|o| o.org_type == warden_core::org::OrgType::CyberspaceAdmin)
            .collect();
        let local = cacs
            .iter()
            .find(|o| case.province.is_some() && o.province == case.province);
        if let Some(c) = local.or(cacs.first()) {
            out.push(c.org_ref());
        }
        Ok(out)
    }

    pub async fn refer(
        &self,
        actor: &Actor,
        id: Uuid,
        req: ReferralRequest,
        idem: Option<Idem>,
    ) -> Result<CaseStatusResponse, ApiError> {
        let to = req.to.as_deref().map(str::parse::<Province>).transpose()?;
        let cmd = CaseCommand::Refer {
            to,
            reasons: req.reasons,
        };
        self.case_step(actor, id, cmd, idem).await
    }

    fn version_after(&self, changes: &Changeset) -> i64 {
        changes
            .writes
            .iter()
            .find_map(|w| match w {
                Write::Case {
                    expected: Some(v), ..
                } => Some(v + 1),
                _ => None,
            })
            .unwrap_or(1)
    }

    pub async fn determine(
        &self,
        actor: &Actor,
        id: Uuid,
        req: DeterminationRequest,
        idem: Option<Idem>,
    ) -> Result<CaseStatusResponse, ApiError> {
        let recommended_measures = req
            .recommended_measures
            .iter()
            .enumerate()
            .map(|(i, m)| {
                Ok(RecommendedMeasure {
                    kind: m.kind,
                    target: m
                        .target
                        .as_ref()
                        .map(|t| parse_indicator(format!("recommended_measures[{i}].target"), t))
                        .transpose()?,
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        let cmd = CaseCommand::Determine {
            verdict: req.verdict,
            severity: req.severity,
            incident_level: req.incident_level,
            rationale: req.rationale,
            recommended_measures,
        };
        self.case_step(actor, id, cmd, idem).await
    }

    pub async fn decide(
        &self,
        actor: &Actor,
        id: Uuid,
        req: DecisionRequest,
        idem: Option<Idem>,
    ) -> Result<DecisionResponse, ApiError> {
        // The case, read once, when routing or Art. 8(3) needs it.
        let needs_case = req.measures.iter().any(|m| m.recipient_org.is_none())
            || (req.notify.is_empty()
                && req
                    .measures
                    .iter()
                    .any(|m| m.kind == MeasureKind::Remediate));
        let case = if needs_case {
            self.store.case(id).await?.map(|c| c.value)
        } else {
            None
        };
        let mut specs = Vec::with_capacity(req.measures.len());
        for (i, m) in req.measures.iter().enumerate() {
            let target = m
                .target
                .as_ref()
                .map(|t| parse_indicator(format!("measures[{i}].target"), t))
                .transpose()?;
            let recipients = match &m.recipient_org {
                Some(slug) => vec![
                    self.org(&format!("measures[{i}].recipient_org"), slug)
                        .await?
                        .org_ref(),
                ],
                None => {
                    let province = case.as_ref().and_then(|c| c.province);
                    self.route(&format!("measures[{i}]"), m.kind, target.as_ref(), province)
                        .await?
                }
            };
            let range_last = m
                .range_last
                .as_deref()
                .map(|r| {
                    Indicator::parse(warden_core::indicator::IndicatorType::Phone, r).map_err(
                        |source| ApiError::Indicator {
                            field: format!("measures[{i}].range_last"),
                            source,
                        },
                    )
                })
                .transpose()?;
            // The false-positive guards: the core refuses a block on a hit without a reason.
            let allowlist_hits = match (&target, m.kind) {
                (Some(t), MeasureKind::Block) => {
                    let scope = m
                        .scope
                        .unwrap_or(warden_core::indicator::TargetScope::default_for(t.kind()));
                    self.blocklist.allowlist().check(t, scope)
                }
                _ => vec![],
            };
            // A routed URL block may go to several operators: one measure (and notice) each.
            for recipient in recipients {
                specs.push(MeasureSpec {
                    id: Uuid::now_v7(),
                    notice_id: Uuid::now_v7(),
                    kind: m.kind,
                    target: target.clone(),
                    recipient,
                    deadline: m.deadline,
                    scope: m.scope,
                    range_last: range_last.clone(),
                    allowlist_hits: allowlist_hits.clone(),
                    allowlist_override: m.allowlist_override.clone(),
                });
            }
        }
        let mut notify: Vec<OrgRef> = vec![];
        for (i, slug) in req.notify.iter().enumerate() {
            notify.push(self.org(&format!("notify[{i}]"), slug).await?.org_ref());
        }
        if notify.is_empty()
            && specs.iter().any(|m| m.kind == MeasureKind::Remediate)
            && let Some(case) = &case
        {
            notify = self.art_8_3_recipients(case).await?;
        }
        let cmd = CaseCommand::Decide {
            outcome: req.outcome,
            reasons: req.reasons,
            measures: specs,
            notify,
        };
        self.once(idem, || async {
            let (out, mut changes) = self.case_transition(actor, id, cmd).await?;
            let mut notifications = vec![];
            let notified = out
                .next
                .decision
                .as_ref()
                .map(|d| d.notified.clone())
                .unwrap_or_default();
            for m in &out.measures {
                let (notice, recipient_org_id) = self
                    .sign_notice(m, m.notice_id, NoticeType::Measure, None, changes.at)
                    .await?;
                changes.writes.push(Write::Notice {
                    notice,
                    recipient_org_id,
                });
                if m.kind != MeasureKind::Remediate {
                    continue;
                }
                // Art. 8(3): the victim's superior unit and the cyberspace administration
                // receive a signed notification of the remediation.
                for org in &notified {
                    let nid = Uuid::now_v7();
                    let reasons = format!(
                        "Notified under Art. 8(3): {} must remediate by {}.",
                        m.recipient.slug,
                        m.deadline_rfc3339()
                    );
                    let (notice, org_id) = self
                        .sign_notification(m, nid, org, reasons, changes.at)
                        .await?;
                    changes.writes.push(Write::Notice {
                        notice,
                        recipient_org_id: org_id,
                    });
                    notifications.push(IssuedNotification {
                        notice_id: nid,
                        measure_id: m.id,
                        org: org.slug.clone(),
                    });
                }
            }
            let response = DecisionResponse {
                case_id: out.next.id,
                status: out.next.status.as_str().to_owned(),
                policy_version: self.policy.for_province(out.next.province).version.clone(),
                measures: out
                    .measures
                    .iter()
                    .map(|m| IssuedMeasure {
                        id: m.id,
                        notice_id: m.notice_id,
                        recipient_org: m.recipient.slug.clone(),
                        deadline: m.deadline,
                        deadline_provisional: m.deadline_provisional,
                    })
                    .collect(),
                notifications,
            };
            Ok((response, changes))
        })
        .await
    }
}

impl Service {
    /// Builds and signs the notice of `m` in the deciding authority's name.
    async fn sign_notice(
        &self,
        m: &Measure,
        notice_id: Uuid,
        notice_type: NoticeType,
        reasons: Option<String>,
        now: OffsetDateTime,
    ) -> Result<(SignedNotice, Uuid), ApiError> {
        let recipient = self.org("recipient", &m.recipient.slug).await?;
        let issuer = self.org("issuer", &m.deciding_org.slug).await?;
        let body = NoticeBody::for_measure(
            notice_id,
            notice_type,
            m,
            (&recipient.name, &issuer.name),
            self.ctx(now, m.province),
            reasons,
        );
        let (key_id, key) = self.keys.signer(self.store.as_ref(), &issuer).await?;
        let signature = warden_core::notice::sign(&body, &key_id, &key);
        Ok((
            SignedNotice {
                id: notice_id,
                measure_id: m.id,
                recipient_org: m.recipient.slug.clone(),
                body,
                signature,
            },
            recipient.id,
        ))
    }

    /// An Art. 8(3) notification of `m` to `to`, signed by the deciding authority.
    async fn sign_notification(
        &self,
        m: &Measure,
        notice_id: Uuid,
        to: &OrgRef,
        reasons: String,
        now: OffsetDateTime,
    ) -> Result<(SignedNotice, Uuid), ApiError> {
        let target = self.org("notify", &to.slug).await?;
        let issuer = self.org("issuer", &m.deciding_org.slug).await?;
        let mut body = NoticeBody::for_measure(
            notice_id,
            NoticeType::Notification,
            m,
            (&target.name, &issuer.name),
            self.ctx(now, m.province),
            Some(reasons),
        );
        body.recipient = warden_core::notice::Party {
            slug: target.slug.clone(),
            name: target.name.clone(),
        };
        let (key_id, key) = self.keys.signer(self.store.as_ref(), &issuer).await?;
        let signature = warden_core::notice::sign(&body, &key_id, &key);
        Ok((
            SignedNotice {
                id: notice_id,
                measure_id: m.id,
                recipient_org: target.slug.clone(),
                body,
                signature,
            },
            target.id,
        ))
    }

    async fn notice_and_measure(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<(SignedNotice, Versioned<Measure>), ApiError> {
        let not_found = || ApiError::NotFound(format!("notice {id}"));
        let n = self.store.notice(id).await?.ok_or_else(not_found)?;
        let m = self
            .store
            .measure(n.measure_id)
            .await?
            .ok_or_else(not_found)?;
        if !can_view_notice(actor, &n.recipient_org, &m.value) {
            return Err(not_found());
        }
        Ok((n, m))
    }

    pub async fn notice(&self, actor: &Actor, id: Uuid) -> Result<NoticeView, ApiError> {
        let (n, mut m) = self.notice_and_measure(actor, id).await?;
        // The recipient's first fetch of the order is its delivery receipt.
        let is_recipient = actor.org().is_some_and(|o| o.id == m.value.recipient.id);
        if is_recipient && m.value.status == NoticeStatus::Issued && n.id == m.value.notice_id {
            let now = self.now();
            if let Ok(out) = m.value.apply(actor, MeasureCommand::Deliver, now) {
                let changes = Changeset {
                    actor: actor.clone(),
                    at: now,
                    writes: vec![Write::Measure {
                        measure: out.next.clone(),
                        expected: Some(m.version),
                    }],
                    events: out.events,
                    idempotency: None,
                    request_id: crate::current_request_id(),
                };
                match self.store.commit(changes).await {
                    Ok(_) => {
                        m.value = out.next;
                        m.version += 1;
                    }
                    // Someone else moved it first: their state stands.
                    Err(warden_store::StoreError::Conflict { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(NoticeView {
            notice: n,
            status: m.value.status.as_str().to_owned(),
            overdue: m.value.overdue,
        })
    }

    pub async fn notices(&self, actor: &Actor, q: NoticesQuery) -> Result<NoticeList, ApiError> {
        let empty = NoticeList {
            items: vec![],
            next: None,
        };
        let Some(scope) = measure_scope(actor) else {
            return Ok(empty);
        };
        check_province(q.province.as_deref())?;
        let (decided_from, decided_to) = time_range(q.from.as_deref(), q.to.as_deref())?;
        let mut f = warden_store::MeasureFilter {
            status: q.status,
            overdue: q.overdue,
            province: q.province,
            category: q.category,
            decided_from,
            decided_to,
            ..Default::default()
        };
        if let Some(r) = &q.recipient {
            f.recipient_org = Some(self.org("recipient", r).await?.id);
        }
        match scope {
            MeasureScope::All => {}
            MeasureScope::Province(p) => {
                if f.province.as_deref().is_some_and(|q| q != p.to_string()) {
                    return Ok(empty);
                }
                f.province = Some(p.to_string());
            }
            MeasureScope::Determiner(id) => f.determining_org = Some(id),
            MeasureScope::Recipient(id) => {
                if f.recipient_org.is_some_and(|r| r != id) {
                    return Ok(empty);
                }
                f.recipient_org = Some(id);
            }
        }
        let limit = page_limit(q.limit)?;
        let page = self
            .store
            .measures(&f, limit, q.cursor.as_deref())
            .await
            .map_err(cursor_error)?;
        Ok(NoticeList {
            items: page
                .items
                .into_iter()
                .map(|m| notice_summary(m.value))
                .collect(),
            next: page.next,
        })
    }

    /// The measures of a case the caller may see, as notice lines (the case page).
    pub async fn case_notices(
        &self,
        actor: &Actor,
        case_id: Uuid,
    ) -> Result<Vec<NoticeSummary>, ApiError> {
        self.visible_case(actor, case_id).await?;
        Ok(self
            .store
            .measures_of_case(case_id)
            .await?
            .into_iter()
            .filter(|m| can_view_notice(actor, &m.value.recipient.slug, &m.value))
            .map(|m| notice_summary(m.value))
            .collect())
    }

    /// A case's states over time (the case page's timeline): when it reached each status.
    pub async fn case_timeline(
        &self,
        actor: &Actor,
        case_id: Uuid,
    ) -> Result<Vec<(OffsetDateTime, CaseStatus)>, ApiError> {
        self.visible_case(actor, case_id).await?;
        let mut out: Vec<(OffsetDateTime, CaseStatus)> = vec![];
        for v in self.store.history("case", case_id).await? {
            let Ok(c) = serde_json::from_value::<Case>(v.body) else {
                continue;
            };
            if out.last().is_none_or(|(_, s)| *s != c.status) {
                out.push((v.at, c.status));
            }
        }
        Ok(out)
    }

    /// Applies a measure command reached through one of its notices.
    pub async fn notice_step(
        &self,
        actor: &Actor,
        notice_id: Uuid,
        cmd: MeasureCommand,
        idem: Option<Idem>,
    ) -> Result<NoticeStatusResponse, ApiError> {
        self.once(idem, || async {
            let now = self.now();
            let (n, m) = self.notice_and_measure(actor, notice_id).await?;
            let out = m.value.apply(actor, cmd, now)?;
            let response = NoticeStatusResponse {
                id: n.id,
                measure_id: m.value.id,
                status: out.next.status.as_str().to_owned(),
                overdue: out.next.overdue,
            };
            let changes = Changeset::new(
                actor.clone(),
                now,
                vec![Write::Measure {
                    measure: out.next,
                    expected: Some(m.version),
                }],
                out.events,
            );
            Ok((response, changes))
        })
        .await
    }
}

impl Service {
    pub async fn file_appeal(
        &self,
        actor: &Actor,
        measure: Option<Uuid>,
        reference: Option<&str>,
        req: AppealRequest,
        idem: Option<Idem>,
    ) -> Result<AppealCreated, ApiError> {
        let m = match (measure, reference) {
            (Some(id), _) => self.store.measure(id).await?,
            (None, Some(r)) => self.store.measure_by_reference(r.trim()).await?,
            (None, None) => None,
        };
        let m = m.ok_or_else(|| {
            ApiError::NotFound(match (measure, reference) {
                (Some(id), _) => format!("measure {id}"),
                (_, r) => format!("a measure with reference {:?}", r.unwrap_or_default()),
            })
        })?;
        self.once(idem, || async {
            let now = self.now();
            let out = Appeal::file(
                actor,
                Uuid::now_v7(),
                &m.value,
                req.appellant,
                req.grounds,
                self.ctx(now, m.value.province),
            )?;
            let a = &out.next;
            let response = AppealCreated {
                id: a.id,
                measure_id: a.measure_id,
                reference: warden_core::notice::reference_number(&m.value),
                status: a.status.as_str().to_owned(),
                reply_due: a.reply_due,
                reply_due_provisional: a.reply_due_provisional,
            };
            let changes = Changeset::new(
                actor.clone(),
                now,
                vec![Write::Appeal {
                    appeal: out.next,
                    expected: None,
                }],
                out.events,
            );
            Ok((response, changes))
        })
        .await
    }

    async fn appeal_and_measure(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<(Versioned<Appeal>, Versioned<Measure>), ApiError> {
        let not_found = || ApiError::NotFound(format!("appeal {id}"));
        let a = self.store.appeal(id).await?.ok_or_else(not_found)?;
        let m = self
            .store
            .measure(a.value.measure_id)
            .await?
            .ok_or_else(not_found)?;
        let authority = actor.org().is_some_and(|o| o.org_type.is_authority());
        if !(can_view_appeal(actor, &a.value, &m.value) || authority) {
            return Err(not_found());
        }
        Ok((a, m))
    }

    pub async fn appeal(&self, actor: &Actor, id: Uuid) -> Result<AppealView, ApiError> {
        let (a, m) = self.appeal_and_measure(actor, id).await?;
        if !can_view_appeal(actor, &a.value, &m.value) {
            return Err(ApiError::NotFound(format!("appeal {id}")));
        }
        Ok(AppealView {
            appeal: a.value,
            version: a.version,
        })
    }

    /// The appeals the caller's authority has yet to answer, the reply due soonest first.
    pub async fn open_appeals(&self, actor: &Actor) -> Result<Vec<AppealView>, ApiError> {
        let Some(org) = actor.org() else {
            return Ok(vec![]);
        };
        Ok(self
            .store
            .open_appeals(org.id, 200)
            .await?
            .into_iter()
            .map(|a| AppealView {
                appeal: a.value,
                version: a.version,
            })
            .collect())
    }

    /// The appeals against the measure of a notice that the caller may see.
    pub async fn notice_appeals(
        &self,
        actor: &Actor,
        notice_id: Uuid,
    ) -> Result<Vec<AppealView>, ApiError> {
        let (_, m) = self.notice_and_measure(actor, notice_id).await?;
        Ok(self
            .store
            .appeals_of_measure(m.value.id)
            .await?
            .into_iter()
            .filter(|a| can_view_appeal(actor, &a.value, &m.value))
            .map(|a| AppealView {
                appeal: a.value,
                version: a.version,
            })
            .collect())
    }

    pub async fn decide_appeal(
        &self,
        actor: &Actor,
        id: Uuid,
        req: AppealDecisionRequest,
        idem: Option<Idem>,
    ) -> Result<AppealDecisionResponse, ApiError> {
        let modification = match req.modification {
            None => None,
            Some(m) => Some(Modification {
                target: m
                    .target
                    .as_ref()
                    .map(|t| parse_indicator("modification.target".into(), t))
                    .transpose()?,
                expires_at: m.expires_at,
            }),
        };
        let cmd = AppealCommand::Decide {
            outcome: req.outcome,
            reasons: req.reasons.clone(),
            modification,
        };
        self.once(idem, || async {
            let now = self.now();
            let (a, m) = self.appeal_and_measure(actor, id).await?;
            let out = a.value.apply(actor, &m.value, cmd, now)?;
            let mut writes = vec![Write::Appeal {
                appeal: out.next.clone(),
                expected: Some(a.version),
            }];
            let mut notice_id = None;
            let mut block_active = m.value.block_active();
            if let Some(changed) = &out.measure {
                block_active = changed.block_active();
                let kind = if out.next.status == AppealStatus::Revoked {
                    NoticeType::Revocation
                } else {
                    NoticeType::Modification
                };
                let nid = Uuid::now_v7();
                let (notice, recipient_org_id) = self
                    .sign_notice(changed, nid, kind, Some(req.reasons.clone()), now)
                    .await?;
                notice_id = Some(nid);
                writes.push(Write::Measure {
                    measure: changed.clone(),
                    expected: Some(m.version),
                });
                writes.push(Write::Notice {
                    notice,
                    recipient_org_id,
                });
            }
            let response = AppealDecisionResponse {
                id: out.next.id,
                status: out.next.status.as_str().to_owned(),
                measure_id: m.value.id,
                block_active,
                notice_id,
                late: out.next.decision.as_ref().is_some_and(|d| d.late),
            };
            let changes = Changeset::new(actor.clone(), now, writes, out.events);
            Ok((response, changes))
        })
        .await
    }

    /// DESIGN §5.2: moves the simulated clock; 404 when the server runs on the system clock.
    pub fn advance_clock(&self, actor: &Actor, seconds: i64) -> Result<ClockResponse, ApiError> {
        let Some(sim) = &self.simulated else {
            return Err(ApiError::NotFound(
                "the clock (this server runs on the system clock)".into(),
            ));
        };
        if !can_advance_clock(actor) {
            return Err(Refusal {
                code: RefusalCode::Role,
                message: "only admins of the ministry may move the clock".into(),
            }
            .into());
        }
        if !(0..=10 * 366 * 86_400).contains(&seconds) {
            return Err(ApiError::InvalidBody(
                "seconds: from 0 to ten years; the clock never goes back".into(),
            ));
        }
        let now = sim
            .advance(time::Duration::seconds(seconds))
            .map_err(|e| ApiError::InvalidBody(e.into()))?;
        tracing::info!(seconds, by = %actor.label(), "simulated clock advanced");
        Ok(ClockResponse {
            now: now.to_offset(warden_core::calendar::SHANGHAI),
        })
    }
}

/// Query parameters of `GET /api/v1/audit`.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries after this sequence number.
    pub after: Option<i64>,
    pub limit: Option<u32>,
}

impl Service {
    pub async fn audit(&self, actor: &Actor, q: AuditQuery) -> Result<AuditPage, ApiError> {
        if !can_read_audit(actor) {
            return Err(Refusal {
                code: RefusalCode::Role,
                message: "the audit trail is read by auditors of the authorities and institutions"
                    .into(),
            }
            .into());
        }
        let limit = q.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(ApiError::InvalidQuery("limit: from 1 to 1000".into()));
        }
        let items = self.store.audit(q.after.unwrap_or(0).max(0), limit).await?;
        let next_after = (items.len() == limit as usize)
            .then(|| items.last().map(|e| e.seq))
            .flatten();
        Ok(AuditPage { items, next_after })
    }
}

/// Query parameters of `GET /api/v1/enforcements` and `GET /api/v1/compliance`.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EnforcementQuery {
    pub org: Option<String>,
    pub province: Option<String>,
    pub limit: Option<u32>,
}

impl Service {
    /// The organisation and province an enforcement listing is limited to for this caller.
    async fn enforcement_scope(
        &self,
        actor: &Actor,
        q: &EnforcementQuery,
    ) -> Result<(Option<Uuid>, Option<String>), ApiError> {
        let wanted = match &q.org {
            Some(s) => Some(self.org("org", s).await?.id),
            None => None,
        };
        check_province(q.province.as_deref())?;
        let Some(org) = actor.org() else {
            return Err(ApiError::NotFound("enforcement records".into()));
        };
        Ok(match (org.org_type.is_authority(), org.jurisdiction) {
            (true, Some(warden_core::org::Jurisdiction::National)) => (wanted, q.province.clone()),
            (true, Some(warden_core::org::Jurisdiction::Province(p))) => {
                if q.province.as_deref().is_some_and(|x| x != p.to_string()) {
                    return Err(ApiError::Refused(Refusal {
                        code: RefusalCode::Jurisdiction,
                        message: format!("{} sees records of province {p} only", org.slug),
                    }));
                }
                (wanted, Some(p.to_string()))
            }
            // Everyone else sees its own record only.
            _ => {
                if wanted.is_some_and(|w| w != org.id) {
                    return Err(ApiError::Refused(Refusal {
                        code: RefusalCode::Organisation,
                        message: "an organisation sees its own compliance record only".into(),
                    }));
                }
                (Some(org.id), None)
            }
        })
    }

    pub async fn enforcements(
        &self,
        actor: &Actor,
        q: EnforcementQuery,
    ) -> Result<EnforcementList, ApiError> {
        let (org, province) = self.enforcement_scope(actor, &q).await?;
        let limit = q.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(ApiError::InvalidQuery("limit: from 1 to 1000".into()));
        }
        let items = self
            .store
            .enforcements(org, province.as_deref(), limit)
            .await?
            .into_iter()
            .filter(|e| can_view_enforcement(actor, &e.value))
            .map(|e| EnforcementView {
                enforcement: e.value,
                version: e.version,
            })
            .collect();
        Ok(EnforcementList { items })
    }

    /// One enforcement record, to those who may see it or any authority (as when acting on it).
    pub async fn enforcement(&self, actor: &Actor, id: Uuid) -> Result<EnforcementView, ApiError> {
        let not_found = || ApiError::NotFound(format!("enforcement record {id}"));
        let e = self.store.enforcement(id).await?.ok_or_else(not_found)?;
        if !can_view_enforcement(actor, &e.value) {
            return Err(not_found());
        }
        Ok(EnforcementView {
            enforcement: e.value,
            version: e.version,
        })
    }

    pub async fn record_enforcement(
        &self,
        actor: &Actor,
        id: Uuid,
        req: EnforcementActionRequest,
        idem: Option<Idem>,
    ) -> Result<EnforcementView, ApiError> {
        self.once(idem, || async {
            let now = self.now();
            let not_found = || ApiError::NotFound(format!("enforcement record {id}"));
            let e = self.store.enforcement(id).await?.ok_or_else(not_found)?;
            let authority = actor.org().is_some_and(|o| o.org_type.is_authority());
            if !can_view_enforcement(actor, &e.value) && !authority {
                return Err(not_found());
            }
            let out =
                e.value
                    .record(actor, req.kind, req.basis, req.amount_yuan, req.notes, now)?;
            let view = EnforcementView {
                enforcement: out.next.clone(),
                version: e.version + 1,
            };
            let changes = Changeset::new(
                actor.clone(),
                now,
                vec![Write::Enforcement {
                    enforcement: out.next,
                    expected: Some(e.version),
                }],
                out.events,
            );
            Ok((view, changes))
        })
        .await
    }

    /// Every organisation's compliance record within an authority's jurisdiction, most overdue
    /// first: one pass over the measures and the enforcement records.
    pub async fn compliance_overview(
        &self,
        actor: &Actor,
    ) -> Result<Vec<ComplianceRecord>, ApiError> {
        if !actor.org().is_some_and(|o| o.org_type.is_authority()) {
            return Err(ApiError::Refused(Refusal {
                code: RefusalCode::Organisation,
                message: "the compliance of every organisation is for the telecom authorities"
                    .into(),
            }));
        }
        let (_, province) = self
            .enforcement_scope(
                actor,
                &EnforcementQuery {
                    org: None,
                    province: None,
                    limit: None,
                },
            )
            .await?;
        let mut by_org: std::collections::BTreeMap<String, ComplianceRecord> = Default::default();
        let blank = |org: &str| ComplianceRecord {
            org: org.to_owned(),
            notices: 0,
            overdue: 0,
            enforcement_records: 0,
            talks: 0,
            warnings: 0,
            fines: 0,
            fines_total_yuan: 0,
        };
        let filter = warden_store::MeasureFilter {
            province: province.clone(),
            ..Default::default()
        };
        for m in self.all_measures(&filter).await? {
            let rec = by_org
                .entry(m.recipient.slug.clone())
                .or_insert_with(|| blank(&m.recipient.slug));
            rec.notices += 1;
            rec.overdue += u64::from(m.overdue);
        }
        for e in self
            .store
            .enforcements(None, province.as_deref(), 10_000)
            .await?
        {
            let rec = by_org
                .entry(e.value.org.slug.clone())
                .or_insert_with(|| blank(&e.value.org.slug));
            rec.enforcement_records += 1;
            for a in &e.value.actions {
                match a.kind {
                    ActionKind::Talk => rec.talks += 1,
                    ActionKind::Warning => rec.warnings += 1,
                    ActionKind::Fine => {
                        rec.fines += 1;
                        rec.fines_total_yuan += a.amount_yuan.unwrap_or(0);
                    }
                }
            }
        }
        let mut out: Vec<_> = by_org.into_values().collect();
        out.sort_by(|a, b| {
            b.overdue
                .cmp(&a.overdue)
                .then(b.notices.cmp(&a.notices))
                .then_with(|| a.org.cmp(&b.org))
        });
        Ok(out)
    }

    pub async fn compliance(
        &self,
        actor: &Actor,
        q: EnforcementQuery,
    ) -> Result<ComplianceRecord, ApiError> {
        let slug = match (&q.org, actor.org()) {
            (Some(s), _) => s.clone(),
            (None, Some(o)) => o.slug.clone(),
            (None, None) => return Err(ApiError::InvalidQuery("org: required".into())),
        };
        let q = EnforcementQuery {
            org: Some(slug.clone()),
            ..q
        };
        let (org, province) = self.enforcement_scope(actor, &q).await?;
        let mut rec = ComplianceRecord {
            org: slug,
            notices: 0,
            overdue: 0,
            enforcement_records: 0,
            talks: 0,
            warnings: 0,
            fines: 0,
            fines_total_yuan: 0,
        };
        let filter = warden_store::MeasureFilter {
            recipient_org: org,
            province,
            ..Default::default()
        };
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .store
                .measures(&filter, 1000, cursor.as_deref())
                .await?;
            for m in &page.items {
                rec.notices += 1;
                rec.overdue += u64::from(m.value.overdue);
            }
            match page.next {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
        for e in self
            .store
            .enforcements(org, filter.province.as_deref(), 1000)
            .await?
        {
            rec.enforcement_records += 1;
            for a in &e.value.actions {
                match a.kind {
                    ActionKind::Talk => rec.talks += 1,
                    ActionKind::Warning => rec.warnings += 1,
                    ActionKind::Fine => {
                        rec.fines += 1;
                        rec.fines_total_yuan += a.amount_yuan.unwrap_or(0);
                    }
                }
            }
        }
        Ok(rec)
    }
}

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

/// Query parameters of `GET /api/v1/stats/timeliness`.
#[derive(Debug, Clone, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TimelinessQuery {
    pub group_by: warden_core::stats::GroupBy,
    /// Cases opened at or after (RFC 3339).
    pub from: Option<String>,
    /// Cases opened before (RFC 3339).
    pub to: Option<String>,
}

impl Service {
    /// Every case that `f` selects, page by page.
    async fn all_cases(&self, f: &CaseFilter) -> Result<Vec<Case>, ApiError> {
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
    async fn all_measures(
        &self,
        f: &warden_store::MeasureFilter,
    ) -> Result<Vec<Measure>, ApiError> {
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
    pub async fn dashboard(&self, actor: &Actor, days: u16) -> Result<Dashboard, ApiError> {
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

    pub async fn timeliness(
        &self,
        actor: &Actor,
        q: TimelinessQuery,
    ) -> Result<TimelinessReport, ApiError> {
        let oversight = actor.org().is_some_and(|o| {
            o.org_type.is_authority() || o.org_type == warden_core::org::OrgType::Institution
        });
        let scope = case_scope(actor).filter(|_| oversight).ok_or_else(|| {
            ApiError::Refused(Refusal {
                code: RefusalCode::Organisation,
                message:
                    "timeliness statistics are for the telecom authorities and the institutions"
                        .into(),
            })
        })?;
        let (opened_from, opened_to) = time_range(q.from.as_deref(), q.to.as_deref())?;
        let mut cf = CaseFilter {
            opened_from,
            opened_to,
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
            from: q.from,
            to: q.to,
            groups: warden_core::stats::timeliness(&cases, &measures, q.group_by),
        })
    }
}

/// Query parameters of the bulletin and publication lists.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl Service {
    pub async fn issue_bulletin(
        &self,
        actor: &Actor,
        draft: warden_core::bulletin::BulletinDraft,
        idem: Option<Idem>,
    ) -> Result<warden_core::bulletin::Bulletin, ApiError> {
        self.once(idem, || async {
            let now = self.now();
            let out = warden_core::bulletin::Bulletin::issue(actor, Uuid::now_v7(), draft, now)?;
            let changes = Changeset::new(
                actor.clone(),
                now,
                vec![Write::Bulletin {
                    bulletin: out.next.clone(),
                    expected: None,
                }],
                out.events,
            );
            Ok((out.next, changes))
        })
        .await
    }

    pub async fn bulletins(
        &self,
        actor: &Actor,
        kind: warden_core::bulletin::BulletinKind,
        q: PageQuery,
    ) -> Result<BulletinList, ApiError> {
        let limit = page_limit(q.limit)?;
        let page = self
            .store
            .bulletins(kind, limit, q.cursor.as_deref())
            .await
            .map_err(cursor_error)?;
        Ok(BulletinList {
            items: page
                .items
                .into_iter()
                .map(|b| b.value)
                .filter(|b| b.visible_to(actor))
                .collect(),
            next: page.next,
        })
    }
}

impl Service {
    /// Re-walks the audit chain and checks every checkpoint's platform signature.
    pub async fn verify_audit(&self, actor: &Actor) -> Result<AuditVerification, ApiError> {
        if !can_read_audit(actor) {
            return Err(Refusal {
                code: RefusalCode::Role,
                message: "the audit trail is read by auditors of the authorities and institutions"
                    .into(),
            }
            .into());
        }
        let check = self.store.verify_audit().await?;
        let mut v = AuditVerification {
            intact: check.intact,
            entries: check.entries,
            head_hash: check.head_hash,
            first_broken: check.first_broken,
            problem: check.problem,
            checkpoints: check.checkpoints,
        };
        if v.intact {
            let key = self.keys.platform().1.verifying_key();
            if let Some(cp) = self
                .store
                .checkpoints()
                .await?
                .into_iter()
                .find(|cp| !crate::keys::checkpoint_signed_by(cp, &key))
            {
                v.intact = false;
                v.first_broken = Some(cp.seq);
                v.problem = Some(format!(
                    "the checkpoint at entry {} is not signed by this platform's key",
                    cp.seq
                ));
            }
        }
        Ok(v)
    }
}

fn notice_summary(m: Measure) -> NoticeSummary {
    NoticeSummary {
        id: m.notice_id,
        measure_id: m.id,
        case_id: m.case_id,
        reference: warden_core::notice::reference_number(&m),
        kind: m.kind,
        block_active: m.block.as_ref().map(|_| m.block_active()),
        target: m.target,
        recipient_org: m.recipient.slug,
        deciding_org: m.deciding_org.slug,
        status: m.status.as_str().to_owned(),
        overdue: m.overdue,
        deadline: m.deadline,
        emergency: m.emergency,
    }
}
