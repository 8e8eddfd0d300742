//! The blocks in force, their change sequence, and the allow-list entries.

use super::codec::*;
use super::store::SqlStore;
use crate::db::Row;
use crate::error::{Result, StoreError};
use crate::model::*;
use crate::traits::*;
use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

/// The block changes with their measures and recipients: what every version query selects.
macro_rules! block_changes_joined {
    () => {
        "SELECT c.serial, c.listed, c.at_us, m.id AS measure_id, m.target_kind, m.target_value, \
         m.scope, m.range_last, m.recipient_org, o.slug AS recipient_slug, m.reference, \
         m.created_us, m.expires_us, COALESCE(m.listed_serial, 0) AS listed_serial \
         FROM block_changes c JOIN measures m ON m.id = c.measure_id \
         JOIN organisations o ON o.id = m.recipient_org"
    };
}

/// A `ListedBlock` from the columns starting at `at`.
fn listed_block(r: &Row) -> Result<ListedBlock> {
    let t = |us: i64| {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000)
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    };
    Ok(ListedBlock {
        measure_id: row_uuid(r, "measure_id")?,
        target_kind: r.opt_text("target_kind")?.unwrap_or_default(),
        target_value: r.opt_text("target_value")?.unwrap_or_default(),
        scope: r.opt_text("scope")?,
        range_last: r.opt_text("range_last")?,
        recipient_id: row_uuid(r, "recipient_org")?,
        recipient_slug: r.text("recipient_slug")?,
        reference: r.opt_text("reference")?.unwrap_or_default(),
        since: t(r.i64("created_us")?)?,
        expires: t(r.opt_i64("expires_us")?.unwrap_or(0))?,
        listed_serial: r.i64("listed_serial")?,
    })
}

#[async_trait]
impl BlocklistStore for SqlStore {
    async fn listed_blocks(&self, after: Option<Uuid>, limit: u32) -> Result<Vec<ListedBlock>> {
        let rows = self
            .db
            .fetch(
                "SELECT m.id AS measure_id, m.target_kind, m.target_value, m.scope, m.range_last, m.recipient_org, \
                 o.slug AS recipient_slug, m.reference, m.created_us, m.expires_us, \
                 COALESCE(m.listed_serial, 0) AS listed_serial \
                 FROM measures m JOIN organisations o ON o.id = m.recipient_org \
                 WHERE m.block_status = 'active' AND m.id > $1 ORDER BY m.id LIMIT $2",
                &[
                    after.map(|u| u.to_string()).unwrap_or_default().into(),
                    i64::from(limit.clamp(1, 100_000)).into(),
                ],
            )
            .await?;
        rows.iter().map(listed_block).collect()
    }

    async fn block_changes(&self, after: i64, limit: u32) -> Result<Vec<BlockChange>> {
        self.block_versions(&crate::model::BlockVersionQuery {
            after_serial: after,
            versions: crate::model::VersionSelect::All,
            limit,
            ..Default::default()
        })
        .await
    }

    async fn block_serial(&self) -> Result<i64> {
        let rows = self
            .db
            .fetch(
                "SELECT COALESCE(MAX(serial), 0) AS serial FROM block_changes",
                &[],
            )
            .await?;
        rows.first().map(|r| r.i64("serial")).unwrap_or(Ok(0))
    }

    async fn block_versions(
        &self,
        q: &crate::model::BlockVersionQuery,
    ) -> Result<Vec<BlockChange>> {
        let mode = match q.versions {
            crate::model::VersionSelect::Last => "last",
            crate::model::VersionSelect::First => "first",
            crate::model::VersionSelect::All => "all",
        };
        let args = [
            q.after_serial.into(),
            q.added_after.map_or(i64::MIN, us).into(),
            q.recipient
                .map(|u| u.to_string())
                .unwrap_or_default()
                .into(),
            q.measure.map(|u| u.to_string()).unwrap_or_default().into(),
            mode.to_owned().into(),
            i64::from(q.limit.clamp(1, 100_000)).into(),
        ];
        // The current versions have a query of their own, so that the planner sees the
        // partial index's predicate.
        let rows = if mode == "last" {
            self.db
                .fetch(
                    concat!(
                        block_changes_joined!(),
                        " WHERE c.superseded = 0 AND c.serial > $1 AND c.at_us > $2 AND ($3 = '' OR m.recipient_org = $3) \
                     AND ($4 = '' OR c.measure_id = $4) AND $5 = 'last' \
                     ORDER BY c.serial LIMIT $6"
                    ),
                    &args,
                )
                .await?
        } else {
            self.db
                .fetch(
                    concat!(
                        block_changes_joined!(),
                        " WHERE c.serial > $1 AND c.at_us > $2 AND ($3 = '' OR m.recipient_org = $3) \
                     AND ($4 = '' OR c.measure_id = $4) \
                     AND ($5 = 'all' \
                       OR ($5 = 'first' AND NOT EXISTS (SELECT 1 FROM block_changes d WHERE d.measure_id = c.measure_id AND d.serial < c.serial))) \
                     ORDER BY c.serial LIMIT $6"
                    ),
                    &args,
                )
                .await?
        };
        rows.iter()
            .map(|r| {
                Ok(BlockChange {
                    serial: r.i64("serial")?,
                    listed: r.i64("listed")? != 0,
                    at: OffsetDateTime::from_unix_timestamp_nanos(
                        i128::from(r.i64("at_us")?) * 1000,
                    )
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    block: listed_block(r)?,
                })
            })
            .collect()
    }

    async fn allowlist_entries(
        &self,
    ) -> Result<Vec<Versioned<warden_core::allowlist::AllowlistRecord>>> {
        self.many(
            "allowlist_entry",
            "SELECT version, body FROM allowlist_entries ORDER BY created_us, id",
            &[],
        )
        .await
    }

    async fn allowlist_entry(
        &self,
        id: Uuid,
    ) -> Result<Option<Versioned<warden_core::allowlist::AllowlistRecord>>> {
        self.one(
            "allowlist_entry",
            "SELECT version, body FROM allowlist_entries WHERE id = $1",
            &[id.to_string().into()],
        )
        .await
    }
}
