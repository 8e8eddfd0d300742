//! Threats (cases) as STIX: what a version of a case shares.
//!
//! One case version becomes a small graph: the threat itself (`infrastructure` for malicious
//! resources, `malware` for malicious programs, `vulnerability` per CVE/CNVD/CNNVD for
//! security weaknesses), an `indicator` per observable the case holds that `indicates` it,
//! a `report` per report of the case the reader may see (by its reporter's `identity`), a
//! `course-of-action` per decided measure that `mitigates` it, and, when the threat was
//! reported more than once, a `sighting` counting the reports. Every object of the version
//! carries the version's time as `modified`, so the same version always gives the same
//! bytes and a later version supersedes it object by object.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use time::OffsetDateTime;
use warden_core::indicator::{IndicatorType, TargetScope};
use warden_core::lifecycle::{Case, Measure, Report, Verdict};
use warden_core::taxonomy::Category;

use crate::ids;
use crate::pattern;
use crate::stix::{
    self, Common, CourseOfAction, ExternalReference, Identity, Indicator, Infrastructure, Malware,
    Relationship, Sighting, Ts, Vulnerability, tlp_marking_id,
};

/// What one version of a case shares with one reader.
pub struct ThreatVersion<'a> {
    pub case: &'a Case,
    /// When this version was written: every object's `modified`.
    pub at: OffsetDateTime,
    /// The reports of the case this reader may see, submitted by `at`.
    pub reports: Vec<&'a Report>,
    /// The measures decided on the case by `at`, each with its public reference number.
    pub measures: Vec<(&'a Measure, String)>,
    /// Whether the reader handles the case (and so may see who reported it).
    pub insider: bool,
}

/// A STIX object with its id and type.
pub struct Object {
    pub id: String,
    pub kind: &'static str,
    pub json: Value,
}

fn obj<T: serde::Serialize>(id: &str, kind: &'static str, o: &T) -> Object {
    Object {
        id: id.to_owned(),
        kind,
        json: stix::to_value(o),
    }
}

fn id(kind: &str, case: &Case, rest: &str) -> String {
    ids::stix_id(kind, &format!("case/{}/{rest}", case.id))
}

impl ThreatVersion<'_> {
    fn common(&self, kind: &'static str, id: String, created: OffsetDateTime) -> Common {
        let c = self.case;
        let mut common = Common::new(kind, id, Ts::millis(created), Ts::millis(self.at));
        common.created_by_ref = Some(ids::platform());
        common.object_marking_refs = vec![tlp_marking_id(c.tlp).to_owned()];
        common.with_warden(BTreeMap::from([
            ("article", json!("6")),
            ("case_id", json!(c.id.to_string())),
            ("case_status", json!(c.status.as_str())),
            ("category", json!(c.classification.category.as_str())),
            ("subtype", json!(c.classification.subtype.as_str())),
            (
                "province",
                c.province.map_or(Value::Null, |p| json!(p.to_string())),
            ),
            (
                "severity",
                c.determination
                    .as_ref()
                    .and_then(|d| d.severity)
                    .map_or(Value::Null, |s| json!(s.as_str())),
            ),
        ]))
    }

    /// The objects of this version, in a stable order.
    pub fn objects(&self) -> Vec<Object> {
        let c = self.case;
        let opened = c.opened_at;
        let mut out = vec![];
        // The threat itself.
        let mut threats = vec![];
        match c.classification.category {
            Category::MaliciousResource => {
                let infra = Infrastructure {
                    common: self.common(
                        "infrastructure",
                        id("infrastructure", c, "threat"),
                        opened,
                    ),
                    name: c.title.clone(),
                    description: None,
                    infrastructure_types: vec![match c.classification.subtype.as_str() {
                        "c2" => "command-and-control",
                        s if s.starts_with("phishing") => "phishing",
                        _ => "unknown",
                    }],
                };
                threats.push(obj(&infra.common.id, "infrastructure", &infra));
            }
            Category::MaliciousProgram => {
                let malware = Malware {
                    common: self.common("malware", id("malware", c, "threat"), opened),
                    name: c.title.clone(),
                    description: None,
                    malware_types: vec![match c.classification.subtype.as_str() {
                        t @ ("trojan" | "virus" | "worm" | "bot" | "ransomware" | "spyware") => t,
                        _ => "unknown",
                    }],
                    is_family: false,
                };
                threats.push(obj(&malware.common.id, "malware", &malware));
            }
            Category::Vulnerability => {
                let named: Vec<_> = c
                    .indicators
                    .iter()
                    .filter(|i| {
                        matches!(
                            i.kind(),
                            IndicatorType::Cve | IndicatorType::Cnvd | IndicatorType::Cnnvd
                        )
                    })
                    .collect();
                if named.is_empty() {
                    let v = Vulnerability {
                        common: self.common(
                            "vulnerability",
                            id("vulnerability", c, "threat"),
                            opened,
                        ),
                        name: c.title.clone(),
                        description: None,
                    };
                    threats.push(obj(&v.common.id, "vulnerability", &v));
                }
                for i in named {
                    let mut common = self.common(
                        "vulnerability",
                        id(
                            "vulnerability",
                            c,
                            &format!("{}:{}", i.kind().as_str(), i.value()),
                        ),
                        opened,
                    );
                    common.external_references.insert(
                        0,
                        ExternalReference {
                            source_name: i.kind().as_str().to_owned(),
                            external_id: Some(i.value().to_owned()),
                            description: None,
                        },
                    );
                    let v = Vulnerability {
                        common,
                        name: i.value().to_owned(),
                        description: Some(c.title.clone()),
                    };
                    threats.push(obj(&v.common.id, "vulnerability", &v));
                }
            }
            Category::Incident | Category::Other => {}
        }
        // Its observables: an indicator each, indicating the threat.
        let malicious = c
            .determination
            .as_ref()
            .is_some_and(|d| d.verdict == Verdict::Confirmed);
        let mut indicators = vec![];
        for i in &c.indicators {
            let Some(p) = pattern::for_target(i.kind(), i.value(), TargetScope::Exact) else {
                continue;
            };
            let ind = Indicator {
                common: self.common(
                    "indicator",
                    id(
                        "indicator",
                        c,
                        &format!("{}:{}", i.kind().as_str(), i.value()),
                    ),
                    opened,
                ),
                name: format!("{} {}", i.kind().as_str(), i.value()),
                description: Some(c.title.clone()),
                indicator_types: vec![if malicious {
                    "malicious-activity"
                } else {
                    "anomalous-activity"
                }],
                pattern: p,
                pattern_type: "stix",
                pattern_version: "2.1",
                valid_from: Ts::millis(opened),
                valid_until: None,
            };
            indicators.push(obj(&ind.common.id, "indicator", &ind));
        }
        let mut relationships = vec![];
        let mut relate = |kind: &'static str, from: &str, to: &str| {
            let r = Relationship {
                common: self.common(
                    "relationship",
                    id("relationship", c, &format!("{kind}/{from}/{to}")),
                    opened,
                ),
                relationship_type: kind,
                source_ref: from.to_owned(),
                target_ref: to.to_owned(),
            };
            relationships.push(obj(&r.common.id, "relationship", &r));
        };
        for i in &indicators {
            for t in &threats {
                relate("indicates", &i.id, &t.id);
            }
        }
        // Decided measures: courses of action that mitigate the threat.
        let mut actions = vec![];
        for (m, reference) in &self.measures {
            let mut common = self
                .common(
                    "course-of-action",
                    ids::stix_id("course-of-action", &format!("measure/{}", m.id)),
                    m.decided_at,
                )
                .with_warden(BTreeMap::from([
                    ("article", json!(article_of(m))),
                    ("case_id", json!(c.id.to_string())),
                    ("measure_kind", json!(m.kind.as_str())),
                    ("measure_id", json!(m.id.to_string())),
                    ("reference", json!(reference)),
                    ("recipient", json!(m.recipient.slug)),
                    ("deadline", json!(Ts::millis(m.deadline).to_string())),
                    (
                        "province",
                        m.province.map_or(Value::Null, |p| json!(p.to_string())),
                    ),
                    (
                        "target_type",
                        m.target
                            .as_ref()
                            .map_or(Value::Null, |t| json!(t.kind().as_str())),
                    ),
                    (
                        "target_value",
                        m.target.as_ref().map_or(Value::Null, |t| json!(t.value())),
                    ),
                ]));
            common.external_references = vec![ExternalReference {
                source_name: "warden".into(),
                external_id: Some(reference.clone()),
                description: Some("the reference number to quote in an appeal".into()),
            }];
            let target = m
                .target
                .as_ref()
                .map(|t| format!(" {} {}", t.kind().as_str(), t.value()))
                .unwrap_or_default();
            let coa = CourseOfAction {
                common,
                name: format!("{}{target}", m.kind.as_str()),
                description: Some(format!(
                    "Measure {reference} for {}, due {}",
                    m.recipient.slug,
                    Ts::millis(m.deadline)
                )),
            };
            actions.push(obj(&coa.common.id, "course-of-action", &coa));
        }
        for a in &actions {
            for t in threats.iter().chain(&indicators) {
                relate("mitigates", &a.id, &t.id);
            }
        }
        // The reports the reader may see, each by its reporter.
        let mut identities = BTreeMap::new();
        let mut reports = vec![];
        let refs: Vec<String> = threats
            .iter()
            .chain(&indicators)
            .map(|o| o.id.clone())
            .collect();
        for r in &self.reports {
            let who = ids::organisation(&r.reporter.slug);
            identities
                .entry(r.reporter.slug.clone())
                .or_insert_with(|| who.clone());
            let mut common = self.common(
                "report",
                ids::stix_id("report", &format!("report/{}", r.id)),
                r.submitted_at,
            );
            common.created_by_ref = Some(who);
            common.object_marking_refs = vec![tlp_marking_id(r.content.tlp).to_owned()];
            let mut object_refs = refs.clone();
            if object_refs.is_empty() {
                // A report must refer to something: its case's other objects, or the platform.
                object_refs.push(ids::platform());
            }
            let report = stix::Report {
                common,
                name: r.content.title.clone(),
                description: Some(r.content.description.clone()),
                report_types: vec!["threat-report"],
                published: Ts::millis(r.submitted_at),
                object_refs,
            };
            reports.push(obj(&report.common.id, "report", &report));
        }
        // A threat reported again and again: one sighting, counting the reports.
        let mut sightings = vec![];
        if c.report_ids.len() > 1
            && let Some(of) = threats.first().or(indicators.first())
        {
            let seen: Vec<OffsetDateTime> =
                self.reports.iter().map(|r| r.content.observed_at).collect();
            let first = seen.iter().min().copied().unwrap_or(opened);
            let last = seen
                .iter()
                .max()
                .copied()
                .unwrap_or(c.updated_at)
                .max(first);
            let s = Sighting {
                common: self.common("sighting", id("sighting", c, "reports"), opened),
                count: c.report_ids.len() as u64,
                first_seen: Ts::millis(first),
                last_seen: Ts::millis(last),
                sighting_of_ref: of.id.clone(),
                where_sighted_refs: if self.insider {
                    identities.values().cloned().collect()
                } else {
                    vec![]
                },
            };
            sightings.push(obj(&s.common.id, "sighting", &s));
        }
        let mut people = vec![];
        for (slug, who) in identities {
            let mut common = Common::new(
                "identity",
                who.clone(),
                Ts::millis(opened),
                Ts::millis(self.at),
            );
            common.object_marking_refs =
                vec![tlp_marking_id(warden_core::lifecycle::Tlp::Green).to_owned()];
            let identity = Identity {
                common,
                name: slug,
                description: None,
                identity_class: "organization",
                sectors: vec![],
            };
            people.push(obj(&who, "identity", &identity));
        }
        out.extend(people);
        out.extend(threats);
        out.extend(indicators);
        out.extend(actions);
        out.extend(relationships);
        out.extend(reports);
        out.extend(sightings);
        out
    }
}

/// The article of the measures a measure answers to.
fn article_of(m: &Measure) -> &'static str {
    use warden_core::lifecycle::MeasureKind as K;
    match m.kind {
        K::Block => "8(1)",
        K::RemoveMalware => "8(2)",
        K::Remediate => "8(3)",
        K::Other => "8(4)",
    }
}
