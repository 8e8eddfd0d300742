//! File hashes (MD5, SHA-1, SHA-256) by their normalised form, lowercase hex.
//!
//! Each listed digest is kept as the text it is, in a slot of its own width (a SHA-256 digest
//! fills one 64-byte, 64-aligned slot: one cache line), with its value in a parallel array. A
//! lookup mixes the query's first sixteen bytes into a position and filter bits (a digest is
//! already random: no string hashing), then compares the query's bytes with the slot's a word
//! at a time. Nothing is decoded: a query equal to a listed digest is that digest, so no digit
//! needs checking either. Few instructions per lookup is what lets the processor overlap the
//! memory reads of consecutive lookups, and those reads are most of a lookup's time.

use crate::strmap::bloom_bits;
use std::hash::BuildHasher;

/// Digests probed together by `DigestMap::get_many`.
pub const GROUP: usize = 16;

/// A slot: one digest's hex digits; all zero when empty (a digit is never a zero byte).
trait Line: Copy + std::fmt::Debug {
    const EMPTY: Self;
    fn new(hex: &[u8]) -> Self;
    fn hex(&self) -> &[u8];
}

macro_rules! line {
    ($name:ident, $n:literal, $align:literal) => {
        #[derive(Debug, Clone, Copy)]
        #[repr(C, align($align))]
        struct $name([u8; $n]);

        impl Line for $name {
            const EMPTY: Self = $name([0; $n]);

            fn new(hex: &[u8]) -> Self {
                let mut l = [0u8; $n];
                l.copy_from_slice(hex);
                $name(l)
            }

            #[inline]
            fn hex(&self) -> &[u8] {
                &self.0
            }
        }
    };
}

line!(Md5Line, 32, 32);
line!(Sha1Line, 40, 8);
line!(Sha256Line, 64, 64);

/// Whether `b` is a digest in normalised form: 32, 40 or 64 lowercase hex digits.
fn is_normalised(b: &[u8]) -> bool {
    matches!(b.len(), 32 | 40 | 64) && b.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

#[inline]
fn word(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(b);
    u64::from_le_bytes(w)
}

/// Whether two strings of the same length (a multiple of eight) are equal: word by word,
/// without a call to `memcmp`.
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && a.chunks_exact(8)
            .zip(b.chunks_exact(8))
            .fold(0, |acc, (x, y)| acc | (word(x) ^ word(y)))
            == 0
}

#[derive(Debug)]
struct Table<L: Line> {
    slots: Vec<L>,
    values: Vec<u32>,
    mask: usize,
    /// Keys of the mix, drawn per table so that no one can choose digests that crowd a slot.
    seed: [u64; 2],
    bloom: Vec<u64>,
    bloom_mask: usize,
}

impl<L: Line> Table<L> {
    fn build(items: Vec<(&[u8], u32)>) -> Self {
        let state = std::hash::RandomState::new();
        let seed = [state.hash_one(1u8), state.hash_one(2u8)];
        let len = items.len();
        // Load factor at most 1/2: a hit is one slot away from home on average.
        let cap = (len * 2).next_power_of_two().max(2);
        let mask = cap - 1;
        let mut slots = vec![L::EMPTY; cap];
        let mut values = vec![0u32; cap];
        // About 16 bits per key, two bits per key in one word: around 1% false positives.
        let words = (len / 4).next_power_of_two().max(1);
        let mut bloom = vec![0u64; words];
        let bloom_mask = words - 1;
        for (hex, value) in items {
            let h = mix(&seed, hex);
            let (w, bits) = bloom_bits(h, bloom_mask);
            bloom[w] |= bits;
            let mut i = home(h, mask);
            while slots[i].hex()[0] != 0 {
                i = (i + 1) & mask;
            }
            slots[i] = L::new(hex);
            values[i] = value;
        }
        Table {
            slots,
            values,
            mask,
            seed,
            bloom,
            bloom_mask,
        }
    }

    #[inline]
    fn mix(&self, hex: &[u8]) -> u64 {
        mix(&self.seed, hex)
    }

    /// Whether the filter lets `h` through.
    #[inline]
    fn maybe(&self, h: u64) -> bool {
        let (w, bits) = bloom_bits(h, self.bloom_mask);
        self.bloom[w] & bits == bits
    }

    #[inline]
    fn get(&self, hex: &[u8]) -> Option<u32> {
        let h = self.mix(hex);
        if !self.maybe(h) {
            return None;
        }
        self.probe(hex, h)
    }

    /// The slots from the digest's home (its filter bits already checked).
    #[inline]
    fn probe(&self, hex: &[u8], h: u64) -> Option<u32> {
        let mut i = home(h, self.mask);
        loop {
            let s = self.slots[i].hex();
            // Empty first: a query of zero bytes must not match an empty slot.
            if s[0] == 0 {
                return None;
            }
            if same(s, hex) {
                return Some(self.values[i]);
            }
            i = (i + 1) & self.mask;
        }
    }

    fn heap_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<L>()
            + self.values.capacity() * 4
            + self.bloom.capacity() * 8
    }
}

/// Position and filter bits from a digest's first sixteen bytes (it has at least 32).
#[inline]
fn mix(seed: &[u64; 2], hex: &[u8]) -> u64 {
    let (a, b) = match hex.get(..16) {
        Some(h) => (word(&h[..8]), word(&h[8..])),
        None => (0, 0),
    };
    // A folded multiply: every input bit reaches both halves of the product.
    let p = u128::from(a ^ seed[0]) * u128::from(b ^ seed[1]);
    (p as u64) ^ ((p >> 64) as u64)
}

/// The home slot: bits of the mix that the filter's bit choice (its low twelve) does not use.
#[inline]
fn home(h: u64, mask: usize) -> usize {
    (h >> 12) as usize & mask
}

#[derive(Debug)]
pub struct DigestMap {
    md5: Table<Md5Line>,
    sha1: Table<Sha1Line>,
    sha256: Table<Sha256Line>,
    len: usize,
}

impl Default for DigestMap {
    fn default() -> Self {
        DigestMap::build(std::iter::empty())
    }
}

impl DigestMap {
    /// Keys not in normalised form (lowercase hex of 32, 40 or 64 digits) are skipped. Keys
    /// must be distinct.
    pub fn build<'a>(items: impl IntoIterator<Item = (&'a str, u32)>) -> DigestMap {
        let mut by_len: [Vec<(&[u8], u32)>; 3] = Default::default();
        for (k, v) in items {
            let b = k.as_bytes();
            if is_normalised(b) {
                by_len[usize::from(b.len() > 32) + usize::from(b.len() > 40)].push((b, v));
            }
        }
        let len = by_len.iter().map(Vec::len).sum();
        let [md5, sha1, sha256] = by_len;
        DigestMap {
            md5: Table::build(md5),
            sha1: Table::build(sha1),
            sha256: Table::build(sha256),
            len,
        }
    }

    /// The value of the digest `hex` in normalised form; any other string misses.
    #[inline]
    pub fn get(&self, hex: &str) -> Option<u32> {
        let b = hex.as_bytes();
        match b.len() {
            64 => self.sha256.get(b),
            40 => self.sha1.get(b),
            32 => self.md5.get(b),
            _ => None,
        }
    }

    /// `get` for many digests at once (batch lookups): the answers in `out`, in order.
    pub fn get_many<'a>(
        &self,
        hexes: impl IntoIterator<Item = &'a str>,
        out: &mut Vec<Option<u32>>,
    ) {
        let mut group: [&[u8]; GROUP] = [&[]; GROUP];
        let mut n = 0;
        for h in hexes {
            group[n] = h.as_bytes();
            n += 1;
            if n == GROUP {
                self.get_group(&group, out);
                n = 0;
            }
        }
        self.get_group(&group[..n], out);
    }

    /// First every probe's filter word, then every slot, so that the group's memory reads
    /// overlap instead of waiting one after another.
    #[inline]
    fn get_group(&self, hs: &[&[u8]], out: &mut Vec<Option<u32>>) {
        let mut mixes = [0u64; GROUP];
        let mut maybe = [false; GROUP];
        for ((h, m), maybe) in hs.iter().zip(&mut mixes).zip(&mut maybe) {
            (*m, *maybe) = match h.len() {
                64 => {
                    let m = self.sha256.mix(h);
                    (m, self.sha256.maybe(m))
                }
                40 => {
                    let m = self.sha1.mix(h);
                    (m, self.sha1.maybe(m))
                }
                32 => {
                    let m = self.md5.mix(h);
                    (m, self.md5.maybe(m))
                }
                _ => (0, false),
            };
        }
        for ((h, m), maybe) in hs.iter().zip(mixes).zip(maybe) {
            out.push(match (maybe, h.len()) {
                (false, _) => None,
                (true, 64) => self.sha256.probe(h, m),
                (true, 40) => self.sha1.probe(h, m),
                (true, _) => self.md5.probe(h, m),
            });
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn heap_bytes(&self) -> usize {
        self.md5.heap_bytes() + self.sha1.heap_bytes() + self.sha256.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sha256_slot_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<Sha256Line>(), 64);
        assert_eq!(std::mem::align_of::<Sha256Line>(), 64);
        assert_eq!(std::mem::size_of::<Md5Line>(), 32);
    }

    #[test]
    fn digests_of_every_length_are_found_exactly() {
        let md5 = "d41d8cd98f00b204e9800998ecf8427e";
        let sha1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
        let sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let zero = "0".repeat(64);
        let upper = sha256.to_ascii_uppercase();
        let m = DigestMap::build([
            (md5, 1),
            (sha1, 2),
            (sha256, 3),
            ("not hex", 4),
            (&zero, 5),
            (&upper, 6),
            (&"g".repeat(64), 7),
        ]);
        assert_eq!(m.len(), 4);
        assert_eq!(m.get(&zero), Some(5));
        assert_eq!(m.get(&"0".repeat(32)), None);
        assert_eq!(m.get(md5), Some(1));
        assert_eq!(m.get(sha1), Some(2));
        assert_eq!(m.get(sha256), Some(3));
        // Same first digits, different digest or length: no match.
        assert_eq!(m.get(&sha256[..40]), None);
        assert_eq!(m.get(&sha256[..32]), None);
        assert_eq!(
            m.get("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b856"),
            None
        );
        assert_eq!(m.get("zz"), None);
        // Only the normalised form matches.
        assert_eq!(m.get(&upper), None);
        assert_eq!(m.get(&sha256.replace("e3b0", "E3B0")), None);
        // Anything else in any place misses, zero bytes too (an empty slot is all zero).
        for at in [0, 3, 15, 16, 40, 63] {
            for c in [b'g', b':', b'u', b'A', 0] {
                let mut bad = sha256.as_bytes().to_vec();
                bad[at] = c;
                let bad = String::from_utf8(bad).unwrap_or_default();
                assert_eq!(m.get(&bad), None, "{bad:?}");
            }
        }
        assert_eq!(m.get(&"\0".repeat(64)), None);
        assert_eq!(m.get(&"\0".repeat(32)), None);
        // Many at once: the same answers, in order, whatever the grouping.
        let mut qs: Vec<String> = vec![];
        for i in 0..40 {
            qs.push(match i % 7 {
                0 => md5.into(),
                1 => sha256.into(),
                2 => "nope".into(),
                3 => zero.clone(),
                4 => upper.clone(),
                5 => "\0".repeat(64),
                _ => sha1.into(),
            });
        }
        let mut out = vec![];
        m.get_many(qs.iter().map(String::as_str), &mut out);
        let one: Vec<Option<u32>> = qs.iter().map(|q| m.get(q)).collect();
        assert_eq!(out, one);
        assert_eq!(out.iter().filter(|o| o.is_some()).count(), 23);
        let same: Vec<&str> = vec![sha256; 33];
        let mut out = vec![];
        m.get_many(same, &mut out);
        assert_eq!(out, vec![Some(3); 33]);
        let mut out = vec![];
        m.get_many([], &mut out);
        assert!(out.is_empty());
        let empty = DigestMap::default();
        assert_eq!(empty.get(sha256), None);
        assert_eq!(empty.get(&"\0".repeat(64)), None);
    }

    #[test]
    fn many_digests_sharing_their_first_digits() {
        // Digests alike in their first sixteen digits share a home: probing walks past them.
        let keys: Vec<String> = (0..2000u32)
            .map(|i| format!("{:016x}{:048x}", u64::from(i % 7), i))
            .chain((0..2000u32).map(|i| format!("{:016x}{:024x}", u64::from(i % 3), i)))
            .collect();
        let m = DigestMap::build(keys.iter().enumerate().map(|(i, k)| (k.as_str(), i as u32)));
        assert_eq!(m.len(), 4000);
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(m.get(k), Some(i as u32));
        }
        assert_eq!(m.get(&format!("{:016x}{:048x}", 3, 5000)), None);
        let mut out = vec![];
        m.get_many(keys.iter().map(String::as_str), &mut out);
        assert!(out.iter().enumerate().all(|(i, o)| *o == Some(i as u32)));
    }
}
