//! `warden bench taxii`: paging a TAXII 2.1 collection of N indicators with the OASIS
//! `taxii2-client`, against Warden and against the OASIS reference server `medallion` holding
//! the same objects; requests per second side by side.

use crate::bench::post;
use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use warden_core::org::Role;

pub struct TaxiiBench {
    pub objects: usize,
    pub page: usize,
    /// A python with taxii2-client and medallion (`scripts/python-env` prints one).
    pub python: String,
    /// Seconds of paging medallion, which can be slow: its rate comes from the pages served.
    pub budget: u64,
}

#[derive(Debug, serde::Deserialize)]
struct Paged {
    requests: u64,
    objects: u64,
    seconds: f64,
}

fn script(name: &str) -> String {
    format!("{}/../../scripts/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Pages a collection; None when `limit` passes first (the process is stopped).
fn page(
    python: &str,
    url: &str,
    user: &str,
    password: &str,
    per: usize,
    extra: &[&str],
    limit: Option<Duration>,
) -> Result<Option<Paged>> {
    let mut child = Command::new(python)
        .arg(script("taxii-page.py"))
        .args([url, user, password, &per.to_string()])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {python}"))?;
    if let Some(limit) = limit {
        let start = Instant::now();
        while child.try_wait()?.is_none() {
            if start.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "taxii-page.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let line = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(line.trim())
        .map(Some)
        .with_context(|| format!("taxii-page.py printed {line:?}"))
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

pub async fn run(b: TaxiiBench) -> Result<()> {
    let server = crate::bench::start_server(None, "cncert", Role::Analyst).await?;
    let base = format!("http://{}", server.addr);
    let store = server.store.clone();
    let now = time::OffsetDateTime::now_utc();
    let mut tok = std::collections::HashMap::new();
    for (org, role) in [
        ("china-telecom", Role::Reporter),
        ("ca-guangdong", Role::Reviewer),
    ] {
        let t = crate::bench::token(store.as_ref(), org, role, now).await?;
        tok.insert(org, t);
    }
    // N blocks through the real lifecycle: decisions of up to 1,000 measures each.
    let http = reqwest::Client::new();
    let t = Instant::now();
    let mut made = 0usize;
    let mut case_no = 0usize;
    while made < b.objects {
        let n = (b.objects - made).min(1000);
        case_no += 1;
        let rep = post(
            &http,
            &format!("{base}/api/v1/reports"),
            &tok["china-telecom"],
            json!({"category": "malicious_resource", "subtype": "c2", "title": "Bot C2 wave",
                   "description": "Seen in sinkhole data", "observed_at": "2026-11-01T00:00:00Z",
                   "province": "44",
                   "indicators": [{"type": "domain", "value": format!("wave-{case_no}.bench-c2.example.cn")}]}),
        )
        .await?;
        let case = format!(
            "{base}/api/v1/cases/{}",
            rep["case_id"].as_str().unwrap_or_default()
        );
        post(
            &http,
            &format!("{case}/determination"),
            &server.token,
            json!({"verdict": "confirmed", "severity": "high", "rationale": "Confirmed C2"}),
        )
        .await?;
        // Public addresses from 2.0.0.0 on: clear of every allow-list.
        let measures: Vec<Value> = (made..made + n)
            .map(|i| {
                let a = 0x0200_0000u32 + i as u32;
                json!({"kind": "block", "target": {"type": "ipv4", "value": std::net::Ipv4Addr::from(a).to_string()},
                       "recipient_org": "china-telecom"})
            })
            .collect();
        post(
            &http,
            &format!("{case}/decision"),
            &tok["ca-guangdong"],
            json!({"outcome": "approved", "reasons": "Block the wave", "measures": measures}),
        )
        .await?;
        made += n;
    }
    println!(
        "warden bench taxii: {} blocks decided in {:.1} s; paging with taxii2-client, {} objects per request",
        made,
        t.elapsed().as_secs_f64(),
        b.page
    );
    let coll = format!(
        "{base}/taxii2/members/collections/{}/",
        warden_interop::ids::collection("blocks")
    );
    let dump = server.dir.join("objects.json");
    let dump_s = dump.display().to_string();
    let w = page(
        &b.python,
        &coll,
        "bench",
        &server.token,
        b.page,
        &["--dump", &dump_s],
        None,
    )?
    .ok_or_else(|| anyhow::anyhow!("paging Warden did not finish"))?;
    if w.objects as usize != made {
        bail!("Warden served {} objects, not {made}", w.objects);
    }
    let wr = w.requests as f64 / w.seconds;
    println!(
        "warden     {:>7} objects {:>5} requests in {:>7.2} s: {:>8.1} requests/s",
        w.objects, w.requests, w.seconds, wr
    );

    // The same objects in medallion's memory backend.
    let objects: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&dump)?)?;
    let port = free_port()?;
    let cid = "91a7b528-80eb-42ed-a74d-c6fbd5a26116";
    let manifest: Vec<Value> = objects
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let added = now + time::Duration::microseconds(i as i64);
            json!({"id": o["id"], "version": o["modified"], "media_type": "application/stix+json;version=2.1",
                   "date_added": warden_interop::taxii::DateAdded(added).to_string()})
        })
        .collect();
    let data = json!({
        "/discovery": {"title": "medallion", "description": "bench", "contact": "bench",
                       "default": format!("http://127.0.0.1:{port}/bench/"),
                       "api_roots": [format!("http://127.0.0.1:{port}/bench/")]},
        "bench": {
            "information": {"title": "bench", "description": "bench",
                            "versions": ["application/taxii+json;version=2.1"], "max_content_length": 104857600},
            "status": [],
            "collections": [{"id": cid, "title": "blocks", "description": "the same objects",
                             "can_read": true, "can_write": false,
                             "media_types": ["application/stix+json;version=2.1"],
                             "objects": objects, "manifest": manifest}]
        }
    });
    let data_path = server.dir.join("medallion-data.json");
    std::fs::write(&data_path, serde_json::to_vec(&data)?)?;
    let config = json!({
        "backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend",
                    "filename": data_path.display().to_string()},
        "users": {"bench": "bench"},
        "taxii": {"max_page_size": b.page}
    });
    let config_path = server.dir.join("medallion.json");
    std::fs::write(&config_path, serde_json::to_vec(&config)?)?;
    let mut child = Command::new(&b.python)
        .args([
            "-m",
            "medallion.scripts.run",
            "--host",
            "127.0.0.1",
            "--port",
        ])
        .arg(port.to_string())
        .arg(&config_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting medallion")?;
    let up = async {
        for _ in 0..600 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }
    .await;
    let m = if up {
        page(
            &b.python,
            &format!("http://127.0.0.1:{port}/bench/collections/{cid}/"),
            "bench",
            "bench",
            b.page,
            &["--budget", &b.budget.to_string()],
            // A first page can take longer than the whole budget: then none was answered.
            Some(Duration::from_secs(b.budget + 5)),
        )
    } else {
        Err(anyhow::anyhow!("medallion did not start"))
    };
    let _ = child.kill();
    let _ = child.wait();
    match m? {
        Some(m) => {
            let mr = m.requests as f64 / m.seconds;
            println!(
                "medallion  {:>7} objects {:>5} requests in {:>7.2} s: {:>8.3} requests/s",
                m.objects, m.requests, m.seconds, mr
            );
            println!("warden / medallion: {:.0}x requests/s", wr / mr);
        }
        None => {
            // Not one page in the budget: its rate is below one request per budget.
            let bound = 1.0 / (b.budget + 5) as f64;
            println!(
                "medallion  answered no request in {} s: below {bound:.4} requests/s",
                b.budget + 5
            );
            println!(
                "warden / medallion: more than {:.0}x requests/s",
                wr / bound
            );
        }
    }
    let _ = std::fs::remove_dir_all(&server.dir);
    Ok(())
}

/// `warden bench taxii-ids`: objects of the threats collection asked for by id, over N
/// confirmed cases: the first request (which reads every case once) and the ones after it.
pub async fn by_id(cases: usize, lookups: usize) -> Result<()> {
    let server = crate::bench::start_server(None, "cncert", Role::Analyst).await?;
    let base = format!("http://{}", server.addr);
    let now = time::OffsetDateTime::now_utc();
    let reporter =
        crate::bench::token(server.store.as_ref(), "china-telecom", Role::Reporter, now).await?;
    let http = reqwest::Client::new();
    let t = Instant::now();
    for n in 0..cases {
        let rep = post(
            &http,
            &format!("{base}/api/v1/reports"),
            &reporter,
            json!({"category": "malicious_resource", "subtype": "c2", "title": "Bot C2",
                   "description": "Seen in sinkhole data", "observed_at": "2026-11-01T00:00:00Z",
                   "province": "44", "tlp": "green",
                   "indicators": [{"type": "domain", "value": format!("c2-{n}.bench-ids.example.cn")}]}),
        )
        .await?;
        let case = rep["case_id"].as_str().unwrap_or_default();
        post(
            &http,
            &format!("{base}/api/v1/cases/{case}/determination"),
            &server.token,
            json!({"verdict": "confirmed", "severity": "high", "rationale": "Confirmed C2"}),
        )
        .await?;
    }
    let made = t.elapsed();
    // The ids, from the collection itself.
    let coll = format!("{base}/taxii2/members/collections/threats/objects/");
    let get = |url: String| {
        http.get(url)
            .bearer_auth(&reporter)
            .header("accept", "application/taxii+json;version=2.1")
            .send()
    };
    let mut ids: Vec<String> = vec![];
    let mut next: Option<String> = None;
    loop {
        let url = match &next {
            Some(n) => format!("{coll}?limit=1000&next={n}"),
            None => format!("{coll}?limit=1000"),
        };
        let page: Value = get(url).await?.json().await?;
        for o in page["objects"].as_array().into_iter().flatten() {
            if o["type"] != "identity" {
                ids.extend(o["id"].as_str().map(str::to_owned));
            }
        }
        match page["next"].as_str() {
            Some(n) if page["more"] == true => next = Some(n.to_owned()),
            _ => break,
        }
    }
    if ids.is_empty() {
        bail!("the threats collection is empty");
    }
    println!(
        "warden bench taxii-ids: {cases} confirmed cases made in {:.1} s, {} objects; each asked for by id",
        made.as_secs_f64(),
        ids.len()
    );
    let mut took = Vec::with_capacity(lookups);
    for i in 0..lookups.max(1) {
        // Spread over the collection, old cases and new.
        let id = &ids[(i * 7919) % ids.len()];
        let t = Instant::now();
        let r = get(format!("{coll}{id}/")).await?;
        let st = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        took.push(t.elapsed());
        if !st.is_success() || body["objects"][0]["id"] != json!(id) {
            bail!("GET {id}: {st} {body}");
        }
    }
    let first = took.remove(0);
    took.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let total: Duration = took.iter().sum();
    println!(
        "first request {:.1} ms; then {} requests: p50 {:.2} ms, p99 {:.2} ms, {:.0} requests/s",
        ms(first),
        took.len(),
        took.get(took.len() / 2).map_or(0.0, |d| ms(*d)),
        took.get(took.len() * 99 / 100).map_or(0.0, |d| ms(*d)),
        took.len() as f64 / total.as_secs_f64().max(1e-9)
    );
    let _ = std::fs::remove_dir_all(&server.dir);
    Ok(())
}
