//! Credentials and console sessions.

use super::codec::*;
use super::store::SqlStore;
use crate::error::Result;
use crate::model::*;
use crate::traits::*;
use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::org::{ApiToken, Organisation, Principal};

#[async_trait]
impl SessionStore for SqlStore {
    async fn token_by_hash(&self, hash: &str) -> Result<Option<Versioned<ApiToken>>> {
        self.one(
            "token",
            "SELECT version, body FROM api_tokens WHERE hash = $1",
            &[hash.into()],
        )
        .await
    }

    async fn credentials(&self, hash: &str) -> Result<Option<(ApiToken, Principal, Organisation)>> {
        let row = self
            .db
            .fetch_optional(
                "SELECT t.body AS token, p.body AS principal, o.body AS organisation FROM api_tokens t \
                 JOIN principals p ON p.id = t.principal_id \
                 JOIN organisations o ON o.id = p.org_id WHERE t.hash = $1",
                &[hash.into()],
            )
            .await?;
        row.map(|r| {
            Ok((
                from_json("token", &r.text("token")?)?,
                from_json("principal", &r.text("principal")?)?,
                from_json("organisation", &r.text("organisation")?)?,
            ))
        })
        .transpose()
    }

    async fn token_by_prefix(&self, prefix: &str) -> Result<Option<Versioned<ApiToken>>> {
        self.one(
            "token",
            "SELECT version, body FROM api_tokens WHERE prefix = $1",
            &[prefix.into()],
        )
        .await
    }

    async fn tokens_of_org(&self, org_id: Uuid) -> Result<Vec<Versioned<ApiToken>>> {
        self.many(
            "token",
            "SELECT t.version, t.body FROM api_tokens t JOIN principals p ON p.id = t.principal_id \
             WHERE p.org_id = $1 ORDER BY t.created_us DESC, t.id",
            &[org_id.to_string().into()],
        )
        .await
    }

    async fn password_hash(&self, principal_id: Uuid) -> Result<Option<String>> {
        self.db
            .fetch_optional(
                "SELECT hash FROM passwords WHERE principal_id = $1",
                &[principal_id.to_string().into()],
            )
            .await?
            .map(|r| r.text("hash"))
            .transpose()
    }

    async fn put_session(&self, s: &crate::model::SessionRecord) -> Result<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "INSERT INTO sessions (id_hash, principal_id, csrf, created_us, expires_us, ended_us) VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                s.id_hash.clone().into(),
                s.principal_id.to_string().into(),
                s.csrf.clone().into(),
                us(s.created).into(),
                us(s.expires).into(),
                s.ended.map(us).into(),
            ],
        )
        .await?;
        tx.commit().await
    }

    async fn session(&self, id_hash: &str) -> Result<Option<crate::model::SessionRecord>> {
        self.db
            .fetch_optional(
                "SELECT id_hash, principal_id, csrf, created_us, expires_us, ended_us FROM sessions WHERE id_hash = $1",
                &[id_hash.into()],
            )
            .await?
            .map(|r| {
                Ok(crate::model::SessionRecord {
                    id_hash: r.text("id_hash")?,
                    principal_id: row_uuid(&r, "principal_id")?,
                    csrf: r.text("csrf")?,
                    created: from_us(r.i64("created_us")?)?,
                    expires: from_us(r.i64("expires_us")?)?,
                    ended: r.opt_i64("ended_us")?.map(from_us).transpose()?,
                })
            })
            .transpose()
    }

    async fn end_session(&self, id_hash: &str, at: OffsetDateTime) -> Result<bool> {
        let mut tx = self.db.begin().await?;
        let n = tx
            .execute(
                "UPDATE sessions SET ended_us = $2 WHERE id_hash = $1 AND ended_us IS NULL",
                &[id_hash.into(), us(at).into()],
            )
            .await?;
        tx.commit().await?;
        Ok(n == 1)
    }
}
