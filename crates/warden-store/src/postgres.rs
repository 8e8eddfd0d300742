//! The production backend: several server processes share one PostgreSQL database.

use crate::db::Db;
use crate::error::{Result, StoreError};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

fn options(url: &str) -> Result<PgConnectOptions> {
    // Neither the URL nor the parser's message (which may quote it) shows the password.
    PgConnectOptions::from_str(url).map_err(|e| StoreError::BadUrl {
        url: redact(url),
        problem: e.to_string().replace(url, &redact(url)),
    })
}

async fn pool(opts: PgConnectOptions, url: &str) -> Result<sqlx::PgPool> {
    PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(opts)
        .await
        .map_err(|e| StoreError::Unavailable(format!("{}: {e}", redact(url))))
}

pub async fn connect(url: &str) -> Result<Db> {
    let db = Db::Postgres(pool(options(url)?, url).await?);
    crate::migrate::migrate(&MIGRATOR, &db).await?;
    Ok(db)
}

/// A read-only node's connection: every transaction read-only (as on a hot standby, so a
/// write fails the same way on the primary and on a replica), and no migration: the schema
/// must be the one this binary knows, migrated by the primary's nodes.
pub async fn connect_read_only(url: &str) -> Result<Db> {
    let opts = options(url)?.options([("default_transaction_read_only", "on")]);
    let db = Db::Postgres(pool(opts, url).await?);
    let version = db
        .fetch(
            "SELECT COALESCE(MAX(version), 0) AS v FROM _sqlx_migrations WHERE success",
            &[],
        )
        .await
        .map_err(|e| StoreError::Migration(format!("cannot read the schema version: {e}")))?
        .first()
        .map(|r| r.i64("v"))
        .transpose()?
        .unwrap_or(0);
    match version.cmp(&crate::migrate::SCHEMA_VERSION) {
        std::cmp::Ordering::Equal => Ok(db),
        std::cmp::Ordering::Greater => Err(StoreError::SchemaTooNew(format!(
            "the database has migration {version}, this binary knows {}",
            crate::migrate::SCHEMA_VERSION
        ))),
        std::cmp::Ordering::Less => Err(StoreError::Migration(format!(
            "the database is at migration {version} and this binary needs {}: a read-only node does not migrate; start a primary node of this version first (it migrates), then this one",
            crate::migrate::SCHEMA_VERSION
        ))),
    }
}

pub async fn connect_isolated(url: &str) -> Result<Db> {
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let admin = pool(options(url)?, url).await?;
    // The name is generated above from hex digits only: safe to splice.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&admin)
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    admin.close().await;
    let opts = options(url)?.options([("search_path", schema.as_str())]);
    let db = Db::Postgres(pool(opts, url).await?);
    crate::migrate::migrate(&MIGRATOR, &db).await?;
    Ok(db)
}

/// A URL fit for messages: the password, if any, replaced.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_malformed_url_is_told_without_its_password() {
        // (Built in two halves: the import-graph check reads a double slash as a comment.)
        let url = format!(
            "postgres:/{}",
            "/warden:s3cret-pw@db.example:notaport/warden"
        );
        let e = super::options(&url).unwrap_err().to_string();
        assert!(!e.contains("s3cret-pw"), "{e}");
        assert!(e.contains("warden:***@db.example"), "{e}");
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
