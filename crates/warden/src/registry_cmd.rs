//! `warden registry import` (RIR delegation files, prefix-to-AS tables, registrar-of-record
//! lists) and `warden attribute`: the resource registry from the command line.

use anyhow::{Context, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::{HashMap, HashSet};
use std::io::BufRead;
use std::path::Path;
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::lifecycle::Event;
use warden_core::org::{Actor, OrgRef};
use warden_core::resources::import::{self, Record};
use warden_core::resources::{ClaimStatus, ResourceClaim, ResourceKind};
use warden_store::{Changeset, Store, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportFormat {
    /// RIR statistics, delegated-extended (`registry|cc|type|start|value|date|status[|opaque-id]`)
    Delegated,
    /// Prefix-to-AS table (`prefix<TAB>length<TAB>asn`)
    Pfx2as,
    /// Registrar of record per domain (`domain,registrar-slug`)
    Registrar,
}

pub struct ImportArgs<'a> {
    pub url: &'a str,
    pub format: ImportFormat,
    pub file: &'a Path,
    pub org: Option<&'a str>,
    pub cc: Option<&'a str>,
    pub opaque_id: Option<&'a str>,
}

const BATCH: usize = 1000;

pub async fn import(a: ImportArgs<'_>) -> Result<()> {
    let store = warden_store::open(a.url).await?;
    let orgs: HashMap<String, OrgRef> = store
        .organisations()
        .await?
        .into_iter()
        .map(|o| (o.value.slug.clone(), o.value.org_ref()))
        .collect();
    let holder = match a.org {
        Some(slug) => Some(
            orgs.get(slug)
                .cloned()
                .ok_or_else(|| anyhow!("--org {slug}: no such organisation"))?,
        ),
        None => None,
    };
    if a.format == ImportFormat::Delegated && holder.is_none() {
        bail!(
            "delegation files do not name holders: give --org SLUG (and --opaque-id or --cc to pick its lines)"
        );
    }
    let existing = store.resource_claims().await?;
    // Claims already in the registry are not imported twice.
    let mut seen: HashSet<(Uuid, ResourceKind, String)> = existing
        .iter()
        .filter(|c| c.value.status != ClaimStatus::Rejected)
        .map(|c| (c.value.org.id, c.value.kind, c.value.value.clone()))
        .collect();
    let asn_holders: HashMap<String, OrgRef> = existing
        .iter()
        .filter(|c| c.value.status == ClaimStatus::Approved && c.value.kind == ResourceKind::Asn)
        .map(|c| (c.value.value.clone(), c.value.org.clone()))
        .collect();
    let source = format!(
        "import:{}",
        a.file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("file")
    );
    let file =
        std::fs::File::open(a.file).with_context(|| format!("cannot open {}", a.file.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = ProgressBar::new(size);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let actor = Actor::system("import");
    let now = OffsetDateTime::now_utc();
    let mut batch: Vec<(Write, Event)> = Vec::with_capacity(BATCH);
    let (mut imported, mut duplicates, mut rejected) = (0usize, 0usize, 0usize);
    let reader = std::io::BufReader::new(file);
    for (n, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", a.file.display()))?;
        bar.inc(line.len() as u64 + 1);
        let lineno = n + 1;
        let records: Result<Vec<(OrgRef, Record)>, String> = match a.format {
            ImportFormat::Delegated => import::delegated(&line).map(|d| {
                d.filter(|d| a.cc.is_none_or(|cc| d.cc.eq_ignore_ascii_case(cc)))
                    .filter(|d| a.opaque_id.is_none_or(|id| d.opaque_id.as_deref() == Some(id)))
                    .map(|d| {
                        d.records
                            .into_iter()
                            .filter_map(|r| holder.clone().map(|h| (h, r)))
                            .collect()
                    })
                    .unwrap_or_default()
            }),
            ImportFormat::Pfx2as => import::pfx2as(&line).and_then(|r| match r {
                None => Ok(vec![]),
                Some(r @ Record::Prefix { asn, .. }) => {
                    let org = holder.clone().or_else(|| {
                        asn.and_then(|x| asn_holders.get(&format!("AS{x}")).cloned())
                    });
                    match org {
                        Some(o) => Ok(vec![(o, r)]),
                        None => Err(format!(
                            "AS{} is claimed by no organisation: import or approve its ASN claim first, or give --org",
                            asn.unwrap_or_default()
                        )),
                    }
                }
                Some(_) => Ok(vec![]),
            }),
            ImportFormat::Registrar => import::registrar(&line).and_then(|r| match r {
                None => Ok(vec![]),
                Some(r @ Record::Sponsored { .. }) => {
                    let Record::Sponsored { registrar, .. } = &r else {
                        return Ok(vec![]);
                    };
                    orgs.get(registrar)
                        .cloned()
                        .map(|o| vec![(o, r.clone())])
                        .ok_or_else(|| format!("registrar {registrar:?} is not a member organisation"))
                }
                Some(_) => Ok(vec![]),
            }),
        };
        let records = match records {
            Ok(r) => r,
            Err(e) => {
                rejected += 1;
                bar.suspend(|| eprintln!("line {lineno}: {e}"));
                continue;
            }
        };
        for (org, r) in records {
            let (kind, value, asn) = match r {
                Record::Prefix { net, asn } => (ResourceKind::Prefix, net, asn),
                Record::Asn(x) => (ResourceKind::Asn, format!("AS{x}"), None),
                Record::Sponsored { domain, .. } => (ResourceKind::SponsoredDomain, domain, None),
            };
            match ResourceClaim::imported(
                &actor,
                Uuid::now_v7(),
                org,
                kind,
                &value,
                None,
                asn,
                None,
                &format!("{source}:{lineno}"),
                now,
            ) {
                Ok((claim, ev)) => {
                    if !seen.insert((claim.org.id, claim.kind, claim.value.clone())) {
                        duplicates += 1;
                        continue;
                    }
                    batch.push((
                        Write::ResourceClaim {
                            claim,
                            expected: None,
                        },
                        ev,
                    ));
                }
                Err(e) => {
                    rejected += 1;
                    bar.suspend(|| eprintln!("line {lineno}: {}", e.message));
                }
            }
        }
        if batch.len() >= BATCH {
            imported += flush(store.as_ref(), &actor, now, &mut batch).await?;
            bar.set_message(format!("{imported} imported"));
        }
    }
    imported += flush(store.as_ref(), &actor, now, &mut batch).await?;
    bar.finish_and_clear();
    println!(
        "{imported} claims imported, {duplicates} already in the registry, {rejected} lines rejected"
    );
    if rejected > 0 {
        bail!("{rejected} lines rejected (listed above); the others were imported");
    }
    Ok(())
}

async fn flush(
    store: &dyn Store,
    actor: &Actor,
    now: OffsetDateTime,
    batch: &mut Vec<(Write, Event)>,
) -> Result<usize> {
    if batch.is_empty() {
        return Ok(0);
    }
    let n = batch.len();
    let (writes, events): (Vec<Write>, Vec<Event>) = batch.drain(..).unzip();
    store
        .commit(Changeset::new(actor.clone(), now, writes, events))
        .await?;
    Ok(n)
}

/// One JSON line per value: who holds it and from what.
pub async fn attribute(url: &str, values: Vec<String>) -> Result<()> {
    let store = warden_store::open(url).await?;
    let registry = warden_service::attribution::Registry::new();
    registry
        .reload(store.as_ref())
        .await
        .map_err(|e| anyhow!("loading the registry: {e}"))?;
    let a = registry.get();
    let mut bad = 0;
    for v in values {
        match warden_core::indicator::Indicator::detect(&v) {
            Ok(ind) => println!(
                "{}",
                serde_json::json!({"value": v, "type": ind.kind(), "normalized": ind.value(), "attribution": a.attribute(&ind)})
            ),
            Err(e) => {
                bad += 1;
                println!(
                    "{}",
                    serde_json::json!({"value": v, "error": e.to_string()})
                );
            }
        }
    }
    if bad > 0 {
        bail!("{bad} value(s) could not be read");
    }
    Ok(())
}
