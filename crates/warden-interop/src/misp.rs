//! Active blocks as a MISP feed (the format MISP subscribes to: `manifest.json`, one
//! `<uuid>.json` per event, `hashes.csv`): one event per recipient organisation, one
//! attribute per block, with deterministic UUIDs so a feed re-read changes only what changed.

use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::indicator::{IndicatorType, TargetScope};

use crate::ids::NAMESPACE;

/// One block as the feed lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedBlock {
    pub measure_id: Uuid,
    pub kind: IndicatorType,
    pub value: String,
    pub scope: TargetScope,
    pub reference: String,
    pub since: OffsetDateTime,
}

/// The event UUID of a recipient's blocks.
pub fn event_uuid(recipient: &str) -> Uuid {
    Uuid::new_v5(&NAMESPACE, format!("misp/blocks/{recipient}").as_bytes())
}

/// MISP type, category, and whether IDS should alert on it.
fn misp_type(kind: IndicatorType, scope: TargetScope) -> (&'static str, &'static str, bool) {
    use IndicatorType as T;
    match kind {
        T::Ipv4 | T::Ipv6 | T::Cidr => ("ip-dst", "Network activity", true),
        T::Domain => ("domain", "Network activity", true),
        T::Url => ("url", "Network activity", true),
        T::Email if scope == TargetScope::MailDomain => ("domain", "Payload delivery", true),
        T::Email => ("email-dst", "Payload delivery", true),
        T::Phone => ("phone-number", "Other", false),
        T::Md5 => ("md5", "Payload delivery", true),
        T::Sha1 => ("sha1", "Payload delivery", true),
        T::Sha256 => ("sha256", "Payload delivery", true),
        T::Asn => ("AS", "Network activity", false),
        T::Cve => ("vulnerability", "External analysis", false),
        T::BroadbandAccount | T::Cnvd | T::Cnnvd => ("text", "Other", false),
    }
}

fn comment(b: &FeedBlock) -> String {
    let reach = match b.scope {
        TargetScope::Subdomains => " (and every name below it)",
        TargetScope::MailDomain => " (every address of this mail domain)",
        TargetScope::NumberRange => " (a number range)",
        TargetScope::Exact => "",
    };
    format!(
        "Art. 8(1) block {}{reach}; {} {}",
        b.reference,
        b.kind.as_str(),
        b.measure_id
    )
}

/// The event's own fields (without attributes): what the manifest lists of it.
fn header(recipient: &str, org_uuid: Uuid, blocks: &[FeedBlock]) -> serde_json::Map<String, Value> {
    let ts = blocks
        .iter()
        .map(|b| b.since.unix_timestamp())
        .max()
        .unwrap_or(0);
    let date = OffsetDateTime::from_unix_timestamp(ts)
        .map(|t| t.date().to_string())
        .unwrap_or_else(|_| "1970-01-01".into());
    let v = json!({
        "uuid": event_uuid(recipient),
        "info": format!("Warden: blocks in force for {recipient}"),
        "date": date,
        "analysis": "2",
        "threat_level_id": "2",
        "published": true,
        "timestamp": ts.to_string(),
        "publish_timestamp": ts.to_string(),
        "distribution": "0",
        "Orgc": {"name": "Warden", "uuid": org_uuid},
        "Tag": [{"name": "tlp:green"}],
    });
    match v {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}

/// The event of one recipient's blocks, in the shape MISP feeds carry (`{"Event": …}`).
pub fn event(recipient: &str, org_uuid: Uuid, blocks: &[FeedBlock]) -> Value {
    let attributes: Vec<Value> = blocks
        .iter()
        .map(|b| {
            let (t, category, to_ids) = misp_type(b.kind, b.scope);
            let value = if b.kind == IndicatorType::Email && b.scope == TargetScope::MailDomain {
                b.value
                    .rsplit_once('@')
                    .map_or(b.value.as_str(), |(_, d)| d)
                    .to_owned()
            } else {
                b.value.clone()
            };
            json!({
                "uuid": Uuid::new_v5(&NAMESPACE, format!("misp/block/{}", b.measure_id).as_bytes()),
                "type": t,
                "category": category,
                "value": value,
                "to_ids": to_ids,
                "comment": comment(b),
                "timestamp": b.since.unix_timestamp().to_string(),
                "distribution": "5",
                "disable_correlation": false,
            })
        })
        .collect();
    let mut ev = header(recipient, org_uuid, blocks);
    ev.insert("Attribute".into(), Value::Array(attributes));
    json!({ "Event": ev })
}

/// The manifest entry of a recipient's event (`manifest.json` maps event UUIDs to these),
/// without building its attributes.
pub fn manifest_entry(recipient: &str, org_uuid: Uuid, blocks: &[FeedBlock]) -> Value {
    let h = header(recipient, org_uuid, blocks);
    let mut m = serde_json::Map::new();
    for k in [
        "Orgc",
        "Tag",
        "info",
        "date",
        "analysis",
        "threat_level_id",
        "timestamp",
    ] {
        if let Some(v) = h.get(k) {
            m.insert(k.into(), v.clone());
        }
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_become_attributes_and_read_back() {
        let t = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let b = |kind, value: &str, scope| FeedBlock {
            measure_id: Uuid::from_u128(value.len() as u128),
            kind,
            value: value.into(),
            scope,
            reference: "WD-1".into(),
            since: t,
        };
        let ev = event(
            "china-telecom",
            Uuid::from_u128(1),
            &[
                b(
                    IndicatorType::Domain,
                    "evil.example.cn",
                    TargetScope::Subdomains,
                ),
                b(IndicatorType::Cidr, "198.51.100.0/24", TargetScope::Exact),
                b(
                    IndicatorType::Email,
                    "x@mail.example.cn",
                    TargetScope::MailDomain,
                ),
            ],
        );
        let attrs = crate::stream::misp_pairs(&ev);
        assert_eq!(attrs[0], ("domain".into(), "evil.example.cn".into()));
        assert_eq!(attrs[1], ("ip-dst".into(), "198.51.100.0/24".into()));
        assert_eq!(attrs[2], ("domain".into(), "mail.example.cn".into()));
        // What Warden writes, Warden reads.
        for (t, v) in &attrs {
            assert!(crate::feed::misp_attribute(t, v).is_ok(), "{t} {v}");
        }
        assert_eq!(ev["Event"]["uuid"], event_uuid("china-telecom").to_string());
        let m = manifest_entry("china-telecom", Uuid::from_u128(1), &[]);
        assert_eq!(m["info"], "Warden: blocks in force for china-telecom");
        assert_eq!(m["Orgc"], ev["Event"]["Orgc"]);
        assert!(
            ev["Event"]["Attribute"][0]["comment"]
                .as_str()
                .unwrap_or("")
                .contains("every name below")
        );
    }
}
