//! The application layer's one error. Each variant carries a stable code (`code()`): the
//! problem `type` of the HTTP API, the `error_code` of TAXII, what the CLI prints. The codes
//! of refusals are the core's (`RefusalCode::as_str`) and those of storage the store's
//! (`StoreError::code`); only the HTTP status is added by the server.

use crate::credentials::AuthError;
use crate::keys::KeyError;
use warden_core::indicator::IndicatorError;
use warden_core::lifecycle::{Refusal, RefusalCode};
use warden_core::org::ProvinceError;
use warden_core::taxonomy::TaxonomyError;
use warden_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
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
    /// The content of a request is malformed (a body that does not parse, a value out of
    /// its range).
    #[error("{0}")]
    InvalidBody(String),
    /// An organisation that would not meet Art. 3 or Art. 5; names the field.
    #[error(transparent)]
    InvalidOrganisation(warden_core::org::OrgError),
    #[error("{field}: no organisation with slug {slug:?}")]
    UnknownOrganisation { field: String, slug: String },
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Unroutable(String),
    /// A filter, page or other query parameter that cannot be used.
    #[error("{0}")]
    InvalidQuery(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("{0}")]
    UnknownFormat(String),
    #[error("{0}")]
    BatchTooLarge(String),
    /// The caller has as much work in progress as it may: it waits for some to finish.
    #[error("{0}")]
    Busy(String),
    #[error("{0}")]
    Internal(String),
}

/// The code of a storage failure as callers see it: what they can act on by name; the
/// platform's own faults (a schema, a migration, unreadable rows) only as `internal`.
fn store_code(e: &StoreError) -> &'static str {
    match e {
        StoreError::NotFound { .. }
        | StoreError::Conflict { .. }
        | StoreError::Duplicate { .. }
        | StoreError::IdempotencyKeyReused { .. }
        | StoreError::Unavailable(_)
        | StoreError::ReadOnly => e.code(),
        StoreError::SchemaTooNew(_)
        | StoreError::Migration(_)
        | StoreError::BadUrl { .. }
        | StoreError::Corrupt(_) => INTERNAL,
    }
}

const INTERNAL: &str = "internal";

impl ServiceError {
    /// The stable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::Auth(a) => match a {
                AuthError::Missing | AuthError::Invalid => "unauthenticated",
                AuthError::Limited(_) => "rate-limited",
                AuthError::Unusable(_) => "credentials-unusable",
                AuthError::Store(e) => store_code(e),
                AuthError::Internal(_) => INTERNAL,
            },
            ServiceError::Refused(r) => r.code.as_str(),
            ServiceError::Indicator { .. } => "invalid-indicator",
            ServiceError::Taxonomy(_) => "invalid-classification",
            ServiceError::Province(_) => "invalid-province",
            ServiceError::InvalidBody(_) => "invalid-body",
            ServiceError::UnknownOrganisation { .. } => "unknown-organisation",
            ServiceError::InvalidOrganisation(_) => "invalid-organisation",
            ServiceError::NotFound(_) => "not-found",
            ServiceError::Unroutable(_) => "unroutable",
            ServiceError::InvalidQuery(_) => "invalid-query",
            ServiceError::Store(e) | ServiceError::Keys(KeyError::Store(e)) => store_code(e),
            ServiceError::Keys(_) => INTERNAL,
            ServiceError::UnknownFormat(_) => "unknown-format",
            ServiceError::BatchTooLarge(_) => "batch-too-large",
            ServiceError::Busy(_) => "imports-busy",
            ServiceError::Internal(_) => INTERNAL,
        }
    }

    /// Every code `code()` can give: the refusals' and storage's among them.
    pub fn codes() -> Vec<&'static str> {
        let mut all: Vec<&'static str> = RefusalCode::ALL.iter().map(|c| c.as_str()).collect();
        all.extend([
            "unauthenticated",
            "rate-limited",
            "credentials-unusable",
            "invalid-indicator",
            "invalid-classification",
            "invalid-province",
            "invalid-body",
            "unknown-organisation",
            "invalid-organisation",
            "not-found",
            "unroutable",
            "invalid-query",
            "unknown-format",
            "batch-too-large",
            "imports-busy",
            INTERNAL,
        ]);
        all.extend(StoreError::EXAMPLES.iter().map(store_code));
        all.sort_unstable();
        all.dedup();
        all
    }

    /// Whether the platform failed rather than the caller: details then go to the log, and
    /// the caller learns only that it happened.
    pub fn is_fault(&self) -> bool {
        matches!(self.code(), INTERNAL | "database-unavailable")
    }

    /// The detail a caller may see: the message, or for the platform's own failures a
    /// pointer to the log (where the message is written now).
    pub fn detail(&self) -> String {
        if self.is_fault() {
            tracing::error!(error = %self, "request failed");
            "see the server log".to_owned()
        } else {
            self.to_string()
        }
    }

    /// Seconds to wait before asking again, for a refusal that has them.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ServiceError::Auth(AuthError::Limited(secs)) => Some(*secs),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_cores_and_the_stores() {
        let all = ServiceError::codes();
        for c in RefusalCode::ALL {
            assert!(all.contains(&c.as_str()));
            let e = ServiceError::Refused(Refusal {
                code: c,
                message: String::new(),
            });
            assert_eq!(e.code(), c.as_str());
        }
        for e in StoreError::EXAMPLES {
            let code = store_code(&e);
            assert!(all.contains(&code), "{code}");
            assert_eq!(ServiceError::Store(e).code(), code);
        }
        assert_eq!(
            ServiceError::Store(StoreError::Corrupt("x".into())).code(),
            "internal"
        );
        assert!(ServiceError::Store(StoreError::Unavailable("x".into())).is_fault());
        assert!(!ServiceError::NotFound("x".into()).is_fault());
    }
}
