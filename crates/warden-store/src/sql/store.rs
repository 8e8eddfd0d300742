//! The SQL backends' store: a database pool and the committer every write goes through.

use super::codec;
use super::committer::{GROUP, Pending, group_committer};
use crate::db::{Arg, Db};
use crate::error::Result;
use crate::model::Versioned;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

pub struct SqlStore {
    pub(super) db: Db,
    /// The group committer (always present; an Option so a direct path stays available).
    pub(super) committer: Option<mpsc::Sender<Pending>>,
}

impl SqlStore {
    pub fn new(db: Db) -> Self {
        // Both backends serialise commits on the audit chain's head row, so each commit
        // waiting for the previous one's fsync would cap throughput at the disk's fsync
        // rate; grouping them pays one fsync per group.
        let (tx, rx) = mpsc::channel::<Pending>(4 * GROUP);
        tokio::spawn(group_committer(db.clone(), rx));
        let committer = Some(tx);
        SqlStore { db, committer }
    }
}

impl SqlStore {
    pub(super) async fn one<T: DeserializeOwned>(
        &self,
        kind: &str,
        sql: &'static str,
        args: &[Arg],
    ) -> Result<Option<Versioned<T>>> {
        self.db
            .fetch_optional(sql, args)
            .await?
            .map(|r| codec::versioned(kind, &r))
            .transpose()
    }

    pub(super) async fn many<T: DeserializeOwned>(
        &self,
        kind: &str,
        sql: &'static str,
        args: &[Arg],
    ) -> Result<Vec<Versioned<T>>> {
        self.db
            .fetch(sql, args)
            .await?
            .iter()
            .map(|r| codec::versioned(kind, r))
            .collect()
    }
}
