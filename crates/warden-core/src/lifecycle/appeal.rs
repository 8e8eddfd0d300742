//! Appeals (Art. 10): only against Art. 8(1) block measures, filed within 10 working days of
//! the decision (that day not counted), answered by the deciding authority within 30 working
//! days of filing.

use super::case::Context;
use super::common::*;
use super::measure::{BlockStatus, Measure};
use crate::calendar::{Calendar, end_of_day, shanghai_date};
use crate::indicator::Indicator;
use crate::org::{Actor, OrgRef, Role};
use crate::policy::PolicyRules;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Appellant {
    pub name: String,
    pub contact: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AppealStatus {
    Filed,
    UnderReview,
    Upheld,
    Revoked,
    Modified,
}

impl AppealStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AppealStatus::Filed => "filed",
            AppealStatus::UnderReview => "under_review",
            AppealStatus::Upheld => "upheld",
            AppealStatus::Revoked => "revoked",
            AppealStatus::Modified => "modified",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            AppealStatus::Upheld | AppealStatus::Revoked | AppealStatus::Modified
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AppealOutcome {
    Upheld,
    Revoked,
    Modified,
}

/// How a "modified" answer changes the block: a narrower target, an earlier expiry, or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Modification {
    pub target: Option<Indicator>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppealDecision {
    pub outcome: AppealOutcome,
    pub reasons: String,
    pub modification: Option<Modification>,
    pub reviewer_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Answered after the Art. 10 reply deadline.
    pub late: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Appeal {
    pub id: Uuid,
    pub measure_id: Uuid,
    pub deciding_org: OrgRef,
    pub appellant: Appellant,
    pub grounds: String,
    /// The member who filed it on the appellant's behalf; None through the public form.
    pub filed_by: Option<Uuid>,
    pub filed_by_org: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub filed_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub reply_due: OffsetDateTime,
    pub reply_due_provisional: bool,
    pub status: AppealStatus,
    pub decision: Option<AppealDecision>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AppealCommand {
    StartReview,
    Decide {
        outcome: AppealOutcome,
        reasons: String,
        modification: Option<Modification>,
    },
}

/// An appeal transition, with the measure as it becomes when the answer changes it.
#[derive(Debug, Clone)]
pub struct AppealTransition {
    pub next: Appeal,
    pub measure: Option<Measure>,
    pub events: Vec<Event>,
}

/// The last instant an appeal against a measure decided at `decided_at` may be filed.
pub fn appeal_window_closes(
    decided_at: OffsetDateTime,
    rules: &PolicyRules,
    calendar: &Calendar,
) -> crate::calendar::Reckoned<OffsetDateTime> {
    calendar.deadline(decided_at, rules.appeal_window_working_days)
}

impl Appeal {
    pub fn file(
        actor: &Actor,
        id: Uuid,
        measure: &Measure,
        appellant: Appellant,
        grounds: String,
        ctx: Context<'_>,
    ) -> Result<Outcome<Appeal>, Refusal> {
        let (now, rules, calendar) = (ctx.now, ctx.rules, ctx.calendar);
        if let Actor::System { .. } = actor {
            return refuse(RefusalCode::Role, "the platform does not file appeals");
        }
        if measure.kind != MeasureKind::Block {
            return refuse(
                RefusalCode::Invalid,
                "only Art. 8(1) stop-service or block measures can be appealed (Art. 10)",
            );
        }
        if !measure.block_active() {
            return refuse(RefusalCode::State, "the block is no longer active");
        }
        require_text("appellant.name", &appellant.name, 300)?;
        require_text("appellant.contact", &appellant.contact, 300)?;
        require_text("grounds", &grounds, 20_000)?;
        let closes = appeal_window_closes(measure.decided_at, rules, calendar);
        if now >= closes.value {
            let last_day = shanghai_date(closes.value - time::Duration::seconds(1));
            return refuse(
                RefusalCode::Window,
                format!(
                    "the appeal window closed at 24:00 on {last_day} (Asia/Shanghai), the {}th working day after the decision of {} (Art. 10)",
                    rules.appeal_window_working_days,
                    shanghai_date(measure.decided_at)
                ),
            );
        }
        let due = calendar.deadline(now, rules.appeal_reply_working_days);
        let appeal = Appeal {
            id,
            measure_id: measure.id,
            deciding_org: measure.deciding_org.clone(),
            appellant,
            grounds,
            filed_by: actor.principal_id(),
            filed_by_org: actor.org().map(|o| o.slug.clone()),
            filed_at: now,
            reply_due: due.value,
            reply_due_provisional: due.provisional,
            status: AppealStatus::Filed,
            decision: None,
        };
        let events = vec![event(
            "appeal.filed",
            SubjectKind::Appeal,
            id,
            json!({"measure_id": measure.id, "reply_due": appeal.reply_due.to_offset(crate::calendar::SHANGHAI).date().to_string(), "by": actor.label()}),
        )];
        Ok(Outcome {
            next: appeal,
            events,
        })
    }

    /// A reviewer of the deciding authority.
    pub(crate) fn may_answer<'a>(&self, actor: &'a Actor) -> Result<&'a OrgRef, Refusal> {
        let org = require_role(actor, Role::Reviewer)?;
        require_org(org, &self.deciding_org, "answer this appeal")?;
        Ok(org)
    }

    pub fn apply(
        &self,
        actor: &Actor,
        measure: &Measure,
        cmd: AppealCommand,
        now: OffsetDateTime,
    ) -> Result<AppealTransition, Refusal> {
        if measure.id != self.measure_id {
            return refuse(RefusalCode::Invalid, "the measure is not the one appealed");
        }
        self.may_answer(actor)?;
        let mut next = self.clone();
        let ev =
            |name: &str, data: serde_json::Value| event(name, SubjectKind::Appeal, self.id, data);
        match cmd {
            AppealCommand::StartReview => {
                if self.status != AppealStatus::Filed {
                    return refuse(
                        RefusalCode::State,
                        format!("the appeal is {}", self.status.as_str()),
                    );
                }
                next.status = AppealStatus::UnderReview;
                Ok(AppealTransition {
                    next,
                    measure: None,
                    events: vec![ev("appeal.under_review", json!({}))],
                })
            }
            AppealCommand::Decide {
                outcome,
                reasons,
                modification,
            } => {
                if self.status.is_final() {
                    return refuse(
                        RefusalCode::State,
                        format!("the appeal was already answered: {}", self.status.as_str()),
                    );
                }
                require_text("reasons", &reasons, 20_000)?;
                let mut m = measure.clone();
                let mut events = vec![];
                match outcome {
                    AppealOutcome::Upheld => {
                        if modification.is_some() {
                            return refuse(
                                RefusalCode::Invalid,
                                "an upheld measure is not modified",
                            );
                        }
                    }
                    AppealOutcome::Revoked => {
                        if modification.is_some() {
                            return refuse(
                                RefusalCode::Invalid,
                                "a revoked measure is not modified",
                            );
                        }
                        if !m.block_active() {
                            return refuse(RefusalCode::State, "the block is no longer active");
                        }
                        m.revoke();
                        events.push(event(
                            "block.revoked",
                            SubjectKind::Measure,
                            m.id,
                            json!({"appeal_id": self.id}),
                        ));
                    }
                    AppealOutcome::Modified => {
                        let Some(md) = &modification else {
                            return refuse(
                                RefusalCode::Invalid,
                                "a modification needs a new target or expiry",
                            );
                        };
                        if md.target.is_none() && md.expires_at.is_none() {
                            return refuse(
                                RefusalCode::Invalid,
                                "a modification needs a new target or expiry",
                            );
                        }
                        let Some(block) = m.block.as_mut() else {
                            return refuse(
                                RefusalCode::Invalid,
                                "only block measures are appealed",
                            );
                        };
                        if block.status != BlockStatus::Active {
                            return refuse(RefusalCode::State, "the block is no longer active");
                        }
                        if let Some(e) = md.expires_at {
                            if e <= now || e > block.expires_at {
                                return refuse(
                                    RefusalCode::Invalid,
                                    "a modified expiry must lie between now and the current expiry",
                                );
                            }
                            block.expires_at = e;
                        }
                        if let Some(t) = &md.target {
                            if !t.kind().blockable() {
                                return refuse(
                                    RefusalCode::Invalid,
                                    format!("a {} cannot be blocked", t.kind()),
                                );
                            }
                            m.target = Some(t.clone());
                        }
                        events.push(event(
                            "block.modified",
                            SubjectKind::Measure,
                            m.id,
                            json!({"appeal_id": self.id, "modification": md}),
                        ));
                    }
                }
                next.status = match outcome {
                    AppealOutcome::Upheld => AppealStatus::Upheld,
                    AppealOutcome::Revoked => AppealStatus::Revoked,
                    AppealOutcome::Modified => AppealStatus::Modified,
                };
                let decision = AppealDecision {
                    outcome,
                    reasons,
                    modification,
                    reviewer_id: actor.principal_id().unwrap_or_default(),
                    at: now,
                    late: now > self.reply_due,
                };
                events.insert(
                    0,
                    ev(
                        "appeal.decided",
                        serde_json::to_value(&decision).unwrap_or_default(),
                    ),
                );
                next.decision = Some(decision);
                let measure = (outcome != AppealOutcome::Upheld).then_some(m);
                Ok(AppealTransition {
                    next,
                    measure,
                    events,
                })
            }
        }
    }
}

/// End of the appeal window for display: the last day on which an appeal is accepted.
pub fn appeal_last_day(
    decided_at: OffsetDateTime,
    rules: &PolicyRules,
    calendar: &Calendar,
) -> time::Date {
    let closes = appeal_window_closes(decided_at, rules, calendar).value;
    let d = shanghai_date(closes - time::Duration::seconds(1));
    debug_assert_eq!(end_of_day(d), closes);
    d
}
