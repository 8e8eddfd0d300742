//! Blocklist renderers: what DNS resolvers (RPZ), firewalls (nftables), IDS (Suricata) and
//! scripts (plain, CSV) read. Full exports and deltas since a serial. Each format's rules are
//! in `docs/blocklists.md`; the consumers' quirks they work around are noted where they matter.

use crate::index::Entry;
use ipnet::IpNet;
use std::io::{self, Write};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;
use warden_core::indicator::{IndicatorType, TargetScope};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Rpz,
    Nftables,
    Suricata,
    Plain,
    Csv,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Rpz,
        Format::Nftables,
        Format::Suricata,
        Format::Plain,
        Format::Csv,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Rpz => "rpz",
            Format::Nftables => "nftables",
            Format::Suricata => "suricata",
            Format::Plain => "plain",
            Format::Csv => "csv",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == s)
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            _ => "text/plain; charset=utf-8",
        }
    }

    /// Whether the format carries entries of this type at all.
    pub fn carries(self, e: &Entry) -> bool {
        let t = e.target.kind();
        let ip = matches!(
            t,
            IndicatorType::Ipv4 | IndicatorType::Ipv6 | IndicatorType::Cidr
        );
        match self {
            Format::Rpz | Format::Suricata => ip || t == IndicatorType::Domain,
            Format::Nftables => ip,
            Format::Plain | Format::Csv => true,
        }
    }
}

/// What a listed name resolves to under RPZ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RpzAction {
    Nxdomain,
    Sinkhole {
        v4: Option<Ipv4Addr>,
        v6: Option<Ipv6Addr>,
    },
}

#[derive(Debug, Clone)]
pub struct Options {
    /// The RPZ zone's name, absolute (`rpz.warden.`).
    pub zone: String,
    pub action: RpzAction,
    /// The nftables table (family inet).
    pub nft_table: String,
    pub ttl: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            zone: "rpz.warden.".into(),
            action: RpzAction::Nxdomain,
            nft_table: "warden".into(),
            ttl: 300,
        }
    }
}

/// One rendered unit, identified by a key so that duplicates (two measures on one value)
/// collapse and deltas can be taken per unit.
pub fn unit_key(f: Format, e: &Entry) -> String {
    match f {
        Format::Csv => format!("{}\u{0}{}", e.measure_id, e.target.value()),
        Format::Nftables => e
            .target
            .network()
            .map(|n| n.trunc().to_string())
            .unwrap_or_default(),
        _ => format!(
            "{}\u{0}{}\u{0}{}\u{0}{}",
            e.target.kind().as_str(),
            e.target.value(),
            e.scope.as_str(),
            e.range_last.as_ref().map_or("", |r| r.value())
        ),
    }
}

/// Keeps the first entry of each unit, in key order (deterministic output).
pub fn units(
    f: Format,
    entries: impl IntoIterator<Item = Arc<Entry>>,
) -> Vec<(String, Arc<Entry>)> {
    let mut v: Vec<(String, Arc<Entry>)> = entries
        .into_iter()
        .filter(|e| f.carries(e))
        .map(|e| (unit_key(f, &e), e))
        .collect();
    v.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.since.cmp(&b.1.since)));
    v.dedup_by(|a, b| a.0 == b.0);
    v
}

/// Drops networks that a larger listed network already covers: nftables interval sets refuse
/// overlapping elements.
pub fn prune_nets(mut nets: Vec<IpNet>) -> Vec<IpNet> {
    nets.sort_unstable_by_key(|n| (n.network(), n.prefix_len()));
    nets.dedup();
    let mut out: Vec<IpNet> = Vec::with_capacity(nets.len());
    for n in nets {
        if out.last().is_some_and(|l| l.contains(&n)) {
            continue;
        }
        out.push(n);
    }
    out
}

fn soa(w: &mut impl Write, o: &Options, serial: i64) -> io::Result<()> {
    // DNS serials are 32-bit and compared in serial-number arithmetic (RFC 1982).
    writeln!(
        w,
        "@ {} IN SOA localhost. hostmaster.localhost. {} 3600 600 604800 {}",
        o.ttl, serial as u32, o.ttl
    )
}

/// RPZ owner for an address or network under `rpz-ip`: the prefix length, then the address
/// reversed (IPv6 as RFC 5952 groups with `zz` for the longest zero run).
pub fn rpz_ip_owner(net: &IpNet) -> String {
    match net {
        IpNet::V4(n) => {
            let o = n.network().octets();
            format!(
                "{}.{}.{}.{}.{}.rpz-ip",
                n.prefix_len(),
                o[3],
                o[2],
                o[1],
                o[0]
            )
        }
        IpNet::V6(n) => {
            let g = n.network().segments();
            // The longest run of two or more zero groups, the first on a tie.
            let (mut best, mut best_len, mut i) = (usize::MAX, 1usize, 0usize);
            while i < 8 {
                if g[i] == 0 {
                    let start = i;
                    while i < 8 && g[i] == 0 {
                        i += 1;
                    }
                    if i - start > best_len {
                        best = start;
                        best_len = i - start;
                    }
                } else {
                    i += 1;
                }
            }
            let mut labels: Vec<String> = vec![];
            let mut i = 8;
            while i > 0 {
                i -= 1;
                if best != usize::MAX && i >= best && i < best + best_len {
                    labels.push("zz".into());
                    i = best;
                    continue;
                }
                labels.push(format!("{:x}", g[i]));
            }
            format!("{}.{}.rpz-ip", n.prefix_len(), labels.join("."))
        }
    }
}

fn rpz_records(w: &mut impl Write, o: &Options, e: &Entry) -> io::Result<()> {
    let action = |w: &mut dyn Write, owner: &str| -> io::Result<()> {
        match o.action {
            RpzAction::Nxdomain => writeln!(w, "{owner} CNAME ."),
            RpzAction::Sinkhole { v4, v6 } => {
                if let Some(a) = v4 {
                    writeln!(w, "{owner} A {a}")?;
                }
                if let Some(a) = v6 {
                    writeln!(w, "{owner} AAAA {a}")?;
                }
                if v4.is_none() && v6.is_none() {
                    writeln!(w, "{owner} CNAME .")?;
                }
                Ok(())
            }
        }
    };
    match e.target.kind() {
        IndicatorType::Domain => {
            let name = e.target.value();
            // Owner names must fit in 255 octets with the zone appended; one bad record stops
            // Unbound loading the whole zone.
            let room = 253usize.saturating_sub(o.zone.trim_end_matches('.').len() + 1);
            let wildcard = e.scope == TargetScope::Subdomains;
            if name.len() + if wildcard { 2 } else { 0 } > room {
                return writeln!(
                    w,
                    "; {} skipped: too long to fit under {}",
                    e.reference, o.zone
                );
            }
            action(w, name)?;
            if wildcard {
                action(w, &format!("*.{name}"))?;
            }
            Ok(())
        }
        _ => match e.target.network() {
            // rpz-ip rules block answers that carry the address: always NXDOMAIN.
            Some(n) => writeln!(w, "{} CNAME .", rpz_ip_owner(&n.trunc())),
            None => Ok(()),
        },
    }
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// The value as a plain list shows it: `*.` never, a mail domain as `@domain`, a number
/// range as `first-last`.
pub fn plain_value(e: &Entry) -> String {
    match e.scope {
        TargetScope::MailDomain => format!("@{}", e.target.domain().unwrap_or_default()),
        TargetScope::NumberRange => format!(
            "{}-{}",
            e.target.value(),
            e.range_last.as_ref().map_or("", |r| r.value())
        ),
        _ => e.target.value().to_owned(),
    }
}

fn csv_row(w: &mut impl Write, e: &Entry, op: Option<&str>) -> io::Result<()> {
    if let Some(op) = op {
        write!(w, "{op},")?;
    }
    writeln!(
        w,
        "{},{},{},{},{},{},{},{}",
        csv_field(&plain_value(e)),
        e.target.kind().as_str(),
        e.scope.as_str(),
        e.measure_id,
        e.reference,
        e.recipient_slug,
        rfc3339(e.since),
        rfc3339(e.expires)
    )
}

const CSV_HEADER: &str = "value,type,scope,measure,reference,recipient,since,expires";

/// Suricata rules for one entry, with sids derived from `base_sid` (8 per entry).
fn suricata_rules(w: &mut impl Write, e: &Entry, sid: u32) -> io::Result<()> {
    let msg = format!("Warden block {} {}", e.reference, e.target.value());
    let msg = msg.replace(['"', ';', '\\'], "_");
    match e.target.kind() {
        IndicatorType::Domain => {
            let name = e.target.value();
            let mut n = 0;
            for (proto, buffer, nocase) in [
                ("dns", "dns.query", " nocase;"),
                ("tls", "tls.sni", " nocase;"),
                ("http", "http.host", ""),
            ] {
                writeln!(
                    w,
                    "alert {proto} any any -> any any (msg:\"{msg}\"; {buffer}; content:\"{name}\";{nocase} startswith; endswith; sid:{}; rev:1;)",
                    sid + n
                )?;
                n += 1;
                if e.scope == TargetScope::Subdomains {
                    // Anchored on the dot: a bare suffix would also match notevil.example.
                    writeln!(
                        w,
                        "alert {proto} any any -> any any (msg:\"{msg}\"; {buffer}; content:\".{name}\";{nocase} endswith; sid:{}; rev:1;)",
                        sid + n
                    )?;
                    n += 1;
                }
            }
            Ok(())
        }
        _ => match e.target.network() {
            Some(net) => writeln!(
                w,
                "alert ip any any <> {} any (msg:\"{msg}\"; sid:{sid}; rev:1;)",
                net.trunc()
            ),
            None => Ok(()),
        },
    }
}

/// The first sid of an entry: stable while the entry is listed, unique per listing.
pub fn sid_of(e: &Entry) -> u32 {
    // Local sids start at 1,000,000,000; eight per listing; wraps after about 400M listings.
    1_000_000_000u32.wrapping_add(((e.listed_serial as u64 % 400_000_000) * 8) as u32)
}

/// A full export. `progress` is told each entry written.
pub fn full(
    f: Format,
    units: &[(String, Arc<Entry>)],
    o: &Options,
    serial: i64,
    w: &mut impl Write,
    mut progress: impl FnMut(usize),
) -> io::Result<()> {
    match f {
        Format::Rpz => {
            writeln!(
                w,
                "; Warden blocklist as a DNS response policy zone, serial {serial}"
            )?;
            writeln!(w, "$TTL {}", o.ttl)?;
            writeln!(w, "$ORIGIN {}", o.zone)?;
            soa(w, o, serial)?;
            writeln!(w, "@ {} IN NS localhost.", o.ttl)?;
        }
        Format::Nftables => {
            writeln!(
                w,
                "# Warden blocklist, serial {serial}. Load with: nft -f FILE"
            )?;
            // Declaring, then deleting, then defining makes a reload replace the table whether
            // or not it existed.
            writeln!(w, "table inet {}", o.nft_table)?;
            writeln!(w, "delete table inet {}", o.nft_table)?;
            writeln!(w, "table inet {} {{", o.nft_table)?;
            let nets: Vec<IpNet> = units
                .iter()
                .filter_map(|(_, e)| e.target.network().map(|n| n.trunc()))
                .collect();
            let nets = prune_nets(nets);
            for (name, ty, v4) in [
                ("blocked_v4", "ipv4_addr", true),
                ("blocked_v6", "ipv6_addr", false),
            ] {
                writeln!(w, "\tset {name} {{")?;
                writeln!(w, "\t\ttype {ty}")?;
                writeln!(w, "\t\tflags interval")?;
                let mut first = true;
                for n in nets.iter().filter(|n| matches!(n, IpNet::V4(_)) == v4) {
                    if first {
                        write!(w, "\t\telements = {{ {}", nft_elem(n))?;
                        first = false;
                    } else {
                        write!(w, ",\n\t\t\t{}", nft_elem(n))?;
                    }
                    progress(1);
                }
                if !first {
                    writeln!(w, " }}")?;
                }
                writeln!(w, "\t}}")?;
            }
            writeln!(w, "\tchain filter {{")?;
            writeln!(
                w,
                "\t\ttype filter hook forward priority filter - 10; policy accept;"
            )?;
            writeln!(w, "\t\tip daddr @blocked_v4 counter drop")?;
            writeln!(w, "\t\tip saddr @blocked_v4 counter drop")?;
            writeln!(w, "\t\tip6 daddr @blocked_v6 counter drop")?;
            writeln!(w, "\t\tip6 saddr @blocked_v6 counter drop")?;
            writeln!(w, "\t}}")?;
            writeln!(w, "}}")?;
            return Ok(());
        }
        Format::Suricata => {
            writeln!(w, "# Warden blocklist as Suricata rules, serial {serial}")?;
        }
        Format::Plain => {}
        Format::Csv => writeln!(w, "{CSV_HEADER}")?,
    }
    for (_, e) in units {
        match f {
            Format::Rpz => rpz_records(w, o, e)?,
            Format::Suricata => suricata_rules(w, e, sid_of(e))?,
            Format::Plain => writeln!(w, "{}", plain_value(e))?,
            Format::Csv => csv_row(w, e, None)?,
            Format::Nftables => {}
        }
        progress(1);
    }
    Ok(())
}

fn nft_elem(n: &IpNet) -> String {
    if n.prefix_len() == n.max_prefix_len() {
        n.addr().to_string()
    } else {
        n.to_string()
    }
}

/// A delta from serial `from` to `to`: units removed, then units added.
pub fn delta(
    f: Format,
    removed: &[(String, Arc<Entry>)],
    added: &[(String, Arc<Entry>)],
    o: &Options,
    from: i64,
    to: i64,
    w: &mut impl Write,
) -> io::Result<()> {
    match f {
        Format::Rpz => {
            // The order of an incremental zone transfer (RFC 1995): the old SOA, the records
            // deleted, the new SOA, the records added.
            writeln!(
                w,
                "; Warden RPZ delta from serial {from} to {to}: old SOA, deletions, new SOA, additions"
            )?;
            writeln!(w, "$TTL {}", o.ttl)?;
            writeln!(w, "$ORIGIN {}", o.zone)?;
            soa(w, o, from)?;
            for (_, e) in removed {
                rpz_records(w, o, e)?;
            }
            soa(w, o, to)?;
            for (_, e) in added {
                rpz_records(w, o, e)?;
            }
        }
        Format::Nftables => {
            writeln!(
                w,
                "# Warden nftables delta from serial {from} to {to}. Load with: nft -f FILE"
            )?;
            for (verb, list) in [("delete", removed), ("add", added)] {
                for v4 in [true, false] {
                    let elems: Vec<String> = list
                        .iter()
                        .filter_map(|(_, e)| e.target.network())
                        .filter(|n| matches!(n, IpNet::V4(_)) == v4)
                        .map(|n| nft_elem(&n.trunc()))
                        .collect();
                    if !elems.is_empty() {
                        writeln!(
                            w,
                            "{verb} element inet {} {} {{ {} }}",
                            o.nft_table,
                            if v4 { "blocked_v4" } else { "blocked_v6" },
                            elems.join(", ")
                        )?;
                    }
                }
            }
        }
        Format::Suricata => {
            writeln!(w, "# Warden Suricata delta from serial {from} to {to}")?;
            for (_, e) in removed {
                writeln!(
                    w,
                    "# removed: sids from {} ({})",
                    sid_of(e),
                    e.target.value()
                )?;
            }
            for (_, e) in added {
                suricata_rules(w, e, sid_of(e))?;
            }
        }
        Format::Plain => {
            for (_, e) in removed {
                writeln!(w, "-{}", plain_value(e))?;
            }
            for (_, e) in added {
                writeln!(w, "+{}", plain_value(e))?;
            }
        }
        Format::Csv => {
            writeln!(w, "op,{CSV_HEADER}")?;
            for (_, e) in removed {
                csv_row(w, e, Some("remove"))?;
            }
            for (_, e) in added {
                csv_row(w, e, Some("add"))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(s: &str) -> String {
        rpz_ip_owner(&s.parse().unwrap())
    }

    #[test]
    fn rpz_ip_owners_are_canonical() {
        assert_eq!(owner("192.0.2.0/24"), "24.0.2.0.192.rpz-ip");
        assert_eq!(owner("198.51.100.7/32"), "32.7.100.51.198.rpz-ip");
        assert_eq!(owner("2001:db8::/32"), "32.zz.db8.2001.rpz-ip");
        assert_eq!(owner("2001:db8::1/128"), "128.1.zz.db8.2001.rpz-ip");
        // A single zero group is written out, never zz.
        assert_eq!(
            owner("2001:db8:0:1:1:1:1:1/128"),
            "128.1.1.1.1.1.0.db8.2001.rpz-ip"
        );
        // The first of two equally long runs.
        assert_eq!(
            owner("2001:0:0:1:0:0:1:1/128"),
            "128.1.1.0.0.1.zz.2001.rpz-ip"
        );
        assert_eq!(owner("::/0"), "0.zz.rpz-ip");
    }

    #[test]
    fn pruning_keeps_the_covering_networks() {
        let nets = [
            "10.0.0.0/8",
            "10.1.2.3/32",
            "10.0.0.0/8",
            "11.0.0.0/24",
            "11.0.0.128/25",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let p: Vec<String> = prune_nets(nets).iter().map(|n| n.to_string()).collect();
        assert_eq!(p, ["10.0.0.0/8", "11.0.0.0/24"]);
    }
}
