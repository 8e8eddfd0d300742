//! Policy (Art. 14): national defaults with per-province implementing rules layered over them.
//! Deadlines per measure kind and severity, the emergency path, block expiry, and the Art. 10
//! appeal windows. Every file is validated on load with errors naming the file, key and problem.

use crate::calendar::{Calendar, Reckoned};
use crate::indicator::IndicatorType;
use crate::lifecycle::common::{MeasureKind, Severity};
use crate::org::{Province, check_slug};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use time::{Duration, OffsetDateTime};

pub const BUILTIN_FILES: [(&str, &str); 3] = [
    (
        "data/policy/national.toml",
        include_str!("../../../data/policy/national.toml"),
    ),
    (
        "data/policy/44.toml",
        include_str!("../../../data/policy/44.toml"),
    ),
    (
        "data/policy/penalties.toml",
        crate::penalties::BUILTIN_SOURCE,
    ),
];

/// A length of time as policies write it: `4h`, `2d` or `3wd` (working days).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Span {
    Hours(u32),
    Days(u32),
    WorkingDays(u32),
}

impl FromStr for Span {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (n, ctor): (&str, fn(u32) -> Span) = if let Some(n) = s.strip_suffix("wd") {
            (n, Span::WorkingDays)
        } else if let Some(n) = s.strip_suffix('h') {
            (n, Span::Hours)
        } else if let Some(n) = s.strip_suffix('d') {
            (n, Span::Days)
        } else {
            return Err(format!(
                "{s:?} is not a span: write hours (\"4h\"), days (\"2d\") or working days (\"3wd\")"
            ));
        };
        match n.parse::<u32>() {
            Ok(v) if (1..=1000).contains(&v) => Ok(ctor(v)),
            _ => Err(format!("{s:?}: the number must be from 1 to 1000")),
        }
    }
}

impl TryFrom<String> for Span {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Span> for String {
    fn from(s: Span) -> String {
        s.to_string()
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Span::Hours(n) => write!(f, "{n}h"),
            Span::Days(n) => write!(f, "{n}d"),
            Span::WorkingDays(n) => write!(f, "{n}wd"),
        }
    }
}

impl Span {
    /// The instant `self` after `start`; working days end at 24:00 Asia/Shanghai.
    pub fn after(self, start: OffsetDateTime, calendar: &Calendar) -> Reckoned<OffsetDateTime> {
        match self {
            Span::Hours(h) => Reckoned {
                value: start + Duration::hours(i64::from(h)),
                provisional: false,
            },
            Span::Days(d) => Reckoned {
                value: start + Duration::days(i64::from(d)),
                provisional: false,
            },
            Span::WorkingDays(n) => calendar.deadline(start, n),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {key}: {problem}")]
pub struct PolicyError {
    pub file: String,
    pub key: String,
    pub problem: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PolicyDoc {
    version: Option<String>,
    province: Option<String>,
    default_institution: Option<String>,
    appeal: Option<AppealDoc>,
    deadlines: Option<BTreeMap<String, BTreeMap<String, String>>>,
    emergency: Option<EmergencyDoc>,
    block_expiry_days: Option<BTreeMap<String, u32>>,
    blocklists: Option<BlocklistsDoc>,
    probes: Option<ProbesDoc>,
    routing: Option<BTreeMap<String, BTreeMap<String, Vec<String>>>>,
    enforcement: Option<EnforcementDoc>,
    inquiries: Option<InquiriesDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InquiriesDoc {
    answer_within: Option<String>,
    emergency_answer_within: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnforcementDoc {
    repeated_failures: Option<u32>,
    within_days: Option<u32>,
}

/// Art. 12: when an organisation's failures (notices overdue, verifications failed) count as
/// repeated, which raises a record of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EnforcementRules {
    /// Failures within `within_days` that make a repeated failure (0: never).
    pub repeated_failures: u32,
    pub within_days: u32,
}

impl Default for EnforcementRules {
    fn default() -> Self {
        EnforcementRules {
            repeated_failures: 3,
            within_days: 180,
        }
    }
}

/// Where the routing of a measure looks in the resource registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteTo {
    /// The holder of the resource (the covering prefix, the domain, the number).
    Holder,
    Registrar,
    Registry,
    Carrier,
    MailProvider,
    /// A broadband account's operator.
    Operator,
    /// Every operator that filters URLs in the case's province.
    UrlFiltering,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProbesDoc {
    allow_networks: Option<Vec<String>>,
    timeout_ms: Option<u64>,
    block_page_markers: Option<Vec<String>>,
}

/// Verification probes (Art. 9): where they may go, how long they wait, what a block page says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeRules {
    /// Special-purpose networks (loopback, private, …) probes may reach all the same; every
    /// other special-purpose address is refused, so a crafted target cannot turn a probe
    /// against the platform's own network.
    pub allow_networks: Vec<ipnet::IpNet>,
    pub timeout_ms: u64,
    /// Text an operator's block page carries: a page that shows one counts as blocked.
    pub block_page_markers: Vec<String>,
}

impl Default for ProbeRules {
    fn default() -> Self {
        ProbeRules {
            allow_networks: vec![],
            timeout_ms: 3000,
            block_page_markers: vec![],
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BlocklistsDoc {
    rpz_zone: Option<String>,
    rpz_action: Option<String>,
    sinkhole_ipv4: Option<std::net::Ipv4Addr>,
    sinkhole_ipv6: Option<std::net::Ipv6Addr>,
    review_before_days: Option<u32>,
}

/// How exported blocklists answer, and when blocks come up for re-review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlocklistRules {
    /// The RPZ zone's name, absolute (ends in a dot).
    pub rpz_zone: String,
    /// Listed names answer NXDOMAIN (None) or these sinkhole addresses.
    pub sinkhole: Option<(Option<std::net::Ipv4Addr>, Option<std::net::Ipv6Addr>)>,
    /// Days before expiry that the deciding authority is asked to re-review a block.
    pub review_before_days: u32,
}

impl Default for BlocklistRules {
    fn default() -> Self {
        BlocklistRules {
            rpz_zone: "rpz.warden.".into(),
            sinkhole: None,
            review_before_days: 14,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AppealDoc {
    window_working_days: Option<u32>,
    reply_working_days: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmergencyDoc {
    written_notice_within: Option<String>,
    deadlines: Option<BTreeMap<String, String>>,
}

/// The rules in force for one place: the national defaults, or a province's rules over them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyRules {
    /// `national-2026.1`, or `national-2026.1+44-2026.1` with a province's rules layered on.
    pub version: String,
    pub default_institution: String,
    pub appeal_window_working_days: u32,
    pub appeal_reply_working_days: u32,
    deadlines: BTreeMap<(MeasureKind, Severity), Span>,
    emergency_deadlines: BTreeMap<MeasureKind, Span>,
    pub written_notice_within: Span,
    block_expiry_days: BTreeMap<IndicatorType, u32>,
    pub blocklists: BlocklistRules,
    pub probes: ProbeRules,
    routing: BTreeMap<(MeasureKind, IndicatorType), Vec<RouteTo>>,
    pub enforcement: EnforcementRules,
    /// Art. 9: how long an organisation has to answer an authority's look-up request, and
    /// how long when the case is an emergency.
    pub inquiry_answer_within: Span,
    pub inquiry_emergency_answer_within: Span,
}

impl PolicyRules {
    /// The span a recipient has to carry out a measure.
    pub fn deadline_span(&self, kind: MeasureKind, severity: Severity, emergency: bool) -> Span {
        let found = if emergency {
            self.emergency_deadlines.get(&kind)
        } else {
            self.deadlines.get(&(kind, severity))
        };
        // Validation guarantees every entry; the fallback only keeps this total.
        found.copied().unwrap_or(Span::WorkingDays(1))
    }

    pub fn deadline(
        &self,
        kind: MeasureKind,
        severity: Severity,
        emergency: bool,
        now: OffsetDateTime,
        calendar: &Calendar,
    ) -> Reckoned<OffsetDateTime> {
        self.deadline_span(kind, severity, emergency)
            .after(now, calendar)
    }

    /// Where a measure of `kind` on a target of type `t` goes when the decision names no
    /// recipient: the registry answers to try, in order (empty: not routed).
    pub fn route(&self, kind: MeasureKind, t: IndicatorType) -> &[RouteTo] {
        self.routing.get(&(kind, t)).map_or(&[], Vec::as_slice)
    }

    /// Days a block on this type of target stays active; None for types that cannot be blocked.
    pub fn block_expiry_days(&self, t: IndicatorType) -> Option<u32> {
        self.block_expiry_days.get(&t).copied()
    }
}

/// National rules and the provinces' overrides, resolved once at load.
#[derive(Debug, Clone)]
pub struct Policy {
    national: PolicyRules,
    provinces: BTreeMap<Province, PolicyRules>,
    /// Art. 12: what each cited article of the Cybersecurity Law allows.
    penalties: crate::penalties::PenaltyTable,
}

impl Policy {
    pub fn builtin() -> Result<Policy, PolicyError> {
        Policy::load(&BUILTIN_FILES)
    }

    /// Loads `(file name, contents)` pairs: exactly one national file (no `province` key) and
    /// any number of province files.
    pub fn load(files: &[(&str, &str)]) -> Result<Policy, PolicyError> {
        let mut national: Option<(String, PolicyDoc)> = None;
        let mut overrides: Vec<(String, Province, PolicyDoc)> = Vec::new();
        let mut penalties = None;
        for (file, text) in files {
            let err = |key: &str, problem: String| PolicyError {
                file: (*file).to_owned(),
                key: key.to_owned(),
                problem,
            };
            // The penalty table sits with the policy files but is a document of its own.
            if file.ends_with("penalties.toml") {
                let t = crate::penalties::PenaltyTable::from_toml(file, text).map_err(|e| {
                    PolicyError {
                        file: e.file,
                        key: e.key,
                        problem: e.problem,
                    }
                })?;
                penalties = Some(t);
                continue;
            }
            let doc: PolicyDoc = toml::from_str(text)
                .map_err(|e| err("(syntax)", e.to_string().trim().replace('\n', " ")))?;
            if doc.version.as_deref().is_none_or(|v| v.trim().is_empty()) {
                return Err(err(
                    "version",
                    "every policy file needs a version".to_owned(),
                ));
            }
            match &doc.province {
                None => {
                    if national.is_some() {
                        return Err(err(
                            "province",
                            "a second national policy: province files need `province = \"NN\"`"
                                .to_owned(),
                        ));
                    }
                    national = Some(((*file).to_owned(), doc));
                }
                Some(p) => {
                    let province: Province = p
                        .parse()
                        .map_err(|e: crate::org::ProvinceError| err("province", e.to_string()))?;
                    if !province.has_communications_administration() {
                        return Err(err(
                            "province",
                            format!("{province} has no communications administration"),
                        ));
                    }
                    if overrides.iter().any(|(_, q, _)| *q == province) {
                        return Err(err(
                            "province",
                            format!("a second policy for province {province}"),
                        ));
                    }
                    if doc.appeal.is_some() {
                        return Err(err(
                            "appeal",
                            "the appeal windows are fixed by Art. 10 and cannot be changed by a province"
                                .to_owned(),
                        ));
                    }
                    overrides.push(((*file).to_owned(), province, doc));
                }
            }
        }
        let Some((nfile, ndoc)) = national else {
            return Err(PolicyError {
                file: "(policy)".to_owned(),
                key: "(files)".to_owned(),
                problem: "no national policy file (one without a `province` key)".to_owned(),
            });
        };
        let national = resolve(&nfile, &ndoc, None)?;
        let mut provinces = BTreeMap::new();
        for (file, province, doc) in overrides {
            provinces.insert(province, resolve(&file, &doc, Some(&national))?);
        }
        let penalties = match penalties {
            Some(t) => t,
            None => crate::penalties::PenaltyTable::builtin().map_err(|e| PolicyError {
                file: e.file,
                key: e.key,
                problem: e.problem,
            })?,
        };
        Ok(Policy {
            national,
            provinces,
            penalties,
        })
    }

    pub fn penalties(&self) -> &crate::penalties::PenaltyTable {
        &self.penalties
    }

    pub fn national(&self) -> &PolicyRules {
        &self.national
    }

    /// The rules for a case in `province`; national where the province has none of its own.
    pub fn for_province(&self, province: Option<Province>) -> &PolicyRules {
        province
            .and_then(|p| self.provinces.get(&p))
            .unwrap_or(&self.national)
    }

    pub fn provinces(&self) -> impl Iterator<Item = Province> + '_ {
        self.provinces.keys().copied()
    }
}

fn parse_key<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
}

/// Resolves a document: alone (national) or layered over `base` (a province).
fn resolve(
    file: &str,
    doc: &PolicyDoc,
    base: Option<&PolicyRules>,
) -> Result<PolicyRules, PolicyError> {
    let err = |key: String, problem: String| PolicyError {
        file: file.to_owned(),
        key,
        problem,
    };
    let missing = |key: String| err(key, "missing in the national policy".to_owned());
    let version = doc.version.clone().unwrap_or_default();
    let mut rules = match base {
        Some(b) => {
            let mut r = b.clone();
            r.version = format!("{}+{}", b.version, version);
            r
        }
        None => PolicyRules {
            version,
            default_institution: String::new(),
            appeal_window_working_days: 0,
            appeal_reply_working_days: 0,
            deadlines: BTreeMap::new(),
            emergency_deadlines: BTreeMap::new(),
            written_notice_within: Span::Hours(24),
            block_expiry_days: BTreeMap::new(),
            blocklists: BlocklistRules::default(),
            probes: ProbeRules::default(),
            routing: BTreeMap::new(),
            enforcement: EnforcementRules::default(),
            inquiry_answer_within: Span::WorkingDays(2),
            inquiry_emergency_answer_within: Span::Hours(2),
        },
    };
    if let Some(q) = &doc.inquiries {
        for (key, v, slot) in [
            (
                "inquiries.answer_within",
                &q.answer_within,
                &mut rules.inquiry_answer_within,
            ),
            (
                "inquiries.emergency_answer_within",
                &q.emergency_answer_within,
                &mut rules.inquiry_emergency_answer_within,
            ),
        ] {
            if let Some(text) = v {
                *slot = text
                    .parse::<Span>()
                    .map_err(|e: String| err(key.into(), e))?;
            }
        }
    }
    if let Some(e) = &doc.enforcement {
        if let Some(n) = e.repeated_failures {
            rules.enforcement.repeated_failures = n;
        }
        if let Some(d) = e.within_days {
            if d == 0 || d > 3660 {
                return Err(err(
                    "enforcement.within_days".into(),
                    "a period of 1 to 3660 days".into(),
                ));
            }
            rules.enforcement.within_days = d;
        }
    }
    if let Some(inst) = &doc.default_institution {
        check_slug(inst).map_err(|e| err("default_institution".into(), e.problem))?;
        rules.default_institution = inst.clone();
    } else if base.is_none() {
        return Err(missing("default_institution".into()));
    }
    if base.is_none() {
        let a = doc
            .appeal
            .as_ref()
            .ok_or_else(|| missing("appeal".into()))?;
        rules.appeal_window_working_days = a
            .window_working_days
            .ok_or_else(|| missing("appeal.window_working_days".into()))?;
        rules.appeal_reply_working_days = a
            .reply_working_days
            .ok_or_else(|| missing("appeal.reply_working_days".into()))?;
        for (k, v) in [
            (
                "appeal.window_working_days",
                rules.appeal_window_working_days,
            ),
            ("appeal.reply_working_days", rules.appeal_reply_working_days),
        ] {
            if !(1..=365).contains(&v) {
                return Err(err(k.into(), format!("{v} is not from 1 to 365")));
            }
        }
    }
    for (kind_s, by_sev) in doc.deadlines.iter().flatten() {
        let kind: MeasureKind = parse_key(kind_s).ok_or_else(|| {
            err(
                format!("deadlines.{kind_s}"),
                "unknown measure kind: expected block, remove_malware, remediate or other".into(),
            )
        })?;
        for (sev_s, span) in by_sev {
            let key = format!("deadlines.{kind_s}.{sev_s}");
            let sev: Severity = parse_key(sev_s).ok_or_else(|| {
                err(
                    key.clone(),
                    "unknown severity: expected critical, high, medium or low".into(),
                )
            })?;
            let span: Span = span.parse().map_err(|p| err(key.clone(), p))?;
            rules.deadlines.insert((kind, sev), span);
        }
    }
    if let Some(em) = &doc.emergency {
        if let Some(w) = &em.written_notice_within {
            rules.written_notice_within = w
                .parse()
                .map_err(|p| err("emergency.written_notice_within".into(), p))?;
        } else if base.is_none() {
            return Err(missing("emergency.written_notice_within".into()));
        }
        for (kind_s, span) in em.deadlines.iter().flatten() {
            let key = format!("emergency.deadlines.{kind_s}");
            let kind: MeasureKind =
                parse_key(kind_s).ok_or_else(|| err(key.clone(), "unknown measure kind".into()))?;
            let span: Span = span.parse().map_err(|p| err(key.clone(), p))?;
            rules.emergency_deadlines.insert(kind, span);
        }
    } else if base.is_none() {
        return Err(missing("emergency".into()));
    }
    for (t_s, days) in doc.block_expiry_days.iter().flatten() {
        let key = format!("block_expiry_days.{t_s}");
        let t: IndicatorType =
            parse_key(t_s).ok_or_else(|| err(key.clone(), "unknown indicator type".into()))?;
        if !t.blockable() {
            return Err(err(
                key,
                format!("{t} targets cannot be blocked under Art. 8(1)"),
            ));
        }
        if !(1..=3650).contains(days) {
            return Err(err(key, format!("{days} is not from 1 to 3650 days")));
        }
        rules.block_expiry_days.insert(t, *days);
    }
    if let Some(b) = &doc.blocklists {
        if let Some(z) = &b.rpz_zone {
            let name = z.trim_end_matches('.');
            let ok = !name.is_empty()
                && name.len() <= 200
                && name.split('.').all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
                        && !l.starts_with('-')
                        && !l.ends_with('-')
                });
            if !ok {
                return Err(err(
                    "blocklists.rpz_zone".into(),
                    format!("{z:?} is not a DNS zone name (letters, digits, hyphens, dots)"),
                ));
            }
            rules.blocklists.rpz_zone = format!("{}.", name.to_ascii_lowercase());
        }
        match b.rpz_action.as_deref() {
            None => {}
            Some("nxdomain") => rules.blocklists.sinkhole = None,
            Some("sinkhole") => {
                if b.sinkhole_ipv4.is_none() && b.sinkhole_ipv6.is_none() {
                    return Err(err(
                        "blocklists.rpz_action".into(),
                        "sinkhole needs sinkhole_ipv4 or sinkhole_ipv6".into(),
                    ));
                }
                rules.blocklists.sinkhole = Some((b.sinkhole_ipv4, b.sinkhole_ipv6));
            }
            Some(other) => {
                return Err(err(
                    "blocklists.rpz_action".into(),
                    format!("{other:?}: expected nxdomain or sinkhole"),
                ));
            }
        }
        if let Some(d) = b.review_before_days {
            if !(1..=365).contains(&d) {
                return Err(err(
                    "blocklists.review_before_days".into(),
                    format!("{d} is not from 1 to 365"),
                ));
            }
            rules.blocklists.review_before_days = d;
        }
    }
    for (kind_s, by_type) in doc.routing.iter().flatten() {
        let kind: MeasureKind = parse_key(kind_s).ok_or_else(|| {
            err(
                format!("routing.{kind_s}"),
                "unknown measure kind: expected block, remove_malware, remediate or other".into(),
            )
        })?;
        for (t_s, to) in by_type {
            let key = format!("routing.{kind_s}.{t_s}");
            let t: IndicatorType =
                parse_key(t_s).ok_or_else(|| err(key.clone(), "unknown indicator type".into()))?;
            let mut list = vec![];
            for r in to {
                list.push(parse_key::<RouteTo>(r).ok_or_else(|| {
                    err(
                        key.clone(),
                        format!("{r:?}: expected holder, registrar, registry, carrier, mail_provider, operator or url_filtering"),
                    )
                })?);
            }
            rules.routing.insert((kind, t), list);
        }
    }
    if let Some(p) = &doc.probes {
        if let Some(nets) = &p.allow_networks {
            let mut out = vec![];
            for (i, n) in nets.iter().enumerate() {
                let net: ipnet::IpNet = n
                    .parse()
                    .or_else(|_| n.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        err(
                            format!("probes.allow_networks[{i}]"),
                            format!("{n:?} is not a network like 127.0.0.0/8"),
                        )
                    })?;
                out.push(net.trunc());
            }
            rules.probes.allow_networks = out;
        }
        if let Some(t) = p.timeout_ms {
            if !(100..=60_000).contains(&t) {
                return Err(err(
                    "probes.timeout_ms".into(),
                    format!("{t} is not from 100 to 60000"),
                ));
            }
            rules.probes.timeout_ms = t;
        }
        if let Some(m) = &p.block_page_markers {
            rules.probes.block_page_markers = m.clone();
        }
    }
    // Completeness: the national file must answer every question a decision can ask.
    for kind in MeasureKind::ALL {
        for sev in Severity::ALL {
            if !rules.deadlines.contains_key(&(kind, sev)) {
                return Err(missing(format!(
                    "deadlines.{}.{}",
                    kind.as_str(),
                    sev.as_str()
                )));
            }
        }
        if !rules.emergency_deadlines.contains_key(&kind) {
            return Err(missing(format!("emergency.deadlines.{}", kind.as_str())));
        }
    }
    for t in IndicatorType::ALL.into_iter().filter(|t| t.blockable()) {
        if !rules.block_expiry_days.contains_key(&t) {
            return Err(missing(format!("block_expiry_days.{t}")));
        }
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn national() -> &'static str {
        BUILTIN_FILES[0].1
    }

    #[test]
    fn builtin_loads_and_layers() {
        let p = Policy::builtin().unwrap();
        let gd = p.for_province("44".parse().ok());
        let bj = p.for_province("11".parse().ok());
        assert_eq!(bj, p.national());
        assert_eq!(gd.version, "national-2026.1+44-2026.1");
        assert_eq!(
            gd.deadline_span(MeasureKind::Block, Severity::High, false),
            Span::Hours(6)
        );
        assert_eq!(
            bj.deadline_span(MeasureKind::Block, Severity::High, false),
            Span::Hours(12)
        );
        // Not overridden: inherited.
        assert_eq!(
            gd.deadline_span(MeasureKind::Block, Severity::Low, false),
            Span::WorkingDays(3)
        );
        assert_eq!(gd.block_expiry_days(IndicatorType::Ipv4), Some(90));
        assert_eq!(gd.block_expiry_days(IndicatorType::Domain), Some(365));
        assert_eq!(bj.block_expiry_days(IndicatorType::Ipv4), Some(180));
        assert_eq!(bj.block_expiry_days(IndicatorType::Md5), None);
        assert_eq!(gd.appeal_window_working_days, 10);
        assert_eq!(gd.appeal_reply_working_days, 30);
        assert_eq!(
            bj.deadline_span(MeasureKind::Block, Severity::Low, true),
            Span::Hours(1)
        );
    }

    #[test]
    fn deadlines_use_the_calendar() {
        let p = Policy::builtin().unwrap();
        let cal = Calendar::builtin().unwrap();
        let r = p.national().deadline(
            MeasureKind::Remediate,
            Severity::High,
            false,
            datetime!(2026-09-28 10:00 +8),
            &cal,
        );
        // 5 working days after Monday 2026-09-28, over National Day: the 5th is Saturday 10-10, a make-up working day.
        assert_eq!(r.value, datetime!(2026-10-11 00:00 +8));
        assert!(!r.provisional);
    }

    #[test]
    fn routing_is_read_from_the_policy() {
        let p = Policy::builtin().unwrap();
        let r = p.national();
        assert_eq!(
            r.route(MeasureKind::Block, IndicatorType::Domain),
            [RouteTo::Registrar, RouteTo::Registry]
        );
        assert_eq!(
            r.route(MeasureKind::Block, IndicatorType::Url),
            [RouteTo::UrlFiltering]
        );
        assert!(
            r.route(MeasureKind::Block, IndicatorType::Sha256)
                .is_empty()
        );
    }

    #[test]
    fn errors_name_file_key_and_problem() {
        let check = |files: &[(&str, &str)], key: &str, has: &str| {
            let e = Policy::load(files).unwrap_err();
            assert_eq!(e.key, key, "{e}");
            assert!(e.problem.contains(has), "{e}");
        };
        let n = national();
        check(
            &[(
                "n.toml",
                &n.replace("phone = [\"carrier\"]", "phone = [\"the carrier\"]"),
            )],
            "routing.block.phone",
            "expected holder, registrar",
        );
        check(
            &[("n.toml", &n.replace("low = \"3wd\"", "low = \"3 weeks\""))],
            "deadlines.block.low",
            "not a span",
        );
        check(
            &[(
                "n.toml",
                &n.replace("[deadlines.other]", "[deadlines.other]\nurgent = \"1h\""),
            )],
            "deadlines.other.urgent",
            "unknown severity",
        );
        check(
            &[("n.toml", &n.replace("email = 365\n", ""))],
            "block_expiry_days.email",
            "missing",
        );
        check(
            &[(
                "n.toml",
                &n.replace("md5", "x")
                    .replace("phone = 365", "phone = 365\nmd5 = 10"),
            )],
            "block_expiry_days.md5",
            "cannot be blocked",
        );
        check(
            &[(
                "n.toml",
                &n.replace("version = \"national-2026.1\"", "versoin = \"x\""),
            )],
            "(syntax)",
            "unknown field",
        );
        check(
            &[
                ("n.toml", n),
                (
                    "p.toml",
                    "province = \"44\"\nversion = \"1\"\n[appeal]\nwindow_working_days = 5\n",
                ),
            ],
            "appeal",
            "Art. 10",
        );
        check(
            &[
                ("n.toml", n),
                ("p.toml", "province = \"99\"\nversion = \"1\"\n"),
            ],
            "province",
            "GB/T 2260",
        );
        check(
            &[("p.toml", "province = \"44\"\nversion = \"1\"\n")],
            "(files)",
            "no national",
        );
        let e = Policy::load(&[
            ("n.toml", n),
            (
                "gd.toml",
                "province = \"44\"\nversion = \"1\"\n[deadlines.block]\nhigh = \"0h\"\n",
            ),
        ])
        .unwrap_err();
        assert_eq!(e.file, "gd.toml");
        assert_eq!(
            e.to_string(),
            "gd.toml: deadlines.block.high: \"0h\": the number must be from 1 to 1000"
        );
    }
}
