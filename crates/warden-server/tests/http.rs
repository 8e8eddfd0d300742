//! The real server on port 0, driven over HTTP.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use time::macros::datetime;
use warden_core::clock::FixedClock;
use warden_server::{AppState, HealthResponse, Problem};

async fn start() -> (String, tokio::sync::oneshot::Sender<()>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = warden_store::open(&format!("sqlite://{}/w.db", dir.path().display()))
        .await
        .unwrap();
    let state = AppState {
        store,
        clock: Arc::new(FixedClock::new(datetime!(2026-09-28 10:00 +8))),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(warden_server::serve(listener, state, async move {
        let _ = rx.await;
    }));
    (format!("http://{addr}"), tx, dir)
}

#[tokio::test]
async fn healthz_reports_the_database() {
    let (base, _stop, _dir) = start().await;
    let r = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(r.status(), 200);
    let h: HealthResponse = r.json().await.unwrap();
    assert_eq!(h.status, "ok");
    assert!(h.database.reachable);
    assert_eq!(h.database.schema_version, Some(2));
    assert_eq!(h.time, "2026-09-28T02:00:00Z");
}

#[tokio::test]
async fn unknown_paths_are_problems() {
    let (base, _stop, _dir) = start().await;
    let r = reqwest::get(format!("{base}/nope")).await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let p: Problem = r.json().await.unwrap();
    assert!(p.kind.ends_with("/not-found"));
    assert!(p.detail.contains("/nope"));
}
