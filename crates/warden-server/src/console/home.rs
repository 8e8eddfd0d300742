//! The console's front door: sign-in and sign-out, the language switch, each role's home
//! page with its queues (from the same listings the API serves, so the same visibility
//! rules), the public's home page with the publications, and the lookup anyone may use.

use super::frame::{
    LANG_COOKIE, LOGIN_COOKIE, Lang, Layout, Messages, NoSession, PublicationView, RowView,
    SESSION_COOKIE, cookie, day, lang, page, random_token, session, set_cookie, user_view,
};
use super::tables;
use crate::error::ApiError;
use crate::state::{AppState, Peer};
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use warden_core::bulletin::BulletinKind;
use warden_core::lifecycle::{
    CaseStatus, NoticeStatus, can_act_on_enforcement, can_answer_appeals, can_decide_cases,
    can_determine_cases, can_handle_notices, can_read_audit, can_submit_reports,
    can_verify_notices,
};
use warden_core::org::Actor;
use warden_service::authentication::SESSION_HOURS;
use warden_service::filters::{CasesFilter, EnforcementFilter, Lookup, NoticesFilter, PageRequest};

pub(super) async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../assets/console.css"),
    )
        .into_response()
}

/// htmx 2.0.11 (0BSD, `assets/htmx.LICENSE`), vendored: nothing loads from elsewhere.
pub(super) async fn htmx() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("../../assets/htmx.min.js"),
    )
        .into_response()
}

pub(super) async fn icon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("../../assets/icon.svg"),
    )
        .into_response()
}

pub(super) async fn set_lang(Path(l): Path<String>) -> Response {
    let l = if l == "en" { "en" } else { "zh-CN" };
    (
        [set_cookie(LANG_COOKIE, l, 365 * 24 * 3600)],
        Redirect::to("/console/"),
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    layout: Layout,
    csrf: String,
    username: String,
    error: Option<&'a str>,
}

layout_page!(LoginPage<'_>);

fn login_page(l: &Lang, username: String, error: Option<&str>, status: StatusCode) -> Response {
    let csrf = match random_token() {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let mut r = page(
        status,
        &LoginPage {
            layout: l.layout(None),
            csrf: csrf.clone(),
            username,
            error,
        },
    );
    let (k, v) = set_cookie(LOGIN_COOKIE, &csrf, 3600);
    if let Ok(v) = HeaderValue::from_str(&v) {
        r.headers_mut().append(k, v);
    }
    r
}

pub(super) async fn login_form(headers: HeaderMap) -> Response {
    login_page(&lang(&headers), String::new(), None, StatusCode::OK)
}

#[derive(serde::Deserialize)]
pub(super) struct LoginForm {
    username: String,
    password: String,
    csrf: String,
    /// The second factor's code, for those who have one.
    #[serde(default)]
    code: String,
}

pub(super) async fn login(
    State(s): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Result<Response, ApiError> {
    let l = lang(&headers);
    if cookie(&headers, LOGIN_COOKIE) != Some(f.csrf.as_str()) || f.csrf.is_empty() {
        return Ok(login_page(
            &l,
            f.username,
            Some(l.m.t("csrf_failed")),
            StatusCode::FORBIDDEN,
        ));
    }
    if let Err(secs) = s.sign_in_limiter.check(peer.addr()) {
        tracing::warn!(peer = %peer.addr(), "console sign-in attempts limited");
        let msg = format!("{} {secs} s", l.m.t("too_many_attempts"));
        let mut r = login_page(&l, f.username, Some(&msg), StatusCode::TOO_MANY_REQUESTS);
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Ok(r);
    }
    let actor = match s.svc.sign_in(&f.username, &f.password, &f.code).await {
        Ok(a) => a,
        Err(warden_service::credentials::AuthError::Limited(secs)) => {
            tracing::warn!(user = %f.username, peer = %peer.addr(), "console sign-in to a locked account");
            let msg = format!("{} {secs} s", l.m.t("account_locked"));
            let mut r = login_page(&l, f.username, Some(&msg), StatusCode::TOO_MANY_REQUESTS);
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return Ok(r);
        }
        Err(warden_service::credentials::AuthError::Unusable(why)) => {
            tracing::info!(user = %f.username, peer = %peer.addr(), "console sign-in refused: {why}");
            return Ok(login_page(&l, f.username, Some(why), StatusCode::OK));
        }
        Err(_) => {
            tracing::info!(user = %f.username, peer = %peer.addr(), "console sign-in refused");
            return Ok(login_page(
                &l,
                f.username,
                Some(l.m.t("sign_in_failed")),
                // The form again, with the reason: a page, not an HTTP authentication challenge.
                StatusCode::OK,
            ));
        }
    };
    let new = s.svc.open_session(&actor).await?;
    let secret = new.secret;
    let mut r = Redirect::to("/console/").into_response();
    for (k, v) in [
        set_cookie(SESSION_COOKIE, &secret, SESSION_HOURS * 3600),
        set_cookie(LOGIN_COOKIE, "", 0),
    ] {
        if let Ok(v) = HeaderValue::from_str(&v) {
            r.headers_mut().append(k, v);
        }
    }
    Ok(r)
}

#[derive(serde::Deserialize)]
pub(super) struct CsrfForm {
    csrf: String,
}

pub(super) async fn logout(
    State(s): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    let l = lang(&headers);
    match session(&s, &headers).await? {
        Ok(sess) if sess.record.csrf == f.csrf => {
            s.svc.end_session(&sess).await?;
        }
        Ok(_) => {
            return Ok((StatusCode::FORBIDDEN, l.m.t("csrf_failed").to_owned()).into_response());
        }
        Err(_) => {}
    }
    Ok((
        [set_cookie(SESSION_COOKIE, "", 0)],
        Redirect::to("/console/"),
    )
        .into_response())
}

/// One section of a role's home page: a titled table.
pub struct Section {
    pub id: &'static str,
    pub title: String,
    /// A link to the section's form (e.g. a new report): address and label.
    pub action: Option<(String, String)>,
    pub head: Vec<String>,
    pub rows: Vec<RowView>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    sections: Vec<Section>,
    publications: Vec<PublicationView>,
}

layout_page!(HomePage);

pub(super) async fn home(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let l = lang(&headers);
    let sess = match session(&s, &headers).await? {
        Ok(sess) => Some(sess),
        Err(NoSession::Expired) => {
            return Ok(login_page(
                &l,
                String::new(),
                Some(l.m.t("session_expired")),
                StatusCode::UNAUTHORIZED,
            ));
        }
        Err(NoSession::None) => None,
    };
    let mut sections = vec![];
    let mut publications = vec![];
    match &sess {
        Some(sess) => sections = work(&s, &sess.actor, l.m).await?,
        None => {
            let list = s
                .svc
                .bulletins(
                    &Actor::Public,
                    BulletinKind::Publication,
                    PageRequest::first(10),
                )
                .await?;
            publications = list
                .items
                .into_iter()
                .map(|b| PublicationView {
                    title: b.title,
                    body: b.body,
                    issuer: b.issuer.slug,
                    at: day(b.published_at),
                })
                .collect();
        }
    }
    Ok(page(
        StatusCode::OK,
        &HomePage {
            layout: l.layout(sess.as_ref().map(|x| user_view(x, l.m))),
            sections,
            publications,
        },
    ))
}

/// Each role's queue, from the same listings the API serves (so the same visibility rules).
async fn work(s: &AppState, actor: &Actor, m: &Messages) -> Result<Vec<Section>, ApiError> {
    let cases = |status: Option<CaseStatus>| CasesFilter::in_state(status, 20);
    let case_rows = |list: warden_service::proto::CaseList| tables::case_rows(m, list);
    let now = s.svc.now();
    let notice_rows =
        |list: warden_service::proto::NoticeList| tables::notice_rows(m, now, list.items);
    let mut out = vec![];
    if can_submit_reports(actor) {
        out.push(Section {
            id: "my-reports",
            title: m.t("my_reports").to_owned(),
            action: Some(("/console/reports/new".into(), m.t("new_report").to_owned())),
            head: tables::case_head(m),
            rows: case_rows(s.svc.cases(actor, cases(None)).await?),
        });
    }
    if can_determine_cases(actor) {
        let mut rows = case_rows(
            s.svc
                .cases(actor, cases(Some(CaseStatus::Assigned)))
                .await?,
        );
        rows.extend(case_rows(
            s.svc
                .cases(actor, cases(Some(CaseStatus::Submitted)))
                .await?,
        ));
        out.push(Section {
            id: "triage",
            action: Some(("/console/cases".into(), m.t("all_cases").to_owned())),
            title: m.t("triage_queue").to_owned(),
            head: tables::case_head(m),
            rows,
        });
    }
    if can_decide_cases(actor) {
        out.push(Section {
            id: "decisions",
            action: None,
            title: m.t("decision_queue").to_owned(),
            head: tables::case_head(m),
            rows: case_rows(
                s.svc
                    .cases(actor, cases(Some(CaseStatus::Determined)))
                    .await?,
            ),
        });
    }
    if can_answer_appeals(actor) {
        out.push(Section {
            id: "appeals",
            title: m.t("appeals_open").to_owned(),
            action: None,
            head: tables::appeal_head(m),
            rows: tables::appeal_rows(s, m, s.svc.open_appeals(actor).await?),
        });
    }
    if can_act_on_enforcement(actor) {
        let list = s
            .svc
            .enforcements(
                actor,
                EnforcementFilter {
                    limit: 50,
                    ..Default::default()
                },
            )
            .await?;
        out.push(Section {
            id: "enforcement",
            title: m.t("enforcement_records").to_owned(),
            action: Some((
                "/console/compliance".into(),
                m.t("compliance_all").to_owned(),
            )),
            head: tables::enforcement_head(m),
            rows: tables::enforcement_rows(m, list),
        });
    }
    let notices = |status: Option<NoticeStatus>| NoticesFilter::in_state(status, 50);
    if can_handle_notices(actor) {
        let mut list = s.svc.notices(actor, notices(None)).await?;
        list.items
            .retain(|n| !matches!(n.status.as_str(), "verified" | "closed"));
        out.push(Section {
            id: "inbox",
            action: None,
            title: m.t("notice_inbox").to_owned(),
            head: tables::notice_head(m),
            rows: notice_rows(list),
        });
    }
    if can_verify_notices(actor) {
        out.push(Section {
            id: "verification",
            action: None,
            title: m.t("verification_queue").to_owned(),
            head: tables::notice_head(m),
            rows: notice_rows(
                s.svc
                    .notices(actor, notices(Some(NoticeStatus::FeedbackFiled)))
                    .await?,
            ),
        });
    }
    if can_read_audit(actor) {
        // The status walks only the entries since the last checkpoint, and shows what the
        // checkpoint job raised: cheap enough for every load of the home page.
        let st = s.svc.audit_status(actor).await?;
        let mut rows = vec![RowView {
            href: None,
            cells: vec![
                if st.intact {
                    m.t("audit_intact")
                } else {
                    m.t("audit_broken")
                }
                .to_owned(),
                st.problem.clone().unwrap_or_default(),
            ],
            alert: !st.intact,
        }];
        rows.extend(st.alerts.iter().map(|a| RowView {
            href: None,
            cells: vec![
                format!("{} #{}", m.t("audit_alert"), a.first_broken),
                a.problem.clone(),
            ],
            alert: true,
        }));
        out.push(Section {
            id: "audit",
            action: Some(("/console/audit".into(), m.t("audit_trail").to_owned())),
            title: m.t("audit_chain").to_owned(),
            head: vec![m.t("col_status").to_owned(), m.t("col_problem").to_owned()],
            rows,
        });
    }
    Ok(out)
}

#[derive(serde::Deserialize)]
pub(super) struct LookupForm {
    value: Option<String>,
}

pub struct LookupRow {
    pub reference: String,
    pub target: String,
    pub since: String,
    pub expires: String,
    pub recipient: String,
}

pub struct LookupView {
    pub listed: bool,
    pub normalized: String,
    pub error: Option<String>,
    pub rows: Vec<LookupRow>,
    /// Members see who enforces a block; the public does not.
    pub members: bool,
}

#[derive(Template)]
#[template(path = "lookup.html")]
struct LookupPage {
    layout: Layout,
    value: String,
    answer: Option<LookupView>,
}

layout_page!(LookupPage);

/// "Is this value listed, why, since when, under which measure": members through the
/// lookup the API serves; the public through the public lookup (no enforcing organisation).
pub(super) async fn lookup(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LookupForm>,
) -> Result<Response, ApiError> {
    let l = lang(&headers);
    let sess = session(&s, &headers).await?.ok();
    let value = q.value.unwrap_or_default().trim().to_owned();
    let answer = if value.is_empty() {
        None
    } else {
        let members = sess.is_some();
        let result = Lookup::parse(None, &value).and_then(|q| match &sess {
            Some(x) => s.svc.lookup(&x.actor, &q),
            None => Ok(s.svc.public_lookup(&q)),
        });
        Some(match result {
            Ok(r) => LookupView {
                listed: r.listed,
                normalized: r.normalized.unwrap_or_else(|| value.clone()),
                error: None,
                members,
                rows: r
                    .matches
                    .into_iter()
                    .map(|m| LookupRow {
                        reference: m.reference,
                        target: format!("{} {}", m.indicator.kind, m.indicator.value),
                        since: day(m.since),
                        expires: day(m.expires),
                        recipient: m.recipient_org,
                    })
                    .collect(),
            },
            Err(e) => LookupView {
                listed: false,
                normalized: value.clone(),
                error: Some(e.to_string()),
                rows: vec![],
                members,
            },
        })
    };
    Ok(page(
        StatusCode::OK,
        &LookupPage {
            layout: l.layout(sess.as_ref().map(|x| user_view(x, l.m))),
            value,
            answer,
        },
    ))
}
