//! Enforcement (Art. 12): a recipient that does not carry out a notice may be summoned for
//! talks (约谈), warned or fined under the Cybersecurity Law (arts. 56, 59, 60, 68). An
//! overdue notice raises a record; the deciding authority records what it did about it.

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ActionKind {
    /// 约谈
    Talk,
    /// 警告
    Warning,
    /// 罚款
    Fine,
}

/// The article of the Cybersecurity Law the action rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum LegalBasis {
    #[serde(rename = "csl-56")]
    Csl56,
    #[serde(rename = "csl-59")]
    Csl59,
    #[serde(rename = "csl-60")]
    Csl60,
    #[serde(rename = "csl-68")]
    Csl68,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnforcementAction {
    pub kind: ActionKind,
    pub basis: LegalBasis,
    /// Fines only, in yuan.
    pub amount_yuan: Option<u64>,
    pub notes: String,
    pub by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
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
}

impl Enforcement {
    /// Raised by the deadline job when a notice becomes overdue.
    pub fn raise(
        actor: &Actor,
        id: Uuid,
        measure: &Measure,
        now: OffsetDateTime,
    ) -> Result<Outcome<Enforcement>, Refusal> {
        if !matches!(actor, Actor::System { .. }) {
            return refuse(
                RefusalCode::Role,
                "enforcement records are raised by the deadline job",
            );
        }
        if !measure.overdue {
            return refuse(RefusalCode::State, "the notice is not overdue");
        }
        let e = Enforcement {
            id,
            measure_id: measure.id,
            case_id: measure.case_id,
            org: measure.recipient.clone(),
            authority: measure.deciding_org.clone(),
            province: measure.province,
            reason: EnforcementReason::Overdue,
            raised_at: now,
            actions: vec![],
        };
        let events = vec![event(
            "enforcement.raised",
            SubjectKind::Enforcement,
            id,
            json!({"measure_id": measure.id, "org": e.org.slug, "reason": e.reason}),
        )];
        Ok(Outcome { next: e, events })
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

    /// The deciding authority (or MIIT) records a talk, a warning or a fine.
    pub fn record(
        &self,
        actor: &Actor,
        kind: ActionKind,
        basis: LegalBasis,
        amount_yuan: Option<u64>,
        notes: String,
        now: OffsetDateTime,
    ) -> Result<Outcome<Enforcement>, Refusal> {
        self.may_record(actor)?;
        require_text("notes", &notes, 20_000)?;
        match (kind, amount_yuan) {
            (ActionKind::Fine, None | Some(0)) => {
                return refuse(
                    RefusalCode::Invalid,
                    "a fine needs amount_yuan greater than 0",
                );
            }
            (ActionKind::Talk | ActionKind::Warning, Some(_)) => {
                return refuse(RefusalCode::Invalid, "only a fine has an amount");
            }
            _ => {}
        }
        let mut next = self.clone();
        let action = EnforcementAction {
            kind,
            basis,
            amount_yuan,
            notes,
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
