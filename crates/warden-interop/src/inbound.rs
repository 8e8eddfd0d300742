//! STIX objects sent to Warden (TAXII envelopes, uploaded bundles) read as reports. Each
//! object is taken in or refused on its own, with a message saying why.

use serde_json::Value;
use time::OffsetDateTime;
use warden_core::indicator::IndicatorType;
use warden_core::lifecycle::Tlp;
use warden_core::taxonomy::{Category, Subtype};

use crate::ids;
use crate::pattern;
use crate::stix::{Ts, tlp_of_marking};

/// What one STIX object says, in a report's terms. Indicator values are as the producer
/// wrote them: the service parses them like any other report's.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub stix_id: String,
    pub category: Category,
    pub subtype: Subtype,
    pub title: String,
    pub description: String,
    pub observed_at: OffsetDateTime,
    pub tlp: Option<Tlp>,
    pub indicators: Vec<(IndicatorType, String)>,
}

fn str_field<'a>(o: &'a Value, k: &str) -> Option<&'a str> {
    o.get(k).and_then(Value::as_str)
}

fn tlp(o: &Value) -> Option<Tlp> {
    o.get("object_marking_refs")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .find_map(tlp_of_marking)
}

/// Category and subtype from Warden's extension when the producer set them, else from
/// the STIX indicator types.
fn taxonomy(o: &Value, default: (Category, Subtype)) -> Result<(Category, Subtype), String> {
    if let Some(ext) = o.get("extensions").and_then(|e| e.get(ids::extension())) {
        let cat = str_field(ext, "category");
        let sub = str_field(ext, "subtype");
        if let (Some(c), Some(s)) = (cat, sub) {
            let c: Category = c.parse().map_err(|e| format!("extension category: {e}"))?;
            let s: Subtype = s.parse().map_err(|e| format!("extension subtype: {e}"))?;
            return Ok((c, s));
        }
    }
    let types: Vec<&str> = o
        .get("indicator_types")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if types.contains(&"benign") && types.len() == 1 {
        return Err("indicator_types says benign: only threats are reported".into());
    }
    Ok(
        if types.contains(&"malicious-activity") || types.contains(&"anonymization") {
            (
                Category::MaliciousResource,
                Subtype::MaliciousInfrastructure,
            )
        } else if types.contains(&"compromised") {
            (Category::Incident, Subtype::CompromisedHost)
        } else {
            default
        },
    )
}

fn when(o: &Value, keys: &[&str]) -> Result<OffsetDateTime, String> {
    for k in keys {
        if let Some(s) = str_field(o, k) {
            return Ts::parse(s)
                .map(|t| t.0)
                .ok_or_else(|| format!("{k} {s:?} is not an RFC 3339 timestamp"));
        }
    }
    Err(format!("{} is missing", keys.join(" or ")))
}

/// A STIX object as a report draft, or why it is not taken in.
pub fn read(o: &Value) -> Result<Draft, String> {
    let kind = str_field(o, "type").ok_or("the object has no type")?;
    let id = str_field(o, "id").ok_or("the object has no id")?;
    if !id.starts_with(&format!("{kind}--")) {
        return Err(format!("id {id:?} does not start with {kind}--"));
    }
    if let Some(v) = str_field(o, "spec_version")
        && v != "2.1"
    {
        return Err(format!("spec_version {v:?}: only STIX 2.1 is taken in"));
    }
    if o.get("revoked").and_then(Value::as_bool) == Some(true) {
        return Err("the object is revoked: nothing to report".into());
    }
    let name = str_field(o, "name").unwrap_or("").trim();
    let description = str_field(o, "description").unwrap_or("").trim();
    match kind {
        "indicator" => {
            let pattern_type = str_field(o, "pattern_type").unwrap_or("stix");
            if pattern_type != "stix" {
                return Err(format!(
                    "pattern_type {pattern_type:?}: only STIX patterns are read"
                ));
            }
            let p = str_field(o, "pattern").ok_or("the indicator has no pattern")?;
            let indicators = pattern::parse(p).map_err(|e| e.to_string())?;
            let (category, subtype) = taxonomy(o, (Category::Other, Subtype::Other))?;
            Ok(Draft {
                stix_id: id.to_owned(),
                category,
                subtype,
                title: if name.is_empty() {
                    format!("STIX {id}")
                } else {
                    name.to_owned()
                },
                description: if description.is_empty() {
                    format!("STIX indicator {id}: {p}")
                } else {
                    description.to_owned()
                },
                observed_at: when(o, &["valid_from", "created"])?,
                tlp: tlp(o),
                indicators,
            })
        }
        "vulnerability" => {
            let mut ids: Vec<(IndicatorType, String)> = o
                .get("external_references")
                .and_then(Value::as_array)
                .map(|refs| {
                    refs.iter()
                        .filter_map(|r| {
                            let src = str_field(r, "source_name")?.to_ascii_lowercase();
                            let ext = str_field(r, "external_id")?.to_owned();
                            match src.as_str() {
                                "cve" => Some((IndicatorType::Cve, ext)),
                                "cnvd" => Some((IndicatorType::Cnvd, ext)),
                                "cnnvd" => Some((IndicatorType::Cnnvd, ext)),
                                _ => None,
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            if ids.is_empty() && name.to_ascii_uppercase().starts_with("CVE-") {
                ids.push((IndicatorType::Cve, name.to_owned()));
            }
            if ids.is_empty() {
                return Err(
                    "the vulnerability names no CVE, CNVD or CNNVD id (external_references with source_name cve, cnvd or cnnvd)".into(),
                );
            }
            let (category, subtype) =
                taxonomy(o, (Category::Vulnerability, Subtype::CodeVulnerability))?;
            Ok(Draft {
                stix_id: id.to_owned(),
                category,
                subtype,
                title: if name.is_empty() {
                    ids[0].1.clone()
                } else {
                    name.to_owned()
                },
                description: if description.is_empty() {
                    format!("STIX vulnerability {id}")
                } else {
                    description.to_owned()
                },
                observed_at: when(o, &["created"])?,
                tlp: tlp(o),
                indicators: ids,
            })
        }
        other => Err(format!(
            "{other} objects are not taken in: send indicator objects (with STIX patterns) or vulnerability objects"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_indicator_becomes_a_draft() {
        let d = read(&json!({
            "type": "indicator", "spec_version": "2.1",
            "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2026-11-01T00:00:00.000Z", "modified": "2026-11-01T00:00:00.000Z",
            "name": "C2", "indicator_types": ["malicious-activity"],
            "pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix",
            "valid_from": "2026-11-01T00:00:00Z",
            "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]
        }));
        let d = d.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            d.indicators,
            vec![(IndicatorType::Ipv4, "198.51.100.7".into())]
        );
        assert_eq!(d.tlp, Some(Tlp::Green));
        assert_eq!(d.category, Category::MaliciousResource);
    }

    #[test]
    fn other_objects_are_refused_with_a_reason() {
        for (o, why) in [
            (
                json!({"type": "malware", "id": "malware--1"}),
                "not taken in",
            ),
            (json!({"type": "indicator", "id": "x--1"}), "does not start"),
            (
                json!({"type": "indicator", "id": "indicator--1", "pattern": "[process:name = 'a']", "valid_from": "2026-01-01T00:00:00Z"}),
                "process:name",
            ),
            (
                json!({"type": "indicator", "id": "indicator--1", "pattern_type": "sigma", "pattern": "x"}),
                "sigma",
            ),
            (
                json!({"type": "indicator", "id": "indicator--1", "spec_version": "2.0"}),
                "2.1",
            ),
            (
                json!({"type": "vulnerability", "id": "vulnerability--1", "name": "log4shell", "created": "2026-01-01T00:00:00Z"}),
                "CVE",
            ),
        ] {
            let e = read(&o).err().unwrap_or_default();
            assert!(e.contains(why), "{o}: {e}");
        }
    }
}
