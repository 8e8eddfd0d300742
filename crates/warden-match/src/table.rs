//! Interval stabbing over integer keys: IPv4 and IPv6 addresses, phone numbers.
//!
//! Every range (a prefix, a number range) is flattened into sorted, disjoint intervals, each
//! carrying the id of the set of entries that cover it; longest-prefix match falls out of the
//! flattening, and so does "every covering entry", which a blocklist lookup needs. A direct
//! bucket index over the top bits of the key narrows each lookup to one or two intervals, so
//! a lookup costs about two memory reads whatever the number of ranges.

use crate::sets::SetsBuilder;

/// An unsigned integer key.
pub trait Key: Copy + Ord + Default + std::fmt::Debug {
    const MAX: Self;
    fn next(self) -> Option<Self>;
    fn to_u128(self) -> u128;
    fn from_u128(v: u128) -> Self;
    const BITS: u32;
}

macro_rules! key {
    ($t:ty) => {
        impl Key for $t {
            const MAX: Self = <$t>::MAX;
            const BITS: u32 = <$t>::BITS;
            #[inline]
            fn next(self) -> Option<Self> {
                self.checked_add(1)
            }
            #[inline]
            fn to_u128(self) -> u128 {
                self as u128
            }
            #[inline]
            fn from_u128(v: u128) -> Self {
                v as $t
            }
        }
    };
}
key!(u32);
key!(u64);
key!(u128);

/// Sorted disjoint intervals: `runs[i].0..runs[i+1].0` carries set `runs[i].1`. Start and
/// set side by side, so the answer comes with the comparison's cache line.
#[derive(Debug, Clone)]
pub struct IntervalTable<K: Key> {
    runs: Vec<(K, u32)>,
    /// `idx[b]`: the interval holding the first key of bucket `b`; one extra at the end.
    idx: Vec<u32>,
    base: K,
    shift: u32,
}

impl<K: Key> Default for IntervalTable<K> {
    fn default() -> Self {
        IntervalTable {
            runs: vec![(K::default(), 0)],
            idx: vec![0, 0],
            base: K::default(),
            shift: 0,
        }
    }
}

impl<K: Key> IntervalTable<K> {
    /// Builds from inclusive ranges, each tagged with an entry id.
    pub fn build(mut ranges: Vec<(K, K, u32)>, sets: &mut SetsBuilder) -> Self {
        if ranges.is_empty() {
            return Self::default();
        }
        // Events: at `lo` the entry starts covering, after `hi` it stops.
        let mut events: Vec<(K, bool, u32)> = Vec::with_capacity(ranges.len() * 2);
        for (lo, hi, e) in ranges.drain(..) {
            events.push((lo, true, e));
            if let Some(after) = hi.next() {
                events.push((after, false, e));
            }
        }
        events.sort_unstable_by_key(|e| e.0);
        let mut starts: Vec<K> = Vec::with_capacity(events.len() + 1);
        let mut out_sets: Vec<u32> = Vec::with_capacity(events.len() + 1);
        let mut active: Vec<u32> = Vec::new();
        let mut i = 0;
        if events[0].0 != K::default() {
            starts.push(K::default());
            out_sets.push(0);
        }
        while i < events.len() {
            let pos = events[i].0;
            while i < events.len() && events[i].0 == pos {
                let (_, add, e) = events[i];
                match active.binary_search(&e) {
                    Ok(at) if !add => {
                        active.remove(at);
                    }
                    Err(at) if add => active.insert(at, e),
                    // The same entry twice (a duplicate range): keep one.
                    _ => {}
                }
                i += 1;
            }
            let set = sets.intern(&active);
            if out_sets.last() == Some(&set) {
                continue;
            }
            starts.push(pos);
            out_sets.push(set);
        }
        let runs = starts.into_iter().zip(out_sets).collect();
        Self::index(runs)
    }

    fn index(runs: Vec<(K, u32)>) -> Self {
        let n = runs.len();
        let starts = &runs;
        let base = if n > 1 { starts[1].0 } else { K::default() };
        let top = starts[n - 1].0.to_u128() - base.to_u128();
        let span_bits = 128 - top.leading_zeros();
        // About four intervals per bucket (one or two cache lines of runs), so the index stays
        // small enough to live in cache; at most 2^20 buckets (4 MiB).
        let want_bits = (usize::BITS - (n / 4).max(1).leading_zeros()).clamp(1, 20);
        let shift = span_bits.saturating_sub(want_bits);
        let buckets = (top >> shift) as usize + 1;
        let mut idx = Vec::with_capacity(buckets + 1);
        let mut j = 0usize;
        for b in 0..buckets {
            let bucket_start = base.to_u128() + ((b as u128) << shift);
            while j + 1 < n && starts[j + 1].0.to_u128() <= bucket_start {
                j += 1;
            }
            idx.push(j as u32);
        }
        idx.push((n - 1) as u32);
        IntervalTable {
            runs,
            idx,
            base,
            shift,
        }
    }

    /// The set id of the interval holding `k` (0: no entry covers it).
    #[inline]
    pub fn find(&self, k: K) -> u32 {
        if k < self.base {
            return self.runs[0].1;
        }
        let off = (k.to_u128() - self.base.to_u128()) >> self.shift;
        let last = self.idx.len() - 2;
        let b = if off > last as u128 {
            last
        } else {
            off as usize
        };
        let lo = self.idx[b] as usize;
        let hi = self.idx[b + 1] as usize;
        // `lo` holds the bucket's first key; the answer is the last start <= k in lo..=hi.
        let cand = &self.runs[lo + 1..=hi];
        // Counting without early exit: no data-dependent branches, so independent lookups
        // overlap their memory reads.
        let i = if cand.len() <= 16 {
            lo + cand.iter().map(|s| usize::from(s.0 <= k)).sum::<usize>()
        } else {
            lo + cand.partition_point(|s| s.0 <= k)
        };
        self.runs[i].1
    }

    pub fn intervals(&self) -> usize {
        self.runs.len()
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.runs.capacity() * std::mem::size_of::<(K, u32)>() + self.idx.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sets::SetsBuilder;
    use proptest::prelude::*;

    fn naive(ranges: &[(u32, u32, u32)], k: u32) -> Vec<u32> {
        let mut v: Vec<u32> = ranges
            .iter()
            .filter(|(lo, hi, _)| *lo <= k && k <= *hi)
            .map(|r| r.2)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    proptest! {
        #[test]
        fn agrees_with_a_linear_scan(
            raw in proptest::collection::vec((any::<u32>(), 0u32..40, 0u32..20), 0..60),
            probes in proptest::collection::vec(any::<u32>(), 0..50),
        ) {
            // Mix of prefixes (nested) and arbitrary ranges, some touching the ends.
            // One range per entry, as the index builds them.
            let ranges: Vec<(u32, u32, u32)> = raw
                .iter()
                .enumerate()
                .map(|(e, (a, len, _))| {
                    let e = e as u32;
                    let len = len % 33;
                    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                    (a & mask, (a & mask) | !mask, e)
                })
                .collect();
            let mut sets = SetsBuilder::default();
            let t = IntervalTable::build(ranges.clone(), &mut sets);
            let sets = sets.finish();
            let mut ks: Vec<u32> = probes;
            for (lo, hi, _) in &ranges {
                ks.extend([*lo, *hi, lo.wrapping_sub(1), hi.wrapping_add(1)]);
            }
            ks.extend([0, u32::MAX]);
            for k in ks {
                prop_assert_eq!(sets.get(t.find(k)).iter().collect::<Vec<_>>(), naive(&ranges, k), "key {}", k);
            }
        }
    }

    #[test]
    fn empty_and_full_ranges() {
        let mut sets = SetsBuilder::default();
        let t: IntervalTable<u32> = IntervalTable::build(vec![], &mut sets);
        assert_eq!(t.find(5), 0);
        let t = IntervalTable::build(vec![(0u32, u32::MAX, 7)], &mut sets);
        let s = sets.finish();
        assert_eq!(s.get(t.find(0)).iter().collect::<Vec<_>>(), [7]);
        assert_eq!(s.get(t.find(u32::MAX)).iter().collect::<Vec<_>>(), [7]);
    }

    #[test]
    fn u128_keys() {
        let mut sets = SetsBuilder::default();
        let a = 0x2001_0db8u128 << 96;
        let t = IntervalTable::build(
            vec![(a, a | ((1u128 << 96) - 1), 1), (a + 5, a + 5, 2)],
            &mut sets,
        );
        let s = sets.finish();
        assert_eq!(s.get(t.find(a + 5)).iter().collect::<Vec<_>>(), [1, 2]);
        assert_eq!(s.get(t.find(a + 6)).iter().collect::<Vec<_>>(), [1]);
        assert!(s.get(t.find(a - 1)).is_empty());
        assert!(s.get(t.find(u128::MAX)).is_empty());
    }
}
