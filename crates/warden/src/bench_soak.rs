//! `warden bench soak`: the mix of a national day against running nodes for a long time —
//! reports and the decisions that follow some of them, lookups one by one and in batches,
//! blocklist deltas and the odd full export, TAXII polling, API and console reads — offered at
//! a fixed rate whatever the answers (open loop), spread over the nodes in turn. Prints the
//! errors and memory as it goes, then the latency percentiles per route and the memory of the
//! nodes over the run.

use anyhow::{Context as _, Result, bail};
use reqwest::header::{COOKIE, HeaderValue};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `warden bench soak`'s options.
#[derive(clap::Args)]
pub struct SoakArgs {
    /// The nodes (or one proxy), comma-separated; requests go to each in turn
    #[arg(long, value_delimiter = ',', default_value = "http://127.0.0.1:8080")]
    url: Vec<String>,
    /// The reporter also looks up, exports and polls TAXII; --recipient should be its own
    /// organisation, so that its deltas carry the blocks decided
    #[command(flatten)]
    actors: crate::bench::Lifecycle,
    /// A person of the reporter's organisation, for the console's pages (password in
    /// WARDEN_PASSWORD)
    #[arg(long)]
    user: Option<String>,
    #[arg(long, env = "WARDEN_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// Requests per second offered
    #[arg(long, default_value_t = 100)]
    rate: u32,
    /// Length of the run
    #[arg(long, default_value_t = 1800)]
    seconds: u64,
    /// Node processes whose resident memory is sampled, comma-separated (same machine)
    #[arg(long, value_delimiter = ',')]
    pid: Vec<u32>,
    /// Seconds between progress lines and memory samples
    #[arg(long, default_value_t = 60)]
    every: u64,
}

impl SoakArgs {
    pub fn into_soak(self) -> Result<Soak> {
        let user = match (self.user, self.password) {
            (Some(u), Some(p)) => Some((u, p)),
            (Some(_), None) => bail!("--user needs the password in WARDEN_PASSWORD"),
            _ => None,
        };
        Ok(Soak {
            urls: self.url,
            actors: self.actors,
            user,
            rate: self.rate,
            seconds: self.seconds,
            pids: self.pid,
            every: self.every,
        })
    }
}

pub struct Soak {
    /// The nodes (or one proxy); requests go to each in turn.
    pub urls: Vec<String>,
    pub actors: crate::bench::Lifecycle,
    /// A person of the reporter's organisation, for the console's pages.
    pub user: Option<(String, String)>,
    /// Requests per second offered.
    pub rate: u32,
    pub seconds: u64,
    /// Node processes whose resident memory is sampled (on this machine).
    pub pids: Vec<u32>,
    /// Seconds between progress lines.
    pub every: u64,
}

/// The routes of the mix, with their share per thousand requests.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Route {
    Report,
    Decision,
    LookupOne,
    LookupBatch,
    Delta,
    FullExport,
    Taxii,
    CaseList,
    CasePage,
    Notices,
    ConsoleHome,
    ConsoleCase,
}

const MIX: [(Route, u32); 12] = [
    (Route::Report, 150),
    (Route::Decision, 20),
    (Route::LookupOne, 150),
    (Route::LookupBatch, 240),
    (Route::Delta, 100),
    (Route::FullExport, 1),
    (Route::Taxii, 100),
    (Route::CaseList, 50),
    (Route::CasePage, 50),
    (Route::Notices, 49),
    (Route::ConsoleHome, 45),
    (Route::ConsoleCase, 45),
];

impl Route {
    fn label(self) -> &'static str {
        match self {
            Route::Report => "POST /reports",
            Route::Decision => "determination + decision (blocks a domain)",
            Route::LookupOne => "GET /lookup",
            Route::LookupBatch => "POST /lookup (100 values)",
            Route::Delta => "GET /blocklists/rpz?since= (delta)",
            Route::FullExport => "GET /blocklists/rpz (full)",
            Route::Taxii => "TAXII blocks, added_after",
            Route::CaseList => "GET /cases",
            Route::CasePage => "GET /cases/{id}",
            Route::Notices => "GET /notices",
            Route::ConsoleHome => "console home",
            Route::ConsoleCase => "console case page",
        }
    }

    fn console(self) -> bool {
        matches!(self, Route::ConsoleHome | Route::ConsoleCase)
    }
}

/// A thousand slots in a fixed shuffled order, each naming a route by its share; routes of
/// the console fall back to API reads without a console user.
fn schedule(console: bool) -> Vec<Route> {
    let mut slots = vec![];
    for (r, n) in MIX {
        let r = match (r.console(), console) {
            (true, false) => Route::CasePage,
            _ => r,
        };
        slots.extend(std::iter::repeat_n(r, n as usize));
    }
    // A fixed permutation (xorshift) so that no route comes in bursts.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in (1..slots.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        slots.swap(i, (x % (i as u64 + 1)) as usize);
    }
    slots
}

/// What the run has seen so far.
#[derive(Default)]
struct Seen {
    latency: HashMap<Route, Vec<Duration>>,
    errors: HashMap<Route, u64>,
    /// The first error messages, to say what went wrong.
    messages: Vec<String>,
    /// Requests not sent because too many were still unanswered (the nodes fell behind).
    backlog: u64,
}

struct Shared {
    http: reqwest::Client,
    s: Soak,
    cookie: Option<String>,
    /// Cases made by this run's reports, for reads and decisions.
    cases: Mutex<Vec<String>>,
    /// Cases waiting for a decision.
    undecided: Mutex<Vec<(String, String)>>,
    /// Domains this run listed, for lookups that hit.
    listed: Mutex<Vec<String>>,
    serial: AtomicI64,
    taxii_after: Mutex<String>,
    seq: AtomicU64,
    seen: Mutex<Seen>,
    run: i64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn node(&self, n: u64) -> &str {
        let urls = &self.s.urls;
        urls[(n as usize) % urls.len()].trim_end_matches('/')
    }

    fn pick(v: &Mutex<Vec<String>>, n: u64) -> Option<String> {
        let v = lock(v);
        // Mostly the recent ones, as a day's reads are.
        let len = v.len() as u64;
        (len > 0).then(|| v[(len - 1 - (n % len.min(200))) as usize].clone())
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<reqwest::Response> {
        let r = req.send().await?;
        let st = r.status();
        if !st.is_success() {
            let body = r.text().await.unwrap_or_default();
            bail!("{st} {}", body.chars().take(200).collect::<String>());
        }
        Ok(r)
    }

    async fn json(&self, req: reqwest::RequestBuilder) -> Result<Value> {
        Ok(self.send(req).await?.json().await?)
    }

    /// One request of `route` through node `n`.
    async fn one(&self, route: Route, n: u64) -> Result<()> {
        let node = self.node(n);
        let api = format!("{node}/api/v1");
        let h = &self.http;
        let rep = &self.s.actors.reporter;
        match route {
            Route::Report => {
                let value = format!("s{n}-{}.soak-bench.cn", self.run);
                let v = self
                    .json(h.post(format!("{api}/reports")).bearer_auth(rep).json(&json!({
                        "category": "malicious_resource", "subtype": "phishing_site",
                        "title": format!("Soak report {n}"), "description": "A national day's report",
                        "observed_at": "2026-11-01T00:00:00Z", "province": self.s.actors.province,
                        "indicators": [{"type": "domain", "value": value},
                                       {"type": "url", "value": format!("http://{value}/login")}]})))
                    .await?;
                let case = v["case_id"].as_str().unwrap_or_default().to_owned();
                lock(&self.cases).push(case.clone());
                lock(&self.undecided).push((case, value));
            }
            Route::Decision => {
                let Some((case, value)) = lock(&self.undecided).pop() else {
                    return Ok(());
                };
                let c = format!("{api}/cases/{case}");
                self.json(
                    h.post(format!("{c}/determination"))
                        .bearer_auth(&self.s.actors.analyst)
                        .json(&json!({"verdict": "confirmed", "severity": "high",
                                      "rationale": "Confirmed phishing"})),
                )
                .await?;
                self.json(
                    h.post(format!("{c}/decision"))
                        .bearer_auth(&self.s.actors.reviewer)
                        .json(&json!({"outcome": "approved", "reasons": "Block the phishing domain",
                            "measures": [{"kind": "block", "target": {"type": "domain", "value": value},
                                          "recipient_org": self.s.actors.recipient}]})),
                )
                .await?;
                lock(&self.listed).push(value);
            }
            Route::LookupOne => {
                let value = Self::pick(&self.listed, n)
                    .filter(|_| n.is_multiple_of(2))
                    .unwrap_or_else(|| format!("unlisted-{n}.example.com"));
                self.json(
                    h.get(format!("{api}/lookup?value={}", enc(&value)))
                        .bearer_auth(rep),
                )
                .await?;
            }
            Route::LookupBatch => {
                let listed = lock(&self.listed)
                    .iter()
                    .rev()
                    .take(50)
                    .cloned()
                    .collect::<Vec<_>>();
                let mut values: Vec<String> = listed;
                let mut k = 0;
                while values.len() < 100 {
                    values.push(format!("host{k}-{n}.example.net"));
                    k += 1;
                }
                self.json(
                    h.post(format!("{api}/lookup"))
                        .bearer_auth(rep)
                        .json(&json!({ "values": values })),
                )
                .await?;
            }
            Route::Delta | Route::FullExport => {
                let mut req = h.get(format!("{api}/blocklists/rpz")).bearer_auth(rep);
                if route == Route::Delta {
                    req = h
                        .get(format!(
                            "{api}/blocklists/rpz?since={}",
                            self.serial.load(Ordering::Relaxed)
                        ))
                        .bearer_auth(rep);
                }
                let r = self.send(req).await?;
                let serial = r
                    .headers()
                    .get("x-warden-serial")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i64>().ok());
                r.bytes().await?;
                if let Some(s) = serial {
                    self.serial.fetch_max(s, Ordering::Relaxed);
                }
            }
            Route::Taxii => {
                let after = lock(&self.taxii_after).clone();
                let r = self
                    .send(
                        h.get(format!(
                            "{node}/taxii2/members/collections/blocks/objects/?added_after={}&limit=100",
                            enc(&after)
                        ))
                            .header("Accept", "application/taxii+json;version=2.1")
                            .bearer_auth(rep),
                    )
                    .await?;
                let last = r
                    .headers()
                    .get("x-taxii-date-added-last")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                r.bytes().await?;
                if let Some(l) = last {
                    let mut a = lock(&self.taxii_after);
                    if l > *a {
                        *a = l;
                    }
                }
            }
            Route::CaseList => {
                self.json(h.get(format!("{api}/cases?limit=50")).bearer_auth(rep))
                    .await?;
            }
            Route::CasePage => {
                if let Some(id) = Self::pick(&self.cases, n) {
                    self.json(h.get(format!("{api}/cases/{id}")).bearer_auth(rep))
                        .await?;
                }
            }
            Route::Notices => {
                self.json(h.get(format!("{api}/notices?limit=50")).bearer_auth(rep))
                    .await?;
            }
            Route::ConsoleHome | Route::ConsoleCase => {
                let path = match (route, Self::pick(&self.cases, n)) {
                    (Route::ConsoleCase, Some(id)) => format!("/console/cases/{id}"),
                    _ => "/console/".to_owned(),
                };
                let cookie = self.cookie.as_deref().unwrap_or_default();
                let r = self
                    .send(h.get(format!("{node}{path}")).header(
                        COOKIE,
                        HeaderValue::from_str(cookie).unwrap_or(HeaderValue::from_static("")),
                    ))
                    .await?;
                r.bytes().await?;
            }
        }
        Ok(())
    }
}

use crate::bench_reads::url_encode as enc;

fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Nearest-rank percentile of sorted durations.
fn rank(d: &[Duration], p: f64) -> Duration {
    if d.is_empty() {
        return Duration::ZERO;
    }
    let k = ((p * d.len() as f64).ceil() as usize).clamp(1, d.len()) - 1;
    d[k]
}

/// The most requests left unanswered at once before new ones are counted as backlog.
const MAX_IN_FLIGHT: usize = 2_048;

pub async fn run(s: Soak) -> Result<()> {
    if s.urls.is_empty() {
        bail!("--url names no node");
    }
    if s.rate == 0 || s.seconds == 0 {
        bail!("--rate and --seconds must be at least 1");
    }
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()?;
    let cookie = match &s.user {
        Some((u, p)) => Some(
            crate::bench_reads::console_session(&http, s.urls[0].trim_end_matches('/'), u, p)
                .await
                .context("signing in to the console")?,
        ),
        None => None,
    };
    // A follower starts from a full list and its serial, then asks for what changed since.
    let first = http
        .get(format!(
            "{}/api/v1/blocklists/rpz",
            s.urls[0].trim_end_matches('/')
        ))
        .bearer_auth(&s.actors.reporter)
        .send()
        .await
        .context("the first full export")?;
    if !first.status().is_success() {
        bail!("the first full export answered {}", first.status());
    }
    let serial: i64 = first
        .headers()
        .get("x-warden-serial")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .context("the full export named no serial")?;
    first.bytes().await?;
    let slots = schedule(cookie.is_some());
    let start_after = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    println!(
        "warden bench soak: {}/s for {} s over {} ({}), memory of {:?}",
        s.rate,
        s.seconds,
        s.urls.join(", "),
        if cookie.is_some() {
            "API and console"
        } else {
            "API only"
        },
        s.pids
    );
    let shared = Arc::new(Shared {
        http,
        cookie,
        cases: Mutex::new(vec![]),
        undecided: Mutex::new(vec![]),
        listed: Mutex::new(vec![]),
        serial: AtomicI64::new(serial),
        taxii_after: Mutex::new(start_after),
        seq: AtomicU64::new(0),
        seen: Mutex::new(Seen::default()),
        run: time::OffsetDateTime::now_utc().unix_timestamp(),
        s,
    });
    let in_flight = Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
    let total = shared.s.seconds * u64::from(shared.s.rate);
    let interval = Duration::from_secs_f64(1.0 / f64::from(shared.s.rate));
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut memory: Vec<(f64, Vec<Option<u64>>)> = vec![];
    let mut next_report = Duration::ZERO;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        ticker.tick().await;
        if started.elapsed() >= next_report {
            let sample: Vec<Option<u64>> = shared.s.pids.iter().map(|p| rss_kib(*p)).collect();
            let (done, errors, backlog) = {
                let seen = lock(&shared.seen);
                (
                    seen.latency.values().map(Vec::len).sum::<usize>(),
                    seen.errors.values().sum::<u64>(),
                    seen.backlog,
                )
            };
            println!(
                "{:>6.0} s: {done} answered, {errors} errors, {backlog} not sent, {} in flight, RSS MiB {}",
                started.elapsed().as_secs_f64(),
                MAX_IN_FLIGHT - in_flight.available_permits(),
                sample
                    .iter()
                    .map(|k| k.map_or("-".into(), |k| format!("{:.0}", k as f64 / 1024.0)))
                    .collect::<Vec<_>>()
                    .join(" / ")
            );
            memory.push((started.elapsed().as_secs_f64(), sample));
            next_report += Duration::from_secs(shared.s.every.max(1));
        }
        while tasks.try_join_next().is_some() {}
        let route = slots[(i % slots.len() as u64) as usize];
        let Ok(permit) = in_flight.clone().try_acquire_owned() else {
            lock(&shared.seen).backlog += 1;
            continue;
        };
        let sh = shared.clone();
        tasks.spawn(async move {
            let n = sh.seq.fetch_add(1, Ordering::Relaxed);
            let t = Instant::now();
            let r = sh.one(route, n).await;
            let took = t.elapsed();
            let mut seen = lock(&sh.seen);
            match r {
                Ok(()) => seen.latency.entry(route).or_default().push(took),
                Err(e) => {
                    *seen.errors.entry(route).or_default() += 1;
                    if seen.messages.len() < 10 {
                        seen.messages.push(format!("{}: {e:#}", route.label()));
                    }
                }
            }
            drop(permit);
        });
    }
    while tasks.join_next().await.is_some() {}
    let elapsed = started.elapsed().as_secs_f64();
    memory.push((elapsed, shared.s.pids.iter().map(|p| rss_kib(*p)).collect()));
    let mut seen = lock(&shared.seen);
    let answered: usize = seen.latency.values().map(Vec::len).sum();
    let errors: u64 = seen.errors.values().sum();
    println!(
        "\n{answered} answered in {elapsed:.0} s ({:.0}/s), {errors} errors, {} not sent (more than {MAX_IN_FLIGHT} in flight)\n",
        answered as f64 / elapsed,
        seen.backlog
    );
    println!(
        "| route | answered | p50 | p90 | p99 | max | errors |\n|---|---|---|---|---|---|---|"
    );
    for (route, _) in MIX {
        let errs = seen.errors.get(&route).copied().unwrap_or(0);
        let Some(lat) = seen.latency.get_mut(&route) else {
            if errs > 0 {
                println!("| {} | 0 | | | | | {errs} |", route.label());
            }
            continue;
        };
        lat.sort();
        println!(
            "| {} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {errs} |",
            route.label(),
            lat.len(),
            ms(rank(lat, 0.5)),
            ms(rank(lat, 0.9)),
            ms(rank(lat, 0.99)),
            ms(rank(lat, 1.0)),
        );
    }
    if !shared.s.pids.is_empty() {
        // Memory: after the first tenth (caches and pools warm), then at the end.
        let warm = memory
            .iter()
            .find(|(t, _)| *t >= elapsed / 10.0)
            .or(memory.first());
        println!(
            "\n| node pid | RSS at start | after warm-up | max | at end |\n|---|---|---|---|---|"
        );
        for (k, pid) in shared.s.pids.iter().enumerate() {
            let at = |m: Option<&(f64, Vec<Option<u64>>)>| {
                m.and_then(|(_, v)| v.get(k).copied().flatten())
                    .map_or("-".into(), |kib| format!("{:.0} MiB", kib as f64 / 1024.0))
            };
            let max = memory
                .iter()
                .filter_map(|(_, v)| v.get(k).copied().flatten())
                .max()
                .map_or("-".into(), |kib| format!("{:.0} MiB", kib as f64 / 1024.0));
            println!(
                "| {pid} | {} | {} | {max} | {} |",
                at(memory.first()),
                at(warm),
                at(memory.last())
            );
        }
    }
    for m in &seen.messages {
        println!("error: {m}");
    }
    if errors > 0 || seen.backlog > 0 {
        bail!("{errors} errors, {} requests not sent", seen.backlog);
    }
    Ok(())
}
