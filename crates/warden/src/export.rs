//! `warden export` and `warden lookup`: the blocklist straight from the database, for
//! enforcers that pull files and for scripts.

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
use std::path::PathBuf;
use warden_core::org::Actor;
use warden_core::policy::Policy;
use warden_service::blocklist::Blocklist;
use warden_service::exports::{prepare_export, rpz_options};
use warden_service::filters::ExportFilter;
use warden_service::proto::{ExportQuery, LookupBatchRequest, LookupValue};

pub struct ExportArgs {
    pub url: String,
    pub format: String,
    pub out: Option<PathBuf>,
    pub recipient: Option<String>,
    pub since: Option<i64>,
    pub kind: Option<String>,
}

pub async fn export(a: ExportArgs, policy: &Policy) -> Result<()> {
    let store = warden_store::open(&a.url).await?;
    let blocklist = Blocklist::new();
    blocklist
        .load(store.as_ref())
        .await
        .map_err(|e| anyhow::anyhow!("loading the blocklist: {e}"))?;
    let q = ExportFilter::try_from(ExportQuery {
        recipient: a.recipient,
        since: a.since,
        kind: a.kind,
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let export = prepare_export(
        store.as_ref(),
        &blocklist,
        rpz_options(&policy.national().blocklists),
        &Actor::system("export"),
        &a.format,
        &q,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let n = export.len() as u64;
    let serial = export.serial;
    match &a.out {
        Some(path) => {
            // Written beside the target and renamed: a reader never sees half a list.
            let tmp = path.with_extension("partial");
            let file = std::fs::File::create(&tmp)
                .with_context(|| format!("cannot create {}", tmp.display()))?;
            let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
            let bar = ProgressBar::new(n);
            bar.set_style(
                ProgressStyle::with_template("{bar:40} {pos}/{len} entries {per_sec} {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let bar2 = bar.clone();
            tokio::task::spawn_blocking(move || -> Result<()> {
                export.write(&mut w, |k| bar2.inc(k as u64))?;
                w.flush()?;
                w.get_ref().sync_all()?;
                Ok(())
            })
            .await??;
            bar.finish_and_clear();
            std::fs::rename(&tmp, path)
                .with_context(|| format!("cannot move the export to {}", path.display()))?;
            eprintln!(
                "{} entries, serial {serial}, written to {}",
                n,
                path.display()
            );
        }
        None => {
            tokio::task::spawn_blocking(move || -> Result<()> {
                let stdout = std::io::stdout();
                let mut w = std::io::BufWriter::new(stdout.lock());
                export.write(&mut w, |_| {})?;
                w.flush()?;
                Ok(())
            })
            .await??;
        }
    }
    Ok(())
}

/// Prints one JSON result per value; exits non-zero when a value is malformed.
pub async fn lookup(url: &str, values: Vec<String>) -> Result<()> {
    let store = warden_store::open(url).await?;
    let blocklist = Blocklist::new();
    blocklist
        .load(store.as_ref())
        .await
        .map_err(|e| anyhow::anyhow!("loading the blocklist: {e}"))?;
    let snap = blocklist.snapshot();
    let req = LookupBatchRequest {
        values: values.into_iter().map(LookupValue::Text).collect(),
    };
    let out = warden_service::lookups::lookup_in(&snap, &req);
    let mut bad = 0;
    for r in &out.results {
        println!("{}", serde_json::to_string(r)?);
        if r.error.is_some() {
            bad += 1;
        }
    }
    if bad > 0 {
        bail!("{bad} value(s) could not be read");
    }
    Ok(())
}
