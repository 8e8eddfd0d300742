//! A small world of organisations and people for the lifecycle tests.

use std::collections::BTreeSet;
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;
use warden_core::calendar::Calendar;
use warden_core::indicator::{Indicator, IndicatorType};
use warden_core::lifecycle::*;
use warden_core::org::{Actor, Province};
use warden_core::org::{Jurisdiction, OrgRef, OrgType, Role};
use warden_core::policy::Policy;
use warden_core::taxonomy::{Category, Classification, Subtype};

pub struct World {
    pub calendar: Calendar,
    pub policy: Policy,
}

pub fn org(slug: &str) -> OrgRef {
    let (t, j) = match slug {
        "miit" => (OrgType::Ministry, Some(Jurisdiction::National)),
        "ca-guangdong" => (
            OrgType::ProvincialAuthority,
            Some(Jurisdiction::Province("44".parse().unwrap())),
        ),
        "ca-beijing" => (
            OrgType::ProvincialAuthority,
            Some(Jurisdiction::Province("11".parse().unwrap())),
        ),
        "cncert" | "caict" => (OrgType::Institution, None),
        "china-telecom" | "china-mobile" => (OrgType::TelecomOperator, None),
        "secco-alpha" => (OrgType::SecurityCompany, None),
        "supervisor-alpha" => (OrgType::SupervisingUnit, None),
        "cac" => (OrgType::CyberspaceAdmin, None),
        other => panic!("no such org {other}"),
    };
    OrgRef {
        id: Uuid::new_v5(&Uuid::NAMESPACE_DNS, slug.as_bytes()),
        slug: slug.to_owned(),
        org_type: t,
        jurisdiction: j,
    }
}

pub const ORGS: [&str; 10] = [
    "miit",
    "ca-guangdong",
    "ca-beijing",
    "cncert",
    "caict",
    "china-telecom",
    "china-mobile",
    "secco-alpha",
    "supervisor-alpha",
    "cac",
];

pub fn actor(org_slug: &str, person: &str, roles: &[Role]) -> Actor {
    Actor::Principal {
        principal_id: Uuid::new_v5(
            &Uuid::NAMESPACE_OID,
            format!("{person}@{org_slug}").as_bytes(),
        ),
        name: person.to_owned(),
        org: org(org_slug),
        roles: roles.iter().copied().collect::<BTreeSet<_>>(),
    }
}

pub fn world() -> World {
    World {
        calendar: Calendar::builtin().unwrap(),
        policy: Policy::builtin().unwrap(),
    }
}

pub const T0: OffsetDateTime = datetime!(2026-09-28 02:00 UTC);

impl World {
    pub fn ctx(&self, now: OffsetDateTime, province: Option<Province>) -> Context<'_> {
        Context {
            now,
            calendar: &self.calendar,
            rules: self.policy.for_province(province),
        }
    }
}

pub fn content(province: Option<&str>, value: &str) -> ReportContent {
    ReportContent {
        classification: Classification::new(Category::MaliciousResource, Subtype::PhishingSite)
            .unwrap(),
        title: "Phishing site imitating a bank".into(),
        description: "Collects card numbers.".into(),
        observed_at: T0 - time::Duration::hours(1),
        province: province.map(|p| p.parse().unwrap()),
        tlp: Tlp::Amber,
        indicators: vec![Indicator::parse(IndicatorType::Domain, value).unwrap()],
        victim: None,
    }
}

pub fn block_spec(recipient: &str, value: &str, n: u128) -> MeasureSpec {
    MeasureSpec {
        id: Uuid::from_u128(1000 + n),
        notice_id: Uuid::from_u128(2000 + n),
        kind: MeasureKind::Block,
        target: Some(Indicator::parse(IndicatorType::Domain, value).unwrap()),
        recipient: org(recipient),
        deadline: None,
        scope: None,
        range_last: None,
        allowlist_hits: vec![],
        allowlist_override: None,
        instructions: None,
    }
}
