//! Background jobs over the persistent `jobs` table: each run is claimed with a lease, so
//! with several servers on one database a job runs on one of them at a time, and a job lost
//! with a crashed server is taken over when its lease expires. Deadlines live in the
//! database, so nothing is lost on restart.

use crate::error::ServiceError;
use crate::service::Service;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;
use warden_core::lifecycle::{EnforcementReason, MeasureCommand};
use warden_core::org::Actor;
use warden_store::{Changeset, StoreError, Write};

pub const DEADLINES: &str = "deadlines";
pub const EXPIRY: &str = "expiry";
pub const PROBES: &str = "probes";
pub const CHECKPOINT: &str = "audit-checkpoint";

/// How often the audit chain's head is signed.
pub const CHECKPOINT_INTERVAL: Duration = Duration::minutes(10);

/// How often each job becomes due.
pub const INTERVAL: Duration = Duration::seconds(30);
const LEASE: Duration = Duration::minutes(5);
const BATCH: u32 = 200;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct JobReport {
    /// Notices marked overdue, each with an enforcement record.
    pub overdue: usize,
    /// Emergency notices whose written form was not delivered in time.
    pub written_overdue: usize,
    /// Reminders sent before a deadline.
    pub reminded: usize,
    /// Appeal reply deadlines counted again under a newer calendar.
    pub recounted: usize,
    /// Look-up requests (Art. 9) not answered by their time limit.
    pub inquiries_overdue: usize,
    /// Blocks that reached their expiry.
    pub expired: usize,
    /// Blocks put up for re-review before they expire.
    pub reviews: usize,
    /// Repeating verification probes run.
    pub probes: usize,
    /// Audit checkpoints signed.
    pub checkpoints: usize,
    /// Jobs this call ran (0 when another server held them or they were not due).
    pub ran: usize,
}

/// Runs every job that is due and not held elsewhere.
pub async fn run_due(svc: &Service, owner: &str) -> Result<JobReport, ServiceError> {
    let mut report = JobReport::default();
    let now = svc.now();
    if svc
        .store
        .claim_job(DEADLINES, owner, now, now + LEASE)
        .await?
    {
        report.ran += 1;
        report.overdue = mark_overdue(svc).await?;
        report.written_overdue = mark_written_overdue(svc).await?;
        report.reminded = remind(svc).await?;
        report.recounted = recount_appeals(svc).await?;
        report.inquiries_overdue = svc.mark_inquiries_overdue().await?;
        svc.store
            .finish_job(DEADLINES, owner, svc.now(), now + INTERVAL)
            .await?;
    }
    if svc.store.claim_job(PROBES, owner, now, now + LEASE).await? {
        report.ran += 1;
        report.probes = svc.run_due_probes().await?;
        svc.store
            .finish_job(PROBES, owner, svc.now(), now + INTERVAL)
            .await?;
    }
    if svc.store.claim_job(EXPIRY, owner, now, now + LEASE).await? {
        report.ran += 1;
        report.reviews = request_reviews(svc).await?;
        report.expired = expire_blocks(svc).await?;
        svc.store
            .finish_job(EXPIRY, owner, svc.now(), now + INTERVAL)
            .await?;
    }
    if svc
        .store
        .claim_job(CHECKPOINT, owner, now, now + LEASE)
        .await?
    {
        report.ran += 1;
        report.checkpoints = checkpoint(svc, now).await?;
        svc.store
            .finish_job(CHECKPOINT, owner, svc.now(), now + CHECKPOINT_INTERVAL)
            .await?;
    }
    job_items("overdue", report.overdue);
    job_items("written_overdue", report.written_overdue);
    job_items("reminded", report.reminded);
    job_items("recounted", report.recounted);
    job_items("inquiries_overdue", report.inquiries_overdue);
    job_items("expired", report.expired);
    job_items("checkpoints", report.checkpoints);
    Ok(report)
}

/// Verifies the trail since the last checkpoint, then signs the next one over the head it
/// reached. A trail that does not verify is not signed over: it raises an alert instead
/// (logged, counted, kept for the auditors' console) on every run until it is looked into.
async fn checkpoint(svc: &Service, now: OffsetDateTime) -> Result<usize, ServiceError> {
    let (last, c) = svc.check_since_last_checkpoint().await?;
    // Nothing written since the last checkpoint: nothing to sign.
    if c.intact && last.as_ref().is_some_and(|l| l.seq >= c.entries) {
        return Ok(0);
    }
    let check = match (c.intact, c.first_broken, c.problem) {
        (true, _, _) => Ok((c.entries, c.head_hash)),
        (false, seq, problem) => Err((
            seq.unwrap_or(0),
            problem.unwrap_or_else(|| "the trail does not verify".into()),
        )),
    };
    match check {
        Ok((seq, hash)) => {
            metrics::gauge!("warden_audit_intact").set(1.0);
            let at_us = i64::try_from(now.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX);
            let cp = crate::keys::sign_checkpoint(&svc.keys, last.as_ref(), seq, &hash, at_us);
            svc.store.add_checkpoint(&cp).await?;
            Ok(1)
        }
        Err((seq, problem)) => {
            tracing::error!(first_broken = seq, %problem, "the audit trail does not verify: no checkpoint signed");
            metrics::gauge!("warden_audit_intact").set(0.0);
            metrics::counter!("warden_audit_alerts_total").increment(1);
            svc.store.raise_audit_alert(seq, &problem, now).await?;
            Ok(0)
        }
    }
}

async fn mark_overdue(svc: &Service) -> Result<usize, ServiceError> {
    let actor = Actor::system(DEADLINES);
    let mut done = 0;
    loop {
        let now = svc.now();
        let due = svc.store.measures_past_deadline(now, BATCH).await?;
        if due.is_empty() {
            break;
        }
        let mut progressed = false;
        for m in due {
            let Ok(out) = m.value.apply(&actor, MeasureCommand::MarkOverdue, now) else {
                continue;
            };
            let (records, raised) = svc
                .raise_records(&out.next, EnforcementReason::Overdue, now)
                .await?;
            let mut events = out.events;
            events.extend(raised);
            let mut writes = vec![Write::Measure {
                measure: out.next,
                expected: Some(m.version),
            }];
            writes.extend(records);
            let changes = Changeset::new(actor.clone(), now, writes, events);
            match svc.store.commit(changes).await {
                Ok(_) => {
                    svc.after_commit(true, false).await;
                    done += 1;
                    progressed = true;
                }
                // Feedback arrived meanwhile, or another writer got there: theirs stands.
                Err(StoreError::Conflict { .. } | StoreError::Duplicate { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if !progressed {
            break;
        }
    }
    Ok(done)
}

/// Art. 8: the written notice that follows a telephone call is due by a set time; a notice
/// still undelivered then is flagged for the deciding authority.
async fn mark_written_overdue(svc: &Service) -> Result<usize, ServiceError> {
    step_each(
        svc,
        DEADLINES,
        MeasureCommand::MarkWrittenNoticeOverdue,
        |now| svc.store.written_notices_overdue(now, BATCH),
    )
    .await
}

/// Art. 10 deadlines counted through a year without a published calendar are counted again
/// once a calendar for that year is loaded (a restart with a newer file).
async fn recount_appeals(svc: &Service) -> Result<usize, ServiceError> {
    let actor = Actor::system(DEADLINES);
    let rules = svc.policy.national();
    let mut done = 0;
    for a in svc.store.undecided_appeals().await? {
        let Some(out) = a.value.recount(rules, &svc.calendar) else {
            continue;
        };
        let changes = Changeset::new(
            actor.clone(),
            svc.now(),
            vec![Write::Appeal {
                appeal: out.next,
                expected: Some(a.version),
            }],
            out.events,
        );
        match svc.store.commit(changes).await {
            Ok(_) => done += 1,
            // Answered meanwhile: the answer stands.
            Err(StoreError::Conflict { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(done)
}

/// Reminds recipients once a quarter of their time is left.
async fn remind(svc: &Service) -> Result<usize, ServiceError> {
    step_each(svc, DEADLINES, MeasureCommand::Remind, |now| {
        svc.store.reminders_due(now, BATCH)
    })
    .await
}

type Due<'a> = std::pin::Pin<
    Box<
        dyn std::future::Future<
                Output = Result<
                    Vec<warden_store::Versioned<warden_core::lifecycle::Measure>>,
                    StoreError,
                >,
            > + Send
            + 'a,
    >,
>;

/// Applies `cmd` as the job `job` to every measure `due` returns, batch by batch, until none
/// is left or none progresses (the others were changed meanwhile: theirs stands).
async fn step_each<'a>(
    svc: &'a Service,
    job: &str,
    cmd: MeasureCommand,
    due: impl Fn(time::OffsetDateTime) -> Due<'a>,
) -> Result<usize, ServiceError> {
    let actor = Actor::system(job);
    let mut done = 0;
    loop {
        let now = svc.now();
        let batch = due(now).await?;
        if batch.is_empty() {
            break;
        }
        let mut progressed = false;
        for m in batch {
            let Ok(out) = m.value.apply(&actor, cmd.clone(), now) else {
                continue;
            };
            let changes = Changeset::new(
                actor.clone(),
                now,
                vec![Write::Measure {
                    measure: out.next,
                    expected: Some(m.version),
                }],
                out.events,
            );
            match svc.store.commit(changes).await {
                Ok(_) => {
                    svc.after_commit(true, false).await;
                    done += 1;
                    progressed = true;
                }
                Err(StoreError::Conflict { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if !progressed {
            break;
        }
    }
    Ok(done)
}

/// Blocks near their expiry go back to the deciding authority for re-review.
async fn request_reviews(svc: &Service) -> Result<usize, ServiceError> {
    let days = svc.policy.national().blocklists.review_before_days;
    let lead = time::Duration::days(i64::from(days));
    step_each(svc, EXPIRY, MeasureCommand::RequestReview { lead }, |now| {
        svc.store.blocks_due_review(now + lead, BATCH)
    })
    .await
}

async fn expire_blocks(svc: &Service) -> Result<usize, ServiceError> {
    step_each(svc, EXPIRY, MeasureCommand::Expire, |now| {
        svc.store.blocks_expiring(now, BATCH)
    })
    .await
}

/// This process, as the holder of job leases.
pub fn owner() -> &'static str {
    static OWNER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    OWNER.get_or_init(|| format!("{}-{}", std::process::id(), Uuid::now_v7()))
}

/// Runs the jobs every `tick` until the process ends.
pub fn spawn(svc: Arc<Service>, tick: std::time::Duration) -> tokio::task::JoinHandle<()> {
    let owner = owner().to_owned();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            // Imports run in tasks of their own: a long feed must not hold up deadlines.
            crate::imports::start_pending(svc.clone(), owner.clone());
            match run_due(&svc, &owner).await {
                Ok(r) if r.overdue + r.expired > 0 => {
                    tracing::info!(overdue = r.overdue, expired = r.expired, "jobs ran");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "jobs failed; retrying at the next tick"),
            }
        }
    })
}

/// Counts what a job run did.
fn job_items(kind: &'static str, n: usize) {
    if n > 0 {
        metrics::counter!("warden_job_items_total", "kind" => kind).increment(n as u64);
    }
}
