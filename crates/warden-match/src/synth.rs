//! Deterministic synthetic blocklists and query streams for the benchmarks (criterion and
//! `warden bench match`), so both measure the same thing.

use crate::index::Entry;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use time::macros::datetime;
use uuid::Uuid;
use warden_core::indicator::{Indicator, IndicatorType, TargetScope};

/// SplitMix64: small, fast, and the same sequence on every machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

pub fn entry(n: u64, target: Indicator, scope: TargetScope) -> Arc<Entry> {
    Arc::new(Entry {
        measure_id: Uuid::from_u128(u128::from(n) + 1),
        target,
        scope,
        range_last: None,
        recipient_id: Uuid::from_u128(1),
        recipient_slug: "china-telecom".into(),
        reference: format!("WD-20261129-{n:012}"),
        since: datetime!(2026-11-29 00:00 UTC),
        expires: datetime!(2027-05-28 00:00 UTC),
        listed_serial: n as i64 + 1,
    })
}

fn ind(t: IndicatorType, v: &str) -> Option<Indicator> {
    Indicator::parse(t, v).ok()
}

/// IPv4 prefixes: 60% /32, 30% /24, 10% /16–/23, in 1.0.0.0–223.255.255.255.
pub fn ipv4_prefixes(n: usize, rng: &mut Rng) -> Vec<(u32, u8)> {
    (0..n)
        .map(|_| {
            let r = rng.below(10);
            let len: u8 = if r < 6 {
                32
            } else if r < 9 {
                24
            } else {
                16 + rng.below(8) as u8
            };
            let a = (1 + rng.below(223) as u32) << 24 | (rng.next_u64() as u32 & 0x00FF_FFFF);
            let mask = u32::MAX << (32 - u32::from(len));
            (a & mask, len)
        })
        .collect()
}

pub fn ipv4_entries(prefixes: &[(u32, u8)]) -> Vec<Arc<Entry>> {
    prefixes
        .iter()
        .enumerate()
        .filter_map(|(i, (a, len))| {
            let (t, v) = if *len == 32 {
                (IndicatorType::Ipv4, Ipv4Addr::from(*a).to_string())
            } else {
                (IndicatorType::Cidr, format!("{}/{len}", Ipv4Addr::from(*a)))
            };
            Some(entry(i as u64, ind(t, &v)?, TargetScope::Exact))
        })
        .collect()
}

/// Half the queries fall inside a listed prefix, half are random addresses.
pub fn ipv4_queries(prefixes: &[(u32, u8)], n: usize, rng: &mut Rng) -> Vec<Ipv4Addr> {
    (0..n)
        .map(|i| {
            if i % 2 == 0 && !prefixes.is_empty() {
                let (a, len) = prefixes[rng.below(prefixes.len() as u64) as usize];
                let host = if len == 32 {
                    0
                } else {
                    rng.next_u64() as u32 & (u32::MAX >> len)
                };
                Ipv4Addr::from(a | host)
            } else {
                Ipv4Addr::from(rng.next_u64() as u32)
            }
        })
        .collect()
}

/// IPv6 prefixes under 2000::/3: 50% /128, 30% /64, 20% /32–/48.
pub fn ipv6_prefixes(n: usize, rng: &mut Rng) -> Vec<(u128, u8)> {
    (0..n)
        .map(|_| {
            let r = rng.below(10);
            let len: u8 = if r < 5 {
                128
            } else if r < 8 {
                64
            } else {
                32 + rng.below(17) as u8
            };
            let a = (u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64())) >> 3
                | (1u128 << 125);
            let mask = u128::MAX << (128 - u32::from(len));
            (a & mask, len)
        })
        .collect()
}

pub fn ipv6_entries(prefixes: &[(u128, u8)]) -> Vec<Arc<Entry>> {
    prefixes
        .iter()
        .enumerate()
        .filter_map(|(i, (a, len))| {
            let (t, v) = if *len == 128 {
                (IndicatorType::Ipv6, Ipv6Addr::from(*a).to_string())
            } else {
                (IndicatorType::Cidr, format!("{}/{len}", Ipv6Addr::from(*a)))
            };
            Some(entry(i as u64, ind(t, &v)?, TargetScope::Exact))
        })
        .collect()
}

pub fn ipv6_queries(prefixes: &[(u128, u8)], n: usize, rng: &mut Rng) -> Vec<Ipv6Addr> {
    (0..n)
        .map(|i| {
            let r = u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64());
            if i % 2 == 0 && !prefixes.is_empty() {
                let (a, len) = prefixes[rng.below(prefixes.len() as u64) as usize];
                let host = if len == 128 {
                    0
                } else {
                    r & (u128::MAX >> len)
                };
                Ipv6Addr::from(a | host)
            } else {
                Ipv6Addr::from(r >> 3 | (1u128 << 125))
            }
        })
        .collect()
}

const TLDS: [&str; 8] = ["com", "cn", "net", "com.cn", "org", "top", "xyz", "info"];

fn label(rng: &mut Rng, min: u64, max: u64) -> String {
    let len = min + rng.below(max - min + 1);
    (0..len)
        .map(|_| (b'a' + rng.below(26) as u8) as char)
        .collect()
}

/// Registrable-looking names (`label.tld`, some `label.label.tld`).
pub fn domains(n: usize, rng: &mut Rng) -> Vec<String> {
    (0..n)
        .map(|_| {
            let tld = TLDS[rng.below(TLDS.len() as u64) as usize];
            if rng.below(4) == 0 {
                format!("{}.{}.{tld}", label(rng, 3, 8), label(rng, 6, 12))
            } else {
                format!("{}.{tld}", label(rng, 6, 14))
            }
        })
        .collect()
}

pub fn domain_entries(names: &[String]) -> Vec<Arc<Entry>> {
    names
        .iter()
        .enumerate()
        .filter_map(|(i, d)| {
            Some(entry(
                i as u64,
                ind(IndicatorType::Domain, d)?,
                TargetScope::Subdomains,
            ))
        })
        .collect()
}

/// Half the queries are listed names or names below them, half are unlisted.
pub fn domain_queries(names: &[String], n: usize, rng: &mut Rng) -> Vec<String> {
    (0..n)
        .map(|i| {
            if i % 2 == 0 && !names.is_empty() {
                let d = &names[rng.below(names.len() as u64) as usize];
                match rng.below(3) {
                    0 => d.clone(),
                    1 => format!("www.{d}"),
                    _ => format!("{}.cdn.{d}", label(rng, 2, 6)),
                }
            } else {
                let tld = TLDS[rng.below(TLDS.len() as u64) as usize];
                format!("www.{}.{tld}", label(rng, 6, 14))
            }
        })
        .collect()
}

/// Exact values of one type: e-mail addresses, phone numbers or SHA-256 hashes.
pub fn exact_values(t: IndicatorType, n: usize, rng: &mut Rng) -> Vec<String> {
    (0..n)
        .map(|_| match t {
            IndicatorType::Email => format!("{}@{}.com", label(rng, 5, 10), label(rng, 4, 9)),
            IndicatorType::Phone => {
                format!("+861{}{:09}", 3 + rng.below(7), rng.below(1_000_000_000))
            }
            _ => format!(
                "{:016x}{:016x}{:016x}{:016x}",
                rng.next_u64(),
                rng.next_u64(),
                rng.next_u64(),
                rng.next_u64()
            ),
        })
        .collect()
}

pub fn exact_entries(t: IndicatorType, values: &[String]) -> Vec<Arc<Entry>> {
    values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| Some(entry(i as u64, ind(t, v)?, TargetScope::Exact)))
        .collect()
}

pub fn exact_queries(t: IndicatorType, values: &[String], n: usize, rng: &mut Rng) -> Vec<String> {
    let fresh = exact_values(t, n / 2 + 1, rng);
    (0..n)
        .map(|i| {
            if i % 2 == 0 && !values.is_empty() {
                values[rng.below(values.len() as u64) as usize].clone()
            } else {
                fresh[i / 2].clone()
            }
        })
        .collect()
}

/// Phishing-style URLs: host, one to three path segments, sometimes a query.
pub fn urls(n: usize, rng: &mut Rng) -> Vec<String> {
    let hosts = domains(n / 4 + 1, rng);
    (0..n)
        .map(|i| {
            let h = &hosts[i % hosts.len()];
            let segs: Vec<String> = (0..1 + rng.below(3)).map(|_| label(rng, 3, 10)).collect();
            format!("http://{h}/{}", segs.join("/"))
        })
        .collect()
}

pub fn url_entries(urls: &[String]) -> Vec<Arc<Entry>> {
    urls.iter()
        .enumerate()
        .filter_map(|(i, u)| {
            Some(entry(
                i as u64,
                ind(IndicatorType::Url, u)?,
                TargetScope::Exact,
            ))
        })
        .collect()
}

/// Raw URL strings as a client sends them: half below a listed URL, half elsewhere.
pub fn url_queries(urls: &[String], n: usize, rng: &mut Rng) -> Vec<String> {
    (0..n)
        .map(|i| {
            if i % 2 == 0 && !urls.is_empty() {
                let u = &urls[rng.below(urls.len() as u64) as usize];
                format!("{u}?session={}", rng.below(1_000_000))
            } else {
                format!(
                    "http://www.{}.com/{}/index.html",
                    label(rng, 6, 12),
                    label(rng, 3, 8)
                )
            }
        })
        .collect()
}
