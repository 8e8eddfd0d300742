//! `warden bench match` (the matcher, the exports and deltas, in memory) and
//! `warden bench lookup` (the lookup API over HTTP on loopback). Same synthetic data as the
//! criterion benchmarks in `crates/warden-match/benches`.

use anyhow::{Result, bail};
use std::hint::black_box;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};
use warden_core::indicator::{Indicator, IndicatorType};
use warden_match::delta::{Touched, delta_units};
use warden_match::render::{self, Format, Options};
use warden_match::synth::{self, Rng};
use warden_match::{Change, Index, Snapshot};

fn mib(b: usize) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

fn rate(n: usize, d: Duration) -> String {
    let r = n as f64 / d.as_secs_f64();
    if r >= 1e6 {
        format!("{:.2} M/s", r / 1e6)
    } else {
        format!("{:.0} k/s", r / 1e3)
    }
}

fn report(
    name: &str,
    entries: usize,
    build: Duration,
    bytes: usize,
    queries: usize,
    hits: usize,
    took: Duration,
) {
    // A zero build time: the index of the line above, measured again another way.
    let build = if build.is_zero() {
        "     —".to_owned()
    } else {
        format!("{:>6.0}", build.as_secs_f64() * 1e3)
    };
    println!(
        "{name:<22} {entries:>9} entries  build {build} ms  index {:>7.1} MiB  {queries:>9} queries ({:.0}% hits)  {}",
        mib(bytes),
        hits as f64 * 100.0 / queries.max(1) as f64,
        rate(queries, took),
    );
}

/// Builds an index of `entries`, runs every query through `probe` (told the index, the query
/// and a cleared buffer; says whether it hit), and reports.
fn measure<T>(
    name: &str,
    entries: Vec<Arc<warden_match::Entry>>,
    queries: impl IntoIterator<Item = T>,
    mut probe: impl FnMut(&Index, T, &mut Vec<u32>) -> bool,
) -> Index {
    let n = entries.len();
    let t = Instant::now();
    let ix = Index::build(entries);
    let build = t.elapsed();
    let mut out = Vec::with_capacity(8);
    let (mut count, mut hits) = (0usize, 0usize);
    let t = Instant::now();
    for q in queries {
        out.clear();
        count += 1;
        hits += usize::from(probe(&ix, q, &mut out));
    }
    let took = t.elapsed();
    report(
        name,
        n,
        build,
        ix.heap_bytes(),
        count,
        black_box(hits),
        took,
    );
    ix
}

pub fn run(entries: usize, queries: usize) -> Result<()> {
    println!(
        "warden bench match: {entries} entries per kind, {queries} queries (half aimed at listed values), one thread"
    );
    let mut rng = Rng::new(20261129);

    let p4 = synth::ipv4_prefixes(entries, &mut rng);
    let q4 = synth::ipv4_queries(&p4, queries, &mut rng);
    measure(
        "ipv4 longest-prefix",
        synth::ipv4_entries(&p4),
        q4,
        |ix, q, _| !ix.v4(q).is_empty(),
    );

    let p6 = synth::ipv6_prefixes(entries, &mut rng);
    let q6 = synth::ipv6_queries(&p6, queries, &mut rng);
    measure(
        "ipv6 longest-prefix",
        synth::ipv6_entries(&p6),
        q6,
        |ix, q, _| !ix.v6(q).is_empty(),
    );

    let names = synth::domains(entries, &mut rng);
    let ed = synth::domain_entries(&names);
    let qd = Arena::new(synth::domain_queries(&names, queries, &mut rng));
    measure(
        "domain with subdomains",
        ed.clone(),
        qd.iter(),
        |ix, q, out| {
            ix.domain(q, out);
            !out.is_empty()
        },
    );

    for (label, ty) in [
        ("e-mail exact", IndicatorType::Email),
        ("phone exact", IndicatorType::Phone),
        ("sha256 exact", IndicatorType::Sha256),
    ] {
        let vals = synth::exact_values(ty, entries, &mut rng);
        // Queries arrive normalised and side by side in one buffer, as in a request body.
        let q = Arena::new(
            synth::exact_queries(ty, &vals, queries, &mut rng)
                .iter()
                .filter_map(|v| Indicator::parse(ty, v).ok().map(|i| i.value().to_owned())),
        );
        let ix = measure(
            label,
            synth::exact_entries(ty, &vals),
            q.iter(),
            |ix, v, out| {
                ix.lookup_normalized(ty, v, out);
                !out.is_empty()
            },
        );
        if ty == IndicatorType::Sha256 {
            // Batches probe sixteen digests at a time (POST /api/v1/lookup does).
            let mut res = Vec::with_capacity(queries);
            let t = Instant::now();
            ix.digests_many(q.iter(), &mut res);
            let took = t.elapsed();
            let hits = res.iter().filter(|r| r.is_some()).count();
            report(
                "sha256 exact, batched",
                entries,
                Duration::ZERO,
                ix.heap_bytes(),
                res.len(),
                black_box(hits),
                took,
            );
        }
    }

    let urls = synth::urls(entries, &mut rng);
    let qu = synth::url_queries(&urls, (queries / 10).max(1), &mut rng);
    measure(
        "url canonicalise+match",
        synth::url_entries(&urls),
        qu.iter(),
        |ix, q, out| {
            Indicator::parse(IndicatorType::Url, q).is_ok_and(|u| {
                ix.lookup(&u, out);
                !out.is_empty()
            })
        },
    );

    // Attribution: who holds an address, over 1M prefix claims of 10,000 organisations.
    let pa = synth::ipv4_prefixes(entries, &mut rng);
    let holdings: Vec<warden_match::attribution::Holding> = pa
        .iter()
        .enumerate()
        .map(|(i, (a, len))| warden_match::attribution::Holding {
            kind: warden_core::resources::ResourceKind::Prefix,
            value: format!("{}/{len}", std::net::Ipv4Addr::from(*a)),
            range_last: None,
            asn: Some(64_512 + (i % 1000) as u32),
            province: None,
            org_slug: format!("org-{}", i % 10_000),
            claim_id: Some(uuid::Uuid::from_u128(i as u128 + 1)),
            source: "declared".into(),
            at: None,
        })
        .collect();
    let t = Instant::now();
    let attributor = warden_match::attribution::Attributor::build(holdings);
    let build = t.elapsed();
    let nq = (queries / 5).max(1);
    let qa: Vec<Indicator> = synth::ipv4_queries(&pa, nq, &mut rng)
        .iter()
        .filter_map(|a| Indicator::parse(IndicatorType::Ipv4, &a.to_string()).ok())
        .collect();
    let t = Instant::now();
    let mut hits = 0;
    for q in &qa {
        hits += usize::from(attributor.attribute(q).holder.is_some());
    }
    report(
        "attribution (ipv4)",
        entries,
        build,
        attributor.heap_bytes(),
        qa.len(),
        black_box(hits),
        t.elapsed(),
    );

    // Exports: a full RPZ of `entries` domain blocks, then a delta after 100 changes.
    let t = Instant::now();
    let snap = Snapshot::build(ed.clone(), entries as i64);
    let build = t.elapsed();
    let opts = Options::default();
    let t = Instant::now();
    let units = render::units(Format::Rpz, snap.entries().cloned());
    let mut sink = CountingSink(0);
    {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, &mut sink);
        render::full(Format::Rpz, &units, &opts, snap.serial, &mut w, |_| {})?;
        w.flush()?;
    }
    let full = t.elapsed();
    println!(
        "snapshot build          {entries:>9} domain blocks: {:.0} ms; full RPZ export: {:.0} ms, {:.1} MiB",
        build.as_secs_f64() * 1e3,
        full.as_secs_f64() * 1e3,
        mib(sink.0)
    );
    let fresh = synth::domains(50, &mut rng);
    let mut changes = vec![];
    let mut touched = vec![];
    for (i, e) in ed.iter().take(50).enumerate() {
        changes.push(Change::Remove(e.measure_id));
        touched.push(Touched {
            entry: e.clone(),
            listed_then: true,
        });
        let Ok(target) = Indicator::parse(IndicatorType::Domain, &fresh[i]) else {
            bail!("synthetic name {} does not parse", fresh[i]);
        };
        let add = synth::entry(
            (entries + i) as u64,
            target,
            warden_core::indicator::TargetScope::Subdomains,
        );
        changes.push(Change::Add(add.clone()));
        touched.push(Touched {
            entry: add,
            listed_then: false,
        });
    }
    let t = Instant::now();
    let next = snap.apply(&changes, snap.serial + 100);
    let applied = t.elapsed();
    let t = Instant::now();
    let (removed, added) = delta_units(Format::Rpz, &next, &touched, &|_| true);
    let mut buf = vec![];
    render::delta(
        Format::Rpz,
        &removed,
        &added,
        &opts,
        snap.serial,
        next.serial,
        &mut buf,
    )?;
    let delta = t.elapsed();
    println!(
        "delta after 100 changes: applied to the matcher in {:.2} ms; RPZ delta ({} removed, {} added) in {:.2} ms",
        applied.as_secs_f64() * 1e3,
        removed.len(),
        added.len(),
        delta.as_secs_f64() * 1e3
    );
    Ok(())
}

/// Query values in one contiguous buffer, as they sit in a request body.
struct Arena {
    text: String,
    ends: Vec<u32>,
}

impl Arena {
    fn new<S: AsRef<str>>(values: impl IntoIterator<Item = S>) -> Arena {
        let mut text = String::new();
        let mut ends = vec![];
        for v in values {
            text.push_str(v.as_ref());
            ends.push(text.len() as u32);
        }
        Arena { text, ends }
    }

    fn iter(&self) -> impl Iterator<Item = &str> {
        let mut start = 0usize;
        self.ends.iter().map(move |e| {
            let s = &self.text[start..*e as usize];
            start = *e as usize;
            s
        })
    }
}

struct CountingSink(usize);

impl Write for CountingSink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0 += b.len();
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub struct LookupBench {
    pub entries: usize,
    pub clients: u32,
    pub seconds: u32,
    pub batch: usize,
}

/// The lookup API over HTTP: a server in this process on a fresh SQLite database, its matcher
/// loaded with synthetic domain and IPv4 blocks.
pub async fn lookup(b: LookupBench) -> Result<()> {
    let server =
        crate::bench::start_server(None, "china-telecom", warden_core::org::Role::Responder)
            .await?;
    let mut rng = Rng::new(7);
    let names = synth::domains(b.entries / 2, &mut rng);
    let p4 = synth::ipv4_prefixes(b.entries / 2, &mut rng);
    let mut entries = synth::domain_entries(&names);
    entries.extend(synth::ipv4_entries(&p4));
    let qd = synth::domain_queries(&names, 100_000, &mut rng);
    let q4 = synth::ipv4_queries(&p4, 100_000, &mut rng);
    let queries: Arc<Vec<String>> = Arc::new(
        qd.into_iter()
            .zip(q4)
            .flat_map(|(d, a)| [d, a.to_string()])
            .collect(),
    );
    server
        .svc
        .install_blocklist(Snapshot::build(entries, 0))
        .await;
    let (token, dir) = (server.token.clone(), server.dir.clone());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(b.clients as usize * 2)
        .build()?;
    let base = format!("http://{}", server.addr);
    println!(
        "warden bench lookup: {} listed (domains and IPv4), {} clients, {} s per run",
        b.entries, b.clients, b.seconds
    );
    for batch in [1usize, b.batch] {
        let deadline = Instant::now() + Duration::from_secs(u64::from(b.seconds));
        let mut workers = vec![];
        for w in 0..b.clients {
            let (client, base, token, queries) =
                (client.clone(), base.clone(), token.clone(), queries.clone());
            workers.push(tokio::spawn(async move {
                let mut lat = vec![];
                let mut i = (w as usize * 7919) % queries.len();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let r = if batch == 1 {
                        let q = &queries[i % queries.len()];
                        i += 1;
                        // Synthetic names and addresses need no percent-encoding.
                        client
                            .get(format!("{base}/api/v1/lookup?value={q}"))
                            .bearer_auth(&token)
                            .send()
                            .await
                    } else {
                        let vals: Vec<&String> = (0..batch)
                            .map(|k| &queries[(i + k) % queries.len()])
                            .collect();
                        i += batch;
                        client
                            .post(format!("{base}/api/v1/lookup"))
                            .bearer_auth(&token)
                            .json(&serde_json::json!({ "values": vals }))
                            .send()
                            .await
                    };
                    match r {
                        Ok(r) if r.status() == 200 => {
                            let _ = r.bytes().await;
                            lat.push(t.elapsed());
                        }
                        Ok(r) => return Err(format!("status {}", r.status())),
                        Err(e) => return Err(e.to_string()),
                    }
                }
                Ok(lat)
            }));
        }
        let started = Instant::now();
        let mut lat = vec![];
        for w in workers {
            match w.await? {
                Ok(l) => lat.extend(l),
                Err(e) => bail!("a lookup failed: {e}"),
            }
        }
        let elapsed = started.elapsed();
        lat.sort();
        let reqs = lat.len() as f64 / elapsed.as_secs_f64();
        println!(
            "{}: {:.0} requests/s ({:.0} values/s), p50 {:.2} ms, p99 {:.2} ms",
            if batch == 1 {
                "GET  single value ".to_owned()
            } else {
                format!("POST batch of {batch}")
            },
            reqs,
            reqs * batch as f64,
            crate::bench::percentile(&lat, 0.5).as_secs_f64() * 1e3,
            crate::bench::percentile(&lat, 0.99).as_secs_f64() * 1e3,
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
