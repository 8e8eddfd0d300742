//! The console's forms: the signed-in person as an extractor, the CSRF check of every form,
//! reading choices from form fields, and how a refusal is shown with the form.

use super::frame::{Messages, NoSession, lang, session};
use crate::error::ApiError;
use crate::state::AppState;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;
use warden_service::ServiceError;
use warden_service::authentication::Session;

/// The signed-in person, or the response that sends them to sign in.
pub(super) async fn signed_in(
    s: &AppState,
    headers: &HeaderMap,
) -> Result<Result<Session, Response>, ApiError> {
    Ok(match session(s, headers).await? {
        Ok(x) => Ok(x),
        Err(NoSession::None | NoSession::Expired) => {
            Err(Redirect::to("/console/login").into_response())
        }
    })
}

/// The signed-in person as an extractor of the pages: without a session, the sign-in page.
pub(super) struct SignedIn(pub Session);

impl axum::extract::FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        s: &AppState,
    ) -> Result<Self, Response> {
        match signed_in(s, &parts.headers).await {
            Ok(Ok(x)) => Ok(SignedIn(x)),
            Ok(Err(r)) => Err(r),
            Err(e) => Err(e.into_response()),
        }
    }
}

/// A form's session check: the person, with the form's token matching the session's.
pub(super) async fn form_session(
    s: &AppState,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<Result<Session, Response>, ApiError> {
    let l = lang(headers);
    Ok(match signed_in(s, headers).await? {
        Ok(x) if !csrf.is_empty() && x.record.csrf == csrf => Ok(x),
        Ok(_) => Err((StatusCode::FORBIDDEN, l.m.t("csrf_failed").to_owned()).into_response()),
        Err(r) => Err(r),
    })
}

/// A value of one of the API's enumerations, read from a form field with the API's parser.
pub(super) fn enum_field<T: DeserializeOwned>(field: &str, value: &str) -> Result<T, ServiceError> {
    serde_json::from_value(serde_json::Value::String(value.to_owned())).map_err(|_| {
        ServiceError::InvalidBody(format!("{field}: {value:?} is not one of the choices"))
    })
}

pub(super) fn optional<T: DeserializeOwned>(
    field: &str,
    value: &str,
) -> Result<Option<T>, ServiceError> {
    if value.is_empty() {
        Ok(None)
    } else {
        enum_field(field, value).map(Some)
    }
}

/// What a refused form shows: the same detail the API gives. Failures of the server itself
/// stay errors (a problem response, and the log).
pub(super) fn refused(r: Result<(), impl Into<ApiError>>) -> Result<Option<String>, ApiError> {
    match r.map_err(Into::into) {
        Ok(()) => Ok(None),
        Err(
            e @ ApiError::Service(
                ServiceError::Store(_) | ServiceError::Internal(_) | ServiceError::Keys(_),
            ),
        ) => Err(e),
        Err(e) => Ok(Some(e.describe().3)),
    }
}

/// A page shown again with a refusal answers 422.
pub(super) fn form_status(error: &Option<String>) -> StatusCode {
    if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    }
}

/// A label and a value, for the pages' fact tables.
pub struct Fact {
    pub label: String,
    pub value: String,
}

pub(super) fn fact(m: &Messages, key: &str, value: impl Into<String>) -> Fact {
    Fact {
        label: m.t(key).to_owned(),
        value: value.into(),
    }
}

pub struct Choice {
    pub value: String,
    pub label: String,
}

pub(super) fn choices(m: &Messages, prefix: &str, values: &[&'static str]) -> Vec<Choice> {
    values
        .iter()
        .map(|v| Choice {
            value: (*v).to_owned(),
            label: m.t(&format!("{prefix}{v}")).to_owned(),
        })
        .collect()
}

/// The serde name of an enumeration value (its API spelling).
pub(super) fn enum_str<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

#[derive(serde::Deserialize, Default)]
pub(super) struct Done {
    #[serde(default)]
    pub(super) done: Option<String>,
}

impl Done {
    pub(super) fn is_done(&self) -> bool {
        self.done.is_some()
    }
}
