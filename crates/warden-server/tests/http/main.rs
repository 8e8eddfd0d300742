//! The real server on port 0, driven over HTTP, on SQLite and on PostgreSQL
//! (`WARDEN_TEST_POSTGRES`): one test binary, a module per area of the platform.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// Each scenario once per backend, as its own test.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::on_sqlite().await).await; })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                match super::on_postgres().await {
                    Some(s) => super::$name(s).await,
                    None => eprintln!("WARDEN_TEST_POSTGRES is unset: PostgreSQL not tested"),
                }
            })*
        }
    };
}

mod api;
mod appeals;
mod audit;
mod blocklists;
mod cases;
mod common;
mod console;
mod imports;
mod inquiries;
mod notices;
mod organisations;
mod people;
mod registry;
mod sharing;
mod taxii;
