//! The little that differs between SQLite and PostgreSQL, behind one enum: pools,
//! transactions, argument binding and row decoding. The SQL itself is shared (`$N`
//! placeholders, which both accept).

use crate::error::{Result, StoreError};
use crate::model::Backend;
use sqlx::postgres::{PgArguments, PgPool, PgRow, Postgres};
use sqlx::query::Query;
use sqlx::sqlite::{Sqlite, SqliteArguments, SqlitePool, SqliteRow};
use sqlx::{Row as _, Transaction};

#[derive(Debug, Clone)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

#[derive(Debug, Clone)]
pub enum Arg {
    I64(i64),
    Text(String),
    OptI64(Option<i64>),
    OptText(Option<String>),
    Bytes(Vec<u8>),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::I64(v)
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(v)
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(v.to_owned())
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::OptI64(v)
    }
}
impl From<Vec<u8>> for Arg {
    fn from(v: Vec<u8>) -> Self {
        Arg::Bytes(v)
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::OptText(v)
    }
}

/// A column of values for one multi-row statement (PostgreSQL's `UNNEST($1::bigint[], …)`):
/// a group's rows go to the server in one round trip instead of one each.
#[derive(Debug, Clone)]
pub enum Column {
    I64(Vec<Option<i64>>),
    Text(Vec<Option<String>>),
}

impl Column {
    /// The columns of `rows` (rows of scalar arguments, all of one shape, as the first):
    /// integers as `bigint[]`, text as `text[]`.
    pub fn all(rows: &[Vec<Arg>]) -> Result<Vec<Column>> {
        let width = rows.first().map_or(0, Vec::len);
        (0..width).map(|i| Column::of(rows, i)).collect()
    }

    fn of(rows: &[Vec<Arg>], index: usize) -> Result<Column> {
        let cells = rows.iter().map(|r| {
            r.get(index)
                .ok_or_else(|| StoreError::Corrupt(format!("a row without column {index}")))
        });
        let mixed = |a: &Arg| StoreError::Corrupt(format!("column {index} mixes types: {a:?}"));
        match rows.first().and_then(|r| r.get(index)) {
            Some(Arg::I64(_) | Arg::OptI64(_)) => cells
                .map(|c| match c? {
                    Arg::I64(v) => Ok(Some(*v)),
                    Arg::OptI64(v) => Ok(*v),
                    other => Err(mixed(other)),
                })
                .collect::<Result<_>>()
                .map(Column::I64),
            _ => cells
                .map(|c| match c? {
                    Arg::Text(v) => Ok(Some(v.clone())),
                    Arg::OptText(v) => Ok(v.clone()),
                    other => Err(mixed(other)),
                })
                .collect::<Result<_>>()
                .map(Column::Text),
        }
    }
}

/// A statement with whole columns bound as arrays.
fn bind_columns(sql: &'static str, columns: Vec<Column>) -> Query<'static, Postgres, PgArguments> {
    columns.into_iter().fold(sqlx::query(sql), |q, c| match c {
        Column::I64(v) => q.bind(v),
        Column::Text(v) => q.bind(v),
    })
}

pub enum Row {
    Sqlite(SqliteRow),
    Postgres(PgRow),
}

impl Row {
    /// The value of `column`, by its name in the query.
    fn get<T>(&self, column: &str) -> Result<T>
    where
        T: for<'r> sqlx::Decode<'r, Sqlite>
            + sqlx::Type<Sqlite>
            + for<'r> sqlx::Decode<'r, Postgres>
            + sqlx::Type<Postgres>,
    {
        match self {
            Row::Sqlite(r) => r.try_get(column),
            Row::Postgres(r) => r.try_get(column),
        }
        .map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    pub fn i64(&self, column: &str) -> Result<i64> {
        self.get(column)
    }

    pub fn text(&self, column: &str) -> Result<String> {
        self.get(column)
    }

    pub fn opt_i64(&self, column: &str) -> Result<Option<i64>> {
        self.get(column)
    }

    pub fn bytes(&self, column: &str) -> Result<Vec<u8>> {
        self.get(column)
    }

    pub fn opt_text(&self, column: &str) -> Result<Option<String>> {
        self.get(column)
    }
}

fn bind_sqlite<'q>(
    mut q: Query<'q, Sqlite, SqliteArguments>,
    args: &[Arg],
) -> Query<'q, Sqlite, SqliteArguments> {
    for a in args {
        q = match a.clone() {
            Arg::I64(v) => q.bind(v),
            Arg::Text(v) => q.bind(v),
            Arg::OptI64(v) => q.bind(v),
            Arg::OptText(v) => q.bind(v),
            Arg::Bytes(v) => q.bind(v),
        };
    }
    q
}

fn bind_pg<'q>(
    mut q: Query<'q, Postgres, PgArguments>,
    args: &[Arg],
) -> Query<'q, Postgres, PgArguments> {
    for a in args {
        q = match a.clone() {
            Arg::I64(v) => q.bind(v),
            Arg::Text(v) => q.bind(v),
            Arg::OptI64(v) => q.bind(v),
            Arg::OptText(v) => q.bind(v),
            Arg::Bytes(v) => q.bind(v),
        };
    }
    q
}

/// Maps driver errors: unique violations become `Duplicate`, a write refused by a read-only
/// transaction (a read-only node, a hot standby) `ReadOnly`, the rest `Unavailable`.
pub fn db_err(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(d) = &e {
        if d.is_unique_violation() {
            return StoreError::Duplicate {
                kind: "row",
                id: d.message().to_owned(),
            };
        }
        // read_only_sql_transaction
        if d.code().as_deref() == Some("25006") {
            return StoreError::ReadOnly;
        }
    }
    StoreError::Unavailable(e.to_string())
}

impl Db {
    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// A write transaction. SQLite takes its write lock up front (BEGIN IMMEDIATE) so two
    /// writers queue instead of failing mid-way when one upgrades a read lock.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await.map_err(db_err)?),
            Db::Postgres(p) => Tx::Postgres(p.begin().await.map_err(db_err)?),
        })
    }

    pub async fn fetch(&self, sql: &'static str, args: &[Arg]) -> Result<Vec<Row>> {
        Ok(match self {
            Db::Sqlite(p) => bind_sqlite(sqlx::query(sql), args)
                .fetch_all(p)
                .await
                .map_err(db_err)?
                .into_iter()
                .map(Row::Sqlite)
                .collect(),
            Db::Postgres(p) => bind_pg(sqlx::query(sql), args)
                .fetch_all(p)
                .await
                .map_err(db_err)?
                .into_iter()
                .map(Row::Postgres)
                .collect(),
        })
    }

    /// A query over whole columns bound as arrays (PostgreSQL only).
    pub async fn fetch_columns(&self, sql: &'static str, columns: Vec<Column>) -> Result<Vec<Row>> {
        match self {
            Db::Sqlite(_) => Err(StoreError::Unavailable(
                "array parameters are PostgreSQL's; SQLite reads row by row".into(),
            )),
            Db::Postgres(p) => Ok(bind_columns(sql, columns)
                .fetch_all(p)
                .await
                .map_err(db_err)?
                .into_iter()
                .map(Row::Postgres)
                .collect()),
        }
    }

    pub async fn fetch_optional(&self, sql: &'static str, args: &[Arg]) -> Result<Option<Row>> {
        Ok(self.fetch(sql, args).await?.into_iter().next())
    }
}

impl Tx {
    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }

    pub async fn execute(&mut self, sql: &'static str, args: &[Arg]) -> Result<u64> {
        Ok(match self {
            Tx::Sqlite(t) => bind_sqlite(sqlx::query(sql), args)
                .execute(&mut **t)
                .await
                .map_err(db_err)?
                .rows_affected(),
            Tx::Postgres(t) => bind_pg(sqlx::query(sql), args)
                .execute(&mut **t)
                .await
                .map_err(db_err)?
                .rows_affected(),
        })
    }

    pub async fn fetch(&mut self, sql: &'static str, args: &[Arg]) -> Result<Vec<Row>> {
        Ok(match self {
            Tx::Sqlite(t) => bind_sqlite(sqlx::query(sql), args)
                .fetch_all(&mut **t)
                .await
                .map_err(db_err)?
                .into_iter()
                .map(Row::Sqlite)
                .collect(),
            Tx::Postgres(t) => bind_pg(sqlx::query(sql), args)
                .fetch_all(&mut **t)
                .await
                .map_err(db_err)?
                .into_iter()
                .map(Row::Postgres)
                .collect(),
        })
    }

    /// One statement over whole columns bound as arrays (PostgreSQL only; SQLite, whose
    /// statements cost no round trip, writes row by row).
    pub async fn execute_columns(
        &mut self,
        sql: &'static str,
        columns: Vec<Column>,
    ) -> Result<u64> {
        match self {
            Tx::Sqlite(_) => Err(StoreError::Unavailable(
                "array parameters are PostgreSQL's; SQLite writes row by row".into(),
            )),
            Tx::Postgres(t) => Ok(bind_columns(sql, columns)
                .execute(&mut **t)
                .await
                .map_err(db_err)?
                .rows_affected()),
        }
    }

    /// `COPY … FROM STDIN` of rows in text format (PostgreSQL only); answers the rows taken.
    pub async fn copy_in(&mut self, statement: &str, data: Vec<u8>) -> Result<u64> {
        match self {
            Tx::Sqlite(_) => Err(StoreError::Unavailable(
                "COPY is PostgreSQL's; SQLite loads row by row".into(),
            )),
            Tx::Postgres(t) => {
                let mut copy = t.copy_in_raw(statement).await.map_err(db_err)?;
                if let Err(e) = copy.send(data).await {
                    let _ = copy.abort(e.to_string()).await;
                    return Err(db_err(e));
                }
                copy.finish().await.map_err(db_err)
            }
        }
    }

    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
        }
        .map_err(db_err)
    }

    pub async fn rollback(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.rollback().await,
            Tx::Postgres(t) => t.rollback().await,
        }
        .map_err(db_err)
    }
}
