//! The authorities' appeals (Art. 10: the reply countdown in working days, the answer form)
//! and the auditors' trail with the chain's state.

use super::forms::{Choice, Fact, SignedIn, enum_field, form_session, form_status, refused};
use super::frame::{Lang, Layout, RowView, day, lang, page, status_label, user_view};
use super::tables::reply_countdown;
use crate::error::ApiError;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use uuid::Uuid;
use warden_core::lifecycle::{can_answer_appeal, can_issue_bulletins, can_record_action};
use warden_service::ServiceError;
use warden_service::authentication::Session;
use warden_service::filters::{AuditFilter, EnforcementFilter, PageRequest};
use warden_service::proto::AppealDecisionRequest;

#[derive(Template)]
#[template(path = "appeal.html")]
struct AppealPage {
    layout: Layout,
    id: Uuid,
    notice_id: Option<Uuid>,
    facts: Vec<Fact>,
    can_answer: bool,
    outcomes: Vec<Choice>,
    error: Option<String>,
    done: bool,
}

layout_page!(AppealPage);

pub(super) async fn appeal_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    SignedIn(sess): SignedIn,
    Path(id): Path<Uuid>,
    Query(q): Query<super::forms::Done>,
) -> Result<Response, ApiError> {
    render_appeal(&s, &lang(&headers), &sess, id, None, q.is_done()).await
}

async fn render_appeal(
    s: &AppState,
    l: &Lang,
    sess: &Session,
    id: Uuid,
    error: Option<String>,
    done: bool,
) -> Result<Response, ApiError> {
    let m = l.m;
    let v = s.svc.appeal(&sess.actor, id).await?;
    let a = &v.appeal;
    let (reference, notice_id) = s.svc.appeal_notice(&sess.actor, id).await?;
    let mut facts = vec![
        super::forms::fact(m, "col_notice", reference),
        super::forms::fact(
            m,
            "col_status",
            status_label(m, &format!("appeal_{}", a.status.as_str())),
        ),
        super::forms::fact(
            m,
            "col_appellant",
            format!("{} · {}", a.appellant.name, a.appellant.contact),
        ),
        super::forms::fact(m, "col_grounds", a.grounds.clone()),
        super::forms::fact(m, "col_filed", day(a.filed_at)),
        super::forms::fact(
            m,
            "col_filed_by",
            a.filed_by_org
                .clone()
                .unwrap_or_else(|| m.t("public_form").to_owned()),
        ),
        super::forms::fact(m, "col_org", a.deciding_org.slug.clone()),
        super::forms::fact(m, "col_reply_due", {
            let due = if a.status.is_final() {
                day(a.reply_due)
            } else {
                reply_countdown(s, m, a.reply_due, s.svc.now())
            };
            if a.reply_due_provisional {
                format!("{due} · {}", m.t("provisional"))
            } else {
                due
            }
        }),
    ];
    if let Some(d) = &a.decision {
        facts.push(super::forms::fact(
            m,
            "col_outcome",
            status_label(m, &format!("appeal_{}", super::forms::enum_str(&d.outcome))),
        ));
        facts.push(super::forms::fact(m, "col_reasons", d.reasons.clone()));
        facts.push(super::forms::fact(m, "col_at", day(d.at)));
    }
    let view = AppealPage {
        layout: l.layout(Some(user_view(sess, m))),
        id,
        notice_id: Some(notice_id),
        facts,
        can_answer: can_answer_appeal(&sess.actor, a),
        outcomes: super::forms::choices(m, "appeal_", &["upheld", "revoked", "modified"]),
        error: error.clone(),
        done,
    };
    Ok(page(form_status(&error), &view))
}

#[derive(serde::Deserialize)]
pub(super) struct AnswerForm {
    csrf: String,
    outcome: String,
    #[serde(default)]
    reasons: String,
    /// "modified": a narrower target (its type detected), and/or an earlier last day.
    #[serde(default)]
    new_target: String,
    #[serde(default)]
    new_expiry: String,
    #[serde(default)]
    new_scope: String,
    #[serde(default)]
    new_override: String,
}

/// The change a "modified" answer makes, read from the form.
fn modification(
    f: &AnswerForm,
) -> Result<Option<warden_service::proto::ModificationInput>, ServiceError> {
    let target = match f.new_target.trim() {
        "" => None,
        v => {
            let i = warden_core::indicator::Indicator::detect(v).map_err(|e| {
                ServiceError::Indicator {
                    field: "new_target".into(),
                    source: e,
                }
            })?;
            Some(warden_service::proto::IndicatorInput {
                kind: i.kind().as_str().to_owned(),
                value: i.value().to_owned(),
            })
        }
    };
    let expires_at = match f.new_expiry.trim() {
        "" => None,
        v => {
            let fmt = time::macros::format_description!("[year]-[month]-[day]");
            let d = time::Date::parse(v, &fmt).map_err(|_| {
                ServiceError::InvalidBody(format!("new_expiry: {v:?} is not a date (YYYY-MM-DD)"))
            })?;
            // The block ends with that day, Beijing time.
            Some(warden_core::calendar::end_of_day(d))
        }
    };
    let scope = match f.new_scope.trim() {
        "" => None,
        v => Some(enum_field("new_scope", v)?),
    };
    Ok(
        (target.is_some() || expires_at.is_some() || scope.is_some()).then(|| {
            warden_service::proto::ModificationInput {
                target,
                expires_at,
                scope,
                range_last: None,
                allowlist_override: Some(f.new_override.trim().to_owned())
                    .filter(|x| !x.is_empty()),
            }
        }),
    )
}

pub(super) async fn answer(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Form(f): Form<AnswerForm>,
) -> Result<Response, ApiError> {
    let sess = match form_session(&s, &headers, &f.csrf).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let r = async {
        let req = AppealDecisionRequest {
            outcome: enum_field("outcome", &f.outcome)?,
            reasons: f.reasons.trim().to_owned(),
            modification: modification(&f)?,
        };
        s.svc
            .decide_appeal(&sess.actor, id, req, None)
            .await
            .map(|_| ())
    }
    .await;
    match refused(r)? {
        None => Ok(Redirect::to(&format!("/console/appeals/{id}?done=1")).into_response()),
        Some(why) => render_appeal(&s, &lang(&headers), &sess, id, Some(why), false).await,
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditTrailPage {
    layout: Layout,
    chain: Vec<Fact>,
    intact: bool,
    /// Whether the whole chain was walked for this page.
    full: bool,
    rows: Vec<RowView>,
    next: Option<i64>,
}

layout_page!(AuditTrailPage);

#[derive(serde::Deserialize)]
pub(super) struct AuditForm {
    #[serde(default)]
    after: Option<i64>,
    /// Walk the whole chain, not only the entries since the last checkpoint.
    #[serde(default)]
    full: Option<bool>,
}

/// The audit trail, 100 entries a page, with the chain verified from its start.
pub(super) async fn audit_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    SignedIn(sess): SignedIn,
    Query(q): Query<AuditForm>,
) -> Result<Response, ApiError> {
    let l = lang(&headers);
    let m = l.m;
    // The page shows the cheap status (entries since the last checkpoint, alerts); the
    // whole chain is walked when the auditor asks for it.
    let st = s.svc.audit_status(&sess.actor).await?;
    let full = if q.full.unwrap_or(false) {
        Some(s.svc.verify_audit(&sess.actor).await?)
    } else {
        None
    };
    let intact = st.intact && full.as_ref().is_none_or(|f| f.intact);
    let first_broken = full
        .as_ref()
        .and_then(|f| f.first_broken)
        .or(st.first_broken);
    // Without a position, the latest hundred entries: what an auditor looks at first.
    let latest = st.entries - 100;
    let list = s
        .svc
        .audit(
            &sess.actor,
            AuditFilter {
                after: q.after.unwrap_or(latest).max(0),
                limit: 100,
            },
        )
        .await?;
    let state = |ok: bool| {
        if ok {
            m.t("audit_intact")
        } else {
            m.t("audit_broken")
        }
    };
    let mut chain = vec![
        super::forms::fact(m, "col_entries", st.entries.to_string()),
        super::forms::fact(m, "col_status", state(intact)),
        super::forms::fact(m, "col_head", st.head_hash.clone()),
        super::forms::fact(
            m,
            "col_last_checkpoint",
            st.last_checkpoint
                .as_ref()
                .map(|c| format!("{} (#{}, {})", c.number, c.seq, c.hash))
                .unwrap_or_else(|| "—".into()),
        ),
    ];
    if let Some(p) = full
        .as_ref()
        .and_then(|f| f.problem.clone())
        .or_else(|| st.problem.clone())
    {
        chain.push(super::forms::fact(m, "col_problem", p));
    }
    if let Some(f) = &full {
        chain.push(super::forms::fact(
            m,
            "col_checkpoints",
            f.checkpoints.to_string(),
        ));
    }
    for a in &st.alerts {
        chain.push(super::forms::fact(
            m,
            "audit_alert",
            format!(
                "#{}: {} ({})",
                a.first_broken,
                a.problem,
                day(a.last_seen_at)
            ),
        ));
    }
    let rows = list
        .items
        .into_iter()
        .map(|e| RowView {
            href: None,
            cells: vec![
                e.seq.to_string(),
                day(e.at),
                format!(
                    "{}{}",
                    e.actor
                        .get("name")
                        .or_else(|| e.actor.get("kind"))
                        .and_then(|v| v.as_str())
                        .unwrap_or("—"),
                    e.actor_org
                        .as_deref()
                        .map(|o| format!(" ({o})"))
                        .unwrap_or_default()
                ),
                e.event,
                format!("{} {}", e.subject_type, e.subject_id),
                e.hash.chars().take(16).collect(),
            ],
            alert: first_broken.is_some_and(|b| e.seq >= b),
        })
        .collect();
    Ok(page(
        StatusCode::OK,
        &AuditTrailPage {
            layout: l.layout(Some(user_view(&sess, m))),
            intact,
            full: full.is_some(),
            chain,
            rows,
            next: list.next_after,
        },
    ))
}

#[derive(Template)]
#[template(path = "public_appeal.html")]
struct PublicAppealPage {
    layout: Layout,
    csrf: String,
    form: PublicAppealForm,
    /// After filing: the appeal's reference and when the answer is due.
    filed: Option<Vec<Fact>>,
    error: Option<String>,
}

layout_page!(PublicAppealPage);

#[derive(serde::Deserialize, Default)]
pub(super) struct PublicAppealForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    pub reference: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub contact: String,
    #[serde(default)]
    pub grounds: String,
}

/// The public appeal form page, with a fresh double-submit token (the public has no session).
fn public_appeal_page(
    l: &Lang,
    form: PublicAppealForm,
    filed: Option<Vec<Fact>>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let csrf = super::frame::random_token()?;
    let mut r = page(
        status,
        &PublicAppealPage {
            layout: l.layout(None),
            csrf: csrf.clone(),
            form,
            filed,
            error,
        },
    );
    let (k, v) = super::frame::set_cookie(super::frame::APPEAL_COOKIE, &csrf, 3600);
    if let Ok(v) = axum::http::HeaderValue::from_str(&v) {
        r.headers_mut().append(k, v);
    }
    Ok(r)
}

#[derive(serde::Deserialize)]
pub(super) struct ReferenceQuery {
    #[serde(default)]
    reference: String,
}

/// "How do I appeal": the form of Art. 10 for those the block affects, by reference number.
pub(super) async fn public_appeal_form(
    headers: HeaderMap,
    Query(q): Query<ReferenceQuery>,
) -> Result<Response, ApiError> {
    let form = PublicAppealForm {
        reference: q.reference,
        ..Default::default()
    };
    public_appeal_page(&lang(&headers), form, None, None, StatusCode::OK)
}

/// Files the appeal as the public: rate-limited per address like the API's public form.
pub(super) async fn public_appeal(
    State(s): State<AppState>,
    peer: crate::state::Peer,
    headers: HeaderMap,
    Form(f): Form<PublicAppealForm>,
) -> Result<Response, ApiError> {
    let l = lang(&headers);
    let m = l.m;
    if f.csrf.is_empty()
        || super::frame::cookie(&headers, super::frame::APPEAL_COOKIE) != Some(f.csrf.as_str())
    {
        let why = Some(m.t("csrf_failed").to_owned());
        return public_appeal_page(&l, f, None, why, StatusCode::FORBIDDEN);
    }
    if let Err(secs) = s.limiter.check(peer.addr()) {
        let why = Some(format!("{} {secs} s", m.t("too_many_attempts")));
        return public_appeal_page(&l, f, None, why, StatusCode::TOO_MANY_REQUESTS);
    }
    let req = warden_service::proto::AppealRequest {
        appellant: warden_core::lifecycle::Appellant {
            name: f.name.trim().to_owned(),
            contact: f.contact.trim().to_owned(),
        },
        grounds: f.grounds.trim().to_owned(),
    };
    let r = s
        .svc
        .file_appeal(
            &warden_core::org::Actor::Public,
            None,
            Some(f.reference.trim()),
            req,
            None,
        )
        .await;
    match r {
        Ok(a) => {
            let filed = vec![
                super::forms::fact(m, "col_notice", a.reference.clone()),
                super::forms::fact(m, "appeal_number", a.id.to_string()),
                super::forms::fact(
                    m,
                    "col_reply_due",
                    if a.reply_due_provisional {
                        format!("{} · {}", day(a.reply_due), m.t("provisional"))
                    } else {
                        day(a.reply_due)
                    },
                ),
            ];
            public_appeal_page(
                &l,
                PublicAppealForm::default(),
                Some(filed),
                None,
                StatusCode::CREATED,
            )
        }
        Err(e) => match refused(Err(e))? {
            why @ Some(_) => public_appeal_page(&l, f, None, why, StatusCode::UNPROCESSABLE_ENTITY),
            None => {
                Err(ServiceError::Internal("an appeal neither filed nor refused".into()).into())
            }
        },
    }
}

#[derive(Template)]
#[template(path = "enforcement.html")]
struct EnforcementPage {
    layout: Layout,
    id: Uuid,
    facts: Vec<Fact>,
    actions: Vec<RowView>,
    compliance: Vec<Fact>,
    can_act: bool,
    kinds: Vec<Choice>,
    bases: Vec<Choice>,
    error: Option<String>,
    done: bool,
}

layout_page!(EnforcementPage);

pub(super) async fn enforcement_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    SignedIn(sess): SignedIn,
    Path(id): Path<Uuid>,
    Query(q): Query<super::forms::Done>,
) -> Result<Response, ApiError> {
    render_enforcement(&s, &lang(&headers), &sess, id, None, q.is_done()).await
}

/// An enforcement record (Art. 12: talks, warnings, fines under the Cybersecurity Law), with
/// the organisation's compliance record beside it.
async fn render_enforcement(
    s: &AppState,
    l: &Lang,
    sess: &Session,
    id: Uuid,
    error: Option<String>,
    done: bool,
) -> Result<Response, ApiError> {
    use super::forms::{enum_str, fact};
    let m = l.m;
    let e = s.svc.enforcement(&sess.actor, id).await?.enforcement;
    let reference = s.svc.enforcement_reference(&sess.actor, id).await?;
    let facts = vec![
        fact(m, "col_org", e.org.slug.clone()),
        fact(m, "col_notice", reference),
        fact(
            m,
            "col_reason",
            m.t(&format!("reason_{}", enum_str(&e.reason))),
        ),
        fact(m, "col_raised", day(e.raised_at)),
        fact(m, "col_authority", e.authority.slug.clone()),
    ];
    let actions = e
        .actions
        .iter()
        .map(|a| RowView {
            href: None,
            cells: vec![
                day(a.at),
                m.t(&format!("action_{}", enum_str(&a.kind))).to_owned(),
                basis_label(s, &a.basis),
                a.amount_yuan.map(|y| y.to_string()).unwrap_or_default(),
                match &a.responsible_person {
                    Some(p) => format!(
                        "{} ({}{}) · {}",
                        p.name,
                        p.position,
                        p.amount_yuan
                            .map(|y| format!(", {y} ¥"))
                            .unwrap_or_default(),
                        a.notes
                    ),
                    None => a.notes.clone(),
                },
            ],
            alert: false,
        })
        .collect();
    let c = s
        .svc
        .compliance(
            &sess.actor,
            EnforcementFilter {
                org: Some(e.org.slug.clone()),
                ..Default::default()
            },
        )
        .await?;
    let compliance = vec![
        fact(m, "col_notices", c.notices.to_string()),
        fact(m, "col_overdue_count", c.overdue.to_string()),
        fact(
            m,
            "col_lookups",
            format!("{} ({})", c.inquiries, c.inquiries_late),
        ),
        fact(m, "col_records", c.enforcement_records.to_string()),
        fact(
            m,
            "col_actions",
            format!(
                "{} {} · {} {} · {} {} ({} ¥)",
                c.talks,
                m.t("action_talk"),
                c.warnings,
                m.t("action_warning"),
                c.fines,
                m.t("action_fine"),
                c.fines_total_yuan
            ),
        ),
    ];
    let view = EnforcementPage {
        layout: l.layout(Some(user_view(sess, m))),
        id,
        facts,
        actions,
        compliance,
        can_act: can_record_action(&sess.actor, &e),
        kinds: super::forms::choices(m, "action_", &["talk", "warning", "fine"]),
        bases: s
            .svc
            .policy()
            .penalties()
            .articles
            .iter()
            .map(|a| Choice {
                value: a.key.clone(),
                label: article_label(s, a),
            })
            .collect(),
        error: error.clone(),
        done,
    };
    Ok(page(form_status(&error), &view))
}

/// How an article of the penalty table reads in a list: its number in force, the number the
/// measures cite, its subject and the fines it allows.
fn article_label(s: &AppState, a: &warden_core::penalties::PenaltyArticle) -> String {
    let law = &s.svc.policy().penalties().law;
    let cited = a
        .cited_as
        .map(|n| format!(" (Art. 12 cites Art. {n})"))
        .unwrap_or_default();
    let fines: Vec<String> = a
        .org_fines
        .iter()
        .map(|r| format!("{}–{} ¥", r.min, r.max))
        .collect();
    let short = a.title.split(" · ").next().unwrap_or(&a.title);
    format!(
        "{law} Art. {}{cited}: {short}{}{}",
        a.number,
        if fines.is_empty() {
            String::new()
        } else {
            format!(" [{}]", fines.join(", "))
        },
        if a.confirmed {
            ""
        } else {
            " (ranges to be confirmed)"
        }
    )
}

/// An action's basis as recorded: the article's label, or the key of an older record.
fn basis_label(s: &AppState, basis: &str) -> String {
    match s.svc.policy().penalties().article(basis) {
        Some(a) => format!(
            "{} Art. {}{}",
            s.svc.policy().penalties().law,
            a.number,
            a.cited_as
                .filter(|n| basis == format!("csl-{n}"))
                .map(|n| format!(" (cited as Art. {n})"))
                .unwrap_or_default()
        ),
        None => basis.to_owned(),
    }
}

fn parse_yuan(field: &str, v: &str) -> Result<Option<u64>, ServiceError> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    v.parse::<u64>().map(Some).map_err(|_| {
        ServiceError::InvalidBody(format!("{field}: {v:?} is not a whole number of yuan"))
    })
}

#[derive(serde::Deserialize)]
pub(super) struct ActionForm {
    csrf: String,
    kind: String,
    basis: String,
    #[serde(default)]
    amount_yuan: String,
    #[serde(default)]
    person_name: String,
    #[serde(default)]
    person_position: String,
    #[serde(default)]
    person_amount_yuan: String,
    #[serde(default)]
    notes: String,
}

pub(super) async fn record_action(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Form(f): Form<ActionForm>,
) -> Result<Response, ApiError> {
    let sess = match form_session(&s, &headers, &f.csrf).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let r = async {
        let amount_yuan = parse_yuan("amount_yuan", &f.amount_yuan)?;
        let person_amount = parse_yuan("person_amount_yuan", &f.person_amount_yuan)?;
        let responsible_person =
            (!f.person_name.trim().is_empty()).then(|| warden_core::lifecycle::ResponsiblePerson {
                name: f.person_name.trim().to_owned(),
                position: f.person_position.trim().to_owned(),
                amount_yuan: person_amount,
            });
        let req = warden_service::proto::EnforcementActionRequest {
            kind: enum_field("kind", &f.kind)?,
            basis: f.basis.trim().to_owned(),
            amount_yuan,
            responsible_person,
            notes: f.notes.trim().to_owned(),
        };
        s.svc
            .record_enforcement(&sess.actor, id, req, None)
            .await
            .map(|_| ())
    }
    .await;
    match refused(r)? {
        None => Ok(Redirect::to(&format!("/console/enforcements/{id}?done=1")).into_response()),
        Some(why) => render_enforcement(&s, &lang(&headers), &sess, id, Some(why), false).await,
    }
}

#[derive(Template)]
#[template(path = "bulletins.html")]
struct BulletinsPage {
    layout: Layout,
    bulletins: Vec<super::frame::PublicationView>,
    publications: Vec<super::frame::PublicationView>,
    can_issue: bool,
    kinds: Vec<Choice>,
    tlps: Vec<Choice>,
    error: Option<String>,
    done: bool,
}

layout_page!(BulletinsPage);

fn publication_views(
    list: warden_service::proto::BulletinList,
) -> Vec<super::frame::PublicationView> {
    list.items
        .into_iter()
        .map(|b| super::frame::PublicationView {
            title: b.title,
            body: b.body,
            issuer: format!(
                "{} · TLP:{}",
                b.issuer.slug,
                super::forms::enum_str(&b.tlp).to_uppercase()
            ),
            at: day(b.published_at),
        })
        .collect()
}

pub(super) async fn bulletins_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    SignedIn(sess): SignedIn,
    Query(q): Query<super::forms::Done>,
) -> Result<Response, ApiError> {
    render_bulletins(&s, &lang(&headers), &sess, None, q.is_done()).await
}

/// Bulletins to members (通报) and publications to the public (发布): the latest of each, and
/// for the authorities and institutions the form to issue one.
async fn render_bulletins(
    s: &AppState,
    l: &Lang,
    sess: &Session,
    error: Option<String>,
    done: bool,
) -> Result<Response, ApiError> {
    use warden_core::bulletin::BulletinKind;
    let m = l.m;
    let latest = || PageRequest::first(20);
    let bulletins = s
        .svc
        .bulletins(&sess.actor, BulletinKind::Bulletin, latest())
        .await?;
    let publications = s
        .svc
        .bulletins(&sess.actor, BulletinKind::Publication, latest())
        .await?;
    let view = BulletinsPage {
        layout: l.layout(Some(user_view(sess, m))),
        bulletins: publication_views(bulletins),
        publications: publication_views(publications),
        can_issue: can_issue_bulletins(&sess.actor),
        kinds: super::forms::choices(m, "bulletin_kind_", &["bulletin", "publication"]),
        tlps: super::forms::choices(m, "tlp_", &["green", "amber", "clear"]),
        error: error.clone(),
        done,
    };
    Ok(page(form_status(&error), &view))
}

#[derive(serde::Deserialize)]
pub(super) struct BulletinForm {
    csrf: String,
    kind: String,
    title: String,
    body: String,
    #[serde(default)]
    tlp: String,
}

pub(super) async fn issue_bulletin(
    State(s): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<BulletinForm>,
) -> Result<Response, ApiError> {
    use warden_core::bulletin::{BulletinDraft, BulletinKind};
    let sess = match form_session(&s, &headers, &f.csrf).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let r = async {
        let kind: BulletinKind = enum_field("kind", &f.kind)?;
        // A publication is for everyone (TLP:CLEAR); a bulletin defaults to green, as the API.
        let tlp = match kind {
            BulletinKind::Publication => warden_core::lifecycle::Tlp::Clear,
            BulletinKind::Bulletin if f.tlp.is_empty() => warden_core::lifecycle::Tlp::Green,
            BulletinKind::Bulletin => enum_field("tlp", &f.tlp)?,
        };
        let draft = BulletinDraft {
            kind,
            title: f.title.trim().to_owned(),
            body: f.body.trim().to_owned(),
            tlp,
            audience: vec![],
            case_ids: vec![],
        };
        s.svc
            .issue_bulletin(&sess.actor, draft, None)
            .await
            .map(|_| ())
    }
    .await;
    match refused(r)? {
        None => Ok(Redirect::to("/console/bulletins?done=1").into_response()),
        Some(why) => render_bulletins(&s, &lang(&headers), &sess, Some(why), false).await,
    }
}

#[derive(Template)]
#[template(path = "compliance.html")]
struct CompliancePage {
    layout: Layout,
    head: Vec<String>,
    rows: Vec<RowView>,
}

layout_page!(CompliancePage);

/// Compliance by organisation (Art. 12) for the authorities: notices, overdue, records and
/// the actions taken, most overdue first.
pub(super) async fn compliance_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    SignedIn(sess): SignedIn,
) -> Result<Response, ApiError> {
    let l = lang(&headers);
    let m = l.m;
    let rows = s
        .svc
        .compliance_overview(&sess.actor)
        .await?
        .into_iter()
        .map(|c| RowView {
            href: None,
            alert: c.overdue > 0,
            cells: vec![
                c.org,
                c.notices.to_string(),
                c.overdue.to_string(),
                if c.notices > 0 {
                    format!("{:.0}%", 100.0 * c.overdue as f64 / c.notices as f64)
                } else {
                    String::new()
                },
                format!("{} ({})", c.inquiries, c.inquiries_late),
                c.enforcement_records.to_string(),
                c.talks.to_string(),
                c.warnings.to_string(),
                format!("{} ({} ¥)", c.fines, c.fines_total_yuan),
            ],
        })
        .collect();
    let head = [
        "col_org",
        "col_notices",
        "col_overdue_count",
        "col_overdue_rate",
        "col_lookups",
        "col_records",
        "action_talk",
        "action_warning",
        "action_fine",
    ]
    .iter()
    .map(|k| m.t(k).to_owned())
    .collect();
    Ok(page(
        StatusCode::OK,
        &CompliancePage {
            layout: l.layout(Some(user_view(&sess, m))),
            head,
            rows,
        },
    ))
}
