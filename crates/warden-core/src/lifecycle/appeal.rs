//! Appeals (Art. 10): only against Art. 8(1) block measures, filed within 10 working days of
//! the decision (that day not counted), answered by the deciding authority within 30 working
//! days of filing.

use super::case::Context;
use super::common::*;
use super::measure::{AllowlistHit, AllowlistOverride, BlockStatus, Measure};
use crate::calendar::{Calendar, end_of_day, shanghai_date};
use crate::indicator::{Indicator, Reach, TargetScope};
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

/// How a "modified" answer changes the block: a narrower reach (a target within the original,
/// a narrower scope, a sub-range), an earlier expiry, or both. Anything wider or elsewhere
/// is a new decision, not an answer to an appeal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Modification {
    pub target: Option<Indicator>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// The new scope; without it, the original's when the target stays, else the target
    /// type's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<TargetScope>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_last: Option<Indicator>,
    /// Why the narrowed block goes ahead although its target is on an allow-list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowlist_override: Option<String>,
}

impl Modification {
    fn changes_reach(&self) -> bool {
        self.target.is_some() || self.scope.is_some() || self.range_last.is_some()
    }

    /// The reach this modification gives the block of `m`, when it changes the reach: the
    /// target (the original when none is named), the scope (the original's when the target
    /// stays, else the target type's default) and the end of a number range.
    pub fn reach_for(&self, m: &Measure) -> Option<(Indicator, TargetScope, Option<Indicator>)> {
        if !self.changes_reach() {
            return None;
        }
        let original = m.target.as_ref()?;
        let target = self.target.clone().unwrap_or_else(|| original.clone());
        let scope = match (self.scope, &self.target) {
            (Some(s), _) => s,
            (None, None) => m.scope.unwrap_or(TargetScope::default_for(original.kind())),
            (None, Some(t)) => TargetScope::default_for(t.kind()),
        };
        let range_last = match (&self.range_last, scope) {
            (Some(r), _) => Some(r.clone()),
            (None, TargetScope::NumberRange) if self.target.is_none() => m.range_last.clone(),
            _ => None,
        };
        Some((target, scope, range_last))
    }
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
    /// The measure's province: whose authority's auditors read the appeal's trail.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub province: Option<crate::org::Province>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AppealCommand {
    StartReview,
    Decide {
        outcome: AppealOutcome,
        reasons: String,
        modification: Option<Modification>,
        /// Allow-list entries the modified target hits, found by the caller as for a
        /// decision.
        allowlist_hits: Vec<AllowlistHit>,
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
/// Through a year without a published calendar it is counted generously (provisional), so
/// the window never closes early against the appellant.
pub fn appeal_window_closes(
    decided_at: OffsetDateTime,
    rules: &PolicyRules,
    calendar: &Calendar,
) -> crate::calendar::Reckoned<OffsetDateTime> {
    calendar.generous_deadline(decided_at, rules.appeal_window_working_days)
}

/// When the authority's answer to an appeal filed at `filed_at` is due (Art. 10: 30 working
/// days), counted like the window; provisional through an unpublished year, and counted
/// again when a newer calendar is loaded.
pub fn appeal_reply_due(
    filed_at: OffsetDateTime,
    rules: &PolicyRules,
    calendar: &Calendar,
) -> crate::calendar::Reckoned<OffsetDateTime> {
    calendar.generous_deadline(filed_at, rules.appeal_reply_working_days)
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
        let due = appeal_reply_due(now, rules, calendar);
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
            province: measure.province,
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

    /// The reply deadline counted again with `calendar`, when it was provisional and the
    /// count now differs (a newer calendar was loaded): the appeal as it becomes.
    pub fn recount(&self, rules: &PolicyRules, calendar: &Calendar) -> Option<Outcome<Appeal>> {
        if self.status.is_final() || !self.reply_due_provisional {
            return None;
        }
        let due = appeal_reply_due(self.filed_at, rules, calendar);
        if due.value == self.reply_due && due.provisional {
            return None;
        }
        let mut next = self.clone();
        next.reply_due = due.value;
        next.reply_due_provisional = due.provisional;
        let events = vec![event(
            "appeal.reply_due_recounted",
            SubjectKind::Appeal,
            self.id,
            json!({
                "was": self.reply_due.to_offset(crate::calendar::SHANGHAI).date().to_string(),
                "now": due.value.to_offset(crate::calendar::SHANGHAI).date().to_string(),
                "provisional": due.provisional,
            }),
        )];
        Some(Outcome { next, events })
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
                allowlist_hits,
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
                        if !md.changes_reach() && md.expires_at.is_none() {
                            return refuse(
                                RefusalCode::Invalid,
                                "a modification needs a narrower target, scope or range, or an earlier expiry",
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
                        if md.changes_reach() {
                            narrow(&mut m, md, allowlist_hits)?;
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

/// Narrows a block's reach as an appeal's answer asks: the new reach must lie within the
/// old one and passes the same checks as a decision (scope, public suffixes, allow-lists).
fn narrow(m: &mut Measure, md: &Modification, hits: Vec<AllowlistHit>) -> Result<(), Refusal> {
    let Some(old_target) = m.target.clone() else {
        return refuse(RefusalCode::Invalid, "the block has no target to narrow");
    };
    let old_scope = m
        .scope
        .unwrap_or(TargetScope::default_for(old_target.kind()));
    let Some((target, scope, range_last)) = md.reach_for(m) else {
        return Ok(());
    };
    if !target.kind().blockable() {
        return refuse(
            RefusalCode::Invalid,
            format!("a {} cannot be blocked", target.kind()),
        );
    }
    if let Err(e) = scope.check(&target, range_last.as_ref()) {
        return refuse(RefusalCode::Invalid, e);
    }
    let new = Reach {
        target: &target,
        scope,
        range_last: range_last.as_ref(),
    };
    let old = Reach {
        target: &old_target,
        scope: old_scope,
        range_last: m.range_last.as_ref(),
    };
    if let Err(e) = new.within(&old) {
        return refuse(
            RefusalCode::Invalid,
            format!(
                "{e}: an answer to an appeal may only narrow the block (Art. 10); blocking anything else is a new decision on the case"
            ),
        );
    }
    let reason = md.allowlist_override.as_deref().unwrap_or("").trim();
    if !hits.is_empty() && reason.is_empty() {
        let listed: Vec<String> = hits
            .iter()
            .map(|h| format!("{} ({}: {})", h.entry, h.list, h.source))
            .collect();
        return refuse(
            RefusalCode::Allowlisted,
            format!(
                "{} is on an allow-list: {}; if the narrowed block is right all the same, give allowlist_override with the reason",
                target.value(),
                listed.join("; ")
            ),
        );
    }
    m.allowlist_override = (!hits.is_empty()).then(|| AllowlistOverride {
        hits,
        reason: reason.to_owned(),
    });
    m.target = Some(target);
    m.scope = Some(scope);
    m.range_last = range_last;
    Ok(())
}

/// End of the appeal window for display: the last day on which an appeal is accepted.
pub fn appeal_last_day(
    decided_at: OffsetDateTime,
    rules: &PolicyRules,
    calendar: &Calendar,
) -> crate::calendar::Reckoned<time::Date> {
    let closes = appeal_window_closes(decided_at, rules, calendar);
    let d = shanghai_date(closes.value - time::Duration::seconds(1));
    debug_assert_eq!(end_of_day(d), closes.value);
    crate::calendar::Reckoned {
        value: d,
        provisional: closes.provisional,
    }
}
