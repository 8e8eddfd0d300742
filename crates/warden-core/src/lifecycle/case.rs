//! Reports and cases: submission, correlation, assignment, determination (Art. 7) and
//! decision (Art. 8).

use super::common::*;
use super::measure::{
    AllowlistHit, AllowlistOverride, BlockState, BlockStatus, Measure, NoticeStatus,
};
use crate::calendar::Calendar;
use crate::indicator::{Indicator, TargetScope};
use crate::org::{Actor, OrgRef, OrgType, Province, Role};
use crate::policy::PolicyRules;
use crate::taxonomy::{Category, Classification};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeSet;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum VictimKind {
    /// 党政机关: Art. 8(3) extra notices.
    PartyGovernment,
    /// 关键信息基础设施: Art. 8(3) extra notices.
    Cii,
    Enterprise,
    Individual,
    Other,
}

impl VictimKind {
    /// Art. 8(3): their superior unit and the cyberspace administration are notified too.
    pub fn needs_extra_notices(self) -> bool {
        matches!(self, VictimKind::PartyGovernment | VictimKind::Cii)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Victim {
    pub name: String,
    pub kind: VictimKind,
    /// The slug of its superior unit when that is a member organisation: notified under
    /// Art. 8(3) without being named in each decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervising_org: Option<String>,
    /// The victim itself when it is a member organisation: its profile names its superior
    /// unit (`supervising_unit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
}

/// What a monitoring organisation submits (Art. 6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportContent {
    #[serde(flatten)]
    pub classification: Classification,
    pub title: String,
    pub description: String,
    #[serde(with = "time::serde::rfc3339")]
    pub observed_at: OffsetDateTime,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub province: Option<Province>,
    pub tlp: Tlp,
    pub indicators: Vec<Indicator>,
    pub victim: Option<Victim>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    pub id: Uuid,
    /// None for a self-handled report (Art. 6, 11), which opens no case.
    pub case_id: Option<Uuid>,
    pub reporter: OrgRef,
    pub submitted_by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub submitted_at: OffsetDateTime,
    #[serde(flatten)]
    pub content: ReportContent,
    /// For self-handled reports: what the reporter did about the threat itself.
    pub self_handled: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CaseStatus {
    Submitted,
    Assigned,
    MoreInfo,
    Determined,
    Rejected,
    Decided,
    Dismissed,
}

impl CaseStatus {
    pub const ALL: [CaseStatus; 7] = [
        CaseStatus::Submitted,
        CaseStatus::Assigned,
        CaseStatus::MoreInfo,
        CaseStatus::Determined,
        CaseStatus::Rejected,
        CaseStatus::Decided,
        CaseStatus::Dismissed,
    ];

    /// The status named `s` (as `as_str` writes it).
    pub fn parse(s: &str) -> Option<CaseStatus> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Submitted => "submitted",
            CaseStatus::Assigned => "assigned",
            CaseStatus::MoreInfo => "more_info",
            CaseStatus::Determined => "determined",
            CaseStatus::Rejected => "rejected",
            CaseStatus::Decided => "decided",
            CaseStatus::Dismissed => "dismissed",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            CaseStatus::Rejected | CaseStatus::Decided | CaseStatus::Dismissed
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Verdict {
    Confirmed,
    NotAThreat,
    MoreInfo,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecommendedMeasure {
    pub kind: MeasureKind,
    pub target: Option<Indicator>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Determination {
    pub analyst_id: Uuid,
    pub org: OrgRef,
    pub verdict: Verdict,
    pub severity: Option<Severity>,
    pub incident_level: Option<IncidentLevel>,
    pub rationale: String,
    pub recommended_measures: Vec<RecommendedMeasure>,
    /// The malicious program's family, when the institution has named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub malware_family: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DecisionOutcome {
    Approved,
    Dismissed,
    /// Sent back to the institution for another determination.
    Returned,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Decision {
    pub reviewer_id: Uuid,
    pub org: OrgRef,
    pub outcome: DecisionOutcome,
    pub reasons: String,
    pub measure_ids: Vec<Uuid>,
    /// Art. 8(3): the victim's superior unit and the cyberspace administration.
    pub notified: Vec<OrgRef>,
    pub policy_version: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Case {
    pub id: Uuid,
    pub status: CaseStatus,
    #[serde(flatten)]
    pub classification: Classification,
    pub title: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub province: Option<Province>,
    /// The most restrictive marking of its reports: the case as a whole is shared no wider.
    pub tlp: Tlp,
    /// The least restrictive marking of its reports: what of it may reach every member
    /// (absent on cases written before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub widest_tlp: Option<Tlp>,
    pub indicators: BTreeSet<Indicator>,
    pub victim: Option<Victim>,
    pub reporter_orgs: BTreeSet<Uuid>,
    pub report_ids: Vec<Uuid>,
    pub assigned_to: Option<OrgRef>,
    /// Art. 13: a level I or II incident is handled under the national emergency plan, so
    /// MIIT decides it; the province where it lies still sees it and follows its measures.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub national: bool,
    pub determination: Option<Determination>,
    pub decision: Option<Decision>,
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// One measure of a decision, as the reviewer writes it; recipients are resolved by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasureSpec {
    pub id: Uuid,
    pub notice_id: Uuid,
    pub kind: MeasureKind,
    pub target: Option<Indicator>,
    pub recipient: OrgRef,
    /// Overrides the policy deadline.
    pub deadline: Option<OffsetDateTime>,
    /// How far a block reaches; None: the default for the target's type.
    pub scope: Option<TargetScope>,
    /// The last number of a `number_range` block.
    pub range_last: Option<Indicator>,
    /// Allow-list entries the target hits (false-positive guards), found by the caller.
    pub allowlist_hits: Vec<AllowlistHit>,
    /// Why the block goes ahead despite those hits; required when there are any.
    pub allowlist_override: Option<String>,
    /// What the recipient must do, in the authority's words.
    pub instructions: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CaseCommand {
    /// Another report of the same threat joins the case as a sighting.
    AddReport {
        report: Box<Report>,
    },
    Assign {
        institution: OrgRef,
    },
    /// An authority passes an undecided case up to MIIT (`to: None`: it spans provinces or
    /// exceeds the province) or across to another province's authority.
    Refer {
        to: Option<Province>,
        reasons: String,
    },
    Determine {
        verdict: Verdict,
        severity: Option<Severity>,
        incident_level: Option<IncidentLevel>,
        rationale: String,
        recommended_measures: Vec<RecommendedMeasure>,
        malware_family: Option<String>,
    },
    /// The reporter answers a "more information needed" determination.
    ProvideInfo {
        note: String,
    },
    Decide {
        outcome: DecisionOutcome,
        reasons: String,
        measures: Vec<MeasureSpec>,
        notify: Vec<OrgRef>,
        /// What the Art. 8(3) check needs to know of the organisations, found by the caller.
        art_8_3: Art83Facts,
    },
}

/// For the Art. 8(3) check: the victim's superior unit as its organisation profile records
/// it (the report's `victim.supervising_org` otherwise), and where each notified cyberspace
/// administration sits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Art83Facts {
    pub victim_superior: Option<String>,
    /// Slug and province of each cyberspace administration in `notify`.
    pub cac_provinces: Vec<(String, Option<Province>)>,
}

/// The nation's cyberspace administration, as the reference data installs it.
pub const NATIONAL_CAC: &str = "cac";

/// What a case transition produces; a decision also issues measures.
#[derive(Debug, Clone)]
pub struct CaseOutcome {
    pub next: Case,
    pub measures: Vec<Measure>,
    pub events: Vec<Event>,
}

/// Everything a transition may consult besides the actor and the state.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub now: OffsetDateTime,
    pub calendar: &'a Calendar,
    pub rules: &'a PolicyRules,
}

const MAX_INDICATORS: usize = 10_000;

impl Report {
    /// Validates a submission by `actor` and builds the report. `self_handled` marks a
    /// threat the reporter handled itself (Art. 6, 11): it is filed, and opens no case.
    pub fn submit(
        actor: &Actor,
        id: Uuid,
        content: ReportContent,
        self_handled: Option<String>,
        now: OffsetDateTime,
    ) -> Result<Report, Refusal> {
        let org = require_role(actor, Role::Reporter)?.clone();
        require_text("title", &content.title, 300)?;
        require_text("description", &content.description, 20_000)?;
        if content.observed_at > now + time::Duration::minutes(5) {
            return refuse(
                RefusalCode::Window,
                format!("observed_at ({}) is in the future", content.observed_at),
            );
        }
        let needs_indicator = matches!(
            content.classification.category,
            Category::MaliciousResource | Category::MaliciousProgram
        );
        if needs_indicator && content.indicators.is_empty() {
            return refuse(
                RefusalCode::Invalid,
                format!(
                    "a {} report needs at least one indicator",
                    content.classification.category
                ),
            );
        }
        if content.indicators.len() > MAX_INDICATORS {
            return refuse(
                RefusalCode::Invalid,
                format!("at most {MAX_INDICATORS} indicators per report"),
            );
        }
        if let Some(v) = &content.victim {
            require_text("victim.name", &v.name, 300)?;
        }
        if let Some(s) = &self_handled {
            require_text("actions_taken", s, 20_000)?;
        }
        let mut content = content;
        let mut seen = BTreeSet::new();
        content.indicators.retain(|i| seen.insert(i.clone()));
        Ok(Report {
            id,
            case_id: None,
            reporter: org,
            submitted_by: actor.principal_id().unwrap_or_default(),
            submitted_at: now,
            content,
            self_handled,
        })
    }
}

impl Report {
    /// Files a threat the reporter found in its own systems and handled itself (Art. 6, 11):
    /// it is recorded for the authorities, and opens no case.
    pub fn file_self_handled(
        actor: &Actor,
        id: Uuid,
        content: ReportContent,
        actions_taken: String,
        now: OffsetDateTime,
    ) -> Result<Outcome<Report>, Refusal> {
        let report = Report::submit(actor, id, content, Some(actions_taken), now)?;
        let events = vec![event(
            "report.self_handled",
            SubjectKind::Report,
            id,
            json!({"reporter": report.reporter.slug, "classification": report.content.classification, "province": report.content.province}),
        )];
        Ok(Outcome {
            next: report,
            events,
        })
    }
}

impl Case {
    /// Opens a case for a report; `institution` is the one policy assigns it to.
    pub fn open(
        report: &mut Report,
        case_id: Uuid,
        institution: Option<OrgRef>,
        now: OffsetDateTime,
    ) -> Result<CaseOutcome, Refusal> {
        if report.self_handled.is_some() {
            return refuse(RefusalCode::Invalid, "a self-handled report opens no case");
        }
        if let Some(i) = &institution {
            require_type(i, OrgType::Institution, "the assigned organisation")?;
        }
        report.case_id = Some(case_id);
        let c = &report.content;
        let mut case = Case {
            id: case_id,
            status: CaseStatus::Submitted,
            classification: c.classification,
            title: c.title.clone(),
            province: c.province,
            tlp: c.tlp,
            widest_tlp: Some(c.tlp),
            indicators: c.indicators.iter().cloned().collect(),
            victim: c.victim.clone(),
            reporter_orgs: BTreeSet::from([report.reporter.id]),
            report_ids: vec![report.id],
            assigned_to: None,
            national: false,
            determination: None,
            decision: None,
            opened_at: now,
            updated_at: now,
        };
        let mut events = vec![
            event(
                "report.submitted",
                SubjectKind::Report,
                report.id,
                json!({"case_id": case_id, "reporter": report.reporter.slug}),
            ),
            event(
                "case.opened",
                SubjectKind::Case,
                case_id,
                json!({"report_id": report.id, "classification": c.classification, "province": c.province}),
            ),
        ];
        if let Some(i) = institution {
            if case.reporter_orgs.contains(&i.id) {
                // Art. 7 fairness: never route a report to its own organisation for determination.
                events.push(event(
                    "case.assignment_skipped",
                    SubjectKind::Case,
                    case_id,
                    json!({"institution": i.slug, "reason": "reporter's own organisation"}),
                ));
            } else {
                events.push(event(
                    "case.assigned",
                    SubjectKind::Case,
                    case_id,
                    json!({"institution": i.slug}),
                ));
                case.assigned_to = Some(i);
                case.status = CaseStatus::Assigned;
            }
        }
        Ok(CaseOutcome {
            next: case,
            measures: vec![],
            events,
        })
    }

    /// A reviewer or admin of a telecom authority over the case's province, while the case
    /// awaits determination.
    pub(crate) fn may_assign(&self, actor: &Actor) -> Result<(), Refusal> {
        let org = member_org(actor)?;
        if !(actor.has_role(Role::Reviewer) || actor.has_role(Role::Admin)) {
            return refuse(
                RefusalCode::Role,
                "assigning a case needs the reviewer or admin role of a telecom authority",
            );
        }
        require_authority_over(org, self.province)?;
        if !matches!(
            self.status,
            CaseStatus::Submitted | CaseStatus::Assigned | CaseStatus::MoreInfo
        ) {
            return refuse(
                RefusalCode::State,
                format!("a {} case cannot be reassigned", self.status.as_str()),
            );
        }
        Ok(())
    }

    /// An analyst of the assigned institution, which did not report the threat, while the
    /// case is assigned.
    pub(crate) fn may_determine<'a>(&self, actor: &'a Actor) -> Result<&'a OrgRef, Refusal> {
        let org = require_role(actor, Role::Analyst)?;
        let Some(assigned) = &self.assigned_to else {
            return refuse(
                RefusalCode::State,
                "the case is not assigned to an institution",
            );
        };
        require_org(org, assigned, "determine this case")?;
        if self.reporter_orgs.contains(&org.id) {
            return refuse(
                RefusalCode::SeparationOfDuties,
                format!("{} reported this threat and cannot determine it", org.slug),
            );
        }
        if self.status != CaseStatus::Assigned {
            return refuse(
                RefusalCode::State,
                format!("a {} case cannot be determined", self.status.as_str()),
            );
        }
        Ok(org)
    }

    /// A reviewer of the competent authority, neither the determining organisation nor its
    /// analyst, once the threat is confirmed.
    /// Art. 8(3): a remediation for a Party/government organ or CII operator notifies the
    /// victim's own superior unit (when its superior is on record, that one and no other)
    /// and the cyberspace administration of the victim's province or of the nation.
    fn check_art_8_3(&self, notify: &[OrgRef], facts: &Art83Facts) -> Result<(), Refusal> {
        let superior = facts.victim_superior.as_deref().or(self
            .victim
            .as_ref()
            .and_then(|v| v.supervising_org.as_deref()));
        match superior {
            Some(slug) if !notify.iter().any(|o| o.slug == slug) => {
                return refuse(
                    RefusalCode::Invalid,
                    format!(
                        "Art. 8(3): the victim's superior unit is {slug}; notify it (another {} does not stand in for it)",
                        OrgType::SupervisingUnit
                    ),
                );
            }
            Some(_) => {}
            None if !notify
                .iter()
                .any(|o| o.org_type == OrgType::SupervisingUnit) =>
            {
                return refuse(
                    RefusalCode::Invalid,
                    format!(
                        "the victim is a Party/government organ or critical information infrastructure: Art. 8(3) requires notifying its superior unit (a {}); none is on record, so name it in notify",
                        OrgType::SupervisingUnit
                    ),
                );
            }
            None => {}
        }
        let cac_fits = |o: &OrgRef| {
            o.org_type == OrgType::CyberspaceAdmin
                && (o.slug == NATIONAL_CAC
                    || facts
                        .cac_provinces
                        .iter()
                        .any(|(slug, p)| *slug == o.slug && p.is_some() && *p == self.province))
        };
        if !notify.iter().any(cac_fits) {
            return refuse(
                RefusalCode::Invalid,
                format!(
                    "Art. 8(3) requires notifying the {} of the victim's province or of the nation",
                    OrgType::CyberspaceAdmin
                ),
            );
        }
        Ok(())
    }

    pub(crate) fn may_decide<'a>(
        &self,
        actor: &'a Actor,
    ) -> Result<(&'a OrgRef, &Determination), Refusal> {
        let org = require_role(actor, Role::Reviewer)?;
        require_authority_over(org, self.province)?;
        if self.national && org.org_type != OrgType::Ministry {
            return refuse(
                RefusalCode::Jurisdiction,
                "a level I or II incident is decided by MIIT under the national emergency plan (Art. 13); the province follows its measures",
            );
        }
        if self.status != CaseStatus::Determined {
            return refuse(
                RefusalCode::State,
                format!(
                    "a {} case cannot be decided: it needs a confirmed determination",
                    self.status.as_str()
                ),
            );
        }
        let Some(det) = &self.determination else {
            return refuse(RefusalCode::State, "the case has no determination");
        };
        if det.org.id == org.id {
            return refuse(
                RefusalCode::SeparationOfDuties,
                "the organisation that determined a case cannot decide it",
            );
        }
        if actor.principal_id() == Some(det.analyst_id) {
            return refuse(
                RefusalCode::SeparationOfDuties,
                "the analyst who determined a case cannot decide it",
            );
        }
        Ok((org, det))
    }

    pub fn apply(
        &self,
        actor: &Actor,
        cmd: CaseCommand,
        ctx: Context<'_>,
    ) -> Result<CaseOutcome, Refusal> {
        let mut next = self.clone();
        next.updated_at = ctx.now;
        let mut measures = vec![];
        let ev =
            |name: &str, data: serde_json::Value| event(name, SubjectKind::Case, self.id, data);
        let events = match cmd {
            CaseCommand::AddReport { report } => {
                let org = require_role(actor, Role::Reporter)?;
                require_org(org, &report.reporter, "file this report")?;
                if matches!(self.status, CaseStatus::Rejected | CaseStatus::Dismissed) {
                    return refuse(
                        RefusalCode::State,
                        "the case is closed as not a threat or dismissed; a new report opens a new case",
                    );
                }
                if self.report_ids.contains(&report.id) {
                    return refuse(RefusalCode::State, "the report is already part of the case");
                }
                let undetermined = matches!(
                    self.status,
                    CaseStatus::Submitted | CaseStatus::Assigned | CaseStatus::MoreInfo
                );
                if undetermined && self.assigned_to.as_ref().is_some_and(|i| i.id == org.id) {
                    // A sighting by the assigned institution would let it determine its own report.
                    return refuse(
                        RefusalCode::SeparationOfDuties,
                        "the institution determining this case cannot add its own report to it",
                    );
                }
                next.report_ids.push(report.id);
                next.reporter_orgs.insert(org.id);
                next.indicators
                    .extend(report.content.indicators.iter().cloned());
                // The case is shared no wider than its most restrictive report.
                let tlp = report.content.tlp;
                next.tlp = self.tlp.max(tlp);
                next.widest_tlp = Some(self.widest_tlp.unwrap_or(self.tlp).min(tlp));
                vec![
                    event(
                        "report.submitted",
                        SubjectKind::Report,
                        report.id,
                        json!({"case_id": self.id, "reporter": org.slug}),
                    ),
                    ev(
                        "case.sighting_added",
                        json!({"report_id": report.id, "reporter": org.slug, "tlp": next.tlp}),
                    ),
                ]
            }
            CaseCommand::Assign { institution } => {
                self.may_assign(actor)?;
                require_type(
                    &institution,
                    OrgType::Institution,
                    "the assigned organisation",
                )?;
                if self.reporter_orgs.contains(&institution.id) {
                    return refuse(
                        RefusalCode::SeparationOfDuties,
                        format!(
                            "{} reported this threat and cannot determine it",
                            institution.slug
                        ),
                    );
                }
                let from = self.assigned_to.as_ref().map(|i| i.slug.clone());
                next.status = if self.status == CaseStatus::MoreInfo {
                    CaseStatus::MoreInfo
                } else {
                    CaseStatus::Assigned
                };
                let data = json!({"institution": institution.slug, "from": from});
                next.assigned_to = Some(institution);
                vec![ev("case.assigned", data)]
            }
            CaseCommand::Refer { to, reasons } => {
                let org = require_role(actor, Role::Reviewer)?;
                require_authority_over(org, self.province)?;
                require_text("reasons", &reasons, 20_000)?;
                if matches!(
                    self.status,
                    CaseStatus::Decided | CaseStatus::Dismissed | CaseStatus::Rejected
                ) {
                    return refuse(
                        RefusalCode::State,
                        format!("a {} case is not referred", self.status.as_str()),
                    );
                }
                if to == self.province {
                    return refuse(
                        RefusalCode::Invalid,
                        "the case already lies with that authority",
                    );
                }
                let from = self.province.map(|p| p.to_string());
                next.province = to;
                // MIIT handing a case back to a province ends the national handling.
                next.national = false;
                vec![ev(
                    "case.referred",
                    json!({"from": from, "to": to.map(|p| p.to_string()), "reasons": reasons, "by": org.slug}),
                )]
            }
            CaseCommand::Determine {
                verdict,
                severity,
                incident_level,
                rationale,
                recommended_measures,
                malware_family,
            } => {
                let org = self.may_determine(actor)?;
                require_text("rationale", &rationale, 20_000)?;
                let malware_family = match malware_family.as_deref().map(str::trim) {
                    None | Some("") => None,
                    Some(f) if f.chars().count() > 200 => {
                        return refuse(
                            RefusalCode::Invalid,
                            "malware_family is longer than 200 characters",
                        );
                    }
                    Some(f) => Some(f.to_owned()),
                };
                if verdict == Verdict::Confirmed && severity.is_none() {
                    return refuse(RefusalCode::Invalid, "a confirmed threat needs a severity");
                }
                if verdict != Verdict::Confirmed && !recommended_measures.is_empty() {
                    return refuse(
                        RefusalCode::Invalid,
                        "measures are recommended only for a confirmed threat",
                    );
                }
                next.status = match verdict {
                    Verdict::Confirmed => CaseStatus::Determined,
                    Verdict::NotAThreat => CaseStatus::Rejected,
                    Verdict::MoreInfo => CaseStatus::MoreInfo,
                };
                let d = Determination {
                    analyst_id: actor.principal_id().unwrap_or_default(),
                    org: org.clone(),
                    verdict,
                    severity,
                    incident_level,
                    rationale,
                    recommended_measures,
                    malware_family,
                    at: ctx.now,
                };
                let data = serde_json::to_value(&d).unwrap_or_default();
                let referral = (verdict == Verdict::Confirmed
                    && incident_level.is_some_and(IncidentLevel::is_emergency)
                    && !self.national
                    && self.province.is_some())
                .then(|| {
                    ev(
                        "case.referred",
                        json!({
                            "from": self.province.map(|p| p.to_string()),
                            "to": "miit",
                            "automatic": true,
                            "reasons": format!(
                                "Art. 13: a level {} incident is handled under the national emergency plan; MIIT decides, the province follows its measures",
                                incident_level.map(|l| format!("{l:?}")).unwrap_or_default()
                            ),
                        }),
                    )
                });
                next.national |= referral.is_some();
                next.determination = Some(d);
                let mut events = vec![ev("case.determined", data)];
                events.extend(referral);
                events
            }
            CaseCommand::ProvideInfo { note } => {
                let org = require_role(actor, Role::Reporter)?;
                if !self.reporter_orgs.contains(&org.id) {
                    return refuse(
                        RefusalCode::Organisation,
                        format!("{} did not report this case", org.slug),
                    );
                }
                if self.status != CaseStatus::MoreInfo {
                    return refuse(RefusalCode::State, "no information was asked for");
                }
                require_text("note", &note, 20_000)?;
                next.status = CaseStatus::Assigned;
                vec![ev(
                    "case.info_provided",
                    json!({"note": note, "by": org.slug}),
                )]
            }
            CaseCommand::Decide {
                outcome,
                reasons,
                measures: specs,
                notify,
                art_8_3,
            } => {
                let (org, det) = self.may_decide(actor)?;
                require_text("reasons", &reasons, 20_000)?;
                let mut notified = vec![];
                match outcome {
                    DecisionOutcome::Approved => {
                        if specs.is_empty() {
                            return refuse(
                                RefusalCode::Invalid,
                                "an approval needs at least one measure",
                            );
                        }
                        let severity = det.severity.unwrap_or(Severity::Medium);
                        let emergency = det.incident_level.is_some_and(IncidentLevel::is_emergency);
                        let needs_extra = self
                            .victim
                            .as_ref()
                            .is_some_and(|v| v.kind.needs_extra_notices())
                            && specs.iter().any(|s| s.kind == MeasureKind::Remediate);
                        if needs_extra {
                            self.check_art_8_3(&notify, &art_8_3)?;
                        }
                        notified = notify;
                        for (i, s) in specs.into_iter().enumerate() {
                            let m = Measure::issue(self, org, det, s, severity, emergency, ctx)
                                .map_err(|r| Refusal {
                                    code: r.code,
                                    message: format!("measures[{i}]: {}", r.message),
                                })?;
                            measures.push(m);
                        }
                        next.status = CaseStatus::Decided;
                    }
                    DecisionOutcome::Dismissed | DecisionOutcome::Returned => {
                        if !specs.is_empty() {
                            return refuse(
                                RefusalCode::Invalid,
                                "measures belong only to an approval",
                            );
                        }
                        next.status = if outcome == DecisionOutcome::Dismissed {
                            CaseStatus::Dismissed
                        } else {
                            CaseStatus::Assigned
                        };
                    }
                }
                let decision = Decision {
                    reviewer_id: actor.principal_id().unwrap_or_default(),
                    org: org.clone(),
                    outcome,
                    reasons,
                    measure_ids: measures.iter().map(|m| m.id).collect(),
                    notified,
                    policy_version: ctx.rules.version.clone(),
                    at: ctx.now,
                };
                let mut evs = vec![ev(
                    "case.decided",
                    serde_json::to_value(&decision).unwrap_or_default(),
                )];
                if outcome == DecisionOutcome::Returned {
                    // The old determination stays in the trail; a new one is needed.
                    next.determination = None;
                    next.decision = None;
                } else {
                    next.decision = Some(decision);
                }
                for m in &measures {
                    evs.push(event(
                        "measure.issued",
                        SubjectKind::Measure,
                        m.id,
                        json!({
                            "case_id": self.id, "kind": m.kind, "target": m.target,
                            "scope": m.scope, "range_last": m.range_last,
                            "recipient": m.recipient.slug, "deadline": m.deadline_rfc3339(),
                            "notice_id": m.notice_id, "emergency": m.emergency,
                            // A block on an allow-listed target: the guards hit and the reason.
                            "allowlist_override": m.allowlist_override,
                        }),
                    ));
                }
                evs
            }
        };
        Ok(CaseOutcome {
            next,
            measures,
            events,
        })
    }
}

/// The measures a decision issues (Art. 8), each checked against its case and policy.
impl Measure {
    pub(crate) fn issue(
        case: &Case,
        deciding_org: &OrgRef,
        det: &Determination,
        spec: MeasureSpec,
        severity: Severity,
        emergency: bool,
        ctx: Context<'_>,
    ) -> Result<Measure, Refusal> {
        let r = &spec.recipient;
        if r.org_type.is_authority() || r.org_type == OrgType::Institution {
            return refuse(
                RefusalCode::Invalid,
                format!(
                    "the recipient {} is a {}: measures go to the organisations that carry them out",
                    r.slug, r.org_type
                ),
            );
        }
        let mut block = None;
        if spec.kind == MeasureKind::Block {
            let Some(target) = &spec.target else {
                return refuse(RefusalCode::Invalid, "a block measure needs a target");
            };
            let Some(days) = ctx.rules.block_expiry_days(target.kind()) else {
                return refuse(
                    RefusalCode::Invalid,
                    format!(
                        "a {} cannot be blocked under Art. 8(1): targets are IP addresses, broadband accounts, domains, URLs, e-mail addresses and phone numbers",
                        target.kind()
                    ),
                );
            };
            let scope = spec
                .scope
                .unwrap_or(TargetScope::default_for(target.kind()));
            if let Err(e) = scope.check(target, spec.range_last.as_ref()) {
                return refuse(RefusalCode::Invalid, e);
            }
            if !spec.allowlist_hits.is_empty() {
                let reason = spec.allowlist_override.as_deref().unwrap_or("").trim();
                if reason.is_empty() {
                    let hits: Vec<String> = spec
                        .allowlist_hits
                        .iter()
                        .map(|h| format!("{} ({}: {})", h.entry, h.list, h.source))
                        .collect();
                    return refuse(
                        RefusalCode::Allowlisted,
                        format!(
                            "{} is on an allow-list: {}; if the block is right all the same, give allowlist_override with the reason",
                            target.value(),
                            hits.join("; ")
                        ),
                    );
                }
            }
            block = Some(BlockState {
                status: BlockStatus::Active,
                expires_at: ctx.now + Duration::days(i64::from(days)),
                review_requested: false,
            });
        }
        let (deadline, deadline_provisional) = match spec.deadline {
            Some(d) if d <= ctx.now => {
                return refuse(
                    RefusalCode::Window,
                    format!("the deadline {d} is not in the future"),
                );
            }
            Some(d) => (d, false),
            None => {
                let r = ctx
                    .rules
                    .deadline(spec.kind, severity, emergency, ctx.now, ctx.calendar);
                (r.value, r.provisional)
            }
        };
        let written_notice_due = emergency.then(|| {
            ctx.rules
                .written_notice_within
                .after(ctx.now, ctx.calendar)
                .value
        });
        if spec.kind != MeasureKind::Block && (spec.scope.is_some() || spec.range_last.is_some()) {
            return refuse(
                RefusalCode::Invalid,
                "scope and range_last belong to block measures only",
            );
        }
        let allowlist_override = match (&block, spec.allowlist_hits.is_empty()) {
            (Some(_), false) => Some(AllowlistOverride {
                hits: spec.allowlist_hits,
                reason: spec
                    .allowlist_override
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
            }),
            _ => None,
        };
        let instructions = match spec.instructions.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(t) if t.chars().count() > 5_000 => {
                return refuse(
                    RefusalCode::Invalid,
                    "instructions are longer than 5000 characters",
                );
            }
            Some(t) => Some(t.to_owned()),
        };
        let scope = block
            .as_ref()
            .and(spec.target.as_ref())
            .map(|t| spec.scope.unwrap_or(TargetScope::default_for(t.kind())));
        Ok(Measure {
            id: spec.id,
            case_id: case.id,
            notice_id: spec.notice_id,
            kind: spec.kind,
            target: spec.target,
            scope,
            range_last: spec.range_last,
            allowlist_override,
            instructions,
            recipient: spec.recipient,
            deciding_org: deciding_org.clone(),
            determining_org: det.org.clone(),
            province: case.province,
            decided_at: ctx.now,
            deadline,
            deadline_provisional,
            emergency,
            written_notice_due,
            phone_notifications: vec![],
            // Emergencies (Art. 8 last paragraph): the authority telephones first and the
            // signed written notice follows; until one of them reaches the recipient, its
            // time has not begun.
            written_notice_pending: emergency,
            written_notice_at: (!emergency).then_some(ctx.now),
            clock_started_at: (!emergency).then_some(ctx.now),
            written_notice_overdue: false,
            reminded: false,
            status: if emergency {
                NoticeStatus::Pending
            } else {
                NoticeStatus::Issued
            },
            delivered_at: None,
            acknowledged_at: None,
            overdue: false,
            block,
            probe: None,
            feedback: vec![],
            verifications: vec![],
            policy_version: ctx.rules.version.clone(),
        })
    }
}
