//! The demo world of DESIGN §5.3: the organisations, an API client per role, and cases in
//! every state, made through the same store commits and service calls as real data.

use crate::error::ServiceError;
use crate::proto::*;
use crate::service::Service;
use serde::Deserialize;
use std::collections::HashMap;
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::lifecycle::{
    Appellant, DecisionOutcome, Event, FeedbackOutcome, MeasureCommand, MeasureKind, Severity,
    Subject, SubjectKind, Verdict, VerificationMethod, VerificationResult,
};
use warden_core::org::{
    Actor, Art5Contacts, Contact, Jurisdiction, OrgType, Organisation, Province, Role,
};
use warden_store::{Changeset, Store, Write};

const ORGANISATIONS: &str = include_str!("../../../data/demo/organisations.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    organisation: Vec<OrgDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrgDoc {
    slug: String,
    name: String,
    #[serde(rename = "type")]
    org_type: OrgType,
    jurisdiction: Option<Jurisdiction>,
    province: Option<Province>,
    responsible_department: String,
    responsible_person: Contact,
    contact_person: Contact,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("data/demo/organisations.toml: {0}")]
    Data(String),
    #[error(transparent)]
    Store(#[from] warden_store::StoreError),
}

/// The demo organisations, validated.
pub fn organisations() -> Result<Vec<Organisation>, DemoError> {
    let doc: Doc = toml::from_str(ORGANISATIONS).map_err(|e| DemoError::Data(e.to_string()))?;
    doc.organisation
        .into_iter()
        .map(|o| {
            let org = Organisation {
                // Stable ids: the same demo world every time.
                id: Uuid::new_v5(
                    &Uuid::NAMESPACE_URL,
                    format!("warden:demo:{}", o.slug).as_bytes(),
                ),
                slug: o.slug,
                name: o.name,
                org_type: o.org_type,
                jurisdiction: o.jurisdiction,
                province: o.province,
                contacts: Art5Contacts {
                    responsible_department: o.responsible_department,
                    responsible_person: o.responsible_person,
                    contact_person: o.contact_person,
                },
            };
            org.validate()
                .map_err(|e| DemoError::Data(format!("{}: {e}", org.slug)))?;
            Ok(org)
        })
        .collect()
}

/// Adds whatever of the demo world is missing; returns how many organisations were added.
pub async fn load(store: &dyn Store, now: OffsetDateTime) -> Result<usize, DemoError> {
    let orgs = organisations()?;
    let actor = Actor::system("demo");
    let mut writes = vec![];
    let mut events = vec![];
    for org in orgs {
        if store.organisation_by_slug(&org.slug).await?.is_some() {
            continue;
        }
        events.push(Event {
            name: "organisation.created".into(),
            subject: Subject {
                kind: SubjectKind::Organisation,
                id: org.id,
            },
            data: serde_json::json!({"slug": org.slug, "type": org.org_type}),
        });
        writes.push(Write::Organisation {
            org,
            expected: None,
        });
    }
    let added = writes.len();
    if added > 0 {
        store
            .commit(Changeset::new(actor, now, writes, events))
            .await?;
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_organisation_type_is_in_the_demo_world() {
        let orgs = super::organisations().unwrap();
        for t in warden_core::org::OrgType::ALL {
            assert!(orgs.iter().any(|o| o.org_type == t), "no {t}");
        }
    }
}

/// Submits a report and has the assigned institution's analyst determine it; the case id.
async fn reported(
    svc: &Service,
    reporter: &Actor,
    report: ReportRequest,
    analyst: &Actor,
    determination: DeterminationRequest,
) -> Result<uuid::Uuid, ServiceError> {
    let created = svc.submit_report(reporter, report, None).await?;
    svc.determine(analyst, created.case_id, determination, None)
        .await?;
    Ok(created.case_id)
}

/// The roles the demo gives each kind of organisation.
fn demo_roles(t: OrgType) -> &'static [Role] {
    match t {
        OrgType::Ministry => &[Role::Reviewer, Role::Admin, Role::Auditor],
        OrgType::ProvincialAuthority => &[Role::Reviewer, Role::Auditor],
        OrgType::Institution => &[Role::Analyst, Role::Verifier, Role::Auditor],
        OrgType::SecurityCompany => &[Role::Reporter],
        _ => &[Role::Reporter, Role::Responder],
    }
}

/// The password of every demo user (`ROLE@ORG`, e.g. `reviewer@ca-guangdong`).
pub const DEMO_PASSWORD: &str = "warden-demo-2026";

/// What `populate` made: where the tokens are, and how many cases.
#[derive(Debug, Default)]
pub struct DemoWorld {
    pub tokens: Vec<(String, Role, String)>,
    /// Sign-in names of the people created (password [`DEMO_PASSWORD`]).
    pub users: Vec<String>,
    pub cases: usize,
}

/// Gives every demo organisation an API client per role and walks cases into every state of
/// the lifecycle, through the same service calls the API makes. Does nothing to a database
/// that already has cases.
/// The recipient acknowledges a notice and reports it carried out.
async fn reported_back(
    svc: &Service,
    recipient: &Actor,
    notice_id: Uuid,
    actions_taken: &str,
) -> Result<(), ServiceError> {
    svc.notice_step(recipient, notice_id, MeasureCommand::Acknowledge, None)
        .await?;
    let fb = MeasureCommand::FileFeedback {
        outcome: FeedbackOutcome::Done,
        actions_taken: actions_taken.into(),
        completed_at: None,
    };
    svc.notice_step(recipient, notice_id, fb, None).await?;
    Ok(())
}

/// The demo world's resource registry: who holds which addresses, names and numbers, so that
/// attribution answers and measures route without a named recipient.
async fn registry(svc: &Service, now: time::OffsetDateTime) -> Result<(), DemoError> {
    use warden_core::resources::{ResourceClaim, ResourceKind as K};
    let store = svc.store.as_ref();
    // (holder, kind, value, AS, province where used)
    type Claim<'a> = (&'a str, K, &'a str, Option<u32>, Option<&'a str>);
    let claims: &[Claim] = &[
        (
            "china-telecom",
            K::Prefix,
            "61.140.0.0/14",
            Some(4134),
            Some("44"),
        ),
        (
            "china-telecom",
            K::Prefix,
            "202.96.128.0/18",
            Some(4134),
            Some("44"),
        ),
        ("china-telecom", K::Asn, "AS4134", None, None),
        (
            "china-telecom",
            K::Resolver,
            "202.96.128.86",
            None,
            Some("44"),
        ),
        ("china-telecom", K::UrlFiltering, "44", None, None),
        (
            "china-mobile",
            K::Prefix,
            "120.196.0.0/14",
            Some(9808),
            Some("44"),
        ),
        ("china-mobile", K::Asn, "AS9808", None, None),
        ("china-mobile", K::UrlFiltering, "44", None, None),
        (
            "china-unicom",
            K::Prefix,
            "221.4.0.0/16",
            Some(4837),
            Some("44"),
        ),
        ("china-unicom", K::Asn, "AS4837", None, None),
        (
            "china-unicom",
            K::Prefix,
            "123.112.0.0/12",
            Some(4808),
            Some("11"),
        ),
        ("cnnic", K::Tld, "cn", None, None),
        (
            "registrar-alpha",
            K::SponsoredDomain,
            "example.cn",
            None,
            None,
        ),
        (
            "cloud-alpha",
            K::Prefix,
            "61.140.200.0/24",
            Some(64500),
            Some("44"),
        ),
    ];
    let actor = Actor::system("demo");
    let mut writes = vec![];
    let mut events = vec![];
    for (slug, kind, value, asn, province) in claims {
        let Some(org) = store.organisation_by_slug(slug).await? else {
            continue;
        };
        let province = province
            .map(str::parse::<warden_core::org::Province>)
            .transpose()
            .map_err(|e| DemoError::Data(e.to_string()))?;
        let (claim, ev) = ResourceClaim::imported(
            &actor,
            Uuid::now_v7(),
            org.value.org_ref(),
            *kind,
            value,
            None,
            *asn,
            province,
            "demo world",
            now,
        )
        .map_err(|e| DemoError::Data(e.message))?;
        writes.push(Write::ResourceClaim {
            claim,
            expected: None,
        });
        events.push(ev);
    }
    store
        .commit(Changeset::new(actor, now, writes, events))
        .await?;
    svc.registry
        .reload(store)
        .await
        .map_err(|e| DemoError::Data(e.to_string()))
}

pub async fn populate(svc: &Service, with_users: bool) -> Result<DemoWorld, DemoError> {
    let fail = |e: ServiceError| DemoError::Data(format!("demo walk: {e}"));
    let store = svc.store.as_ref();
    let mut world = DemoWorld::default();
    let existing = store
        .cases(&warden_store::CaseFilter::default(), 1, None)
        .await?;
    if !existing.items.is_empty() {
        return Ok(world);
    }
    let now = svc.now();
    registry(svc, now).await?;
    let mut actors: HashMap<(String, Role), Actor> = HashMap::new();
    for org in store.organisations().await? {
        let org = org.value;
        for role in demo_roles(org.org_type) {
            let created = crate::admin::create_token(
                store,
                &Actor::system("demo"),
                now,
                &org.slug,
                [*role].into_iter().collect(),
                Some(format!("demo {role} of {}", org.slug)),
                None,
            )
            .await
            .map_err(|e| DemoError::Data(e.to_string()))?;
            let p = store
                .principal(created.record.principal_id)
                .await?
                .ok_or_else(|| DemoError::Data("demo principal vanished".into()))?;
            actors.insert((org.slug.clone(), *role), Actor::principal(&p.value, &org));
            world.tokens.push((org.slug.clone(), *role, created.token));
            if with_users {
                let name = format!("{role}@{}", org.slug);
                crate::admin::create_user(
                    store,
                    &Actor::system("demo"),
                    now,
                    crate::admin::NewUser {
                        org: org.slug.clone(),
                        name: name.clone(),
                        display_name: Some(format!("Demo {role}, {}", org.name)),
                        roles: [*role].into_iter().collect(),
                        password: DEMO_PASSWORD.to_owned(),
                    },
                )
                .await
                .map_err(|e| DemoError::Data(e.to_string()))?;
                world.users.push(name);
            }
        }
    }
    let a = |slug: &str, role: Role| {
        actors
            .get(&(slug.to_owned(), role))
            .cloned()
            .ok_or_else(|| DemoError::Data(format!("no demo {role} for {slug}")))
    };
    let report =
        |subtype: &str, title: &str, province: &str, kind: &str, value: &str| ReportRequest {
            category: if subtype == "compromised_host" || subtype == "defacement" {
                "incident".into()
            } else {
                "malicious_resource".into()
            },
            subtype: subtype.into(),
            title: title.into(),
            description: format!("{title}. Observed by the reporter's monitoring platform."),
            observed_at: now - time::Duration::hours(3),
            province: Some(province.into()),
            tlp: None,
            indicators: vec![IndicatorInput {
                kind: kind.into(),
                value: value.into(),
            }],
            victim: None,
        };
    let determine = |verdict: Verdict, severity: Option<Severity>| DeterminationRequest {
        verdict,
        severity,
        incident_level: None,
        rationale: "Checked against sandbox runs and passive DNS.".into(),
        recommended_measures: vec![],
    };
    let block = |kind: &str, value: &str, recipient: &str| MeasureInput {
        kind: MeasureKind::Block,
        target: Some(IndicatorInput {
            kind: kind.into(),
            value: value.into(),
        }),
        recipient_org: Some(recipient.into()),
        deadline: None,
        scope: None,
        range_last: None,
        allowlist_override: None,
    };
    let secco = a("secco-alpha", Role::Reporter)?;
    let netco = a("netco-alpha", Role::Reporter)?;
    let analyst = a("cncert", Role::Analyst)?;
    let verifier = a("cncert", Role::Verifier)?;
    let gd = a("ca-guangdong", Role::Reviewer)?;
    let sh = a("ca-shanghai", Role::Reviewer)?;
    let bj = a("ca-beijing", Role::Reviewer)?;
    let telecom = a("china-telecom", Role::Responder)?;

    // Assigned, waiting for an analyst.
    svc.submit_report(
        &secco,
        report(
            "phishing_site",
            "Phishing site imitating a bank",
            "44",
            "domain",
            "login-bank-verify.example.cn",
        ),
        None,
    )
    .await
    .map_err(fail)?;
    // More information asked of the reporter.
    reported(
        svc,
        &netco,
        report(
            "c2",
            "Possible botnet controller",
            "31",
            "ipv4",
            "203.0.113.45",
        ),
        &analyst,
        determine(Verdict::MoreInfo, None),
    )
    .await
    .map_err(fail)?;
    // Not a threat.
    reported(
        svc,
        &secco,
        report(
            "phishing_site",
            "Suspected phishing page",
            "11",
            "url",
            "http://portal.example.cn/login",
        ),
        &analyst,
        determine(Verdict::NotAThreat, None),
    )
    .await
    .map_err(fail)?;
    // Confirmed, waiting for the authority.
    reported(
        svc,
        &secco,
        report(
            "c2",
            "Trojan command-and-control domain",
            "44",
            "domain",
            "cc-update.example.cn",
        ),
        &analyst,
        determine(Verdict::Confirmed, Some(Severity::High)),
    )
    .await
    .map_err(fail)?;
    // Dismissed by the authority.
    let c = reported(
        svc,
        &netco,
        report(
            "phishing_sms",
            "SMS phishing sender",
            "11",
            "phone",
            "+8613800000001",
        ),
        &analyst,
        determine(Verdict::Confirmed, Some(Severity::Low)),
    )
    .await
    .map_err(fail)?;
    svc.decide(
        &bj,
        c,
        DecisionRequest {
            outcome: DecisionOutcome::Dismissed,
            reasons: "The number was already suspended by the carrier.".into(),
            measures: vec![],
            notify: vec![],
        },
        None,
    )
    .await
    .map_err(fail)?;
    // Decided: one notice handled and verified, one acknowledged, one appealed.
    let c = reported(
        svc,
        &netco,
        report(
            "phishing_site",
            "Phishing kit on a compromised server",
            "44",
            "domain",
            "secure-pay-check.example.cn",
        ),
        &analyst,
        determine(Verdict::Confirmed, Some(Severity::High)),
    )
    .await
    .map_err(fail)?;
    let d = svc
        .decide(
            &gd,
            c,
            DecisionRequest {
                outcome: DecisionOutcome::Approved,
                reasons: "Confirmed phishing: block the domain and its URL.".into(),
                measures: vec![
                    block("domain", "secure-pay-check.example.cn", "china-telecom"),
                    block(
                        "url",
                        "http://secure-pay-check.example.cn/pay",
                        "china-mobile",
                    ),
                    MeasureInput {
                        // Documentation addresses are allow-listed: blocking one takes a reason.
                        allowlist_override: Some(
                            "Training world: the RFC 5737 address stands in for the phishing host."
                                .into(),
                        ),
                        ..block("ipv4", "198.51.100.77", "china-unicom")
                    },
                ],
                notify: vec![],
            },
            None,
        )
        .await
        .map_err(fail)?;
    let first = &d.measures[0];
    svc.notice(&telecom, first.notice_id).await.map_err(fail)?;
    reported_back(
        svc,
        &telecom,
        first.notice_id,
        "Added to the RPZ of all recursive resolvers.",
    )
    .await
    .map_err(fail)?;
    let verify = MeasureCommand::Verify {
        result: VerificationResult::Passed,
        method: VerificationMethod::Dns,
        notes: "NXDOMAIN from the operator's resolvers.".into(),
    };
    svc.notice_step(&verifier, first.notice_id, verify, None)
        .await
        .map_err(fail)?;
    svc.notice_step(
        &a("china-mobile", Role::Responder)?,
        d.measures[1].notice_id,
        MeasureCommand::Acknowledge,
        None,
    )
    .await
    .map_err(fail)?;
    let appeal = AppealRequest {
        appellant: Appellant {
            name: "Holder of 198.51.100.77".into(),
            contact: "noc@example.cn".into(),
        },
        grounds: "The address was reassigned to a new customer last week.".into(),
    };
    svc.file_appeal(&netco, Some(d.measures[2].id), None, appeal, None)
        .await
        .map_err(fail)?;
    // Carried out and reported back: waiting for the institution to verify (by hand or by
    // a probe).
    let c = reported(
        svc,
        &secco,
        report(
            "phishing_site",
            "Fake online shop taking payments",
            "44",
            "domain",
            "fake-shop.example.cn",
        ),
        &analyst,
        determine(Verdict::Confirmed, Some(Severity::Medium)),
    )
    .await
    .map_err(fail)?;
    let d = svc
        .decide(
            &gd,
            c,
            DecisionRequest {
                outcome: DecisionOutcome::Approved,
                reasons: "Confirmed fraud: block the domain.".into(),
                measures: vec![block("domain", "fake-shop.example.cn", "china-telecom")],
                notify: vec![],
            },
            None,
        )
        .await
        .map_err(fail)?;
    reported_back(
        svc,
        &telecom,
        d.measures[0].notice_id,
        "Listed in the RPZ of our recursive resolvers.",
    )
    .await
    .map_err(fail)?;
    // Decided today: a notice the operator has not opened yet.
    let c = reported(
        svc,
        &secco,
        report(
            "malicious_infrastructure",
            "Domain serving a banking trojan",
            "44",
            "domain",
            "apk-update.example.cn",
        ),
        &analyst,
        determine(Verdict::Confirmed, Some(Severity::High)),
    )
    .await
    .map_err(fail)?;
    svc.decide(
        &gd,
        c,
        DecisionRequest {
            outcome: DecisionOutcome::Approved,
            reasons: "Confirmed malware distribution: block the domain.".into(),
            measures: vec![block("domain", "apk-update.example.cn", "china-telecom")],
            notify: vec![],
        },
        None,
    )
    .await
    .map_err(fail)?;
    // Decided with a short deadline: the deadline job marks it overdue and raises an
    // enforcement record shortly after start.
    let c = reported(
        svc,
        &secco,
        report(
            "c2",
            "Botnet controller still active",
            "31",
            "domain",
            "bot-cnc.example.cn",
        ),
        &analyst,
        determine(Verdict::Confirmed, Some(Severity::Critical)),
    )
    .await
    .map_err(fail)?;
    let mut short = block("domain", "bot-cnc.example.cn", "china-mobile");
    // From the clock at this point, not the start of the walk: a slow machine may have spent
    // seconds on the cases before.
    short.deadline = Some(svc.now() + time::Duration::seconds(20));
    svc.decide(
        &sh,
        c,
        DecisionRequest {
            outcome: DecisionOutcome::Approved,
            reasons: "Active controller: block at once.".into(),
            measures: vec![short],
            notify: vec![],
        },
        None,
    )
    .await
    .map_err(fail)?;
    // A threat handled in the reporter's own systems.
    svc.submit_self_report(
        &a("cloud-alpha", Role::Reporter)?,
        SelfReportRequest {
            report: report(
                "compromised_host",
                "Compromised customer VM",
                "44",
                "ipv4",
                "192.0.2.200",
            ),
            actions_taken: "Isolated the VM, notified the customer, restored from backup.".into(),
        },
        None,
    )
    .await
    .map_err(fail)?;
    world.cases = 8;
    Ok(world)
}
