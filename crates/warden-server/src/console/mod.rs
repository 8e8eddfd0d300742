//! The web console: pages rendered on the server (askama), Chinese by default and English by
//! switch, every string from a message catalog (`i18n/*.toml`). People sign in with the
//! users of `warden admin user create`; sessions live in the database (the cookie holds a
//! random secret, the database its hash); every form carries the session's CSRF token (the
//! sign-in form a double-submit cookie); every page goes out with a strict CSP (no inline
//! script or style) and the other security headers. What a page shows comes from the same
//! service calls, and so the same core rules, as the API.

use crate::AppState;
use crate::auth::{hash_token, sign_in};
use crate::error::ApiError;
use crate::service::{CasesQuery, NoticesQuery, PageQuery};
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use std::collections::HashMap;
use std::sync::LazyLock;
use time::OffsetDateTime;
use warden_core::bulletin::BulletinKind;
use warden_core::org::{Actor, Role};
use warden_store::SessionRecord;

/// A page's template reaches the layout's fields (`lang`, `m`, `user`, …) as its own.
macro_rules! layout_page {
    ($page:ty) => {
        impl std::ops::Deref for $page {
            type Target = $crate::console::Layout;
            fn deref(&self) -> &Self::Target {
                &self.layout
            }
        }
    };
}

mod charts;
mod oversight;
mod pages;

const SESSION_COOKIE: &str = "warden_session";
const LOGIN_COOKIE: &str = "warden_login";
/// The double-submit token of the public appeal form (no session there).
const APPEAL_COOKIE: &str = "warden_appeal";
const LANG_COOKIE: &str = "warden_lang";
/// Sign-in attempts an address may make in a minute.
pub const SIGN_IN_ATTEMPTS: u32 = 10;
/// How long a session lasts from sign-in.
pub const SESSION_HOURS: i64 = 8;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/console/") }))
        .route("/console", get(|| async { Redirect::to("/console/") }))
        .route("/console/", get(home))
        .route("/console/login", get(login_form).post(login))
        .route("/console/logout", post(logout))
        .route("/console/lookup", get(lookup))
        .route("/console/cases/{id}", get(pages::case_page))
        .route("/console/cases/{id}/assign", post(pages::assign))
        .route("/console/cases/{id}/determination", post(pages::determine))
        .route("/console/cases/{id}/decision", post(pages::decide))
        .route("/console/notices/{id}", get(pages::notice_page))
        .route(
            "/console/notices/{id}/acknowledge",
            post(pages::acknowledge),
        )
        .route("/console/notices/{id}/feedback", post(pages::feedback))
        .route("/console/notices/{id}/verification", post(pages::verify))
        .route("/console/notices/{id}/probes", post(pages::probe))
        .route("/console/notices/{id}/phone", post(pages::phone))
        .route("/console/appeals/{id}", get(oversight::appeal_page))
        .route("/console/appeals/{id}/decision", post(oversight::answer))
        .route("/console/audit", get(oversight::audit_page))
        .route("/console/dashboard", get(charts::dashboard))
        .route(
            "/console/bulletins",
            get(oversight::bulletins_page).post(oversight::issue_bulletin),
        )
        .route(
            "/console/enforcements/{id}",
            get(oversight::enforcement_page),
        )
        .route(
            "/console/enforcements/{id}/actions",
            post(oversight::record_action),
        )
        .route(
            "/console/appeal",
            get(oversight::public_appeal_form).post(oversight::public_appeal),
        )
        .route("/console/cases", get(pages::cases_page))
        .route("/console/compliance", get(oversight::compliance_page))
        .route("/console/reports/new", get(pages::report_form))
        .route("/console/reports", post(pages::submit_report))
        .route("/console/reports/check", post(pages::check_values))
        .route("/console/lang/{lang}", get(set_lang))
        .route("/console/assets/console.css", get(css))
        .route("/console/assets/htmx.min.js", get(htmx))
        .route("/favicon.ico", get(icon))
        .route("/console/assets/icon.svg", get(icon))
        .layer(axum::middleware::map_response(security_headers))
}

/// Strict headers on every console response: nothing runs or loads but what the binary serves.
async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    let set = |h: &mut HeaderMap, k: &'static str, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(
        h,
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(h, "x-content-type-options", "nosniff");
    set(h, "x-frame-options", "DENY");
    set(h, "referrer-policy", "no-referrer");
    set(h, "cross-origin-opener-policy", "same-origin");
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, "cache-control", "no-store");
    }
    r
}

async fn css() -> Response {
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
async fn htmx() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("../../assets/htmx.min.js"),
    )
        .into_response()
}

async fn icon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("../../assets/icon.svg"),
    )
        .into_response()
}

/// A message catalog.
pub struct Messages {
    strings: HashMap<String, String>,
}

impl Messages {
    /// The text of `key`; a key missing from the catalog shows as itself (a test keeps the
    /// catalogs complete).
    pub fn t<'a>(&'a self, key: &'a str) -> &'a str {
        self.strings.get(key).map_or(key, String::as_str)
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.strings.keys()
    }
}

fn catalog(text: &str) -> Messages {
    let table: toml::Table = text.parse().unwrap_or_default();
    Messages {
        strings: table
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
            .collect(),
    }
}

/// The catalogs, by language tag.
pub fn messages(lang: &str) -> &'static Messages {
    static ZH: LazyLock<Messages> =
        LazyLock::new(|| catalog(include_str!("../../i18n/zh-CN.toml")));
    static EN: LazyLock<Messages> = LazyLock::new(|| catalog(include_str!("../../i18n/en.toml")));
    if lang == "en" { &EN } else { &ZH }
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn lang_of(headers: &HeaderMap) -> &'static str {
    match cookie(headers, LANG_COOKIE) {
        Some("en") => "en",
        _ => "zh-CN",
    }
}

fn random_token() -> Result<String, ApiError> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| ApiError::Internal(format!("no randomness: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

fn set_cookie(name: &str, value: &str, max_age: i64) -> (header::HeaderName, String) {
    (
        header::SET_COOKIE,
        format!("{name}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age}"),
    )
}

/// The signed-in person of a request, with their session.
struct Session {
    actor: Actor,
    record: SessionRecord,
    name: String,
}

/// Why a request has no usable session.
enum NoSession {
    None,
    Expired,
}

async fn session(
    s: &AppState,
    headers: &HeaderMap,
) -> Result<Result<Session, NoSession>, ApiError> {
    let Some(secret) = cookie(headers, SESSION_COOKIE) else {
        return Ok(Err(NoSession::None));
    };
    let Some(record) = s.svc.store.session(&hash_token(secret)).await? else {
        return Ok(Err(NoSession::None));
    };
    if record.ended.is_some() || record.expires <= s.svc.now() {
        return Ok(Err(NoSession::Expired));
    }
    let Some(p) = s.svc.store.principal(record.principal_id).await? else {
        return Ok(Err(NoSession::None));
    };
    let Some(org) = s.svc.store.organisation(p.value.org_id).await? else {
        return Ok(Err(NoSession::None));
    };
    if p.value.disabled {
        return Ok(Err(NoSession::Expired));
    }
    Ok(Ok(Session {
        actor: Actor::principal(&p.value, &org.value),
        name: p.value.name.clone(),
        record,
    }))
}

/// What the layout shows of the signed-in person.
pub struct UserView {
    pub name: String,
    pub org: String,
    pub roles: String,
    pub csrf: String,
}

fn user_view(s: &Session, m: &Messages) -> UserView {
    let roles = match &s.actor {
        Actor::Principal { roles, .. } => roles
            .iter()
            .map(|r| m.t(&format!("role_{}", r.as_str())).to_owned())
            .collect::<Vec<_>>()
            .join(" · "),
        _ => String::new(),
    };
    UserView {
        name: s.name.clone(),
        org: s.actor.org().map(|o| o.slug.clone()).unwrap_or_default(),
        roles,
        csrf: s.record.csrf.clone(),
    }
}

fn page<T: Template>(status: StatusCode, t: &T) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => ApiError::Internal(format!("rendering a page: {e}")).into_response(),
    }
}

struct Lang {
    lang: &'static str,
    m: &'static Messages,
    other_lang: &'static str,
    other_lang_name: &'static str,
}

impl Lang {
    /// What `base.html` needs of every page: the language, its catalog, the switch to the
    /// other one, and the signed-in person.
    fn layout(&self, user: Option<UserView>) -> Layout {
        Layout {
            lang: self.lang,
            m: self.m,
            other_lang: self.other_lang,
            other_lang_name: self.other_lang_name,
            user,
        }
    }
}

/// The fields of `base.html`, shared by every page.
pub struct Layout {
    pub lang: &'static str,
    pub m: &'static Messages,
    pub other_lang: &'static str,
    pub other_lang_name: &'static str,
    pub user: Option<UserView>,
}

fn lang(headers: &HeaderMap) -> Lang {
    let lang = lang_of(headers);
    let other = if lang == "en" { "zh-CN" } else { "en" };
    Lang {
        lang,
        m: messages(lang),
        other_lang: other,
        other_lang_name: messages(other).t("lang_name"),
    }
}

async fn set_lang(Path(l): Path<String>) -> Response {
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

async fn login_form(headers: HeaderMap) -> Response {
    login_page(&lang(&headers), String::new(), None, StatusCode::OK)
}

#[derive(serde::Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    csrf: String,
}

async fn login(
    State(s): State<AppState>,
    peer: crate::Peer,
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
    let now = s.svc.now();
    let actor = match sign_in(s.svc.store.as_ref(), &f.username, &f.password, now).await {
        Ok(a) => a,
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
    let Some(principal) = actor.principal_id() else {
        return Err(ApiError::Internal("a sign-in without a person".into()));
    };
    let secret = random_token()?;
    let record = SessionRecord {
        id_hash: hash_token(&secret),
        principal_id: principal,
        csrf: random_token()?,
        created: now,
        expires: now + time::Duration::hours(SESSION_HOURS),
        ended: None,
    };
    s.svc.store.put_session(&record).await?;
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
struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(s): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    let l = lang(&headers);
    match session(&s, &headers).await? {
        Ok(sess) if sess.record.csrf == f.csrf => {
            s.svc
                .store
                .end_session(&sess.record.id_hash, s.svc.now())
                .await?;
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

fn case_head(m: &Messages) -> Vec<String> {
    ["col_case", "col_category", "col_status", "col_opened"]
        .iter()
        .map(|k| m.t(k).to_owned())
        .collect()
}

fn case_rows(m: &Messages, list: crate::types::CaseList) -> Vec<RowView> {
    list.items
        .into_iter()
        .map(|c| RowView {
            href: Some(format!("/console/cases/{}", c.case.id)),
            cells: vec![
                c.case.title.clone(),
                format!(
                    "{} / {}",
                    m.t(&format!(
                        "category_{}",
                        c.case.classification.category.as_str()
                    )),
                    m.t(&format!(
                        "subtype_{}",
                        c.case.classification.subtype.as_str()
                    ))
                ),
                status_label(m, c.case.status.as_str()),
                day(c.case.opened_at),
            ],
            alert: false,
        })
        .collect()
}

/// A status code in the reader's language.
fn status_label(m: &Messages, status: &str) -> String {
    m.t(&format!("status_{status}")).to_owned()
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

pub struct RowView {
    /// Where the row's first cell leads.
    pub href: Option<String>,
    pub cells: Vec<String>,
    pub alert: bool,
}

pub struct PublicationView {
    pub title: String,
    pub body: String,
    pub issuer: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    sections: Vec<Section>,
    publications: Vec<PublicationView>,
}

layout_page!(HomePage);

fn day(t: OffsetDateTime) -> String {
    let t = t.to_offset(warden_core::calendar::SHANGHAI);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

async fn home(State(s): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
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
                    PageQuery {
                        limit: Some(10),
                        cursor: None,
                    },
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
    let cases = |status: Option<&str>| CasesQuery {
        status: status.map(str::to_owned),
        limit: Some(20),
        ..Default::default()
    };
    let case_rows = |list: crate::types::CaseList| case_rows(m, list);
    let now = s.svc.now();
    let notice_rows = |list: crate::types::NoticeList| pages::notice_rows(m, now, list.items);
    let mut out = vec![];
    if actor.has_role(Role::Reporter) {
        out.push(Section {
            id: "my-reports",
            title: m.t("my_reports").to_owned(),
            action: Some(("/console/reports/new".into(), m.t("new_report").to_owned())),
            head: case_head(m),
            rows: case_rows(s.svc.cases(actor, cases(None)).await?),
        });
    }
    if actor.has_role(Role::Analyst) {
        let mut rows = case_rows(s.svc.cases(actor, cases(Some("assigned"))).await?);
        rows.extend(case_rows(
            s.svc.cases(actor, cases(Some("submitted"))).await?,
        ));
        out.push(Section {
            id: "triage",
            action: Some(("/console/cases".into(), m.t("all_cases").to_owned())),
            title: m.t("triage_queue").to_owned(),
            head: case_head(m),
            rows,
        });
    }
    if actor.has_role(Role::Reviewer) {
        out.push(Section {
            id: "decisions",
            action: None,
            title: m.t("decision_queue").to_owned(),
            head: case_head(m),
            rows: case_rows(s.svc.cases(actor, cases(Some("determined"))).await?),
        });
    }
    if actor.has_role(Role::Reviewer) && actor.org().is_some_and(|o| o.org_type.is_authority()) {
        out.push(Section {
            id: "appeals",
            title: m.t("appeals_open").to_owned(),
            action: None,
            head: oversight::appeal_head(m),
            rows: oversight::appeal_rows(s, m, s.svc.open_appeals(actor).await?),
        });
    }
    if actor.has_role(Role::Reviewer) && actor.org().is_some_and(|o| o.org_type.is_authority()) {
        let list = s
            .svc
            .enforcements(
                actor,
                crate::service::EnforcementQuery {
                    org: None,
                    province: None,
                    limit: Some(50),
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
            head: oversight::enforcement_head(m),
            rows: oversight::enforcement_rows(m, list),
        });
    }
    let notices = |status: Option<&str>| NoticesQuery {
        status: status.map(str::to_owned),
        limit: Some(50),
        ..Default::default()
    };
    if actor.has_role(Role::Responder) {
        let mut list = s.svc.notices(actor, notices(None)).await?;
        list.items
            .retain(|n| !matches!(n.status.as_str(), "verified" | "closed"));
        out.push(Section {
            id: "inbox",
            action: None,
            title: m.t("notice_inbox").to_owned(),
            head: pages::notice_head(m),
            rows: notice_rows(list),
        });
    }
    if actor.has_role(Role::Verifier) {
        out.push(Section {
            id: "verification",
            action: None,
            title: m.t("verification_queue").to_owned(),
            head: pages::notice_head(m),
            rows: notice_rows(
                s.svc
                    .notices(actor, notices(Some("feedback_filed")))
                    .await?,
            ),
        });
    }
    if actor.has_role(Role::Auditor) && warden_core::lifecycle::can_read_audit(actor) {
        let check = s.svc.store.verify_audit().await?;
        out.push(Section {
            id: "audit",
            action: Some(("/console/audit".into(), m.t("audit_trail").to_owned())),
            title: m.t("audit_chain").to_owned(),
            head: vec![m.t("col_status").to_owned()],
            rows: vec![RowView {
                href: None,
                cells: vec![
                    if check.intact {
                        m.t("audit_intact")
                    } else {
                        m.t("audit_broken")
                    }
                    .to_owned(),
                ],
                alert: !check.intact,
            }],
        });
    }
    Ok(out)
}

#[derive(serde::Deserialize)]
struct LookupForm {
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
async fn lookup(
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
        let query = crate::matching::LookupQuery {
            value: value.clone(),
            kind: None,
        };
        let members = sess.is_some();
        let result = match &sess {
            Some(x) => s.svc.lookup(&x.actor, &query),
            None => s.svc.public_lookup(&query),
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_catalogs_have_every_key() {
        let zh: std::collections::BTreeSet<_> = messages("zh-CN").keys().collect();
        let en: std::collections::BTreeSet<_> = messages("en").keys().collect();
        assert!(zh.len() > 40);
        assert_eq!(zh, en);
        // Every key the code and the templates use is in them.
        let used = [
            include_str!("mod.rs"),
            include_str!("pages.rs"),
            include_str!("oversight.rs"),
            include_str!("../../templates/appeal.html"),
            include_str!("../../templates/audit.html"),
            include_str!("../../templates/public_appeal.html"),
            include_str!("../../templates/checked.html"),
            include_str!("../../templates/dashboard.html"),
            include_str!("../../templates/enforcement.html"),
            include_str!("../../templates/bulletins.html"),
            include_str!("../../templates/cases.html"),
            include_str!("../../templates/compliance.html"),
            include_str!("charts.rs"),
            include_str!("../../templates/case.html"),
            include_str!("../../templates/notice.html"),
            include_str!("../../templates/report.html"),
            include_str!("../../templates/base.html"),
            include_str!("../../templates/home.html"),
            include_str!("../../templates/login.html"),
            include_str!("../../templates/lookup.html"),
        ]
        .concat();
        for part in used.split(".t(\"").skip(1) {
            let key = part.split('"').next().unwrap_or_default();
            // `t("` also ends other calls, such as `split("`: keys are identifiers.
            if !key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                continue;
            }
            assert!(
                zh.contains(&key.to_owned()),
                "{key} is used but in no catalog"
            );
        }
        let has = |k: String| assert!(zh.contains(&k), "{k} is in no catalog");
        for role in Role::ALL {
            has(format!("role_{}", role.as_str()));
        }
        for c in warden_core::taxonomy::Category::ALL {
            has(format!("category_{}", c.as_str()));
            for st in c.subtypes() {
                has(format!("subtype_{}", st.as_str()));
            }
        }
        for st in pages::CASE_STATUSES.iter().chain(&[
            "issued",
            "delivered",
            "acknowledged",
            "feedback_filed",
            "verified",
            "reopened",
            "closed",
        ]) {
            has(format!("status_{st}"));
        }
        for k in [
            "action_talk",
            "action_warning",
            "action_fine",
            "basis_csl-56",
            "basis_csl-59",
            "basis_csl-60",
            "basis_csl-68",
            "reason_overdue",
        ] {
            has(k.to_owned());
        }
        for st in ["filed", "under_review", "upheld", "revoked", "modified"] {
            has(format!("status_appeal_{st}"));
        }
        for k in warden_core::lifecycle::MeasureKind::ALL {
            has(format!("kind_{}", k.as_str()));
        }
    }
}
