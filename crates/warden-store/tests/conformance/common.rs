//! What the scenarios share: a store on each backend, and a small world of organisations
//! and people to write through it.

use std::collections::BTreeSet;
use std::sync::Arc;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;
use warden_core::calendar::Calendar;
use warden_core::indicator::{Indicator, IndicatorType};
use warden_core::lifecycle::*;
use warden_core::org::*;
use warden_core::policy::Policy;
use warden_core::taxonomy::{Category, Classification, Subtype};
use warden_store::*;

pub(crate) const T0: OffsetDateTime = datetime!(2026-09-28 02:00 UTC);

pub(crate) struct Fixture {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) _dir: Option<tempfile::TempDir>,
    pub(crate) sqlite_url: Option<String>,
}

pub(crate) async fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/warden.db", dir.path().display());
    Fixture {
        store: open(&url).await.unwrap(),
        _dir: Some(dir),
        sqlite_url: Some(url),
    }
}

pub(crate) async fn postgres() -> Option<Fixture> {
    Some(Fixture {
        store: test_postgres().await.unwrap()?,
        _dir: None,
        sqlite_url: None,
    })
}

pub(crate) fn contacts() -> Art5Contacts {
    let c = Contact {
        name: "联系人".into(),
        phone: "+861012345678".into(),
        email: "soc@example.cn".into(),
    };
    Art5Contacts {
        responsible_department: "网络安全部".into(),
        responsible_person: c.clone(),
        contact_person: c,
    }
}

pub(crate) struct World {
    pub(crate) orgs: Vec<Organisation>,
    pub(crate) calendar: Calendar,
    pub(crate) policy: Policy,
}

impl World {
    pub(crate) fn org(&self, slug: &str) -> &Organisation {
        self.orgs.iter().find(|o| o.slug == slug).unwrap()
    }
    pub(crate) fn actor(&self, slug: &str, name: &str, roles: &[Role]) -> Actor {
        let org = self.org(slug);
        let p = Principal {
            id: Uuid::new_v5(&org.id, name.as_bytes()),
            kind: PrincipalKind::User,
            org_id: org.id,
            name: format!("{name}.{slug}"),
            display_name: name.into(),
            roles: roles.iter().copied().collect::<BTreeSet<_>>(),
            disabled: false,
        };
        Actor::principal(&p, org)
    }
    pub(crate) fn ctx(&self, now: OffsetDateTime, p: Option<Province>) -> Context<'_> {
        Context {
            now,
            calendar: &self.calendar,
            rules: self.policy.for_province(p),
        }
    }
}

pub(crate) async fn seed(store: &dyn Store) -> World {
    let admin = Actor::system("seed");
    let mut orgs = vec![];
    for (slug, t, j) in [
        ("miit", OrgType::Ministry, Some(Jurisdiction::National)),
        (
            "ca-guangdong",
            OrgType::ProvincialAuthority,
            Some(Jurisdiction::Province("44".parse().unwrap())),
        ),
        ("cncert", OrgType::Institution, None),
        ("china-telecom", OrgType::TelecomOperator, None),
        ("secco-alpha", OrgType::SecurityCompany, None),
        ("netco-alpha", OrgType::InternetCompany, None),
    ] {
        let org = Organisation {
            id: Uuid::now_v7(),
            slug: slug.into(),
            name: slug.to_uppercase(),
            org_type: t,
            jurisdiction: j,
            province: None,
            contacts: Some(contacts()),
            supervising_unit: None,
            suspended: None,
            require_second_factor: false,
        };
        org.validate().unwrap();
        let ev = Event {
            name: "organisation.created".into(),
            subject: Subject {
                kind: SubjectKind::Organisation,
                id: org.id,
            },
            data: serde_json::json!({"slug": slug}),
        };
        store
            .commit(Changeset::new(
                admin.clone(),
                T0,
                vec![Write::Organisation {
                    org: org.clone(),
                    expected: None,
                }],
                vec![ev],
            ))
            .await
            .unwrap();
        orgs.push(org);
    }
    World {
        orgs,
        calendar: Calendar::builtin().unwrap(),
        policy: Policy::builtin().unwrap(),
    }
}

pub(crate) fn content(value: &str) -> ReportContent {
    ReportContent {
        classification: Classification::new(Category::MaliciousResource, Subtype::C2).unwrap(),
        title: "Botnet C2".into(),
        description: "Seen in sinkhole data".into(),
        observed_at: T0 - Duration::hours(2),
        province: Some("44".parse().unwrap()),
        tlp: Tlp::Green,
        indicators: vec![Indicator::parse(IndicatorType::Domain, value).unwrap()],
        victim: None,
    }
}

pub(crate) fn cs(
    actor: &Actor,
    at: OffsetDateTime,
    writes: Vec<Write>,
    events: Vec<Event>,
) -> Changeset {
    Changeset::new(actor.clone(), at, writes, events)
}

/// Submits a report as secco-alpha and opens (or joins) a case, as the service will.
pub(crate) async fn submit(
    store: &dyn Store,
    w: &World,
    value: &str,
    at: OffsetDateTime,
) -> (Uuid, Uuid) {
    let reporter = w.actor("secco-alpha", "rita", &[Role::Reporter]);
    let mut report = Report::submit(&reporter, Uuid::now_v7(), content(value), None, at).unwrap();
    match store
        .open_case_matching(&report.content.indicators)
        .await
        .unwrap()
    {
        Some(case_id) => {
            let case = store.case(case_id).await.unwrap().unwrap();
            report.case_id = Some(case_id);
            let out = case
                .value
                .apply(
                    &reporter,
                    CaseCommand::AddReport {
                        report: Box::new(report.clone()),
                    },
                    w.ctx(at, case.value.province),
                )
                .unwrap();
            store
                .commit(cs(
                    &reporter,
                    at,
                    vec![
                        Write::Report {
                            report: report.clone(),
                            expected: None,
                        },
                        Write::Case {
                            case: out.next,
                            expected: Some(case.version),
                        },
                    ],
                    out.events,
                ))
                .await
                .unwrap();
            (report.id, case_id)
        }
        None => {
            let (c, case) = opening(w, &reporter, report.clone(), at);
            store.commit(c).await.unwrap();
            (report.id, case.id)
        }
    }
}

/// `report` opening a case of its own, assigned to CNCERT, as the service does when nothing
/// matches: the changeset that writes both, and the new case.
pub(crate) fn opening(
    w: &World,
    reporter: &Actor,
    mut report: Report,
    at: OffsetDateTime,
) -> (Changeset, Case) {
    let out = Case::open(
        &mut report,
        Uuid::now_v7(),
        Some(w.org("cncert").org_ref()),
        at,
    )
    .unwrap();
    let case = out.next.clone();
    let c = cs(
        reporter,
        at,
        vec![
            Write::Case {
                case: out.next,
                expected: None,
            },
            Write::Report {
                report,
                expected: None,
            },
        ],
        out.events,
    );
    (c, case)
}

pub(crate) async fn case_step(
    store: &dyn Store,
    w: &World,
    id: Uuid,
    actor: &Actor,
    cmd: CaseCommand,
    at: OffsetDateTime,
) -> CaseOutcome {
    let case = store.case(id).await.unwrap().unwrap();
    let out = case
        .value
        .apply(actor, cmd, w.ctx(at, case.value.province))
        .unwrap();
    let mut writes = vec![Write::Case {
        case: out.next.clone(),
        expected: Some(case.version),
    }];
    writes.extend(out.measures.iter().map(|m| Write::Measure {
        measure: m.clone(),
        expected: None,
    }));
    store
        .commit(cs(actor, at, writes, out.events.clone()))
        .await
        .unwrap();
    out
}

pub(crate) async fn measure_step(
    store: &dyn Store,
    id: Uuid,
    actor: &Actor,
    cmd: MeasureCommand,
    at: OffsetDateTime,
) -> Measure {
    let m = store.measure(id).await.unwrap().unwrap();
    let out = m.value.apply(actor, cmd, at).unwrap();
    store
        .commit(cs(
            actor,
            at,
            vec![Write::Measure {
                measure: out.next.clone(),
                expected: Some(m.version),
            }],
            out.events,
        ))
        .await
        .unwrap();
    out.next
}

pub(crate) fn determine() -> CaseCommand {
    CaseCommand::Determine {
        verdict: Verdict::Confirmed,
        severity: Some(Severity::High),
        incident_level: None,
        rationale: "C2 confirmed by sandbox".into(),
        recommended_measures: vec![RecommendedMeasure {
            kind: MeasureKind::Block,
            target: Some(Indicator::parse(IndicatorType::Domain, "c2.evil.cn").unwrap()),
        }],
        malware_family: None,
    }
}

pub(crate) fn decide(w: &World, value: &str) -> CaseCommand {
    CaseCommand::Decide {
        outcome: DecisionOutcome::Approved,
        reasons: "Block the C2 domain".into(),
        measures: vec![MeasureSpec {
            id: Uuid::now_v7(),
            notice_id: Uuid::now_v7(),
            kind: MeasureKind::Block,
            target: Some(Indicator::parse(IndicatorType::Domain, value).unwrap()),
            recipient: w.org("china-telecom").org_ref(),
            deadline: None,
            scope: None,
            range_last: None,
            allowlist_hits: vec![],
            allowlist_override: None,
            instructions: None,
        }],
        notify: vec![],
        art_8_3: Art83Facts::default(),
    }
}
