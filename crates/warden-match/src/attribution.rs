//! Attribution (Art. 9): for any indicator, who holds the resource, which AS originates it,
//! who is the registrar of record and the registry, which carrier a number belongs to, who
//! provides a mailbox, each answer with the claim or reference data it came from. Built from
//! approved claims and shipped reference data; lookups by longest match, lock-free like the
//! matcher.

use crate::sets::{Sets, SetsBuilder};
use crate::table::IntervalTable;
use hashbrown::HashMap;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::indicator::{Indicator, IndicatorType, is_public_suffix};
use warden_core::resources::ResourceKind;

/// One approved claim, or one line of reference data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    pub kind: ResourceKind,
    /// Normalised value (a network, a name, a first number, `AS…`).
    pub value: String,
    pub range_last: Option<String>,
    pub asn: Option<u32>,
    /// Where the resource is used, when one province's (GB/T 2260 code).
    pub province: Option<String>,
    pub org_slug: String,
    /// The claim it comes from; None for reference data.
    pub claim_id: Option<Uuid>,
    /// `declared`, an import's name, or the reference data's source.
    pub source: String,
    pub at: Option<OffsetDateTime>,
}

/// Where an answer comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Evidence {
    /// The claim (resource registry) that answers, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_id: Option<Uuid>,
    /// The resource the answer rests on: the covering prefix, the sponsored domain, the segment.
    pub resource: String,
    pub source: String,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub at: Option<OffsetDateTime>,
}

/// An organisation (by slug) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Answer {
    pub org: String,
    /// Where the resource is used, when its claim says (GB/T 2260 code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    pub evidence: Evidence,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attribution {
    /// Who holds the address, network, domain or number.
    pub holder: Option<Answer>,
    /// The AS originating the covering prefix.
    pub asn: Option<u32>,
    pub registrar: Option<Answer>,
    pub registry: Option<Answer>,
    pub carrier: Option<Answer>,
    pub mail_provider: Option<Answer>,
    /// A broadband account's operator.
    pub operator: Option<Answer>,
}

#[derive(Debug, Default)]
pub struct Attributor {
    holdings: Vec<Holding>,
    /// Prefix length of each holding that is a prefix (0 otherwise): most specific wins.
    plen: Vec<u8>,
    sets: Sets,
    v4: IntervalTable<u32>,
    v6: IntervalTable<u128>,
    phones: IntervalTable<u64>,
    by_name: HashMap<(ResourceKind, String), Vec<u32>>,
    asns: HashMap<String, Vec<u32>>,
    /// Mobile segments (digits after +86) → holding.
    segments: HashMap<String, u32>,
}

fn prefix_len(h: &Holding) -> u8 {
    h.value
        .parse::<ipnet::IpNet>()
        .map(|n| n.prefix_len())
        .unwrap_or(0)
}

impl Attributor {
    pub fn build(holdings: Vec<Holding>) -> Attributor {
        let mut sets = SetsBuilder::default();
        let (mut v4, mut v6, mut phones) = (vec![], vec![], vec![]);
        let mut by_name: HashMap<(ResourceKind, String), Vec<u32>> = HashMap::new();
        let mut asns: HashMap<String, Vec<u32>> = HashMap::new();
        let mut segments = HashMap::new();
        for (i, h) in holdings.iter().enumerate() {
            let i = i as u32;
            match h.kind {
                ResourceKind::Prefix => match h.value.parse::<ipnet::IpNet>() {
                    Ok(ipnet::IpNet::V4(n)) => {
                        v4.push((u32::from(n.network()), u32::from(n.broadcast()), i))
                    }
                    Ok(ipnet::IpNet::V6(n)) => {
                        v6.push((u128::from(n.network()), u128::from(n.broadcast()), i))
                    }
                    Err(_) => {}
                },
                ResourceKind::PhoneRange if h.claim_id.is_none() => {
                    // Reference segments: the digits after +86.
                    if let Some(seg) = h.value.strip_prefix("+86") {
                        segments.insert(seg.to_owned(), i);
                    }
                }
                ResourceKind::PhoneRange => {
                    let last = h.range_last.as_deref().unwrap_or(&h.value);
                    if let (Some(lo), Some(hi)) = (
                        crate::index::phone_key(&h.value),
                        crate::index::phone_key(last),
                    ) {
                        phones.push((lo, hi, i));
                    }
                }
                ResourceKind::Asn => asns.entry(h.value.clone()).or_default().push(i),
                k => by_name.entry((k, h.value.clone())).or_default().push(i),
            }
        }
        let plen = holdings.iter().map(prefix_len).collect();
        Attributor {
            plen,
            v4: IntervalTable::build(v4, &mut sets),
            v6: IntervalTable::build(v6, &mut sets),
            phones: IntervalTable::build(phones, &mut sets),
            sets: sets.finish(),
            holdings,
            by_name,
            asns,
            segments,
        }
    }

    pub fn len(&self) -> usize {
        self.holdings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.holdings.is_empty()
    }

    /// The organisations (slugs) holding exactly (`kind`, `value`), e.g. every operator that
    /// filters URLs in province 44.
    pub fn holders_of(&self, kind: ResourceKind, value: &str) -> Vec<&str> {
        self.by_name
            .get(&(kind, value.to_owned()))
            .map(|v| {
                v.iter()
                    .map(|i| self.holdings[*i as usize].org_slug.as_str())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Approximate heap bytes: the tables and the holdings with their strings.
    pub fn heap_bytes(&self) -> usize {
        let strings: usize = self
            .holdings
            .iter()
            .map(|h| h.value.len() + h.org_slug.len() + h.source.len())
            .sum();
        self.v4.heap_bytes()
            + self.v6.heap_bytes()
            + self.phones.heap_bytes()
            + self.sets.heap_bytes()
            + self.plen.capacity()
            + self.holdings.capacity() * std::mem::size_of::<Holding>()
            + strings
    }

    fn answer(&self, i: u32) -> Answer {
        let h = &self.holdings[i as usize];
        let resource = match &h.range_last {
            Some(last) => format!("{}-{last}", h.value),
            None => h.value.clone(),
        };
        Answer {
            org: h.org_slug.clone(),
            province: h.province.clone(),
            evidence: Evidence {
                claim_id: h.claim_id,
                resource,
                source: h.source.clone(),
                at: h.at,
            },
        }
    }

    /// The most specific prefix claim covering `a` (ties: the first declared).
    #[inline]
    pub fn ip_holder(&self, a: IpAddr) -> Option<u32> {
        let m = match a {
            IpAddr::V4(a) => self.sets.get(self.v4.find(u32::from(a))),
            IpAddr::V6(a) => self.sets.get(self.v6.find(u128::from(a))),
        };
        m.iter()
            .max_by_key(|i| (self.plen[*i as usize], std::cmp::Reverse(*i)))
    }

    /// The longest name of `kind` equal to `name` or a parent of it.
    fn name_holder(&self, kind: ResourceKind, name: &str) -> Option<u32> {
        let mut rest = name;
        loop {
            if let Some(v) = self.by_name.get(&(kind, rest.to_owned())) {
                return v.first().copied();
            }
            rest = rest.split_once('.')?.1;
        }
    }

    fn domain_into(&self, name: &str, out: &mut Attribution) {
        if let Some(i) = self.name_holder(ResourceKind::Domain, name) {
            out.holder = Some(self.answer(i));
        }
        if let Some(i) = self.name_holder(ResourceKind::SponsoredDomain, name) {
            out.registrar = Some(self.answer(i));
        }
        // The registry: the longest TLD or public suffix claim the name sits under.
        let mut rest = name;
        while let Some((_, parent)) = rest.split_once('.') {
            if let Some(v) = self.by_name.get(&(ResourceKind::Tld, parent.to_owned())) {
                out.registry = v.first().map(|i| self.answer(*i));
                break;
            }
            rest = parent;
        }
        if out.registry.is_none()
            && is_public_suffix(name)
            && let Some(v) = self.by_name.get(&(ResourceKind::Tld, name.to_owned()))
        {
            out.registry = v.first().map(|i| self.answer(*i));
        }
    }

    fn ip_into(&self, a: IpAddr, out: &mut Attribution) {
        if let Some(i) = self.ip_holder(a) {
            out.asn = self.holdings[i as usize].asn;
            out.holder = Some(self.answer(i));
        }
    }

    pub fn attribute(&self, ind: &Indicator) -> Attribution {
        let mut out = Attribution::default();
        let v = ind.value();
        match ind.kind() {
            IndicatorType::Ipv4 | IndicatorType::Ipv6 => {
                if let Some(a) = ind.ip() {
                    self.ip_into(a, &mut out);
                }
            }
            IndicatorType::Cidr => {
                // The holder of a network is whoever's prefix contains all of it.
                if let Some(net) = ind.network()
                    && let Some(i) = self.ip_holder(net.network())
                    && self.holdings[i as usize]
                        .value
                        .parse::<ipnet::IpNet>()
                        .is_ok_and(|h| h.contains(&net))
                {
                    out.asn = self.holdings[i as usize].asn;
                    out.holder = Some(self.answer(i));
                }
            }
            IndicatorType::Domain => self.domain_into(v, &mut out),
            IndicatorType::Url => {
                if let Some((host, _)) = crate::index::url_parts(v) {
                    match host.parse::<IpAddr>() {
                        Ok(a) => self.ip_into(a, &mut out),
                        Err(_) => self.domain_into(host, &mut out),
                    }
                }
            }
            IndicatorType::Email => {
                if let Some(d) = ind.domain() {
                    if let Some(i) = self.name_holder(ResourceKind::MailDomain, d) {
                        out.mail_provider = Some(self.answer(i));
                    }
                    self.domain_into(d, &mut out);
                }
            }
            IndicatorType::Phone => {
                let claimed = crate::index::phone_key(v)
                    .map(|k| self.sets.get(self.phones.find(k)))
                    .and_then(|m| {
                        // The narrowest range wins.
                        m.iter().min_by_key(|i| {
                            let h = &self.holdings[*i as usize];
                            let lo = crate::index::phone_key(&h.value).unwrap_or(0);
                            let hi = h
                                .range_last
                                .as_deref()
                                .and_then(crate::index::phone_key)
                                .unwrap_or(u64::MAX);
                            hi - lo
                        })
                    });
                let found = claimed.or_else(|| {
                    let national = v.strip_prefix("+86")?;
                    (national.len() == 11)
                        .then(|| {
                            self.segments
                                .get(&national[..4])
                                .or_else(|| self.segments.get(&national[..3]))
                                .copied()
                        })
                        .flatten()
                });
                if let Some(i) = found {
                    out.carrier = Some(self.answer(i));
                    out.holder = out.carrier.clone();
                }
            }
            IndicatorType::BroadbandAccount => {
                if let Some((op, _)) = v.split_once(':') {
                    out.operator = Some(Answer {
                        org: op.to_owned(),
                        province: None,
                        evidence: Evidence {
                            claim_id: None,
                            resource: v.to_owned(),
                            source: "the account names its operator".into(),
                            at: None,
                        },
                    });
                    out.holder = out.operator.clone();
                }
            }
            IndicatorType::Asn => {
                if let Some(i) = self.asns.get(v).and_then(|x| x.first()) {
                    out.holder = Some(self.answer(*i));
                }
            }
            _ => {}
        }
        out
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SegmentsDoc {
    source: String,
    carrier: Vec<CarrierDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CarrierDoc {
    slug: String,
    #[allow(dead_code)]
    name: String,
    segments: Vec<String>,
}

const SEGMENTS: &str = include_str!("../../../data/reference/cn-mobile-segments.toml");

/// The mainland mobile number segments shipped with Warden, as holdings.
pub fn mobile_segments() -> Result<Vec<Holding>, String> {
    let doc: SegmentsDoc = toml::from_str(SEGMENTS)
        .map_err(|e| format!("data/reference/cn-mobile-segments.toml: {e}"))?;
    let mut out = vec![];
    for c in doc.carrier {
        for s in c.segments {
            if !(3..=4).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "data/reference/cn-mobile-segments.toml: carrier {} segment {s:?} is not 3 or 4 digits",
                    c.slug
                ));
            }
            out.push(Holding {
                kind: ResourceKind::PhoneRange,
                value: format!("+86{s}"),
                range_last: None,
                asn: None,
                province: None,
                org_slug: c.slug.clone(),
                claim_id: None,
                source: doc.source.clone(),
                at: None,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(kind: ResourceKind, value: &str, org: &str, asn: Option<u32>) -> Holding {
        Holding {
            kind,
            value: value.into(),
            range_last: None,
            asn,
            province: None,
            org_slug: org.into(),
            claim_id: Some(Uuid::now_v7()),
            source: "declared".into(),
            at: None,
        }
    }

    fn ind(t: IndicatorType, v: &str) -> Indicator {
        Indicator::parse(t, v).unwrap()
    }

    #[test]
    fn answers_by_longest_match_with_evidence() {
        use IndicatorType as T;
        use ResourceKind as K;
        let mut hs = vec![
            claim(K::Prefix, "202.96.0.0/12", "china-telecom", Some(4134)),
            claim(K::Prefix, "202.96.128.0/24", "cloud-alpha", Some(64500)),
            claim(K::Prefix, "240e::/20", "china-telecom", Some(4134)),
            claim(K::Tld, "cn", "cnnic", None),
            claim(
                K::SponsoredDomain,
                "shop.example.cn",
                "registrar-alpha",
                None,
            ),
            claim(K::Domain, "example.cn", "netco-alpha", None),
            claim(K::MailDomain, "mail.example.cn", "netco-alpha", None),
            claim(K::Asn, "AS4134", "china-telecom", None),
        ];
        hs.extend(mobile_segments().unwrap());
        let a = Attributor::build(hs);
        let r = a.attribute(&ind(T::Ipv4, "202.96.128.9"));
        assert_eq!(r.holder.as_ref().unwrap().org, "cloud-alpha");
        assert_eq!(r.holder.unwrap().evidence.resource, "202.96.128.0/24");
        assert_eq!(r.asn, Some(64500));
        assert_eq!(
            a.attribute(&ind(T::Ipv4, "202.97.1.1")).holder.unwrap().org,
            "china-telecom"
        );
        assert!(a.attribute(&ind(T::Ipv4, "8.8.8.8")).holder.is_none());
        assert_eq!(
            a.attribute(&ind(T::Cidr, "202.96.128.0/25"))
                .holder
                .unwrap()
                .org,
            "cloud-alpha"
        );
        assert!(a.attribute(&ind(T::Cidr, "202.0.0.0/8")).holder.is_none());
        assert_eq!(
            a.attribute(&ind(T::Ipv6, "240e:1::1")).holder.unwrap().org,
            "china-telecom"
        );
        let d = a.attribute(&ind(T::Domain, "www.shop.example.cn"));
        assert_eq!(d.registrar.unwrap().org, "registrar-alpha");
        assert_eq!(d.registry.unwrap().org, "cnnic");
        assert_eq!(d.holder.unwrap().org, "netco-alpha");
        let e = a.attribute(&ind(T::Email, "x@mail.example.cn"));
        assert_eq!(e.mail_provider.unwrap().org, "netco-alpha");
        let p = a.attribute(&ind(T::Phone, "+8613312345678"));
        assert_eq!(p.carrier.as_ref().unwrap().org, "china-telecom");
        assert!(p.carrier.unwrap().evidence.source.contains("MIIT"));
        // 1349 is Telecom's inside Mobile's 134.
        assert_eq!(
            a.attribute(&ind(T::Phone, "+8613491234567"))
                .carrier
                .unwrap()
                .org,
            "china-telecom"
        );
        assert_eq!(
            a.attribute(&ind(T::Phone, "+8613412345678"))
                .carrier
                .unwrap()
                .org,
            "china-mobile"
        );
        assert_eq!(
            a.attribute(&ind(T::Phone, "+8619212345678"))
                .carrier
                .unwrap()
                .org,
            "china-broadnet"
        );
        assert!(
            a.attribute(&ind(T::Phone, "+442079460000"))
                .carrier
                .is_none()
        );
        let b = a.attribute(&ind(T::BroadbandAccount, "china-unicom:gd123"));
        assert_eq!(b.operator.unwrap().org, "china-unicom");
        assert_eq!(
            a.attribute(&ind(T::Asn, "AS4134")).holder.unwrap().org,
            "china-telecom"
        );
    }

    #[test]
    fn a_carriers_own_range_claim_beats_the_segment_table() {
        let mut hs = mobile_segments().unwrap();
        let mut c = claim(
            ResourceKind::PhoneRange,
            "+8613300000000",
            "netco-alpha",
            None,
        );
        c.range_last = Some("+8613300009999".into());
        hs.push(c);
        let a = Attributor::build(hs);
        let ind = |v| Indicator::parse(IndicatorType::Phone, v).unwrap();
        assert_eq!(
            a.attribute(&ind("+8613300001234")).carrier.unwrap().org,
            "netco-alpha"
        );
        assert_eq!(
            a.attribute(&ind("+8613300012345")).carrier.unwrap().org,
            "china-telecom"
        );
    }
}
