//! Typed indicators (Art. 2): each parsed from text into one normalised spelling, or refused
//! with a reason that says what is wrong. Everything downstream (correlation, matching,
//! exports) compares normalised values only, so two spellings of one thing are one thing.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum IndicatorType {
    Ipv4,
    Ipv6,
    Cidr,
    BroadbandAccount,
    Domain,
    Url,
    Email,
    Phone,
    Md5,
    Sha1,
    Sha256,
    Cve,
    Cnvd,
    Cnnvd,
    Asn,
}

impl IndicatorType {
    pub const ALL: [IndicatorType; 15] = [
        IndicatorType::Ipv4,
        IndicatorType::Ipv6,
        IndicatorType::Cidr,
        IndicatorType::BroadbandAccount,
        IndicatorType::Domain,
        IndicatorType::Url,
        IndicatorType::Email,
        IndicatorType::Phone,
        IndicatorType::Md5,
        IndicatorType::Sha1,
        IndicatorType::Sha256,
        IndicatorType::Cve,
        IndicatorType::Cnvd,
        IndicatorType::Cnnvd,
        IndicatorType::Asn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IndicatorType::Ipv4 => "ipv4",
            IndicatorType::Ipv6 => "ipv6",
            IndicatorType::Cidr => "cidr",
            IndicatorType::BroadbandAccount => "broadband_account",
            IndicatorType::Domain => "domain",
            IndicatorType::Url => "url",
            IndicatorType::Email => "email",
            IndicatorType::Phone => "phone",
            IndicatorType::Md5 => "md5",
            IndicatorType::Sha1 => "sha1",
            IndicatorType::Sha256 => "sha256",
            IndicatorType::Cve => "cve",
            IndicatorType::Cnvd => "cnvd",
            IndicatorType::Cnnvd => "cnnvd",
            IndicatorType::Asn => "asn",
        }
    }

    /// Targets an Art. 8(1) stop-service/block measure can name: IP addresses (or broadband
    /// accounts), domains, URLs, e-mail accounts and phone numbers.
    pub fn blockable(self) -> bool {
        matches!(
            self,
            IndicatorType::Ipv4
                | IndicatorType::Ipv6
                | IndicatorType::Cidr
                | IndicatorType::BroadbandAccount
                | IndicatorType::Domain
                | IndicatorType::Url
                | IndicatorType::Email
                | IndicatorType::Phone
        )
    }

    /// Parse `input` as this type into its normalised spelling.
    pub fn normalize(self, input: &str) -> Result<String, IndicatorError> {
        let s = input.trim();
        let result = if s.is_empty() {
            Err("the value is empty".to_owned())
        } else {
            match self {
                IndicatorType::Ipv4 => parse_ipv4(s),
                IndicatorType::Ipv6 => parse_ipv6(s),
                IndicatorType::Cidr => parse_cidr(s),
                IndicatorType::BroadbandAccount => parse_broadband(s),
                IndicatorType::Domain => normalize_domain(s),
                IndicatorType::Url => parse_url(s),
                IndicatorType::Email => parse_email(s),
                IndicatorType::Phone => parse_phone(s),
                IndicatorType::Md5 => parse_hex(s, 32),
                IndicatorType::Sha1 => parse_hex(s, 40),
                IndicatorType::Sha256 => parse_hex(s, 64),
                IndicatorType::Cve => parse_cve(s),
                IndicatorType::Cnvd => parse_cnvd(s),
                IndicatorType::Cnnvd => parse_cnnvd(s),
                IndicatorType::Asn => parse_asn(s),
            }
        };
        result.map_err(|reason| IndicatorError::new(Some(self), input, reason))
    }
}

impl fmt::Display for IndicatorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IndicatorType {
    type Err = IndicatorError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IndicatorType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = IndicatorType::ALL.iter().map(|t| t.as_str()).collect();
                IndicatorError::new(
                    None,
                    s,
                    format!(
                        "unknown indicator type: expected one of {}",
                        known.join(", ")
                    ),
                )
            })
    }
}

/// Why a value was refused: the type it was read as, the input (shortened), and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {} {input:?}: {reason}", kind.map(IndicatorType::as_str).unwrap_or("indicator type"))]
pub struct IndicatorError {
    pub kind: Option<IndicatorType>,
    pub input: String,
    pub reason: String,
}

impl IndicatorError {
    fn new(kind: Option<IndicatorType>, input: &str, reason: String) -> Self {
        // Keep errors small: a pasted megabyte should not come back in every message.
        let input = match input.char_indices().nth(200) {
            Some((i, _)) => format!("{}…", &input[..i]),
            None => input.to_owned(),
        };
        IndicatorError {
            kind,
            input,
            reason,
        }
    }
}

/// How far a block on a target reaches (Art. 8(1)): one name or every name below it, one
/// address or a whole mail domain, one number or a range of numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TargetScope {
    /// The value itself (addresses, networks, URLs, accounts, one e-mail address, one number).
    Exact,
    /// A domain and every name below it: the default for domains.
    Subdomains,
    /// Every address of an e-mail target's domain.
    MailDomain,
    /// Every phone number from the target to `range_last`, same length.
    NumberRange,
}

impl TargetScope {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetScope::Exact => "exact",
            TargetScope::Subdomains => "subdomains",
            TargetScope::MailDomain => "mail_domain",
            TargetScope::NumberRange => "number_range",
        }
    }

    pub fn parse(s: &str) -> Option<TargetScope> {
        [
            TargetScope::Exact,
            TargetScope::Subdomains,
            TargetScope::MailDomain,
            TargetScope::NumberRange,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }

    /// What a block on `t` reaches when the measure does not say.
    pub fn default_for(t: IndicatorType) -> TargetScope {
        if t == IndicatorType::Domain {
            TargetScope::Subdomains
        } else {
            TargetScope::Exact
        }
    }

    /// Whether this scope fits `target` (and `range_last`, which only a number range has).
    /// A block may never cover a whole public suffix.
    pub fn check(self, target: &Indicator, range_last: Option<&Indicator>) -> Result<(), String> {
        let t = target.kind();
        if self != TargetScope::NumberRange && range_last.is_some() {
            return Err("range_last belongs to a number_range scope only".to_owned());
        }
        match self {
            TargetScope::Exact => Ok(()),
            TargetScope::Subdomains if t == IndicatorType::Domain => {
                if is_public_suffix(target.value()) {
                    Err(format!(
                        "{} is a public suffix: a block with subdomains would cover every domain registered under it",
                        target.value()
                    ))
                } else {
                    Ok(())
                }
            }
            TargetScope::MailDomain if t == IndicatorType::Email => {
                let domain = target.domain().unwrap_or_default();
                if is_public_suffix(domain) {
                    Err(format!("{domain} is a public suffix, not a mail domain"))
                } else {
                    Ok(())
                }
            }
            TargetScope::NumberRange if t == IndicatorType::Phone => {
                let Some(last) = range_last else {
                    return Err(
                        "a number_range scope needs range_last, the last number of the range"
                            .to_owned(),
                    );
                };
                if last.kind() != IndicatorType::Phone {
                    return Err("range_last must be a phone number".to_owned());
                }
                let (a, b) = (target.value(), last.value());
                if a.len() != b.len() {
                    return Err(format!(
                        "{a} and {b} differ in length: a range runs between numbers of the same length"
                    ));
                }
                if b < a {
                    return Err(format!("range_last {b} comes before the first number {a}"));
                }
                let span = b[1..]
                    .parse::<u64>()
                    .unwrap_or(0)
                    .saturating_sub(a[1..].parse::<u64>().unwrap_or(0));
                if span >= MAX_NUMBER_RANGE {
                    return Err(format!(
                        "the range holds {} numbers; at most {MAX_NUMBER_RANGE} may be blocked by one measure",
                        span + 1
                    ));
                }
                Ok(())
            }
            _ => Err(format!(
                "scope {} does not apply to a {t} target ({})",
                self.as_str(),
                match self {
                    TargetScope::Subdomains => "subdomains is for domains",
                    TargetScope::MailDomain => "mail_domain is for e-mail addresses",
                    _ => "number_range is for phone numbers",
                }
            )),
        }
    }
}

/// What one block reaches: its target, how far, and the end of a number range.
#[derive(Debug, Clone, Copy)]
pub struct Reach<'a> {
    pub target: &'a Indicator,
    pub scope: TargetScope,
    pub range_last: Option<&'a Indicator>,
}

impl Reach<'_> {
    /// Whether everything this reach blocks is blocked by `outer` already (Art. 10: an
    /// appeal's answer may narrow a block, never widen or move it). The error says what
    /// lies outside.
    pub fn within(&self, outer: &Reach<'_>) -> Result<(), String> {
        use IndicatorType as T;
        use TargetScope as S;
        let (t, o) = (self.target, outer.target);
        let inside = match (o.kind(), outer.scope) {
            (T::Cidr | T::Ipv4 | T::Ipv6, _) => match (o.network(), t.network()) {
                (Some(a), Some(b)) => a.contains(&b),
                _ => false,
            },
            (T::Domain, S::Subdomains) => {
                t.kind() == T::Domain
                    && (t.value() == o.value()
                        || t.value()
                            .strip_suffix(o.value())
                            .is_some_and(|head| head.ends_with('.')))
            }
            (T::Email, S::MailDomain) => t.kind() == T::Email && t.domain() == o.domain(),
            (T::Phone, S::NumberRange) => match outer.range_last {
                Some(last) => {
                    let (lo, hi) = (o.value(), last.value());
                    let first = t.value();
                    let end = self.range_last.map_or(first, Indicator::value);
                    t.kind() == T::Phone
                        && first.len() == lo.len()
                        && end.len() == lo.len()
                        && lo <= first
                        && end <= hi
                }
                None => false,
            },
            // Everything else reaches its value alone, in the same way.
            _ => t == o && self.scope == outer.scope && self.range_last == outer.range_last,
        };
        if inside {
            Ok(())
        } else {
            Err(format!(
                "{} ({}) is not within the block on {} ({})",
                t.value(),
                self.scope.as_str(),
                o.value(),
                outer.scope.as_str()
            ))
        }
    }
}

/// The most numbers one range measure may block: a number segment's block of 10,000 lines
/// is the largest unit carriers allocate below a prefix.
pub const MAX_NUMBER_RANGE: u64 = 1_000_000;

/// A validated, normalised indicator. It can only be built by parsing, so every value that
/// exists is normalised.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "RawIndicator")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Indicator {
    #[serde(rename = "type")]
    kind: IndicatorType,
    value: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIndicator {
    #[serde(rename = "type")]
    kind: IndicatorType,
    value: String,
}

impl TryFrom<RawIndicator> for Indicator {
    type Error = IndicatorError;
    fn try_from(raw: RawIndicator) -> Result<Self, Self::Error> {
        Indicator::parse(raw.kind, &raw.value)
    }
}

impl Indicator {
    pub fn parse(kind: IndicatorType, input: &str) -> Result<Indicator, IndicatorError> {
        Ok(Indicator {
            kind,
            value: kind.normalize(input)?,
        })
    }

    /// Reads a value whose type is not given, by its shape: what a lookup box receives.
    pub fn detect(input: &str) -> Result<Indicator, IndicatorError> {
        let s = input.trim();
        let kind = detect_type(s).ok_or_else(|| {
            IndicatorError::new(
                None,
                input,
                "not recognisable as any indicator type; name the type explicitly".to_owned(),
            )
        })?;
        Indicator::parse(kind, s)
    }

    pub fn kind(&self) -> IndicatorType {
        self.kind
    }

    pub fn value(&self) -> &str {
        &self.value
    }

    /// The normalised value, taken out (no copy).
    pub fn into_value(self) -> String {
        self.value
    }

    /// The address of an `ipv4`/`ipv6` indicator.
    pub fn ip(&self) -> Option<IpAddr> {
        match self.kind {
            IndicatorType::Ipv4 | IndicatorType::Ipv6 => self.value.parse().ok(),
            _ => None,
        }
    }

    /// The network of a `cidr` indicator, or the host network of an address.
    pub fn network(&self) -> Option<ipnet::IpNet> {
        match self.kind {
            IndicatorType::Cidr => self.value.parse().ok(),
            IndicatorType::Ipv4 | IndicatorType::Ipv6 => self.ip().map(ipnet::IpNet::from),
            _ => None,
        }
    }

    /// The DNS name the indicator lives under: the domain itself, a URL's host name, an
    /// e-mail address's domain.
    pub fn domain(&self) -> Option<&str> {
        match self.kind {
            IndicatorType::Domain => Some(&self.value),
            IndicatorType::Email => self.value.rsplit_once('@').map(|(_, d)| d),
            IndicatorType::Url => {
                let rest = self.value.split_once("://")?.1;
                let end = rest.find(['/', '?', ':']).unwrap_or(rest.len());
                let host = &rest[..end];
                (!host.starts_with('[') && host.parse::<Ipv4Addr>().is_err()).then_some(host)
            }
            _ => None,
        }
    }

    /// The registrable domain (public suffix + one label) of [`Indicator::domain`], if the
    /// name is below a public suffix.
    pub fn registrable_domain(&self) -> Option<&str> {
        registrable_domain(self.domain()?)
    }
}

impl fmt::Display for Indicator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.value)
    }
}

/// The registrable domain of a normalised name, via the public suffix list.
pub fn registrable_domain(name: &str) -> Option<&str> {
    let d = psl::domain(name.as_bytes())?;
    if !d.suffix().is_known() {
        return None;
    }
    let len = d.as_bytes().len();
    Some(&name[name.len() - len..])
}

/// Whether a normalised name is itself a public suffix (`com`, `com.cn`, `github.io`).
pub fn is_public_suffix(name: &str) -> bool {
    psl::suffix(name.as_bytes()).is_some_and(|s| s.is_known() && s.as_bytes().len() == name.len())
}

fn detect_type(s: &str) -> Option<IndicatorType> {
    let upper_prefix =
        |p: &str| s.len() > p.len() && s.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p));
    if s.contains("://") {
        return Some(IndicatorType::Url);
    }
    if s.contains('/') {
        return Some(IndicatorType::Cidr);
    }
    if upper_prefix("CVE-") {
        return Some(IndicatorType::Cve);
    }
    if upper_prefix("CNVD-") {
        return Some(IndicatorType::Cnvd);
    }
    if upper_prefix("CNNVD-") {
        return Some(IndicatorType::Cnnvd);
    }
    if upper_prefix("AS") && s[2..].bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Some(IndicatorType::Asn);
    }
    if s.parse::<Ipv4Addr>().is_ok() {
        return Some(IndicatorType::Ipv4);
    }
    if s.contains(':') && s.trim_matches(['[', ']']).parse::<Ipv6Addr>().is_ok() {
        return Some(IndicatorType::Ipv6);
    }
    if s.bytes().all(|b| b.is_ascii_hexdigit()) {
        match s.len() {
            32 => return Some(IndicatorType::Md5),
            40 => return Some(IndicatorType::Sha1),
            64 => return Some(IndicatorType::Sha256),
            _ => {}
        }
    }
    if s.contains(':') && !s.contains(' ') {
        return Some(IndicatorType::BroadbandAccount);
    }
    if s.contains('@') {
        return Some(IndicatorType::Email);
    }
    if s.starts_with('+')
        || s.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b' ' | b'-' | b'(' | b')'))
    {
        return Some(IndicatorType::Phone);
    }
    if s.contains('.') {
        return Some(IndicatorType::Domain);
    }
    None
}

fn parse_ipv4(s: &str) -> Result<String, String> {
    if s.parse::<Ipv4Addr>().is_ok() {
        // std accepts only the canonical dotted quad (no leading zeros, no other notations),
        // so the input is already the normalised form: skip the formatter.
        return Ok(s.to_owned());
    }
    Err(if s.contains('/') {
        "this is a prefix, not an address: use type cidr".to_owned()
    } else if s.parse::<Ipv6Addr>().is_ok() {
        "this is an IPv6 address: use type ipv6".to_owned()
    } else if s.split('.').any(|o| o.len() > 1 && o.starts_with('0')) {
        "an octet has a leading zero, which some software reads as octal: write it in decimal without leading zeros".to_owned()
    } else {
        "expected four decimal numbers 0–255 separated by dots, like 192.0.2.1".to_owned()
    })
}

fn parse_ipv6(s: &str) -> Result<String, String> {
    let inner = s
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(s);
    if inner.contains('%') {
        return Err("zone identifiers (%…) are local to one host and cannot be shared".to_owned());
    }
    match inner.parse::<Ipv6Addr>() {
        // std's Display is the RFC 5952 form (lowercase, zero runs compressed).
        Ok(a) => Ok(a.to_string()),
        Err(_) if inner.parse::<Ipv4Addr>().is_ok() => {
            Err("this is an IPv4 address: use type ipv4".to_owned())
        }
        Err(_) if inner.contains('/') => Err("this is a prefix, not an address: use type cidr".to_owned()),
        Err(_) => Err(
            "not an IPv6 address: expected up to eight groups of hex digits separated by colons, like 2001:db8::1"
                .to_owned(),
        ),
    }
}

fn parse_cidr(s: &str) -> Result<String, String> {
    let Some((addr, len)) = s.split_once('/') else {
        return Err(
            "missing /prefix-length: write 192.0.2.0/24, or use type ipv4/ipv6 for one address"
                .to_owned(),
        );
    };
    let ip: IpAddr = addr
        .parse()
        .map_err(|_| format!("{addr:?} is not an IPv4 or IPv6 address"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len: u8 = len
        .parse()
        .ok()
        .filter(|l| *l <= max)
        .ok_or_else(|| format!("prefix length {len:?} is not a number from 0 to {max}"))?;
    let net = ipnet::IpNet::new(ip, len).map_err(|e| e.to_string())?;
    let trunc = net.trunc();
    if trunc.addr() != ip {
        return Err(format!(
            "host bits are set after /{len}: the network is {trunc}"
        ));
    }
    Ok(trunc.to_string())
}

fn parse_broadband(s: &str) -> Result<String, String> {
    let Some((op, account)) = s.split_once(':') else {
        return Err(
            "expected OPERATOR:ACCOUNT, where OPERATOR is the operator's slug, like china-telecom:gd0201234567@163.gd"
                .to_owned(),
        );
    };
    let op = op.trim().to_ascii_lowercase();
    if op.is_empty()
        || op.len() > 64
        || !op
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(format!(
            "operator {op:?} is not an organisation slug (lowercase letters, digits and hyphens)"
        ));
    }
    let account = account.trim();
    if account.is_empty() {
        return Err("the account after the operator is empty".to_owned());
    }
    if account.chars().count() > 128 {
        return Err("the account is longer than 128 characters".to_owned());
    }
    if let Some(c) = account
        .chars()
        .find(|c| c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "the account contains {c:?}: spaces and control characters are not allowed"
        ));
    }
    Ok(format!("{op}:{account}"))
}

/// Domain names: IDNA to lowercase A-labels, trailing dot dropped, LDH label rules, a known
/// public suffix.
pub fn normalize_domain(s: &str) -> Result<String, String> {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.is_empty() {
        return Err("the name is empty".to_owned());
    }
    if s.contains("://") || s.contains('/') {
        return Err("this looks like a URL: use type url, or give the host name alone".to_owned());
    }
    if s.contains('@') {
        return Err("this looks like an e-mail address: use type email".to_owned());
    }
    // An A-label in any case ("Xn--" too) is checked as one: otherwise a label that is not
    // valid punycode would pass in mixed case and be refused once lowercased.
    let needs_idna = !s.is_ascii() || s.to_ascii_lowercase().contains("xn--");
    let name = if needs_idna {
        idna::domain_to_ascii(s).map_err(|_| {
            "not a valid internationalised domain name (IDNA conversion failed)".to_owned()
        })?
    } else {
        s.to_ascii_lowercase()
    };
    check_ldh(&name)?;
    let tld = name.rsplit('.').next().unwrap_or_default();
    if !name.contains('.') {
        return Err(format!(
            "{name:?} is a single label: a public internet name has at least two labels"
        ));
    }
    if tld.bytes().all(|b| b.is_ascii_digit()) {
        return Err("this looks like an IP address: use type ipv4".to_owned());
    }
    match psl::suffix(name.as_bytes()) {
        Some(suffix) if suffix.is_known() => {}
        _ => {
            return Err(format!(
                "top-level domain {tld:?} is not in the public suffix list"
            ));
        }
    }
    Ok(name)
}

fn check_ldh(name: &str) -> Result<(), String> {
    if name.len() > 253 {
        return Err(format!(
            "the name is {} characters long; the limit is 253",
            name.len()
        ));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err("empty label (two dots in a row, or a leading dot)".to_owned());
        }
        if label.len() > 63 {
            return Err(format!(
                "label {label:?} is {} characters long; the limit is 63",
                label.len()
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label {label:?} starts or ends with a hyphen"));
        }
        // Underscores occur in real names (service labels, some malicious hosts); everything
        // else outside letters, digits and hyphens cannot be resolved.
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(format!("label {label:?} contains {c:?}"));
        }
    }
    Ok(())
}

const URL_SCHEMES: [&str; 5] = ["http", "https", "ftp", "ws", "wss"];

fn parse_url(s: &str) -> Result<String, String> {
    let mut url = match url::Url::parse(s) {
        Ok(u) => u,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            return Err(format!("missing scheme: did you mean http://{s} ?"));
        }
        Err(url::ParseError::EmptyHost) => return Err("the URL has no host".to_owned()),
        Err(url::ParseError::InvalidPort) => {
            return Err("the port is not a number from 0 to 65535".to_owned());
        }
        Err(url::ParseError::InvalidIpv4Address) => {
            return Err("the host is not a valid IPv4 address".to_owned());
        }
        Err(url::ParseError::InvalidIpv6Address) => {
            return Err("the host is not a valid IPv6 address".to_owned());
        }
        Err(url::ParseError::IdnaError) => {
            return Err("the host is not a valid internationalised domain name".to_owned());
        }
        Err(e) => return Err(format!("not a URL: {e}")),
    };
    if !URL_SCHEMES.contains(&url.scheme()) {
        return Err(format!(
            "scheme {:?} is not supported: expected one of {}",
            url.scheme(),
            URL_SCHEMES.join(", ")
        ));
    }
    match url.host() {
        Some(url::Host::Domain(d)) => {
            let normalized = normalize_domain(d).map_err(|e| format!("host: {e}"))?;
            if normalized != d {
                url.set_host(Some(&normalized))
                    .map_err(|e| format!("host: {e}"))?;
            }
        }
        Some(_) => {}
        None => return Err("the URL has no host".to_owned()),
    }
    // Credentials are not part of what is blocked, and may be secrets.
    if !url.username().is_empty() || url.password().is_some() {
        let _ = url.set_username("");
        let _ = url.set_password(None);
    }
    url.set_fragment(None);
    if url.query() == Some("") {
        url.set_query(None);
    }
    let out: String = url.into();
    if out.contains('%') {
        Ok(normalize_percent(&out))
    } else {
        Ok(out)
    }
}

/// RFC 3986 §6.2.2: upper-case hex in percent-escapes, decode escaped unreserved characters.
fn normalize_percent(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let hex = |c: u8| (c as char).to_digit(16);
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            let v = (h * 16 + l) as u8;
            if v.is_ascii_alphanumeric() || matches!(v, b'-' | b'.' | b'_' | b'~') {
                out.push(v as char);
            } else {
                out.push('%');
                out.push((b[i + 1] as char).to_ascii_uppercase());
                out.push((b[i + 2] as char).to_ascii_uppercase());
            }
            i += 3;
            continue;
        }
        if b[i] == b'%' {
            // A stray % would pair with what follows once neighbours are decoded.
            out.push_str("%25");
        } else {
            // Only ASCII reaches here: the url crate has already percent-encoded the rest.
            out.push(b[i] as char);
        }
        i += 1;
    }
    out
}

fn parse_email(s: &str) -> Result<String, String> {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return Err("missing @: expected local-part@domain".to_owned());
    };
    if local.is_empty() {
        return Err("the part before @ is empty".to_owned());
    }
    if local.len() > 64 {
        return Err(format!(
            "the part before @ is {} characters long; the limit is 64",
            local.len()
        ));
    }
    if local.starts_with('"') {
        return Err("quoted local parts are not accepted".to_owned());
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("the part before @ has a leading, trailing or doubled dot".to_owned());
    }
    if let Some(c) = local
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(*c)))
    {
        return Err(format!("the part before @ contains {c:?}"));
    }
    let domain = normalize_domain(domain).map_err(|e| format!("domain: {e}"))?;
    // Providers treat local parts case-insensitively in practice; one spelling makes
    // the same mailbox match itself.
    Ok(format!("{}@{domain}", local.to_ascii_lowercase()))
}

fn parse_phone(s: &str) -> Result<String, String> {
    let mut digits = String::with_capacity(s.len());
    let mut plus = false;
    for (i, c) in s.chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => plus = true,
            ' ' | '-' | '(' | ')' | '.' => {}
            _ => return Err(format!("{c:?} is not allowed in a phone number")),
        }
    }
    let international = if plus {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_owned()
    } else if is_cn_mobile(&digits) {
        format!("86{digits}")
    } else if digits.len() == 13 && digits.starts_with("86") && is_cn_mobile(&digits[2..]) {
        digits
    } else if let Some(national) = digits.strip_prefix('0') {
        // A domestic number with its trunk prefix: 010-12345678, 0755-1234567.
        if (9..=11).contains(&national.len()) {
            format!("86{national}")
        } else {
            return Err(
                "a domestic number with trunk prefix 0 must have an area code and 7–8 digits"
                    .to_owned(),
            );
        }
    } else {
        return Err(
            "not in E.164 form: add the country code with +, like +8613800138000 (11-digit mainland mobile numbers are read as +86)"
                .to_owned(),
        );
    };
    if international.starts_with('0') {
        return Err("a country code never starts with 0".to_owned());
    }
    if !(7..=15).contains(&international.len()) {
        return Err(format!(
            "E.164 numbers have 7 to 15 digits; this one has {}",
            international.len()
        ));
    }
    if let Some(national) = international.strip_prefix("86") {
        // Beijing's area code is 10, so a leading 1 alone does not make a mobile number.
        let mobile = national.len() == 11 && national.starts_with('1');
        if mobile && !is_cn_mobile(national) {
            return Err("a mainland mobile number is 11 digits starting 13–19".to_owned());
        }
        if !mobile && !(9..=11).contains(&national.len()) {
            return Err("a mainland fixed-line number is an area code and 7–8 digits".to_owned());
        }
    }
    Ok(format!("+{international}"))
}

fn is_cn_mobile(d: &str) -> bool {
    let b = d.as_bytes();
    b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1])
}

fn parse_hex(s: &str, len: usize) -> Result<String, String> {
    if let Some((i, c)) = s.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(format!(
            "{c:?} at position {} is not a hexadecimal digit",
            i + 1
        ));
    }
    if s.len() != len {
        return Err(format!("expected {len} hex digits, got {}", s.len()));
    }
    Ok(s.to_ascii_lowercase())
}

fn split_id<'a>(s: &'a str, prefix: &str, example: &str) -> Result<Vec<&'a str>, String> {
    let parts: Vec<&str> = s.split('-').collect();
    if parts.len() != 3 || !parts[0].eq_ignore_ascii_case(prefix) {
        return Err(format!("expected the form {example}"));
    }
    if let Some(p) = parts[1..]
        .iter()
        .find(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!(
            "{p:?} is not a number; expected the form {example}"
        ));
    }
    Ok(parts)
}

fn check_year(y: &str) -> Result<(), String> {
    match y.parse::<u16>() {
        Ok(1999..=2100) if y.len() == 4 => Ok(()),
        _ => Err(format!("year {y:?} is not a four-digit year from 1999")),
    }
}

fn parse_cve(s: &str) -> Result<String, String> {
    let p = split_id(s, "CVE", "CVE-2024-12345")?;
    check_year(p[1])?;
    if !(4..=19).contains(&p[2].len()) {
        return Err(format!(
            "the sequence number has {} digits; CVE sequence numbers have at least 4",
            p[2].len()
        ));
    }
    Ok(format!("CVE-{}-{}", p[1], p[2]))
}

fn parse_cnvd(s: &str) -> Result<String, String> {
    let p = split_id(s, "CNVD", "CNVD-2024-12345")?;
    check_year(p[1])?;
    if p[2].len() != 5 {
        return Err(format!(
            "the sequence number has {} digits; CNVD numbers have exactly 5",
            p[2].len()
        ));
    }
    Ok(format!("CNVD-{}-{}", p[1], p[2]))
}

fn parse_cnnvd(s: &str) -> Result<String, String> {
    let p = split_id(s, "CNNVD", "CNNVD-202401-1234")?;
    if p[1].len() != 6 {
        return Err(format!(
            "{:?} should be six digits, the year and month (YYYYMM)",
            p[1]
        ));
    }
    check_year(&p[1][..4])?;
    if !matches!(p[1][4..].parse::<u8>(), Ok(1..=12)) {
        return Err(format!("month {:?} is not 01–12", &p[1][4..]));
    }
    if !(3..=10).contains(&p[2].len()) {
        return Err(format!(
            "the sequence number has {} digits; CNNVD numbers have at least 3",
            p[2].len()
        ));
    }
    Ok(format!("CNNVD-{}-{}", p[1], p[2]))
}

fn parse_asn(s: &str) -> Result<String, String> {
    let digits = match s.get(..2) {
        Some(p) if p.eq_ignore_ascii_case("AS") => &s[2..],
        _ => s,
    };
    let n: u64 = if let Some((hi, lo)) = digits.split_once('.') {
        // asdot notation (RFC 5396): high.low
        match (hi.parse::<u16>(), lo.parse::<u16>()) {
            (Ok(h), Ok(l)) => u64::from(h) << 16 | u64::from(l),
            _ => return Err("asdot form must be two numbers 0–65535, like 1.10".to_owned()),
        }
    } else if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits
            .parse()
            .map_err(|_| "the number is larger than 4294967295".to_owned())?
    } else {
        return Err("expected an AS number like AS4134 or 4134".to_owned());
    };
    match n {
        0 => Err("AS0 is reserved (RFC 7607) and never originates routes".to_owned()),
        23456 => Err("AS23456 is AS_TRANS (RFC 6793), a placeholder, not a network".to_owned()),
        4_294_967_295 => Err("AS4294967295 is reserved (RFC 7300)".to_owned()),
        n if n > 4_294_967_295 => Err("the number is larger than 4294967295".to_owned()),
        n => Ok(format!("AS{n}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use IndicatorType::*;

    fn ok(kind: IndicatorType, input: &str, want: &str) {
        match kind.normalize(input) {
            Ok(v) => assert_eq!(v, want, "{kind} {input:?}"),
            Err(e) => panic!("{kind} {input:?} refused: {e}"),
        }
    }

    fn bad(kind: IndicatorType, input: &str, reason_has: &str) {
        match kind.normalize(input) {
            Ok(v) => panic!("{kind} {input:?} accepted as {v:?}"),
            Err(e) => assert!(
                e.reason.contains(reason_has),
                "{kind} {input:?}: reason {:?} lacks {reason_has:?}",
                e.reason
            ),
        }
    }

    fn within(
        inner: (IndicatorType, &str, TargetScope, Option<&str>),
        outer: (IndicatorType, &str, TargetScope, Option<&str>),
    ) -> bool {
        let parse = |k, v: &str| Indicator::parse(k, v).unwrap();
        let (it, ir) = (
            parse(inner.0, inner.1),
            inner.3.map(|r| parse(IndicatorType::Phone, r)),
        );
        let (ot, or) = (
            parse(outer.0, outer.1),
            outer.3.map(|r| parse(IndicatorType::Phone, r)),
        );
        let a = Reach {
            target: &it,
            scope: inner.2,
            range_last: ir.as_ref(),
        };
        let b = Reach {
            target: &ot,
            scope: outer.2,
            range_last: or.as_ref(),
        };
        a.within(&b).is_ok()
    }

    #[test]
    fn a_narrower_block_lies_within_the_original_and_a_wider_one_does_not() {
        use TargetScope::*;
        let sub = (Domain, "example.cn", Subdomains, None);
        assert!(within((Domain, "example.cn", Exact, None), sub));
        assert!(within((Domain, "login.example.cn", Subdomains, None), sub));
        assert!(within(sub, sub));
        assert!(!within((Domain, "com.cn", Subdomains, None), sub));
        assert!(!within((Domain, "badexample.cn", Exact, None), sub));
        assert!(!within((Domain, "other.cn", Exact, None), sub));
        assert!(!within((Url, "http://example.cn/", Exact, None), sub));
        let exact = (Domain, "example.cn", Exact, None);
        assert!(within(exact, exact));
        assert!(!within(sub, exact), "subdomains widen an exact block");
        assert!(!within((Domain, "a.example.cn", Exact, None), exact));

        let net = (Cidr, "192.0.2.0/24", Exact, None);
        assert!(within((Cidr, "192.0.2.128/25", Exact, None), net));
        assert!(within((Ipv4, "192.0.2.7", Exact, None), net));
        assert!(!within((Cidr, "192.0.0.0/16", Exact, None), net));
        assert!(!within((Ipv4, "198.51.100.1", Exact, None), net));
        assert!(!within(net, (Ipv4, "192.0.2.7", Exact, None)));

        let range = (Phone, "+8613800000000", NumberRange, Some("+8613800009999"));
        assert!(within((Phone, "+8613800000500", Exact, None), range));
        assert!(within(
            (Phone, "+8613800000100", NumberRange, Some("+8613800000199")),
            range
        ));
        assert!(!within(
            (Phone, "+8613800009000", NumberRange, Some("+8613800010999")),
            range
        ));
        assert!(!within((Phone, "+8613900000000", Exact, None), range));

        let mail = (Email, "a@mail.example.cn", MailDomain, None);
        assert!(within((Email, "b@mail.example.cn", Exact, None), mail));
        assert!(!within((Email, "b@other.cn", Exact, None), mail));
        assert!(!within(mail, (Email, "a@mail.example.cn", Exact, None)));
    }

    #[test]
    fn valid_values_normalise() {
        let table: &[(IndicatorType, &str, &str)] = &[
            (Ipv4, " 192.0.2.1 ", "192.0.2.1"),
            (Ipv4, "8.8.8.8", "8.8.8.8"),
            (Ipv6, "2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
            (Ipv6, "[2001:db8::1]", "2001:db8::1"),
            (Ipv6, "2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
            (
                Ipv6,
                "2001:0db8:0000:0000:0001:0000:0000:0001",
                "2001:db8::1:0:0:1",
            ),
            (Cidr, "192.0.2.0/24", "192.0.2.0/24"),
            (Cidr, "2001:DB8::/32", "2001:db8::/32"),
            (Cidr, "10.0.0.1/32", "10.0.0.1/32"),
            (
                BroadbandAccount,
                "China-Telecom:gd0201234567@163.gd",
                "china-telecom:gd0201234567@163.gd",
            ),
            (Domain, "Example.COM.", "example.com"),
            (Domain, "münchen.de", "xn--mnchen-3ya.de"),
            (Domain, "例子.中国", "xn--fsqu00a.xn--fiqs8s"),
            (Domain, "XN--MNCHEN-3YA.de", "xn--mnchen-3ya.de"),
            (Domain, "a_b.example.cn", "a_b.example.cn"),
            (Domain, "evil.com.cn", "evil.com.cn"),
            (
                Url,
                "HTTP://Example.COM:80/a/../b?x=1#frag",
                "http://example.com/b?x=1",
            ),
            (Url, "https://example.com:443", "https://example.com/"),
            (
                Url,
                "https://example.com:8443/p",
                "https://example.com:8443/p",
            ),
            (Url, "http://user:pw@example.com/", "http://example.com/"),
            (
                Url,
                "http://example.com/%7euser/%2f%41",
                "http://example.com/~user/%2FA",
            ),
            (Url, "http://example.com/a b", "http://example.com/a%20b"),
            (Url, "http://münchen.de/", "http://xn--mnchen-3ya.de/"),
            (Url, "http://192.0.2.1/x?", "http://192.0.2.1/x"),
            (
                Url,
                "http://[2001:DB8::1]:8080/",
                "http://[2001:db8::1]:8080/",
            ),
            (Email, "Alice.Smith@Example.COM", "alice.smith@example.com"),
            (
                Email,
                "x+tag@mail.例子.中国",
                "x+tag@mail.xn--fsqu00a.xn--fiqs8s",
            ),
            (Phone, "13800138000", "+8613800138000"),
            (Phone, "138-0013-8000", "+8613800138000"),
            (Phone, "+86 138 0013 8000", "+8613800138000"),
            (Phone, "008613800138000", "+8613800138000"),
            (Phone, "8613800138000", "+8613800138000"),
            (Phone, "010-12345678", "+861012345678"),
            (Phone, "+1 (202) 555-0100", "+12025550100"),
            (
                Md5,
                "D41D8CD98F00B204E9800998ECF8427E",
                "d41d8cd98f00b204e9800998ecf8427e",
            ),
            (
                Sha1,
                "da39a3ee5e6b4b0d3255bfef95601890afd80709",
                "da39a3ee5e6b4b0d3255bfef95601890afd80709",
            ),
            (
                Sha256,
                "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            (Cve, "cve-2021-44228", "CVE-2021-44228"),
            (Cve, "CVE-2024-1234567", "CVE-2024-1234567"),
            (Cnvd, "cnvd-2021-95914", "CNVD-2021-95914"),
            (Cnnvd, "cnnvd-202112-799", "CNNVD-202112-799"),
            (Cnnvd, "CNNVD-202401-1234", "CNNVD-202401-1234"),
            (Asn, "as4134", "AS4134"),
            (Asn, "9808", "AS9808"),
            (Asn, "AS1.10", "AS65546"),
        ];
        for (k, i, w) in table {
            ok(*k, i, w);
        }
    }

    #[test]
    fn malformed_values_say_what_is_wrong() {
        let table: &[(IndicatorType, &str, &str)] = &[
            (Ipv4, "", "empty"),
            (Ipv4, "256.1.1.1", "four decimal numbers"),
            (Ipv4, "010.1.1.1", "leading zero"),
            (Ipv4, "192.0.2.0/24", "use type cidr"),
            (Ipv4, "2001:db8::1", "use type ipv6"),
            (Ipv6, "2001:db8::g", "not an IPv6 address"),
            (Ipv6, "fe80::1%eth0", "zone identifiers"),
            (Ipv6, "192.0.2.1", "use type ipv4"),
            (Cidr, "192.0.2.1", "missing /prefix-length"),
            (Cidr, "192.0.2.5/24", "the network is 192.0.2.0/24"),
            (Cidr, "2001:db8::1/32", "the network is 2001:db8::/32"),
            (Cidr, "192.0.2.0/33", "from 0 to 32"),
            (Cidr, "example.com/24", "not an IPv4 or IPv6"),
            (BroadbandAccount, "gd0201234567", "OPERATOR:ACCOUNT"),
            (
                BroadbandAccount,
                "China Telecom:abc",
                "not an organisation slug",
            ),
            (BroadbandAccount, "china-telecom:", "empty"),
            (BroadbandAccount, "china-telecom:a b", "spaces"),
            (Domain, "localhost", "single label"),
            (Domain, "example..com", "empty label"),
            (Domain, "-bad.example.com", "hyphen"),
            (Domain, "exa mple.com", "contains ' '"),
            (Domain, "example.invalidtld", "public suffix list"),
            (Domain, "1.2.3.4", "IP address"),
            (Domain, "http://example.com/", "use type url"),
            (Domain, "a@example.com", "use type email"),
            (Domain, &format!("{}.com", "a".repeat(64)), "limit is 63"),
            (
                Domain,
                &format!("{}com", "abcdefghi.".repeat(26)),
                "limit is 253",
            ),
            (Domain, "xn--zz.com", "IDNA"),
            // Found by fuzzing: in mixed case a bad A-label once passed unchecked.
            (Domain, "G.Xn--Pn7gS.Ec.Ec", "IDNA"),
            (Domain, "Xn--zz.com", "IDNA"),
            (Url, "example.com/login", "missing scheme"),
            (Url, "javascript:alert(1)", "not supported"),
            (Url, "file:///etc/passwd", "not supported"),
            (Url, "http://", "no host"),
            (Url, "http://example.com:99999/", "port"),
            (Url, "http://bad_tld.invalidtld/", "public suffix"),
            (Email, "nobody", "missing @"),
            (Email, "@example.com", "empty"),
            (Email, "a..b@example.com", "doubled dot"),
            (Email, "\"a b\"@example.com", "quoted"),
            (Email, "a@localhost", "single label"),
            (Phone, "12345", "E.164"),
            (Phone, "+0123456789", "never starts with 0"),
            (Phone, "+12345678901234567", "7 to 15 digits"),
            (Phone, "+8612345678901", "mobile number"),
            (Phone, "138x0013", "not allowed"),
            (
                Md5,
                "d41d8cd98f00b204e9800998ecf8427",
                "expected 32 hex digits, got 31",
            ),
            (
                Sha1,
                "zz39a3ee5e6b4b0d3255bfef95601890afd80709",
                "'z' at position 1",
            ),
            (Sha256, "e3b0", "expected 64"),
            (Cve, "CVE-21-44228", "four-digit year"),
            (Cve, "CVE-2021-442", "at least 4"),
            (Cve, "CAN-2021-44228", "CVE-2024-12345"),
            (Cnvd, "CNVD-2021-9591", "exactly 5"),
            (Cnvd, "CNVD-2021-ABCDE", "not a number"),
            (Cnnvd, "CNNVD-2021-799", "YYYYMM"),
            (Cnnvd, "CNNVD-202113-799", "month"),
            (Asn, "AS0", "reserved"),
            (Asn, "AS23456", "AS_TRANS"),
            (Asn, "AS4294967296", "larger than"),
            (Asn, "ASX", "AS number"),
        ];
        for (k, i, w) in table {
            bad(*k, i, w);
        }
        // Every type has at least one malformed example above.
        for t in IndicatorType::ALL {
            assert!(
                table.iter().any(|(k, _, _)| *k == t),
                "no malformed example for {t}"
            );
        }
    }

    #[test]
    fn errors_render_for_people() {
        let e = Cidr.normalize("192.0.2.5/24").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid cidr \"192.0.2.5/24\": host bits are set after /24: the network is 192.0.2.0/24"
        );
        let e = "ip".parse::<IndicatorType>().unwrap_err();
        assert!(e.to_string().contains("unknown indicator type"));
    }

    #[test]
    fn deserialising_normalises_and_refuses() {
        let i: Indicator =
            serde_json::from_str(r#"{"type":"domain","value":"Example.com."}"#).unwrap();
        assert_eq!(i.value(), "example.com");
        assert!(
            serde_json::from_str::<Indicator>(r#"{"type":"domain","value":"bad..com"}"#).is_err()
        );
        assert!(
            serde_json::from_str::<Indicator>(r#"{"type":"domain","value":"a.com","x":1}"#)
                .is_err()
        );
    }

    #[test]
    fn detection_by_shape() {
        for (input, t) in [
            ("192.0.2.1", Ipv4),
            ("2001:db8::1", Ipv6),
            ("192.0.2.0/24", Cidr),
            ("https://evil.example.com/x", Url),
            ("evil.example.com", Domain),
            ("a@example.com", Email),
            ("+8613800138000", Phone),
            ("13800138000", Phone),
            ("d41d8cd98f00b204e9800998ecf8427e", Md5),
            ("CVE-2021-44228", Cve),
            ("CNVD-2021-95914", Cnvd),
            ("CNNVD-202112-799", Cnnvd),
            ("AS4134", Asn),
            ("china-telecom:acct@163.gd", BroadbandAccount),
        ] {
            assert_eq!(Indicator::detect(input).map(|i| i.kind()), Ok(t), "{input}");
        }
        assert!(Indicator::detect("hello").is_err());
    }

    #[test]
    fn domains_know_their_registrable_part() {
        let d = Indicator::parse(Domain, "a.b.evil.com.cn").unwrap();
        assert_eq!(d.registrable_domain(), Some("evil.com.cn"));
        let u = Indicator::parse(Url, "https://login.evil.co.uk:8443/x").unwrap();
        assert_eq!(u.domain(), Some("login.evil.co.uk"));
        assert_eq!(u.registrable_domain(), Some("evil.co.uk"));
        let e = Indicator::parse(Email, "x@mail.evil.cn").unwrap();
        assert_eq!(e.registrable_domain(), Some("evil.cn"));
        assert!(is_public_suffix("com.cn"));
        assert!(!is_public_suffix("evil.com.cn"));
        assert_eq!(
            Indicator::parse(Domain, "com.cn")
                .unwrap()
                .registrable_domain(),
            None
        );
        assert_eq!(
            Indicator::parse(Url, "http://192.0.2.1/").unwrap().domain(),
            None
        );
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn idempotent(kind: IndicatorType, input: &str) -> Result<(), TestCaseError> {
        if let Ok(once) = kind.normalize(input) {
            let twice = kind.normalize(&once);
            prop_assert_eq!(twice.as_ref(), Ok(&once), "{} {:?}", kind, input);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn ipv4_idempotent(a: u8, b: u8, c: u8, d: u8) {
            idempotent(IndicatorType::Ipv4, &format!("{a}.{b}.{c}.{d}"))?;
        }

        #[test]
        fn ipv6_idempotent(a: u128) {
            let s = format!("{:x}", a);
            idempotent(IndicatorType::Ipv6, &Ipv6Addr::from(a).to_string())?;
            idempotent(IndicatorType::Ipv6, &s)?;
        }

        #[test]
        fn cidr_idempotent(a: u32, len in 0u8..=32) {
            let net = ipnet::Ipv4Net::new(Ipv4Addr::from(a), len).unwrap().trunc();
            idempotent(IndicatorType::Cidr, &net.to_string())?;
        }

        #[test]
        fn domain_idempotent(labels in prop::collection::vec("[a-zA-Z0-9ü例-]{1,12}", 1..4), tld in prop::sample::select(vec!["com", "cn", "com.cn", "中国", "org", "co.uk"])) {
            idempotent(IndicatorType::Domain, &format!("{}.{tld}", labels.join(".")))?;
        }

        #[test]
        fn url_idempotent(host in "[a-z0-9]{1,10}\\.(com|cn)", path in "[a-zA-Z0-9/%._~ -]{0,20}", q in proptest::option::of("[a-z0-9=&%]{0,10}")) {
            let q = q.map(|q| format!("?{q}")).unwrap_or_default();
            idempotent(IndicatorType::Url, &format!("HTTP://{host}/{path}{q}#f"))?;
        }

        #[test]
        fn email_idempotent(local in "[a-zA-Z0-9._+-]{1,20}", host in "[a-zA-Z0-9]{1,10}\\.(com|cn)") {
            idempotent(IndicatorType::Email, &format!("{local}@{host}"))?;
        }

        #[test]
        fn phone_idempotent(s in "\\+?[0-9 ()-]{7,18}") {
            idempotent(IndicatorType::Phone, &s)?;
        }

        #[test]
        fn any_text_never_panics(kind in prop::sample::select(IndicatorType::ALL.to_vec()), s in "\\PC{0,60}") {
            idempotent(kind, &s)?;
        }

        #[test]
        fn ids_idempotent(y in 1999u16..2100, n in 0u32..10_000_000, m in 1u8..=12) {
            idempotent(IndicatorType::Cve, &format!("cve-{y}-{n:04}"))?;
            idempotent(IndicatorType::Cnvd, &format!("cnvd-{y}-{:05}", n % 100_000))?;
            idempotent(IndicatorType::Cnnvd, &format!("cnnvd-{y}{m:02}-{n:03}"))?;
            idempotent(IndicatorType::Asn, &format!("as{}", n + 1))?;
        }
    }
}
