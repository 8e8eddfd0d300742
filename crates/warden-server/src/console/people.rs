//! People and API clients in the console: an organisation's people (invite, roles, disable,
//! reset links) and tokens (create, last use, revoke) for its admins; the one-time link page
//! where an invited person sets a password and second factor; each person's own account page
//! (password, TOTP). A link's or token's secret is shown on the page that made it, once.

use super::forms::{Choice, SignedIn, form_session, form_status, refused};
use super::frame::{Lang, Layout, day, lang, page, user_view};
use crate::error::ApiError;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use warden_core::org::Role;
use warden_service::ServiceError;
use warden_service::authentication::Session;
use warden_service::proto::{PersonPatch, PersonRequest, TokenRequest};

fn role_choices(m: &super::frame::Messages) -> Vec<Choice> {
    Role::ALL
        .iter()
        .map(|r| Choice {
            value: r.as_str().to_owned(),
            label: m.t(&format!("role_{}", r.as_str())).to_owned(),
        })
        .collect()
}

/// Roles ticked in a form: `role=reporter&role=admin`.
fn roles_of(pairs: &[(String, String)]) -> Result<Vec<Role>, ServiceError> {
    pairs
        .iter()
        .filter(|(k, _)| k == "role")
        .map(|(_, v)| {
            v.parse::<Role>()
                .map_err(|e| ServiceError::InvalidBody(format!("role: {e}")))
        })
        .collect()
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

pub struct PersonRow {
    pub name: String,
    pub display_name: String,
    pub role_values: Vec<String>,
    pub status: String,
    pub second_factor: bool,
    pub disabled: bool,
}

pub struct TokenRow {
    pub prefix: String,
    pub label: String,
    pub roles: String,
    pub status: String,
    pub active: bool,
    pub created: String,
    pub last_used: String,
}

#[derive(Template)]
#[template(path = "people.html")]
struct PeoplePage {
    layout: Layout,
    slug: String,
    people: Vec<PersonRow>,
    tokens: Vec<TokenRow>,
    roles: Vec<Choice>,
    /// A secret to show once: a link or a token, with what it is.
    shown: Option<(String, String)>,
    error: Option<String>,
    done: bool,
}

layout_page!(PeoplePage);

pub(super) async fn people_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    SignedIn(sess): SignedIn,
    Path(slug): Path<String>,
    axum::extract::Query(q): axum::extract::Query<super::forms::Done>,
) -> Result<Response, ApiError> {
    render_people(&s, &lang(&headers), &sess, &slug, None, None, q.is_done()).await
}

async fn render_people(
    s: &AppState,
    l: &Lang,
    sess: &Session,
    slug: &str,
    shown: Option<(String, String)>,
    error: Option<String>,
    done: bool,
) -> Result<Response, ApiError> {
    let m = l.m;
    let people = s
        .svc
        .people(&sess.actor, slug)
        .await?
        .items
        .into_iter()
        .map(|p| PersonRow {
            status: if p.disabled {
                m.t("person_disabled")
            } else if p.locked_until.is_some() {
                m.t("person_locked")
            } else if !p.has_password {
                m.t("person_invited")
            } else {
                m.t("person_active")
            }
            .to_owned(),
            role_values: p.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            second_factor: p.second_factor,
            disabled: p.disabled,
            name: p.name,
            display_name: p.display_name,
        })
        .collect();
    let tokens = s
        .svc
        .org_tokens(&sess.actor, slug)
        .await?
        .items
        .into_iter()
        .map(|t| TokenRow {
            active: t.status == "active",
            status: m.t(&format!("token_{}", t.status)).to_owned(),
            roles: t
                .roles
                .iter()
                .map(|r| m.t(&format!("role_{}", r.as_str())).to_owned())
                .collect::<Vec<_>>()
                .join(" · "),
            created: short(&t.created_at),
            last_used: t
                .last_used_at
                .as_deref()
                .map(short)
                .unwrap_or_else(|| "—".into()),
            prefix: t.prefix,
            label: t.label,
        })
        .collect();
    let view = PeoplePage {
        layout: l.layout(Some(user_view(sess, m))),
        slug: slug.to_owned(),
        people,
        tokens,
        roles: role_choices(m),
        shown,
        error: error.clone(),
        done,
    };
    Ok(page(form_status(&error), &view))
}

/// An RFC 3339 time as the console shows times.
fn short(t: &str) -> String {
    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
        .map(day)
        .unwrap_or_else(|_| t.to_owned())
}

/// The people page's forms: `action` = invite, update, reset, token or revoke.
pub(super) async fn people_action(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let sess = match form_session(&s, &headers, field(&pairs, "csrf")).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let l = lang(&headers);
    let m = l.m;
    let mut shown = None;
    let r: Result<(), ServiceError> = async {
        match field(&pairs, "action") {
            "invite" => {
                let issued = s
                    .svc
                    .invite_person(
                        &sess.actor,
                        &slug,
                        PersonRequest {
                            name: field(&pairs, "name").trim().to_owned(),
                            display_name: Some(field(&pairs, "display_name").to_owned()),
                            roles: roles_of(&pairs)?,
                        },
                    )
                    .await?;
                shown = Some((
                    format!("{} {}", m.t("link_for"), issued.person.name),
                    issued.link,
                ));
            }
            "reset" => {
                let issued = s
                    .svc
                    .reset_person(&sess.actor, field(&pairs, "name"))
                    .await?;
                shown = Some((
                    format!("{} {}", m.t("reset_link_for"), issued.person.name),
                    issued.link,
                ));
            }
            "update" => {
                let disabled = field(&pairs, "disabled") == "1";
                s.svc
                    .amend_person(
                        &sess.actor,
                        field(&pairs, "name"),
                        PersonPatch {
                            display_name: None,
                            roles: Some(roles_of(&pairs)?),
                            disabled: Some(disabled),
                        },
                        None,
                    )
                    .await?;
            }
            "token" => {
                let days = field(&pairs, "expires_in_days").trim();
                let created = s
                    .svc
                    .create_org_token(
                        &sess.actor,
                        &slug,
                        TokenRequest {
                            roles: roles_of(&pairs)?,
                            label: Some(field(&pairs, "label").to_owned()),
                            expires_in_days: if days.is_empty() {
                                None
                            } else {
                                Some(days.parse().map_err(|_| {
                                    ServiceError::InvalidBody(format!(
                                        "expires_in_days: {days:?} is not a number of days"
                                    ))
                                })?)
                            },
                        },
                    )
                    .await?;
                shown = Some((
                    format!("{} {}", m.t("token_for"), created.view.prefix),
                    created.token,
                ));
            }
            "revoke" => {
                s.svc
                    .revoke_org_token(&sess.actor, field(&pairs, "prefix"))
                    .await?;
            }
            other => {
                return Err(ServiceError::InvalidBody(format!(
                    "action: {other:?} is not one of the page's forms"
                )));
            }
        }
        Ok(())
    }
    .await;
    match refused(r)? {
        // A secret is shown on this answer and nowhere else.
        None if shown.is_some() => render_people(&s, &l, &sess, &slug, shown, None, true).await,
        None => Ok(Redirect::to(&format!(
            "/console/organisations/{}/people?done=1",
            slug.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect::<String>()
        ))
        .into_response()),
        Some(why) => render_people(&s, &l, &sess, &slug, None, Some(why), false).await,
    }
}

#[derive(Template)]
#[template(path = "welcome.html")]
struct WelcomePage {
    layout: Layout,
    secret: String,
    name: String,
    org: String,
    reset: bool,
    totp_secret: String,
    totp_uri: String,
    required: bool,
    error: Option<String>,
}

layout_page!(WelcomePage);

/// The page of a one-time link: set a password and, optionally or as the organisation
/// requires, a second factor.
pub(super) async fn welcome(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(secret): Path<String>,
) -> Result<Response, ApiError> {
    render_welcome(&s, &lang(&headers), &secret, None).await
}

async fn render_welcome(
    s: &AppState,
    l: &Lang,
    secret: &str,
    error: Option<String>,
) -> Result<Response, ApiError> {
    let st = match s.svc.link_state(secret).await {
        Ok(st) => st,
        Err(ServiceError::NotFound(_)) => {
            return Ok((StatusCode::NOT_FOUND, l.m.t("link_gone").to_owned()).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    let view = WelcomePage {
        layout: l.layout(None),
        secret: secret.to_owned(),
        reset: st.purpose == "reset",
        name: st.name,
        org: st.org,
        totp_secret: st.totp_secret,
        totp_uri: st.totp_uri,
        required: st.second_factor_required,
        error: error.clone(),
    };
    Ok(page(form_status(&error), &view))
}

#[derive(serde::Deserialize)]
pub(super) struct WelcomeForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    again: String,
    #[serde(default)]
    code: String,
}

pub(super) async fn accept(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(secret): Path<String>,
    Form(f): Form<WelcomeForm>,
) -> Result<Response, ApiError> {
    let l = lang(&headers);
    if f.password != f.again {
        return render_welcome(&s, &l, &secret, Some(l.m.t("passwords_differ").to_owned())).await;
    }
    match refused(s.svc.accept_link(&secret, &f.password, &f.code).await)? {
        None => Ok(Redirect::to("/console/login?welcome=1").into_response()),
        Some(why) => render_welcome(&s, &l, &secret, Some(why)).await,
    }
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    name: String,
    second_factor: bool,
    enrolment: Option<(String, String)>,
    error: Option<String>,
    done: bool,
}

layout_page!(AccountPage);

pub(super) async fn account(
    State(s): State<AppState>,
    headers: HeaderMap,
    SignedIn(sess): SignedIn,
    axum::extract::Query(q): axum::extract::Query<super::forms::Done>,
) -> Result<Response, ApiError> {
    render_account(&s, &lang(&headers), &sess, None, None, q.is_done()).await
}

async fn render_account(
    s: &AppState,
    l: &Lang,
    sess: &Session,
    enrolment: Option<(String, String)>,
    error: Option<String>,
    done: bool,
) -> Result<Response, ApiError> {
    let id = sess.actor.principal_id().unwrap_or_default();
    let view = AccountPage {
        layout: l.layout(Some(user_view(sess, l.m))),
        name: sess.name.clone(),
        second_factor: s.svc.second_factor_of(id).await?,
        enrolment,
        error: error.clone(),
        done,
    };
    Ok(page(form_status(&error), &view))
}

#[derive(serde::Deserialize)]
pub(super) struct AccountForm {
    #[serde(default)]
    csrf: String,
    /// `password`, `begin` or `confirm`.
    #[serde(default)]
    action: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    again: String,
    #[serde(default)]
    code: String,
}

pub(super) async fn account_action(
    State(s): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<AccountForm>,
) -> Result<Response, ApiError> {
    let sess = match form_session(&s, &headers, &f.csrf).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let l = lang(&headers);
    let mut enrolment = None;
    let r: Result<(), ServiceError> = match f.action.as_str() {
        "password" if f.new != f.again => Err(ServiceError::InvalidBody(
            l.m.t("passwords_differ").to_owned(),
        )),
        "password" => s.svc.change_password(&sess.actor, &f.current, &f.new).await,
        "begin" => s.svc.begin_second_factor(&sess.actor).await.map(|e| {
            enrolment = Some((e.secret, e.uri));
        }),
        "confirm" => s.svc.confirm_second_factor(&sess.actor, &f.code).await,
        other => Err(ServiceError::InvalidBody(format!(
            "action: {other:?} is not one of the page's forms"
        ))),
    };
    match refused(r)? {
        None if enrolment.is_some() => render_account(&s, &l, &sess, enrolment, None, false).await,
        None => Ok(Redirect::to("/console/account?done=1").into_response()),
        Some(why) => render_account(&s, &l, &sess, None, Some(why), false).await,
    }
}
