//! STIX patterns: the ones Warden writes for its targets, and the subset it reads from others
//! (equality comparisons on the common observables, joined with OR).

use warden_core::indicator::{IndicatorType, TargetScope};

/// A string literal in a pattern: quoted, with `\` and `'` escaped.
fn lit(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('\'');
    for c in v.chars() {
        if c == '\\' || c == '\'' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('\'');
    s
}

/// The pattern that matches a block's target. None for target types STIX has no observable
/// for (phone numbers, broadband accounts): those travel in Warden's extension only.
pub fn for_target(kind: IndicatorType, value: &str, scope: TargetScope) -> Option<String> {
    let one = |path: &str| format!("[{path} = {}]", lit(value));
    Some(match kind {
        IndicatorType::Ipv4 => one("ipv4-addr:value"),
        IndicatorType::Ipv6 => one("ipv6-addr:value"),
        IndicatorType::Cidr if value.contains(':') => one("ipv6-addr:value"),
        IndicatorType::Cidr => one("ipv4-addr:value"),
        IndicatorType::Domain if scope == TargetScope::Subdomains => format!(
            "[domain-name:value = {} OR domain-name:value LIKE {}]",
            lit(value),
            lit(&format!("%.{value}"))
        ),
        IndicatorType::Domain => one("domain-name:value"),
        IndicatorType::Url => one("url:value"),
        IndicatorType::Email if scope == TargetScope::MailDomain => {
            let domain = value.rsplit_once('@').map_or(value, |(_, d)| d);
            format!("[email-addr:value LIKE {}]", lit(&format!("%@{domain}")))
        }
        IndicatorType::Email => one("email-addr:value"),
        IndicatorType::Md5 => one("file:hashes.MD5"),
        IndicatorType::Sha1 => one("file:hashes.'SHA-1'"),
        IndicatorType::Sha256 => one("file:hashes.'SHA-256'"),
        IndicatorType::Asn => format!(
            "[autonomous-system:number = {}]",
            value.trim_start_matches(|c: char| !c.is_ascii_digit())
        ),
        IndicatorType::Phone
        | IndicatorType::BroadbandAccount
        | IndicatorType::Cve
        | IndicatorType::Cnvd
        | IndicatorType::Cnnvd => return None,
    })
}

/// Why a pattern was not taken in: says what was found and what is accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pattern not accepted: {0}")]
pub struct PatternError(pub String);

const ACCEPTED: &str = "accepted: [path = 'value'] comparisons on ipv4-addr:value, ipv6-addr:value, domain-name:value, url:value, email-addr:value, file:hashes.MD5|'SHA-1'|'SHA-256', joined with OR";

#[derive(Debug, PartialEq)]
enum Tok {
    Open,
    Close,
    Or,
    Eq,
    Str(String),
    Word(String),
}

fn lex(p: &str) -> Result<Vec<Tok>, PatternError> {
    let mut out = vec![];
    let mut it = p.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        match c {
            c if c.is_whitespace() => {}
            '[' => out.push(Tok::Open),
            ']' => out.push(Tok::Close),
            '=' => out.push(Tok::Eq),
            '\'' => {
                let mut s = String::new();
                loop {
                    match it.next() {
                        None => {
                            return Err(PatternError(format!(
                                "the string starting at offset {i} is not closed"
                            )));
                        }
                        Some((_, '\\')) => match it.next() {
                            Some((_, e @ ('\\' | '\''))) => s.push(e),
                            _ => {
                                return Err(PatternError(format!(
                                    "bad escape in the string starting at offset {i}: only \\\\ and \\' are allowed"
                                )));
                            }
                        },
                        Some((_, '\'')) => break,
                        Some((_, c)) => s.push(c),
                    }
                }
                out.push(Tok::Str(s));
            }
            _ => {
                let mut w = String::from(c);
                while let Some((_, c)) = it.peek() {
                    if c.is_whitespace() || matches!(c, '[' | ']' | '=' | '\'') {
                        break;
                    }
                    w.push(*c);
                    it.next();
                }
                // A quoted hash name inside a path: file:hashes.'SHA-256'.
                if w.ends_with('.')
                    && let Some((_, '\'')) = it.peek()
                {
                    it.next();
                    let mut q = String::new();
                    for (_, c) in it.by_ref() {
                        if c == '\'' {
                            break;
                        }
                        q.push(c);
                    }
                    w.push_str(&q);
                }
                out.push(if w.eq_ignore_ascii_case("OR") {
                    Tok::Or
                } else {
                    Tok::Word(w)
                });
            }
        }
    }
    Ok(out)
}

fn path_type(path: &str, value: &str) -> Result<IndicatorType, PatternError> {
    let ip = |v4: IndicatorType| {
        if value.contains('/') {
            IndicatorType::Cidr
        } else {
            v4
        }
    };
    Ok(match path {
        "ipv4-addr:value" => ip(IndicatorType::Ipv4),
        "ipv6-addr:value" => ip(IndicatorType::Ipv6),
        "domain-name:value" => IndicatorType::Domain,
        "url:value" => IndicatorType::Url,
        "email-addr:value" => IndicatorType::Email,
        p => match p
            .strip_prefix("file:hashes.")
            .map(|h| h.to_ascii_uppercase())
        {
            Some(h) if h == "MD5" => IndicatorType::Md5,
            Some(h) if h == "SHA-1" || h == "SHA1" => IndicatorType::Sha1,
            Some(h) if h == "SHA-256" || h == "SHA256" => IndicatorType::Sha256,
            _ => {
                return Err(PatternError(format!(
                    "the object path {p:?} is not one Warden takes in ({ACCEPTED})"
                )));
            }
        },
    })
}

/// The (type, value) pairs a pattern names. Values are as written; the caller normalises
/// them with the same parser as every other entry point.
pub fn parse(pattern: &str) -> Result<Vec<(IndicatorType, String)>, PatternError> {
    let toks = lex(pattern)?;
    let mut out = vec![];
    let mut i = 0;
    let mut depth = 0;
    // Alternates: an operand (a comparison or a bracket) and OR.
    let mut want_operand = true;
    while i < toks.len() {
        match (&toks[i], want_operand) {
            (Tok::Open, true) => {
                depth += 1;
                i += 1;
            }
            (Tok::Word(path), true) => {
                match (toks.get(i + 1), toks.get(i + 2)) {
                    (Some(Tok::Eq), Some(Tok::Str(v))) => {
                        if depth == 0 {
                            return Err(PatternError("a comparison must be inside [ ]".into()));
                        }
                        out.push((path_type(path, v)?, v.clone()));
                    }
                    (Some(Tok::Word(op)), _) => {
                        return Err(PatternError(format!(
                            "the operator {op} is not taken in: only = ({ACCEPTED})"
                        )));
                    }
                    _ => {
                        return Err(PatternError(format!(
                            "expected {path} = 'value' ({ACCEPTED})"
                        )));
                    }
                }
                i += 3;
                want_operand = false;
            }
            (Tok::Close, false) if depth > 0 => {
                depth -= 1;
                i += 1;
            }
            (Tok::Or, false) => {
                want_operand = true;
                i += 1;
            }
            (Tok::Word(w), false) => {
                return Err(PatternError(format!(
                    "{w} is not taken in: comparisons may only be joined with OR, without qualifiers ({ACCEPTED})"
                )));
            }
            (t, _) => {
                return Err(PatternError(format!(
                    "unexpected {} ({ACCEPTED})",
                    match t {
                        Tok::Open => "[".to_owned(),
                        Tok::Close => "]".to_owned(),
                        Tok::Or => "OR".to_owned(),
                        Tok::Eq => "=".to_owned(),
                        Tok::Str(s) => format!("'{s}'"),
                        Tok::Word(w) => w.clone(),
                    }
                )));
            }
        }
    }
    if depth != 0 || want_operand {
        return Err(PatternError(format!(
            "the pattern is incomplete ({ACCEPTED})"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use IndicatorType as T;

    #[test]
    fn common_comparisons_are_read() {
        let got = parse("[ipv4-addr:value = '198.51.100.7' OR domain-name:value = 'evil.example'] OR [file:hashes.'SHA-256' = 'ab'] OR [url:value = 'http://x.example/a\\'b']").unwrap_or_default();
        assert_eq!(
            got,
            vec![
                (T::Ipv4, "198.51.100.7".to_owned()),
                (T::Domain, "evil.example".to_owned()),
                (T::Sha256, "ab".to_owned()),
                (T::Url, "http://x.example/a'b".to_owned()),
            ]
        );
        assert_eq!(
            parse("[ipv6-addr:value = '2001:db8::/32']").unwrap_or_default(),
            vec![(T::Cidr, "2001:db8::/32".to_owned())]
        );
        assert_eq!(
            parse("[file:hashes.MD5 = 'x' OR email-addr:value = 'a@b.example']")
                .unwrap_or_default()
                .len(),
            2
        );
    }

    #[test]
    fn anything_else_is_refused_with_the_reason() {
        for (p, why) in [
            (
                "[ipv4-addr:value = '1.2.3.4' AND domain-name:value = 'x']",
                "AND",
            ),
            ("[domain-name:value LIKE '%.x']", "LIKE"),
            ("[process:name = 'x']", "process:name"),
            ("[ipv4-addr:value = '1.2.3.4'] WITHIN 5 SECONDS", "WITHIN"),
            ("[ipv4-addr:value = '1.2.3.4'", "incomplete"),
            ("[ipv4-addr:value = '1.2.3.4]", "not closed"),
            ("ipv4-addr:value = '1.2.3.4'", "inside"),
            ("", "incomplete"),
        ] {
            let e = parse(p).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(e.contains(why), "{p}: {e}");
        }
    }

    #[test]
    fn written_patterns_read_back() {
        for (k, v, scope) in [
            (T::Ipv4, "192.0.2.1", TargetScope::Exact),
            (T::Cidr, "2001:db8::/48", TargetScope::Exact),
            (T::Domain, "it's.example", TargetScope::Exact),
            (T::Url, "http://a.example/p?q=1", TargetScope::Exact),
            (T::Email, "a@b.example", TargetScope::Exact),
            (T::Sha1, "ab", TargetScope::Exact),
        ] {
            let p = for_target(k, v, scope).unwrap_or_default();
            assert_eq!(
                parse(&p).unwrap_or_default(),
                vec![(k, v.to_owned())],
                "{p}"
            );
        }
        assert_eq!(
            for_target(T::Domain, "x.example", TargetScope::Subdomains).as_deref(),
            Some("[domain-name:value = 'x.example' OR domain-name:value LIKE '%.x.example']")
        );
        assert_eq!(
            for_target(T::Email, "a@b.example", TargetScope::MailDomain).as_deref(),
            Some("[email-addr:value LIKE '%@b.example']")
        );
        assert_eq!(
            for_target(T::Phone, "+8613800000000", TargetScope::Exact),
            None
        );
    }
}
