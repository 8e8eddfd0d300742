//! Enforcement (Art. 12): a recipient that does not carry out a notice may be summoned for
//! talks (约谈), warned or fined under the Cybersecurity Law (arts. 56, 59, 60, 68 as the
//! measures cite them; the penalty table says what each allows in the text in force). A
//! record is raised when a notice goes overdue, when a verification finds the measure not
//! carried out, and when an organisation fails repeatedly within a period (policy); the
//! deciding authority records what it did about it, naming the responsible person if any.

use super::common::*;
use super::measure::Measure;
use crate::org::{Actor, OrgRef, Province, Role};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EnforcementReason {
    /// The deadline passed without feedback.
    Overdue,
    /// The institution's verification found the measure not carried out (Art. 9).
    VerificationFailed,
    /// The organisation failed this many times within the policy's period.
    RepeatedFailures,
}

/// Talks, warnings and fines: the penalty table says which article allows which.
pub use crate::penalties::ActionKind;

/// A person directly responsible (直接负责的主管人员和其他直接责任人员), named in an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResponsiblePerson {
    pub name: String,
    /// Their post in the organisation.
    #[serde(default)]
    pub position: String,
    /// Their own fine, in yuan, within the range the article sets for persons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_yuan: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnforcementAction {
    pub kind: ActionKind,
    /// The article of the Cybersecurity Law it rests on (`csl-61`; records made before the
    /// penalty table was kept name the 2017 number, `csl-59`).
    pub basis: String,
    /// Fines only, in yuan.
    pub amount_yuan: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responsible_person: Option<ResponsiblePerson>,
    /// The penalty table the action was checked against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub law_version: Option<String>,
    pub notes: String,
    pub by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// What a reviewer records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionDraft {
    pub kind: ActionKind,
    pub basis: String,
    pub amount_yuan: Option<u64>,
    pub responsible_person: Option<ResponsiblePerson>,
    pub notes: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Enforcement {
    pub id: Uuid,
    pub measure_id: Uuid,
    pub case_id: Uuid,
    /// The organisation that did not carry out the notice.
    pub org: OrgRef,
    /// The authority that decided the measure, and acts on the record.
    pub authority: OrgRef,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub province: Option<Province>,
    pub reason: EnforcementReason,
    #[serde(with = "time::serde::rfc3339")]
    pub raised_at: OffsetDateTime,
    pub actions: Vec<EnforcementAction>,
    /// For a repeated-failure record: how many failures in how many days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeated: Option<Repetition>,
}

/// The failures behind a repeated-failure record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Repetition {
    pub failures: u32,
    pub within_days: u32,
}

impl Enforcement {
    /// Raised by the platform: by the deadline job when a notice becomes overdue, when a
    /// verification fails, or when an organisation's failures repeat (`repeated`).
    pub fn raise(
        actor: &Actor,
        id: Uuid,
        measure: &Measure,
        reason: EnforcementReason,
        now: OffsetDateTime,
    ) -> Result<Outcome<Enforcement>, Refusal> {
        if !matches!(actor, Actor::System { .. }) {
            return refuse(
                RefusalCode::Role,
                "enforcement records are raised by the platform",
            );
        }
        let holds = match reason {
            EnforcementReason::Overdue => measure.overdue,
            EnforcementReason::VerificationFailed => measure
                .verifications
                .last()
                .is_some_and(|v| v.result == super::measure::VerificationResult::Failed),
            EnforcementReason::RepeatedFailures => true,
        };
        if !holds {
            return refuse(
                RefusalCode::State,
                format!("the notice gives no ground for a {reason:?} record"),
            );
        }
        let e = Enforcement {
            id,
            measure_id: measure.id,
            case_id: measure.case_id,
            org: measure.recipient.clone(),
            authority: measure.deciding_org.clone(),
            province: measure.province,
            reason,
            raised_at: now,
            actions: vec![],
            repeated: None,
        };
        let events = vec![event(
            "enforcement.raised",
            SubjectKind::Enforcement,
            id,
            json!({"measure_id": measure.id, "org": e.org.slug, "reason": e.reason}),
        )];
        Ok(Outcome { next: e, events })
    }

    /// The record of an organisation's repeated failures, `measure` being the latest.
    pub fn raise_repeated(
        actor: &Actor,
        id: Uuid,
        measure: &Measure,
        repetition: Repetition,
        now: OffsetDateTime,
    ) -> Result<Outcome<Enforcement>, Refusal> {
        let mut out =
            Enforcement::raise(actor, id, measure, EnforcementReason::RepeatedFailures, now)?;
        out.next.repeated = Some(repetition);
        for e in &mut out.events {
            e.data["failures"] = json!(repetition.failures);
            e.data["within_days"] = json!(repetition.within_days);
        }
        Ok(out)
    }

    /// Whether `earlier` records of one organisation (with the one just raised) make a
    /// repeated failure under policy: `threshold` failures within `within_days`, and no
    /// repeated-failure record for it in that period yet. The count, if so.
    pub fn repetition(
        earlier: &[&Enforcement],
        threshold: u32,
        within_days: u32,
        now: OffsetDateTime,
    ) -> Option<u32> {
        let since = now - time::Duration::days(i64::from(within_days));
        let recent = earlier.iter().filter(|e| e.raised_at >= since);
        let (mut failures, mut already) = (0u32, false);
        for e in recent {
            match e.reason {
                EnforcementReason::RepeatedFailures => already = true,
                _ => failures += 1,
            }
        }
        (threshold > 0 && failures >= threshold && !already).then_some(failures)
    }

    /// A reviewer of the deciding authority, or of the ministry.
    pub(crate) fn may_record<'a>(&self, actor: &'a Actor) -> Result<&'a OrgRef, Refusal> {
        let org = require_role(actor, Role::Reviewer)?;
        let national = org.jurisdiction == Some(crate::org::Jurisdiction::National);
        if org.id != self.authority.id && !national {
            return refuse(
                RefusalCode::Organisation,
                format!(
                    "only {} or the ministry may act on this record",
                    self.authority.slug
                ),
            );
        }
        Ok(org)
    }

    /// The deciding authority (or MIIT) records a talk, a warning or a fine, as the article
    /// of the penalty table it cites allows.
    pub fn record(
        &self,
        actor: &Actor,
        draft: ActionDraft,
        table: &crate::penalties::PenaltyTable,
        now: OffsetDateTime,
    ) -> Result<Outcome<Enforcement>, Refusal> {
        self.may_record(actor)?;
        require_text("notes", &draft.notes, 20_000)?;
        let person = match draft.responsible_person {
            Some(mut p) => {
                p.name = p.name.trim().to_owned();
                p.position = p.position.trim().to_owned();
                require_text("responsible_person.name", &p.name, 200)?;
                if p.position.chars().count() > 200 {
                    return refuse(
                        RefusalCode::Invalid,
                        "responsible_person.position is longer than 200 characters",
                    );
                }
                Some(p)
            }
            None => None,
        };
        let article = table
            .check(crate::penalties::Penalty {
                kind: draft.kind,
                basis: &draft.basis,
                amount_yuan: draft.amount_yuan,
                person_amount_yuan: person.as_ref().and_then(|p| p.amount_yuan),
            })
            .map_err(|message| Refusal {
                code: RefusalCode::Invalid,
                message,
            })?;
        let mut next = self.clone();
        let action = EnforcementAction {
            kind: draft.kind,
            basis: article.key.clone(),
            amount_yuan: draft.amount_yuan,
            responsible_person: person,
            law_version: Some(table.version.clone()),
            notes: draft.notes,
            by: actor.principal_id().unwrap_or_default(),
            at: now,
        };
        let data = serde_json::to_value(&action).unwrap_or_default();
        next.actions.push(action);
        Ok(Outcome {
            next,
            events: vec![event(
                "enforcement.action_recorded",
                SubjectKind::Enforcement,
                self.id,
                data,
            )],
        })
    }
}

/// Who may read enforcement records: the authorities over the province, and the organisation
/// concerned (its own compliance record).
pub fn can_view_enforcement(actor: &Actor, e: &Enforcement) -> bool {
    match actor {
        Actor::System { .. } => true,
        Actor::Public => false,
        Actor::Principal { org, .. } => {
            org.id == e.org.id
                || (org.org_type.is_authority()
                    && org.jurisdiction.is_some_and(|j| j.covers(e.province)))
        }
    }
}
