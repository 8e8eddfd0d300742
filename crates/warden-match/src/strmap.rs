//! String-keyed map for the lookup path: open addressing with linear probing over one array
//! of slots that keep each key's hash and, when short, the key itself: a probe reads one slot
//! (and a long key's bytes only when the hashes agree). A small blocked Bloom filter in front answers most misses from
//! cache without touching the table.

use hashbrown::DefaultHashBuilder;
use std::hash::BuildHasher;

#[derive(Debug)]
struct Slot<V> {
    /// 0: empty.
    hash: u64,
    key: Key,
    value: V,
}

/// Up to 30 bytes: most domain names, e-mail addresses and phone numbers.
const INLINE: usize = 30;

/// A key kept in the slot itself when short (no second memory read to compare it), else on
/// the heap.
#[derive(Debug)]
enum Key {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<str>),
}

impl Key {
    fn new(k: &str) -> Key {
        if k.len() <= INLINE {
            let mut bytes = [0u8; INLINE];
            bytes[..k.len()].copy_from_slice(k.as_bytes());
            Key::Inline {
                len: k.len() as u8,
                bytes,
            }
        } else {
            Key::Heap(k.into())
        }
    }

    #[inline]
    fn eq(&self, k: &str) -> bool {
        match self {
            Key::Inline { len, bytes } => &bytes[..usize::from(*len)] == k.as_bytes(),
            Key::Heap(b) => **b == *k,
        }
    }

    fn heap_len(&self) -> usize {
        match self {
            Key::Inline { .. } => 0,
            Key::Heap(b) => b.len(),
        }
    }
}

#[derive(Debug)]
pub struct StrMap<V> {
    slots: Vec<Slot<V>>,
    mask: usize,
    len: usize,
    bloom: Vec<u64>,
    bloom_mask: usize,
    hasher: DefaultHashBuilder,
}

impl<V: Default> Default for StrMap<V> {
    fn default() -> Self {
        StrMap::build(std::iter::empty())
    }
}

impl<V: Default> StrMap<V> {
    /// Keys must be distinct.
    pub fn build(items: impl IntoIterator<Item = (Box<str>, V)>) -> StrMap<V> {
        let hasher = DefaultHashBuilder::default();
        let items: Vec<(u64, Box<str>, V)> = items
            .into_iter()
            .map(|(k, v)| (hasher.hash_one(&*k).max(1), k, v))
            .collect();
        let len = items.len();
        // Load factor at most 1/2: short probe runs.
        let cap = (len * 2).next_power_of_two().max(2);
        let mut slots: Vec<Slot<V>> = (0..cap)
            .map(|_| Slot {
                hash: 0,
                key: Key::Inline {
                    len: 0,
                    bytes: [0; INLINE],
                },
                value: V::default(),
            })
            .collect();
        let mask = cap - 1;
        // About 16 bits per key, two bits per key in one word: around 1% false positives.
        let words = (len / 4).next_power_of_two().max(1);
        let mut bloom = vec![0u64; words];
        let bloom_mask = words - 1;
        for (hash, key, value) in items {
            let (w, bits) = bloom_bits(hash, bloom_mask);
            bloom[w] |= bits;
            let mut i = hash as usize & mask;
            while slots[i].hash != 0 {
                i = (i + 1) & mask;
            }
            slots[i] = Slot {
                hash,
                key: Key::new(&key),
                value,
            };
        }
        StrMap {
            slots,
            mask,
            len,
            bloom,
            bloom_mask,
            hasher,
        }
    }
}

impl<V> StrMap<V> {
    #[inline]
    pub fn get(&self, key: &str) -> Option<&V> {
        let hash = self.hasher.hash_one(key).max(1);
        let (w, bits) = bloom_bits(hash, self.bloom_mask);
        if self.bloom[w] & bits != bits {
            return None;
        }
        let mut i = hash as usize & self.mask;
        loop {
            let s = &self.slots[i];
            if s.hash == hash && s.key.eq(key) {
                return Some(&s.value);
            }
            if s.hash == 0 {
                return None;
            }
            i = (i + 1) & self.mask;
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Heap bytes of the slots, the filter and the keys.
    pub fn heap_bytes(&self) -> usize {
        let keys: usize = self.slots.iter().map(|s| s.key.heap_len()).sum();
        self.slots.capacity() * std::mem::size_of::<Slot<V>>() + self.bloom.capacity() * 8 + keys
    }
}

#[inline]
pub(crate) fn bloom_bits(hash: u64, mask: usize) -> (usize, u64) {
    let w = (hash >> 32) as usize & mask;
    let bits = 1u64 << (hash & 63) | 1u64 << ((hash >> 6) & 63);
    (w, bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_is_there_and_only_that() {
        let m = StrMap::build((0..10_000u32).map(|i| (format!("k{i}").into_boxed_str(), i)));
        assert_eq!(m.len(), 10_000);
        for i in 0..10_000 {
            assert_eq!(m.get(&format!("k{i}")), Some(&i));
            assert_eq!(m.get(&format!("x{i}")), None);
        }
        let empty: StrMap<u32> = StrMap::default();
        assert_eq!(empty.get("k1"), None);
    }
}
