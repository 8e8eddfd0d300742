//! One immutable index over a set of entries (active block targets). Built once, read by any
//! number of threads without locks; changes make a new index (see `live`).

use crate::digests::DigestMap;
use crate::sets::{Matches, Sets, SetsBuilder};
use crate::strmap::StrMap;
use crate::table::IntervalTable;
use hashbrown::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::indicator::{Indicator, IndicatorType, TargetScope};

/// One listed target: what an enforcer must block, and the measure that says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub measure_id: Uuid,
    pub target: Indicator,
    pub scope: TargetScope,
    /// The last number of a number range.
    pub range_last: Option<Indicator>,
    pub recipient_id: Uuid,
    pub recipient_slug: String,
    /// The public reference number, quoted in appeals.
    pub reference: String,
    pub since: OffsetDateTime,
    pub expires: OffsetDateTime,
    /// The change sequence number at which it was listed (stable ids such as Suricata sids
    /// derive from it).
    pub listed_serial: i64,
}

/// Domain names: entries on the name itself and entries on the name and everything below.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NameSets {
    exact: u32,
    subtree: u32,
}

#[derive(Debug, Default)]
pub struct Index {
    entries: Vec<Arc<Entry>>,
    sets: Sets,
    v4: IntervalTable<u32>,
    v6: IntervalTable<u128>,
    /// Phone numbers as `digits << 4 | digit count`: ranges never mix lengths.
    phone_ranges: IntervalTable<u64>,
    names: StrMap<NameSets>,
    /// The fewest labels of a name with a subtree entry: shorter suffixes are not probed.
    min_subtree_labels: usize,
    /// URL lookup expressions (host + path [+ query]) without scheme or port.
    urls: StrMap<u32>,
    /// Exact values: e-mail addresses, mail domains (`@domain`), phone numbers, broadband
    /// accounts.
    exact: StrMap<u32>,
    /// File hashes.
    digests: DigestMap,
    /// Mail domains blocked whole (every address at them).
    mail_domains: StrMap<u32>,
}

pub(crate) fn phone_key(value: &str) -> Option<u64> {
    let digits = value.strip_prefix('+')?;
    let n: u64 = digits.parse().ok()?;
    Some(n << 4 | digits.len() as u64)
}

/// `host/path?query` of a canonical URL, without scheme and port; and the host alone.
pub fn url_parts(canonical: &str) -> Option<(&str, &str)> {
    let rest = canonical.split_once("://")?.1;
    let path_at = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..path_at];
    let host = if authority.starts_with('[') {
        authority.split_once(']').map(|(h, _)| &h[1..])?
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    Some((host, &rest[path_at..]))
}

fn url_key(canonical: &str) -> Option<String> {
    let (host, path) = url_parts(canonical)?;
    let path = if path.is_empty() { "/" } else { path };
    Some(format!("{host}{path}"))
}

impl Index {
    pub fn build(entries: Vec<Arc<Entry>>) -> Index {
        let mut sets = SetsBuilder::default();
        let mut v4 = vec![];
        let mut v6 = vec![];
        let mut phones = vec![];
        let mut names: HashMap<Box<str>, (Vec<u32>, Vec<u32>)> = HashMap::new();
        let mut urls: HashMap<Box<str>, Vec<u32>> = HashMap::new();
        let mut exact: HashMap<Box<str>, Vec<u32>> = HashMap::new();
        let mut digests: HashMap<Box<str>, Vec<u32>> = HashMap::new();
        let mut mail_domains: HashMap<Box<str>, Vec<u32>> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            let i = i as u32;
            let value = e.target.value();
            match e.target.kind() {
                IndicatorType::Ipv4 | IndicatorType::Ipv6 | IndicatorType::Cidr => {
                    match e.target.network() {
                        Some(ipnet::IpNet::V4(n)) => {
                            v4.push((u32::from(n.network()), u32::from(n.broadcast()), i))
                        }
                        Some(ipnet::IpNet::V6(n)) => {
                            v6.push((u128::from(n.network()), u128::from(n.broadcast()), i))
                        }
                        None => {}
                    }
                }
                IndicatorType::Domain => {
                    let slot = names.entry(value.into()).or_default();
                    if e.scope == TargetScope::Subdomains {
                        slot.1.push(i);
                    } else {
                        slot.0.push(i);
                    }
                }
                IndicatorType::Url => {
                    if let Some(k) = url_key(value) {
                        urls.entry(k.into()).or_default().push(i);
                    }
                }
                IndicatorType::Email if e.scope == TargetScope::MailDomain => {
                    if let Some(d) = e.target.domain() {
                        mail_domains.entry(d.into()).or_default().push(i);
                    }
                }
                IndicatorType::Phone if e.scope == TargetScope::NumberRange => {
                    let last = e.range_last.as_ref().map_or(value, |l| l.value());
                    if let (Some(lo), Some(hi)) = (phone_key(value), phone_key(last)) {
                        phones.push((lo, hi, i));
                    }
                }
                IndicatorType::Md5 | IndicatorType::Sha1 | IndicatorType::Sha256 => {
                    digests.entry(value.into()).or_default().push(i)
                }
                _ => exact.entry(value.into()).or_default().push(i),
            }
        }
        let v4 = IntervalTable::build(v4, &mut sets);
        let v6 = IntervalTable::build(v6, &mut sets);
        let phone_ranges = IntervalTable::build(phones, &mut sets);
        let min_subtree_labels = names
            .iter()
            .filter(|(_, (_, sub))| !sub.is_empty())
            .map(|(k, _)| k.split('.').count())
            .min()
            .unwrap_or(usize::MAX);
        let names: Vec<(Box<str>, NameSets)> = names
            .into_iter()
            .map(|(k, (ex, sub))| {
                let s = NameSets {
                    exact: sets.intern_unsorted(ex),
                    subtree: sets.intern_unsorted(sub),
                };
                (k, s)
            })
            .collect();
        let names = StrMap::build(names);
        let mut finish = |m: HashMap<Box<str>, Vec<u32>>| -> StrMap<u32> {
            let v: Vec<(Box<str>, u32)> = m
                .into_iter()
                .map(|(k, v)| (k, sets.intern_unsorted(v)))
                .collect();
            StrMap::build(v)
        };
        let urls = finish(urls);
        let exact = finish(exact);
        let mail_domains = finish(mail_domains);
        let digest_sets: Vec<(Box<str>, u32)> = digests
            .into_iter()
            .map(|(k, v)| (k, sets.intern_unsorted(v)))
            .collect();
        let digests = DigestMap::build(digest_sets.iter().map(|(k, v)| (&**k, *v)));
        Index {
            entries,
            sets: sets.finish(),
            v4,
            v6,
            phone_ranges,
            names,
            min_subtree_labels,
            urls,
            exact,
            digests,
            mail_domains,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entries(&self) -> &[Arc<Entry>] {
        &self.entries
    }

    pub fn entry(&self, i: u32) -> &Arc<Entry> {
        &self.entries[i as usize]
    }

    /// Entries covering an IPv4 address (ids into `entries`).
    #[inline]
    pub fn v4(&self, a: Ipv4Addr) -> Matches<'_> {
        self.sets.get(self.v4.find(u32::from(a)))
    }

    #[inline]
    pub fn v6(&self, a: Ipv6Addr) -> Matches<'_> {
        self.sets.get(self.v6.find(u128::from(a)))
    }

    pub fn ip(&self, a: IpAddr) -> Matches<'_> {
        match a {
            IpAddr::V4(a) => self.v4(a),
            IpAddr::V6(a) => self.v6(a),
        }
    }

    /// Entries on a normalised domain name: exact on it, or subtree on it or an ancestor.
    #[inline]
    pub fn domain(&self, name: &str, out: &mut Vec<u32>) {
        if let Some(s) = self.names.get(name) {
            self.sets.get(s.exact).push_to(out);
            self.sets.get(s.subtree).push_to(out);
        }
        if self.min_subtree_labels == usize::MAX {
            return;
        }
        // Parents from the longest down to the shortest that any subtree entry has.
        let mut labels = name.bytes().filter(|b| *b == b'.').count() + 1;
        let mut rest = name;
        while let Some((_, parent)) = rest.split_once('.') {
            labels -= 1;
            if labels < self.min_subtree_labels {
                break;
            }
            if let Some(s) = self.names.get(parent) {
                self.sets.get(s.subtree).push_to(out);
            }
            rest = parent;
        }
    }

    /// Entries on exactly this value (e-mail addresses, phone numbers, accounts, hashes).
    #[inline]
    pub fn exact_into(&self, value: &str, out: &mut Vec<u32>) {
        if let Some(s) = self.exact.get(value) {
            self.sets.get(*s).push_to(out);
        }
    }

    /// Every entry that matches `ind`, appended to `out` (may repeat; callers dedupe).
    pub fn lookup(&self, ind: &Indicator, out: &mut Vec<u32>) {
        self.lookup_normalized(ind.kind(), ind.value(), out)
    }

    /// The same for a value already in normalised form (as `Indicator::value` gives it), read
    /// in place: from a request buffer, say, without building an `Indicator`.
    pub fn lookup_normalized(&self, kind: IndicatorType, value: &str, out: &mut Vec<u32>) {
        match kind {
            IndicatorType::Ipv4 | IndicatorType::Ipv6 => {
                if let Ok(a) = value.parse::<IpAddr>() {
                    self.ip(a).push_to(out);
                }
            }
            IndicatorType::Cidr => {
                // A network is listed when an entry covers all of it.
                if let Ok(net) = value.parse::<ipnet::IpNet>() {
                    let hits = self.ip(net.network());
                    out.extend(hits.iter().filter(|i| {
                        self.entries[*i as usize]
                            .target
                            .network()
                            .is_some_and(|n| n.contains(&net))
                    }));
                }
            }
            IndicatorType::Domain => self.domain(value, out),
            IndicatorType::Url => self.url(value, out),
            IndicatorType::Email => {
                self.exact_into(value, out);
                if !self.mail_domains.is_empty()
                    && let Some((_, d)) = value.rsplit_once('@')
                    && let Some(s) = self.mail_domains.get(d)
                {
                    self.sets.get(*s).push_to(out);
                }
            }
            IndicatorType::Phone => {
                self.exact_into(value, out);
                if self.phone_ranges.intervals() > 1
                    && let Some(k) = phone_key(value)
                {
                    self.sets.get(self.phone_ranges.find(k)).push_to(out);
                }
            }
            IndicatorType::Md5 | IndicatorType::Sha1 | IndicatorType::Sha256 => {
                if let Some(s) = self.digests.get(value) {
                    self.sets.get(s).push_to(out);
                }
            }
            _ => self.exact_into(value, out),
        }
    }

    /// File-hash lookups in bulk: for each hex digest, the id of the set of entries on it.
    pub fn digests_many<'a>(
        &self,
        hexes: impl IntoIterator<Item = &'a str>,
        out: &mut Vec<Option<u32>>,
    ) {
        self.digests.get_many(hexes, out)
    }

    /// The entries of a set id from `digests_many`.
    pub fn set(&self, id: u32) -> Matches<'_> {
        self.sets.get(id)
    }

    /// URL lookup in the manner of Safe Browsing's lookup expressions: the host and up to four
    /// of its parents, times the exact path with and without the query and up to four path
    /// prefixes; plus entries on the host as a domain name or an address.
    pub fn url(&self, canonical: &str, out: &mut Vec<u32>) {
        let Some((host, path_query)) = url_parts(canonical) else {
            return;
        };
        if let Ok(a) = host.parse::<IpAddr>() {
            self.ip(a).push_to(out);
        } else {
            self.domain(host, out);
        }
        if self.urls.is_empty() {
            return;
        }
        let path_query = if path_query.is_empty() {
            "/"
        } else {
            path_query
        };
        let path = path_query.split_once('?').map_or(path_query, |(p, _)| p);
        let mut hosts: [&str; 5] = [host; 5];
        let mut nh = 1;
        if host.parse::<IpAddr>().is_err() {
            let dots: Vec<usize> = host.match_indices('.').map(|(i, _)| i).collect();
            // Parents from the last five components down to two, skipping the host itself.
            let n = dots.len() + 1;
            for k in (2..n.min(6)).rev() {
                hosts[nh] = &host[dots[dots.len() - k] + 1..];
                nh += 1;
                if nh == 5 {
                    break;
                }
            }
        }
        let mut paths: [&str; 6] = [path_query; 6];
        let mut np = 1;
        if path != path_query {
            paths[np] = path;
            np += 1;
        }
        let mut from = 0;
        for _ in 0..4 {
            let Some(slash) = path[from..].find('/') else {
                break;
            };
            let prefix = &path[..from + slash + 1];
            if prefix != path {
                paths[np] = prefix;
                np += 1;
            }
            from += slash + 1;
        }
        let mut key = String::with_capacity(canonical.len());
        for h in &hosts[..nh] {
            for p in &paths[..np] {
                key.clear();
                key.push_str(h);
                key.push_str(p);
                if let Some(s) = self.urls.get(key.as_str()) {
                    self.sets.get(*s).push_to(out);
                }
            }
        }
    }

    /// Approximate heap bytes held by the lookup structures (entries excluded).
    pub fn heap_bytes(&self) -> usize {
        self.v4.heap_bytes()
            + self.v6.heap_bytes()
            + self.phone_ranges.heap_bytes()
            + self.sets.heap_bytes()
            + self.names.heap_bytes()
            + self.urls.heap_bytes()
            + self.exact.heap_bytes()
            + self.digests.heap_bytes()
            + self.mail_domains.heap_bytes()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use time::macros::datetime;

    pub(crate) fn entry(
        n: u128,
        t: IndicatorType,
        v: &str,
        scope: Option<TargetScope>,
    ) -> Arc<Entry> {
        let target = Indicator::parse(t, v).unwrap();
        Arc::new(Entry {
            measure_id: Uuid::from_u128(n),
            scope: scope.unwrap_or(TargetScope::default_for(t)),
            target,
            range_last: None,
            recipient_id: Uuid::from_u128(1),
            recipient_slug: "china-telecom".into(),
            reference: format!("WD-20261129-{n:012}"),
            since: datetime!(2026-11-29 00:00 UTC),
            expires: datetime!(2027-11-29 00:00 UTC),
            listed_serial: n as i64,
        })
    }

    fn hits(ix: &Index, t: IndicatorType, v: &str) -> Vec<u128> {
        let mut out = vec![];
        ix.lookup(&Indicator::parse(t, v).unwrap(), &mut out);
        let mut ids: Vec<u128> = out
            .iter()
            .map(|i| ix.entry(*i).measure_id.as_u128())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    #[test]
    fn every_kind_matches_what_it_should_and_nothing_else() {
        use IndicatorType as T;
        let mut es = vec![
            entry(1, T::Cidr, "198.51.100.0/24", None),
            entry(2, T::Ipv4, "198.51.100.7", None),
            entry(3, T::Cidr, "2001:db8::/32", None),
            entry(4, T::Domain, "evil.example.cn", None),
            entry(5, T::Domain, "exact.example.com", Some(TargetScope::Exact)),
            entry(6, T::Url, "http://phish.example.net/login/", None),
            entry(7, T::Email, "boss@fraud.example.org", None),
            entry(
                8,
                T::Email,
                "any@spam.example.org",
                Some(TargetScope::MailDomain),
            ),
            entry(9, T::Phone, "+8613800138000", None),
            entry(11, T::Sha256, &"ab".repeat(32), None),
            entry(12, T::BroadbandAccount, "china-telecom:gd0201234567", None),
        ];
        let mut range = (*entry(
            10,
            T::Phone,
            "+8617000000000",
            Some(TargetScope::NumberRange),
        ))
        .clone();
        range.range_last = Some(Indicator::parse(T::Phone, "+8617000009999").unwrap());
        es.push(Arc::new(range));
        let ix = Index::build(es);
        assert_eq!(hits(&ix, T::Ipv4, "198.51.100.7"), [1, 2]);
        assert_eq!(hits(&ix, T::Ipv4, "198.51.100.8"), [1]);
        assert!(hits(&ix, T::Ipv4, "198.51.101.1").is_empty());
        assert_eq!(hits(&ix, T::Cidr, "198.51.100.128/25"), [1]);
        assert!(hits(&ix, T::Cidr, "198.51.0.0/16").is_empty());
        assert_eq!(hits(&ix, T::Ipv6, "2001:db8::1"), [3]);
        assert!(hits(&ix, T::Ipv6, "2001:db9::1").is_empty());
        assert_eq!(hits(&ix, T::Domain, "evil.example.cn"), [4]);
        assert_eq!(hits(&ix, T::Domain, "a.b.evil.example.cn"), [4]);
        assert!(hits(&ix, T::Domain, "notevil.example.cn").is_empty());
        assert!(hits(&ix, T::Domain, "example.cn").is_empty());
        assert_eq!(hits(&ix, T::Domain, "exact.example.com"), [5]);
        assert!(hits(&ix, T::Domain, "www.exact.example.com").is_empty());
        assert_eq!(
            hits(&ix, T::Url, "https://phish.example.net/login/x.php?a=1"),
            [6]
        );
        assert_eq!(
            hits(&ix, T::Url, "http://www.phish.example.net/login/"),
            [6]
        );
        assert!(hits(&ix, T::Url, "http://phish.example.net/other").is_empty());
        assert_eq!(hits(&ix, T::Url, "http://x.evil.example.cn/a"), [4]);
        assert_eq!(hits(&ix, T::Url, "http://198.51.100.9/a"), [1]);
        assert_eq!(hits(&ix, T::Email, "boss@fraud.example.org"), [7]);
        assert!(hits(&ix, T::Email, "other@fraud.example.org").is_empty());
        assert_eq!(hits(&ix, T::Email, "whoever@spam.example.org"), [8]);
        assert_eq!(hits(&ix, T::Phone, "+8613800138000"), [9]);
        assert_eq!(hits(&ix, T::Phone, "+8617000005555"), [10]);
        assert!(hits(&ix, T::Phone, "+8617000010000").is_empty());
        assert_eq!(hits(&ix, T::Sha256, &"AB".repeat(32)), [11]);
        assert_eq!(
            hits(&ix, T::BroadbandAccount, "china-telecom:gd0201234567"),
            [12]
        );
        assert!(hits(&ix, T::BroadbandAccount, "china-unicom:gd0201234567").is_empty());
    }

    #[test]
    fn url_expressions_follow_the_safe_browsing_order() {
        let ix = Index::build(vec![
            entry(
                1,
                IndicatorType::Url,
                "http://a.b.c.d.e.f.example.com/1/2/",
                None,
            ),
            entry(2, IndicatorType::Url, "http://d.e.f.example.com/", None),
        ]);
        // Five parents at most: the fifth-from-last component down to two components.
        assert_eq!(
            hits(
                &ix,
                IndicatorType::Url,
                "http://a.b.c.d.e.f.example.com/1/2/3.html?q=1"
            ),
            [1, 2]
        );
        assert_eq!(
            hits(&ix, IndicatorType::Url, "http://z.d.e.f.example.com/x"),
            [2]
        );
    }
}
