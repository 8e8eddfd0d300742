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

    async fn end_sessions_of(&self, principal_id: Uuid, at: OffsetDateTime) -> Result<u64> {
        let mut tx = self.db.begin().await?;
        let n = tx
            .execute(
                "UPDATE sessions SET ended_us = $2 WHERE principal_id = $1 AND ended_us IS NULL",
                &[principal_id.to_string().into(), us(at).into()],
            )
            .await?;
        tx.commit().await?;
        Ok(n)
    }

    async fn link(&self, id_hash: &str) -> Result<Option<LinkRecord>> {
        self.db
            .fetch_optional(
                "SELECT id_hash, principal_id, purpose, created_us, expires_us, used_us FROM one_time_links WHERE id_hash = $1",
                &[id_hash.into()],
            )
            .await?
            .map(|r| {
                Ok(LinkRecord {
                    id_hash: r.text("id_hash")?,
                    principal_id: row_uuid(&r, "principal_id")?,
                    purpose: r.text("purpose")?,
                    created: from_us(r.i64("created_us")?)?,
                    expires: from_us(r.i64("expires_us")?)?,
                    used: r.opt_i64("used_us")?.map(from_us).transpose()?,
                })
            })
            .transpose()
    }

    async fn sign_in_failed(
        &self,
        principal_id: Uuid,
        now: OffsetDateTime,
        window: time::Duration,
        limit: i64,
        lock: time::Duration,
    ) -> Result<Option<OffsetDateTime>> {
        let id = principal_id.to_string();
        let now_us = us(now);
        let mut tx = self.db.begin().await?;
        // A failure outside the window starts a new count; the count and the lock are one row,
        // updated in the write transaction, so nodes counting at once do not lose failures.
        tx.execute(
            "INSERT INTO sign_in_failures (principal_id, failures, window_start_us, locked_until_us) VALUES ($1, 1, $2, NULL) \
             ON CONFLICT (principal_id) DO UPDATE SET \
               failures = CASE WHEN sign_in_failures.window_start_us < $3 THEN 1 ELSE sign_in_failures.failures + 1 END, \
               window_start_us = CASE WHEN sign_in_failures.window_start_us < $3 THEN $2 ELSE sign_in_failures.window_start_us END",
            &[id.clone().into(), now_us.into(), us(now - window).into()],
        )
        .await?;
        tx.execute(
            "UPDATE sign_in_failures SET locked_until_us = $2, failures = 0, window_start_us = $3 WHERE principal_id = $1 AND failures >= $4",
            &[id.clone().into(), us(now + lock).into(), now_us.into(), limit.into()],
        )
        .await?;
        let rows = tx
            .fetch(
                "SELECT locked_until_us FROM sign_in_failures WHERE principal_id = $1",
                &[id.into()],
            )
            .await?;
        tx.commit().await?;
        let until = match rows.first() {
            Some(r) => r.opt_i64("locked_until_us")?,
            None => None,
        };
        until.filter(|u| *u > now_us).map(from_us).transpose()
    }

    async fn sign_in_state(
        &self,
        principal_id: Uuid,
    ) -> Result<Option<(i64, Option<OffsetDateTime>)>> {
        self.db
            .fetch_optional(
                "SELECT failures, locked_until_us FROM sign_in_failures WHERE principal_id = $1",
                &[principal_id.to_string().into()],
            )
            .await?
            .map(|r| {
                Ok((
                    r.i64("failures")?,
                    r.opt_i64("locked_until_us")?.map(from_us).transpose()?,
                ))
            })
            .transpose()
    }

    async fn sign_in_cleared(&self, principal_id: Uuid) -> Result<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "DELETE FROM sign_in_failures WHERE principal_id = $1",
            &[principal_id.to_string().into()],
        )
        .await?;
        tx.commit().await
    }

    async fn second_factor(&self, principal_id: Uuid) -> Result<Option<SecondFactorRecord>> {
        self.db
            .fetch_optional(
                "SELECT principal_id, sealed_secret, confirmed_us, last_step FROM second_factors WHERE principal_id = $1",
                &[principal_id.to_string().into()],
            )
            .await?
            .map(|r| {
                Ok(SecondFactorRecord {
                    principal_id: row_uuid(&r, "principal_id")?,
                    sealed_secret: r.text("sealed_secret")?,
                    confirmed: r.opt_i64("confirmed_us")?.map(from_us).transpose()?,
                    last_step: r.i64("last_step")?,
                })
            })
            .transpose()
    }

    async fn accept_totp_step(&self, principal_id: Uuid, step: i64) -> Result<bool> {
        let mut tx = self.db.begin().await?;
        let n = tx
            .execute(
                "UPDATE second_factors SET last_step = $2 WHERE principal_id = $1 AND last_step < $2",
                &[principal_id.to_string().into(), step.into()],
            )
            .await?;
        tx.commit().await?;
        Ok(n == 1)
    }

    async fn touch_token(&self, token_id: Uuid, at: OffsetDateTime) -> Result<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "UPDATE api_tokens SET last_used_us = $2 WHERE id = $1",
            &[token_id.to_string().into(), us(at).into()],
        )
        .await?;
        tx.commit().await
    }

    async fn token_uses(&self, org_id: Uuid) -> Result<Vec<(Uuid, OffsetDateTime)>> {
        self.db
            .fetch(
                "SELECT t.id, t.last_used_us FROM api_tokens t JOIN principals p ON p.id = t.principal_id \
                 WHERE p.org_id = $1 AND t.last_used_us IS NOT NULL",
                &[org_id.to_string().into()],
            )
            .await?
            .into_iter()
            .map(|r| Ok((row_uuid(&r, "id")?, from_us(r.i64("last_used_us")?)?)))
            .collect()
    }
}
