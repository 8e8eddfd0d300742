//! Who may read what. Like the transitions, these rules live in the core so that every
//! entry point (API, TAXII, console, exports) applies the same ones.

use super::appeal::Appeal;
use super::case::{Case, Report, Verdict};
use super::common::*;
use super::measure::Measure;
use crate::org::{Actor, OrgRef, OrgType, Province, Role};
use uuid::Uuid;

/// The cases an actor may list: the filter the store must apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseScope {
    All,
    /// A provincial authority: cases located in its province.
    Province(Province),
    /// An institution: cases assigned to it.
    AssignedTo(Uuid),
    /// Any other member: cases its own reports are part of.
    ReportedBy(Uuid),
}

pub fn case_scope(actor: &Actor) -> Option<CaseScope> {
    match actor {
        Actor::System { .. } => Some(CaseScope::All),
        Actor::Public => None,
        Actor::Principal { org, .. } => Some(match (org.org_type, org.jurisdiction) {
            (OrgType::Ministry, _) => CaseScope::All,
            (OrgType::ProvincialAuthority, Some(crate::org::Jurisdiction::Province(p))) => {
                CaseScope::Province(p)
            }
            (OrgType::ProvincialAuthority, _) => return None,
            (OrgType::Institution, _) => CaseScope::AssignedTo(org.id),
            _ => CaseScope::ReportedBy(org.id),
        }),
    }
}

/// The measures (notices) an actor may list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeasureScope {
    All,
    Province(Province),
    /// The institution that determined the case verifies its measures.
    Determiner(Uuid),
    /// Everyone else: the notices addressed to them.
    Recipient(Uuid),
}

pub fn measure_scope(actor: &Actor) -> Option<MeasureScope> {
    match actor {
        Actor::System { .. } => Some(MeasureScope::All),
        Actor::Public => None,
        Actor::Principal { org, .. } => Some(match (org.org_type, org.jurisdiction) {
            (OrgType::Ministry, _) => MeasureScope::All,
            (OrgType::ProvincialAuthority, Some(crate::org::Jurisdiction::Province(p))) => {
                MeasureScope::Province(p)
            }
            (OrgType::ProvincialAuthority, _) => return None,
            (OrgType::Institution, _) => MeasureScope::Determiner(org.id),
            _ => MeasureScope::Recipient(org.id),
        }),
    }
}

fn authority_over(org: &OrgRef, province: Option<Province>) -> bool {
    org.org_type.is_authority() && org.jurisdiction.is_some_and(|j| j.covers(province))
}

/// Authorities over its province, the institution it is or was assigned to, and the
/// organisations whose reports it holds.
pub fn can_view_case(actor: &Actor, case: &Case) -> bool {
    match actor {
        Actor::System { .. } => true,
        Actor::Public => false,
        Actor::Principal { org, .. } => {
            authority_over(org, case.province)
                || case.assigned_to.as_ref().is_some_and(|i| i.id == org.id)
                || case
                    .determination
                    .as_ref()
                    .is_some_and(|d| d.org.id == org.id)
                || case.reporter_orgs.contains(&org.id)
        }
    }
}

/// Those who handle a case: the authorities over its province and the institution it is or
/// was assigned to. They see every report of it; a reporter sees only its own (TLP: one
/// reporter's amber or red report is not shared with another reporter of the same threat).
pub fn case_insider(actor: &Actor, case: &Case) -> bool {
    match actor {
        Actor::System { .. } => true,
        Actor::Public => false,
        Actor::Principal { org, .. } => {
            authority_over(org, case.province)
                || case.assigned_to.as_ref().is_some_and(|i| i.id == org.id)
                || case
                    .determination
                    .as_ref()
                    .is_some_and(|d| d.org.id == org.id)
        }
    }
}

/// A report: its own organisation, and those who handle its case.
pub fn can_view_report(actor: &Actor, report: &Report, case: Option<&Case>) -> bool {
    match actor {
        Actor::System { .. } => true,
        Actor::Public => false,
        Actor::Principal { org, .. } => {
            report.reporter.id == org.id
                || case.is_some_and(|c| case_insider(actor, c))
                || (report.case_id.is_none() && authority_over(org, report.content.province))
        }
    }
}

/// The case as a reporter who does not handle it sees it: its progress and outcome, and only
/// what its own reports brought in; not the reasoning, the recommended or decided measures,
/// nor whom Art. 8(3) notified (a request for more information excepted). The marking is the
/// most restrictive of those reports'.
pub fn case_for_reporter(case: &Case, own_reports: &[&Report]) -> Case {
    let mut c = case.clone();
    c.indicators = own_reports
        .iter()
        .flat_map(|r| r.content.indicators.iter().cloned())
        .collect();
    c.report_ids = own_reports.iter().map(|r| r.id).collect();
    c.reporter_orgs = own_reports.iter().map(|r| r.reporter.id).collect();
    if let Some(first) = own_reports.first() {
        c.victim = first.content.victim.clone();
        c.title = first.content.title.clone();
    }
    if let Some(tlp) = own_reports.iter().map(|r| r.content.tlp).max() {
        c.tlp = tlp;
        c.widest_tlp = own_reports.iter().map(|r| r.content.tlp).min();
    }
    // The outcome, not the institution's or the authority's reasoning: that may rest on
    // other parties' reports. A request for more information is the reporter's to read.
    if let Some(d) = c.determination.as_mut() {
        d.recommended_measures.clear();
        if d.verdict != Verdict::MoreInfo {
            d.rationale.clear();
        }
    }
    if let Some(d) = c.decision.as_mut() {
        d.reasons.clear();
        d.measure_ids.clear();
        d.notified.clear();
    }
    c
}

/// Whether any report of the case allows sharing with every member (TLP:CLEAR or GREEN);
/// cases written before the widest level was kept fall back to the case's own marking.
pub fn shareable_with_members(case: &Case) -> bool {
    case.widest_tlp.unwrap_or(case.tlp) <= Tlp::Green
}

/// A measure and its notice: the recipient, the deciding authority, the verifying
/// institution, and authorities over the province.
pub fn can_view_measure(actor: &Actor, m: &Measure) -> bool {
    match actor {
        Actor::System { .. } => true,
        Actor::Public => false,
        Actor::Principal { org, .. } => {
            // On the emergency path nothing reaches the recipient before the call or the
            // written notice.
            (m.recipient.id == org.id && m.status != super::measure::NoticeStatus::Pending)
                || m.deciding_org.id == org.id
                || m.determining_org.id == org.id
                || authority_over(org, m.province)
        }
    }
}

/// The emergency path of a measure (whom to call, the calls, the written notice owed):
/// the deciding authority and the authorities over its province.
pub fn can_follow_emergency(actor: &Actor, m: &Measure) -> bool {
    m.emergency
        && match actor {
            Actor::System { .. } => true,
            Actor::Public => false,
            Actor::Principal { org, .. } => {
                m.deciding_org.id == org.id || authority_over(org, m.province)
            }
        }
}

/// An appeal: the deciding authority, the organisation that filed it, and authorities over
/// the measure's province.
pub fn can_view_appeal(actor: &Actor, a: &Appeal, m: &Measure) -> bool {
    match actor {
        Actor::System { .. } => true,
        Actor::Public => false,
        Actor::Principal { org, .. } => {
            a.deciding_org.id == org.id
                || a.filed_by_org.as_deref() == Some(org.slug.as_str())
                || authority_over(org, m.province)
        }
    }
}

/// The whole audit trail: auditors of the authorities and institutions, and admins of the
/// ministry. (Members' auditors will read the entries about their own organisation.)
pub fn can_read_audit(actor: &Actor) -> bool {
    match actor {
        Actor::System { .. } => true,
        Actor::Public => false,
        Actor::Principal { org, .. } => {
            let oversight = org.org_type.is_authority() || org.org_type == OrgType::Institution;
            (oversight && actor.has_role(Role::Auditor))
                || (org.org_type == OrgType::Ministry && actor.has_role(Role::Admin))
        }
    }
}

/// Moving a training instance's simulated clock (DESIGN §5.2): admins of the ministry only.
pub fn can_advance_clock(actor: &Actor) -> bool {
    matches!(actor, Actor::Principal { org, .. } if org.org_type == OrgType::Ministry)
        && actor.has_role(Role::Admin)
}

/// A notice: whoever may view its measure, and the organisation it is addressed to (an
/// Art. 8(3) notification reaches its addressee without opening the measure's other notices).
pub fn can_view_notice(actor: &Actor, addressee_slug: &str, m: &Measure) -> bool {
    can_view_measure(actor, m) || actor.org().is_some_and(|o| o.slug == addressee_slug)
}

/// Whose blocks an export may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlocklistScope {
    /// Every listed block (authorities, institutions).
    All,
    /// The blocks one organisation must enforce.
    Recipient(Uuid),
}

/// The blocklist an actor may export: authorities and institutions any recipient's or all;
/// every other member only its own (the default when it names none).
pub fn blocklist_scope(
    actor: &Actor,
    requested: Option<&OrgRef>,
) -> Result<BlocklistScope, Refusal> {
    let Actor::Principal { org, .. } = actor else {
        return match (actor, requested) {
            (Actor::System { .. }, None) => Ok(BlocklistScope::All),
            (Actor::System { .. }, Some(r)) => Ok(BlocklistScope::Recipient(r.id)),
            _ => refuse(RefusalCode::Role, "blocklists are for members"),
        };
    };
    let oversees = org.org_type.is_authority() || org.org_type == OrgType::Institution;
    match requested {
        None if oversees => Ok(BlocklistScope::All),
        None => Ok(BlocklistScope::Recipient(org.id)),
        Some(r) if oversees || r.id == org.id => Ok(BlocklistScope::Recipient(r.id)),
        Some(r) => refuse(
            RefusalCode::Organisation,
            format!(
                "{} may export only its own blocklist, not that of {}",
                org.slug, r.slug
            ),
        ),
    }
}

/// Whether an actor may ask what is listed. Listings are enforced in public networks and
/// published, so every member may; the public asks through the publications.
pub fn may_lookup(actor: &Actor) -> Result<(), Refusal> {
    match actor {
        Actor::Principal { .. } | Actor::System { .. } => Ok(()),
        Actor::Public => refuse(RefusalCode::Role, "lookups are for members"),
    }
}

/// Sending a bulk feed: reporters of a member (the feed's indicators are that member's
/// monitoring findings, counted as its sightings).
pub fn may_import(actor: &Actor) -> Result<(), Refusal> {
    match actor {
        Actor::System { .. } => Ok(()),
        Actor::Public => refuse(RefusalCode::Role, "feeds are sent by members"),
        Actor::Principal { .. } if actor.has_role(Role::Reporter) => Ok(()),
        Actor::Principal { .. } => {
            refuse(RefusalCode::Role, "sending a feed needs the reporter role")
        }
    }
}

/// An import and its rejects: the organisation that sent it, and the ministry.
pub fn can_view_import(actor: &Actor, importer: Uuid) -> bool {
    match actor {
        Actor::System { .. } => true,
        Actor::Public => false,
        Actor::Principal { org, .. } => org.id == importer || org.org_type == OrgType::Ministry,
    }
}

/// What of a case version the TAXII threats collection shares with an actor, if anything:
/// those who handle the case see it whole; every member sees a confirmed threat as its
/// TLP:CLEAR and TLP:GREEN reports made it (each indicator keeps the level of the reports
/// that brought it, so a later TLP:RED report adds nothing there); a reporter sees the case
/// as its own reports made it (`case_for_reporter`). `reports` are the case's reports.
pub fn shared_threat(actor: &Actor, case: &Case, reports: &[&Report]) -> Option<Case> {
    if case_insider(actor, case) {
        return Some(case.clone());
    }
    let confirmed = case
        .determination
        .as_ref()
        .is_some_and(|d| d.verdict == Verdict::Confirmed);
    let org = actor.org()?;
    let visible: Vec<&Report> = reports
        .iter()
        .copied()
        .filter(|r| r.reporter.id == org.id || (confirmed && r.content.tlp <= Tlp::Green))
        .collect();
    let own = visible.iter().any(|r| r.reporter.id == org.id);
    if visible.is_empty() || (!own && !confirmed) {
        return None;
    }
    let mut shared = case_for_reporter(case, &visible);
    if !own {
        // Who reported it stays with those who handle the case.
        shared.reporter_orgs.clear();
    }
    Some(shared)
}
