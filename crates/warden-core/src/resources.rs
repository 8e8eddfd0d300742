//! The resource registry (Art. 9): which organisation holds or sponsors which addresses,
//! names and numbers. Organisations declare what they hold; a telecom authority approves
//! each claim; the platform then knows whom a measure concerns without being told.

use crate::indicator::{Indicator, IndicatorType, TargetScope};
use crate::lifecycle::{Event, Refusal, RefusalCode, SubjectKind, event};
use crate::org::{Actor, OrgRef, OrgType, Role};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

/// What a claim covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ResourceKind {
    /// An IPv4 or IPv6 prefix the organisation holds (allocated or assigned to it).
    Prefix,
    /// An autonomous system number it operates.
    Asn,
    /// A domain (and the names below it) the organisation itself holds.
    Domain,
    /// A domain a registrar sponsors: it is the registrar of record.
    SponsoredDomain,
    /// A top-level domain a registry operates.
    Tld,
    /// A mail domain whose mailboxes the organisation provides.
    MailDomain,
    /// A range of phone numbers (E.164, same length) a carrier holds.
    PhoneRange,
    /// A province (GB/T 2260 code) where the operator filters URLs: URL blocks there go to it.
    UrlFiltering,
    /// A recursive resolver the organisation runs for its users (`address:port`): the one
    /// verification probes ask to see whether a DNS block holds.
    Resolver,
}

impl ResourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Prefix => "prefix",
            ResourceKind::Asn => "asn",
            ResourceKind::Domain => "domain",
            ResourceKind::SponsoredDomain => "sponsored_domain",
            ResourceKind::Tld => "tld",
            ResourceKind::MailDomain => "mail_domain",
            ResourceKind::PhoneRange => "phone_range",
            ResourceKind::Resolver => "resolver",
            ResourceKind::UrlFiltering => "url_filtering",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ClaimStatus {
    Pending,
    Approved,
    Rejected,
}

impl ClaimStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimStatus::Pending => "pending",
            ClaimStatus::Approved => "approved",
            ClaimStatus::Rejected => "rejected",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResourceClaim {
    pub id: Uuid,
    pub org: OrgRef,
    pub kind: ResourceKind,
    /// Normalised: a network in CIDR form, `AS4134`, a domain, a TLD, `+8613300000000`.
    pub value: String,
    /// The last number of a phone range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_last: Option<String>,
    /// The AS that originates a prefix, when declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    /// Where the resource is used (GB/T 2260), when it is one province's: a carrier's
    /// provincial network, say. Reports on it go to that province's authority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub province: Option<crate::org::Province>,
    pub status: ClaimStatus,
    pub declared_by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub declared_at: OffsetDateTime,
    /// Where it comes from: `declared`, or the import that brought it.
    pub source: String,
    /// Other organisations' claims it overlaps, found when it was declared.
    #[serde(default)]
    pub overlaps: Vec<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<OrgRef>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub decided_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reasons: String,
}

fn invalid(m: impl Into<String>) -> Refusal {
    Refusal {
        code: RefusalCode::Invalid,
        message: m.into(),
    }
}

/// Normalises what a claim covers, or says why it cannot.
pub fn normalize_claim(
    kind: ResourceKind,
    value: &str,
    range_last: Option<&str>,
) -> Result<(String, Option<String>), String> {
    let v = value.trim();
    if kind != ResourceKind::PhoneRange && range_last.is_some() {
        return Err("range_last belongs to a phone_range claim only".into());
    }
    match kind {
        ResourceKind::Prefix => {
            let net = if let Ok(n) = v.parse::<ipnet::IpNet>() {
                n
            } else if let Ok(a) = v.parse::<std::net::IpAddr>() {
                ipnet::IpNet::from(a)
            } else {
                return Err(format!("{v:?} is not an IP prefix like 202.96.128.0/18"));
            };
            if net.trunc() != net {
                return Err(format!(
                    "{v} has host bits set: the prefix is {}",
                    net.trunc()
                ));
            }
            Ok((net.to_string(), None))
        }
        ResourceKind::Asn => Indicator::parse(IndicatorType::Asn, v)
            .map(|i| (i.value().to_owned(), None))
            .map_err(|e| e.reason),
        ResourceKind::Domain | ResourceKind::SponsoredDomain | ResourceKind::MailDomain => {
            Indicator::parse(IndicatorType::Domain, v)
                .map(|i| (i.value().to_owned(), None))
                .map_err(|e| e.reason)
        }
        ResourceKind::UrlFiltering => v
            .parse::<crate::org::Province>()
            .map(|p| (p.to_string(), None))
            .map_err(|e| e.to_string()),
        ResourceKind::Resolver => {
            let sa = v
                .parse::<std::net::SocketAddr>()
                .or_else(|_| {
                    v.parse::<std::net::IpAddr>()
                        .map(|a| std::net::SocketAddr::new(a, 53))
                })
                .map_err(|_| {
                    format!("{v:?} is not a resolver address like 202.96.128.86 or 127.0.0.1:5353")
                })?;
            Ok((sa.to_string(), None))
        }
        ResourceKind::Tld => {
            let t = v
                .trim_start_matches('.')
                .trim_end_matches('.')
                .to_ascii_lowercase();
            if crate::indicator::is_public_suffix(&t) {
                Ok((t, None))
            } else {
                Err(format!("{v:?} is not a top-level domain or public suffix"))
            }
        }
        ResourceKind::PhoneRange => {
            let first = Indicator::parse(IndicatorType::Phone, v).map_err(|e| e.reason)?;
            let last = Indicator::parse(
                IndicatorType::Phone,
                range_last.ok_or("a phone_range claim needs range_last")?,
            )
            .map_err(|e| e.reason)?;
            TargetScope::NumberRange
                .check(&first, Some(&last))
                .or_else(|e| {
                    // Carriers hold whole segments, larger than a block may cover.
                    if e.contains("at most") {
                        Ok(())
                    } else {
                        Err(e)
                    }
                })?;
            Ok((first.value().to_owned(), Some(last.value().to_owned())))
        }
    }
}

impl ResourceClaim {
    /// Whether this claim covers some of the same resource as (`kind`, `value`, `last`),
    /// all normalised: prefixes that nest, names one under the other, ranges that meet.
    pub fn overlaps(&self, kind: ResourceKind, value: &str, last: Option<&str>) -> bool {
        if self.kind != kind {
            return false;
        }
        match kind {
            ResourceKind::Prefix => match (
                self.value.parse::<ipnet::IpNet>(),
                value.parse::<ipnet::IpNet>(),
            ) {
                (Ok(x), Ok(y)) => x.contains(&y) || y.contains(&x),
                _ => false,
            },
            ResourceKind::PhoneRange => {
                let (a_lo, a_hi) = (
                    self.value.as_str(),
                    self.range_last.as_deref().unwrap_or(&self.value),
                );
                let (b_lo, b_hi) = (value, last.unwrap_or(value));
                a_lo.len() == b_lo.len() && a_lo <= b_hi && b_lo <= a_hi
            }
            ResourceKind::Asn => self.value == value,
            // Many operators filter URLs in one province; that is no conflict.
            ResourceKind::UrlFiltering => false,
            _ => {
                let under = |n: &str, p: &str| n == p || n.ends_with(&format!(".{p}"));
                under(&self.value, value) || under(value, &self.value)
            }
        }
    }

    /// An organisation's administrator declares a resource it holds.
    #[allow(clippy::too_many_arguments)]
    pub fn declare(
        actor: &Actor,
        id: Uuid,
        kind: ResourceKind,
        value: &str,
        range_last: Option<&str>,
        asn: Option<u32>,
        province: Option<crate::org::Province>,
        overlaps: Vec<Uuid>,
        now: OffsetDateTime,
    ) -> Result<(ResourceClaim, Event), Refusal> {
        let Actor::Principal {
            principal_id,
            org,
            roles,
            ..
        } = actor
        else {
            return Err(Refusal {
                code: RefusalCode::Role,
                message: "resources are declared by an organisation's administrators".into(),
            });
        };
        if !roles.contains(&Role::Admin) {
            return Err(Refusal {
                code: RefusalCode::Role,
                message: "resources are declared by an organisation's administrators".into(),
            });
        }
        if org.org_type.is_authority() || org.org_type == OrgType::Institution {
            return Err(Refusal {
                code: RefusalCode::Organisation,
                message: "authorities and institutions hold no resources in the registry".into(),
            });
        }
        let (value, range_last) = normalize_claim(kind, value, range_last).map_err(invalid)?;
        if asn.is_some() && kind != ResourceKind::Prefix {
            return Err(invalid("asn belongs to a prefix claim only"));
        }
        let claim = ResourceClaim {
            id,
            org: org.clone(),
            kind,
            value,
            range_last,
            asn,
            province,
            status: ClaimStatus::Pending,
            declared_by: *principal_id,
            declared_at: now,
            source: "declared".into(),
            overlaps,
            decided_by: None,
            decided_at: None,
            reasons: String::new(),
        };
        let ev = event(
            "resource.declared",
            SubjectKind::ResourceClaim,
            id,
            json!({"kind": kind, "value": claim.value, "org": org.slug, "overlaps": claim.overlaps}),
        );
        Ok((claim, ev))
    }

    /// A claim brought in by an import the platform's operators run (RIR delegation files,
    /// prefix-to-AS tables, registrar-of-record lists): approved on entry, its source named.
    #[allow(clippy::too_many_arguments)]
    pub fn imported(
        actor: &Actor,
        id: Uuid,
        org: OrgRef,
        kind: ResourceKind,
        value: &str,
        range_last: Option<&str>,
        asn: Option<u32>,
        province: Option<crate::org::Province>,
        source: &str,
        now: OffsetDateTime,
    ) -> Result<(ResourceClaim, Event), Refusal> {
        let Actor::System { .. } = actor else {
            return Err(Refusal {
                code: RefusalCode::Role,
                message: "imports run on the platform's command line".into(),
            });
        };
        let (value, range_last) = normalize_claim(kind, value, range_last).map_err(invalid)?;
        let claim = ResourceClaim {
            id,
            org,
            kind,
            value,
            range_last,
            asn,
            province,
            status: ClaimStatus::Approved,
            declared_by: Uuid::nil(),
            declared_at: now,
            source: source.to_owned(),
            overlaps: vec![],
            decided_by: None,
            decided_at: Some(now),
            reasons: String::new(),
        };
        let ev = event(
            "resource.imported",
            SubjectKind::ResourceClaim,
            id,
            json!({"kind": kind, "value": claim.value, "org": claim.org.slug, "source": source}),
        );
        Ok((claim, ev))
    }

    /// A telecom authority's reviewer approves or rejects a pending claim.
    pub fn decide(
        &self,
        actor: &Actor,
        approve: bool,
        reasons: &str,
        now: OffsetDateTime,
    ) -> Result<(ResourceClaim, Event), Refusal> {
        let Actor::Principal { org, roles, .. } = actor else {
            return Err(Refusal {
                code: RefusalCode::Role,
                message: "claims are decided by a telecom authority's reviewers".into(),
            });
        };
        if !roles.contains(&Role::Reviewer) || !org.org_type.is_authority() {
            return Err(Refusal {
                code: RefusalCode::Role,
                message: "claims are decided by a telecom authority's reviewers".into(),
            });
        }
        if self.status != ClaimStatus::Pending {
            return Err(Refusal {
                code: RefusalCode::State,
                message: format!("the claim is already {}", self.status.as_str()),
            });
        }
        if !approve && reasons.trim().is_empty() {
            return Err(invalid("say why the claim is rejected (reasons)"));
        }
        let mut next = self.clone();
        next.status = if approve {
            ClaimStatus::Approved
        } else {
            ClaimStatus::Rejected
        };
        next.decided_by = Some(org.clone());
        next.decided_at = Some(now);
        next.reasons = reasons.trim().to_owned();
        let ev = event(
            if approve {
                "resource.approved"
            } else {
                "resource.rejected"
            },
            SubjectKind::ResourceClaim,
            self.id,
            json!({"reasons": next.reasons}),
        );
        Ok((next, ev))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_normalised_or_refused_with_a_reason() {
        use ResourceKind as K;
        assert_eq!(
            normalize_claim(K::Prefix, "202.96.128.0/18", None)
                .unwrap()
                .0,
            "202.96.128.0/18"
        );
        assert!(
            normalize_claim(K::Prefix, "202.96.128.1/18", None)
                .unwrap_err()
                .contains("host bits")
        );
        assert_eq!(normalize_claim(K::Asn, "as4134", None).unwrap().0, "AS4134");
        assert_eq!(normalize_claim(K::Tld, ".CN", None).unwrap().0, "cn");
        assert!(normalize_claim(K::Tld, "example.cn", None).is_err());
        assert_eq!(
            normalize_claim(K::PhoneRange, "+8613300000000", Some("+8613399999999")).unwrap(),
            (
                "+8613300000000".to_owned(),
                Some("+8613399999999".to_owned())
            )
        );
        assert!(normalize_claim(K::PhoneRange, "+8613300000000", None).is_err());
        assert!(normalize_claim(K::Domain, "x.example.cn", Some("+86133")).is_err());
    }
}

/// Readers of the registry data files `warden registry import` takes, one line at a time.
pub mod import {
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// One resource a line of an import file names.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Record {
        /// A network, with the AS originating it if the file says.
        Prefix {
            net: String,
            asn: Option<u32>,
        },
        Asn(u32),
        /// A domain and the slug of its registrar of record.
        Sponsored {
            domain: String,
            registrar: String,
        },
    }

    /// What a delegated-extended line is about, when it is a delegation at all.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Delegation {
        pub registry: String,
        pub cc: String,
        pub status: String,
        pub opaque_id: Option<String>,
        pub records: Vec<Record>,
    }

    /// The smallest set of CIDR blocks covering `count` IPv4 addresses from `start`.
    fn ipv4_blocks(start: u32, count: u64) -> Result<Vec<String>, String> {
        if count == 0 || u64::from(start) + count > 1 << 32 {
            return Err(format!(
                "{count} addresses from {} do not fit",
                Ipv4Addr::from(start)
            ));
        }
        let mut out = vec![];
        let (mut at, end) = (u64::from(start), u64::from(start) + count);
        while at < end {
            // The largest aligned block at `at` that stays inside the range.
            let align = if at == 0 {
                32
            } else {
                at.trailing_zeros().min(32)
            };
            let mut size = 1u64 << align;
            while at + size > end {
                size >>= 1;
            }
            let len = 32 - size.trailing_zeros();
            out.push(format!("{}/{len}", Ipv4Addr::from(at as u32)));
            at += size;
        }
        Ok(out)
    }

    /// A line of an RIR statistics file in the delegated-extended format
    /// (`registry|cc|type|start|value|date|status[|opaque-id]`). Ok(None) for comments, the
    /// version line, summaries and lines that delegate nothing (available, reserved).
    pub fn delegated(line: &str) -> Result<Option<Delegation>, String> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return Ok(None);
        }
        let f: Vec<&str> = line.split('|').collect();
        // The version line starts with a digit; summaries have `*` as cc and `summary` last.
        if f.first()
            .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
        {
            return Ok(None);
        }
        if f.len() >= 6 && f[1] == "*" && f[5] == "summary" {
            return Ok(None);
        }
        if f.len() < 7 {
            return Err(format!(
                "{} fields; expected registry|cc|type|start|value|date|status[|opaque-id]",
                f.len()
            ));
        }
        let status = f[6].to_ascii_lowercase();
        if !matches!(status.as_str(), "allocated" | "assigned") {
            return Ok(None);
        }
        let value: u64 = f[4]
            .parse()
            .map_err(|_| format!("value {:?} is not a number", f[4]))?;
        let records = match f[2] {
            "ipv4" => {
                let start: Ipv4Addr = f[3]
                    .parse()
                    .map_err(|_| format!("start {:?} is not an IPv4 address", f[3]))?;
                ipv4_blocks(u32::from(start), value)?
                    .into_iter()
                    .map(|net| Record::Prefix { net, asn: None })
                    .collect()
            }
            "ipv6" => {
                let start: Ipv6Addr = f[3]
                    .parse()
                    .map_err(|_| format!("start {:?} is not an IPv6 address", f[3]))?;
                if value > 128 {
                    return Err(format!("prefix length {value} is over 128"));
                }
                vec![Record::Prefix {
                    net: format!("{start}/{value}"),
                    asn: None,
                }]
            }
            "asn" => {
                let start: u32 = f[3]
                    .parse()
                    .map_err(|_| format!("start {:?} is not an AS number", f[3]))?;
                if value == 0 || value > 65_536 {
                    return Err(format!("{value} AS numbers in one line is not plausible"));
                }
                (0..value as u32)
                    .map(|k| Record::Asn(start.saturating_add(k)))
                    .collect()
            }
            other => return Err(format!("type {other:?}: expected ipv4, ipv6 or asn")),
        };
        Ok(Some(Delegation {
            registry: f[0].to_owned(),
            cc: f[1].to_owned(),
            status,
            opaque_id: f.get(7).map(|s| (*s).to_owned()),
            records,
        }))
    }

    /// A line of a prefix-to-AS table: `prefix<TAB>length<TAB>asn` (multi-origin `a_b` and
    /// AS sets `a,b` take the first).
    pub fn pfx2as(line: &str) -> Result<Option<Record>, String> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return Ok(None);
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 3 {
            return Err(format!(
                "{} fields; expected prefix, length and AS",
                f.len()
            ));
        }
        let len: u8 = f[1]
            .parse()
            .map_err(|_| format!("length {:?} is not a number", f[1]))?;
        let asn: u32 = f[2]
            .split(['_', ','])
            .next()
            .unwrap_or_default()
            .parse()
            .map_err(|_| format!("AS {:?} is not a number", f[2]))?;
        Ok(Some(Record::Prefix {
            net: format!("{}/{len}", f[0]),
            asn: Some(asn),
        }))
    }

    /// A line of a registrar-of-record list: `domain,registrar` (the registrar's slug).
    pub fn registrar(line: &str) -> Result<Option<Record>, String> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return Ok(None);
        }
        let Some((domain, registrar)) = line.split_once([',', '\t']) else {
            return Err("expected domain,registrar".into());
        };
        let (domain, registrar) = (domain.trim(), registrar.trim());
        if domain.is_empty() || registrar.is_empty() {
            return Err("expected domain,registrar".into());
        }
        Ok(Some(Record::Sponsored {
            domain: domain.to_owned(),
            registrar: registrar.to_ascii_lowercase(),
        }))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn delegated_lines_become_prefixes_and_asns() {
            assert_eq!(
                delegated("2|apnic|20261128|50000|19830613|20261127|+1000").unwrap(),
                None
            );
            assert_eq!(delegated("apnic|*|ipv4|*|46000|summary").unwrap(), None);
            assert_eq!(delegated("# comment").unwrap(), None);
            assert_eq!(
                delegated("apnic||ipv4|1.0.8.0|2048|20110412|available|").unwrap(),
                None
            );
            let d = delegated("apnic|CN|ipv4|1.0.1.0|256|20110414|allocated|A92E1062")
                .unwrap()
                .unwrap();
            assert_eq!(d.cc, "CN");
            assert_eq!(d.opaque_id.as_deref(), Some("A92E1062"));
            assert_eq!(
                d.records,
                vec![Record::Prefix {
                    net: "1.0.1.0/24".into(),
                    asn: None
                }]
            );
            // Not a power of two: the fewest aligned blocks.
            let d = delegated("apnic|CN|ipv4|1.0.2.0|768|20110414|allocated")
                .unwrap()
                .unwrap();
            let nets: Vec<String> = d
                .records
                .iter()
                .map(|r| match r {
                    Record::Prefix { net, .. } => net.clone(),
                    _ => String::new(),
                })
                .collect();
            assert_eq!(nets, ["1.0.2.0/23", "1.0.4.0/24"]);
            let d = delegated("apnic|CN|ipv6|240e::|20|20130307|allocated|A91E5C4B")
                .unwrap()
                .unwrap();
            assert_eq!(
                d.records,
                vec![Record::Prefix {
                    net: "240e::/20".into(),
                    asn: None
                }]
            );
            let d = delegated("apnic|CN|asn|4134|2|20020801|allocated")
                .unwrap()
                .unwrap();
            assert_eq!(d.records, vec![Record::Asn(4134), Record::Asn(4135)]);
            assert!(delegated("apnic|CN|ipv4|1.0.1.x|256|20110414|allocated").is_err());
            assert!(delegated("apnic|CN|ipv4").is_err());
        }

        #[test]
        fn pfx2as_and_registrar_lines() {
            assert_eq!(
                pfx2as("1.0.4.0\t22\t38803_56203").unwrap(),
                Some(Record::Prefix {
                    net: "1.0.4.0/22".into(),
                    asn: Some(38803)
                })
            );
            assert!(pfx2as("1.0.4.0 22").is_err());
            assert_eq!(
                registrar("shop.example.cn, Registrar-Alpha").unwrap(),
                Some(Record::Sponsored {
                    domain: "shop.example.cn".into(),
                    registrar: "registrar-alpha".into()
                })
            );
            assert!(registrar("shop.example.cn").is_err());
        }
    }
}
