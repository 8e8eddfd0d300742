//! Every error of the HTTP service, turned into an RFC 9457 problem in this one place. The
//! `type` of each is the stable code of the service (`ServiceError::code`, which takes the
//! core's and the store's), or one of the few only HTTP has; [`PROBLEMS`] gives each its
//! status and title, and the OpenAPI document lists them all.

use crate::problem::Problem;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use warden_service::ServiceError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Service(ServiceError),
    /// An unauthenticated endpoint's per-address limit.
    #[error("too many requests from this address: retry in {0} seconds")]
    RateLimited(u64),
    #[error("{0}")]
    AddressNotAllowed(String),
    #[error("{0}")]
    NotAcceptable(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
}

impl<E: Into<ServiceError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError::Service(e.into())
    }
}

/// Every problem `type` the API answers with (after [`crate::problem::TYPE_PREFIX`]), its
/// status and its title.
pub const PROBLEMS: &[(&str, StatusCode, &str)] = &[
    (
        "unauthenticated",
        StatusCode::UNAUTHORIZED,
        "Authentication required",
    ),
    (
        "credentials-unusable",
        StatusCode::UNAUTHORIZED,
        "Credentials cannot be used",
    ),
    (
        "rate-limited",
        StatusCode::TOO_MANY_REQUESTS,
        "Too many requests",
    ),
    (
        "forbidden-role",
        StatusCode::FORBIDDEN,
        "Role not permitted",
    ),
    (
        "forbidden-organisation",
        StatusCode::FORBIDDEN,
        "Organisation not permitted",
    ),
    (
        "forbidden-jurisdiction",
        StatusCode::FORBIDDEN,
        "Outside the jurisdiction",
    ),
    (
        "separation-of-duties",
        StatusCode::FORBIDDEN,
        "Separation of duties",
    ),
    (
        "forbidden-address",
        StatusCode::FORBIDDEN,
        "Not served to this address",
    ),
    ("not-found", StatusCode::NOT_FOUND, "Not found"),
    (
        "unknown-format",
        StatusCode::NOT_FOUND,
        "Unknown export format",
    ),
    (
        "not-acceptable",
        StatusCode::NOT_ACCEPTABLE,
        "No acceptable media type",
    ),
    (
        "invalid-state",
        StatusCode::CONFLICT,
        "Not possible in this state",
    ),
    (
        "conflict",
        StatusCode::CONFLICT,
        "Changed by someone else: reload and retry",
    ),
    ("duplicate", StatusCode::CONFLICT, "Already exists"),
    (
        "batch-too-large",
        StatusCode::PAYLOAD_TOO_LARGE,
        "Too many values in one batch",
    ),
    (
        "imports-busy",
        StatusCode::TOO_MANY_REQUESTS,
        "Too many imports in progress",
    ),
    (
        "unsupported-media-type",
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "Unsupported media type",
    ),
    (
        "invalid-body",
        StatusCode::BAD_REQUEST,
        "Malformed request body",
    ),
    ("invalid-query", StatusCode::BAD_REQUEST, "Invalid query"),
    (
        "window-closed",
        StatusCode::UNPROCESSABLE_ENTITY,
        "Outside the permitted time",
    ),
    (
        "invalid-command",
        StatusCode::UNPROCESSABLE_ENTITY,
        "The request cannot be carried out",
    ),
    (
        "allowlisted-target",
        StatusCode::UNPROCESSABLE_ENTITY,
        "The target is on an allow-list",
    ),
    (
        "invalid-indicator",
        StatusCode::UNPROCESSABLE_ENTITY,
        "Invalid indicator",
    ),
    (
        "invalid-classification",
        StatusCode::UNPROCESSABLE_ENTITY,
        "Invalid category or subtype",
    ),
    (
        "invalid-province",
        StatusCode::UNPROCESSABLE_ENTITY,
        "Invalid province",
    ),
    (
        "invalid-organisation",
        StatusCode::UNPROCESSABLE_ENTITY,
        "The organisation does not meet Art. 3 or Art. 5",
    ),
    (
        "unknown-organisation",
        StatusCode::UNPROCESSABLE_ENTITY,
        "Unknown organisation",
    ),
    (
        "unroutable",
        StatusCode::UNPROCESSABLE_ENTITY,
        "No recipient for the measure",
    ),
    (
        "idempotency-key-reused",
        StatusCode::UNPROCESSABLE_ENTITY,
        "Idempotency key reused for another request",
    ),
    (
        "bad-request",
        StatusCode::BAD_REQUEST,
        "The request cannot be read",
    ),
    (
        "method-not-allowed",
        StatusCode::METHOD_NOT_ALLOWED,
        "Method not allowed",
    ),
    (
        "body-too-large",
        StatusCode::PAYLOAD_TOO_LARGE,
        "Request body too large",
    ),
    (
        "headers-too-large",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "Request headers too large",
    ),
    (
        "too-many-connections",
        StatusCode::SERVICE_UNAVAILABLE,
        "Too many connections",
    ),
    (
        "internal",
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal error",
    ),
    (
        "database-unavailable",
        StatusCode::SERVICE_UNAVAILABLE,
        "The database is unavailable",
    ),
    (
        "read-only-node",
        StatusCode::SERVICE_UNAVAILABLE,
        "This node serves reads only: send writes to a primary node",
    ),
];

/// The status and title of a problem `type`.
pub fn problem(code: &str) -> (StatusCode, &'static str) {
    PROBLEMS
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, s, t)| (*s, *t))
        .unwrap_or((StatusCode::INTERNAL_SERVER_ERROR, "Internal error"))
}

impl ApiError {
    /// The stable code: the problem's `type`, TAXII's `error_code`.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Service(e) => e.code(),
            ApiError::RateLimited(_) => "rate-limited",
            ApiError::AddressNotAllowed(_) => "forbidden-address",
            ApiError::NotAcceptable(_) => "not-acceptable",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
        }
    }

    /// Seconds to wait before asking again, for a refusal that has them.
    pub(crate) fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::Service(e) => e.retry_after(),
            ApiError::RateLimited(secs) => Some(*secs),
            _ => None,
        }
    }

    /// Status, stable code, title and the detail a caller may see (TAXII errors use the same).
    pub(crate) fn describe(&self) -> (StatusCode, &'static str, &'static str, String) {
        let code = self.code();
        let (status, title) = problem(code);
        let detail = match self {
            // Details of the platform's own failures go to the log, not to the caller.
            ApiError::Service(e) => e.detail(),
            other => other.to_string(),
        };
        (status, code, title, detail)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, title, detail) = self.describe();
        let retry = self.retry_after();
        let mut resp = Problem::new(status, code, title, detail).into_response();
        if let Some(secs) = retry
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"warden\""),
            );
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_one_status_and_title() {
        let mut codes = ServiceError::codes();
        codes.extend([
            "rate-limited",
            "forbidden-address",
            "not-acceptable",
            "unsupported-media-type",
            // Written by the listener to a connection over the cap.
            "too-many-connections",
        ]);
        codes.extend(crate::HTTP_LAYER_PROBLEMS);
        for c in &codes {
            assert!(
                PROBLEMS.iter().any(|(p, _, _)| p == c),
                "{c} has no status and title"
            );
        }
        for (i, (c, status, _)) in PROBLEMS.iter().enumerate() {
            assert!(codes.contains(c), "{c} is listed but nothing gives it");
            assert!(status.is_client_error() || status.is_server_error());
            assert!(
                PROBLEMS[i + 1..].iter().all(|(d, _, _)| d != c),
                "{c} twice"
            );
        }
        // The platform's failures, and only they, are 5xx: their details stay in the log.
        for c in &codes {
            let fault = matches!(
                *c,
                "internal" | "database-unavailable" | "too-many-connections" | "read-only-node"
            );
            assert_eq!(problem(c).0.is_server_error(), fault, "{c}");
        }
    }
}
