//! STIX 2.1 objects Warden emits. Field order is fixed by the structs, maps are ordered, and
//! ids are deterministic, so the same record always serialises to the same bytes.

use serde::{Serialize, Serializer};
use serde_json::Value;
use std::collections::BTreeMap;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use warden_core::lifecycle::Tlp;

use crate::ids;

pub const SPEC_VERSION: &str = "2.1";
pub const MEDIA_TYPE: &str = "application/stix+json;version=2.1";

/// A STIX timestamp: UTC, millisecond precision, `Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ts(pub OffsetDateTime);

impl Ts {
    /// Truncated to the millisecond, as it is written.
    pub fn millis(t: OffsetDateTime) -> Ts {
        let t = t.to_offset(time::UtcOffset::UTC);
        Ts(t.replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
            .unwrap_or(t))
    }

    pub fn parse(s: &str) -> Option<Ts> {
        OffsetDateTime::parse(s, &Rfc3339).ok().map(Ts)
    }
}

/// `YYYY-MM-DDTHH:MM:SS.fffZ` in UTC with `digits` (3 or 6) fractional digits.
pub(crate) fn write_utc(
    f: &mut std::fmt::Formatter<'_>,
    t: OffsetDateTime,
    digits: usize,
) -> std::fmt::Result {
    let t = t.to_offset(time::UtcOffset::UTC);
    let frac = if digits == 6 {
        t.microsecond()
    } else {
        u32::from(t.millisecond())
    };
    write!(
        f,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{frac:0digits$}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    )
}

impl std::fmt::Display for Ts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write_utc(f, self.0, 3)
    }
}

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExternalReference {
    pub source_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Properties every Warden object carries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Common {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub spec_version: &'static str,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by_ref: Option<String>,
    pub created: Ts,
    pub modified: Ts,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub revoked: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub external_references: Vec<ExternalReference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub object_marking_refs: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extensions: BTreeMap<String, Value>,
}

impl Common {
    pub fn new(kind: &'static str, id: String, created: Ts, modified: Ts) -> Common {
        Common {
            kind,
            spec_version: SPEC_VERSION,
            id,
            created_by_ref: None,
            created,
            // A version is never older than the object.
            modified: modified.max(created),
            revoked: false,
            external_references: vec![],
            object_marking_refs: vec![],
            extensions: BTreeMap::new(),
        }
    }

    /// Adds Warden's property extension with these properties.
    pub fn with_warden(mut self, props: BTreeMap<&'static str, Value>) -> Common {
        let mut ext = serde_json::Map::new();
        ext.insert("extension_type".into(), "property-extension".into());
        for (k, v) in props {
            if !v.is_null() {
                ext.insert(k.into(), v);
            }
        }
        self.extensions.insert(ids::extension(), Value::Object(ext));
        self
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Indicator {
    #[serde(flatten)]
    pub common: Common,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub indicator_types: Vec<&'static str>,
    pub pattern: String,
    pub pattern_type: &'static str,
    pub pattern_version: &'static str,
    pub valid_from: Ts,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Ts>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Identity {
    #[serde(flatten)]
    pub common: Common,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub identity_class: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sectors: Vec<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CourseOfAction {
    #[serde(flatten)]
    pub common: Common,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Relationship {
    #[serde(flatten)]
    pub common: Common,
    pub relationship_type: &'static str,
    pub source_ref: String,
    pub target_ref: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub common: Common,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub report_types: Vec<&'static str>,
    pub published: Ts,
    pub object_refs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Malware {
    #[serde(flatten)]
    pub common: Common,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub malware_types: Vec<&'static str>,
    pub is_family: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Infrastructure {
    #[serde(flatten)]
    pub common: Common,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub infrastructure_types: Vec<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Vulnerability {
    #[serde(flatten)]
    pub common: Common,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sighting {
    #[serde(flatten)]
    pub common: Common,
    pub count: u64,
    pub first_seen: Ts,
    pub last_seen: Ts,
    pub sighting_of_ref: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub where_sighted_refs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExtensionDefinition {
    #[serde(flatten)]
    pub common: Common,
    pub name: &'static str,
    pub description: &'static str,
    pub schema: &'static str,
    pub version: &'static str,
    pub extension_types: Vec<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarkingDefinition {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub spec_version: &'static str,
    pub id: &'static str,
    pub created: &'static str,
    pub name: &'static str,
    pub extensions: BTreeMap<&'static str, Value>,
}

/// The TLP 2.0 marking-definition extension (FIRST TLP 2.0 in STIX, as published by OASIS).
pub const TLP2_EXTENSION: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// The published marking-definition id of a TLP 2.0 level.
pub fn tlp_marking_id(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        Tlp::Green => "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        Tlp::Amber => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        Tlp::AmberStrict => "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        Tlp::Red => "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
    }
}

/// The TLP level of a marking-definition id: TLP 2.0, or the STIX 2.1 built-in TLP 1.0 ones
/// (WHITE read as CLEAR) that older producers still send.
pub fn tlp_of_marking(id: &str) -> Option<Tlp> {
    const V1: [(&str, Tlp); 4] = [
        (
            "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
            Tlp::Clear,
        ),
        (
            "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
            Tlp::Green,
        ),
        (
            "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
            Tlp::Amber,
        ),
        (
            "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
            Tlp::Red,
        ),
    ];
    [
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ]
    .into_iter()
    .find(|t| tlp_marking_id(*t) == id)
    .or_else(|| V1.iter().find(|(i, _)| *i == id).map(|(_, t)| *t))
}

/// The TLP 2.0 marking-definition object of a level.
pub fn tlp_marking(tlp: Tlp) -> MarkingDefinition {
    let (name, level) = match tlp {
        Tlp::Clear => ("TLP:CLEAR", "clear"),
        Tlp::Green => ("TLP:GREEN", "green"),
        Tlp::Amber => ("TLP:AMBER", "amber"),
        Tlp::AmberStrict => ("TLP:AMBER+STRICT", "amber+strict"),
        Tlp::Red => ("TLP:RED", "red"),
    };
    let mut ext = serde_json::Map::new();
    ext.insert("extension_type".into(), "property-extension".into());
    ext.insert("tlp_2_0".into(), level.into());
    MarkingDefinition {
        kind: "marking-definition",
        spec_version: SPEC_VERSION,
        id: tlp_marking_id(tlp),
        created: "2022-10-01T00:00:00.000Z",
        name,
        extensions: BTreeMap::from([(TLP2_EXTENSION, Value::Object(ext))]),
    }
}

/// When Warden's extension was defined: fixed, so its bytes never change.
fn epoch() -> Ts {
    Ts(OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_786))
}

/// Warden's own property extension: the regulatory fields STIX has no place for.
pub fn warden_extension() -> ExtensionDefinition {
    // Version 1.1.0 (2026-12-01) added the threat properties (case_id, case_status,
    // severity, target_type, target_value).
    let modified = Ts(epoch().0 + time::Duration::days(2));
    let mut common = Common::new("extension-definition", ids::extension(), epoch(), modified);
    common.created_by_ref = Some(ids::platform());
    ExtensionDefinition {
        common,
        name: "Warden regulatory properties",
        description: "Fields of the MIIT measures on public-internet cyber threats (工信部网安〔2017〕202号) that STIX has no property for.",
        schema: "Properties (all optional strings unless noted): article (the article of the measures the object answers to, e.g. \"8(1)\"); measure_kind (block, remove_malware, remediate, other); measure_id; reference (the public reference number to quote in an appeal); recipient (slug of the organisation that must act); province (GB/T 2260 two-digit code); deadline (RFC 3339); scope (exact, subdomains, mail_domain, number_range); range_last (last number of a phone range); target_type and target_value (what a measure acts on); category and subtype (the threat taxonomy of Art. 2); case_id, case_status and severity (of the threat as determined). Documented in docs/interop.md.",
        version: "1.1.0",
        extension_types: vec!["property-extension"],
    }
}

/// The identity of this deployment, creator of what no member created.
pub fn platform_identity() -> Identity {
    Identity {
        common: Common::new("identity", ids::platform(), epoch(), epoch()),
        name: "Warden".into(),
        description: Some("The public-internet cyber threat sharing and handling platform".into()),
        identity_class: "system",
        sectors: vec![],
    }
}

/// One object as JSON (the shape TAXII envelopes and bundles carry).
pub fn to_value<T: Serialize>(o: &T) -> Value {
    serde_json::to_value(o).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_milliseconds_and_z() {
        let t = OffsetDateTime::UNIX_EPOCH + time::Duration::nanoseconds(1_234_567_891);
        assert_eq!(Ts::millis(t).to_string(), "1970-01-01T00:00:01.234Z");
        assert_eq!(Ts::parse("1970-01-01T00:00:01.234Z"), Some(Ts::millis(t)));
    }

    #[test]
    fn tlp_markings_round_trip() {
        for t in [
            Tlp::Clear,
            Tlp::Green,
            Tlp::Amber,
            Tlp::AmberStrict,
            Tlp::Red,
        ] {
            assert_eq!(tlp_of_marking(tlp_marking(t).id), Some(t));
        }
        assert_eq!(
            tlp_of_marking("marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"),
            Some(Tlp::Green)
        );
        assert_eq!(tlp_of_marking("marking-definition--0"), None);
    }

    #[test]
    fn the_extension_definition_is_byte_stable() {
        let a = serde_json::to_string(&warden_extension()).unwrap_or_default();
        let b = serde_json::to_string(&warden_extension()).unwrap_or_default();
        assert_eq!(a, b);
        assert!(
            a.contains("\"created\":\"2026-11-29T00:00:00.000Z\""),
            "{a}"
        );
    }
}
