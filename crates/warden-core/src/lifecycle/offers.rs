//! What a person may be offered: whether a step is open to them, for the forms and queues a
//! page shows. Each answer is the permission and state part of the step's own check (the
//! same guard the transition runs), so a form is offered exactly when the step could be
//! taken; the transition still checks the content when it is taken.

use super::appeal::Appeal;
use super::case::Case;
use super::common::*;
use super::enforcement::Enforcement;
use super::measure::Measure;
use crate::org::{Actor, OrgType, Role};

/// Why `actor` may not decide `case` now, if not: checked before anything about the
/// decision's content (its routing) is worked out, so a refusal reveals nothing of the case.
pub fn decide_refusal(actor: &Actor, case: &Case) -> Option<Refusal> {
    case.may_decide(actor).err()
}

/// Files threat reports: a reporter of a member organisation.
pub fn can_submit_reports(actor: &Actor) -> bool {
    require_role(actor, Role::Reporter).is_ok()
}

/// Determines cases: an analyst of an institution (the cases assigned to it).
pub fn can_determine_cases(actor: &Actor) -> bool {
    require_role(actor, Role::Analyst).is_ok_and(|o| o.org_type == OrgType::Institution)
}

/// Decides cases: a reviewer of a telecom authority (within its jurisdiction).
pub fn can_decide_cases(actor: &Actor) -> bool {
    authority_reviewer(actor)
}

/// Answers appeals (Art. 10): a reviewer of a telecom authority, for its own decisions.
pub fn can_answer_appeals(actor: &Actor) -> bool {
    authority_reviewer(actor)
}

/// Records talks, warnings and fines (Art. 12): a reviewer of a telecom authority.
pub fn can_act_on_enforcement(actor: &Actor) -> bool {
    authority_reviewer(actor)
}

fn authority_reviewer(actor: &Actor) -> bool {
    require_role(actor, Role::Reviewer).is_ok_and(|o| o.org_type.is_authority())
}

/// Carries out notices and reports back: a responder of a member organisation.
pub fn can_handle_notices(actor: &Actor) -> bool {
    require_role(actor, Role::Responder).is_ok()
}

/// Verifies the handling of notices: a verifier of an institution.
pub fn can_verify_notices(actor: &Actor) -> bool {
    require_role(actor, Role::Verifier).is_ok_and(|o| o.org_type == OrgType::Institution)
}

/// Assigns (or reassigns) this case to an institution.
pub fn can_assign(actor: &Actor, case: &Case) -> bool {
    case.may_assign(actor).is_ok()
}

/// Determines this case.
pub fn can_determine(actor: &Actor, case: &Case) -> bool {
    case.may_determine(actor).is_ok()
}

/// Decides this case.
pub fn can_decide(actor: &Actor, case: &Case) -> bool {
    case.may_decide(actor).is_ok()
}

/// Acknowledges this measure's notice.
pub fn can_acknowledge(actor: &Actor, m: &Measure) -> bool {
    m.may_acknowledge(actor).is_ok()
}

/// Reports back on this measure (Art. 9).
pub fn can_file_feedback(actor: &Actor, m: &Measure) -> bool {
    m.may_file_feedback(actor).is_ok()
}

/// Verifies this measure's handling, by hand or by probe.
pub fn can_verify(actor: &Actor, m: &Measure) -> bool {
    m.may_verify(actor).is_ok()
}

/// Records the telephone call of this emergency measure (Art. 8, 13).
pub fn can_record_phone_call(actor: &Actor, m: &Measure) -> bool {
    m.may_record_phone_call(actor).is_ok()
}

/// Issues the signed written notice still owed on the emergency path.
pub fn can_issue_written_notice(actor: &Actor, m: &Measure) -> bool {
    m.may_issue_written_notice(actor).is_ok()
}

/// Answers this appeal (Art. 10), while it is open.
pub fn can_answer_appeal(actor: &Actor, a: &Appeal) -> bool {
    a.may_answer(actor).is_ok() && !a.status.is_final()
}

/// Records a talk, warning or fine on this enforcement record (Art. 12).
pub fn can_record_action(actor: &Actor, e: &Enforcement) -> bool {
    e.may_record(actor).is_ok()
}

/// Issues bulletins to members and publications to the public (Art. 6).
pub fn can_issue_bulletins(actor: &Actor) -> bool {
    crate::bulletin::may_issue(actor).is_ok()
}
