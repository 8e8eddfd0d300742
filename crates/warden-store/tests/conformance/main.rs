//! The conformance suite: the same scenarios through the `Store` trait on SQLite and on
//! PostgreSQL. PostgreSQL runs when `WARDEN_TEST_POSTGRES` names a database (CI always sets
//! it, and under CI a missing one fails the PostgreSQL half); each test gets a schema of its
//! own. One test binary, a module per concern.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// Each scenario runs once per backend, as its own test.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::sqlite().await).await; })*
        }
        mod on_postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                match super::postgres().await {
                    Some(f) => super::$name(f).await,
                    None => eprintln!("WARDEN_TEST_POSTGRES is unset: PostgreSQL not tested"),
                }
            })*
        }
    };
}

mod blocklist;
mod bulk;
mod common;
mod credentials;
mod imports;
mod jobs;
mod lifecycle;
mod listings;
mod registry;
mod schema;
mod statistics;
