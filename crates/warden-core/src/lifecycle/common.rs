//! What every lifecycle step shares: severities, measure kinds, incident levels, TLP, the
//! refusals with their stable codes, events and outcomes, and the checks of role,
//! organisation and jurisdiction that every transition makes.

use crate::org::{Actor, OrgRef, OrgType, Province, Role};
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }
}

/// Art. 8 (1)–(4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MeasureKind {
    /// (1) stop service or block a malicious IP/broadband account, domain, URL, e-mail, phone.
    Block,
    /// (2) remove malware spreading from the recipient's network, systems or sites.
    RemoveMalware,
    /// (3) remediate a vulnerable, backdoored, intruded or defaced service.
    Remediate,
    /// (4) other technical measures.
    Other,
}

impl MeasureKind {
    pub const ALL: [MeasureKind; 4] = [
        MeasureKind::Block,
        MeasureKind::RemoveMalware,
        MeasureKind::Remediate,
        MeasureKind::Other,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            MeasureKind::Block => "block",
            MeasureKind::RemoveMalware => "remove_malware",
            MeasureKind::Remediate => "remediate",
            MeasureKind::Other => "other",
        }
    }
}

/// Incident levels of the emergency plans (Art. 13): 特别重大 I, 重大 II, 较大 III, 一般 IV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum IncidentLevel {
    #[serde(rename = "I")]
    I,
    #[serde(rename = "II")]
    Ii,
    #[serde(rename = "III")]
    Iii,
    #[serde(rename = "IV")]
    Iv,
}

/// The warning colours of the emergency plans: red, orange, yellow, blue for levels I–IV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WarningColour {
    Red,
    Orange,
    Yellow,
    Blue,
}

impl IncidentLevel {
    pub fn warning_colour(self) -> WarningColour {
        match self {
            IncidentLevel::I => WarningColour::Red,
            IncidentLevel::Ii => WarningColour::Orange,
            IncidentLevel::Iii => WarningColour::Yellow,
            IncidentLevel::Iv => WarningColour::Blue,
        }
    }

    /// Levels I–II switch a case to the emergency path.
    pub fn is_emergency(self) -> bool {
        matches!(self, IncidentLevel::I | IncidentLevel::Ii)
    }
}

/// Traffic Light Protocol 2.0 marking of what a report may be shared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Tlp {
    Clear,
    Green,
    Amber,
    #[serde(rename = "amber+strict")]
    AmberStrict,
    Red,
}

/// Why a step was refused. The code is stable; clients branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalCode {
    /// The actor lacks the role the step needs.
    Role,
    /// The actor's organisation is not the one the step belongs to.
    Organisation,
    /// The case is outside the actor's authority's jurisdiction.
    Jurisdiction,
    /// Separation of duties: the same organisation or person may not do both steps.
    SeparationOfDuties,
    /// The object is not in a state where the step applies.
    State,
    /// A time window has closed (appeal window) or a time is out of range.
    Window,
    /// The command itself is not acceptable (missing or inconsistent content).
    Invalid,
    /// A block's target is on an allow-list and no override reason was given.
    Allowlisted,
}

impl RefusalCode {
    pub const ALL: [RefusalCode; 8] = [
        RefusalCode::Role,
        RefusalCode::Organisation,
        RefusalCode::Jurisdiction,
        RefusalCode::SeparationOfDuties,
        RefusalCode::State,
        RefusalCode::Window,
        RefusalCode::Invalid,
        RefusalCode::Allowlisted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RefusalCode::Role => "forbidden-role",
            RefusalCode::Organisation => "forbidden-organisation",
            RefusalCode::Jurisdiction => "forbidden-jurisdiction",
            RefusalCode::SeparationOfDuties => "separation-of-duties",
            RefusalCode::State => "invalid-state",
            RefusalCode::Window => "window-closed",
            RefusalCode::Invalid => "invalid-command",
            RefusalCode::Allowlisted => "allowlisted-target",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{message}")]
pub struct Refusal {
    pub code: RefusalCode,
    pub message: String,
}

pub(crate) fn refuse<T>(code: RefusalCode, message: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal {
        code,
        message: message.into(),
    })
}

/// What a transition records: a stable name, the object it concerns, and its details. The
/// store writes each with the actor and time into the audit trail, in the same transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub name: String,
    pub subject: Subject,
    pub data: serde_json::Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    #[serde(rename = "type")]
    pub kind: SubjectKind,
    pub id: Uuid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    Organisation,
    Principal,
    Token,
    Report,
    Case,
    Measure,
    Appeal,
    Enforcement,
    Bulletin,
    AllowlistEntry,
    ResourceClaim,
    Inquiry,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Organisation => "organisation",
            SubjectKind::Principal => "principal",
            SubjectKind::Token => "token",
            SubjectKind::Report => "report",
            SubjectKind::Case => "case",
            SubjectKind::Measure => "measure",
            SubjectKind::Appeal => "appeal",
            SubjectKind::Enforcement => "enforcement",
            SubjectKind::Bulletin => "bulletin",
            SubjectKind::AllowlistEntry => "allowlist_entry",
            SubjectKind::ResourceClaim => "resource_claim",
            SubjectKind::Inquiry => "inquiry",
        }
    }
}

impl fmt::Display for SubjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub fn event(name: &str, kind: SubjectKind, id: Uuid, data: serde_json::Value) -> Event {
    Event {
        name: name.to_owned(),
        subject: Subject { kind, id },
        data,
    }
}

/// The result of a transition: the new state, objects it creates, and the events to record.
#[derive(Debug, Clone)]
pub struct Outcome<T> {
    pub next: T,
    pub events: Vec<Event>,
}

/// The actor's organisation, refusing the platform and the public.
pub(crate) fn member_org(actor: &Actor) -> Result<&OrgRef, Refusal> {
    match actor.org() {
        Some(o) => Ok(o),
        None => refuse(
            RefusalCode::Role,
            format!("{} cannot perform this step", actor.label()),
        ),
    }
}

pub(crate) fn require_role(actor: &Actor, role: Role) -> Result<&OrgRef, Refusal> {
    let org = member_org(actor)?;
    if !actor.has_role(role) {
        return refuse(
            RefusalCode::Role,
            format!(
                "this step needs the {role} role, which {} does not have",
                actor.label()
            ),
        );
    }
    Ok(org)
}

pub(crate) fn require_org(actor_org: &OrgRef, org: &OrgRef, what: &str) -> Result<(), Refusal> {
    if actor_org.id != org.id {
        return refuse(
            RefusalCode::Organisation,
            format!("only {} may {what}, not {}", org.slug, actor_org.slug),
        );
    }
    Ok(())
}

/// A telecom authority whose jurisdiction covers `province` (MIIT covers everything).
pub(crate) fn require_authority_over(
    actor_org: &OrgRef,
    province: Option<Province>,
) -> Result<(), Refusal> {
    if !actor_org.org_type.is_authority() {
        return refuse(
            RefusalCode::Organisation,
            format!(
                "{} is a {}, not a telecom authority",
                actor_org.slug, actor_org.org_type
            ),
        );
    }
    let covered = actor_org.jurisdiction.is_some_and(|j| j.covers(province));
    if !covered {
        let place = province.map_or("more than one province".to_owned(), |p| {
            format!("province {p} ({})", p.name_en())
        });
        return refuse(
            RefusalCode::Jurisdiction,
            format!(
                "the case lies in {place}, outside the jurisdiction of {}",
                actor_org.slug
            ),
        );
    }
    Ok(())
}

pub(crate) fn require_type(org: &OrgRef, t: OrgType, what: &str) -> Result<(), Refusal> {
    if org.org_type != t {
        return refuse(
            RefusalCode::Invalid,
            format!(
                "{what} must be a {t}, and {} is a {}",
                org.slug, org.org_type
            ),
        );
    }
    Ok(())
}

pub(crate) fn require_text(field: &str, s: &str, max: usize) -> Result<(), Refusal> {
    if s.trim().is_empty() {
        return refuse(RefusalCode::Invalid, format!("{field} is required"));
    }
    if s.chars().count() > max {
        return refuse(
            RefusalCode::Invalid,
            format!("{field} is longer than {max} characters"),
        );
    }
    Ok(())
}
