//! Reports, cases, case versions and bulletins.

use super::codec::*;
use super::store::SqlStore;
use crate::error::{Result, StoreError};
use crate::model::*;
use crate::traits::*;
use async_trait::async_trait;
use uuid::Uuid;
use warden_core::indicator::Indicator;
use warden_core::lifecycle::{Case, Report};

#[async_trait]
impl CaseStore for SqlStore {
    async fn report(&self, id: Uuid) -> Result<Option<Versioned<Report>>> {
        self.one(
            "report",
            "SELECT version, body FROM reports WHERE id = $1",
            &[id.to_string().into()],
        )
        .await
    }

    async fn reports_of_case(&self, case_id: Uuid) -> Result<Vec<Versioned<Report>>> {
        self.many(
            "report",
            "SELECT version, body FROM reports WHERE case_id = $1 ORDER BY created_us, id",
            &[case_id.to_string().into()],
        )
        .await
    }

    async fn case(&self, id: Uuid) -> Result<Option<Versioned<Case>>> {
        self.one(
            "case",
            "SELECT version, body FROM cases WHERE id = $1",
            &[id.to_string().into()],
        )
        .await
    }

    async fn cases(
        &self,
        f: &CaseFilter,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<Versioned<Case>>> {
        let limit = limit.clamp(1, 1000);
        let (c_us, c_id) = split_cursor(cursor)?;
        // The reporter's filter is its own statement: a subquery under `$5 IS NULL OR …` is
        // never turned into a join, so it hashed every report of the organisation on every
        // page (20 ms at 41,000 reports); at the top level the planner walks the newest cases
        // for a large reporter and starts from the reports for a small one.
        macro_rules! cases_sql {
            ($reporter:literal) => {
                concat!(
                    "SELECT version, body, created_us, id FROM cases \
                     WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR category = $2) \
                     AND ($3 IS NULL OR province = $3) AND ($4 IS NULL OR assigned_to = $4) ",
                    $reporter,
                    " AND ($6 IS NULL OR created_us >= $6) AND ($7 IS NULL OR created_us < $7) \
                     AND ($8 IS NULL OR created_us < $8 OR (created_us = $8 AND id < $9)) \
                     ORDER BY created_us DESC, id DESC LIMIT $10"
                )
            };
        }
        let sql = if f.reporter_org.is_some() {
            cases_sql!("AND id IN (SELECT case_id FROM reports WHERE reporter_org = $5)")
        } else {
            // $5 is still bound (NULL): both statements take the same arguments.
            cases_sql!("AND $5 IS NULL")
        };
        let rows = self
            .db
            .fetch(
                sql,
                &[
                    f.status.clone().into(),
                    f.category.clone().into(),
                    f.province.clone().into(),
                    f.assigned_to.map(|u| u.to_string()).into(),
                    f.reporter_org.map(|u| u.to_string()).into(),
                    f.opened_from.map(us).into(),
                    f.opened_to.map(us).into(),
                    c_us.into(),
                    c_id.into(),
                    (i64::from(limit) + 1).into(),
                ],
            )
            .await?;
        page_of("case", &rows, limit)
    }

    async fn open_case_matching(&self, indicators: &[Indicator]) -> Result<Option<Uuid>> {
        let best = match self.db.backend() {
            Backend::Postgres => self.newest_open_case_pg(indicators).await?,
            Backend::Sqlite => {
                let mut best: Option<(i64, String)> = None;
                for i in indicators {
                    let row = self
                        .db
                        .fetch_optional(
                            "SELECT c.created_us, c.id FROM case_indicators ci JOIN cases c ON c.id = ci.case_id \
                             WHERE ci.kind = $1 AND ci.value = $2 AND c.status NOT IN ('rejected', 'dismissed') \
                             ORDER BY c.created_us DESC, c.id DESC LIMIT 1",
                            &[i.kind().as_str().into(), i.value().into()],
                        )
                        .await?;
                    if let Some(r) = row {
                        let cand = (r.i64("created_us")?, r.text("id")?);
                        if best.as_ref().is_none_or(|b| cand > *b) {
                            best = Some(cand);
                        }
                    }
                }
                best
            }
        };
        best.map(|(_, id)| {
            id.parse()
                .map_err(|e| StoreError::Corrupt(format!("case id {id}: {e}")))
        })
        .transpose()
    }

    async fn case_versions(
        &self,
        q: &crate::model::CaseVersionQuery,
    ) -> Result<Vec<crate::model::CaseVersion>> {
        use crate::model::VersionSelect as V;
        // One statement per backend and selection: the position is SQLite's rowid, or the
        // sequence PostgreSQL assigns.
        macro_rules! sql {
            ($which:literal) => {
                concat!(
                    "SELECT o.seq, o.version, o.at_us, o.body FROM object_versions o \
                     WHERE o.subject_type = 'case' AND o.seq > $1 AND o.at_us > $2 \
                     AND ($3 = '' OR o.subject_id = $3) ",
                    $which,
                    " ORDER BY o.seq LIMIT $4"
                )
            };
        }
        let sql = match q.versions {
            V::All => sql!(""),
            V::Last => sql!(
                "AND NOT EXISTS (SELECT 1 FROM object_versions n WHERE n.subject_type = 'case' AND n.subject_id = o.subject_id AND n.version > o.version)"
            ),
            V::First => sql!("AND o.version = 1"),
        };
        self.db
            .fetch(
                sql,
                &[
                    q.after.into(),
                    q.added_after.map(us).unwrap_or(i64::MIN).into(),
                    q.case.map(|c| c.to_string()).unwrap_or_default().into(),
                    i64::from(q.limit).into(),
                ],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(crate::model::CaseVersion {
                    position: r.i64("seq")?,
                    version: r.i64("version")?,
                    at: from_us(r.i64("at_us")?)?,
                    case: serde_json::from_str(&r.text("body")?)
                        .map_err(|e| StoreError::Corrupt(format!("case version: {e}")))?,
                })
            })
            .collect()
    }

    async fn bulletins(
        &self,
        kind: warden_core::bulletin::BulletinKind,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<Versioned<warden_core::bulletin::Bulletin>>> {
        let limit = limit.clamp(1, 1000);
        let (c_us, c_id) = split_cursor(cursor)?;
        let rows = self
            .db
            .fetch(
                "SELECT version, body, created_us, id FROM bulletins WHERE kind = $1 \
                 AND ($2 IS NULL OR created_us < $2 OR (created_us = $2 AND id < $3)) \
                 ORDER BY created_us DESC, id DESC LIMIT $4",
                &[
                    kind.as_str().into(),
                    c_us.into(),
                    c_id.into(),
                    (i64::from(limit) + 1).into(),
                ],
            )
            .await?;
        page_of("bulletin", &rows, limit)
    }
}

impl SqlStore {
    /// PostgreSQL: the newest open case of any of the indicators in one statement (an index
    /// range per indicator), so a report costs one round trip here however many it carries.
    async fn newest_open_case_pg(&self, indicators: &[Indicator]) -> Result<Option<(i64, String)>> {
        if indicators.is_empty() {
            return Ok(None);
        }
        let rows = self
            .db
            .fetch_columns(
                "SELECT m.created_us, m.id FROM UNNEST($1::text[], $2::text[]) AS q(k, v) \
                 CROSS JOIN LATERAL (SELECT c.created_us, c.id FROM case_indicators ci JOIN cases c ON c.id = ci.case_id \
                 WHERE ci.kind = q.k AND ci.value = q.v AND c.status NOT IN ('rejected', 'dismissed') \
                 ORDER BY c.created_us DESC, c.id DESC LIMIT 1) m \
                 ORDER BY m.created_us DESC, m.id DESC LIMIT 1",
                indicator_columns(indicators.iter()).into(),
            )
            .await?;
        rows.first()
            .map(|r| Ok((r.i64("created_us")?, r.text("id")?)))
            .transpose()
    }
}
