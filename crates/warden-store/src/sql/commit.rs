//! Writes and what the database is: the `CommitStore` of the SQL backends.

use super::codec::*;
use super::committer::apply_changeset;
use super::store::SqlStore;
use crate::db::Db;
use crate::error::{Result, StoreError};
use crate::model::*;
use crate::traits::*;
use async_trait::async_trait;
use tokio::sync::oneshot;

#[async_trait]
impl CommitStore for SqlStore {
    fn backend(&self) -> Backend {
        self.db.backend()
    }

    async fn health(&self) -> Result<Health> {
        let row = self
            .db
            .fetch_optional(
                "SELECT COALESCE(MAX(version), 0) AS version FROM _sqlx_migrations WHERE success",
                &[],
            )
            .await?;
        let schema_version = match row {
            Some(r) => r.i64("version")?,
            None => 0,
        };
        Ok(Health {
            backend: self.backend(),
            schema_version,
        })
    }

    async fn bulk_commit(&self, batch: &[Changeset]) -> Result<BulkOutcome> {
        self.bulk(batch).await
    }

    async fn refresh_statistics(&self) -> Result<()> {
        self.db.fetch("ANALYZE", &[]).await?;
        Ok(())
    }

    async fn commit(&self, cs: Changeset) -> Result<CommitOutcome> {
        if !cs.writes.is_empty() && cs.events.is_empty() {
            return Err(StoreError::Corrupt(
                "refusing a write without an audit record".into(),
            ));
        }
        match &self.committer {
            // Queued commits share one transaction and one fsync (group commit); each keeps
            // its own outcome through a savepoint.
            Some(tx) => {
                let (reply, answer) = oneshot::channel();
                tx.send((cs, reply))
                    .await
                    .map_err(|_| StoreError::Unavailable("the SQLite committer stopped".into()))?;
                answer
                    .await
                    .map_err(|_| StoreError::Unavailable("the SQLite committer stopped".into()))?
            }
            None => {
                let mut tx = self.db.begin().await?;
                match apply_changeset(&mut tx, &cs).await {
                    Ok(applied @ CommitOutcome::Applied { .. }) => {
                        tx.commit().await?;
                        Ok(applied)
                    }
                    Ok(replayed) => {
                        tx.rollback().await?;
                        Ok(replayed)
                    }
                    Err(e) => {
                        let _ = tx.rollback().await;
                        Err(e)
                    }
                }
            }
        }
    }

    async fn idempotent_response(
        &self,
        scope: &str,
        key: &str,
        request_hash: &str,
    ) -> Result<Option<serde_json::Value>> {
        let row = self
            .db
            .fetch_optional(
                "SELECT request_hash, response FROM idempotency_keys WHERE scope = $1 AND key = $2",
                &[scope.into(), key.into()],
            )
            .await?;
        match row {
            None => Ok(None),
            Some(r) if r.text("request_hash")? == request_hash => Ok(Some(from_json(
                "idempotency response",
                &r.text("response")?,
            )?)),
            Some(_) => Err(StoreError::IdempotencyKeyReused {
                key: key.to_owned(),
            }),
        }
    }

    async fn snapshot_to(&self, path: &str) -> Result<()> {
        match self.db {
            Db::Sqlite(_) => {
                self.db
                    .fetch("VACUUM INTO $1", &[path.to_owned().into()])
                    .await?;
                Ok(())
            }
            Db::Postgres(_) => Err(StoreError::Unavailable(
                "a PostgreSQL database is backed up with pg_dump (docs/operations.md)".into(),
            )),
        }
    }

    async fn schema_columns(&self) -> Result<Vec<(String, String)>> {
        let sql = match self.db {
            Db::Sqlite(_) => {
                "SELECT m.name AS table_name, p.name AS column_name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%' \
                 ORDER BY 1, 2"
            }
            Db::Postgres(_) => {
                "SELECT table_name::text AS table_name, column_name::text AS column_name FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name NOT LIKE '\\_sqlx%' \
                 ORDER BY 1, 2"
            }
        };
        self.db
            .fetch(sql, &[])
            .await?
            .iter()
            .map(|r| Ok((r.text("table_name")?, r.text("column_name")?)))
            .collect()
    }
}
