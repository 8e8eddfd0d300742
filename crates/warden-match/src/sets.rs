//! Interned sets of entry ids: one lookup answers with one set id, and the set lists every
//! entry that matches. A set id is the offset of the set in one flat array, where the set's
//! length is followed by its members: reading a set is one memory access. A set of one entry
//! (the common case) is the entry id itself with the top bit set, and costs no access at all.
//! Set 0 is empty.

use hashbrown::HashMap;

const SINGLE: u32 = 1 << 31;

/// The entries one probe matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matches<'a> {
    One(u32),
    Many(&'a [u32]),
}

impl<'a> Matches<'a> {
    pub const NONE: Matches<'static> = Matches::Many(&[]);

    #[inline]
    pub fn len(&self) -> usize {
        match self {
            Matches::One(_) => 1,
            Matches::Many(s) => s.len(),
        }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = u32> + 'a {
        let (one, many): (Option<u32>, &'a [u32]) = match *self {
            Matches::One(e) => (Some(e), &[]),
            Matches::Many(s) => (None, s),
        };
        one.into_iter().chain(many.iter().copied())
    }

    #[inline]
    pub fn push_to(&self, out: &mut Vec<u32>) {
        match self {
            Matches::One(e) => out.push(*e),
            Matches::Many(s) => out.extend_from_slice(s),
        }
    }
}

#[derive(Debug)]
pub struct SetsBuilder {
    ids: HashMap<Box<[u32]>, u32>,
    items: Vec<u32>,
}

impl Default for SetsBuilder {
    fn default() -> Self {
        SetsBuilder {
            ids: HashMap::new(),
            items: vec![0],
        }
    }
}

impl SetsBuilder {
    /// The id of the set holding exactly `members` (sorted, no duplicates).
    pub fn intern(&mut self, members: &[u32]) -> u32 {
        match members {
            [] => return 0,
            [one] if *one < SINGLE => return SINGLE | *one,
            _ => {}
        }
        if let Some(id) = self.ids.get(members) {
            return *id;
        }
        let id = self.items.len() as u32;
        self.items.push(members.len() as u32);
        self.items.extend_from_slice(members);
        self.ids.insert(members.into(), id);
        id
    }

    /// Like `intern`, for a list in any order and with repeats.
    pub fn intern_unsorted(&mut self, mut members: Vec<u32>) -> u32 {
        members.sort_unstable();
        members.dedup();
        self.intern(&members)
    }

    pub fn finish(self) -> Sets {
        Sets { items: self.items }
    }
}

#[derive(Debug, Clone)]
pub struct Sets {
    items: Vec<u32>,
}

impl Default for Sets {
    fn default() -> Self {
        Sets { items: vec![0] }
    }
}

impl Sets {
    #[inline]
    pub fn get(&self, id: u32) -> Matches<'_> {
        if id & SINGLE != 0 {
            return Matches::One(id & !SINGLE);
        }
        let at = id as usize;
        Matches::Many(match self.items.get(at) {
            Some(len) => self
                .items
                .get(at + 1..at + 1 + *len as usize)
                .unwrap_or(&[]),
            None => &[],
        })
    }

    pub fn heap_bytes(&self) -> usize {
        self.items.capacity() * 4
    }
}
