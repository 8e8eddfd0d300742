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
fn bloom_bits(hash: u64, mask: usize) -> (usize, u64) {
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

/// File hashes (MD5, SHA-1, SHA-256) keyed by their own bits: a digest is already uniformly
/// random, so its first eight bytes place it, and the whole digest fills one 32-byte,
/// 32-aligned slot (never two cache lines) for an exact comparison. One table per digest
/// length; values sit in a parallel array, read together with the slot. No string hashing.
#[derive(Debug, Default)]
pub struct DigestMap {
    by_len: [DigestTable; 3],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, align(32))]
struct DigestSlot([u8; 32]);

#[derive(Debug)]
struct DigestTable {
    slots: Vec<DigestSlot>,
    values: Vec<u32>,
    mask: usize,
    len: usize,
    /// The all-zero digest marks empty slots, so it is kept aside.
    zero: Option<u32>,
    bloom: Vec<u64>,
    bloom_mask: usize,
}

impl Default for DigestTable {
    fn default() -> Self {
        DigestTable::build(vec![])
    }
}

fn len_slot(len: u8) -> usize {
    match len {
        16 => 0,
        20 => 1,
        _ => 2,
    }
}

impl DigestTable {
    fn build(items: Vec<([u8; 32], u32)>) -> DigestTable {
        let cap = (items.len() * 2).next_power_of_two().max(2);
        let mask = cap - 1;
        let mut slots = vec![DigestSlot([0; 32]); cap];
        let mut values = vec![0u32; cap];
        let words = (items.len() / 4).next_power_of_two().max(1);
        let mut bloom = vec![0u64; words];
        let bloom_mask = words - 1;
        let mut zero = None;
        let mut len = 0;
        for (digest, value) in items {
            len += 1;
            if digest == [0; 32] {
                zero = Some(value);
                continue;
            }
            let pos = digest_pos(&digest);
            let (w, bits) = bloom_bits(pos.rotate_left(17), bloom_mask);
            bloom[w] |= bits;
            let mut i = pos as usize & mask;
            while slots[i].0 != [0; 32] {
                i = (i + 1) & mask;
            }
            slots[i] = DigestSlot(digest);
            values[i] = value;
        }
        DigestTable {
            slots,
            values,
            mask,
            len,
            zero,
            bloom,
            bloom_mask,
        }
    }

    #[inline]
    fn get(&self, d: &[u8; 32]) -> Option<u32> {
        let pos = digest_pos(d);
        let (w, bits) = bloom_bits(pos.rotate_left(17), self.bloom_mask);
        if self.bloom[w] & bits != bits {
            return if *d == [0; 32] { self.zero } else { None };
        }
        let mut i = pos as usize & self.mask;
        loop {
            let (s, v) = (&self.slots[i], self.values[i]);
            if s.0 == *d {
                return Some(v);
            }
            if s.0 == [0; 32] {
                return None;
            }
            i = (i + 1) & self.mask;
        }
    }

    /// The slots from the digest's home position (its filter bits already checked).
    #[inline]
    fn probe(&self, d: &[u8; 32], pos: u64) -> Option<u32> {
        let mut i = pos as usize & self.mask;
        loop {
            let s = &self.slots[i];
            if s.0 == *d {
                return Some(self.values[i]);
            }
            if s.0 == [0; 32] {
                return None;
            }
            i = (i + 1) & self.mask;
        }
    }

    fn heap_bytes(&self) -> usize {
        self.slots.capacity() * 32 + self.values.capacity() * 4 + self.bloom.capacity() * 8
    }

    /// Probes for up to `GROUP` digests at once: first every filter word, then every slot,
    /// so their memory reads overlap instead of waiting one after another.
    #[inline]
    fn get_group(&self, ds: &[[u8; 32]], out: &mut [Option<u32>]) {
        let mut pos = [0usize; GROUP];
        let mut maybe = [false; GROUP];
        for (k, d) in ds.iter().enumerate() {
            let p = digest_pos(d);
            let (w, bits) = bloom_bits(p.rotate_left(17), self.bloom_mask);
            maybe[k] = self.bloom[w] & bits == bits;
            pos[k] = p as usize & self.mask;
        }
        for (k, d) in ds.iter().enumerate() {
            out[k] = if *d == [0; 32] {
                self.zero
            } else if maybe[k] {
                let mut i = pos[k];
                loop {
                    let s = &self.slots[i];
                    if s.0 == *d {
                        break Some(self.values[i]);
                    }
                    if s.0 == [0; 32] {
                        break None;
                    }
                    i = (i + 1) & self.mask;
                }
            } else {
                None
            };
        }
    }
}

/// Digests probed together by `DigestMap::get_many`.
pub const GROUP: usize = 16;

/// The bytes of a hex digest of 16, 20 or 32 bytes (zero-padded to 32).
pub fn decode_digest(hex: &str) -> Option<([u8; 32], u8)> {
    let b = hex.as_bytes();
    if !matches!(b.len(), 32 | 40 | 64) {
        return None;
    }
    let mut out = [0u8; 32];
    let mut bad = 0u8;
    for (i, pair) in b.chunks_exact(2).enumerate() {
        let (hi, lo) = (HEX[usize::from(pair[0])], HEX[usize::from(pair[1])]);
        bad |= hi | lo;
        out[i] = (hi << 4) | (lo & 0x0F);
    }
    // Any non-hex byte sets the high bit.
    (bad & 0x80 == 0).then_some((out, (b.len() / 2) as u8))
}

/// Four bytes from eight hex digits (unchecked), eight at a time in one word.
#[inline]
fn swar_hex8(b: &[u8]) -> u32 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[..8]);
    let x = u64::from_le_bytes(w);
    // '0'-'9' have bit 6 clear, letters set; a letter's low nibble plus 9 is its value.
    let nib = (x & 0x0f0f_0f0f_0f0f_0f0f) + ((x >> 6) & 0x0101_0101_0101_0101) * 9;
    let t = ((nib << 4) | (nib >> 8)) & 0x00ff_00ff_00ff_00ff;
    let t = (t | (t >> 8)) & 0x0000_ffff_0000_ffff;
    ((t | (t >> 16)) & 0xffff_ffff) as u32
}

/// `swar_hex8`, refusing anything but hex digits.
#[inline]
fn swar_hex8_checked(b: &[u8]) -> Option<u32> {
    const H: u64 = 0x8080_8080_8080_8080;
    const L: u64 = 0x0101_0101_0101_0101;
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[..8]);
    let x = u64::from_le_bytes(w);
    if x & H != 0 {
        return None;
    }
    // Per byte, with the high bits clear: the high bit of `ge(v, n)` is set where v >= n.
    let ge = |v: u64, n: u64| ((v | H) - n * L) & H;
    let digit = ge(x, 0x30) & !ge(x, 0x3a);
    let lower = x | 0x2020_2020_2020_2020;
    let letter = ge(lower, 0x61) & !ge(lower, 0x67);
    ((digit | letter) == H).then(|| swar_hex8(b))
}

/// Hex digit values; 0x80 marks a byte that is not one.
const HEX: [u8; 256] = {
    let mut t = [0x80u8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

#[inline]
fn digest_pos(d: &[u8; 32]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&d[..8]);
    u64::from_le_bytes(w)
}

impl DigestMap {
    /// Keys that are not hex digests are skipped. Keys must be distinct.
    pub fn build<'a>(items: impl IntoIterator<Item = (&'a str, u32)>) -> DigestMap {
        let mut parts: [Vec<([u8; 32], u32)>; 3] = Default::default();
        for (k, v) in items {
            if let Some((d, l)) = decode_digest(k) {
                parts[len_slot(l)].push((d, v));
            }
        }
        let [a, b, c] = parts;
        DigestMap {
            by_len: [
                DigestTable::build(a),
                DigestTable::build(b),
                DigestTable::build(c),
            ],
        }
    }

    #[inline]
    pub fn get(&self, hex: &str) -> Option<u32> {
        let b = hex.as_bytes();
        if !matches!(b.len(), 32 | 40 | 64) {
            return None;
        }
        // The first eight bytes place the digest and pick its filter bits: decode only them
        // until the filter says the digest may be there (most misses stop here).
        // Not validated here: a non-hex head only picks some filter word, and the full decode
        // below refuses it before any comparison.
        let pos = u64::from(swar_hex8(&b[..8])) | u64::from(swar_hex8(&b[8..16])) << 32;
        let t = &self.by_len[len_slot((b.len() / 2) as u8)];
        let (w, bits) = bloom_bits(pos.rotate_left(17), t.bloom_mask);
        if t.bloom[w] & bits != bits && pos != 0 {
            return None;
        }
        // Past the filter: decode and check every digit, a word at a time.
        let mut d = [0u8; 32];
        for (i, word) in b.chunks_exact(8).enumerate() {
            let v = swar_hex8_checked(word)?;
            d[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
        }
        if d == [0; 32] {
            return t.zero;
        }
        t.probe(&d, pos)
    }

    /// `get` for many hex digests of one length class at once (batch lookups): the answers
    /// in `out`, in order.
    pub fn get_many<'a>(
        &self,
        hexes: impl IntoIterator<Item = &'a str>,
        out: &mut Vec<Option<u32>>,
    ) {
        let mut ds = [[0u8; 32]; GROUP];
        let mut lens = [0u8; GROUP];
        let mut valid = [false; GROUP];
        let mut res = [None; GROUP];
        let mut n = 0;
        let flush = |n: usize,
                     ds: &[[u8; 32]; GROUP],
                     lens: &[u8; GROUP],
                     valid: &[bool; GROUP],
                     res: &mut [Option<u32>; GROUP],
                     out: &mut Vec<Option<u32>>| {
            // Groups are probed per table; mixed lengths fall back to one at a time.
            let l = lens[0];
            if valid[..n].iter().all(|v| *v) && lens[..n].iter().all(|x| *x == l) {
                self.by_len[len_slot(l)].get_group(&ds[..n], &mut res[..n]);
                out.extend_from_slice(&res[..n]);
            } else {
                for k in 0..n {
                    out.push(if valid[k] {
                        self.by_len[len_slot(lens[k])].get(&ds[k])
                    } else {
                        None
                    });
                }
            }
        };
        for h in hexes {
            match decode_digest(h) {
                Some((d, l)) => {
                    ds[n] = d;
                    lens[n] = l;
                    valid[n] = true;
                }
                None => valid[n] = false,
            }
            n += 1;
            if n == GROUP {
                flush(n, &ds, &lens, &valid, &mut res, out);
                n = 0;
            }
        }
        if n > 0 {
            flush(n, &ds, &lens, &valid, &mut res, out);
        }
    }

    pub fn len(&self) -> usize {
        self.by_len.iter().map(|t| t.len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn heap_bytes(&self) -> usize {
        self.by_len.iter().map(DigestTable::heap_bytes).sum()
    }
}

#[cfg(test)]
mod digest_tests {
    use super::*;

    #[test]
    fn digests_of_every_length_are_found_exactly() {
        let md5 = "d41d8cd98f00b204e9800998ecf8427e";
        let sha1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
        let sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let zero = "0".repeat(64);
        let m = DigestMap::build([(md5, 1), (sha1, 2), (sha256, 3), ("not hex", 4), (&zero, 5)]);
        assert_eq!(m.get(&zero), Some(5));
        assert_eq!(m.get(&"0".repeat(32)), None);
        assert_eq!(m.len(), 4);
        assert_eq!(m.get(md5), Some(1));
        assert_eq!(m.get(sha1), Some(2));
        assert_eq!(m.get(sha256), Some(3));
        // Same first bytes, different digest or length: no match.
        assert_eq!(m.get(&sha256[..40]), None);
        assert_eq!(
            m.get("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b856"),
            None
        );
        assert_eq!(m.get("zz"), None);
        assert_eq!(
            swar_hex8(b"e3b0c442"),
            u32::from_le_bytes([0xe3, 0xb0, 0xc4, 0x42])
        );
        assert_eq!(
            swar_hex8(b"E3B0C442"),
            u32::from_le_bytes([0xe3, 0xb0, 0xc4, 0x42])
        );
        // A non-hex character anywhere is refused.
        let mut bad = sha256.to_owned();
        bad.replace_range(3..4, "g");
        assert_eq!(m.get(&bad), None);
        // Many at once: the same answers, in order, whatever the grouping.
        let mut qs: Vec<String> = vec![];
        for i in 0..40 {
            qs.push(match i % 5 {
                0 => md5.into(),
                1 => sha256.into(),
                2 => "nope".into(),
                3 => zero.clone(),
                _ => sha1.into(),
            });
        }
        let mut out = vec![];
        m.get_many(qs.iter().map(String::as_str), &mut out);
        let one: Vec<Option<u32>> = qs.iter().map(|q| m.get(q)).collect();
        assert_eq!(out, one);
        let same: Vec<&str> = vec![sha256; 33];
        let mut out = vec![];
        m.get_many(same, &mut out);
        assert_eq!(out, vec![Some(3); 33]);
    }
}
