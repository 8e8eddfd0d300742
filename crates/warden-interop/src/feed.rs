//! Bulk feeds read line by line: plain (one value a line), CSV (a header naming `value` and
//! optionally `type`), NDJSON (`{"type", "value"}` a line), and MISP events (JSON documents with
//! attributes). Each line gives indicators or a reason it gave none; values come out in
//! Warden's normal form, parsed by the same core parser as every other entry point.

use serde_json::Value;
use warden_core::indicator::{Indicator, IndicatorType};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Plain,
    Csv,
    Ndjson,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "plain" => Some(Format::Plain),
            "csv" => Some(Format::Csv),
            "ndjson" => Some(Format::Ndjson),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Plain => "plain",
            Format::Csv => "csv",
            Format::Ndjson => "ndjson",
        }
    }
}

/// What one line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// Nothing to take: blank, a comment, the CSV header.
    Skip,
    Indicator(Indicator),
}

fn parse(kind: Option<&str>, value: &str) -> Result<Indicator, String> {
    match kind.map(str::trim).filter(|k| !k.is_empty()) {
        Some(k) => {
            let t: IndicatorType = k
                .to_ascii_lowercase()
                .parse()
                .map_err(|e| format!("type {k:?}: {e}"))?;
            Indicator::parse(t, value).map_err(|e| e.to_string())
        }
        None => Indicator::detect(value).map_err(|e| e.to_string()),
    }
}

/// Splits one CSV record (RFC 4180 quoting; a record on one line).
fn csv_fields(line: &str) -> Result<Vec<String>, String> {
    let mut out = vec![];
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => cur.push(c),
            (false, '"') if cur.trim().is_empty() && !was_quoted => {
                cur.clear();
                quoted = true;
                was_quoted = true;
            }
            (false, ',') => {
                out.push(std::mem::take(&mut cur));
                was_quoted = false;
            }
            (false, c) => cur.push(c),
        }
    }
    if quoted {
        return Err("a quoted field is not closed".into());
    }
    out.push(cur);
    Ok(out)
}

/// Reads the lines of one feed; keeps the CSV header's columns.
#[derive(Debug)]
pub struct Reader {
    format: Format,
    /// CSV: the columns of `type` and `value`, once the header is read.
    columns: Option<(Option<usize>, usize)>,
}

impl Reader {
    pub fn new(format: Format) -> Reader {
        Reader {
            format,
            columns: None,
        }
    }

    pub fn line(&mut self, line: &str) -> Result<Line, String> {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            return Ok(Line::Skip);
        }
        match self.format {
            Format::Plain => parse(None, t).map(Line::Indicator),
            Format::Ndjson => {
                let v: Value =
                    serde_json::from_str(t).map_err(|e| format!("not a JSON object: {e}"))?;
                let value = v
                    .get("value")
                    .and_then(Value::as_str)
                    .ok_or("no \"value\" string")?;
                parse(v.get("type").and_then(Value::as_str), value).map(Line::Indicator)
            }
            Format::Csv => {
                let f = csv_fields(t)?;
                match self.columns {
                    None => {
                        let find =
                            |name: &str| f.iter().position(|c| c.trim().eq_ignore_ascii_case(name));
                        let value = find("value").ok_or(
                            "the first line must be a header naming a \"value\" column (and optionally \"type\")",
                        )?;
                        self.columns = Some((find("type"), value));
                        Ok(Line::Skip)
                    }
                    Some((tcol, vcol)) => {
                        let value = f
                            .get(vcol)
                            .ok_or_else(|| format!("no column {} (value)", vcol + 1))?;
                        let kind = tcol.and_then(|c| f.get(c)).map(String::as_str);
                        parse(kind, value).map(Line::Indicator)
                    }
                }
            }
        }
    }
}

/// The Warden type of a MISP attribute type, and which part of a composite value to take.
pub fn misp_type(t: &str) -> Option<(IndicatorType, usize)> {
    use IndicatorType as T;
    Some(match t {
        "ip-src" | "ip-dst" => (T::Ipv4, 0),
        "ip-src|port" | "ip-dst|port" => (T::Ipv4, 0),
        "domain" | "hostname" => (T::Domain, 0),
        "domain|ip" | "hostname|port" => (T::Domain, 0),
        "url" | "uri" | "link" => (T::Url, 0),
        "email" | "email-src" | "email-dst" | "email-reply-to" => (T::Email, 0),
        "md5" | "filename|md5" => (T::Md5, usize::from(t.contains('|'))),
        "sha1" | "filename|sha1" => (T::Sha1, usize::from(t.contains('|'))),
        "sha256" | "filename|sha256" => (T::Sha256, usize::from(t.contains('|'))),
        "vulnerability" => (T::Cve, 0),
        "phone-number" | "whois-registrant-phone" => (T::Phone, 0),
        "AS" => (T::Asn, 0),
        _ => return None,
    })
}

/// One MISP attribute as an indicator. IP types take IPv6 too.
pub fn misp_attribute(t: &str, value: &str) -> Result<Indicator, String> {
    let (kind, part) = misp_type(t)
        .ok_or_else(|| format!("MISP attribute type {t:?} has no Warden indicator type"))?;
    let v = value.split('|').nth(part).unwrap_or(value);
    match kind {
        IndicatorType::Ipv4 => {
            let k = if v.contains(':') {
                IndicatorType::Ipv6
            } else {
                IndicatorType::Ipv4
            };
            let k = if v.contains('/') {
                IndicatorType::Cidr
            } else {
                k
            };
            Indicator::parse(k, v)
        }
        k => Indicator::parse(k, v),
    }
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(r: &mut Reader, lines: &[&str]) -> Vec<Result<String, String>> {
        lines
            .iter()
            .filter_map(|l| match r.line(l) {
                Ok(Line::Skip) => None,
                Ok(Line::Indicator(i)) => Some(Ok(format!("{}:{}", i.kind().as_str(), i.value()))),
                Err(e) => Some(Err(e)),
            })
            .collect()
    }

    #[test]
    fn plain_lines_are_detected_and_normalised() {
        let mut r = Reader::new(Format::Plain);
        let got = values(
            &mut r,
            &[
                "  EVIL.Example.CN  ",
                "# comment",
                "",
                "198.51.100.7",
                "not a value at all",
            ],
        );
        assert_eq!(got[0], Ok("domain:evil.example.cn".into()));
        assert_eq!(got[1], Ok("ipv4:198.51.100.7".into()));
        assert!(got[2].is_err());
    }

    #[test]
    fn csv_needs_a_header_and_respects_quotes() {
        let mut r = Reader::new(Format::Csv);
        let got = values(
            &mut r,
            &[
                "first_seen,type,value",
                "2026-11-01,url,\"http://a.example.cn/x?a=1,2\"",
                "2026-11-01,,1.2.3.4",
                "x,ipv4,not-ip",
            ],
        );
        assert_eq!(got[0], Ok("url:http://a.example.cn/x?a=1,2".into()));
        assert_eq!(got[1], Ok("ipv4:1.2.3.4".into()));
        assert!(got[2].as_ref().is_err_and(|e| e.contains("not-ip")));
        let mut r = Reader::new(Format::Csv);
        assert!(r.line("a,b").is_err_and(|e| e.contains("header")));
        assert!(csv_fields("\"open").is_err());
    }

    #[test]
    fn ndjson_lines_name_type_and_value() {
        let mut r = Reader::new(Format::Ndjson);
        let got = values(
            &mut r,
            &[
                r#"{"type":"sha256","value":"AB"}"#,
                r#"{"value":"2001:DB8::1"}"#,
                "{",
                r#"{"type":"colour","value":"x"}"#,
            ],
        );
        assert!(got[0].is_err());
        assert_eq!(got[1], Ok("ipv6:2001:db8::1".into()));
        assert!(got[2].as_ref().is_err_and(|e| e.contains("JSON")));
        assert!(got[3].as_ref().is_err_and(|e| e.contains("colour")));
    }

    #[test]
    fn misp_attributes_map_to_indicators() {
        let ev = json!({"Event": {"Attribute": [
            {"type": "ip-dst|port", "value": "198.51.100.7|443"},
            {"type": "filename|sha256", "value": "a.exe|" .to_owned() + &"ab".repeat(32)},
            {"type": "comment", "value": "hello"}
        ], "Object": [{"Attribute": [{"type": "domain", "value": "Bad.Example.CN"}]}]}});
        let attrs = crate::stream::misp_pairs(&ev);
        assert_eq!(attrs.len(), 4);
        let got: Vec<Result<String, String>> = attrs
            .iter()
            .map(|(t, v)| {
                misp_attribute(t, v).map(|i| format!("{}:{}", i.kind().as_str(), i.value()))
            })
            .collect();
        assert_eq!(got[0], Ok("ipv4:198.51.100.7".into()));
        assert_eq!(got[1], Ok(format!("sha256:{}", "ab".repeat(32))));
        assert!(got[2].as_ref().is_err_and(|e| e.contains("comment")));
        assert_eq!(got[3], Ok("domain:bad.example.cn".into()));
        assert_eq!(
            misp_attribute("ip-src", "2001:db8::1").map(|i| i.kind()),
            Ok(IndicatorType::Ipv6)
        );
    }
}
