//! Measures and their notices, the job queues over them, appeals and enforcement records.

use super::codec::*;
use super::store::SqlStore;
use crate::error::Result;
use crate::model::*;
use crate::traits::*;
use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::lifecycle::{Appeal, Enforcement, Inquiry, Measure};
use warden_core::notice::SignedNotice;

#[async_trait]
impl NoticeStore for SqlStore {
    async fn measure(&self, id: Uuid) -> Result<Option<Versioned<Measure>>> {
        self.one(
            "measure",
            "SELECT version, body FROM measures WHERE id = $1",
            &[id.to_string().into()],
        )
        .await
    }

    async fn measure_by_notice(&self, notice_id: Uuid) -> Result<Option<Versioned<Measure>>> {
        self.one(
            "measure",
            "SELECT version, body FROM measures WHERE notice_id = $1",
            &[notice_id.to_string().into()],
        )
        .await
    }

    async fn measure_by_reference(&self, reference: &str) -> Result<Option<Versioned<Measure>>> {
        self.one(
            "measure",
            "SELECT version, body FROM measures WHERE reference = $1",
            &[reference.to_ascii_uppercase().into()],
        )
        .await
    }

    async fn measures_of_case(&self, case_id: Uuid) -> Result<Vec<Versioned<Measure>>> {
        self.many(
            "measure",
            "SELECT version, body FROM measures WHERE case_id = $1 ORDER BY created_us, id",
            &[case_id.to_string().into()],
        )
        .await
    }

    async fn measure_counts(
        &self,
        province: Option<&str>,
        recipient: Option<Uuid>,
    ) -> Result<Vec<MeasureCount>> {
        let rows = self
            .db
            .fetch(
                "SELECT t.recipient_org, o.slug, CAST(SUM(t.notices) AS BIGINT) AS notices, \
                 CAST(SUM(t.overdue) AS BIGINT) AS overdue \
                 FROM measure_tallies t JOIN organisations o ON o.id = t.recipient_org \
                 WHERE ($1 IS NULL OR t.province = $1) AND ($2 IS NULL OR t.recipient_org = $2) \
                 GROUP BY t.recipient_org, o.slug HAVING SUM(t.notices) > 0 ORDER BY o.slug",
                &[
                    province.map(str::to_owned).into(),
                    recipient.map(|u| u.to_string()).into(),
                ],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(MeasureCount {
                    recipient_org: row_uuid(r, "recipient_org")?,
                    recipient_slug: r.text("slug")?,
                    notices: u64::try_from(r.i64("notices")?).unwrap_or(0),
                    overdue: u64::try_from(r.i64("overdue")?).unwrap_or(0),
                })
            })
            .collect()
    }

    async fn measures(
        &self,
        f: &MeasureFilter,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<Versioned<Measure>>> {
        let limit = limit.clamp(1, 1000);
        let (c_us, c_id) = split_cursor(cursor)?;
        let rows = self
            .db
            .fetch(
                "SELECT m.version, m.body, m.created_us, m.id FROM measures m JOIN cases c ON c.id = m.case_id \
                 WHERE ($1 IS NULL OR m.recipient_org = $1) AND ($2 IS NULL OR m.deciding_org = $2) \
                 AND ($3 IS NULL OR c.assigned_to = $3) AND ($4 IS NULL OR c.province = $4) \
                 AND ($5 IS NULL OR m.status = $5) AND ($6 IS NULL OR m.overdue = $6) \
                 AND ($7 IS NULL OR m.created_us < $7 OR (m.created_us = $7 AND m.id < $8)) \
                 AND ($10 IS NULL OR c.category = $10) \
                 AND ($11 IS NULL OR m.created_us >= $11) AND ($12 IS NULL OR m.created_us < $12) \
                 AND ($13 IS NULL OR m.status <> 'pending') AND ($14 IS NULL OR m.case_id = $14) \
                 ORDER BY m.created_us DESC, m.id DESC LIMIT $9",
                &[
                    f.recipient_org.map(|u| u.to_string()).into(),
                    f.deciding_org.map(|u| u.to_string()).into(),
                    f.determining_org.map(|u| u.to_string()).into(),
                    f.province.clone().into(),
                    f.status.clone().into(),
                    f.overdue.map(i64::from).into(),
                    c_us.into(),
                    c_id.into(),
                    (i64::from(limit) + 1).into(),
                    f.category.clone().into(),
                    f.decided_from.map(us).into(),
                    f.decided_to.map(us).into(),
                    f.notified_only.then_some(1i64).into(),
                    f.case_id.map(|c| c.to_string()).into(),
                ],
            )
            .await?;
        page_of("measure", &rows, limit)
    }

    async fn measures_past_deadline(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Versioned<Measure>>> {
        self.many(
            "measure",
            "SELECT version, body FROM measures WHERE overdue = 0 \
             AND status IN ('issued', 'delivered', 'acknowledged', 'reopened') \
             AND deadline_us < $1 ORDER BY deadline_us, id LIMIT $2",
            &[us(now).into(), i64::from(limit).into()],
        )
        .await
    }

    async fn reminders_due(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Versioned<Measure>>> {
        self.many(
            "measure",
            "SELECT version, body FROM measures WHERE remind_pending = 1 AND remind_us <= $1 \
             ORDER BY remind_us, id LIMIT $2",
            &[us(now).into(), i64::from(limit).into()],
        )
        .await
    }

    async fn written_notices_overdue(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Versioned<Measure>>> {
        self.many(
            "measure",
            "SELECT version, body FROM measures WHERE written_pending = 1 AND written_due_us < $1 \
             ORDER BY written_due_us, id LIMIT $2",
            &[us(now).into(), i64::from(limit).into()],
        )
        .await
    }

    async fn probes_due(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<Versioned<Measure>>> {
        self.many(
            "measure",
            "SELECT version, body FROM measures WHERE probe_next_us <= $1 \
             ORDER BY probe_next_us, id LIMIT $2",
            &[us(now).into(), i64::from(limit).into()],
        )
        .await
    }

    async fn blocks_due_review(
        &self,
        horizon: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Versioned<Measure>>> {
        self.many(
            "measure",
            "SELECT version, body FROM measures WHERE review_pending = 1 AND expires_us <= $1 \
             ORDER BY expires_us, id LIMIT $2",
            &[us(horizon).into(), i64::from(limit).into()],
        )
        .await
    }

    async fn blocks_expiring(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Versioned<Measure>>> {
        self.many(
            "measure",
            "SELECT version, body FROM measures WHERE block_status = 'active' AND expires_us <= $1 \
             ORDER BY expires_us, id LIMIT $2",
            &[us(now).into(), i64::from(limit).into()],
        )
        .await
    }

    async fn notice(&self, id: Uuid) -> Result<Option<SignedNotice>> {
        Ok(self
            .one::<SignedNotice>(
                "notice",
                "SELECT version, body FROM notices WHERE id = $1",
                &[id.to_string().into()],
            )
            .await?
            .map(|v| v.value))
    }

    async fn notices_of_measure(&self, measure_id: Uuid) -> Result<Vec<SignedNotice>> {
        Ok(self
            .many::<SignedNotice>(
                "notice",
                "SELECT version, body FROM notices WHERE measure_id = $1 ORDER BY created_us, id",
                &[measure_id.to_string().into()],
            )
            .await?
            .into_iter()
            .map(|v| v.value)
            .collect())
    }

    async fn appeal(&self, id: Uuid) -> Result<Option<Versioned<Appeal>>> {
        self.one(
            "appeal",
            "SELECT version, body FROM appeals WHERE id = $1",
            &[id.to_string().into()],
        )
        .await
    }

    async fn appeals_of_measure(&self, measure_id: Uuid) -> Result<Vec<Versioned<Appeal>>> {
        self.many(
            "appeal",
            "SELECT version, body FROM appeals WHERE measure_id = $1 ORDER BY created_us, id",
            &[measure_id.to_string().into()],
        )
        .await
    }

    async fn open_appeals(&self, deciding_org: Uuid, limit: u32) -> Result<Vec<Versioned<Appeal>>> {
        self.many(
            "appeal",
            "SELECT version, body FROM appeals WHERE deciding_org = $1 AND status IN ('filed', 'under_review') \
             ORDER BY reply_due_us, id LIMIT $2",
            &[deciding_org.to_string().into(), i64::from(limit).into()],
        )
        .await
    }

    async fn inquiry(&self, id: Uuid) -> Result<Option<Versioned<Inquiry>>> {
        self.one(
            "inquiry",
            "SELECT version, body FROM inquiries WHERE id = $1",
            &[id.to_string().into()],
        )
        .await
    }

    async fn inquiries(
        &self,
        f: &InquiryFilter,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<Versioned<Inquiry>>> {
        let limit = limit.clamp(1, 1000);
        let (c_us, c_id) = split_cursor(cursor)?;
        let rows = self
            .db
            .fetch(
                "SELECT version, body, created_us, id FROM inquiries \
                 WHERE ($1 IS NULL OR addressee_org = $1) \
                 AND ($2 IS NULL OR authority_org = $2 OR asker_org = $2) \
                 AND ($3 IS NULL OR province = $3) AND ($4 IS NULL OR status = $4) \
                 AND ($5 IS NULL OR overdue = $5) \
                 AND ($6 IS NULL OR created_us < $6 OR (created_us = $6 AND id < $7)) \
                 ORDER BY created_us DESC, id DESC LIMIT $8",
                &[
                    f.addressee_org.map(|u| u.to_string()).into(),
                    f.party_org.map(|u| u.to_string()).into(),
                    f.province.clone().into(),
                    f.status.clone().into(),
                    f.overdue.map(i64::from).into(),
                    c_us.into(),
                    c_id.into(),
                    (i64::from(limit) + 1).into(),
                ],
            )
            .await?;
        page_of("inquiry", &rows, limit)
    }

    async fn inquiries_past_due(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Versioned<Inquiry>>> {
        self.many(
            "inquiry",
            "SELECT version, body FROM inquiries WHERE status = 'open' AND overdue = 0 \
             AND due_us < $1 ORDER BY due_us, id LIMIT $2",
            &[us(now).into(), i64::from(limit).into()],
        )
        .await
    }

    async fn inquiry_holder(&self, kind: &str, value: &str) -> Result<Option<String>> {
        let rows = self
            .db
            .fetch(
                "SELECT holder_org FROM inquiries WHERE subject_kind = $1 AND subject_value = $2 \
                 AND holder_org IS NOT NULL ORDER BY updated_us DESC LIMIT 1",
                &[kind.to_owned().into(), value.to_owned().into()],
            )
            .await?;
        match rows.first() {
            Some(r) => Ok(Some(r.text("holder_org")?)),
            None => Ok(None),
        }
    }

    async fn undecided_appeals(&self) -> Result<Vec<Versioned<Appeal>>> {
        self.many(
            "appeal",
            "SELECT version, body FROM appeals WHERE status IN ('filed', 'under_review') \
             ORDER BY reply_due_us, id",
            &[],
        )
        .await
    }

    async fn enforcement(&self, id: Uuid) -> Result<Option<Versioned<Enforcement>>> {
        self.one(
            "enforcement",
            "SELECT version, body FROM enforcements WHERE id = $1",
            &[id.to_string().into()],
        )
        .await
    }

    async fn enforcements(
        &self,
        org: Option<Uuid>,
        province: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Versioned<Enforcement>>> {
        self.many(
            "enforcement",
            "SELECT version, body FROM enforcements WHERE ($1 IS NULL OR org_id = $1) \
             AND ($2 IS NULL OR province = $2) ORDER BY created_us DESC, id DESC LIMIT $3",
            &[
                org.map(|u| u.to_string()).into(),
                province.map(str::to_owned).into(),
                i64::from(limit.clamp(1, 1000)).into(),
            ],
        )
        .await
    }
}
