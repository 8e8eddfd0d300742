//! The vocabulary of the API (DESIGN §5.1): request and response bodies and the query
//! parameters of the listings, shared by the server, the CLI and the tests. Requests refuse
//! unknown fields. Query parameters arrive as text and are parsed into the typed filters of
//! `filters` at the edge.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::lifecycle::{
    Case, DecisionOutcome, IncidentLevel, MeasureKind, Report, Severity, Tlp, Verdict, Victim,
};

/// An indicator as sent: parsed and normalised by the server, with errors per item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IndicatorInput {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    pub category: String,
    pub subtype: String,
    pub title: String,
    pub description: String,
    #[serde(with = "time::serde::rfc3339")]
    pub observed_at: OffsetDateTime,
    #[serde(default)]
    pub province: Option<String>,
    /// Defaults to amber: shared with the organisations that handle the threat.
    #[serde(default)]
    pub tlp: Option<Tlp>,
    #[serde(default)]
    pub indicators: Vec<IndicatorInput>,
    #[serde(default)]
    pub victim: Option<Victim>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReportCreated {
    pub id: Uuid,
    pub case_id: Uuid,
    /// The case's status after the report: a new case is `assigned`; a sighting joins a case
    /// in whatever state it is.
    pub status: String,
    /// True when the report joined an existing case as another sighting.
    pub correlated: bool,
    /// Indicators on an allow-list (false-positive guards): a block on them needs a reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowlist_flags: Vec<AllowlistFlag>,
}

/// An indicator that hits the false-positive guards, and which.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AllowlistFlag {
    pub indicator: IndicatorInput,
    pub hits: Vec<warden_core::lifecycle::AllowlistHit>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReportView {
    #[serde(flatten)]
    pub report: Report,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CaseView {
    #[serde(flatten)]
    pub case: Case,
    pub version: i64,
    /// The emergency plans' warning colour of the determined incident level, if any.
    pub warning_colour: Option<warden_core::lifecycle::WarningColour>,
    /// The case's indicators that hit the false-positive guards.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowlist_flags: Vec<AllowlistFlag>,
}

impl CaseView {
    pub fn new(case: Case, version: i64) -> Self {
        let warning_colour = case
            .determination
            .as_ref()
            .and_then(|d| d.incident_level)
            .map(|l| l.warning_colour());
        CaseView {
            allowlist_flags: vec![],
            case,
            version,
            warning_colour,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CaseList {
    pub items: Vec<CaseView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next: Option<String>,
}

/// Passes a case up to MIIT (`to` absent or null) or across to another province.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferralRequest {
    /// GB/T 2260 code of the province whose authority takes the case; absent: MIIT.
    #[serde(default)]
    pub to: Option<String>,
    pub reasons: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignmentRequest {
    /// Slug of the institution.
    pub institution: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecommendedMeasureInput {
    pub kind: MeasureKind,
    #[serde(default)]
    pub target: Option<IndicatorInput>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeterminationRequest {
    pub verdict: Verdict,
    #[serde(default)]
    pub severity: Option<Severity>,
    #[serde(default)]
    pub incident_level: Option<IncidentLevel>,
    pub rationale: String,
    #[serde(default)]
    pub recommended_measures: Vec<RecommendedMeasureInput>,
    /// The malicious program's family, when known: it goes into every notice of the case.
    #[serde(default)]
    pub malware_family: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeasureInput {
    pub kind: MeasureKind,
    #[serde(default)]
    pub target: Option<IndicatorInput>,
    /// Slug of the organisation that must act.
    #[serde(default)]
    pub recipient_org: Option<String>,
    /// Overrides the policy deadline.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub deadline: Option<OffsetDateTime>,
    /// How far a block reaches: `exact`, `subdomains` (the default for domains),
    /// `mail_domain` (every address of an e-mail target's domain), `number_range`.
    #[serde(default)]
    pub scope: Option<warden_core::indicator::TargetScope>,
    /// The last number of a `number_range` block (E.164).
    #[serde(default)]
    pub range_last: Option<String>,
    /// Required when the target is on an allow-list: why it is blocked all the same.
    #[serde(default)]
    pub allowlist_override: Option<String>,
    /// What the recipient must do, in the authority's words (up to 5000 characters); the
    /// notice carries it. Without it, the notice states the measure's usual content.
    #[serde(default)]
    pub instructions: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    pub outcome: DecisionOutcome,
    pub reasons: String,
    #[serde(default)]
    pub measures: Vec<MeasureInput>,
    /// Slugs of organisations notified under Art. 8(3) (the victim's supervising unit and the
    /// cyberspace administration).
    #[serde(default)]
    pub notify: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IssuedMeasure {
    pub id: Uuid,
    pub notice_id: Uuid,
    pub recipient_org: String,
    /// `issued`; `pending` on the emergency path, until the recipient is telephoned or sent
    /// the written notice (its time starts then, and the deadline moves with it).
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    pub deadline: OffsetDateTime,
    pub deadline_provisional: bool,
    /// Whom to telephone first on the emergency path: the recipient's Art. 5 contacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telephone: Option<warden_core::org::Art5Contacts>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DecisionResponse {
    pub case_id: Uuid,
    pub status: String,
    pub policy_version: String,
    pub measures: Vec<IssuedMeasure>,
    /// Art. 8(3) notifications sent with the decision.
    pub notifications: Vec<IssuedNotification>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IssuedNotification {
    pub notice_id: Uuid,
    pub measure_id: Uuid,
    pub org: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CaseStatusResponse {
    pub case_id: Uuid,
    pub status: String,
    pub version: i64,
}

/// A signed notice with the state of its measure. `warden notice verify` reads this document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoticeView {
    #[serde(flatten)]
    pub notice: warden_core::notice::SignedNotice,
    pub status: String,
    pub overdue: bool,
}

/// One line of a notice list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoticeSummary {
    pub id: Uuid,
    pub measure_id: Uuid,
    pub case_id: Uuid,
    pub reference: String,
    pub kind: MeasureKind,
    pub target: Option<warden_core::indicator::Indicator>,
    pub recipient_org: String,
    pub deciding_org: String,
    pub status: String,
    pub overdue: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub deadline: OffsetDateTime,
    pub emergency: bool,
    pub block_active: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoticeList {
    pub items: Vec<NoticeSummary>,
    pub next: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AckRequest {}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    pub outcome: warden_core::lifecycle::FeedbackOutcome,
    pub actions_taken: String,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerificationRequest {
    pub result: warden_core::lifecycle::VerificationResult,
    pub method: warden_core::lifecycle::VerificationMethod,
    #[serde(default)]
    pub notes: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoticeStatusResponse {
    pub id: Uuid,
    pub measure_id: Uuid,
    pub status: String,
    pub overdue: bool,
}

/// The emergency path of one measure, for the deciding authority (Art. 8 last paragraph,
/// Art. 13): whom to telephone, the calls made, and the written notice still owed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TelephoneSheet {
    pub notice_id: Uuid,
    pub measure_id: Uuid,
    pub case_id: Uuid,
    pub recipient_org: String,
    pub recipient_name: String,
    pub kind: MeasureKind,
    pub target: Option<warden_core::indicator::Indicator>,
    /// The recipient's Art. 5 contacts; absent when it has not recorded them.
    pub contacts: Option<warden_core::org::Art5Contacts>,
    pub status: String,
    pub calls: Vec<warden_core::lifecycle::PhoneNotification>,
    /// The recipient's deadline (moved to count from the first call or written notice).
    #[serde(with = "time::serde::rfc3339")]
    pub deadline: OffsetDateTime,
    /// The signed written notice is still to be issued.
    pub written_notice_pending: bool,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub written_notice_due: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub written_notice_at: Option<OffsetDateTime>,
    pub written_notice_overdue: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealRequest {
    pub appellant: warden_core::lifecycle::Appellant,
    pub grounds: String,
}

/// The public appeal form: no account, the measure named by its reference number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicAppealRequest {
    pub reference: String,
    pub appellant: warden_core::lifecycle::Appellant,
    pub grounds: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AppealCreated {
    pub id: Uuid,
    pub measure_id: Uuid,
    pub reference: String,
    pub status: String,
    /// The authority's answer is due by then (Art. 10: 30 working days).
    #[serde(with = "time::serde::rfc3339")]
    pub reply_due: OffsetDateTime,
    pub reply_due_provisional: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModificationInput {
    /// A target within the original block (a subdomain, an address or network inside the
    /// original network, a number inside the original range).
    #[serde(default)]
    pub target: Option<IndicatorInput>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// A scope no wider than the original (`exact` instead of `subdomains`).
    #[serde(default)]
    pub scope: Option<warden_core::indicator::TargetScope>,
    /// The last number of a narrower `number_range`.
    #[serde(default)]
    pub range_last: Option<String>,
    /// Required when the narrowed target is on an allow-list.
    #[serde(default)]
    pub allowlist_override: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealDecisionRequest {
    pub outcome: warden_core::lifecycle::AppealOutcome,
    pub reasons: String,
    #[serde(default)]
    pub modification: Option<ModificationInput>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AppealDecisionResponse {
    pub id: Uuid,
    pub status: String,
    pub measure_id: Uuid,
    pub block_active: bool,
    /// The signed revocation or modification notice sent to the recipient.
    pub notice_id: Option<Uuid>,
    pub late: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AppealView {
    #[serde(flatten)]
    pub appeal: warden_core::lifecycle::Appeal,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockAdvanceRequest {
    pub seconds: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClockResponse {
    #[serde(with = "time::serde::rfc3339")]
    pub now: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<warden_store::AuditEntry>,
    /// Pass as `after` for the next page; absent at the end of the trail.
    pub next_after: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EnforcementView {
    #[serde(flatten)]
    pub enforcement: warden_core::lifecycle::Enforcement,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EnforcementList {
    pub items: Vec<EnforcementView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnforcementActionRequest {
    pub kind: warden_core::lifecycle::ActionKind,
    /// The article of the Cybersecurity Law: `csl-58`, `csl-61`, `csl-62`, `csl-70` in the
    /// text in force, or as the measures cite them (`csl-56`, `csl-59`, `csl-60`,
    /// `csl-68`); see GET /api/v1/penalties.
    pub basis: String,
    #[serde(default)]
    pub amount_yuan: Option<u64>,
    /// The person directly responsible, with their own fine if any.
    #[serde(default)]
    pub responsible_person: Option<warden_core::lifecycle::ResponsiblePerson>,
    pub notes: String,
}

/// An organisation's compliance record (Art. 12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ComplianceRecord {
    pub org: String,
    pub notices: u64,
    pub overdue: u64,
    /// Art. 9 look-up requests it was asked, and those not answered in time.
    pub inquiries: u64,
    pub inquiries_late: u64,
    pub enforcement_records: u64,
    pub talks: u64,
    pub warnings: u64,
    pub fines: u64,
    pub fines_total_yuan: u64,
}

/// A threat the reporter handled in its own systems (Art. 6, 11).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SelfReportRequest {
    pub report: ReportRequest,
    /// What was done about it, and when it was done.
    pub actions_taken: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SelfReportCreated {
    pub id: Uuid,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TimelinessReport {
    pub group_by: warden_core::stats::GroupBy,
    pub from: Option<String>,
    pub to: Option<String>,
    pub groups: Vec<warden_core::stats::Group>,
    /// When these figures were computed (RFC 3339). Figures are kept between requests: they
    /// are current unless something was written since, and never older than the server's
    /// `--statistics-max-age`.
    pub as_of: String,
}

/// Art. 8: the telephone call that precedes the written notice in an emergency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneNotificationRequest {
    pub called_person: String,
    pub called_number: String,
    /// Who answered, when not the person called.
    #[serde(default)]
    pub answered_by: Option<String>,
    pub summary: String,
    /// When the call was made (default: now).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulletinRequest {
    pub title: String,
    pub body: String,
    /// Defaults to green: members may share it within their community.
    #[serde(default)]
    pub tlp: Option<Tlp>,
    /// Organisation types it is for; empty: every member.
    #[serde(default)]
    pub audience: Vec<warden_core::org::OrgType>,
    #[serde(default)]
    pub case_ids: Vec<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicationRequest {
    pub title: String,
    pub body: String,
    #[serde(default)]
    pub case_ids: Vec<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BulletinList {
    pub items: Vec<warden_core::bulletin::Bulletin>,
    pub next: Option<String>,
}

/// The result of re-walking the audit chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditVerification {
    pub intact: bool,
    pub entries: i64,
    pub head_hash: String,
    /// The first entry that was edited, deleted or reordered.
    pub first_broken: Option<i64>,
    pub problem: Option<String>,
    /// Signed checkpoints whose hash and platform signature both hold.
    pub checkpoints: i64,
}

/// A signed checkpoint of the audit chain as published: members keep copies, and
/// `warden audit verify --against` checks a database against them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckpointDoc {
    /// 1, 2, 3, … without a gap.
    pub number: i64,
    /// The audit entry whose hash this checkpoint states.
    pub seq: i64,
    pub hash: String,
    /// Microseconds since 1970, as signed.
    pub at_us: i64,
    /// SHA-256 of checkpoint `number - 1`'s signed message (64 zeros for the first; empty
    /// for checkpoints signed before they were linked).
    pub prev: String,
    pub key_id: String,
    /// Base64 Ed25519 signature by the platform key over the canonical message
    /// `{"at_us":…,"hash":"…","number":…,"prev":"…","seq":…}`.
    pub signature: String,
}

impl From<warden_store::Checkpoint> for CheckpointDoc {
    fn from(c: warden_store::Checkpoint) -> Self {
        CheckpointDoc {
            number: c.number,
            seq: c.seq,
            hash: c.hash,
            at_us: c.at_us,
            prev: c.prev,
            key_id: c.key_id,
            signature: c.signature,
        }
    }
}

impl From<CheckpointDoc> for warden_store::Checkpoint {
    fn from(c: CheckpointDoc) -> Self {
        warden_store::Checkpoint {
            number: c.number,
            seq: c.seq,
            hash: c.hash,
            at_us: c.at_us,
            prev: c.prev,
            key_id: c.key_id,
            signature: c.signature,
        }
    }
}

/// A page of published checkpoints with the key that signs them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckpointPage {
    /// Base64 of the platform's Ed25519 checkpoint key.
    pub platform_key: String,
    pub items: Vec<CheckpointDoc>,
    /// Pass as `after` for the next page.
    pub next_after: Option<i64>,
}

/// A failed verification the checkpoint job found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditAlertDoc {
    pub first_broken: i64,
    pub problem: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub detected_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_seen_at: OffsetDateTime,
}

/// The trail at a glance, without walking all of it: the last checkpoint, the entries since
/// it verified, and what the checkpoint job has raised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditStatus {
    /// The entries since the last checkpoint verify, its signature holds, and no alert
    /// was raised.
    pub intact: bool,
    pub entries: i64,
    pub head_hash: String,
    pub last_checkpoint: Option<CheckpointDoc>,
    pub first_broken: Option<i64>,
    pub problem: Option<String>,
    pub alerts: Vec<AuditAlertDoc>,
}

/// One listed block that a looked-up value matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LookupMatch {
    pub measure_id: Uuid,
    /// Always `block`: only blocks are listed.
    pub kind: String,
    /// The measure's target, which may be wider than the value (a network, a parent domain).
    pub indicator: IndicatorInput,
    /// `exact`, `subdomains`, `mail_domain` or `number_range`.
    pub scope: String,
    /// The last number of a number range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_last: Option<String>,
    /// The public reference number, to quote in an appeal.
    pub reference: String,
    /// The organisation that enforces it.
    pub recipient_org: String,
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires: OffsetDateTime,
}

/// A value refused by a batch lookup: the others are answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LookupItemError {
    /// A stable code, as in problem types: `invalid-indicator`.
    #[serde(rename = "type")]
    pub kind: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LookupResult {
    /// The value as sent.
    pub value: String,
    /// The indicator type, given or recognised.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalized: Option<String>,
    pub listed: bool,
    pub matches: Vec<LookupMatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<LookupItemError>,
}

/// A value to look up: a string whose type is recognised, or a typed indicator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum LookupValue {
    Text(String),
    Typed(IndicatorInput),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupBatchRequest {
    /// Up to 10,000 values; one result each, in order.
    pub values: Vec<LookupValue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LookupBatchResponse {
    /// The blocklist serial the answers reflect.
    pub serial: i64,
    pub results: Vec<LookupResult>,
}

/// The most values one batch lookup takes.
pub const LOOKUP_BATCH_MAX: usize = 10_000;

/// An operator-managed allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllowlistRequest {
    /// An IP address, a network (CIDR) or a domain name (with everything below it).
    pub value: String,
    /// Why it must not be blocked by mistake.
    pub reason: String,
}

/// One guard: shipped (with its source) or operator-managed (with its id and maintainer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AllowlistItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    pub list: String,
    pub value: String,
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AllowlistList {
    pub items: Vec<AllowlistItem>,
}

/// A resource an organisation declares it holds or sponsors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceRequest {
    /// `prefix`, `asn`, `domain`, `sponsored_domain`, `tld`, `mail_domain`, `phone_range`.
    pub kind: warden_core::resources::ResourceKind,
    pub value: String,
    /// The last number of a `phone_range`.
    #[serde(default)]
    pub range_last: Option<String>,
    /// The AS originating a `prefix`.
    #[serde(default)]
    pub asn: Option<u32>,
    /// Where the resource is used, when one province's (GB/T 2260 code): reports on it go to
    /// that province's authority.
    #[serde(default)]
    pub province: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClaimOutcome {
    Approved,
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimDecisionRequest {
    pub outcome: ClaimOutcome,
    #[serde(default)]
    pub reasons: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ResourceView {
    #[serde(flatten)]
    pub claim: warden_core::resources::ResourceClaim,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ResourceList {
    pub items: Vec<ResourceView>,
}

/// Who a value belongs to, and from what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AttributionResult {
    pub value: String,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalized: Option<String>,
    #[serde(flatten)]
    pub attribution: warden_match::attribution::Attribution,
    /// Where the resource is used (GB/T 2260), when its claim says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<LookupItemError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AttributionBatchResponse {
    pub results: Vec<AttributionResult>,
}

/// A verification probe to run now on a notice's target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProbeRequest {
    /// `dns`, `http` or `tcp`.
    pub method: warden_core::lifecycle::VerificationMethod,
    /// DNS: the resolvers to ask (`address[:port]`); by default those the recipient declared.
    #[serde(default)]
    pub resolvers: Vec<String>,
    /// HTTP and TCP: the port (80 by default).
    #[serde(default)]
    pub port: Option<u16>,
    /// Repeat the probe this often (`30m`, `1h`, `1d`; 5 minutes to 90 days): a later failure
    /// means the threat came back, and reopens the notice.
    #[serde(default)]
    pub every: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProbeResponse {
    pub result: warden_core::lifecycle::VerificationResult,
    /// What the probe saw, raw answer included; kept as the verification's notes.
    pub evidence: String,
    pub notice: NoticeStatusResponse,
}

/// A bulk feed import (`POST /api/v1/imports`, `warden import`): the job resource to poll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportJob {
    pub id: Uuid,
    /// The organisation that sent the feed.
    pub org_id: Uuid,
    /// csv, ndjson, plain (HTTP); stix and misp too from the CLI.
    pub format: String,
    pub source: String,
    /// receiving, queued, running, complete or failed.
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished: Option<OffsetDateTime>,
    /// Bytes received (HTTP uploads).
    pub bytes: u64,
    /// Lines read so far.
    pub lines: u64,
    pub accepted: u64,
    /// Indicators no feed had brought before.
    pub new_indicators: u64,
    /// Accepted indicators that were already known: counted as sightings.
    pub merged: u64,
    pub rejected: u64,
    /// Why the import failed.
    pub detail: Option<String>,
    /// Where the rejected lines are listed, with their reasons.
    pub rejects: String,
}

impl From<&warden_store::ImportRecord> for ImportJob {
    fn from(r: &warden_store::ImportRecord) -> Self {
        ImportJob {
            id: r.id,
            org_id: r.org_id,
            format: r.format.clone(),
            source: r.source.clone(),
            status: r.status.clone(),
            started: r.started,
            finished: r.finished,
            bytes: r.bytes,
            lines: r.lines,
            accepted: r.accepted,
            new_indicators: r.new_indicators,
            merged: r.accepted.saturating_sub(r.new_indicators),
            rejected: r.rejected,
            detail: r.detail.clone(),
            rejects: format!("/api/v1/imports/{}/rejects", r.id),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportList {
    pub items: Vec<ImportJob>,
}

/// A line an import refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportRejectItem {
    /// Its number among the import's rejects, from 1 (pass the last one as `after`).
    pub n: u64,
    /// Where: `line N`.
    pub place: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportRejectList {
    pub items: Vec<ImportRejectItem>,
    /// Of every reject, counted; the first 100,000 are kept.
    pub total: u64,
}

/// Query parameters of `GET /api/v1/cases`.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CasesQuery {
    pub status: Option<String>,
    pub category: Option<String>,
    pub province: Option<String>,
    /// Slug of a reporting organisation.
    pub org: Option<String>,
    /// Slug of the institution the case is assigned to.
    pub assigned_to: Option<String>,
    /// Opened at or after (RFC 3339).
    pub from: Option<String>,
    /// Opened before (RFC 3339).
    pub to: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Query parameters of `GET /api/v1/notices`.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NoticesQuery {
    pub status: Option<String>,
    pub overdue: Option<bool>,
    pub province: Option<String>,
    /// The category of the case.
    pub category: Option<String>,
    /// Decided at or after (RFC 3339).
    pub from: Option<String>,
    /// Decided before (RFC 3339).
    pub to: Option<String>,
    /// Slug of the recipient organisation.
    pub recipient: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Query parameters of `GET /api/v1/audit`.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries after this sequence number.
    pub after: Option<i64>,
    pub limit: Option<u32>,
}

/// Query parameters of `GET /api/v1/enforcements` and `GET /api/v1/compliance`.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EnforcementQuery {
    pub org: Option<String>,
    pub province: Option<String>,
    pub limit: Option<u32>,
}

/// Query parameters of `GET /api/v1/stats/timeliness`.
#[derive(Debug, Clone, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TimelinessQuery {
    pub group_by: warden_core::stats::GroupBy,
    /// Cases opened at or after (RFC 3339).
    pub from: Option<String>,
    /// Cases opened before (RFC 3339).
    pub to: Option<String>,
}

/// Query parameters of the bulletin and publication lists.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Query parameters of `GET /api/v1/blocklists/{format}`.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// Slug of the organisation whose blocks to export (yours by default unless you oversee).
    pub recipient: Option<String>,
    /// Only the changes after this serial (a delta).
    pub since: Option<i64>,
    /// Only targets of this indicator type (`plain` and `csv`).
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// Query parameters of `GET /api/v1/lookup`.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LookupQuery {
    /// The value: an address, network, domain, URL, e-mail address, phone number, hash…
    pub value: String,
    /// Its indicator type, when it should not be recognised from its shape.
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportsQuery {
    /// At most this many (default 50, at most 1000).
    pub limit: Option<u32>,
}

#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RejectsQuery {
    /// Rejects after this number (the last `n` of the previous page).
    pub after: Option<u64>,
    /// At most this many (default 1000, at most 10000).
    pub limit: Option<u32>,
}

/// `POST /api/v1/organisations`: a member organisation to register. The jurisdiction follows
/// from the type (a provincial authority's is its province).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganisationRequest {
    /// 2–64 lowercase letters, digits or inner hyphens; it names the organisation for good.
    pub slug: String,
    pub name: String,
    #[serde(rename = "type")]
    pub org_type: warden_core::org::OrgType,
    /// GB/T 2260 province code where it is based (two digits, e.g. 32 for Jiangsu).
    #[serde(default)]
    pub province: Option<String>,
    /// Art. 5: required of institutions, operators, internet and security companies,
    /// registries, registrars and service providers.
    #[serde(default)]
    pub contacts: Option<warden_core::org::Art5Contacts>,
    /// Slug of the supervising unit of a Party/government organ or CII operator (Art. 8(3)).
    #[serde(default)]
    pub supervising_unit: Option<String>,
}

/// Present-but-null and absent differ in a change: null clears.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// `PATCH /api/v1/organisations/{slug}`: the fields to change; absent ones stay. An
/// organisation's own admin changes only `contacts`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganisationPatch {
    #[serde(default)]
    pub name: Option<String>,
    /// A new province code; `null` for none.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub province: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<warden_core::org::Art5Contacts>)]
    pub contacts: Option<Option<warden_core::org::Art5Contacts>>,
    /// A supervising unit's slug; `null` for none.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub supervising_unit: Option<Option<String>>,
    /// Its people must sign in with a second factor (TOTP); its own admin's choice.
    #[serde(default)]
    pub require_second_factor: Option<bool>,
    /// Refused when it differs: slugs do not change.
    #[serde(default)]
    pub slug: Option<String>,
    /// Refused when it differs: register a new organisation instead.
    #[serde(default, rename = "type")]
    pub org_type: Option<warden_core::org::OrgType>,
}

/// `POST /api/v1/organisations/{slug}/suspension`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuspendRequest {
    pub reason: String,
}

/// An organisation as the caller may see it: its Art. 5 contacts and declared resources only
/// for itself and the bodies that oversee it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrganisationView {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    #[serde(rename = "type")]
    pub org_type: warden_core::org::OrgType,
    #[schema(value_type = Option<String>)]
    pub jurisdiction: Option<warden_core::org::Jurisdiction>,
    #[schema(value_type = Option<String>)]
    pub province: Option<warden_core::org::Province>,
    /// The province's name, in Chinese.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub province_name: Option<String>,
    /// Absent when the caller may not see them, or none are recorded (`art5_incomplete`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contacts: Option<warden_core::org::Art5Contacts>,
    /// Art. 5 asks for contacts that are not recorded yet.
    pub art5_incomplete: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervising_unit: Option<String>,
    /// `active` or `suspended`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended: Option<warden_core::org::Suspension>,
    /// Its people sign in with a second factor.
    pub require_second_factor: bool,
    /// Its declared resources (Art. 9 registry), on the single-organisation read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceView>,
    /// Send as `If-Match` with a change to refuse it if someone changed the organisation
    /// meanwhile.
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrganisationList {
    pub items: Vec<OrganisationView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next: Option<String>,
}

/// Query parameters of `GET /api/v1/organisations`.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrganisationsQuery {
    /// An organisation type (`telecom_operator`, `provincial_authority`, …).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub org_type: Option<String>,
    /// A GB/T 2260 province code.
    pub province: Option<String>,
    /// `active` or `suspended`.
    pub status: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// A person of an organisation as its administrators see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PersonView {
    pub id: Uuid,
    /// The sign-in name.
    pub name: String,
    pub display_name: String,
    pub org: String,
    pub roles: Vec<warden_core::org::Role>,
    pub disabled: bool,
    /// Whether a password is set (an invited person has none until they use the link).
    pub has_password: bool,
    /// Whether they sign in with a TOTP second factor.
    pub second_factor: bool,
    /// Locked after failed sign-ins until then (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<String>,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PeopleList {
    pub items: Vec<PersonView>,
}

/// `POST /api/v1/organisations/{slug}/people`: a person to invite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonRequest {
    /// The sign-in name, e.g. `zhang.san@ca-jiangsu`: 2–64 letters, digits or `. - _ @`.
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    pub roles: Vec<warden_core::org::Role>,
}

/// `PATCH /api/v1/people/{name}`: absent fields stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonPatch {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub roles: Option<Vec<warden_core::org::Role>>,
    /// A disabled person cannot sign in; their sessions end at once.
    #[serde(default)]
    pub disabled: Option<bool>,
}

/// A one-time link for a person to set their password (and second factor): shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LinkIssued {
    pub person: PersonView,
    /// `invitation` or `reset`.
    pub purpose: String,
    /// The console path to open (`/console/welcome/…`); it works once, until `expires_at`.
    pub link: String,
    pub expires_at: String,
}

/// An API token as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenView {
    pub prefix: String,
    pub label: String,
    pub roles: Vec<warden_core::org::Role>,
    /// `active`, `revoked` or `expired`.
    pub status: String,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenList {
    pub items: Vec<TokenView>,
}

/// `POST /api/v1/organisations/{slug}/tokens`: an API client and its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub roles: Vec<warden_core::org::Role>,
    #[serde(default)]
    pub label: Option<String>,
    /// Days until it expires; none: until revoked.
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

/// A new token: the secret is in `token`, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenCreated {
    pub token: String,
    #[serde(flatten)]
    pub view: TokenView,
}

/// Art. 9: an authority (or the institution on its behalf) asks an organisation who holds an
/// address, a broadband account, a domain or a telephone number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InquiryRequest {
    /// Slug of the organisation asked (an operator, internet company, registry, registrar).
    pub addressee: String,
    /// What is asked about: `ipv4`, `ipv6`, `cidr`, `broadband_account`, `domain`, `phone`.
    pub subject: IndicatorInput,
    pub question: String,
    /// The case it serves: its province and, in an emergency, the shorter time limit.
    #[serde(default)]
    pub case_id: Option<Uuid>,
    /// The authority whose query it is, when an institution asks on its behalf (default:
    /// the authority over the case's province).
    #[serde(default)]
    pub authority: Option<String>,
    /// GB/T 2260 province code, when no case gives it.
    #[serde(default)]
    pub province: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InquiryAnswerRequest {
    pub holder: String,
    #[serde(default)]
    pub registrant: Option<String>,
    #[serde(default)]
    pub contact: Option<String>,
    pub evidence: String,
    /// The holder's slug when it is a member organisation: later measures on the subject are
    /// routed to it when the registry has no answer.
    #[serde(default)]
    pub holder_org: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InquiryView {
    #[serde(flatten)]
    pub inquiry: warden_core::lifecycle::Inquiry,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InquiryList {
    pub items: Vec<InquiryView>,
    pub next: Option<String>,
}

/// Query parameters of `GET /api/v1/inquiries`.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InquiryQuery {
    /// Only those still awaiting an answer.
    pub open: Option<bool>,
    /// 1–1000 (default 100).
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The figures of the console's dashboard.
#[derive(Debug, Clone)]
pub struct Dashboard {
    pub cases: u64,
    pub notices: u64,
    pub opened: Vec<(time::Date, [u64; 5])>,
    /// Decision → first report-back, in `warden_core::stats::HANDLING_BUCKETS` and beyond.
    pub handling: [u64; 7],
    pub awaiting_report: u64,
    pub overdue_by_province: Vec<(String, u64)>,
    pub overdue_by_org: Vec<(String, u64)>,
    /// When these figures were computed.
    pub as_of: time::OffsetDateTime,
}
