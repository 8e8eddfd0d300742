//! False-positive guards: allow-lists of things that must not be blocked by mistake
//! (special-purpose address ranges, public resolvers, DNS infrastructure, the public suffixes
//! themselves) and the lists operators add. A hit does not forbid a block; it demands a
//! stated reason (checked in the core).

use ipnet::IpNet;
use serde::Deserialize;
use warden_core::indicator::{Indicator, IndicatorType, TargetScope, is_public_suffix};
use warden_core::lifecycle::AllowlistHit;

#[derive(Debug, thiserror::Error)]
pub enum AllowlistError {
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    list: Vec<ListDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListDoc {
    name: String,
    source: String,
    entries: Vec<EntryDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryDoc {
    value: String,
    note: String,
}

/// One allow-list entry: a network or a name (with everything below it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowEntry {
    pub list: String,
    pub target: AllowTarget,
    /// Why it is there: the list's source and the entry's note.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowTarget {
    Net(IpNet),
    Name(String),
}

impl AllowTarget {
    /// Reads an address, a network or a domain name.
    pub fn parse(value: &str) -> Result<AllowTarget, String> {
        let v = value.trim();
        if let Ok(n) = v.parse::<IpNet>() {
            return Ok(AllowTarget::Net(n.trunc()));
        }
        if let Ok(a) = v.parse::<std::net::IpAddr>() {
            return Ok(AllowTarget::Net(IpNet::from(a)));
        }
        Indicator::parse(IndicatorType::Domain, v)
            .map(|d| AllowTarget::Name(d.value().to_owned()))
            .map_err(|e| format!("{v:?} is neither an address, a network nor a domain name: {e}"))
    }

    pub fn display(&self) -> String {
        match self {
            AllowTarget::Net(n) if n.prefix_len() == n.max_prefix_len() => n.addr().to_string(),
            AllowTarget::Net(n) => n.to_string(),
            AllowTarget::Name(d) => d.clone(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Allowlist {
    entries: Vec<AllowEntry>,
}

fn under(name: &str, ancestor: &str) -> bool {
    name == ancestor
        || (name.len() > ancestor.len()
            && name.ends_with(ancestor)
            && name.as_bytes()[name.len() - ancestor.len() - 1] == b'.')
}

impl Allowlist {
    /// Parses the shipped lists (TOML, see `data/allowlist.toml`).
    pub fn parse(file: &str, text: &str) -> Result<Allowlist, AllowlistError> {
        let invalid = |message: String| AllowlistError::Invalid {
            file: file.to_owned(),
            message,
        };
        let doc: FileDoc = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let mut entries = vec![];
        for l in doc.list {
            for (i, e) in l.entries.iter().enumerate() {
                let target = AllowTarget::parse(&e.value)
                    .map_err(|m| invalid(format!("list {} entry {}: {m}", l.name, i + 1)))?;
                entries.push(AllowEntry {
                    list: l.name.clone(),
                    target,
                    source: format!("{} ({})", e.note, l.source),
                });
            }
        }
        Ok(Allowlist { entries })
    }

    /// The lists shipped with Warden.
    pub fn shipped() -> Allowlist {
        // The shipped file is tested to parse; an empty list is the safe fallback.
        Allowlist::parse("data/allowlist.toml", SHIPPED).unwrap_or_default()
    }

    /// The same lists plus more entries (operator-managed).
    pub fn with(&self, more: impl IntoIterator<Item = AllowEntry>) -> Allowlist {
        let mut entries = self.entries.clone();
        entries.extend(more);
        Allowlist { entries }
    }

    pub fn entries(&self) -> &[AllowEntry] {
        &self.entries
    }

    /// The guards a block on `target` with `scope` would hit.
    pub fn check(&self, target: &Indicator, scope: TargetScope) -> Vec<AllowlistHit> {
        let mut hits = vec![];
        let hit = |e: &AllowEntry| AllowlistHit {
            list: e.list.clone(),
            entry: e.target.display(),
            source: e.source.clone(),
        };
        let name_check = |name: &str, subtree: bool, hits: &mut Vec<AllowlistHit>| {
            if is_public_suffix(name) {
                hits.push(AllowlistHit {
                    list: "public-suffixes".into(),
                    entry: name.to_owned(),
                    source: "Public Suffix List: names under which the public registers domains"
                        .into(),
                });
            }
            for e in &self.entries {
                if let AllowTarget::Name(a) = &e.target
                    && (under(name, a) || (subtree && under(a, name)))
                {
                    hits.push(hit(e));
                }
            }
        };
        let net_check = |net: IpNet, hits: &mut Vec<AllowlistHit>| {
            for e in &self.entries {
                if let AllowTarget::Net(a) = &e.target
                    && (a.contains(&net) || net.contains(a))
                {
                    hits.push(hit(e));
                }
            }
        };
        match target.kind() {
            IndicatorType::Ipv4 | IndicatorType::Ipv6 | IndicatorType::Cidr => {
                if let Some(n) = target.network() {
                    net_check(n, &mut hits);
                }
            }
            IndicatorType::Domain => {
                name_check(target.value(), scope == TargetScope::Subdomains, &mut hits)
            }
            IndicatorType::Url => {
                if let Some((host, _)) = crate::index::url_parts(target.value()) {
                    match host.parse::<std::net::IpAddr>() {
                        Ok(a) => net_check(IpNet::from(a), &mut hits),
                        Err(_) => name_check(host, false, &mut hits),
                    }
                }
            }
            IndicatorType::Email if scope == TargetScope::MailDomain => {
                if let Some(d) = target.domain() {
                    name_check(d, false, &mut hits);
                }
            }
            _ => {}
        }
        hits
    }
}

const SHIPPED: &str = include_str!("../../../data/allowlist.toml");

#[cfg(test)]
mod tests {
    use super::*;

    fn check(t: IndicatorType, v: &str, scope: Option<TargetScope>) -> Vec<String> {
        let ind = Indicator::parse(t, v).unwrap();
        let scope = scope.unwrap_or(TargetScope::default_for(t));
        Allowlist::shipped()
            .check(&ind, scope)
            .into_iter()
            .map(|h| format!("{}:{}", h.list, h.entry))
            .collect()
    }

    #[test]
    fn shipped_lists_parse_and_guard_what_they_say() {
        let a = Allowlist::parse("data/allowlist.toml", SHIPPED).unwrap();
        assert!(a.entries().len() > 50);
        use IndicatorType as T;
        assert_eq!(
            check(T::Ipv4, "10.1.2.3", None),
            ["iana-special-ipv4:10.0.0.0/8"]
        );
        assert_eq!(check(T::Ipv4, "8.8.8.8", None), ["public-dns:8.8.8.8"]);
        // A network that contains a guarded address hits it too.
        assert_eq!(check(T::Cidr, "8.8.8.0/24", None), ["public-dns:8.8.8.8"]);
        assert!(check(T::Ipv4, "8.8.8.9", None).is_empty());
        assert_eq!(
            check(T::Ipv6, "fe80::1", None),
            ["iana-special-ipv6:fe80::/10"]
        );
        assert_eq!(
            check(T::Domain, "com.cn", Some(TargetScope::Exact)),
            ["public-suffixes:com.cn"]
        );
        assert_eq!(
            check(T::Domain, "a.root-servers.net", None),
            ["dns-infrastructure:root-servers.net"]
        );
        assert!(check(T::Domain, "evil.example.cn", None).is_empty());
        assert_eq!(
            check(T::Url, "http://dns.google/x", None),
            ["public-dns:dns.google"]
        );
        assert_eq!(
            check(T::Url, "http://10.0.0.1/x", None),
            ["iana-special-ipv4:10.0.0.0/8"]
        );
        assert!(check(T::Email, "x@pub.example.cn", None).is_empty());
    }

    #[test]
    fn a_subdomain_block_hits_guards_below_it() {
        let a = Allowlist::default().with([AllowEntry {
            list: "operator".into(),
            target: AllowTarget::parse("www.bank.example.cn").unwrap(),
            source: "the bank's public site".into(),
        }]);
        let d = Indicator::parse(IndicatorType::Domain, "bank.example.cn").unwrap();
        assert_eq!(a.check(&d, TargetScope::Subdomains).len(), 1);
        assert!(a.check(&d, TargetScope::Exact).is_empty());
    }

    #[test]
    fn bad_files_name_the_list_and_entry() {
        let e = Allowlist::parse(
            "x.toml",
            "[[list]]\nname = \"l\"\nsource = \"s\"\nentries = [{ value = \"not a thing!\", note = \"n\" }]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("x.toml") && e.contains("list l entry 1"), "{e}");
    }
}
