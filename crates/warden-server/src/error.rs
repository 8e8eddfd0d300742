//! Every error of the service, turned into an RFC 9457 problem in this one place. The `type`
//! of each is stable: clients branch on it.

use crate::auth::AuthError;
use crate::problem::Problem;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use warden_core::indicator::IndicatorError;
use warden_core::lifecycle::{Refusal, RefusalCode};
use warden_core::org::ProvinceError;
use warden_core::taxonomy::TaxonomyError;
use warden_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("{field}: {source}")]
    Indicator {
        field: String,
        source: IndicatorError,
    },
    #[error(transparent)]
    Taxonomy(#[from] TaxonomyError),
    #[error("province: {0}")]
    Province(#[from] ProvinceError),
    #[error("{0}")]
    InvalidBody(String),
    #[error("{field}: no organisation with slug {slug:?}")]
    UnknownOrganisation { field: String, slug: String },
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Unroutable(String),
    #[error("{0}")]
    InvalidQuery(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Keys(#[from] crate::keys::KeyError),
    #[error("too many requests from this address: retry in {0} seconds")]
    RateLimited(u64),
    #[error("{0}")]
    AddressNotAllowed(String),
    #[error("{0}")]
    UnknownFormat(String),
    #[error("{0}")]
    BatchTooLarge(String),
    #[error("{0}")]
    NotAcceptable(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        use StatusCode as S;
        match self {
            ApiError::Auth(AuthError::Missing | AuthError::Invalid) => (
                S::UNAUTHORIZED,
                "unauthenticated",
                "Authentication required",
            ),
            ApiError::Auth(AuthError::Limited(_)) => {
                (S::TOO_MANY_REQUESTS, "rate-limited", "Too many requests")
            }
            ApiError::Auth(AuthError::Unusable(_)) => (
                S::UNAUTHORIZED,
                "credentials-unusable",
                "Credentials cannot be used",
            ),
            ApiError::Auth(AuthError::Store(e)) | ApiError::Store(e) => match e {
                StoreError::NotFound { .. } => (S::NOT_FOUND, "not-found", "Not found"),
                StoreError::Conflict { .. } => (
                    S::CONFLICT,
                    "conflict",
                    "Changed by someone else: reload and retry",
                ),
                StoreError::Duplicate { .. } => (S::CONFLICT, "duplicate", "Already exists"),
                StoreError::IdempotencyKeyReused { .. } => (
                    S::UNPROCESSABLE_ENTITY,
                    "idempotency-key-reused",
                    "Idempotency key reused for another request",
                ),
                StoreError::Unavailable(_) => (
                    S::SERVICE_UNAVAILABLE,
                    "database-unavailable",
                    "The database is unavailable",
                ),
                _ => (S::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
            },
            ApiError::Auth(AuthError::Internal(_)) => {
                (S::INTERNAL_SERVER_ERROR, "internal", "Internal error")
            }
            ApiError::Refused(r) => match r.code {
                RefusalCode::Role => (S::FORBIDDEN, "forbidden-role", "Role not permitted"),
                RefusalCode::Organisation => (
                    S::FORBIDDEN,
                    "forbidden-organisation",
                    "Organisation not permitted",
                ),
                RefusalCode::Jurisdiction => (
                    S::FORBIDDEN,
                    "forbidden-jurisdiction",
                    "Outside the jurisdiction",
                ),
                RefusalCode::SeparationOfDuties => {
                    (S::FORBIDDEN, "separation-of-duties", "Separation of duties")
                }
                RefusalCode::State => (S::CONFLICT, "invalid-state", "Not possible in this state"),
                RefusalCode::Window => (
                    S::UNPROCESSABLE_ENTITY,
                    "window-closed",
                    "Outside the permitted time",
                ),
                RefusalCode::Invalid => (
                    S::UNPROCESSABLE_ENTITY,
                    "invalid-command",
                    "The request cannot be carried out",
                ),
                RefusalCode::Allowlisted => (
                    S::UNPROCESSABLE_ENTITY,
                    "allowlisted-target",
                    "The target is on an allow-list",
                ),
            },
            ApiError::Indicator { .. } => (
                S::UNPROCESSABLE_ENTITY,
                "invalid-indicator",
                "Invalid indicator",
            ),
            ApiError::Taxonomy(_) => (
                S::UNPROCESSABLE_ENTITY,
                "invalid-classification",
                "Invalid category or subtype",
            ),
            ApiError::Province(_) => (
                S::UNPROCESSABLE_ENTITY,
                "invalid-province",
                "Invalid province",
            ),
            ApiError::InvalidBody(_) => (S::BAD_REQUEST, "invalid-body", "Malformed request body"),
            ApiError::UnknownOrganisation { .. } => (
                S::UNPROCESSABLE_ENTITY,
                "unknown-organisation",
                "Unknown organisation",
            ),
            ApiError::NotFound(_) => (S::NOT_FOUND, "not-found", "Not found"),
            ApiError::Unroutable(_) => (
                S::UNPROCESSABLE_ENTITY,
                "unroutable",
                "No recipient for the measure",
            ),
            ApiError::InvalidQuery(_) => (S::BAD_REQUEST, "invalid-query", "Invalid query"),
            ApiError::Keys(crate::keys::KeyError::Store(StoreError::Unavailable(_))) => (
                S::SERVICE_UNAVAILABLE,
                "database-unavailable",
                "The database is unavailable",
            ),
            ApiError::Keys(_) => (S::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
            ApiError::RateLimited(_) => (S::TOO_MANY_REQUESTS, "rate-limited", "Too many requests"),
            ApiError::AddressNotAllowed(_) => (
                S::FORBIDDEN,
                "forbidden-address",
                "Not served to this address",
            ),
            ApiError::UnknownFormat(_) => (S::NOT_FOUND, "unknown-format", "Unknown export format"),
            ApiError::BatchTooLarge(_) => (
                S::PAYLOAD_TOO_LARGE,
                "batch-too-large",
                "Too many values in one batch",
            ),
            ApiError::NotAcceptable(_) => (
                S::NOT_ACCEPTABLE,
                "not-acceptable",
                "No acceptable media type",
            ),
            ApiError::UnsupportedMediaType(_) => (
                S::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
            ApiError::Internal(_) => (S::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
        }
    }

    /// Seconds to wait before asking again, for a refusal that has them.
    pub(crate) fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::RateLimited(secs) | ApiError::Auth(AuthError::Limited(secs)) => Some(*secs),
            _ => None,
        }
    }

    /// Status, stable code, title and the detail a caller may see (TAXII errors use the same).
    pub(crate) fn describe(&self) -> (StatusCode, &'static str, &'static str, String) {
        let (status, code, title) = self.parts();
        let detail = if status.is_server_error() {
            // Details of internal failures go to the log, not to the caller.
            tracing::error!(error = %self, "request failed");
            "see the server log".to_owned()
        } else {
            self.to_string()
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
                HeaderValue::from_static("Bearer, Basic realm=\"warden\""),
            );
        }
        resp
    }
}
