//! The matcher as the server holds it: an immutable snapshot behind an atomic pointer.
//! Readers load the current snapshot and never wait; a change builds a new snapshot (a small
//! overlay of additions and a set of removals over a large base) and swaps it in. When the
//! overlay grows, the base is rebuilt off the request path and the changes made meanwhile are
//! replayed on top.

use crate::index::{Entry, Index};
use arc_swap::ArcSwap;
use hashbrown::HashSet;
use std::sync::Arc;
use uuid::Uuid;
use warden_core::indicator::{Indicator, IndicatorType};

/// Past this many overlay entries or removals, the base is rebuilt.
pub const COMPACT_AFTER: usize = 20_000;

/// One step of the change sequence: a measure starts or stops being listed.
#[derive(Debug, Clone)]
pub enum Change {
    Add(Arc<Entry>),
    Remove(Uuid),
}

/// Cheap to clone: the indexes are shared.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    base: Arc<Index>,
    overlay: Arc<Index>,
    /// Base entries no longer listed.
    removed: Arc<HashSet<Uuid>>,
    /// The last change applied (0: none).
    pub serial: i64,
}

impl Snapshot {
    pub fn build(entries: Vec<Arc<Entry>>, serial: i64) -> Snapshot {
        Snapshot {
            base: Arc::new(Index::build(entries)),
            overlay: Arc::default(),
            removed: Arc::default(),
            serial,
        }
    }

    /// The base index (for benchmarks and exports that need raw ids).
    pub fn base(&self) -> &Index {
        &self.base
    }

    /// Number of listed entries.
    pub fn len(&self) -> usize {
        self.base.len() - self.removed_in_base() + self.overlay.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn removed_in_base(&self) -> usize {
        if self.removed.is_empty() {
            0
        } else {
            self.base
                .entries()
                .iter()
                .filter(|e| self.removed.contains(&e.measure_id))
                .count()
        }
    }

    /// Every listed entry matching `ind`, each measure once.
    pub fn lookup(&self, ind: &Indicator) -> Vec<Arc<Entry>> {
        let mut ids = Vec::new();
        self.base.lookup(ind, &mut ids);
        self.finish(ind, ids)
    }

    /// `lookup` for many values at once, in order. File hashes are probed in groups, so
    /// their memory reads overlap; other values one by one.
    pub fn lookup_many(&self, inds: &[&Indicator]) -> Vec<Vec<Arc<Entry>>> {
        let is_digest = |i: &Indicator| {
            matches!(
                i.kind(),
                IndicatorType::Md5 | IndicatorType::Sha1 | IndicatorType::Sha256
            )
        };
        let digests: Vec<&str> = inds
            .iter()
            .filter(|i| is_digest(i))
            .map(|i| i.value())
            .collect();
        let mut sets = Vec::with_capacity(digests.len());
        self.base.digests_many(digests, &mut sets);
        let mut sets = sets.into_iter();
        inds.iter()
            .map(|ind| {
                let mut ids = Vec::new();
                if is_digest(ind) {
                    if let Some(Some(set)) = sets.next() {
                        ids.extend(self.base.set(set).iter());
                    }
                } else {
                    self.base.lookup(ind, &mut ids);
                }
                self.finish(ind, ids)
            })
            .collect()
    }

    /// Base matches (ids) less the removed, plus the overlay's, each measure once.
    fn finish(&self, ind: &Indicator, mut ids: Vec<u32>) -> Vec<Arc<Entry>> {
        let mut out: Vec<Arc<Entry>> = Vec::new();
        for i in &ids {
            let e = self.base.entry(*i);
            if !self.removed.contains(&e.measure_id) {
                out.push(e.clone());
            }
        }
        if !self.overlay.is_empty() {
            ids.clear();
            self.overlay.lookup(ind, &mut ids);
            out.extend(ids.iter().map(|i| self.overlay.entry(*i).clone()));
        }
        out.sort_by_key(|e| e.measure_id);
        out.dedup_by(|a, b| a.measure_id == b.measure_id);
        out
    }

    /// Every listed entry, base first.
    pub fn entries(&self) -> impl Iterator<Item = &Arc<Entry>> {
        let removed = &self.removed;
        self.base
            .entries()
            .iter()
            .filter(move |e| removed.is_empty() || !removed.contains(&e.measure_id))
            .chain(self.overlay.entries().iter())
    }

    /// The snapshot after `changes`, the last of which has sequence number `serial`.
    pub fn apply(&self, changes: &[Change], serial: i64) -> Snapshot {
        if changes.is_empty() {
            return Snapshot {
                base: self.base.clone(),
                overlay: self.overlay.clone(),
                removed: self.removed.clone(),
                serial: serial.max(self.serial),
            };
        }
        let mut overlay: Vec<Arc<Entry>> = self.overlay.entries().to_vec();
        let mut removed: HashSet<Uuid> = (*self.removed).clone();
        for c in changes {
            match c {
                Change::Add(e) => {
                    overlay.retain(|o| o.measure_id != e.measure_id);
                    // A base copy, if any, is superseded by the new one.
                    removed.insert(e.measure_id);
                    overlay.push(e.clone());
                }
                Change::Remove(id) => {
                    overlay.retain(|o| o.measure_id != *id);
                    removed.insert(*id);
                }
            }
        }
        Snapshot {
            base: self.base.clone(),
            overlay: Arc::new(Index::build(overlay)),
            removed: Arc::new(removed),
            serial,
        }
    }

    /// Whether the overlay has grown enough that the base should be rebuilt.
    pub fn wants_compaction(&self) -> bool {
        self.overlay.len() > COMPACT_AFTER || self.removed.len() > COMPACT_AFTER
    }

    /// The same listing with everything in one base index.
    pub fn compacted(&self) -> Snapshot {
        Snapshot::build(self.entries().cloned().collect(), self.serial)
    }
}

/// The current snapshot, swapped atomically.
#[derive(Debug, Default)]
pub struct Live {
    current: ArcSwap<Snapshot>,
}

impl Live {
    pub fn new(s: Snapshot) -> Live {
        Live {
            current: ArcSwap::from_pointee(s),
        }
    }

    pub fn load(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    pub fn store(&self, s: Snapshot) {
        self.current.store(Arc::new(s));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::tests::entry;
    use warden_core::indicator::IndicatorType as T;

    fn ids(s: &Snapshot, t: T, v: &str) -> Vec<u128> {
        s.lookup(&Indicator::parse(t, v).unwrap())
            .iter()
            .map(|e| e.measure_id.as_u128())
            .collect()
    }

    #[test]
    fn additions_and_removals_show_at_once_and_survive_compaction() {
        let base = Snapshot::build(
            vec![
                entry(1, T::Domain, "evil.example.cn", None),
                entry(2, T::Cidr, "203.0.113.0/24", None),
            ],
            2,
        );
        let s = base.apply(
            &[
                Change::Add(entry(3, T::Ipv4, "203.0.113.5", None)),
                Change::Remove(Uuid::from_u128(1)),
            ],
            4,
        );
        assert_eq!(s.serial, 4);
        assert!(ids(&s, T::Domain, "www.evil.example.cn").is_empty());
        assert_eq!(ids(&s, T::Ipv4, "203.0.113.5"), [2, 3]);
        assert_eq!(s.len(), 2);
        let s = s.apply(&[Change::Remove(Uuid::from_u128(3))], 5);
        assert_eq!(ids(&s, T::Ipv4, "203.0.113.5"), [2]);
        let c = s.compacted();
        assert_eq!(c.serial, 5);
        assert_eq!(c.len(), 1);
        assert_eq!(ids(&c, T::Ipv4, "203.0.113.5"), [2]);
        // Many at once: the same answers, hashes included, overlay and removals applied.
        let h = "ab".repeat(32);
        let s = c.apply(&[Change::Add(entry(7, T::Sha256, &h, None))], 6);
        let s = Snapshot::build(s.entries().cloned().collect(), 6).apply(
            &[Change::Add(entry(8, T::Sha256, &"cd".repeat(32), None))],
            7,
        );
        let qs: Vec<Indicator> = [
            (T::Sha256, h.clone()),
            (T::Ipv4, "203.0.113.5".to_owned()),
            (T::Sha256, "cd".repeat(32)),
            (T::Sha256, "ef".repeat(32)),
        ]
        .iter()
        .map(|(t, v)| Indicator::parse(*t, v).unwrap())
        .collect();
        let refs: Vec<&Indicator> = qs.iter().collect();
        let many: Vec<Vec<u128>> = s
            .lookup_many(&refs)
            .iter()
            .map(|es| es.iter().map(|e| e.measure_id.as_u128()).collect())
            .collect();
        let one: Vec<Vec<u128>> = qs
            .iter()
            .map(|q| s.lookup(q).iter().map(|e| e.measure_id.as_u128()).collect())
            .collect();
        assert_eq!(many, one);
        assert_eq!(many, vec![vec![7], vec![2], vec![8], vec![]]);
        // The old snapshot is untouched: readers holding it see a consistent past.
        assert_eq!(ids(&base, T::Domain, "evil.example.cn"), [1]);
    }
}
