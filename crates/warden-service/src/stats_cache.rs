//! Statistics kept between requests (timeliness, the dashboard). The exact percentiles of a
//! national history sort every duration on every request (seconds at national size), and the
//! dashboard aggregates a month of notices, while the figures move slowly:
//! a result is reused as long as nothing was written since (the audit chain's head has not
//! moved), and, up to a configured age, also after writes; past a quarter of that age one
//! recomputation runs in the background. The answer says when its figures were computed.

use crate::error::ServiceError;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;
use warden_core::clock::Clock;
use warden_store::Store;

/// The most results kept: one per scope, grouping and period asked for.
const ENTRIES: usize = 256;

struct Entry<T> {
    /// The audit head's sequence number when the figures were computed.
    head: i64,
    as_of: OffsetDateTime,
    figures: Arc<T>,
    refreshing: bool,
}

/// What the cache has for a key.
pub(crate) enum Kept<T> {
    /// Figures as of `as_of`, current (`head` unchanged) or young enough.
    Use {
        figures: Arc<T>,
        as_of: OffsetDateTime,
        /// The caller should start a recomputation (this one was stale, and none runs).
        refresh: bool,
    },
    Compute,
}

pub(crate) struct StatsCache<T> {
    max_age: time::Duration,
    entries: Mutex<HashMap<String, Entry<T>>>,
}

impl<T> StatsCache<T> {
    pub(crate) fn new(max_age: time::Duration) -> StatsCache<T> {
        StatsCache {
            max_age,
            entries: Mutex::default(),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry<T>>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn get(&self, key: &str, head: i64, now: OffsetDateTime) -> Kept<T> {
        let mut entries = self.entries();
        let Some(e) = entries.get_mut(key) else {
            return Kept::Compute;
        };
        if e.head == head {
            return Kept::Use {
                figures: e.figures.clone(),
                as_of: e.as_of,
                refresh: false,
            };
        }
        let age = now - e.as_of;
        if self.max_age.is_zero() || age > self.max_age {
            return Kept::Compute;
        }
        // Under a steady stream of writes the head always moves: recomputing after each would
        // keep a core busy per figure asked for. Past a quarter of the age, one recomputation.
        let refresh = !e.refreshing && age >= self.max_age / 4;
        e.refreshing |= refresh;
        Kept::Use {
            figures: e.figures.clone(),
            as_of: e.as_of,
            refresh,
        }
    }

    pub(crate) fn put(&self, key: String, head: i64, as_of: OffsetDateTime, figures: Arc<T>) {
        let mut entries = self.entries();
        if entries.len() >= ENTRIES
            && !entries.contains_key(&key)
            && let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, e)| e.as_of)
                .map(|(k, _)| k.clone())
        {
            entries.remove(&oldest);
        }
        // A slower computation does not replace a newer one.
        if entries.get(&key).is_some_and(|e| e.head > head) {
            return;
        }
        entries.insert(
            key,
            Entry {
                head,
                as_of,
                figures,
                refreshing: false,
            },
        );
    }

    /// A background recomputation failed: the next stale request starts another.
    pub(crate) fn failed(&self, key: &str) {
        if let Some(e) = self.entries().get_mut(key) {
            e.refreshing = false;
        }
    }
}

/// The figures under `key`: kept ones when they are current or young enough (then perhaps
/// one recomputation starts in the background), else `compute(now)` before answering. Answers
/// them with the instant they were computed at.
pub(crate) async fn kept<T, F, Fut>(
    cache: &Arc<StatsCache<T>>,
    store: &Arc<dyn Store>,
    clock: &Arc<dyn Clock>,
    key: String,
    compute: F,
) -> Result<(Arc<T>, OffsetDateTime), ServiceError>
where
    T: Send + Sync + 'static,
    F: Fn(OffsetDateTime) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, ServiceError>> + Send + 'static,
{
    let now = || clock.now().to_offset(warden_core::calendar::SHANGHAI);
    let (head, _) = store.audit_head().await?;
    let at = now();
    match cache.get(&key, head, at) {
        Kept::Use {
            figures,
            as_of,
            refresh,
        } => {
            if refresh {
                let (store, cache, clock) = (store.clone(), cache.clone(), clock.clone());
                tokio::spawn(async move {
                    let at = clock.now().to_offset(warden_core::calendar::SHANGHAI);
                    let fresh = match store.audit_head().await {
                        Ok((head, _)) => compute(at).await.map(|f| (head, f)),
                        Err(e) => Err(e.into()),
                    };
                    match fresh {
                        Ok((head, f)) => cache.put(key, head, at, Arc::new(f)),
                        Err(e) => {
                            tracing::warn!(error = %e, "recomputing kept statistics");
                            cache.failed(&key);
                        }
                    }
                });
            }
            Ok((figures, as_of))
        }
        Kept::Compute => {
            let figures = Arc::new(compute(at).await?);
            cache.put(key, head, at, figures.clone());
            Ok((figures, at))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    type Groups = Vec<warden_core::stats::Group>;

    #[test]
    fn current_stale_and_expired() {
        let c = StatsCache::<Groups>::new(time::Duration::seconds(60));
        let t0 = datetime!(2026-12-08 10:00 UTC);
        assert!(matches!(c.get("k", 5, t0), Kept::Compute));
        c.put("k".into(), 5, t0, Arc::new(vec![]));
        // Nothing written since: the same figures, nothing to refresh.
        assert!(matches!(
            c.get("k", 5, t0 + time::Duration::hours(5)),
            Kept::Use { refresh: false, .. }
        ));
        // Written since, quite young: used as they are.
        assert!(matches!(
            c.get("k", 6, t0 + time::Duration::seconds(5)),
            Kept::Use { refresh: false, .. }
        ));
        // Written since, past a quarter of the age: used, and one caller refreshes.
        let t1 = t0 + time::Duration::seconds(30);
        assert!(matches!(c.get("k", 6, t1), Kept::Use { refresh: true, .. }));
        assert!(matches!(
            c.get("k", 6, t1),
            Kept::Use { refresh: false, .. }
        ));
        c.failed("k");
        assert!(matches!(c.get("k", 6, t1), Kept::Use { refresh: true, .. }));
        // Too old: computed again by the caller.
        assert!(matches!(
            c.get("k", 6, t0 + time::Duration::seconds(61)),
            Kept::Compute
        ));
        // An older result does not replace a newer one.
        c.put("k".into(), 9, t1, Arc::new(vec![]));
        c.put("k".into(), 7, t1, Arc::new(vec![]));
        assert!(matches!(
            c.get("k", 9, t1),
            Kept::Use { refresh: false, .. }
        ));
    }

    #[test]
    fn without_an_age_only_current_figures_are_used() {
        let c = StatsCache::<Groups>::new(time::Duration::ZERO);
        let t0 = datetime!(2026-12-08 10:00 UTC);
        c.put("k".into(), 5, t0, Arc::new(vec![]));
        assert!(matches!(c.get("k", 5, t0), Kept::Use { .. }));
        assert!(matches!(c.get("k", 6, t0), Kept::Compute));
    }

    #[test]
    fn bounded() {
        let c = StatsCache::<Groups>::new(time::Duration::seconds(60));
        let t0 = datetime!(2026-12-08 10:00 UTC);
        for i in 0..(ENTRIES as i64 + 10) {
            c.put(
                format!("k{i}"),
                1,
                t0 + time::Duration::seconds(i),
                Arc::new(vec![]),
            );
        }
        assert_eq!(c.entries().len(), ENTRIES);
        assert!(matches!(c.get("k0", 1, t0), Kept::Compute));
    }
}
