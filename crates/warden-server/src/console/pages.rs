//! The console's work pages: a case (timeline, indicators, determination, decision, its
//! notices) and a notice (the signed order with its fingerprint), and the forms that move
//! them: assignment, determination, acknowledgement, report-back, verification, a new report.
//! Every form goes through the same service calls as the API, so the core decides who may do
//! what; the page only offers the forms a role could use.

use super::forms::{
    Choice, Done, Fact, SignedIn, choices, enum_field, enum_str, fact, form_session, form_status,
    optional, refused,
};
use super::frame::{Lang, Layout, Messages, RowView, day, lang, page, status_label, user_view};
use super::tables::{notice_head, notice_rows};
use crate::error::ApiError;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::indicator::Indicator;
use warden_core::lifecycle::{
    Case, CaseStatus, DecisionOutcome, MeasureCommand, MeasureKind, Severity, can_assign,
    can_decide, can_determine,
};
use warden_core::notice::fingerprint;

use warden_core::taxonomy::Category;
use warden_service::ServiceError;
use warden_service::authentication::Session;
use warden_service::filters::{CasesFilter, Lookup};
use warden_service::proto::CasesQuery;
use warden_service::proto::{
    AssignmentRequest, DecisionRequest, DeterminationRequest, IndicatorInput, MeasureInput,
    ReportRequest, SelfReportRequest,
};

/// An instant, to the second in Beijing time.
fn moment_of(t: OffsetDateTime) -> String {
    let t = t.to_offset(warden_core::calendar::SHANGHAI);
    format!(
        "{} {:02}:{:02}:{:02} (UTC+8)",
        &day(t)[..10],
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// A notice's RFC 3339 time, shown like any other instant (the text as is if it does not
/// parse).
fn moment(s: &str) -> String {
    match OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
        Ok(t) => moment_of(t),
        Err(_) => s.to_owned(),
    }
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    layout: Layout,
    id: Uuid,
    title: String,
    facts: Vec<Fact>,
    indicators: Vec<RowView>,
    /// How many indicators and reports the page leaves out (see `SHOWN_INDICATORS`).
    indicators_more: usize,
    reports_more: usize,
    reports: Vec<RowView>,
    timeline: Vec<Fact>,
    determination: Vec<Fact>,
    decision: Vec<Fact>,
    notice_head: Vec<String>,
    notices: Vec<RowView>,
    /// The cursor of the next page of notices, URL-encoded; whether this is a later page.
    notices_next: Option<String>,
    notices_later: bool,
    can_assign: bool,
    /// Where the case can be assigned.
    institutions: Vec<Choice>,
    can_determine: bool,
    can_decide: bool,
    proposals: Vec<Proposal>,
    kinds: Vec<Choice>,
    decision_outcomes: Vec<Choice>,
    /// Emergency (incident level I or II): the shorter deadlines apply.
    emergency: bool,
    verdicts: Vec<Choice>,
    severities: Vec<Choice>,
    levels: Vec<Choice>,
    error: Option<String>,
    done: bool,
}

layout_page!(CasePage);

pub(super) async fn case_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    SignedIn(sess): SignedIn,
    Path(id): Path<Uuid>,
    Query(q): Query<CasePageQuery>,
) -> Result<Response, ApiError> {
    let page = CaseRender {
        done: q.done.is_some(),
        notices: q.notices,
    };
    render_case(&s, &lang(&headers), &sess, id, None, page).await
}

/// A case page's query: `done` after a form, `notices` the cursor of a later page of its
/// notices.
#[derive(serde::Deserialize)]
pub(super) struct CasePageQuery {
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    notices: Option<String>,
}

#[derive(Default)]
struct CaseRender {
    done: bool,
    notices: Option<String>,
}

/// How many of a case's indicators and reports its page shows.
const SHOWN_INDICATORS: usize = 500;
const SHOWN_REPORTS: usize = 25;

async fn render_case(
    s: &AppState,
    l: &Lang,
    sess: &Session,
    id: Uuid,
    error: Option<String>,
    shown: CaseRender,
) -> Result<Response, ApiError> {
    let m = l.m;
    let done = shown.done;
    let view = s.svc.case(&sess.actor, id).await?;
    let c = &view.case;
    let mut facts = vec![
        fact(m, "col_status", status_label(m, c.status.as_str())),
        fact(
            m,
            "col_category",
            format!(
                "{} / {}",
                m.t(&format!("category_{}", c.classification.category.as_str())),
                m.t(&format!("subtype_{}", c.classification.subtype.as_str()))
            ),
        ),
        fact(
            m,
            "col_province",
            c.province
                .map(|p| p.to_string())
                .unwrap_or_else(|| "—".into()),
        ),
        fact(
            m,
            "col_tlp",
            format!("TLP:{}", enum_str(&c.tlp).to_uppercase()),
        ),
        fact(m, "col_opened", day(c.opened_at)),
        fact(m, "col_updated", day(c.updated_at)),
    ];
    if let Some(a) = &c.assigned_to {
        facts.push(fact(m, "col_assigned", a.slug.clone()));
    }
    if let Some(colour) = view.warning_colour {
        facts.push(fact(
            m,
            "col_warning",
            m.t(&format!("colour_{}", enum_str(&colour))).to_owned(),
        ));
    }
    let flagged: Vec<_> = view
        .allowlist_flags
        .iter()
        .map(|f| (f.indicator.kind.clone(), f.indicator.value.clone()))
        .collect();
    // A campaign's case can hold tens of thousands of indicators: the page shows the flagged
    // ones and the first others up to a bound, and says how many it leaves to the API.
    let is_flagged = |i: &warden_core::indicator::Indicator| {
        flagged
            .iter()
            .any(|(k, v)| k == i.kind().as_str() && v == i.value())
    };
    let listed: Vec<&warden_core::indicator::Indicator> = c
        .indicators
        .iter()
        .filter(|i| is_flagged(i))
        .chain(c.indicators.iter().filter(|i| !is_flagged(i)))
        .take(SHOWN_INDICATORS)
        .collect();
    let indicators_more = c.indicators.len() - listed.len();
    let mut attributions = Vec::with_capacity(listed.len());
    for i in &listed {
        attributions.push(attribution_line(s, sess, m, i).await);
    }
    let indicators = listed
        .into_iter()
        .zip(attributions)
        .map(|(i, attribution)| {
            let hit = flagged
                .iter()
                .any(|(k, v)| k == i.kind().as_str() && v == i.value());
            RowView {
                href: Some(format!(
                    "/console/lookup?value={}",
                    url::form_urlencoded::byte_serialize(i.value().as_bytes()).collect::<String>()
                )),
                cells: vec![
                    i.value().to_owned(),
                    i.kind().as_str().to_owned(),
                    attribution,
                    if hit { m.t("allowlisted") } else { "" }.to_owned(),
                ],
                alert: hit,
            }
        })
        .collect();
    // The reports that make up the case (the first and every sighting since), as far as the
    // person may see them.
    let mut reports = vec![];
    let reports_more = c.report_ids.len().saturating_sub(SHOWN_REPORTS);
    for rid in c.report_ids.iter().take(SHOWN_REPORTS) {
        match s.svc.report(&sess.actor, *rid).await {
            Ok(r) => {
                let r = r.report;
                reports.push(RowView {
                    href: None,
                    cells: vec![
                        day(r.submitted_at),
                        r.reporter.slug.clone(),
                        r.content.title.clone(),
                        r.content
                            .indicators
                            .iter()
                            .map(|i| i.value())
                            .collect::<Vec<_>>()
                            .join(" "),
                    ],
                    alert: false,
                });
            }
            Err(ServiceError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let timeline = s
        .svc
        .case_timeline(&sess.actor, id)
        .await?
        .into_iter()
        .map(|(at, st)| Fact {
            label: day(at),
            value: status_label(m, st.as_str()),
        })
        .collect();
    let determination = c
        .determination
        .as_ref()
        .map(|d| {
            let mut v = vec![
                fact(
                    m,
                    "col_verdict",
                    m.t(&format!("verdict_{}", enum_str(&d.verdict))).to_owned(),
                ),
                fact(m, "col_org", d.org.slug.clone()),
                fact(m, "col_at", day(d.at)),
            ];
            if let Some(sev) = &d.severity {
                v.push(fact(
                    m,
                    "col_severity",
                    m.t(&format!("severity_{}", enum_str(sev))).to_owned(),
                ));
            }
            if let Some(lv) = &d.incident_level {
                v.push(fact(m, "col_level", enum_str(lv)));
            }
            v.push(fact(m, "col_rationale", d.rationale.clone()));
            v
        })
        .unwrap_or_default();
    let decision = c
        .decision
        .as_ref()
        .map(|d| {
            vec![
                fact(
                    m,
                    "col_outcome",
                    m.t(&format!("outcome_{}", enum_str(&d.outcome))).to_owned(),
                ),
                fact(m, "col_org", d.org.slug.clone()),
                fact(m, "col_at", day(d.at)),
                fact(m, "col_reasons", d.reasons.clone()),
                fact(
                    m,
                    "col_notified",
                    d.notified
                        .iter()
                        .map(|o| o.slug.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            ]
        })
        .unwrap_or_default();
    let listed = s
        .svc
        .case_notices(&sess.actor, id, shown.notices.as_deref())
        .await?;
    let notices_next = listed
        .next
        .map(|n| url::form_urlencoded::byte_serialize(n.as_bytes()).collect::<String>());
    let notices_later = shown.notices.is_some();
    let notices = notice_rows(m, s.svc.now(), listed.items);
    let can_decide = can_decide(&sess.actor, c);
    let can_assign = can_assign(&sess.actor, c);
    let institutions = if can_assign {
        s.svc
            .institutions()
            .await?
            .into_iter()
            .map(|o| Choice {
                label: format!("{} ({})", o.name, o.slug),
                value: o.slug,
            })
            .collect()
    } else {
        vec![]
    };
    let emergency = c
        .determination
        .as_ref()
        .and_then(|d| d.incident_level)
        .is_some_and(|l| l.is_emergency());
    let proposals = if can_decide {
        proposals(s, m, c, &flagged, emergency).await?
    } else {
        vec![]
    };
    let page_view = CasePage {
        layout: l.layout(Some(user_view(sess, m))),
        id,
        title: c.title.clone(),
        facts,
        indicators,
        indicators_more,
        reports_more,
        reports,
        timeline,
        determination,
        decision,
        notice_head: notice_head(m),
        notices_next,
        notices_later,
        notices,
        can_assign,
        institutions,
        can_determine: can_determine(&sess.actor, c),
        can_decide,
        proposals,
        kinds: MeasureKind::ALL
            .iter()
            .map(|k| Choice {
                value: k.as_str().to_owned(),
                label: m.t(&format!("kind_{}", k.as_str())).to_owned(),
            })
            .collect(),
        decision_outcomes: choices(m, "outcome_", &["approved", "dismissed", "returned"]),
        emergency,
        verdicts: choices(m, "verdict_", &["confirmed", "not_a_threat", "more_info"]),
        severities: choices(m, "severity_", &["critical", "high", "medium", "low"]),
        levels: ["I", "II", "III", "IV"]
            .iter()
            .map(|v| Choice {
                value: (*v).to_owned(),
                label: (*v).to_owned(),
            })
            .collect(),
        error: error.clone(),
        done,
    };
    Ok(page(form_status(&error), &page_view))
}

/// Who holds, registered or carries an indicator, from the resource registry (attribution).
async fn attribution_line(s: &AppState, sess: &Session, m: &Messages, i: &Indicator) -> String {
    let q = Lookup {
        sent: i.value().to_owned(),
        indicator: i.clone(),
    };
    // Those who may not look up see no attribution; the rest of the page stands.
    let Ok(r) = s.svc.attribution(&sess.actor, &q).await else {
        return String::new();
    };
    let a = r.attribution;
    let mut parts = vec![];
    for (key, answer) in [
        ("attr_holder", &a.holder),
        ("attr_registrar", &a.registrar),
        ("attr_registry", &a.registry),
        ("attr_carrier", &a.carrier),
        ("attr_mail", &a.mail_provider),
        ("attr_operator", &a.operator),
    ] {
        if let Some(x) = answer {
            parts.push(format!("{} {}", m.t(key), x.org));
        }
    }
    if let Some(asn) = a.asn {
        parts.push(format!("AS{asn}"));
    }
    if let Some(p) = r.province {
        parts.push(p);
    }
    parts.join(" · ")
}

/// One proposed measure of the decision form: an indicator of the case, where routing would
/// send a block on it, and the deadline the policy gives.
pub struct Proposal {
    pub idx: usize,
    pub kind: String,
    pub value: String,
    pub routed_to: String,
    pub unroutable: Option<String>,
    pub flagged: bool,
    pub blockable: bool,
    pub deadline: String,
}

async fn proposals(
    s: &AppState,
    m: &Messages,
    c: &Case,
    flagged: &[(String, String)],
    emergency: bool,
) -> Result<Vec<Proposal>, ApiError> {
    let severity = c
        .determination
        .as_ref()
        .and_then(|d| d.severity)
        .unwrap_or(Severity::Medium);
    let (span, due) = s
        .svc
        .policy_deadline(c.province, MeasureKind::Block, severity, emergency);
    let deadline = format!(
        "{} → {}{}",
        span_label(m, span),
        day(due.value),
        if due.provisional {
            format!(" {}", m.t("provisional"))
        } else {
            String::new()
        }
    );
    let mut out = vec![];
    for (idx, i) in c.indicators.iter().enumerate() {
        let (routed_to, unroutable) = match s
            .svc
            .route("measure", MeasureKind::Block, Some(i), c.province)
            .await
        {
            Ok(orgs) => (
                orgs.iter()
                    .map(|o| o.slug.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                None,
            ),
            Err(e @ ServiceError::Unroutable(_)) => (String::new(), Some(e.to_string())),
            Err(e) => return Err(e.into()),
        };
        out.push(Proposal {
            idx,
            kind: i.kind().as_str().to_owned(),
            value: i.value().to_owned(),
            routed_to,
            unroutable,
            flagged: flagged
                .iter()
                .any(|(k, v)| k == i.kind().as_str() && v == i.value()),
            blockable: i.kind().blockable(),
            deadline: deadline.clone(),
        });
    }
    Ok(out)
}

fn span_label(m: &Messages, span: warden_core::policy::Span) -> String {
    use warden_core::policy::Span;
    match span {
        Span::Hours(n) => format!("{n} {}", m.t("unit_hours")),
        Span::Days(n) => format!("{n} {}", m.t("unit_days")),
        Span::WorkingDays(n) => format!("{n} {}", m.t("unit_working_days")),
    }
}

/// The decision form: outcome, reasons, and per indicator whether to act, how, and on whom
/// (empty: the recipient routing finds).
pub(super) async fn decide(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let field = |k: &str| {
        f.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let sess = match form_session(&s, &headers, &field("csrf")).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let r = async {
        let outcome: DecisionOutcome = enum_field("outcome", &field("outcome"))?;
        let mut measures = vec![];
        if outcome == DecisionOutcome::Approved {
            for idx in 0.. {
                let p = |k: &str| field(&format!("m{idx}_{k}"));
                if p("value").is_empty() {
                    break;
                }
                if p("use").is_empty() {
                    continue;
                }
                let recipient = p("recipient");
                let reason = p("override");
                measures.push(MeasureInput {
                    kind: enum_field(&format!("measures[{idx}].kind"), &p("kind"))?,
                    target: Some(IndicatorInput {
                        kind: p("type"),
                        value: p("value"),
                    }),
                    recipient_org: Some(recipient).filter(|r| !r.is_empty()),
                    deadline: None,
                    scope: None,
                    range_last: None,
                    allowlist_override: Some(reason).filter(|r| !r.is_empty()),
                    instructions: Some(p("instructions")).filter(|r| !r.is_empty()),
                });
            }
        }
        let notify = field("notify")
            .split([',', ' '])
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect();
        let req = DecisionRequest {
            outcome,
            reasons: field("reasons"),
            measures,
            notify,
        };
        s.svc.decide(&sess.actor, id, req, None).await.map(|_| ())
    }
    .await;
    after_case_form(&s, &headers, &sess, id, r).await
}

#[derive(serde::Deserialize)]
pub(super) struct CsrfOnly {
    csrf: String,
}

#[derive(serde::Deserialize)]
pub(super) struct AssignForm {
    csrf: String,
    institution: String,
}

pub(super) async fn assign(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Form(f): Form<AssignForm>,
) -> Result<Response, ApiError> {
    let sess = match form_session(&s, &headers, &f.csrf).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let r = s
        .svc
        .assign(
            &sess.actor,
            id,
            AssignmentRequest {
                institution: f.institution,
            },
            None,
        )
        .await;
    after_case_form(&s, &headers, &sess, id, r.map(|_| ())).await
}

#[derive(serde::Deserialize)]
pub(super) struct DetermineForm {
    csrf: String,
    verdict: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    incident_level: String,
    #[serde(default)]
    rationale: String,
    #[serde(default)]
    malware_family: String,
}

pub(super) async fn determine(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Form(f): Form<DetermineForm>,
) -> Result<Response, ApiError> {
    let sess = match form_session(&s, &headers, &f.csrf).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let r = async {
        let req = DeterminationRequest {
            verdict: enum_field("verdict", &f.verdict)?,
            severity: optional("severity", &f.severity)?,
            incident_level: optional("incident_level", &f.incident_level)?,
            rationale: f.rationale.trim().to_owned(),
            recommended_measures: vec![],
            malware_family: Some(f.malware_family.trim().to_owned()).filter(|x| !x.is_empty()),
        };
        s.svc
            .determine(&sess.actor, id, req, None)
            .await
            .map(|_| ())
    }
    .await;
    after_case_form(&s, &headers, &sess, id, r).await
}

/// After a case form: back to the page (POST-redirect-GET), or the page with the refusal.
async fn after_case_form(
    s: &AppState,
    headers: &HeaderMap,
    sess: &Session,
    id: Uuid,
    r: Result<(), ServiceError>,
) -> Result<Response, ApiError> {
    match refused(r)? {
        None => Ok(Redirect::to(&format!("/console/cases/{id}?done=1")).into_response()),
        Some(why) => {
            render_case(
                s,
                &lang(headers),
                sess,
                id,
                Some(why),
                CaseRender::default(),
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "notice.html")]
struct NoticePage {
    layout: Layout,
    id: Uuid,
    case_id: Uuid,
    title: String,
    facts: Vec<Fact>,
    /// The emergency path, for the deciding authority.
    telephone: Vec<Fact>,
    /// The signed written notice exists (on the emergency path it follows the call).
    signed: bool,
    overdue: bool,
    can_ack: bool,
    can_feedback: bool,
    can_verify: bool,
    can_phone: bool,
    can_written: bool,
    outcomes: Vec<Choice>,
    results: Vec<Choice>,
    appeal_head: Vec<String>,
    appeals: Vec<RowView>,
    error: Option<String>,
    done: bool,
}

layout_page!(NoticePage);

pub(super) async fn notice_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    SignedIn(sess): SignedIn,
    Path(id): Path<Uuid>,
    Query(q): Query<Done>,
) -> Result<Response, ApiError> {
    render_notice(&s, &lang(&headers), &sess, id, None, q.done.is_some()).await
}

async fn render_notice(
    s: &AppState,
    l: &Lang,
    sess: &Session,
    id: Uuid,
    error: Option<String>,
    done: bool,
) -> Result<Response, ApiError> {
    let m = l.m;
    // On the emergency path the deciding authority sees whom to call and what it owes; the
    // signed notice may not exist yet.
    let sheet = s.svc.telephone_sheet(&sess.actor, id).await.ok();
    // The recipient's first view is its delivery receipt, as with the API.
    let signed = match s.svc.notice(&sess.actor, id).await {
        Ok(v) => Some(v),
        // On the emergency path the written notice follows the call: the order as the
        // measure holds it until then.
        Err(ServiceError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let mut facts = vec![];
    let (case_id, title, overdue) = match &signed {
        Some(v) => {
            notice_facts(m, v, &mut facts);
            let b = &v.notice.body;
            (b.case_id, b.kind_label().to_owned(), v.overdue)
        }
        None => {
            let ms = s.svc.notice_measure(&sess.actor, id).await?;
            facts.push(fact(m, "col_recipient", ms.recipient.slug.clone()));
            facts.push(fact(m, "col_measure", enum_str(&ms.kind)));
            if let Some(t) = &ms.target {
                facts.push(fact(
                    m,
                    "col_target",
                    format!("{} ({})", t.value(), t.kind()),
                ));
            }
            facts.push(fact(m, "col_deadline", moment_of(ms.deadline)));
            facts.push(fact(m, "col_status", status_label(m, ms.status.as_str())));
            (ms.case_id, m.t("pending_title").to_owned(), ms.overdue)
        }
    };
    let telephone = sheet.map(|sh| telephone_facts(m, &sh)).unwrap_or_default();
    let offers = s.svc.notice_offers(&sess.actor, id).await?;
    let appeals = if signed.is_some() {
        s.svc.notice_appeals(&sess.actor, id).await?
    } else {
        vec![]
    };
    let page_view = NoticePage {
        layout: l.layout(Some(user_view(sess, m))),
        id,
        case_id,
        title,
        facts,
        telephone,
        signed: signed.is_some(),
        overdue,
        can_ack: offers.acknowledge,
        // The report-back form is shown with the acknowledgement, which comes first.
        can_feedback: offers.feedback || offers.acknowledge,
        can_verify: offers.verify,
        can_phone: offers.phone,
        can_written: offers.written,
        outcomes: choices(m, "outcome_", &["done", "partially_done", "unable"]),
        results: choices(m, "result_", &["passed", "failed"]),
        appeal_head: super::tables::appeal_head(m),
        appeals: super::tables::appeal_rows(s, m, appeals),
        error: error.clone(),
        done,
    };
    Ok(page(form_status(&error), &page_view))
}

/// The emergency path as the deciding authority follows it: whom to call (the recipient's
/// Art. 5 contacts), the calls made, and the written notice owed.
fn telephone_facts(m: &Messages, sh: &warden_service::proto::TelephoneSheet) -> Vec<Fact> {
    let mut out = vec![];
    match &sh.contacts {
        Some(c) => {
            for (key, p) in [
                ("responsible_person", &c.responsible_person),
                ("contact_person", &c.contact_person),
            ] {
                out.push(fact(
                    m,
                    key,
                    format!("{} · {} · {}", p.name, p.phone, p.email),
                ));
            }
        }
        None => out.push(fact(m, "contact_person", m.t("no_contacts"))),
    }
    for c in &sh.calls {
        out.push(fact(
            m,
            "phone_call",
            format!(
                "{} · {} ({}){} · {}",
                moment_of(c.at),
                c.called_person,
                c.called_number,
                c.answered_by
                    .as_deref()
                    .map(|a| format!(" · {a}"))
                    .unwrap_or_default(),
                c.summary
            ),
        ));
    }
    out.push(fact(m, "col_deadline", moment_of(sh.deadline)));
    out.push(fact(
        m,
        "written_notice",
        match (sh.written_notice_at, sh.written_notice_due) {
            (Some(at), _) => format!("{} {}", m.t("written_issued"), moment_of(at)),
            (None, Some(due)) if sh.written_notice_overdue => {
                format!("{} {}", m.t("written_overdue"), moment_of(due))
            }
            (None, Some(due)) => format!("{} {}", m.t("written_due"), moment_of(due)),
            (None, None) => "—".to_owned(),
        },
    ));
    out
}

/// The facts of a signed notice, in the order a reader needs them.
fn notice_facts(m: &Messages, v: &warden_service::proto::NoticeView, facts: &mut Vec<Fact>) {
    let b = &v.notice.body;
    facts.extend([
        fact(m, "col_notice", b.reference.clone()),
        fact(
            m,
            "col_issuer",
            format!("{} ({})", b.issuer.name, b.issuer.slug),
        ),
        fact(
            m,
            "col_recipient",
            format!("{} ({})", b.recipient.name, b.recipient.slug),
        ),
        fact(m, "col_measure", b.kind_label()),
    ]);
    if let Some(t) = &b.target {
        facts.push(fact(
            m,
            "col_target",
            format!("{} ({})", t.value(), t.kind()),
        ));
    }
    facts.push(fact(m, "col_basis", b.legal_basis.clone()));
    for (key, value) in b.threat_rows() {
        facts.push(fact(m, &format!("notice_{key}"), value));
    }
    facts.push(fact(m, "col_decided", moment(&b.decided_at)));
    facts.push(fact(
        m,
        "col_deadline",
        if b.deadline_provisional {
            format!("{} · {}", moment(&b.deadline), m.t("provisional"))
        } else {
            moment(&b.deadline)
        },
    ));
    if b.emergency {
        facts.push(fact(
            m,
            "col_emergency",
            b.written_notice_due
                .as_deref()
                .map(moment)
                .unwrap_or_else(|| m.t("yes").to_owned()),
        ));
    }
    if let Some(e) = &b.block_expires_at {
        facts.push(fact(m, "col_expires", moment(e)));
    }
    if let Some(a) = &b.appeal {
        facts.push(fact(
            m,
            "col_appeal",
            if a.provisional {
                format!("{} · {} · {}", a.to, a.until, m.t("provisional"))
            } else {
                format!("{} · {}", a.to, a.until)
            },
        ));
    }
    if let Some(r) = &b.reasons {
        facts.push(fact(m, "col_reasons", r.clone()));
    }
    facts.push(fact(m, "col_status", status_label(m, &v.status)));
    facts.push(fact(m, "col_key", v.notice.signature.key_id.clone()));
    facts.push(fact(m, "col_fingerprint", fingerprint(&b.canonical())));
    facts.push(fact(m, "col_signature", v.notice.signature.value.clone()));
}

async fn after_notice_form(
    s: &AppState,
    headers: &HeaderMap,
    sess: &Session,
    id: Uuid,
    r: Result<(), ServiceError>,
) -> Result<Response, ApiError> {
    match refused(r)? {
        None => Ok(Redirect::to(&format!("/console/notices/{id}?done=1")).into_response()),
        Some(why) => render_notice(s, &lang(headers), sess, id, Some(why), false).await,
    }
}

pub(super) async fn acknowledge(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Form(f): Form<CsrfOnly>,
) -> Result<Response, ApiError> {
    let sess = match form_session(&s, &headers, &f.csrf).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let r = s
        .svc
        .notice_step(&sess.actor, id, MeasureCommand::Acknowledge, None)
        .await
        .map(|_| ());
    after_notice_form(&s, &headers, &sess, id, r).await
}

#[derive(serde::Deserialize)]
pub(super) struct FeedbackForm {
    csrf: String,
    outcome: String,
    #[serde(default)]
    actions_taken: String,
}

pub(super) async fn feedback(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Form(f): Form<FeedbackForm>,
) -> Result<Response, ApiError> {
    let sess = match form_session(&s, &headers, &f.csrf).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let r = async {
        let cmd = MeasureCommand::FileFeedback {
            outcome: enum_field("outcome", &f.outcome)?,
            actions_taken: f.actions_taken.trim().to_owned(),
            completed_at: None,
        };
        s.svc
            .notice_step(&sess.actor, id, cmd, None)
            .await
            .map(|_| ())
    }
    .await;
    after_notice_form(&s, &headers, &sess, id, r).await
}

#[derive(serde::Deserialize)]
pub(super) struct VerifyForm {
    csrf: String,
    result: String,
    #[serde(default)]
    notes: String,
}

pub(super) async fn verify(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Form(f): Form<VerifyForm>,
) -> Result<Response, ApiError> {
    let sess = match form_session(&s, &headers, &f.csrf).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let r = async {
        let cmd = MeasureCommand::Verify {
            result: enum_field("result", &f.result)?,
            method: warden_core::lifecycle::VerificationMethod::Manual,
            notes: f.notes.trim().to_owned(),
        };
        s.svc
            .notice_step(&sess.actor, id, cmd, None)
            .await
            .map(|_| ())
    }
    .await;
    after_notice_form(&s, &headers, &sess, id, r).await
}

#[derive(serde::Deserialize)]
pub(super) struct PhoneForm {
    csrf: String,
    #[serde(default)]
    called_person: String,
    #[serde(default)]
    called_number: String,
    #[serde(default)]
    answered_by: String,
    #[serde(default)]
    summary: String,
}

/// Emergencies: the deciding authority records the telephone call that came before the
/// written notice.
pub(super) async fn phone(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Form(f): Form<PhoneForm>,
) -> Result<Response, ApiError> {
    let sess = match form_session(&s, &headers, &f.csrf).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let cmd = MeasureCommand::RecordPhoneNotification {
        called_person: f.called_person.trim().to_owned(),
        called_number: f.called_number.trim().to_owned(),
        answered_by: Some(f.answered_by.trim().to_owned()).filter(|x| !x.is_empty()),
        summary: f.summary.trim().to_owned(),
        at: None,
    };
    let r = s
        .svc
        .notice_step(&sess.actor, id, cmd, None)
        .await
        .map(|_| ());
    after_notice_form(&s, &headers, &sess, id, r).await
}

/// Emergencies: the deciding authority issues the signed written notice it owes.
pub(super) async fn written(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Form(f): Form<CsrfOnly>,
) -> Result<Response, ApiError> {
    let sess = match form_session(&s, &headers, &f.csrf).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let r = s
        .svc
        .issue_written_notice(&sess.actor, id, None)
        .await
        .map(|_| ());
    after_notice_form(&s, &headers, &sess, id, r).await
}

#[derive(serde::Deserialize)]
pub(super) struct ProbeForm {
    csrf: String,
    method: String,
    #[serde(default)]
    port: String,
    #[serde(default)]
    every: String,
}

/// The verifier has a probe check the notice's target (DNS through the recipient's resolvers,
/// HTTP or TCP), once or repeatedly; its result is the verification.
pub(super) async fn probe(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Form(f): Form<ProbeForm>,
) -> Result<Response, ApiError> {
    let sess = match form_session(&s, &headers, &f.csrf).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let r = async {
        let port = match f.port.trim() {
            "" => None,
            p => Some(p.parse::<u16>().map_err(|_| {
                ServiceError::InvalidBody(format!("port: {p:?} is not a port number"))
            })?),
        };
        let req = warden_service::proto::ProbeRequest {
            method: enum_field("method", &f.method)?,
            resolvers: vec![],
            port,
            every: Some(f.every.trim().to_owned()).filter(|e| !e.is_empty()),
        };
        s.svc.probe(&sess.actor, id, req, None).await.map(|_| ())
    }
    .await;
    after_notice_form(&s, &headers, &sess, id, r).await
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    layout: Layout,
    subtypes: Vec<Choice>,
    provinces: Vec<Choice>,
    form: ReportForm,
    /// One line per pasted value: what the core parser made of it.
    checked: Vec<RowView>,
    /// A self-handled report just filed.
    filed: Option<Uuid>,
    error: Option<String>,
}

layout_page!(ReportPage);

#[derive(serde::Deserialize, Default)]
pub(super) struct ReportForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    pub subtype: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub province: String,
    #[serde(default)]
    pub indicators: String,
    /// Set when the threat was handled in the reporter's own systems (a self-handled report).
    #[serde(default)]
    pub self_handled: String,
    #[serde(default)]
    pub actions_taken: String,
    /// "check" only validates the values; anything else submits.
    #[serde(default)]
    action: String,
}

/// Every category's subtypes, as `category/subtype`.
fn subtype_choices(m: &Messages) -> Vec<Choice> {
    Category::ALL
        .iter()
        .flat_map(|c| {
            c.subtypes().iter().map(move |st| Choice {
                value: format!("{}/{}", c.as_str(), st.as_str()),
                label: format!(
                    "{} · {}",
                    m.t(&format!("category_{}", c.as_str())),
                    m.t(&format!("subtype_{}", st.as_str()))
                ),
            })
        })
        .collect()
}

#[derive(serde::Deserialize)]
pub(super) struct Filed {
    #[serde(default)]
    filed: Option<Uuid>,
}

pub(super) async fn report_form(
    headers: HeaderMap,
    SignedIn(sess): SignedIn,
    Query(q): Query<Filed>,
) -> Response {
    let l = lang(&headers);
    render_report_page(&l, &sess, ReportForm::default(), vec![], q.filed, None)
}

fn render_report(
    l: &Lang,
    sess: &Session,
    form: ReportForm,
    checked: Vec<RowView>,
    error: Option<String>,
) -> Response {
    render_report_page(l, sess, form, checked, None, error)
}

fn render_report_page(
    l: &Lang,
    sess: &Session,
    form: ReportForm,
    checked: Vec<RowView>,
    filed: Option<Uuid>,
    error: Option<String>,
) -> Response {
    page(
        form_status(&error),
        &ReportPage {
            layout: l.layout(Some(user_view(sess, l.m))),
            subtypes: subtype_choices(l.m),
            provinces: super::members::province_choices(l.lang),
            form,
            checked,
            filed,
            error,
        },
    )
}

/// The pasted values, one per line (commas and blanks separate too), each read by the core's
/// indicator parser: its type is detected, its form normalised.
fn read_values(text: &str) -> Vec<(String, Result<Indicator, String>)> {
    text.split(|c: char| c == '\n' || c == ',' || c.is_whitespace())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| {
            (
                v.to_owned(),
                Indicator::detect(v).map_err(|e| e.to_string()),
            )
        })
        .collect()
}

#[derive(Template)]
#[template(path = "checked.html")]
struct CheckedFragment<'a> {
    m: &'a Messages,
    checked: Vec<RowView>,
}

/// The values as the core parser reads them, one row each (bad ones marked).
fn checked_rows(m: &Messages, text: &str) -> (Vec<RowView>, usize) {
    let values = read_values(text);
    let bad = values.iter().filter(|(_, r)| r.is_err()).count();
    let rows = values
        .iter()
        .map(|(raw, r)| RowView {
            href: None,
            cells: match r {
                Ok(i) => vec![
                    raw.clone(),
                    i.kind().as_str().to_owned(),
                    i.value().to_owned(),
                ],
                Err(e) => vec![raw.clone(), m.t("invalid").to_owned(), e.clone()],
            },
            alert: r.is_err(),
        })
        .collect();
    (rows, bad)
}

/// Live validation of the report form (htmx, as the person types): the checked values as a
/// fragment of the page. Without JavaScript the form's "check" button does the same.
pub(super) async fn check_values(
    State(s): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<ReportForm>,
) -> Result<Response, ApiError> {
    if let Err(r) = form_session(&s, &headers, &f.csrf).await? {
        return Ok(r);
    }
    let m = lang(&headers).m;
    let (checked, _) = checked_rows(m, &f.indicators);
    Ok(page(StatusCode::OK, &CheckedFragment { m, checked }))
}

pub(super) async fn submit_report(
    State(s): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<ReportForm>,
) -> Result<Response, ApiError> {
    let sess = match form_session(&s, &headers, &f.csrf).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let l = lang(&headers);
    let m = l.m;
    let values = read_values(&f.indicators);
    let (checked, bad) = checked_rows(m, &f.indicators);
    if f.action == "check" {
        return Ok(render_report(&l, &sess, f, checked, None));
    }
    if bad > 0 {
        let msg = format!("{} {bad}", m.t("values_invalid"));
        return Ok(render_report(&l, &sess, f, checked, Some(msg)));
    }
    let (category, subtype) = f
        .subtype
        .split_once('/')
        .unwrap_or(("", f.subtype.as_str()));
    let req = ReportRequest {
        category: category.to_owned(),
        subtype: subtype.to_owned(),
        title: f.title.trim().to_owned(),
        description: f.description.trim().to_owned(),
        observed_at: s.svc.now(),
        province: Some(f.province.trim().to_owned()).filter(|p| !p.is_empty()),
        tlp: None,
        indicators: values
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok())
            .map(|i| IndicatorInput {
                kind: i.kind().as_str().to_owned(),
                value: i.value().to_owned(),
            })
            .collect(),
        victim: None,
    };
    // Handled in the reporter's own systems (Art. 6, 11): on file, no case to follow.
    if !f.self_handled.is_empty() {
        let self_req = SelfReportRequest {
            report: req,
            actions_taken: f.actions_taken.trim().to_owned(),
        };
        let r = s.svc.submit_self_report(&sess.actor, self_req, None).await;
        let id = r.as_ref().map(|c| c.id).ok();
        return match (refused(r.map(|_| ()))?, id) {
            (None, Some(id)) => {
                Ok(Redirect::to(&format!("/console/reports/new?filed={id}")).into_response())
            }
            (why, _) => Ok(render_report(&l, &sess, f, checked, why)),
        };
    }
    let r = s.svc.submit_report(&sess.actor, req, None).await;
    let case = r.as_ref().map(|c| c.case_id).ok();
    match (refused(r.map(|_| ()))?, case) {
        (None, Some(case)) => {
            Ok(Redirect::to(&format!("/console/cases/{case}?done=1")).into_response())
        }
        (why, _) => Ok(render_report(&l, &sess, f, checked, why)),
    }
}

#[derive(Template)]
#[template(path = "cases.html")]
struct CasesPage {
    layout: Layout,
    q: CasesForm,
    statuses: Vec<Choice>,
    categories: Vec<Choice>,
    provinces: Vec<Choice>,
    head: Vec<String>,
    rows: Vec<RowView>,
    next: Option<String>,
    error: Option<String>,
}

layout_page!(CasesPage);

#[derive(serde::Deserialize, Default, Clone)]
pub(super) struct CasesForm {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub province: String,
    #[serde(default)]
    pub cursor: String,
}

impl CasesForm {
    /// The query string of the next page: the same filters and the cursor.
    pub fn next_query(&self, cursor: &str) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("status", self.status.as_str()),
                ("category", self.category.as_str()),
                ("province", self.province.as_str()),
                ("cursor", cursor),
            ])
            .finish()
    }
}

/// The cases the person may see, filtered by state, category and province, 50 a page: the
/// triage queue beyond the home page's first rows.
pub(super) async fn cases_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    SignedIn(sess): SignedIn,
    Query(q): Query<CasesForm>,
) -> Result<Response, ApiError> {
    let l = lang(&headers);
    let m = l.m;
    let opt = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    let query = CasesQuery {
        status: opt(&q.status),
        category: opt(&q.category),
        province: opt(&q.province),
        limit: Some(50),
        cursor: opt(&q.cursor),
        ..Default::default()
    };
    let listed = match CasesFilter::try_from(query) {
        Ok(f) => s.svc.cases(&sess.actor, f).await,
        Err(e) => Err(e),
    };
    let (rows, next, error) = match listed.map_err(ApiError::from) {
        Ok(list) => {
            let next = list.next.as_deref().map(|c| q.next_query(c));
            (super::tables::case_rows(m, list), next, None)
        }
        // A bad filter (an unknown province, say) is shown with the form, not as an error page.
        Err(e) => (vec![], None, refused(Err(e))?),
    };
    Ok(page(
        form_status(&error),
        &CasesPage {
            layout: l.layout(Some(user_view(&sess, m))),
            statuses: case_statuses(m),
            provinces: super::members::province_choices(l.lang),
            categories: Category::ALL
                .iter()
                .map(|c| Choice {
                    value: c.as_str().to_owned(),
                    label: m.t(&format!("category_{}", c.as_str())).to_owned(),
                })
                .collect(),
            head: super::tables::case_head(m),
            rows,
            next,
            q,
            error,
        },
    ))
}

/// Every state of a case, as the API spells them, in the reader's language (the filter's
/// choices).
fn case_statuses(m: &Messages) -> Vec<Choice> {
    CaseStatus::ALL
        .iter()
        .map(|st| Choice {
            value: st.as_str().to_owned(),
            label: m.t(&format!("status_{}", st.as_str())).to_owned(),
        })
        .collect()
}
