//! `warden bench import`: a generated mixed feed (IPv4 50%, domains 25%, URLs 20%, IPv6 5%;
//! 10% repeats; messy case and whitespace) parsed, normalised, de-duplicated and persisted
//! by the same pipeline as `warden import`, into a fresh database.

use anyhow::Result;
use std::io::Write as _;
use std::time::Instant;
use time::OffsetDateTime;
use warden_match::synth::Rng;
use warden_service::imports::{self, Input};
use warden_store::ImportRecord;

fn value(i: u64) -> String {
    // The same i always gives the same value, so repeats are exact repeats.
    let a = (i.wrapping_mul(2_654_435_761) % 0xD000_0000) as u32 + 0x0100_0000;
    match i % 20 {
        0..=9 => std::net::Ipv4Addr::from(a).to_string(),
        10..=14 => format!("Host-{i}.Evil-Feed{}.COM", i % 977),
        15..=18 => format!(
            "http://cdn{}.bad-feed{}.net/path/{i}/Index.php?id={i}",
            i % 13,
            i % 1013
        ),
        _ => format!("2001:DB8:{:x}::{:x}", i >> 16, i & 0xffff),
    }
}

pub async fn run(lines: u64, db: Option<String>) -> Result<()> {
    let dir = crate::bench::tempfile_dir()?;
    let path = dir.join("feed.txt");
    let mut rng = Rng::new(20261130);
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&path)?);
        let distinct = lines - lines / 10;
        for n in 0..lines {
            // One line in ten repeats an earlier value.
            let i = if n % 10 == 9 {
                rng.below(distinct.max(1))
            } else {
                n - n / 10
            };
            let v = value(i);
            match n % 4 {
                0 => writeln!(w, "{v}")?,
                1 => writeln!(w, "  {v}\t")?,
                2 => writeln!(w, "{}", v.to_uppercase().replace("HTTP://", "http://"))?,
                _ => writeln!(w, " {v} ")?,
            }
        }
    }
    let size = std::fs::metadata(&path)?.len();
    let url = db.unwrap_or_else(|| format!("sqlite://{}/bench.db", dir.display()));
    let store = warden_store::open(&url).await?;
    warden_service::demo::load(store.as_ref(), OffsetDateTime::now_utc()).await?;
    let org = store
        .organisation_by_slug("secco-alpha")
        .await?
        .map(|o| o.value.id)
        .ok_or_else(|| anyhow::anyhow!("the demo world has no secco-alpha"))?;
    println!(
        "warden bench import: {lines} lines ({:.1} MiB; IPv4 50%, domains 25%, URLs 20%, IPv6 5%, 10% repeats, messy case and whitespace) into {url}",
        size as f64 / (1 << 20) as f64
    );
    let file = std::fs::File::open(&path)?;
    let t = Instant::now();
    let mut rejected = vec![];
    let rec = imports::run(
        store.as_ref(),
        ImportRecord::start(org, "plain", "bench", OffsetDateTime::now_utc()),
        Input::Lines(
            warden_interop::feed::Format::Plain,
            std::io::BufReader::with_capacity(1 << 20, file),
        ),
        OffsetDateTime::now_utc,
        |r| rejected.push(r.clone()),
        |_| {},
    )
    .await?;
    let secs = t.elapsed().as_secs_f64();
    println!("{}", imports::summary(&rec, secs));
    if let Some(r) = rejected.first() {
        println!("first reject: {}: {}", r.place, r.reason);
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
