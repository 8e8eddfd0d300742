//! Cases: who sees what of them, their listing, and the transitions of determination
//! (Art. 7) and decision (Art. 8) with the measures a decision issues and the Art. 8(3)
//! notifications of a remediation.

use crate::error::ServiceError;
use crate::filters::CasesFilter;
use crate::proto::*;
use crate::reports::parse_indicator;
use crate::service::{Idem, Result, Service, cursor_error};
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::indicator::Indicator;
use warden_core::lifecycle::*;
use warden_core::notice::{NoticeType, ThreatFacts};
use warden_core::org::{Actor, Organisation, Province};
use warden_store::{CaseFilter, Changeset, Versioned, Write};

impl Service {
    pub(crate) async fn visible_case(&self, actor: &Actor, id: Uuid) -> Result<Versioned<Case>> {
        match self.store.case(id).await? {
            Some(c) if can_view_case(actor, &c.value) => Ok(c),
            // Existence is not revealed to those who may not see it.
            _ => Err(ServiceError::NotFound(format!("case {id}"))),
        }
    }

    pub async fn case(&self, actor: &Actor, id: Uuid) -> Result<CaseView> {
        let c = self.visible_case(actor, id).await?;
        let case = self.as_seen_by(actor, c.value).await?;
        let flags = self.allowlist_flags(case.indicators.iter());
        let mut view = CaseView::new(case, c.version);
        view.allowlist_flags = flags;
        Ok(view)
    }

    /// Insiders see the whole case; a reporter sees its progress and its own reports' part.
    pub(crate) async fn as_seen_by(&self, actor: &Actor, case: Case) -> Result<Case> {
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

    pub async fn cases(&self, actor: &Actor, q: CasesFilter) -> Result<CaseList> {
        let empty = CaseList {
            items: vec![],
            next: None,
        };
        let Some(scope) = case_scope(actor) else {
            return Ok(empty);
        };
        let mut f = CaseFilter {
            status: q.status.map(|s| s.as_str().to_owned()),
            category: q.category.map(|c| c.as_str().to_owned()),
            province: q.province.map(|p| p.to_string()),
            opened_from: q.from,
            opened_to: q.to,
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
                if q.province.is_some_and(|q| q != p) {
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
        let page = self
            .store
            .cases(&f, q.page.limit, q.page.cursor.as_deref())
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
    pub(crate) async fn case_transition(
        &self,
        actor: &Actor,
        id: Uuid,
        cmd: CaseCommand,
    ) -> Result<(CaseOutcome, Changeset), ServiceError> {
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
            _ => return Err(ServiceError::NotFound(format!("case {id}"))),
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

    pub(crate) fn status(out: &CaseOutcome, version: i64) -> CaseStatusResponse {
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
    ) -> Result<CaseStatusResponse> {
        let institution = self.org("institution", &req.institution).await?.org_ref();
        self.case_step(actor, id, CaseCommand::Assign { institution }, idem)
            .await
    }

    /// One case transition, committed once per idempotency key; answers the new status.
    pub(crate) async fn case_step(
        &self,
        actor: &Actor,
        id: Uuid,
        cmd: CaseCommand,
        idem: Option<Idem>,
    ) -> Result<CaseStatusResponse> {
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
    /// The victim's superior unit as its organisation profile records it, when the victim
    /// is a member organisation named in the report.
    pub(crate) async fn victim_superior(&self, case: &Case) -> Result<Option<String>> {
        let Some(slug) = case.victim.as_ref().and_then(|v| v.org.as_deref()) else {
            return Ok(None);
        };
        Ok(self
            .store
            .organisation_by_slug(slug)
            .await?
            .and_then(|o| o.value.supervising_unit))
    }

    pub(crate) async fn art_8_3_recipients(&self, case: &Case) -> Result<Vec<Organisation>> {
        let Some(victim) = case
            .victim
            .as_ref()
            .filter(|v| v.kind.needs_extra_notices())
        else {
            return Ok(vec![]);
        };
        let mut out = vec![];
        let superior = match self.victim_superior(case).await? {
            Some(s) => Some(s),
            None => victim.supervising_org.clone(),
        };
        if let Some(slug) = &superior
            && let Some(o) = self.store.organisation_by_slug(slug).await?
        {
            out.push(o.value);
        }
        let cacs: Vec<Organisation> = self
            .store
            .organisations()
            .await?
            .into_iter()
            .map(|o| o.value)
            .filter(|o| o.org_type == warden_core::org::OrgType::CyberspaceAdmin)
            .collect();
        // The victim's province's cyberspace administration, else the nation's.
        let local = cacs.iter().find(|o| {
            case.province.is_some() && o.province == case.province && o.slug != NATIONAL_CAC
        });
        let national = cacs.iter().find(|o| o.slug == NATIONAL_CAC);
        if let Some(c) = local.or(national) {
            out.push(c.clone());
        }
        Ok(out)
    }

    pub async fn refer(
        &self,
        actor: &Actor,
        id: Uuid,
        req: ReferralRequest,
        idem: Option<Idem>,
    ) -> Result<CaseStatusResponse> {
        let to = req.to.as_deref().map(str::parse::<Province>).transpose()?;
        let cmd = CaseCommand::Refer {
            to,
            reasons: req.reasons,
        };
        self.case_step(actor, id, cmd, idem).await
    }

    pub(crate) fn version_after(&self, changes: &Changeset) -> i64 {
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
    ) -> Result<CaseStatusResponse> {
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
            .collect::<Result<Vec<_>>>()?;
        let cmd = CaseCommand::Determine {
            verdict: req.verdict,
            severity: req.severity,
            incident_level: req.incident_level,
            rationale: req.rationale,
            recommended_measures,
            malware_family: req.malware_family,
        };
        self.case_step(actor, id, cmd, idem).await
    }

    pub async fn decide(
        &self,
        actor: &Actor,
        id: Uuid,
        req: DecisionRequest,
        idem: Option<Idem>,
    ) -> Result<DecisionResponse> {
        // Who may decide is settled first: routing and Art. 8(3) read the case (its
        // province, its victim), and their answers must reveal nothing to anyone else.
        let visible = self.visible_case(actor, id).await?.value;
        if let Some(refusal) = decide_refusal(actor, &visible) {
            return Err(refusal.into());
        }
        let case = Some(visible);
        let mut specs = Vec::with_capacity(req.measures.len());
        for (i, m) in req.measures.iter().enumerate() {
            let target = m
                .target
                .as_ref()
                .map(|t| parse_indicator(format!("measures[{i}].target"), t))
                .transpose()?;
            let recipients = match &m.recipient_org {
                Some(slug) => vec![
                    self.recipient(&format!("measures[{i}].recipient_org"), slug)
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
                        |source| ServiceError::Indicator {
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
                    instructions: m.instructions.clone(),
                });
            }
        }
        let mut notify: Vec<Organisation> = vec![];
        for (i, slug) in req.notify.iter().enumerate() {
            notify.push(self.org(&format!("notify[{i}]"), slug).await?);
        }
        if notify.is_empty()
            && specs.iter().any(|m| m.kind == MeasureKind::Remediate)
            && let Some(case) = &case
        {
            notify = self.art_8_3_recipients(case).await?;
        }
        let art_8_3 = Art83Facts {
            victim_superior: match &case {
                Some(c) => self.victim_superior(c).await?,
                None => None,
            },
            cac_provinces: notify
                .iter()
                .filter(|o| o.org_type == warden_core::org::OrgType::CyberspaceAdmin)
                .map(|o| (o.slug.clone(), o.province))
                .collect(),
        };
        // Each order names whom Art. 8(3) notified with it.
        let notified_parties: Vec<warden_core::notice::Party> = notify
            .iter()
            .map(|o| warden_core::notice::Party {
                slug: o.slug.clone(),
                name: o.name.clone(),
            })
            .collect();
        let cmd = CaseCommand::Decide {
            outcome: req.outcome,
            reasons: req.reasons,
            measures: specs,
            notify: notify.iter().map(Organisation::org_ref).collect(),
            art_8_3,
        };
        self.once(idem, || async {
            let (out, mut changes) = self.case_transition(actor, id, cmd).await?;
            // What each recipient must know of the threat goes into its signed notice.
            let reports = self.store.reports_of_case(out.next.id).await?;
            let reports: Vec<&Report> = reports.iter().map(|r| &r.value).collect();
            let mut notifications = vec![];
            let notified = out
                .next
                .decision
                .as_ref()
                .map(|d| d.notified.clone())
                .unwrap_or_default();
            let mut telephone = std::collections::HashMap::new();
            for m in &out.measures {
                let mut facts = ThreatFacts::for_measure(m, &out.next, &reports);
                if m.kind == MeasureKind::Remediate {
                    facts.notified = notified_parties.clone();
                }
                if m.status == NoticeStatus::Pending {
                    // Emergency: the authority telephones first; the signed written notice
                    // follows when it issues it.
                    let recipient = self.org("recipient", &m.recipient.slug).await?;
                    telephone.insert(m.id, recipient.contacts);
                } else {
                    let (notice, recipient_org_id) = self
                        .sign_notice(
                            m,
                            m.notice_id,
                            NoticeType::Measure,
                            None,
                            Some(&facts),
                            changes.at,
                        )
                        .await?;
                    changes.writes.push(Write::Notice {
                        notice,
                        recipient_org_id,
                    });
                }
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
                        .sign_notification(m, nid, org, reasons, &facts, changes.at)
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
                        status: m.status.as_str().to_owned(),
                        telephone: telephone.remove(&m.id).flatten(),
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

    /// A case's states over time (the case page's timeline): when it reached each status.
    pub async fn case_timeline(
        &self,
        actor: &Actor,
        case_id: Uuid,
    ) -> Result<Vec<(OffsetDateTime, CaseStatus)>> {
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

    /// The deadline policy gives a measure decided now: its span, and when it ends on the
    /// working-day calendar (the decision form shows it before anything is decided).
    pub fn policy_deadline(
        &self,
        province: Option<Province>,
        kind: MeasureKind,
        severity: Severity,
        emergency: bool,
    ) -> (
        warden_core::policy::Span,
        warden_core::calendar::Reckoned<OffsetDateTime>,
    ) {
        let span = self
            .policy
            .for_province(province)
            .deadline_span(kind, severity, emergency);
        (span, span.after(self.now(), &self.calendar))
    }

    /// The institutions a case can be assigned to (Art. 7).
    pub async fn institutions(&self) -> Result<Vec<Organisation>> {
        Ok(self
            .store
            .organisations()
            .await?
            .into_iter()
            .map(|o| o.value)
            .filter(|o| o.org_type == warden_core::org::OrgType::Institution)
            .collect())
    }
}
