//! Warden's storage: one trait per concern, summed into `Store`, and two backends (SQLite
//! embedded, PostgreSQL for production).
//!
//! Both backends run the same SQL through a small dialect-neutral layer (`db`), so the logic
//! of a commit (version checks, audit chain, idempotency) exists once. Queries are checked at
//! run time: building needs no database. Rows are read by column name, next to the query
//! that names them.

mod audit;
mod copy;
mod db;
mod error;
mod migrate;
mod model;
mod postgres;
mod sql;
mod sqlite;
pub mod traits;

pub use audit::{
    AuditAlert, AuditCheck, AuditEntry, AuditScope, Checkpoint, DeepCheck, Discrepancy,
    GENESIS_HASH, check_checkpoint_links,
};
pub use error::{Result, StoreError};
pub use migrate::SCHEMA_VERSION;
pub use model::*;
pub use postgres::redact as redact_url;
pub use traits::*;

use std::sync::Arc;

/// The default database: an SQLite file under `./warden-data/`.
pub const DEFAULT_DB_URL: &str = "sqlite://warden-data/warden.db";

/// Opens (creating if needed) and migrates the database that `url` names:
/// `sqlite://PATH` or `postgres://…`.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    let db = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        postgres::connect(url).await?
    } else if url.starts_with("sqlite:") {
        sqlite::connect(url).await?
    } else {
        return Err(StoreError::BadUrl {
            url: url.to_owned(),
            problem: "expected sqlite://PATH or postgres://USER@HOST/DB".to_owned(),
        });
    };
    Ok(Arc::new(sql::SqlStore::new(db)))
}

/// A store for a read-only node (`warden serve --read-only`): PostgreSQL only, typically a
/// streaming replica; every transaction is read-only and nothing is migrated.
pub async fn open_read_only(url: &str) -> Result<Arc<dyn Store>> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(StoreError::BadUrl {
            url: redact_url(url),
            problem: "a read-only node reads a PostgreSQL database (a replica of the primary's): expected postgres://USER@HOST/DB".to_owned(),
        });
    }
    let db = postgres::connect_read_only(url).await?;
    Ok(Arc::new(sql::SqlStore::new(db)))
}

/// For tests: a fresh PostgreSQL schema of its own inside the database `url` names, so tests
/// running at once never see each other's rows.
pub async fn open_isolated_postgres(url: &str) -> Result<Arc<dyn Store>> {
    let db = postgres::connect_isolated(url).await?;
    Ok(Arc::new(sql::SqlStore::new(db)))
}

/// For tests: a store on a fresh schema of its own inside the PostgreSQL database that
/// `WARDEN_TEST_POSTGRES` names; none when the variable is unset or empty. Under CI
/// (`CI=true`) an unset variable is an error instead, so the PostgreSQL half of a suite never
/// passes without having run.
pub async fn test_postgres() -> Result<Option<Arc<dyn Store>>> {
    match std::env::var("WARDEN_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Ok(Some(open_isolated_postgres(&url).await?)),
        _ if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") => {
            Err(StoreError::Unavailable(
                "WARDEN_TEST_POSTGRES is unset, and under CI the PostgreSQL tests must run: start PostgreSQL and name its database in WARDEN_TEST_POSTGRES".into(),
            ))
        }
        _ => Ok(None),
    }
}
