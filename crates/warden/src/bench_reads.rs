//! `warden bench reads`: the reads a national day is made of, each under concurrent load
//! against a running server (one node or a proxy in front of several), as p50/p99 per route.

use anyhow::{Context as _, Result, bail};
use reqwest::header::{COOKIE, HeaderMap, HeaderValue, SET_COOKIE};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Reads {
    pub url: String,
    pub token: String,
    /// A person of the same organisation as the token, for the console's pages.
    pub user: Option<(String, String)>,
    pub clients: u32,
    pub seconds: u32,
    /// Only the routes whose label contains this.
    pub only: Option<String>,
    /// Not the routes whose label contains one of these (comma-separated).
    pub skip: Option<String>,
}

async fn get_json(c: &reqwest::Client, url: &str, token: &str) -> Result<serde_json::Value> {
    let r = c.get(url).bearer_auth(token).send().await?;
    if !r.status().is_success() {
        bail!("GET {url}: {}", r.status());
    }
    Ok(r.json().await?)
}

fn ids(v: &serde_json::Value, key: &str) -> Vec<String> {
    v.get("items")
        .and_then(|i| i.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.get(key).and_then(|s| s.as_str()).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Signs in to the console; answers the cookies of the session.
pub(crate) async fn console_session(
    c: &reqwest::Client,
    base: &str,
    user: &str,
    pw: &str,
) -> Result<String> {
    let cookies = |h: &HeaderMap| -> Vec<String> {
        h.get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next().map(str::to_owned))
            .collect()
    };
    let page = c.get(format!("{base}/console/login")).send().await?;
    let jar = cookies(page.headers());
    let html = page.text().await?;
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .context("no csrf field on the login page")?
        .to_owned();
    let r = c
        .post(format!("{base}/console/login"))
        .header(COOKIE, jar.join("; "))
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(format!(
            "username={}&password={}&csrf={}",
            url_encode(user),
            url_encode(pw),
            url_encode(&csrf)
        ))
        .send()
        .await?;
    let session = cookies(r.headers());
    if session.is_empty() {
        bail!("console sign-in as {user} failed ({})", r.status());
    }
    Ok(session.join("; "))
}

struct Route {
    label: String,
    urls: Vec<String>,
    console: bool,
}

pub async fn run(b: Reads) -> Result<()> {
    let base = b.url.trim_end_matches('/').to_owned();
    let api = format!("{base}/api/v1");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(b.clients as usize * 2)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(120))
        .build()?;
    // What the routes will ask for: cases, notices and listed values from the server itself.
    let cases = get_json(&client, &format!("{api}/cases?limit=200"), &b.token).await?;
    let case_ids = ids(&cases, "id");
    let notices = get_json(&client, &format!("{api}/notices?limit=200"), &b.token).await?;
    let notice_ids = ids(&notices, "id");
    if case_ids.is_empty() || notice_ids.is_empty() {
        bail!("the server shows this token no cases or no notices: seed the database first");
    }
    let mut values = vec![];
    for id in case_ids.iter().take(40) {
        let c = get_json(&client, &format!("{api}/cases/{id}"), &b.token).await?;
        if let Some(a) = c.pointer("/indicators").and_then(|v| v.as_array()) {
            values.extend(
                a.iter()
                    .filter_map(|i| i.get("value").and_then(|v| v.as_str()))
                    .take(5)
                    .map(url_encode),
            );
        }
    }
    // Keyset paging: the first twenty pages of the case list, followed once to learn their
    // cursors, then each asked for again under load.
    let mut deep = vec![format!("{api}/cases?limit=50")];
    let mut page = get_json(&client, &deep[0], &b.token).await?;
    while deep.len() < 20 {
        let Some(n) = page.get("next").and_then(|n| n.as_str()) else {
            break;
        };
        let u = format!("{api}/cases?limit=50&cursor={}", url_encode(n));
        page = get_json(&client, &u, &b.token).await?;
        deep.push(u);
    }
    let pick = |v: &[String], n: usize| -> Vec<String> { v.iter().take(n).cloned().collect() };
    let mut routes = vec![
        Route {
            label: "case list, first page".into(),
            urls: vec![format!("{api}/cases?limit=50")],
            console: false,
        },
        Route {
            label: "case list, pages 1-20 by cursor".into(),
            urls: deep,
            console: false,
        },
        Route {
            label: "case list, status=decided&province=44".into(),
            urls: vec![format!("{api}/cases?limit=50&status=decided&province=44")],
            console: false,
        },
        Route {
            label: "case list, status=assigned (rare)".into(),
            urls: vec![format!("{api}/cases?limit=50&status=assigned")],
            console: false,
        },
        Route {
            label: "case list, category=incident&province=54 (small)".into(),
            urls: vec![format!(
                "{api}/cases?limit=50&category=incident&province=54"
            )],
            console: false,
        },
        Route {
            label: "case list, from/to one month a year ago".into(),
            urls: vec![format!(
                "{api}/cases?limit=50&from={}&to={}",
                url_encode(&rfc3339(365)),
                url_encode(&rfc3339(335))
            )],
            console: false,
        },
        Route {
            label: "case page".into(),
            urls: pick(&case_ids, 200)
                .iter()
                .map(|id| format!("{api}/cases/{id}"))
                .collect(),
            console: false,
        },
        Route {
            label: "notice list".into(),
            urls: vec![format!("{api}/notices?limit=50")],
            console: false,
        },
        Route {
            label: "notice page".into(),
            urls: pick(&notice_ids, 200)
                .iter()
                .map(|id| format!("{api}/notices/{id}"))
                .collect(),
            console: false,
        },
        Route {
            label: "compliance".into(),
            urls: vec![format!("{api}/compliance")],
            console: false,
        },
        Route {
            label: "timeliness".into(),
            urls: vec![format!("{api}/stats/timeliness?group_by=province")],
            console: false,
        },
        Route {
            label: "timeliness by organisation".into(),
            urls: vec![format!("{api}/stats/timeliness?group_by=org")],
            console: false,
        },
        Route {
            label: "timeliness by category, one year".into(),
            urls: vec![format!(
                "{api}/stats/timeliness?group_by=category&from=2025-12-01T00:00:00%2B08:00&to=2026-12-01T00:00:00%2B08:00"
            )],
            console: false,
        },
        Route {
            label: "audit page".into(),
            urls: vec![format!("{api}/audit?limit=50")],
            console: false,
        },
        Route {
            label: "lookup, one value".into(),
            urls: values
                .iter()
                .map(|v| format!("{api}/lookup?value={v}"))
                .collect(),
            console: false,
        },
        Route {
            label: "TAXII public root".into(),
            urls: vec![format!("{base}/taxii2/public/")],
            console: false,
        },
        Route {
            label: "TAXII blocks collection, first page".into(),
            urls: vec![format!(
                "{base}/taxii2/members/collections/blocks/objects/?limit=100"
            )],
            console: false,
        },
        Route {
            label: "TAXII threats collection, first page".into(),
            urls: vec![format!(
                "{base}/taxii2/members/collections/threats/objects/?limit=100"
            )],
            console: false,
        },
    ];
    let mut cookie = None;
    if let Some((user, pw)) = &b.user {
        cookie = Some(console_session(&client, &base, user, pw).await?);
        for (label, path) in [
            ("console home", "/console/"),
            ("console dashboard", "/console/dashboard"),
            ("console compliance", "/console/compliance"),
            ("console case list", "/console/cases"),
        ] {
            routes.push(Route {
                label: label.into(),
                urls: vec![format!("{base}{path}")],
                console: true,
            });
        }
        routes.push(Route {
            label: "console case page".into(),
            urls: pick(&case_ids, 100)
                .iter()
                .map(|id| format!("{base}/console/cases/{id}"))
                .collect(),
            console: true,
        });
    }
    println!(
        "warden bench reads: {} clients, {} s per route, against {base}",
        b.clients, b.seconds
    );
    println!("| route | requests/s | p50 | p99 | max | errors |\n|---|---|---|---|---|---|");
    let token = Arc::new(b.token.clone());
    let cookie = Arc::new(cookie);
    for r in routes {
        if b.only
            .as_ref()
            .is_some_and(|o| !r.label.contains(o.as_str()))
        {
            continue;
        }
        let skipped = b.skip.as_ref().is_some_and(|s| {
            s.split(',')
                .any(|w| !w.is_empty() && r.label.contains(w.trim()))
        });
        if r.urls.is_empty() || skipped {
            continue;
        }
        let urls = Arc::new(r.urls);
        let deadline = Instant::now() + Duration::from_secs(u64::from(b.seconds));
        let started = Instant::now();
        let mut workers = vec![];
        for w in 0..b.clients {
            let (client, urls, token, cookie) =
                (client.clone(), urls.clone(), token.clone(), cookie.clone());
            let console = r.console;
            workers.push(tokio::spawn(async move {
                let mut lat = vec![];
                let mut errors = 0u64;
                let mut i = w as usize;
                while Instant::now() < deadline {
                    let u = &urls[i % urls.len()];
                    i += 1;
                    let t = Instant::now();
                    let mut req = client.get(u);
                    req = match (console, cookie.as_ref()) {
                        (true, Some(c)) => req.header(
                            COOKIE,
                            HeaderValue::from_str(c).unwrap_or(HeaderValue::from_static("")),
                        ),
                        _ => req.bearer_auth(token.as_str()),
                    };
                    if u.contains("/taxii2/") {
                        req = req.header("Accept", "application/taxii+json;version=2.1");
                    }
                    match req.send().await {
                        Ok(resp) if resp.status().is_success() => {
                            let _ = resp.bytes().await;
                            lat.push(t.elapsed());
                        }
                        Ok(_) | Err(_) => errors += 1,
                    }
                }
                (lat, errors)
            }));
        }
        let mut lat = vec![];
        let mut errors = 0;
        for w in workers {
            let (l, e) = w.await?;
            lat.extend(l);
            errors += e;
        }
        let elapsed = started.elapsed().as_secs_f64();
        lat.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "| {} | {:.0} | {:.1} ms | {:.1} ms | {:.1} ms | {errors} |",
            r.label,
            lat.len() as f64 / elapsed,
            ms(crate::bench::percentile(&lat, 0.5)),
            ms(crate::bench::percentile(&lat, 0.99)),
            ms(lat.last().copied().unwrap_or_default()),
        );
    }
    Ok(())
}

fn rfc3339(days_ago: i64) -> String {
    let t = time::OffsetDateTime::now_utc() - time::Duration::days(days_ago);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
