//! The store's one error, with a stable code for each kind.

/// One error type for the crate; `code()` is stable and what the HTTP layer maps.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{kind} {id} not found")]
    NotFound { kind: &'static str, id: String },
    #[error(
        "{kind} {id} was changed by someone else (expected version {expected}); reload and try again"
    )]
    Conflict {
        kind: &'static str,
        id: String,
        expected: i64,
    },
    #[error("{kind} {id} already exists")]
    Duplicate { kind: &'static str, id: String },
    #[error("idempotency key {key:?} was already used for a different request")]
    IdempotencyKeyReused { key: String },
    #[error("the database schema is newer than this binary understands ({0}); upgrade warden")]
    SchemaTooNew(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("invalid database URL {url:?}: {problem}")]
    BadUrl { url: String, problem: String },
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// A write reached a node that serves reads from a replica.
    #[error("this node serves reads only (from a replica): send writes to a primary node")]
    ReadOnly,
}

impl StoreError {
    /// One error of each kind, for listing their codes.
    pub const EXAMPLES: [StoreError; 10] = [
        StoreError::NotFound {
            kind: "",
            id: String::new(),
        },
        StoreError::Conflict {
            kind: "",
            id: String::new(),
            expected: 0,
        },
        StoreError::Duplicate {
            kind: "",
            id: String::new(),
        },
        StoreError::IdempotencyKeyReused { key: String::new() },
        StoreError::SchemaTooNew(String::new()),
        StoreError::Migration(String::new()),
        StoreError::BadUrl {
            url: String::new(),
            problem: String::new(),
        },
        StoreError::Unavailable(String::new()),
        StoreError::Corrupt(String::new()),
        StoreError::ReadOnly,
    ];

    pub fn code(&self) -> &'static str {
        match self {
            StoreError::NotFound { .. } => "not-found",
            StoreError::Conflict { .. } => "conflict",
            StoreError::Duplicate { .. } => "duplicate",
            StoreError::IdempotencyKeyReused { .. } => "idempotency-key-reused",
            StoreError::SchemaTooNew(_) => "schema-too-new",
            StoreError::Migration(_) => "migration-failed",
            StoreError::BadUrl { .. } => "bad-database-url",
            StoreError::Unavailable(_) => "database-unavailable",
            StoreError::Corrupt(_) => "corrupt-data",
            StoreError::ReadOnly => "read-only-node",
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
