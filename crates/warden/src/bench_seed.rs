//! `warden bench seed`: the national-scale data set the read and start-up benchmarks run on.

use anyhow::Result;
use std::sync::Arc;
use std::time::Instant;
use warden_service::keys::{KeyRing, MasterKey};
use warden_service::seed::{SeedPlan, SeedProgress};

pub struct Seed {
    pub url: String,
    pub calendar: warden_core::calendar::Calendar,
    pub policy: warden_core::policy::Policy,
    pub master: MasterKey,
    pub plan: SeedPlan,
}

pub async fn run(s: Seed) -> Result<()> {
    let store = warden_store::open(&s.url).await?;
    let service = warden_service::service::Service::builder(
        store,
        s.calendar,
        s.policy,
        KeyRing::new(s.master),
    )
    .build();
    let plan = s.plan;
    let shown = warden_store::redact_url(&s.url);
    println!(
        "warden bench seed: {} organisations, {} cases, {} blocks in force, {} years, into {shown}",
        plan.orgs, plan.cases, plan.blocks, plan.years
    );
    let started = Instant::now();
    let last = Arc::new(std::sync::Mutex::new(Instant::now()));
    let report = move |p: &SeedProgress| {
        let mut l = last.lock().unwrap_or_else(|e| e.into_inner());
        if l.elapsed().as_secs() >= 10 {
            *l = Instant::now();
            println!(
                "  {:>6.0} s: {} cases, {} measures ({} blocks in force), {} audit entries",
                started.elapsed().as_secs_f64(),
                p.cases,
                p.measures,
                p.active_blocks,
                p.audit_entries
            );
        }
    };
    let p = service.seed(&plan, &report).await?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "done in {secs:.0} s: {} organisations, {} people, {} cases, {} reports, {} measures ({} blocks in force), {} notices, {} appeals, {} audit entries ({:.0} audit entries/s)",
        p.orgs,
        p.people,
        p.cases,
        p.reports,
        p.measures,
        p.active_blocks,
        p.notices,
        p.appeals,
        p.audit_entries,
        p.audit_entries as f64 / secs
    );
    Ok(())
}
