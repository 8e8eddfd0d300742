//! The server's side of the indicator engine: it builds the matcher from the database on
//! start, follows the blocklist change sequence (at once after this server's own writes,
//! and by polling for other servers' writes), and keeps the allow-lists current.

use crate::error::ServiceError;
use arc_swap::ArcSwap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use warden_core::indicator::{Indicator, IndicatorType, TargetScope};
use warden_match::live::{Change, Live, Snapshot};
use warden_match::{AllowEntry, AllowTarget, Allowlist, Entry};
use warden_store::{ListedBlock, Store};

/// How often a server looks for other servers' blocklist changes.
pub const POLL: Duration = Duration::from_millis(100);
const PAGE: u32 = 10_000;

pub struct Blocklist {
    live: Live,
    /// Serialises appliers; readers never take it.
    apply: tokio::sync::Mutex<()>,
    compacting: AtomicBool,
    shipped: Allowlist,
    allow: ArcSwap<Allowlist>,
}

/// A stored block as a matcher entry; None for a record that no longer parses (logged).
pub fn entry_of(b: &ListedBlock) -> Option<Arc<Entry>> {
    let kind: IndicatorType = b.target_kind.parse().ok()?;
    let target = match Indicator::parse(kind, &b.target_value) {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(measure = %b.measure_id, error = %e, "listed block with an unreadable target");
            return None;
        }
    };
    let scope = b
        .scope
        .as_deref()
        .and_then(TargetScope::parse)
        .unwrap_or(TargetScope::default_for(kind));
    let range_last = b
        .range_last
        .as_deref()
        .and_then(|r| Indicator::parse(IndicatorType::Phone, r).ok());
    Some(Arc::new(Entry {
        measure_id: b.measure_id,
        target,
        scope,
        range_last,
        recipient_id: b.recipient_id,
        recipient_slug: b.recipient_slug.clone(),
        reference: b.reference.clone(),
        since: b.since,
        expires: b.expires,
        listed_serial: b.listed_serial,
    }))
}

impl Blocklist {
    /// An empty matcher with the shipped allow-lists; `load` fills it.
    pub fn new() -> Blocklist {
        let shipped = Allowlist::shipped();
        Blocklist {
            live: Live::default(),
            apply: tokio::sync::Mutex::new(()),
            compacting: AtomicBool::new(false),
            allow: ArcSwap::from_pointee(shipped.clone()),
            shipped,
        }
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.live.load()
    }

    pub fn allowlist(&self) -> Arc<Allowlist> {
        self.allow.load_full()
    }

    /// Rebuilds everything from the database: the listed blocks, then the changes made while
    /// they were read (replaying a change is harmless).
    pub async fn load(&self, store: &dyn Store) -> Result<(), ServiceError> {
        let _g = self.apply.lock().await;
        let serial = store.block_serial().await?;
        let mut entries = vec![];
        let mut after = None;
        loop {
            let page = store.listed_blocks(after, PAGE).await?;
            after = page.last().map(|b| b.measure_id);
            entries.extend(page.iter().filter_map(entry_of));
            if page.len() < PAGE as usize {
                break;
            }
        }
        let n = entries.len();
        let snap = tokio::task::spawn_blocking(move || Snapshot::build(entries, serial))
            .await
            .map_err(|e| ServiceError::Internal(format!("matcher build: {e}")))?;
        let snap = catch_up(store, snap).await?;
        tracing::info!(listed = n, serial = snap.serial, "blocklist loaded");
        self.live.store(snap);
        drop(_g);
        self.reload_allowlist(store).await
    }

    /// Applies the changes made since the current snapshot. Cheap when there are none.
    pub async fn sync(self: &Arc<Self>, store: &Arc<dyn Store>) -> Result<(), ServiceError> {
        let _g = self.apply.lock().await;
        let cur = self.live.load();
        let next = catch_up(store.as_ref(), (*cur).clone()).await?;
        if next.serial != cur.serial {
            let compact = next.wants_compaction();
            self.live.store(next);
            if compact && !self.compacting.swap(true, Ordering::SeqCst) {
                let me = self.clone();
                let store = store.clone();
                tokio::spawn(async move {
                    if let Err(e) = me.compact(&store).await {
                        tracing::error!(error = %e, "blocklist compaction failed");
                    }
                    me.compacting.store(false, Ordering::SeqCst);
                });
            }
        }
        Ok(())
    }

    /// Rebuilds the base index off the request path, then replays what changed meanwhile.
    async fn compact(&self, store: &Arc<dyn Store>) -> Result<(), ServiceError> {
        let snap = self.live.load();
        let built = tokio::task::spawn_blocking(move || snap.compacted())
            .await
            .map_err(|e| ServiceError::Internal(format!("matcher build: {e}")))?;
        let _g = self.apply.lock().await;
        let done = catch_up(store.as_ref(), built).await?;
        tracing::info!(
            serial = done.serial,
            listed = done.len(),
            "blocklist compacted"
        );
        self.live.store(done);
        Ok(())
    }

    /// Puts a prepared snapshot in place (benchmarks load synthetic lists this way); later
    /// changes in the database apply on top of it.
    pub async fn install(&self, snap: Snapshot) {
        let _g = self.apply.lock().await;
        self.live.store(snap);
    }

    /// Re-reads the operator-managed allow-list entries.
    pub async fn reload_allowlist(&self, store: &dyn Store) -> Result<(), ServiceError> {
        let extra: Vec<AllowEntry> = store
            .allowlist_entries()
            .await?
            .into_iter()
            .filter(|r| r.value.removed.is_none())
            .filter_map(|r| {
                Some(AllowEntry {
                    list: format!("operator:{}", r.value.org.slug),
                    target: AllowTarget::parse(&r.value.value).ok()?,
                    source: r.value.reason.clone(),
                })
            })
            .collect();
        self.allow.store(Arc::new(self.shipped.with(extra)));
        Ok(())
    }

    /// Follows other servers' changes until the process ends.
    pub fn follow(self: Arc<Self>, store: Arc<dyn Store>) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut n: u64 = 0;
            loop {
                tick.tick().await;
                if let Err(e) = self.sync(&store).await {
                    tracing::warn!(error = %e, "blocklist sync failed; retrying");
                }
                n += 1;
                // Allow-list edits are rare: every few seconds is soon enough for peers.
                if n.is_multiple_of(50)
                    && let Err(e) = self.reload_allowlist(store.as_ref()).await
                {
                    tracing::warn!(error = %e, "allow-list reload failed");
                }
            }
        });
    }
}

impl Default for Blocklist {
    fn default() -> Self {
        Blocklist::new()
    }
}

async fn catch_up(store: &dyn Store, mut snap: Snapshot) -> Result<Snapshot, ServiceError> {
    loop {
        let page = store.block_changes(snap.serial, PAGE).await?;
        let Some(last) = page.last().map(|c| c.serial) else {
            return Ok(snap);
        };
        let changes: Vec<Change> = page
            .iter()
            .filter_map(|c| {
                if c.listed {
                    entry_of(&c.block).map(Change::Add)
                } else {
                    Some(Change::Remove(c.block.measure_id))
                }
            })
            .collect();
        snap = snap.apply(&changes, last);
        if page.len() < PAGE as usize {
            return Ok(snap);
        }
    }
}
