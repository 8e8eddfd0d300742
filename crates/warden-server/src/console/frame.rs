//! What every console page shares: the message catalogs, the language switch, cookies, the
//! signed-in person's session, the layout of `base.html`, and how dates and states read.

use crate::error::ApiError;
use crate::state::AppState;
use askama::Template;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use std::collections::HashMap;
use std::sync::LazyLock;
use time::OffsetDateTime;
use warden_core::org::Actor;
use warden_service::ServiceError;
use warden_service::authentication::{Session, SessionState};

pub(super) const SESSION_COOKIE: &str = "warden_session";

pub(super) const LOGIN_COOKIE: &str = "warden_login";

/// The double-submit token of the public appeal form (no session there).
pub(super) const APPEAL_COOKIE: &str = "warden_appeal";

pub(super) const LANG_COOKIE: &str = "warden_lang";

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

pub(super) fn catalog(text: &str) -> Messages {
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

pub(super) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub(super) fn lang_of(headers: &HeaderMap) -> &'static str {
    match cookie(headers, LANG_COOKIE) {
        Some("en") => "en",
        _ => "zh-CN",
    }
}

pub(super) fn random_token() -> Result<String, ApiError> {
    Ok(warden_service::authentication::random_token()?)
}

pub(super) fn set_cookie(name: &str, value: &str, max_age: i64) -> (header::HeaderName, String) {
    (
        header::SET_COOKIE,
        format!("{name}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age}"),
    )
}

/// Why a request has no usable session.
pub(super) enum NoSession {
    None,
    Expired,
}

pub(super) async fn session(
    s: &AppState,
    headers: &HeaderMap,
) -> Result<Result<Session, NoSession>, ApiError> {
    let Some(secret) = cookie(headers, SESSION_COOKIE) else {
        return Ok(Err(NoSession::None));
    };
    Ok(match s.svc.session(secret).await? {
        SessionState::Active(x) => Ok(*x),
        SessionState::Expired => Err(NoSession::Expired),
        SessionState::Unknown => Err(NoSession::None),
    })
}

/// What the layout shows of the signed-in person.
pub struct UserView {
    pub name: String,
    pub org: String,
    pub roles: String,
    pub csrf: String,
}

pub(super) fn user_view(s: &Session, m: &Messages) -> UserView {
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

pub(super) fn page<T: Template>(status: StatusCode, t: &T) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            ApiError::from(ServiceError::Internal(format!("rendering a page: {e}"))).into_response()
        }
    }
}

pub(super) struct Lang {
    pub(super) lang: &'static str,
    pub(super) m: &'static Messages,
    pub(super) other_lang: &'static str,
    pub(super) other_lang_name: &'static str,
}

impl Lang {
    /// What `base.html` needs of every page: the language, its catalog, the switch to the
    /// other one, and the signed-in person.
    pub(super) fn layout(&self, user: Option<UserView>) -> Layout {
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

pub(super) fn lang(headers: &HeaderMap) -> Lang {
    let lang = lang_of(headers);
    let other = if lang == "en" { "zh-CN" } else { "en" };
    Lang {
        lang,
        m: messages(lang),
        other_lang: other,
        other_lang_name: messages(other).t("lang_name"),
    }
}

/// A status code in the reader's language.
pub(super) fn status_label(m: &Messages, status: &str) -> String {
    m.t(&format!("status_{status}")).to_owned()
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

pub(super) fn day(t: OffsetDateTime) -> String {
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
