//! Warden records as STIX objects.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::indicator::{IndicatorType, TargetScope};
use warden_core::lifecycle::Tlp;

use crate::ids;
use crate::pattern;
use crate::stix::{Common, ExternalReference, Indicator, Ts, tlp_marking_id};

/// One version of a block measure as the blocklist change sequence records it: listed, or
/// no longer listed (expired or revoked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockVersion {
    pub measure_id: Uuid,
    pub kind: IndicatorType,
    pub value: String,
    pub scope: TargetScope,
    pub range_last: Option<String>,
    pub recipient: String,
    pub reference: String,
    pub since: OffsetDateTime,
    pub expires: OffsetDateTime,
    /// When this version was recorded (the TAXII `date_added`).
    pub at: OffsetDateTime,
    pub listed: bool,
}

/// Blocks are enforced in public networks and published, but their detail is for members.
pub const BLOCK_TLP: Tlp = Tlp::Green;

impl BlockVersion {
    pub fn stix_id(&self) -> String {
        ids::block_indicator(self.measure_id)
    }

    /// The `modified` of this version.
    pub fn modified(&self) -> Ts {
        Ts::millis(self.at).max(Ts::millis(self.since))
    }

    /// The indicator for this version: a removed block is a revoked indicator.
    pub fn to_indicator(&self) -> Indicator {
        let since = Ts::millis(self.since);
        let mut common = Common::new("indicator", self.stix_id(), since, self.modified())
            .with_warden(BTreeMap::from([
                ("article", json!("8(1)")),
                ("measure_kind", json!("block")),
                ("measure_id", json!(self.measure_id.to_string())),
                ("reference", json!(self.reference)),
                ("recipient", json!(self.recipient)),
                ("target_type", json!(self.kind.as_str())),
                ("target_value", json!(self.value)),
                ("scope", json!(self.scope.as_str())),
                (
                    "range_last",
                    self.range_last.clone().map_or(Value::Null, Value::from),
                ),
            ]));
        common.created_by_ref = Some(ids::platform());
        common.revoked = !self.listed;
        common.object_marking_refs = vec![tlp_marking_id(BLOCK_TLP).to_owned()];
        common.external_references = vec![ExternalReference {
            source_name: "warden".into(),
            external_id: Some(self.reference.clone()),
            description: Some("the reference number to quote in an appeal".into()),
        }];
        // Targets STIX has no observable for match nothing in STIX terms; the extension
        // carries them. The pattern names Warden's own reference so it stays valid STIX.
        let pattern =
            pattern::for_target(self.kind, &self.value, self.scope).unwrap_or_else(|| {
                format!(
                    "[x-warden-target:value = '{}']",
                    self.value.replace('\\', "\\\\").replace('\'', "\\'")
                )
            });
        let expires = Ts::millis(self.expires);
        Indicator {
            common,
            name: format!("Block {} {}", self.kind.as_str(), self.value),
            description: Some(format!(
                "Art. 8(1) block measure {} ({}), enforced by {}",
                self.reference, self.measure_id, self.recipient
            )),
            indicator_types: vec!["malicious-activity"],
            pattern,
            pattern_type: "stix",
            pattern_version: "2.1",
            valid_from: since,
            valid_until: (expires > since).then_some(expires),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(listed: bool) -> BlockVersion {
        let t = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        BlockVersion {
            measure_id: Uuid::from_u128(42),
            kind: IndicatorType::Domain,
            value: "evil.example".into(),
            scope: TargetScope::Subdomains,
            range_last: None,
            recipient: "telecom-gd".into(),
            reference: "WB-2026-000042".into(),
            since: t,
            expires: t + time::Duration::days(180),
            at: t + time::Duration::seconds(if listed { 0 } else { 60 }),
            listed,
        }
    }

    #[test]
    fn a_block_is_a_stable_indicator_and_its_removal_a_revoked_version() {
        let a = serde_json::to_string(&block(true).to_indicator()).unwrap_or_default();
        assert_eq!(
            a,
            serde_json::to_string(&block(true).to_indicator()).unwrap_or_default()
        );
        assert!(a.contains("\"pattern\":\"[domain-name:value = 'evil.example' OR domain-name:value LIKE '%.evil.example']\""), "{a}");
        assert!(!a.contains("revoked"));
        let r = block(false).to_indicator();
        assert!(r.common.revoked);
        assert_eq!(r.common.id, block(true).to_indicator().common.id);
        assert!(r.common.modified > r.common.created);
    }
}
