//! Feed imports, their uploads and rejects, feed sightings and TAXII statuses.

use super::codec::*;
use super::store::SqlStore;
use crate::db::Row;
use crate::error::{Result, StoreError};
use crate::model::*;
use crate::traits::*;
use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

fn import_record(r: &Row) -> Result<crate::model::ImportRecord> {
    Ok(crate::model::ImportRecord {
        id: row_uuid(r, "id")?,
        org_id: row_uuid(r, "org_id")?,
        format: r.text("format")?,
        source: r.text("source")?,
        status: r.text("status")?,
        started: from_us(r.i64("started_us")?)?,
        finished: r.opt_i64("finished_us")?.map(from_us).transpose()?,
        lines: r.i64("lines")?.max(0) as u64,
        accepted: r.i64("accepted")?.max(0) as u64,
        rejected: r.i64("rejected")?.max(0) as u64,
        new_indicators: r.i64("new_indicators")?.max(0) as u64,
        bytes: r.i64("bytes")?.max(0) as u64,
        detail: r.opt_text("detail")?,
    })
}

#[async_trait]
impl ImportStore for SqlStore {
    async fn put_import(&self, rec: &crate::model::ImportRecord) -> Result<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "INSERT INTO imports (id, org_id, format, source, status, started_us, finished_us, lines, accepted, rejected, new_indicators, bytes, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, finished_us = excluded.finished_us, \
             lines = excluded.lines, accepted = excluded.accepted, rejected = excluded.rejected, \
             new_indicators = excluded.new_indicators, bytes = excluded.bytes, detail = excluded.detail",
            &[
                rec.id.to_string().into(),
                rec.org_id.to_string().into(),
                rec.format.clone().into(),
                rec.source.clone().into(),
                rec.status.clone().into(),
                us(rec.started).into(),
                rec.finished.map(us).into(),
                count(rec.lines).into(),
                count(rec.accepted).into(),
                count(rec.rejected).into(),
                count(rec.new_indicators).into(),
                count(rec.bytes).into(),
                rec.detail.clone().into(),
            ],
        )
        .await?;
        tx.commit().await
    }

    async fn import(&self, id: Uuid) -> Result<Option<crate::model::ImportRecord>> {
        let rows = self
            .db
            .fetch(
                "SELECT id, org_id, format, source, status, started_us, finished_us, lines, accepted, rejected, new_indicators, bytes, detail \
                 FROM imports WHERE id = $1",
                &[id.to_string().into()],
            )
            .await?;
        rows.first().map(import_record).transpose()
    }

    async fn add_feed_rows(
        &self,
        import: &crate::model::ImportRecord,
        at: OffsetDateTime,
        rows: crate::model::FeedRows,
        rejects: &[crate::model::ImportReject],
    ) -> Result<u64> {
        let batch = rows.into_json();
        let mut tx = self.db.begin().await?;
        // The batch: which import wrote these rows, and when. Rows name it by number.
        let batch_n = tx
            .fetch(
                "INSERT INTO feed_batches (import_id, at_us) VALUES ($1, $2) RETURNING n",
                &[import.id.to_string().into(), us(at).into()],
            )
            .await?
            .first()
            .map(|r| r.i64("n"))
            .transpose()?
            .ok_or_else(|| StoreError::Corrupt("no batch number returned".into()))?;
        let upsert = match self.db.backend() {
            Backend::Sqlite => {
                "INSERT INTO feed_sightings (kind, value, sightings, first_batch, last_batch) \
                 SELECT json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]'), json_extract(j.value, '$[2]'), $2, $2 \
                 FROM jsonb_each($1) j WHERE true \
                 ON CONFLICT (kind, value) DO UPDATE SET sightings = feed_sightings.sightings + excluded.sightings, \
                 last_batch = excluded.last_batch"
            }
            Backend::Postgres => {
                "INSERT INTO feed_sightings (kind, value, sightings, first_batch, last_batch) \
                 SELECT j->>0, j->>1, (j->>2)::bigint, $2, $2 FROM jsonb_array_elements($1::jsonb) j \
                 ON CONFLICT (kind, value) DO UPDATE SET sightings = feed_sightings.sightings + excluded.sightings, \
                 last_batch = excluded.last_batch"
            }
        };
        tx.execute(upsert, &[batch.into(), batch_n.into()]).await?;
        // The rows this batch inserted are those it brought first: counted through the index
        // on first_batch (a row per indicator handed back by the upsert costs more).
        let new = tx
            .fetch(
                "SELECT COUNT(*) AS n FROM feed_sightings WHERE first_batch = $1",
                &[batch_n.into()],
            )
            .await?
            .first()
            .map(|r| r.i64("n"))
            .transpose()?
            .unwrap_or(0);
        let new = new.max(0) as u64;
        tx.execute(
            "UPDATE imports SET status = $2, lines = $3, accepted = $4, rejected = $5, new_indicators = $6, bytes = $7 WHERE id = $1",
            &[
                import.id.to_string().into(),
                import.status.clone().into(),
                count(import.lines).into(),
                count(import.accepted).into(),
                count(import.rejected).into(),
                count(import.new_indicators + new).into(),
                count(import.bytes).into(),
            ],
        )
        .await?;
        let kept: Vec<(i64, &str, &str)> = rejects
            .iter()
            .filter(|r| r.n <= crate::model::IMPORT_REJECTS_KEPT)
            .map(|r| (count(r.n), r.place.as_str(), r.reason.as_str()))
            .collect();
        if !kept.is_empty() {
            let sql = match self.db.backend() {
                Backend::Sqlite => {
                    "INSERT INTO import_rejects (import_id, n, place, reason) \
                     SELECT $1, json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]'), json_extract(j.value, '$[2]') \
                     FROM json_each($2) j WHERE true ON CONFLICT DO NOTHING"
                }
                Backend::Postgres => {
                    "INSERT INTO import_rejects (import_id, n, place, reason) \
                     SELECT $1, (j->>0)::bigint, j->>1, j->>2 FROM jsonb_array_elements($2::jsonb) j ON CONFLICT DO NOTHING"
                }
            };
            let json =
                serde_json::to_string(&kept).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            tx.execute(sql, &[import.id.to_string().into(), json.into()])
                .await?;
        }
        tx.commit().await?;
        Ok(new)
    }

    async fn imports_of_org(
        &self,
        org_id: Uuid,
        limit: u32,
    ) -> Result<Vec<crate::model::ImportRecord>> {
        self.db
            .fetch(
                "SELECT id, org_id, format, source, status, started_us, finished_us, lines, accepted, rejected, new_indicators, bytes, detail \
                 FROM imports WHERE org_id = $1 ORDER BY started_us DESC, id DESC LIMIT $2",
                &[org_id.to_string().into(), i64::from(limit).into()],
            )
            .await?
            .iter()
            .map(import_record)
            .collect()
    }

    async fn imports_pending(&self) -> Result<Vec<crate::model::ImportRecord>> {
        self.db
            .fetch(
                "SELECT id, org_id, format, source, status, started_us, finished_us, lines, accepted, rejected, new_indicators, bytes, detail \
                 FROM imports WHERE status IN ('queued', 'running') ORDER BY started_us, id",
                &[],
            )
            .await?
            .iter()
            .map(import_record)
            .collect()
    }

    async fn import_rejects(
        &self,
        id: Uuid,
        after: u64,
        limit: u32,
    ) -> Result<Vec<crate::model::ImportReject>> {
        self.db
            .fetch(
                "SELECT n, place, reason FROM import_rejects WHERE import_id = $1 AND n > $2 ORDER BY n LIMIT $3",
                &[
                    id.to_string().into(),
                    count(after).into(),
                    i64::from(limit).into(),
                ],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(crate::model::ImportReject {
                    n: r.i64("n")?.max(0) as u64,
                    place: r.text("place")?,
                    reason: r.text("reason")?,
                })
            })
            .collect()
    }

    async fn add_import_chunk(&self, id: Uuid, seq: u64, data: Vec<u8>) -> Result<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "INSERT INTO import_chunks (import_id, seq, data) VALUES ($1, $2, $3)",
            &[id.to_string().into(), count(seq).into(), data.into()],
        )
        .await?;
        tx.commit().await
    }

    async fn import_chunk(&self, id: Uuid, seq: u64) -> Result<Option<Vec<u8>>> {
        self.db
            .fetch_optional(
                "SELECT data FROM import_chunks WHERE import_id = $1 AND seq = $2",
                &[id.to_string().into(), count(seq).into()],
            )
            .await?
            .map(|r| r.bytes("data"))
            .transpose()
    }

    async fn drop_import_chunks(&self, id: Uuid) -> Result<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "DELETE FROM import_chunks WHERE import_id = $1",
            &[id.to_string().into()],
        )
        .await?;
        tx.commit().await
    }

    async fn feed_indicator(
        &self,
        kind: &str,
        value: &str,
    ) -> Result<Option<crate::model::FeedIndicator>> {
        let rows = self
            .db
            .fetch(
                "SELECT f.kind, f.value, f.sightings, a.at_us AS first_us, b.at_us AS last_us, i.org_id, \
                 a.import_id AS first_import, b.import_id AS last_import \
                 FROM feed_sightings f \
                 JOIN feed_batches a ON a.n = f.first_batch \
                 JOIN feed_batches b ON b.n = f.last_batch \
                 JOIN imports i ON i.id = a.import_id \
                 WHERE f.kind = $1 AND f.value = $2",
                &[kind.to_owned().into(), value.to_owned().into()],
            )
            .await?;
        let Some(r) = rows.first() else {
            return Ok(None);
        };
        Ok(Some(crate::model::FeedIndicator {
            kind: r.text("kind")?,
            value: r.text("value")?,
            sightings: r.i64("sightings")?.max(0) as u64,
            first_seen: from_us(r.i64("first_us")?)?,
            last_seen: from_us(r.i64("last_us")?)?,
            first_org: row_uuid(r, "org_id")?,
            first_import: row_uuid(r, "first_import")?,
            last_import: row_uuid(r, "last_import")?,
        }))
    }

    async fn put_taxii_status(
        &self,
        id: Uuid,
        org_id: Uuid,
        at: OffsetDateTime,
        body: &str,
    ) -> Result<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "INSERT INTO taxii_statuses (id, org_id, created_us, body) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            &[
                id.to_string().into(),
                org_id.to_string().into(),
                us(at).into(),
                body.to_owned().into(),
            ],
        )
        .await?;
        tx.commit().await
    }

    async fn taxii_status(&self, id: Uuid) -> Result<Option<(Uuid, String)>> {
        let rows = self
            .db
            .fetch(
                "SELECT org_id, body FROM taxii_statuses WHERE id = $1",
                &[id.to_string().into()],
            )
            .await?;
        match rows.first() {
            Some(r) => Ok(Some((row_uuid(r, "org_id")?, r.text("body")?))),
            None => Ok(None),
        }
    }
}
