//! Migrations: numbered, forward-only, one set per backend, each in a transaction; a binary
//! refuses a database with a migration it does not know.

use crate::db::Db;
use crate::error::{Result, StoreError};

/// The schema version this binary migrates to: the number of the last migration.
pub const SCHEMA_VERSION: i64 = 29;

pub async fn migrate(m: &sqlx::migrate::Migrator, db: &Db) -> Result<()> {
    let r = match db {
        Db::Sqlite(p) => m.run(p).await,
        Db::Postgres(p) => m.run(p).await,
    };
    r.map_err(|e| match e {
        sqlx::migrate::MigrateError::VersionMissing(v) => StoreError::SchemaTooNew(format!(
            "the database has migration {v}, which this binary does not know"
        )),
        other => StoreError::Migration(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn schema_version_names_the_last_migration_of_both_backends() {
        for backend in ["sqlite", "postgres"] {
            let dir = format!("{}/migrations/{backend}", env!("CARGO_MANIFEST_DIR"));
            let n = std::fs::read_dir(&dir).unwrap().count() as i64;
            assert_eq!(n, super::SCHEMA_VERSION, "{dir}");
        }
    }
}
