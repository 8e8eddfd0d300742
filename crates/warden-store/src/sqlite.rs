//! The embedded backend: one SQLite file, WAL, foreign keys on, full fsync on commit.

use crate::db::Db;
use crate::error::{Result, StoreError};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

pub async fn connect(url: &str) -> Result<Db> {
    let bad = |problem: String| StoreError::BadUrl {
        url: url.to_owned(),
        problem,
    };
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    if path.is_empty() {
        return Err(bad("no file path after sqlite://".to_owned()));
    }
    let file = path.split('?').next().unwrap_or(path);
    if let Some(dir) = std::path::Path::new(file).parent()
        && !dir.as_os_str().is_empty()
        && file != ":memory:"
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| bad(format!("cannot create directory {}: {e}", dir.display())))?;
    }
    // A new database file is the owner's alone, whatever the umask: it holds every case, the
    // trail and the sealed keys. (SQLite gives its -wal and -shm files the same mode.)
    #[cfg(unix)]
    if file != ":memory:" && !file.is_empty() && !std::path::Path::new(file).exists() {
        use std::os::unix::fs::OpenOptionsExt as _;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(file)
            .map_err(|e| bad(format!("cannot create {file}: {e}")))?;
    }
    let opts = SqliteConnectOptions::from_str(url)
        .map_err(|e| bad(e.to_string()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a commit is on disk before the response that reports it is sent.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        // Pages are read through a memory map (shared by every connection through the OS page
        // cache) rather than copied in by a read call each: bulk imports and large listings
        // walk indexes far bigger than SQLite's own cache.
        .pragma("mmap_size", "1073741824")
        // Rows cross from SQLite's thread in runs this long before it waits for the reader:
        // large results (exports, TAXII pages, listings) would otherwise switch threads every
        // fifty rows.
        .row_buffer_size(4096)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(opts)
        .await
        .map_err(|e| StoreError::Unavailable(format!("{url}: {e}")))?;
    crate::migrate::migrate(&MIGRATOR, &Db::Sqlite(pool.clone())).await?;
    Ok(Db::Sqlite(pool))
}
