//! `warden bench propagation`: how long a decision taken through one node takes to show in
//! the lookups of the others (several nodes on one database, or read-only nodes on its
//! replicas). Each sample goes through the real lifecycle on the writing node (report,
//! determination, decision blocking a fresh domain); from the decision's answer on, every
//! node is asked about the domain every 2 ms until it says listed. Prints the distribution
//! per node.

use crate::bench::post;
use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

pub struct Propagation {
    /// The node the decisions go through.
    pub write: String,
    /// The nodes whose lookups are timed (the writing node may be one of them).
    pub read: Vec<String>,
    pub actors: crate::bench::Lifecycle,
    pub samples: u32,
}

/// Asks `node` about `value` until it is listed; the time from `from`.
async fn until_listed(
    http: reqwest::Client,
    node: String,
    token: String,
    value: String,
    from: Instant,
) -> Result<Duration> {
    // The generated domains need no escaping.
    let url = format!("{node}/api/v1/lookup?value={value}");
    loop {
        let r = http.get(&url).bearer_auth(&token).send().await?;
        let st = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        if !st.is_success() {
            bail!("GET {url}: {st} {v}");
        }
        if v["listed"] == Value::Bool(true) {
            return Ok(from.elapsed());
        }
        if from.elapsed() > Duration::from_secs(30) {
            bail!("{node} did not list {value} within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub async fn run(b: Propagation) -> Result<()> {
    if b.read.is_empty() {
        bail!("--read names no node");
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let run = time::OffsetDateTime::now_utc().unix_timestamp();
    let write = b.write.trim_end_matches('/');
    let mut seen: Vec<Vec<Duration>> = vec![vec![]; b.read.len()];
    println!(
        "warden bench propagation: {} decisions through {write}, looked up on {}",
        b.samples,
        b.read.join(", ")
    );
    for i in 0..b.samples {
        let value = format!("p{i}-{run}.propagation-bench.cn");
        let rep = post(
            &http,
            &format!("{write}/api/v1/reports"),
            &b.actors.reporter,
            json!({"category": "malicious_resource", "subtype": "c2", "title": "Propagation probe",
                   "description": "A decision timed across nodes", "observed_at": "2026-11-01T00:00:00Z",
                   "province": b.actors.province,
                   "indicators": [{"type": "domain", "value": value}]}),
        )
        .await
        .context("submitting the report")?;
        let case = format!(
            "{write}/api/v1/cases/{}",
            rep["case_id"].as_str().unwrap_or_default()
        );
        post(
            &http,
            &format!("{case}/determination"),
            &b.actors.analyst,
            json!({"verdict": "confirmed", "severity": "high", "rationale": "Confirmed C2"}),
        )
        .await
        .context("determining")?;
        post(
            &http,
            &format!("{case}/decision"),
            &b.actors.reviewer,
            json!({"outcome": "approved", "reasons": "Block the C2 domain",
                   "measures": [{"kind": "block", "target": {"type": "domain", "value": value},
                                 "recipient_org": b.actors.recipient}]}),
        )
        .await
        .context("deciding")?;
        let decided = Instant::now();
        let waits: Vec<_> = b
            .read
            .iter()
            .map(|node| {
                tokio::spawn(until_listed(
                    http.clone(),
                    node.trim_end_matches('/').to_owned(),
                    b.actors.reporter.clone(),
                    value.clone(),
                    decided,
                ))
            })
            .collect();
        for (k, w) in waits.into_iter().enumerate() {
            seen[k].push(w.await??);
        }
    }
    println!("| node | samples | p50 | p90 | p99 | max |\n|---|---|---|---|---|---|");
    for (node, mut d) in b.read.iter().zip(seen) {
        d.sort();
        let at = |p: f64| {
            let k = ((p * d.len() as f64).ceil() as usize).clamp(1, d.len()) - 1;
            ms(d[k])
        };
        println!(
            "| {node} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms |",
            d.len(),
            at(0.5),
            at(0.9),
            at(0.99),
            at(1.0)
        );
    }
    Ok(())
}
