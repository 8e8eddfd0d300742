//! Look-up requests (Art. 9) in the console: the requests an organisation must answer or an
//! authority has asked, the form to ask one, and a request's page with the answer form.
//! Permissions are the core's (`can_ask_inquiries`, `can_answer_inquiry`).

use super::forms::{Fact, SignedIn, fact, form_session, form_status, refused};
use super::frame::{Lang, Layout, RowView, day, lang, page, user_view};
use crate::error::ApiError;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use uuid::Uuid;
use warden_core::lifecycle::{Inquiry, can_answer_inquiry, can_ask_inquiries};
use warden_service::ServiceError;
use warden_service::authentication::Session;
use warden_service::proto::{IndicatorInput, InquiryAnswerRequest, InquiryRequest};

#[derive(Template)]
#[template(path = "inquiries.html")]
struct InquiriesPage {
    layout: Layout,
    head: Vec<String>,
    rows: Vec<RowView>,
    can_ask: bool,
    provinces: Vec<super::forms::Choice>,
    error: Option<String>,
    done: bool,
}

layout_page!(InquiriesPage);

#[derive(Template)]
#[template(path = "inquiry.html")]
struct InquiryPage {
    layout: Layout,
    id: Uuid,
    facts: Vec<Fact>,
    can_answer: bool,
    error: Option<String>,
    done: bool,
}

layout_page!(InquiryPage);

fn status(m: &super::frame::Messages, q: &Inquiry) -> String {
    if q.overdue {
        m.t("inquiry_overdue").to_owned()
    } else {
        m.t(&format!("inquiry_{}", q.status.as_str())).to_owned()
    }
}

pub(super) async fn inquiries_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    SignedIn(sess): SignedIn,
    Query(q): Query<super::forms::Done>,
) -> Result<Response, ApiError> {
    render_list(&s, &lang(&headers), &sess, None, q.is_done()).await
}

async fn render_list(
    s: &AppState,
    l: &Lang,
    sess: &Session,
    error: Option<String>,
    done: bool,
) -> Result<Response, ApiError> {
    let m = l.m;
    let list = s.svc.inquiries(&sess.actor, false, 100, None).await?;
    let now = s.svc.now();
    let rows = list
        .items
        .into_iter()
        .map(|v| {
            let q = v.inquiry;
            RowView {
                href: Some(format!("/console/inquiries/{}", q.id)),
                cells: vec![
                    format!("{} ({})", q.subject.value(), q.subject.kind()),
                    q.addressee.slug.clone(),
                    q.authority.slug.clone(),
                    day(q.due),
                    status(m, &q),
                ],
                alert: q.overdue || (q.answer.is_none() && q.due < now),
            }
        })
        .collect();
    let view = InquiriesPage {
        layout: l.layout(Some(user_view(sess, m))),
        head: [
            "col_subject",
            "col_addressee",
            "col_authority",
            "col_due",
            "col_status",
        ]
        .iter()
        .map(|k| m.t(k).to_owned())
        .collect(),
        rows,
        can_ask: can_ask_inquiries(&sess.actor),
        provinces: super::members::province_choices(l.lang),
        error: error.clone(),
        done,
    };
    Ok(page(form_status(&error), &view))
}

#[derive(serde::Deserialize)]
pub(super) struct AskForm {
    csrf: String,
    addressee: String,
    subject: String,
    question: String,
    #[serde(default)]
    province: String,
    #[serde(default)]
    authority: String,
}

pub(super) async fn ask(
    State(s): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<AskForm>,
) -> Result<Response, ApiError> {
    let sess = match form_session(&s, &headers, &f.csrf).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let r = async {
        // The console takes the value alone and detects its type, as the report form does.
        let subject =
            warden_core::indicator::Indicator::detect(f.subject.trim()).map_err(|source| {
                ServiceError::Indicator {
                    field: "subject".into(),
                    source,
                }
            })?;
        let req = InquiryRequest {
            addressee: f.addressee.trim().to_owned(),
            subject: IndicatorInput {
                kind: subject.kind().as_str().to_owned(),
                value: subject.value().to_owned(),
            },
            question: f.question.trim().to_owned(),
            case_id: None,
            authority: Some(f.authority.trim().to_owned()).filter(|x| !x.is_empty()),
            province: Some(f.province.trim().to_owned()).filter(|x| !x.is_empty()),
        };
        s.svc.ask_inquiry(&sess.actor, req, None).await
    }
    .await;
    match r {
        Ok(v) => Ok(
            Redirect::to(&format!("/console/inquiries/{}?done=1", v.inquiry.id)).into_response(),
        ),
        Err(e) => match refused(Err::<(), _>(e))? {
            Some(why) => render_list(&s, &lang(&headers), &sess, Some(why), false).await,
            None => Ok(Redirect::to("/console/inquiries").into_response()),
        },
    }
}

pub(super) async fn inquiry_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    SignedIn(sess): SignedIn,
    Path(id): Path<Uuid>,
    Query(q): Query<super::forms::Done>,
) -> Result<Response, ApiError> {
    render_one(&s, &lang(&headers), &sess, id, None, q.is_done()).await
}

async fn render_one(
    s: &AppState,
    l: &Lang,
    sess: &Session,
    id: Uuid,
    error: Option<String>,
    done: bool,
) -> Result<Response, ApiError> {
    let m = l.m;
    let q = s.svc.inquiry(&sess.actor, id).await?.inquiry;
    let mut facts = vec![
        fact(
            m,
            "col_subject",
            format!("{} ({})", q.subject.value(), q.subject.kind()),
        ),
        fact(m, "col_question", q.question.clone()),
        fact(m, "col_addressee", q.addressee.slug.clone()),
        fact(
            m,
            "col_authority",
            if q.asked_by.id == q.authority.id {
                q.authority.slug.clone()
            } else {
                format!(
                    "{} ({} {})",
                    q.authority.slug,
                    m.t("asked_by"),
                    q.asked_by.slug
                )
            },
        ),
        fact(m, "col_asked", day(q.asked_at)),
        fact(
            m,
            "col_due",
            if q.due_provisional {
                format!("{} · {}", day(q.due), m.t("provisional"))
            } else {
                day(q.due)
            },
        ),
        fact(m, "col_status", status(m, &q)),
    ];
    if let Some(a) = &q.answer {
        facts.push(fact(m, "col_holder", a.holder.clone()));
        if let Some(r) = &a.registrant {
            facts.push(fact(m, "col_registrant", r.clone()));
        }
        if let Some(c) = &a.contact {
            facts.push(fact(m, "col_contact", c.clone()));
        }
        facts.push(fact(m, "col_evidence", a.evidence.clone()));
        if let Some(o) = &a.holder_org {
            facts.push(fact(m, "col_holder_org", o.clone()));
        }
        facts.push(fact(m, "col_answered", day(a.at)));
    }
    let view = InquiryPage {
        layout: l.layout(Some(user_view(sess, m))),
        id,
        facts,
        can_answer: can_answer_inquiry(&sess.actor, &q),
        error: error.clone(),
        done,
    };
    Ok(page(form_status(&error), &view))
}

#[derive(serde::Deserialize)]
pub(super) struct AnswerForm {
    csrf: String,
    holder: String,
    #[serde(default)]
    registrant: String,
    #[serde(default)]
    contact: String,
    evidence: String,
    #[serde(default)]
    holder_org: String,
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
    let some = |v: &str| Some(v.trim().to_owned()).filter(|x| !x.is_empty());
    let req = InquiryAnswerRequest {
        holder: f.holder.trim().to_owned(),
        registrant: some(&f.registrant),
        contact: some(&f.contact),
        evidence: f.evidence.trim().to_owned(),
        holder_org: some(&f.holder_org),
    };
    let r = s
        .svc
        .answer_inquiry(&sess.actor, id, req, None)
        .await
        .map(|_| ());
    match refused(r)? {
        None => Ok(Redirect::to(&format!("/console/inquiries/{id}?done=1")).into_response()),
        Some(why) => render_one(&s, &lang(&headers), &sess, id, Some(why), false).await,
    }
}
