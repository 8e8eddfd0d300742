//! TAXII 2.1 resources (OASIS TAXII 2.1, section 4 onwards) and the query filters of the
//! object endpoints, parsed here so the server only wires them up.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::stix::Ts;

pub const MEDIA_TYPE: &str = "application/taxii+json;version=2.1";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Discovery {
    pub title: String,
    pub description: String,
    pub contact: String,
    pub default: String,
    pub api_roots: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiRoot {
    pub title: String,
    pub description: String,
    pub versions: Vec<&'static str>,
    pub max_content_length: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Collection {
    pub id: String,
    pub title: String,
    pub description: String,
    pub alias: String,
    pub can_read: bool,
    pub can_write: bool,
    pub media_types: Vec<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Collections {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub collections: Vec<Collection>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Envelope {
    pub more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ManifestRecord {
    pub id: String,
    pub date_added: DateAdded,
    pub version: Ts,
    pub media_type: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Manifest {
    pub more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ManifestRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Versions {
    pub more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<Ts>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusDetail {
    pub id: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The status resource of one POSTed envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub id: String,
    pub status: String,
    pub request_timestamp: String,
    pub total_count: usize,
    pub success_count: usize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub successes: Vec<StatusDetail>,
    pub failure_count: usize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<StatusDetail>,
    pub pending_count: usize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pendings: Vec<StatusDetail>,
}

/// When an object version was added to a collection, to the microsecond: clients pass it
/// back as `added_after`, and a coarser value would return the same version again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateAdded(pub time::OffsetDateTime);

impl std::fmt::Display for DateAdded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::stix::write_utc(f, self.0, 6)
    }
}

impl Serialize for DateAdded {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The TAXII error message resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Error {
    pub title: String,
    pub description: String,
    /// Stable: clients branch on it.
    pub error_code: &'static str,
    pub http_status: String,
}

/// Which versions of each object a request asks for (`match[version]`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum VersionFilter {
    #[default]
    Last,
    First,
    All,
    /// Only the versions with these `modified` timestamps.
    At(Vec<Ts>),
}

/// The filters of the objects, manifest and versions endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    pub limit: Option<usize>,
    pub added_after: Option<Ts>,
    /// The opaque `next` a previous page gave.
    pub next: Option<i64>,
    pub ids: Vec<String>,
    pub types: Vec<String>,
    pub version: VersionFilter,
    pub spec_versions: Vec<String>,
}

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Filter {
    /// From the query string's pairs; unknown parameters are refused, as a typo would
    /// otherwise silently widen the result.
    pub fn parse<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Filter, String> {
        let mut f = Filter::default();
        for (k, v) in pairs {
            match k {
                "limit" => {
                    let n: usize = v
                        .parse()
                        .map_err(|_| format!("limit {v:?} is not a positive whole number"))?;
                    if n == 0 {
                        return Err("limit must be at least 1".into());
                    }
                    f.limit = Some(n);
                }
                "added_after" => {
                    f.added_after =
                        Some(Ts::parse(v).ok_or_else(|| {
                            format!("added_after {v:?} is not an RFC 3339 timestamp")
                        })?)
                }
                "next" => {
                    f.next =
                        Some(v.parse().map_err(|_| {
                            format!("next {v:?} is not a value this server gave out")
                        })?)
                }
                "match[id]" => f.ids.extend(list(v)),
                "match[type]" => f.types.extend(list(v)),
                "match[spec_version]" => f.spec_versions.extend(list(v)),
                "match[version]" => {
                    let mut at = vec![];
                    for part in list(v) {
                        match part.as_str() {
                            "last" => f.version = VersionFilter::Last,
                            "first" => f.version = VersionFilter::First,
                            "all" => f.version = VersionFilter::All,
                            t => at.push(Ts::parse(t).ok_or_else(|| {
                                format!(
                                    "match[version] {t:?} is not last, first, all or a timestamp"
                                )
                            })?),
                        }
                    }
                    if !at.is_empty() {
                        f.version = VersionFilter::At(at);
                    }
                }
                other => {
                    return Err(format!(
                        "unknown parameter {other:?}: expected limit, added_after, next, match[id], match[type], match[version] or match[spec_version]"
                    ));
                }
            }
        }
        Ok(f)
    }

    /// Whether an object of this type and spec version passes the type and spec filters.
    pub fn wants(&self, kind: &str, spec_version: &str) -> bool {
        (self.types.is_empty() || self.types.iter().any(|t| t == kind))
            && (self.spec_versions.is_empty()
                || self.spec_versions.iter().any(|s| s == spec_version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_and_bad_ones_say_why() {
        let f = Filter::parse([
            ("limit", "5"),
            ("match[type]", "indicator,report"),
            ("match[version]", "all"),
            ("added_after", "2026-11-01T00:00:00Z"),
        ])
        .unwrap();
        assert_eq!(f.limit, Some(5));
        assert_eq!(f.types, ["indicator", "report"]);
        assert_eq!(f.version, VersionFilter::All);
        assert!(f.wants("indicator", "2.1"));
        assert!(!f.wants("malware", "2.1"));
        for (k, v, why) in [
            ("limit", "0", "at least 1"),
            ("limit", "x", "whole number"),
            ("added_after", "yesterday", "RFC 3339"),
            ("match[version]", "newest", "last, first"),
            ("next", "abc", "gave out"),
            ("match[colour]", "red", "unknown parameter"),
        ] {
            let e = Filter::parse([(k, v)]).err().unwrap_or_default();
            assert!(e.contains(why), "{k}={v}: {e}");
        }
    }
}
