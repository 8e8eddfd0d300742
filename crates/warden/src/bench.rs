//! `warden bench api`: durable report submissions through the whole stack (HTTP, auth,
//! validation, correlation lookup, core transition, one transaction with the audit chain),
//! measured from a client on the same machine.

use anyhow::{Context as _, Result, bail};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use warden_core::calendar::Calendar;
use warden_core::clock::SystemClock;
use warden_core::org::{Actor, Role};
use warden_core::policy::Policy;

/// The tokens and places a benchmark that drives the lifecycle needs: reports from a member,
/// determined by an analyst, decided by a reviewer, blocks addressed to the member.
#[derive(clap::Args, Clone)]
pub struct Lifecycle {
    /// A member organisation's reporter token (it also looks up)
    #[arg(long, env = "WARDEN_REPORTER_TOKEN", hide_env_values = true)]
    pub reporter: String,
    /// An analyst token of the institution the reports are assigned to
    #[arg(long, env = "WARDEN_ANALYST_TOKEN", hide_env_values = true)]
    pub analyst: String,
    /// A reviewer token of the authority of --province (or MIIT)
    #[arg(long, env = "WARDEN_REVIEWER_TOKEN", hide_env_values = true)]
    pub reviewer: String,
    /// The member organisation the blocks go to (its slug)
    #[arg(long)]
    pub recipient: String,
    /// The province of the reports (the reviewer's jurisdiction)
    #[arg(long, default_value = "44")]
    pub province: String,
}

pub struct ApiBench {
    pub db: Option<String>,
    pub requests: u32,
    pub concurrency: u32,
    pub rate: u32,
    pub seconds: u32,
}

fn body(i: u32) -> String {
    format!(
        r#"{{"category":"malicious_resource","subtype":"phishing_site","title":"Phishing site {i}","description":"Benchmark report","observed_at":"2026-11-01T10:00:00+08:00","province":"44","indicators":[{{"type":"domain","value":"bench-{i}.example.cn"}},{{"type":"url","value":"http://bench-{i}.example.cn/login"}}]}}"#
    )
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// A server started in this process for a benchmark.
pub struct BenchServer {
    pub addr: std::net::SocketAddr,
    pub svc: Arc<warden_service::Service>,
    pub store: Arc<dyn warden_store::Store>,
    /// A token of `org` with `role`.
    pub token: String,
    /// Temporary files (the SQLite database, the master key): removed by the caller.
    pub dir: std::path::PathBuf,
    pub url: String,
}

/// A server in this process on `db` (a fresh SQLite file by default) with the demo world,
/// answering once it is up.
/// POSTs JSON with a bearer token; the answer's JSON, or an error naming the status and body.
pub async fn post(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    body: serde_json::Value,
) -> Result<serde_json::Value> {
    let r = http.post(url).bearer_auth(token).json(&body).send().await?;
    let st = r.status();
    let v: serde_json::Value = r.json().await.unwrap_or(serde_json::Value::Null);
    if !st.is_success() {
        anyhow::bail!("POST {url}: {st} {v}");
    }
    Ok(v)
}

pub async fn start_server(db: Option<String>, org: &str, role: Role) -> Result<BenchServer> {
    let dir = tempfile_dir()?;
    let url = db.unwrap_or_else(|| format!("sqlite://{}/bench.db", dir.display()));
    let store = warden_store::open(&url).await?;
    let now = OffsetDateTime::now_utc();
    warden_service::demo::load(store.as_ref(), now).await?;
    let master = warden_service::keys::MasterKey::load_or_create(&dir.join("master.key"))?;
    let keys = warden_service::keys::KeyRing::new(master);
    keys.ensure_keys(store.as_ref(), now).await?;
    let token = token(store.as_ref(), org, role, now).await?;
    let svc = Arc::new(
        warden_service::Service::builder(
            store.clone(),
            Calendar::builtin()?,
            Policy::builtin()?,
            keys,
        )
        .clock(Arc::new(SystemClock))
        .build(),
    );
    let state = warden_server::AppState::new(svc.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(warden_server::serve(
        listener,
        state,
        std::future::pending(),
    ));
    for _ in 0..100 {
        if reqwest::get(format!("http://{addr}/healthz")).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(BenchServer {
        addr,
        svc,
        store,
        token,
        dir,
        url,
    })
}

/// A new API token of `org` with `role`, labelled "bench".
pub async fn token(
    store: &dyn warden_store::Store,
    org: &str,
    role: Role,
    now: OffsetDateTime,
) -> Result<String> {
    Ok(warden_service::admin::create_token(
        store,
        &Actor::system("bench"),
        now,
        org,
        [role].into_iter().collect(),
        Some("bench".into()),
        None,
    )
    .await?
    .token)
}

pub async fn api(b: ApiBench) -> Result<()> {
    let BenchServer {
        addr,
        token,
        dir,
        url,
        ..
    } = start_server(b.db.clone(), "secco-alpha", Role::Reporter).await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(b.concurrency as usize * 2)
        .build()?;
    let target = format!("http://{addr}/api/v1/reports");
    let backend = if url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!("warden bench api: {backend}, report submissions (each a durable transaction)");

    // Throughput: `concurrency` clients, each submitting as fast as it is answered.
    let next = Arc::new(AtomicU32::new(0));
    let started = Instant::now();
    let mut workers = vec![];
    for _ in 0..b.concurrency {
        let (client, target, token, next) =
            (client.clone(), target.clone(), token.clone(), next.clone());
        let total = b.requests;
        workers.push(tokio::spawn(async move {
            let mut lat = vec![];
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let t = Instant::now();
                let r = client
                    .post(&target)
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body(i))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 201 => lat.push(t.elapsed()),
                    Ok(r) => return Err(format!("status {}", r.status())),
                    Err(e) => return Err(e.to_string()),
                }
            }
            Ok(lat)
        }));
    }
    let mut lat = vec![];
    for w in workers {
        match w.await? {
            Ok(l) => lat.extend(l),
            Err(e) => bail!("a submission failed: {e}"),
        }
    }
    let elapsed = started.elapsed();
    lat.sort();
    println!(
        "throughput: {} submissions, {} clients: {:.0}/s; latency p50 {:.1} ms, p99 {:.1} ms",
        lat.len(),
        b.concurrency,
        lat.len() as f64 / elapsed.as_secs_f64(),
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
    );

    // Latency at a fixed offered rate (open loop: requests start on schedule, whether or not
    // earlier ones have been answered).
    let total = b.rate * b.seconds;
    let interval = Duration::from_secs_f64(1.0 / f64::from(b.rate.max(1)));
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut handles = Vec::with_capacity(total as usize);
    let started = Instant::now();
    for i in 0..total {
        ticker.tick().await;
        let (client, target, token) = (client.clone(), target.clone(), token.clone());
        let n = b.requests + i;
        handles.push(tokio::spawn(async move {
            let t = Instant::now();
            let r = client
                .post(&target)
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(body(n))
                .send()
                .await;
            match r {
                Ok(r) if r.status() == 201 => Ok(t.elapsed()),
                Ok(r) => Err(format!("status {}", r.status())),
                Err(e) => Err(e.to_string()),
            }
        }));
    }
    let mut lat = vec![];
    for h in handles {
        match h.await? {
            Ok(d) => lat.push(d),
            Err(e) => bail!("a submission failed: {e}"),
        }
    }
    let elapsed = started.elapsed();
    lat.sort();
    println!(
        "latency at {} requests/s offered for {} s ({:.0}/s achieved): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        b.rate,
        b.seconds,
        lat.len() as f64 / elapsed.as_secs_f64(),
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

pub(crate) fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("warden-bench-{}", uuid_like()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        OffsetDateTime::now_utc().unix_timestamp_nanos()
    )
}
