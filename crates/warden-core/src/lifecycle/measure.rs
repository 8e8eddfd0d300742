//! Measures and their notices (Art. 8, 9, 12): issued → delivered → acknowledged →
//! feedback filed → verified → closed, with reopening on failed verification, overdue
//! marking, and for blocks expiry and revocation.

use super::common::*;
use crate::indicator::{Indicator, TargetScope};
use crate::org::{Actor, OrgRef, Province, Role};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum NoticeStatus {
    /// Decided on the emergency path (Art. 8 last paragraph, Art. 13): the authority is to
    /// telephone the recipient first; nothing has reached the recipient yet.
    Pending,
    Issued,
    Delivered,
    Acknowledged,
    FeedbackFiled,
    Verified,
    Reopened,
    Closed,
}

impl NoticeStatus {
    pub const ALL: [NoticeStatus; 8] = [
        NoticeStatus::Pending,
        NoticeStatus::Issued,
        NoticeStatus::Delivered,
        NoticeStatus::Acknowledged,
        NoticeStatus::FeedbackFiled,
        NoticeStatus::Verified,
        NoticeStatus::Reopened,
        NoticeStatus::Closed,
    ];

    /// The status named `s` (as `as_str` writes it).
    pub fn parse(s: &str) -> Option<NoticeStatus> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NoticeStatus::Pending => "pending",
            NoticeStatus::Issued => "issued",
            NoticeStatus::Delivered => "delivered",
            NoticeStatus::Acknowledged => "acknowledged",
            NoticeStatus::FeedbackFiled => "feedback_filed",
            NoticeStatus::Verified => "verified",
            NoticeStatus::Reopened => "reopened",
            NoticeStatus::Closed => "closed",
        }
    }

    /// Still waiting for the recipient to carry out the measure and report back.
    pub fn awaits_recipient(self) -> bool {
        matches!(
            self,
            NoticeStatus::Issued
                | NoticeStatus::Delivered
                | NoticeStatus::Acknowledged
                | NoticeStatus::Reopened
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum BlockStatus {
    Active,
    Expired,
    Revoked,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlockState {
    pub status: BlockStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The deciding authority was asked to re-review the block before it expires.
    #[serde(default)]
    pub review_requested: bool,
}

/// A false-positive guard the target of a block hits: an entry of a shipped or an
/// operator-managed allow-list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AllowlistHit {
    /// The list's name, e.g. `iana-special-ipv4`, `public-dns`, `public-suffixes`, `operator`.
    pub list: String,
    /// The entry that matched (a network, a name).
    pub entry: String,
    /// Why the entry is there and where it comes from.
    pub source: String,
}

/// A block that went ahead despite allow-list hits, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AllowlistOverride {
    pub hits: Vec<AllowlistHit>,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum FeedbackOutcome {
    Done,
    PartiallyDone,
    Unable,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Feedback {
    pub outcome: FeedbackOutcome,
    pub actions_taken: String,
    #[serde(with = "time::serde::rfc3339")]
    pub completed_at: OffsetDateTime,
    pub by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub filed_at: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum VerificationResult {
    Passed,
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum VerificationMethod {
    Manual,
    Dns,
    Http,
    Tcp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Verification {
    pub result: VerificationResult,
    pub method: VerificationMethod,
    pub notes: String,
    pub by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// What a verification probe asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProbeSpec {
    pub method: VerificationMethod,
    /// DNS: the resolvers asked (`address:port`); empty: the recipient's declared ones.
    #[serde(default)]
    pub resolvers: Vec<String>,
    /// HTTP and TCP: the port.
    #[serde(default)]
    pub port: Option<u16>,
}

/// A probe that repeats, and how it last went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProbeSchedule {
    pub probe: ProbeSpec,
    pub every_s: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub next_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub last_result: Option<VerificationResult>,
    pub by: Uuid,
}

/// Art. 8: in an emergency the authority telephones first and sends the written notice after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhoneNotification {
    /// Who called, for the authority.
    pub caller: Uuid,
    pub called_person: String,
    pub called_number: String,
    /// Who answered, when not the person called.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_by: Option<String>,
    /// What was said.
    pub summary: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Measure {
    pub id: Uuid,
    pub case_id: Uuid,
    pub notice_id: Uuid,
    pub kind: MeasureKind,
    pub target: Option<Indicator>,
    /// How far a block reaches; absent in older records, where the type's default applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<TargetScope>,
    /// The last number of a `number_range` block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_last: Option<Indicator>,
    /// The block was decided despite allow-list hits, for this reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowlist_override: Option<AllowlistOverride>,
    /// What the deciding authority asks the recipient to do, in its words (the notice
    /// carries it; without it, the usual content of the measure's kind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    pub recipient: OrgRef,
    /// The telecom authority that decided it; it answers appeals (Art. 10).
    pub deciding_org: OrgRef,
    /// The institution that determined the case; it verifies the handling (Art. 9).
    pub determining_org: OrgRef,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub province: Option<Province>,
    #[serde(with = "time::serde::rfc3339")]
    pub decided_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub deadline: OffsetDateTime,
    /// The deadline depends on a year without calendar data.
    pub deadline_provisional: bool,
    /// Art. 13 emergency path: telephone first, the written notice due by `written_notice_due`.
    pub emergency: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub written_notice_due: Option<OffsetDateTime>,
    /// Telephone notifications that preceded the written notice (emergencies).
    #[serde(default)]
    pub phone_notifications: Vec<PhoneNotification>,
    /// On the emergency path, the signed written notice is still to be issued by the
    /// deciding authority (its duty, Art. 8).
    #[serde(default)]
    pub written_notice_pending: bool,
    /// When the signed written notice was issued.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub written_notice_at: Option<OffsetDateTime>,
    /// When the recipient's time began: the decision, or on the emergency path the first
    /// telephone call or written notice that reached it.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub clock_started_at: Option<OffsetDateTime>,
    /// The deciding authority did not issue the written notice by `written_notice_due`.
    #[serde(default)]
    pub written_notice_overdue: bool,
    /// The recipient was reminded that the deadline approaches.
    #[serde(default)]
    pub reminded: bool,
    pub status: NoticeStatus,
    /// When the recipient first received (fetched) the notice.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub delivered_at: Option<OffsetDateTime>,
    /// When the recipient acknowledged it.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub acknowledged_at: Option<OffsetDateTime>,
    /// The deadline passed without feedback (Art. 12 enforcement applies).
    pub overdue: bool,
    pub block: Option<BlockState>,
    /// A verification probe that repeats (Art. 9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<ProbeSchedule>,
    pub feedback: Vec<Feedback>,
    pub verifications: Vec<Verification>,
    pub policy_version: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MeasureCommand {
    Deliver,
    Acknowledge,
    FileFeedback {
        outcome: FeedbackOutcome,
        actions_taken: String,
        completed_at: Option<OffsetDateTime>,
    },
    Verify {
        result: VerificationResult,
        method: VerificationMethod,
        notes: String,
    },
    Close,
    /// The deciding authority records the telephone call that came first (emergencies).
    /// The first call that reaches the recipient starts its time.
    RecordPhoneNotification {
        called_person: String,
        called_number: String,
        answered_by: Option<String>,
        summary: String,
        at: Option<OffsetDateTime>,
    },
    /// The deciding authority issues the signed written notice that follows the call (or,
    /// without a call, that starts the recipient's time).
    IssueWrittenNotice,
    /// Deadline job: the deadline passed without feedback.
    MarkOverdue,
    /// Deadline job: an emergency notice's written form was not delivered in time.
    MarkWrittenNoticeOverdue,
    /// Deadline job: a quarter of the time is left and the recipient has not reported back.
    Remind,
    /// The determining institution's verifier has a probe repeat on the notice.
    ScheduleProbe {
        probe: ProbeSpec,
        every: Duration,
    },
    /// Probe job: a scheduled probe ran. A failure after verification means the threat came
    /// back: the notice reopens.
    ProbeRan {
        /// None: the probe could not tell (the resolver did not answer, say).
        result: Option<VerificationResult>,
        evidence: String,
    },
    /// Expiry job: an active block nears its expiry; the deciding authority re-reviews it.
    RequestReview {
        /// How long before expiry the review is due (policy).
        lead: Duration,
    },
    /// Expiry job: an active block reached its expiry.
    Expire,
    /// The deciding authority withdraws an active block.
    Revoke {
        reasons: String,
    },
}

impl Measure {
    pub fn deadline_rfc3339(&self) -> String {
        self.deadline
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    }

    /// When the recipient is reminded: once a quarter of the allotted time is left.
    pub fn remind_at(&self) -> OffsetDateTime {
        let start = self.clock_started_at.unwrap_or(self.decided_at);
        self.deadline - (self.deadline - start) / 4
    }

    /// The written notice is awaited from the deciding authority and not yet flagged late
    /// (the store indexes this).
    pub fn written_notice_awaited(&self) -> bool {
        self.written_notice_pending
            && self.written_notice_due.is_some()
            && !self.written_notice_overdue
    }

    /// Starts the recipient's time at `at`: the allotted span, and the authority's time to
    /// send the written notice, count from the moment the recipient is first told.
    fn start_clock(&mut self, at: OffsetDateTime) {
        let shift = at - self.decided_at;
        self.deadline += shift;
        if let Some(due) = self.written_notice_due.as_mut() {
            *due += shift;
        }
        self.clock_started_at = Some(at);
    }

    /// Still to be reminded (the store indexes this).
    pub fn reminder_pending(&self) -> bool {
        !self.reminded && !self.overdue && self.status.awaits_recipient()
    }

    /// How far the block reaches (the type's default for records that do not say).
    pub fn scope(&self) -> Option<TargetScope> {
        let t = self.target.as_ref()?;
        Some(self.scope.unwrap_or(TargetScope::default_for(t.kind())))
    }

    /// Still to be put up for re-review (the store indexes this).
    pub fn review_pending(&self) -> bool {
        self.block
            .as_ref()
            .is_some_and(|b| b.status == BlockStatus::Active && !b.review_requested)
    }

    pub fn block_active(&self) -> bool {
        self.block
            .as_ref()
            .is_some_and(|b| b.status == BlockStatus::Active)
    }

    fn require_status(&self, allowed: &[NoticeStatus], what: &str) -> Result<(), Refusal> {
        if allowed.contains(&self.status) {
            Ok(())
        } else {
            refuse(
                RefusalCode::State,
                format!("cannot {what}: the notice is {}", self.status.as_str()),
            )
        }
    }

    /// The recipient's responder, while the notice awaits acknowledgement.
    pub(crate) fn may_acknowledge(&self, actor: &Actor) -> Result<(), Refusal> {
        let org = require_role(actor, Role::Responder)?;
        require_org(org, &self.recipient, "acknowledge this notice")?;
        self.require_status(
            &[NoticeStatus::Issued, NoticeStatus::Delivered],
            "acknowledge",
        )
    }

    /// The recipient's responder, once the notice is acknowledged (or reopened).
    pub(crate) fn may_file_feedback(&self, actor: &Actor) -> Result<(), Refusal> {
        let org = require_role(actor, Role::Responder)?;
        require_org(org, &self.recipient, "report on this notice")?;
        self.require_status(
            &[NoticeStatus::Acknowledged, NoticeStatus::Reopened],
            "file feedback (acknowledge the notice first)",
        )
    }

    /// The determining institution's verifier, once feedback is filed.
    pub(crate) fn may_verify(&self, actor: &Actor) -> Result<(), Refusal> {
        let org = require_role(actor, Role::Verifier)?;
        require_org(org, &self.determining_org, "verify this measure")?;
        self.require_status(
            &[NoticeStatus::FeedbackFiled],
            "verify (no feedback to verify)",
        )
    }

    /// The deciding authority's reviewer, on the emergency path.
    pub(crate) fn may_record_phone_call(&self, actor: &Actor) -> Result<(), Refusal> {
        let org = require_role(actor, Role::Reviewer)?;
        require_org(org, &self.deciding_org, "record calls about this measure")?;
        if !self.emergency {
            return refuse(
                RefusalCode::Invalid,
                "telephone notification precedes the written notice only on the emergency path (Art. 8, 13)",
            );
        }
        Ok(())
    }

    /// The deciding authority's reviewer, while the written notice is still to be issued.
    pub(crate) fn may_issue_written_notice(&self, actor: &Actor) -> Result<(), Refusal> {
        let org = require_role(actor, Role::Reviewer)?;
        require_org(
            org,
            &self.deciding_org,
            "issue this measure's written notice",
        )?;
        if !self.written_notice_pending {
            return refuse(
                RefusalCode::State,
                "the written notice of this measure was already issued",
            );
        }
        Ok(())
    }

    pub fn apply(
        &self,
        actor: &Actor,
        cmd: MeasureCommand,
        now: OffsetDateTime,
    ) -> Result<Outcome<Measure>, Refusal> {
        use NoticeStatus::*;
        let mut next = self.clone();
        let ev =
            |name: &str, data: serde_json::Value| event(name, SubjectKind::Measure, self.id, data);
        let events = match cmd {
            MeasureCommand::Deliver => {
                // Delivery is recorded by the platform or when the recipient first fetches it.
                if let Some(org) = actor.org() {
                    require_org(org, &self.recipient, "receive this notice")?;
                } else if !matches!(actor, Actor::System { .. }) {
                    return refuse(RefusalCode::Role, "the public cannot receive notices");
                }
                self.require_status(&[Issued], "record delivery")?;
                next.status = Delivered;
                next.delivered_at = Some(now);
                vec![ev("notice.delivered", json!({"by": actor.label()}))]
            }
            MeasureCommand::Acknowledge => {
                self.may_acknowledge(actor)?;
                next.status = Acknowledged;
                next.acknowledged_at = Some(now);
                vec![ev("notice.acknowledged", json!({}))]
            }
            MeasureCommand::FileFeedback {
                outcome,
                actions_taken,
                completed_at,
            } => {
                self.may_file_feedback(actor)?;
                require_text("actions_taken", &actions_taken, 20_000)?;
                let completed_at = completed_at.unwrap_or(now);
                if completed_at > now + Duration::minutes(5) {
                    return refuse(RefusalCode::Window, "completed_at is in the future");
                }
                if completed_at < self.decided_at - Duration::days(1) {
                    return refuse(
                        RefusalCode::Window,
                        "completed_at is before the measure was decided",
                    );
                }
                let fb = Feedback {
                    outcome,
                    actions_taken,
                    completed_at,
                    by: actor.principal_id().unwrap_or_default(),
                    filed_at: now,
                };
                let data = json!({"outcome": outcome, "late": now > self.deadline});
                next.feedback.push(fb);
                next.status = FeedbackFiled;
                vec![ev("notice.feedback_filed", data)]
            }
            MeasureCommand::Verify {
                result,
                method,
                notes,
            } => {
                self.may_verify(actor)?;
                next.verifications.push(Verification {
                    result,
                    method,
                    notes,
                    by: actor.principal_id().unwrap_or_default(),
                    at: now,
                });
                match result {
                    VerificationResult::Passed => {
                        next.status = Verified;
                        vec![ev("measure.verified", json!({"method": method}))]
                    }
                    VerificationResult::Failed => {
                        next.status = Reopened;
                        vec![
                            ev("measure.verification_failed", json!({"method": method})),
                            ev("notice.reopened", json!({})),
                        ]
                    }
                }
            }
            MeasureCommand::Close => {
                match actor {
                    Actor::System { .. } => {}
                    _ => {
                        let org = require_role(actor, Role::Reviewer)?;
                        require_org(org, &self.deciding_org, "close this measure")?;
                    }
                }
                self.require_status(&[Verified], "close (it is not verified)")?;
                next.status = Closed;
                vec![ev("measure.closed", json!({}))]
            }
            MeasureCommand::RecordPhoneNotification {
                called_person,
                called_number,
                answered_by,
                summary,
                at,
            } => {
                self.may_record_phone_call(actor)?;
                require_text("called_person", &called_person, 200)?;
                require_text("called_number", &called_number, 50)?;
                require_text("summary", &summary, 5_000)?;
                let answered_by = match answered_by.as_deref().map(str::trim) {
                    None | Some("") => None,
                    Some(a) => {
                        require_text("answered_by", a, 200)?;
                        Some(a.to_owned())
                    }
                };
                let at = at.unwrap_or(now);
                if at > now + Duration::minutes(5) || at < self.decided_at {
                    return refuse(
                        RefusalCode::Window,
                        "the call must be recorded at a time between the decision and now",
                    );
                }
                let first = self.status == Pending;
                next.phone_notifications.push(PhoneNotification {
                    caller: actor.principal_id().unwrap_or_default(),
                    called_person: called_person.clone(),
                    called_number,
                    answered_by,
                    summary,
                    at,
                });
                if first {
                    // The call is the notification: the recipient's time starts now.
                    next.start_clock(at);
                    next.status = Delivered;
                    next.delivered_at = Some(at);
                }
                vec![ev(
                    "notice.phoned",
                    json!({
                        "called_person": called_person,
                        "clock_started": first,
                        "deadline": next.deadline_rfc3339(),
                    }),
                )]
            }
            MeasureCommand::IssueWrittenNotice => {
                self.may_issue_written_notice(actor)?;
                next.written_notice_pending = false;
                next.written_notice_at = Some(now);
                if self.status == Pending {
                    // Not telephoned: the written notice starts the recipient's time.
                    next.start_clock(now);
                    next.status = Issued;
                }
                vec![ev(
                    "notice.written_issued",
                    json!({
                        "late": self.written_notice_due.is_some_and(|d| now > d),
                        "deadline": next.deadline_rfc3339(),
                    }),
                )]
            }
            MeasureCommand::MarkWrittenNoticeOverdue => {
                if !matches!(actor, Actor::System { .. }) {
                    return refuse(
                        RefusalCode::Role,
                        "only the deadline job marks written notices overdue",
                    );
                }
                let Some(due) = self.written_notice_due else {
                    return refuse(RefusalCode::Invalid, "not an emergency notice");
                };
                if !self.written_notice_awaited() {
                    return refuse(
                        RefusalCode::State,
                        "the written notice was issued, or is already overdue",
                    );
                }
                if now <= due {
                    return refuse(RefusalCode::Window, "the written notice is not yet due");
                }
                // The authority's own duty (Art. 8): its reminder and its statistic.
                next.written_notice_overdue = true;
                vec![ev(
                    "notice.written_overdue",
                    json!({"due": due.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(), "authority": self.deciding_org.slug, "telephoned": !self.phone_notifications.is_empty()}),
                )]
            }
            MeasureCommand::Remind => {
                if !matches!(actor, Actor::System { .. }) {
                    return refuse(RefusalCode::Role, "only the deadline job sends reminders");
                }
                if !self.reminder_pending() {
                    return refuse(RefusalCode::State, "nothing to remind of");
                }
                if now < self.remind_at() {
                    return refuse(RefusalCode::Window, "too early for a reminder");
                }
                next.reminded = true;
                vec![ev(
                    "notice.reminder",
                    json!({"recipient": self.recipient.slug, "deadline": self.deadline_rfc3339()}),
                )]
            }
            MeasureCommand::MarkOverdue => {
                if !matches!(actor, Actor::System { .. }) {
                    return refuse(
                        RefusalCode::Role,
                        "only the deadline job marks notices overdue",
                    );
                }
                if !self.status.awaits_recipient() || self.overdue {
                    return refuse(
                        RefusalCode::State,
                        "the notice is not awaiting the recipient, or already overdue",
                    );
                }
                if now <= self.deadline {
                    return refuse(RefusalCode::Window, "the deadline has not passed");
                }
                next.overdue = true;
                vec![
                    ev(
                        "notice.overdue",
                        json!({"deadline": self.deadline_rfc3339()}),
                    ),
                    ev(
                        "enforcement.raised",
                        json!({"recipient": self.recipient.slug, "basis": "Art. 12"}),
                    ),
                ]
            }
            MeasureCommand::ScheduleProbe { probe, every } => {
                let org = require_role(actor, Role::Verifier)?;
                require_org(
                    org,
                    &self.determining_org,
                    "schedule probes on this measure",
                )?;
                if self.status == Closed {
                    return refuse(RefusalCode::State, "the notice is closed");
                }
                if every < Duration::minutes(5) || every > Duration::days(90) {
                    return refuse(
                        RefusalCode::Invalid,
                        "a probe repeats every 5 minutes at the most often, every 90 days at the least",
                    );
                }
                let data = json!({"method": probe.method, "every_s": every.whole_seconds()});
                next.probe = Some(ProbeSchedule {
                    probe,
                    every_s: every.whole_seconds(),
                    next_at: now + every,
                    last_at: None,
                    last_result: None,
                    by: actor.principal_id().unwrap_or_default(),
                });
                vec![ev("probe.scheduled", data)]
            }
            MeasureCommand::ProbeRan { result, evidence } => {
                if !matches!(actor, Actor::System { .. }) {
                    return refuse(
                        RefusalCode::Role,
                        "only the probe job records scheduled runs",
                    );
                }
                let Some(sched) = &self.probe else {
                    return refuse(RefusalCode::State, "no probe is scheduled");
                };
                let mut sched = sched.clone();
                sched.last_at = Some(now);
                sched.last_result = result;
                sched.next_at = now + Duration::seconds(sched.every_s);
                let method = sched.probe.method;
                next.probe = Some(sched);
                let returned = result == Some(VerificationResult::Failed)
                    && matches!(self.status, Verified | Closed)
                    && (self.block.is_none() || self.block_active());
                if returned {
                    next.verifications.push(Verification {
                        result: VerificationResult::Failed,
                        method,
                        notes: evidence.clone(),
                        by: Uuid::nil(),
                        at: now,
                    });
                    next.status = Reopened;
                    vec![
                        ev(
                            "measure.threat_returned",
                            json!({"method": method, "evidence": evidence}),
                        ),
                        ev("notice.reopened", json!({})),
                    ]
                } else {
                    vec![ev(
                        "probe.ran",
                        json!({"result": result, "evidence": evidence}),
                    )]
                }
            }
            MeasureCommand::RequestReview { lead } => {
                if !matches!(actor, Actor::System { .. }) {
                    return refuse(RefusalCode::Role, "only the expiry job requests re-reviews");
                }
                if !self.review_pending() {
                    return refuse(RefusalCode::State, "no active block awaits a re-review");
                }
                let Some(b) = &self.block else {
                    return refuse(RefusalCode::Invalid, "only block measures are re-reviewed");
                };
                if now < b.expires_at - lead {
                    return refuse(RefusalCode::Window, "too early for the re-review");
                }
                let mut nb = b.clone();
                nb.review_requested = true;
                let expires = nb
                    .expires_at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default();
                next.block = Some(nb);
                vec![ev(
                    "block.review_due",
                    json!({
                        "deciding_org": self.deciding_org.slug,
                        "target": self.target,
                        "expires_at": expires,
                    }),
                )]
            }
            MeasureCommand::Expire => {
                if !matches!(actor, Actor::System { .. }) {
                    return refuse(RefusalCode::Role, "only the expiry job expires blocks");
                }
                let Some(b) = &self.block else {
                    return refuse(RefusalCode::Invalid, "only block measures expire");
                };
                if b.status != BlockStatus::Active {
                    return refuse(RefusalCode::State, "the block is not active");
                }
                if now < b.expires_at {
                    return refuse(RefusalCode::Window, "the block has not reached its expiry");
                }
                next.block = Some(BlockState {
                    status: BlockStatus::Expired,
                    ..b.clone()
                });
                vec![ev("block.expired", json!({}))]
            }
            MeasureCommand::Revoke { reasons } => {
                let org = require_role(actor, Role::Reviewer)?;
                require_org(org, &self.deciding_org, "revoke this measure")?;
                require_text("reasons", &reasons, 20_000)?;
                if !self.block_active() {
                    return refuse(RefusalCode::State, "only an active block can be revoked");
                }
                next.revoke();
                vec![ev("block.revoked", json!({"reasons": reasons}))]
            }
        };
        Ok(Outcome { next, events })
    }

    pub(crate) fn revoke(&mut self) {
        if let Some(b) = &mut self.block {
            b.status = BlockStatus::Revoked;
        }
    }
}
