//! Job leases.

use super::codec::*;
use super::store::SqlStore;
use crate::error::Result;
use crate::traits::*;
use async_trait::async_trait;
use time::OffsetDateTime;

#[async_trait]
impl JobStore for SqlStore {
    async fn claim_job(
        &self,
        name: &str,
        owner: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<bool> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "INSERT INTO jobs (name, next_run_us) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[name.into(), us(now).into()],
        )
        .await?;
        // The conditional update is the lock: only one caller can match it.
        let n = tx
            .execute(
                "UPDATE jobs SET lease_owner = $2, lease_until_us = $3 WHERE name = $1 \
                 AND next_run_us <= $4 AND (lease_until_us IS NULL OR lease_until_us < $4)",
                &[
                    name.into(),
                    owner.into(),
                    us(lease_until).into(),
                    us(now).into(),
                ],
            )
            .await?;
        tx.commit().await?;
        Ok(n == 1)
    }

    async fn renew_job(
        &self,
        name: &str,
        owner: &str,
        lease_until: OffsetDateTime,
    ) -> Result<bool> {
        let mut tx = self.db.begin().await?;
        let n = tx
            .execute(
                "UPDATE jobs SET lease_until_us = $3 WHERE name = $1 AND lease_owner = $2",
                &[name.into(), owner.into(), us(lease_until).into()],
            )
            .await?;
        tx.commit().await?;
        Ok(n == 1)
    }

    async fn finish_job(
        &self,
        name: &str,
        owner: &str,
        now: OffsetDateTime,
        next_run: OffsetDateTime,
    ) -> Result<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "UPDATE jobs SET lease_owner = NULL, lease_until_us = NULL, last_run_us = $3, next_run_us = $4 \
             WHERE name = $1 AND lease_owner = $2",
            &[name.into(), owner.into(), us(now).into(), us(next_run).into()],
        )
        .await?;
        tx.commit().await
    }
}
