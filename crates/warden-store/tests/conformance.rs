//! The conformance suite: the same scenarios through the `Store` trait on SQLite and on
//! PostgreSQL. PostgreSQL runs when `WARDEN_TEST_POSTGRES` names a database (CI always sets
//! it); each test gets a schema of its own.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
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

const T0: OffsetDateTime = datetime!(2026-09-28 02:00 UTC);

struct Fixture {
    store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
    sqlite_url: Option<String>,
}

async fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/warden.db", dir.path().display());
    Fixture {
        store: open(&url).await.unwrap(),
        _dir: Some(dir),
        sqlite_url: Some(url),
    }
}

async fn postgres() -> Option<Fixture> {
    let url = std::env::var("WARDEN_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())?;
    Some(Fixture {
        store: open_isolated_postgres(&url).await.unwrap(),
        _dir: None,
        sqlite_url: None,
    })
}

/// Each scenario runs once per backend, as its own test.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::sqlite().await).await; })*
        }
        mod on_postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                match super::postgres().await {
                    Some(f) => super::$name(f).await,
                    None => eprintln!("WARDEN_TEST_POSTGRES is unset: PostgreSQL not tested"),
                }
            })*
        }
    };
}

conformance!(
    lifecycle_story,
    concurrent_transitions_one_wins,
    idempotent_writes_apply_once,
    lists_filter_and_paginate,
    deadline_and_expiry_queues,
    health_reports_schema,
    credentials_are_found_by_hash_only,
    jobs_run_under_one_lease,
    blocklist_change_sequence,
    allowlist_entries_are_kept,
    resource_claims_are_kept,
    feeds_merge_repeats_as_sightings,
);

// ---------------------------------------------------------------------------------------------

fn contacts() -> Art5Contacts {
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

struct World {
    orgs: Vec<Organisation>,
    calendar: Calendar,
    policy: Policy,
}

impl World {
    fn org(&self, slug: &str) -> &Organisation {
        self.orgs.iter().find(|o| o.slug == slug).unwrap()
    }
    fn actor(&self, slug: &str, name: &str, roles: &[Role]) -> Actor {
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
    fn ctx(&self, now: OffsetDateTime, p: Option<Province>) -> Context<'_> {
        Context {
            now,
            calendar: &self.calendar,
            rules: self.policy.for_province(p),
        }
    }
}

async fn seed(store: &dyn Store) -> World {
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
            contacts: contacts(),
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

fn content(value: &str) -> ReportContent {
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

fn cs(actor: &Actor, at: OffsetDateTime, writes: Vec<Write>, events: Vec<Event>) -> Changeset {
    Changeset::new(actor.clone(), at, writes, events)
}

/// Submits a report as secco-alpha and opens (or joins) a case, as the service will.
async fn submit(store: &dyn Store, w: &World, value: &str, at: OffsetDateTime) -> (Uuid, Uuid) {
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
            let out = Case::open(
                &mut report,
                Uuid::now_v7(),
                Some(w.org("cncert").org_ref()),
                at,
            )
            .unwrap();
            let case_id = out.next.id;
            store
                .commit(cs(
                    &reporter,
                    at,
                    vec![
                        Write::Case {
                            case: out.next,
                            expected: None,
                        },
                        Write::Report {
                            report: report.clone(),
                            expected: None,
                        },
                    ],
                    out.events,
                ))
                .await
                .unwrap();
            (report.id, case_id)
        }
    }
}

async fn case_step(
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

async fn measure_step(
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

fn determine() -> CaseCommand {
    CaseCommand::Determine {
        verdict: Verdict::Confirmed,
        severity: Some(Severity::High),
        incident_level: None,
        rationale: "C2 confirmed by sandbox".into(),
        recommended_measures: vec![RecommendedMeasure {
            kind: MeasureKind::Block,
            target: Some(Indicator::parse(IndicatorType::Domain, "c2.evil.cn").unwrap()),
        }],
    }
}

fn decide(w: &World, value: &str) -> CaseCommand {
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
        }],
        notify: vec![],
    }
}

async fn lifecycle_story(f: Fixture) {
    let store = f.store.as_ref();
    let w = seed(store).await;
    let analyst = w.actor("cncert", "ann", &[Role::Analyst]);
    let reviewer = w.actor("ca-guangdong", "rob", &[Role::Reviewer]);
    let responder = w.actor("china-telecom", "ron", &[Role::Responder]);
    let verifier = w.actor("cncert", "vic", &[Role::Verifier]);

    // A report opens a case; a second report of the same (differently spelled) domain joins it.
    let (r1, case_id) = submit(store, &w, "c2.evil.cn", T0).await;
    let (r2, joined) = submit(store, &w, "C2.EVIL.CN.", T0 + Duration::minutes(5)).await;
    assert_eq!(case_id, joined, "correlated into one case");
    let reports = store.reports_of_case(case_id).await.unwrap();
    assert_eq!(
        reports.iter().map(|r| r.value.id).collect::<Vec<_>>(),
        vec![r1, r2]
    );
    assert_eq!(
        store.report(r2).await.unwrap().unwrap().value.case_id,
        Some(case_id)
    );

    let t = T0 + Duration::hours(1);
    case_step(store, &w, case_id, &analyst, determine(), t).await;
    let out = case_step(store, &w, case_id, &reviewer, decide(&w, "c2.evil.cn"), t).await;
    let mid = out.measures[0].id;
    let stored = store.measure(mid).await.unwrap().unwrap();
    assert_eq!(stored.value, out.measures[0]);
    assert_eq!(
        store
            .measure_by_notice(stored.value.notice_id)
            .await
            .unwrap()
            .unwrap()
            .value
            .id,
        mid
    );
    assert_eq!(store.measures_of_case(case_id).await.unwrap().len(), 1);
    let case = store.case(case_id).await.unwrap().unwrap();
    assert_eq!(case.value.status, CaseStatus::Decided);
    assert_eq!(case.version, 4, "opened, sighting, determined, decided");

    measure_step(
        store,
        mid,
        &Actor::system("delivery"),
        MeasureCommand::Deliver,
        t,
    )
    .await;
    measure_step(store, mid, &responder, MeasureCommand::Acknowledge, t).await;
    let fb = MeasureCommand::FileFeedback {
        outcome: FeedbackOutcome::Done,
        actions_taken: "RPZ entry added".into(),
        completed_at: None,
    };
    measure_step(store, mid, &responder, fb, t).await;
    let verify = MeasureCommand::Verify {
        result: VerificationResult::Passed,
        method: VerificationMethod::Dns,
        notes: "NXDOMAIN from resolvers".into(),
    };
    measure_step(store, mid, &verifier, verify, t).await;
    let closed = measure_step(store, mid, &reviewer, MeasureCommand::Close, t).await;
    assert_eq!(closed.status, NoticeStatus::Closed);

    // An appeal within the window revokes the block.
    let m = store.measure(mid).await.unwrap().unwrap();
    let filed = Appeal::file(
        &Actor::Public,
        Uuid::now_v7(),
        &m.value,
        Appellant {
            name: "Domain holder".into(),
            contact: "holder@example.cn".into(),
        },
        "The domain was sold and cleaned".into(),
        w.ctx(t + Duration::days(1), m.value.province),
    )
    .unwrap();
    store
        .commit(cs(
            &Actor::Public,
            t + Duration::days(1),
            vec![Write::Appeal {
                appeal: filed.next.clone(),
                expected: None,
            }],
            filed.events,
        ))
        .await
        .unwrap();
    let a = store.appeal(filed.next.id).await.unwrap().unwrap();
    let authority = filed.next.deciding_org.id;
    let pending = store.open_appeals(authority, 10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].value.id, filed.next.id);
    assert!(
        store
            .open_appeals(Uuid::now_v7(), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let out = a
        .value
        .apply(
            &reviewer,
            &m.value,
            AppealCommand::Decide {
                outcome: AppealOutcome::Revoked,
                reasons: "Verified".into(),
                modification: None,
            },
            t + Duration::days(2),
        )
        .unwrap();
    let mut writes = vec![Write::Appeal {
        appeal: out.next.clone(),
        expected: Some(a.version),
    }];
    if let Some(m2) = out.measure.clone() {
        writes.push(Write::Measure {
            measure: m2,
            expected: Some(m.version),
        });
    }
    store
        .commit(cs(&reviewer, t + Duration::days(2), writes, out.events))
        .await
        .unwrap();
    assert!(
        !store
            .measure(mid)
            .await
            .unwrap()
            .unwrap()
            .value
            .block_active()
    );
    assert_eq!(
        store.appeals_of_measure(mid).await.unwrap()[0].value.status,
        AppealStatus::Revoked
    );
    assert!(
        store.open_appeals(authority, 10).await.unwrap().is_empty(),
        "an answered appeal is no longer open"
    );

    // A checkpoint of the head matches the chain; one with another hash does not.
    let (seq, hash) = store.audit_head().await.unwrap();
    store
        .add_checkpoint(&Checkpoint {
            seq,
            hash: hash.clone(),
            at_us: 1,
            key_id: "platform:t".into(),
            signature: "s".into(),
        })
        .await
        .unwrap();
    assert_eq!(store.verify_audit().await.unwrap().checkpoints, 1);
    assert_eq!(store.checkpoints().await.unwrap()[0].hash, hash);

    // Every version is kept; the audit chain holds and covers every step.
    let h = store.history("measure", mid).await.unwrap();
    assert_eq!(
        h.iter().map(|v| v.version).collect::<Vec<_>>(),
        (1..=7).collect::<Vec<_>>()
    );
    assert_eq!(h[0].body["status"], "issued");
    let audit = store.audit(0, 1000).await.unwrap();
    let names: Vec<&str> = audit.iter().map(|e| e.event.as_str()).collect();
    for n in [
        "organisation.created",
        "report.submitted",
        "case.opened",
        "case.assigned",
        "case.sighting_added",
        "case.determined",
        "case.decided",
        "measure.issued",
        "notice.delivered",
        "notice.acknowledged",
        "notice.feedback_filed",
        "measure.verified",
        "measure.closed",
        "appeal.filed",
        "appeal.decided",
        "block.revoked",
    ] {
        assert!(names.contains(&n), "audit lacks {n}: {names:?}");
    }
    assert!(
        audit
            .windows(2)
            .all(|p| p[1].prev_hash == p[0].hash && p[1].seq == p[0].seq + 1)
    );
    let check = store.verify_audit().await.unwrap();
    assert!(check.intact, "{check:?}");
    assert_eq!(check.entries, audit.len() as i64);
    assert_eq!(
        audit[6].actor_org.as_deref(),
        Some("secco-alpha"),
        "after the six organisations"
    );

    // SQLite only: the file survives a reopen, and tampering with it is detected.
    if let Some(url) = &f.sqlite_url {
        let reopened = open(url).await.unwrap();
        assert_eq!(reopened.case(case_id).await.unwrap().unwrap().version, 4);
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query("UPDATE audit_log SET data = '{\"x\":1}' WHERE seq = 7")
            .execute(&pool)
            .await
            .unwrap();
        let check = reopened.verify_audit().await.unwrap();
        assert!(!check.intact);
        assert_eq!(check.first_broken, Some(7), "{check:?}");
        sqlx::query("DELETE FROM audit_log WHERE seq >= 7")
            .execute(&pool)
            .await
            .unwrap();
        let check = reopened.verify_audit().await.unwrap();
        assert!(!check.intact, "truncation is detected too");
    }
}

async fn concurrent_transitions_one_wins(f: Fixture) {
    let store = f.store.clone();
    let w = seed(store.as_ref()).await;
    let analyst = w.actor("cncert", "ann", &[Role::Analyst]);
    let analyst2 = w.actor("cncert", "bea", &[Role::Analyst]);
    for round in 0..10 {
        let (_, case_id) = submit(store.as_ref(), &w, &format!("r{round}.evil.cn"), T0).await;
        let case = store.case(case_id).await.unwrap().unwrap();
        let mk = |a: &Actor, verdict| {
            let out = case
                .value
                .apply(
                    a,
                    CaseCommand::Determine {
                        verdict,
                        severity: Some(Severity::Low),
                        incident_level: None,
                        rationale: "r".into(),
                        recommended_measures: vec![],
                    },
                    w.ctx(T0, case.value.province),
                )
                .unwrap();
            cs(
                a,
                T0,
                vec![Write::Case {
                    case: out.next,
                    expected: Some(case.version),
                }],
                out.events,
            )
        };
        let (a, b) = (
            mk(&analyst, Verdict::Confirmed),
            mk(&analyst2, Verdict::NotAThreat),
        );
        let (s1, s2) = (store.clone(), store.clone());
        let (r1, r2) = tokio::join!(
            tokio::spawn(async move { s1.commit(a).await }),
            tokio::spawn(async move { s2.commit(b).await })
        );
        let results = [r1.unwrap(), r2.unwrap()];
        let wins = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "round {round}: {results:?}");
        let loser = results.iter().find_map(|r| r.as_ref().err()).unwrap();
        assert!(
            matches!(loser, StoreError::Conflict { kind: "case", .. }),
            "{loser:?}"
        );
        assert_eq!(loser.code(), "conflict");
        assert_eq!(
            store.case(case_id).await.unwrap().unwrap().version,
            case.version + 1
        );
    }
    assert!(store.verify_audit().await.unwrap().intact);
}

async fn idempotent_writes_apply_once(f: Fixture) {
    let store = f.store.clone();
    let w = seed(store.as_ref()).await;
    let reporter = w.actor("secco-alpha", "rita", &[Role::Reporter]);
    let build = |key: &str, hash: &str| {
        let mut report =
            Report::submit(&reporter, Uuid::now_v7(), content("idem.evil.cn"), None, T0).unwrap();
        let out = Case::open(
            &mut report,
            Uuid::now_v7(),
            Some(w.org("cncert").org_ref()),
            T0,
        )
        .unwrap();
        let response = serde_json::json!({"id": report.id, "case_id": out.next.id});
        let mut c = cs(
            &reporter,
            T0,
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
        c.idempotency = Some(IdempotencyClaim {
            scope: "rita".into(),
            key: key.into(),
            request_hash: hash.into(),
            response: response.clone(),
        });
        (c, response)
    };
    let (first, response) = build("k1", "h1");
    assert!(matches!(
        store.commit(first).await.unwrap(),
        CommitOutcome::Applied { .. }
    ));
    let before = store.audit(0, 1000).await.unwrap().len();
    // The retry builds new ids, but gets the first response back and writes nothing.
    let (retry, _) = build("k1", "h1");
    assert_eq!(
        store.commit(retry).await.unwrap(),
        CommitOutcome::Replayed {
            response: response.clone()
        }
    );
    assert_eq!(store.audit(0, 1000).await.unwrap().len(), before);
    assert_eq!(
        store.idempotent_response("rita", "k1", "h1").await.unwrap(),
        Some(response)
    );
    assert_eq!(
        store.idempotent_response("rita", "k2", "h1").await.unwrap(),
        None
    );
    let err = store
        .idempotent_response("rita", "k1", "other")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "idempotency-key-reused");
    let (reused, _) = build("k1", "other");
    assert_eq!(
        store.commit(reused).await.unwrap_err().code(),
        "idempotency-key-reused"
    );
    // Two retries racing: one applies, the other replays.
    let (a, _) = build("k3", "h3");
    let (b, _) = build("k3", "h3");
    let (s1, s2) = (store.clone(), store.clone());
    let (r1, r2) = tokio::join!(
        tokio::spawn(async move { s1.commit(a).await }),
        tokio::spawn(async move { s2.commit(b).await })
    );
    let outcomes = [r1.unwrap().unwrap(), r2.unwrap().unwrap()];
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, CommitOutcome::Applied { .. }))
            .count(),
        1,
        "{outcomes:?}"
    );
    let page = store
        .cases(&CaseFilter::default(), 100, None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2, "k1 and k3 each opened one case");
}

async fn lists_filter_and_paginate(f: Fixture) {
    let store = f.store.as_ref();
    let w = seed(store).await;
    let mut ids = vec![];
    for i in 0..7 {
        let (_, c) = submit(
            store,
            &w,
            &format!("p{i}.evil.cn"),
            T0 + Duration::minutes(i),
        )
        .await;
        ids.push(c);
    }
    ids.reverse(); // newest first
    let mut seen = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .cases(&CaseFilter::default(), 3, cursor.as_deref())
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|c| c.value.id));
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    let analyst = w.actor("cncert", "ann", &[Role::Analyst]);
    case_step(
        store,
        &w,
        ids[0],
        &analyst,
        determine(),
        T0 + Duration::hours(1),
    )
    .await;
    let only = |f: CaseFilter| async move {
        store
            .cases(&f, 100, None)
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|c| c.value.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        only(CaseFilter {
            status: Some("determined".into()),
            ..Default::default()
        })
        .await,
        vec![ids[0]]
    );
    assert_eq!(
        only(CaseFilter {
            province: Some("44".into()),
            ..Default::default()
        })
        .await
        .len(),
        7
    );
    assert_eq!(
        only(CaseFilter {
            province: Some("11".into()),
            ..Default::default()
        })
        .await
        .len(),
        0
    );
    assert_eq!(
        only(CaseFilter {
            category: Some("incident".into()),
            ..Default::default()
        })
        .await
        .len(),
        0
    );
    assert_eq!(
        only(CaseFilter {
            reporter_org: Some(w.org("secco-alpha").id),
            ..Default::default()
        })
        .await
        .len(),
        7
    );
    assert_eq!(
        only(CaseFilter {
            reporter_org: Some(w.org("netco-alpha").id),
            ..Default::default()
        })
        .await
        .len(),
        0
    );
    assert_eq!(
        only(CaseFilter {
            assigned_to: Some(w.org("cncert").id),
            ..Default::default()
        })
        .await
        .len(),
        7
    );
    let window = CaseFilter {
        opened_from: Some(T0 + Duration::minutes(2)),
        opened_to: Some(T0 + Duration::minutes(4)),
        ..Default::default()
    };
    assert_eq!(only(window).await, vec![ids[3], ids[4]]);
    assert_eq!(
        store
            .cases(&CaseFilter::default(), 3, Some("garbage"))
            .await
            .unwrap_err()
            .code(),
        "not-found"
    );
}

async fn deadline_and_expiry_queues(f: Fixture) {
    let store = f.store.as_ref();
    let w = seed(store).await;
    let analyst = w.actor("cncert", "ann", &[Role::Analyst]);
    let reviewer = w.actor("ca-guangdong", "rob", &[Role::Reviewer]);
    let (_, case_id) = submit(store, &w, "q.evil.cn", T0).await;
    case_step(store, &w, case_id, &analyst, determine(), T0).await;
    let out = case_step(store, &w, case_id, &reviewer, decide(&w, "q.evil.cn"), T0).await;
    let m = &out.measures[0];
    assert!(
        store
            .measures_past_deadline(m.deadline, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let late = m.deadline + Duration::seconds(1);
    let due = store.measures_past_deadline(late, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    measure_step(
        store,
        m.id,
        &Actor::system("deadlines"),
        MeasureCommand::MarkOverdue,
        late,
    )
    .await;
    assert!(
        store
            .measures_past_deadline(late, 10)
            .await
            .unwrap()
            .is_empty(),
        "marked once"
    );
    let exp = m.block.as_ref().unwrap().expires_at;
    assert!(
        store
            .blocks_due_review(exp - Duration::seconds(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.blocks_due_review(exp, 10).await.unwrap().len(), 1);
    let review = MeasureCommand::RequestReview {
        lead: Duration::days(14),
    };
    measure_step(
        store,
        m.id,
        &Actor::system("expiry"),
        review,
        exp - Duration::days(14),
    )
    .await;
    assert!(store.blocks_due_review(exp, 10).await.unwrap().is_empty());
    assert!(
        store
            .blocks_expiring(exp - Duration::seconds(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.blocks_expiring(exp, 10).await.unwrap().len(), 1);
    measure_step(
        store,
        m.id,
        &Actor::system("expiry"),
        MeasureCommand::Expire,
        exp,
    )
    .await;
    assert!(store.blocks_expiring(exp, 10).await.unwrap().is_empty());
}

async fn health_reports_schema(f: Fixture) {
    let h = f.store.health().await.unwrap();
    assert_eq!(h.schema_version, SCHEMA_VERSION);
    assert_eq!(h.backend, f.store.backend());
    // A write without an audit record is refused.
    let w = seed(f.store.as_ref()).await;
    let mut org = w.org("netco-alpha").clone();
    org.name = "changed".into();
    let err = f
        .store
        .commit(cs(
            &Actor::system("t"),
            T0,
            vec![Write::Organisation {
                org: org.clone(),
                expected: Some(1),
            }],
            vec![],
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "corrupt-data");
    // Stale versions and missing objects are told apart.
    let ev = || {
        vec![Event {
            name: "organisation.updated".into(),
            subject: Subject {
                kind: SubjectKind::Organisation,
                id: org.id,
            },
            data: serde_json::json!({}),
        }]
    };
    let err = f
        .store
        .commit(cs(
            &Actor::system("t"),
            T0,
            vec![Write::Organisation {
                org: org.clone(),
                expected: Some(7),
            }],
            ev(),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "conflict");
    let mut ghost = org.clone();
    ghost.id = Uuid::now_v7();
    let err = f
        .store
        .commit(cs(
            &Actor::system("t"),
            T0,
            vec![Write::Organisation {
                org: ghost,
                expected: Some(1),
            }],
            ev(),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not-found");
    let mut dup = org.clone();
    dup.id = Uuid::now_v7();
    let err = f
        .store
        .commit(cs(
            &Actor::system("t"),
            T0,
            vec![Write::Organisation {
                org: dup,
                expected: None,
            }],
            ev(),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "duplicate", "slug is unique");
    assert!(
        f.store.verify_audit().await.unwrap().intact,
        "failed commits leave no trace"
    );
}

// ---------------------------------------------------------------------------------------------
// Tests that compare or break the backends themselves.

#[tokio::test]
async fn both_backends_have_the_same_tables_and_columns() {
    let s = sqlite().await;
    let Some(p) = postgres().await else {
        eprintln!("WARDEN_TEST_POSTGRES is unset: PostgreSQL not compared");
        return;
    };
    let a = s.store.schema_columns().await.unwrap();
    let b = p.store.schema_columns().await.unwrap();
    assert!(a.len() > 50, "{a:?}");
    assert_eq!(a, b);
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let f = sqlite().await;
    let url = f.sqlite_url.clone().unwrap();
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (9999, 'from the future', 1, x'00', 0)")
        .execute(&pool)
        .await
        .unwrap();
    let err = open(&url).await.err().unwrap();
    assert_eq!(err.code(), "schema-too-new", "{err}");
}

#[tokio::test]
async fn bad_urls_are_explained() {
    let err = open("mysql://localhost/x").await.err().unwrap();
    assert_eq!(err.code(), "bad-database-url");
    assert!(err.to_string().contains("sqlite://PATH"));
    let err = open("postgres://nobody:secret@127.0.0.1:1/none")
        .await
        .err()
        .unwrap();
    assert_eq!(err.code(), "database-unavailable");
    assert!(!err.to_string().contains("secret"), "{err}");
}

async fn credentials_are_found_by_hash_only(f: Fixture) {
    let store = f.store.as_ref();
    let w = seed(store).await;
    let org = w.org("secco-alpha");
    let p = Principal {
        id: Uuid::now_v7(),
        kind: PrincipalKind::Client,
        org_id: org.id,
        name: "wdn_00000001".into(),
        display_name: "feed".into(),
        roles: [Role::Reporter].into_iter().collect(),
        disabled: false,
    };
    let token = ApiToken {
        id: Uuid::now_v7(),
        principal_id: p.id,
        prefix: "wdn_00000001".into(),
        label: "feed".into(),
        created_at: T0,
        expires_at: Some(T0 + Duration::days(90)),
        revoked_at: None,
    };
    let ev = |kind, id| {
        vec![Event {
            name: "x.created".into(),
            subject: Subject { kind, id },
            data: serde_json::json!({}),
        }]
    };
    let mut events = ev(SubjectKind::Principal, p.id);
    events.extend(ev(SubjectKind::Token, token.id));
    store
        .commit(cs(
            &Actor::system("t"),
            T0,
            vec![
                Write::Principal {
                    principal: p.clone(),
                    expected: None,
                },
                Write::Token {
                    token: token.clone(),
                    hash: Some("h1".into()),
                    expected: None,
                },
                Write::Password {
                    principal_id: p.id,
                    hash: "$argon2id$a".into(),
                },
            ],
            events,
        ))
        .await
        .unwrap();
    let found = store.token_by_hash("h1").await.unwrap().unwrap();
    assert_eq!(found.value, token);
    let (t, who, o) = store.credentials("h1").await.unwrap().unwrap();
    assert_eq!(
        (t, who, o.slug.as_str()),
        (token.clone(), p.clone(), "secco-alpha")
    );
    assert!(store.credentials("h2").await.unwrap().is_none());
    assert!(store.token_by_hash("h2").await.unwrap().is_none());
    assert_eq!(
        store
            .token_by_prefix("wdn_00000001")
            .await
            .unwrap()
            .unwrap()
            .version,
        1
    );
    assert_eq!(store.tokens_of_org(org.id).await.unwrap().len(), 1);
    assert!(
        store
            .tokens_of_org(w.org("cncert").id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.principals_of_org(org.id).await.unwrap()[0].value, p);
    // Revocation keeps the hash; a password can be replaced.
    let mut revoked = token.clone();
    revoked.revoked_at = Some(T0 + Duration::days(1));
    store
        .commit(cs(
            &Actor::system("t"),
            T0,
            vec![
                Write::Token {
                    token: revoked.clone(),
                    hash: None,
                    expected: Some(1),
                },
                Write::Password {
                    principal_id: p.id,
                    hash: "$argon2id$b".into(),
                },
            ],
            ev(SubjectKind::Token, token.id),
        ))
        .await
        .unwrap();
    let found = store.token_by_hash("h1").await.unwrap().unwrap();
    assert_eq!(found.version, 2);
    assert!(found.value.unusable(T0 + Duration::days(2)).is_some());
    assert_eq!(
        store.password_hash(p.id).await.unwrap().as_deref(),
        Some("$argon2id$b")
    );
    // A second token with the same prefix is refused.
    let mut dup = token.clone();
    dup.id = Uuid::now_v7();
    let err = store
        .commit(cs(
            &Actor::system("t"),
            T0,
            vec![Write::Token {
                token: dup,
                hash: Some("h3".into()),
                expected: None,
            }],
            ev(SubjectKind::Token, token.id),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "duplicate");
}

async fn jobs_run_under_one_lease(f: Fixture) {
    let store = f.store.clone();
    // Racing claims: exactly one wins.
    let (a, b) = (store.clone(), store.clone());
    let (r1, r2) = tokio::join!(
        tokio::spawn(async move {
            a.claim_job("deadlines", "one", T0, T0 + Duration::minutes(5))
                .await
        }),
        tokio::spawn(async move {
            b.claim_job("deadlines", "two", T0, T0 + Duration::minutes(5))
                .await
        })
    );
    let wins = [r1.unwrap().unwrap(), r2.unwrap().unwrap()];
    assert_eq!(wins.iter().filter(|w| **w).count(), 1, "{wins:?}");
    let winner = if wins[0] { "one" } else { "two" };
    // The other cannot finish it; the holder can, and sets the next run.
    store
        .finish_job("deadlines", "nobody", T0, T0)
        .await
        .unwrap();
    assert!(
        !store
            .claim_job(
                "deadlines",
                "three",
                T0 + Duration::seconds(1),
                T0 + Duration::minutes(5)
            )
            .await
            .unwrap()
    );
    store
        .finish_job("deadlines", winner, T0, T0 + Duration::seconds(30))
        .await
        .unwrap();
    assert!(
        !store
            .claim_job(
                "deadlines",
                "three",
                T0 + Duration::seconds(10),
                T0 + Duration::minutes(5)
            )
            .await
            .unwrap(),
        "not due"
    );
    assert!(
        store
            .claim_job(
                "deadlines",
                "three",
                T0 + Duration::seconds(30),
                T0 + Duration::minutes(5)
            )
            .await
            .unwrap()
    );
    // A lease lost with a crashed holder expires.
    assert!(
        !store
            .claim_job(
                "deadlines",
                "four",
                T0 + Duration::minutes(4),
                T0 + Duration::minutes(9)
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_job(
                "deadlines",
                "four",
                T0 + Duration::minutes(6),
                T0 + Duration::minutes(11)
            )
            .await
            .unwrap()
    );
    // Jobs are independent.
    assert!(
        store
            .claim_job("expiry", "one", T0, T0 + Duration::minutes(5))
            .await
            .unwrap()
    );
}

async fn blocklist_change_sequence(f: Fixture) {
    let store = f.store.as_ref();
    let w = seed(store).await;
    let analyst = w.actor("cncert", "ann", &[Role::Analyst]);
    let reviewer = w.actor("ca-guangdong", "rob", &[Role::Reviewer]);
    assert_eq!(store.block_serial().await.unwrap(), 0);
    let mut ids = vec![];
    for v in ["a.evil.cn", "b.evil.cn"] {
        let (_, case_id) = submit(store, &w, v, T0).await;
        case_step(store, &w, case_id, &analyst, determine(), T0).await;
        let out = case_step(store, &w, case_id, &reviewer, decide(&w, v), T0).await;
        ids.push(out.measures[0].id);
    }
    assert_eq!(store.block_serial().await.unwrap(), 2);
    let listed = store.listed_blocks(None, 10).await.unwrap();
    assert_eq!(listed.len(), 2);
    let a = listed.iter().find(|b| b.measure_id == ids[0]).unwrap();
    assert_eq!(a.target_value, "a.evil.cn");
    assert_eq!(a.scope.as_deref(), Some("subdomains"));
    assert_eq!(a.recipient_slug, "china-telecom");
    assert!(a.reference.starts_with("WD-"));
    assert_eq!(a.listed_serial, 1);
    // Paging by id.
    let first = store.listed_blocks(None, 1).await.unwrap();
    let rest = store
        .listed_blocks(Some(first[0].measure_id), 10)
        .await
        .unwrap();
    assert_eq!(first.len() + rest.len(), 2);
    // A step that leaves the listing alone adds no change; expiry does.
    measure_step(
        store,
        ids[0],
        &Actor::system("delivery"),
        MeasureCommand::Deliver,
        T0,
    )
    .await;
    assert_eq!(store.block_serial().await.unwrap(), 2);
    let m = store.measure(ids[0]).await.unwrap().unwrap();
    let exp = m.value.block.as_ref().unwrap().expires_at;
    measure_step(
        store,
        ids[0],
        &Actor::system("expiry"),
        MeasureCommand::Expire,
        exp,
    )
    .await;
    let changes = store.block_changes(0, 10).await.unwrap();
    let seq: Vec<(i64, bool, &str)> = changes
        .iter()
        .map(|c| (c.serial, c.listed, c.block.target_value.as_str()))
        .collect();
    assert_eq!(
        seq,
        [
            (1, true, "a.evil.cn"),
            (2, true, "b.evil.cn"),
            (3, false, "a.evil.cn")
        ]
    );
    assert_eq!(store.block_changes(2, 10).await.unwrap().len(), 1);
    assert_eq!(store.listed_blocks(None, 10).await.unwrap().len(), 1);
    assert_eq!(changes[2].at, exp);
    // The same sequence as versions of each block (TAXII).
    use warden_store::{BlockVersionQuery, VersionSelect};
    let serials =
        |v: Vec<warden_store::BlockChange>| v.iter().map(|c| c.serial).collect::<Vec<_>>();
    let q = |versions| BlockVersionQuery {
        versions,
        limit: 10,
        ..Default::default()
    };
    assert_eq!(
        serials(store.block_versions(&q(VersionSelect::Last)).await.unwrap()),
        [2, 3]
    );
    assert_eq!(
        serials(
            store
                .block_versions(&q(VersionSelect::First))
                .await
                .unwrap()
        ),
        [1, 2]
    );
    assert_eq!(
        serials(store.block_versions(&q(VersionSelect::All)).await.unwrap()),
        [1, 2, 3]
    );
    let after = BlockVersionQuery {
        added_after: Some(T0 + time::Duration::seconds(1)),
        ..q(VersionSelect::All)
    };
    assert_eq!(serials(store.block_versions(&after).await.unwrap()), [3]);
    let one = BlockVersionQuery {
        measure: Some(ids[0]),
        ..q(VersionSelect::All)
    };
    assert_eq!(serials(store.block_versions(&one).await.unwrap()), [1, 3]);
    let other = BlockVersionQuery {
        recipient: Some(Uuid::now_v7()),
        ..q(VersionSelect::All)
    };
    assert!(store.block_versions(&other).await.unwrap().is_empty());
    let page = BlockVersionQuery {
        after_serial: 1,
        limit: 1,
        ..q(VersionSelect::All)
    };
    assert_eq!(serials(store.block_versions(&page).await.unwrap()), [2]);
    // TAXII status resources: kept, replaced, read back with their organisation.
    let org = listed[0].recipient_id;
    let sid = Uuid::now_v7();
    assert_eq!(store.taxii_status(sid).await.unwrap(), None);
    store
        .put_taxii_status(sid, org, T0, "{\"status\":\"pending\"}")
        .await
        .unwrap();
    store
        .put_taxii_status(sid, org, T0, "{\"status\":\"complete\"}")
        .await
        .unwrap();
    assert_eq!(
        store.taxii_status(sid).await.unwrap(),
        Some((org, "{\"status\":\"complete\"}".to_owned()))
    );
}

async fn allowlist_entries_are_kept(f: Fixture) {
    use warden_core::allowlist::AllowlistRecord;
    let store = f.store.as_ref();
    let w = seed(store).await;
    let admin = w.actor("china-telecom", "ada", &[Role::Admin]);
    let (rec, ev) =
        AllowlistRecord::add(&admin, Uuid::now_v7(), "202.96.128.86", "our resolver", T0).unwrap();
    store
        .commit(cs(
            &admin,
            T0,
            vec![Write::AllowlistEntry {
                entry: rec.clone(),
                expected: None,
            }],
            vec![ev],
        ))
        .await
        .unwrap();
    let (removed, ev) = rec.remove(&admin, T0).unwrap();
    store
        .commit(cs(
            &admin,
            T0,
            vec![Write::AllowlistEntry {
                entry: removed.clone(),
                expected: Some(1),
            }],
            vec![ev],
        ))
        .await
        .unwrap();
    let all = store.allowlist_entries().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].value, removed);
    assert_eq!(all[0].version, 2);
    assert_eq!(
        store.allowlist_entry(rec.id).await.unwrap().unwrap().value,
        removed
    );
}

async fn resource_claims_are_kept(f: Fixture) {
    use warden_core::resources::{ClaimStatus, ResourceClaim, ResourceKind};
    let store = f.store.as_ref();
    let w = seed(store).await;
    let admin = w.actor("china-telecom", "ada", &[Role::Admin]);
    let reviewer = w.actor("ca-guangdong", "rob", &[Role::Reviewer]);
    let (claim, ev) = ResourceClaim::declare(
        &admin,
        Uuid::now_v7(),
        ResourceKind::Prefix,
        "202.96.128.0/18",
        None,
        Some(4134),
        Some("44".parse().unwrap()),
        vec![],
        T0,
    )
    .unwrap();
    store
        .commit(cs(
            &admin,
            T0,
            vec![Write::ResourceClaim {
                claim: claim.clone(),
                expected: None,
            }],
            vec![ev],
        ))
        .await
        .unwrap();
    let (approved, ev) = claim.decide(&reviewer, true, "", T0).unwrap();
    store
        .commit(cs(
            &reviewer,
            T0,
            vec![Write::ResourceClaim {
                claim: approved.clone(),
                expected: Some(1),
            }],
            vec![ev],
        ))
        .await
        .unwrap();
    let all = store.resource_claims().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].value.status, ClaimStatus::Approved);
    assert_eq!(all[0].version, 2);
    assert_eq!(
        store.resource_claim(claim.id).await.unwrap().unwrap().value,
        approved
    );
}

async fn feeds_merge_repeats_as_sightings(f: Fixture) {
    use warden_store::{FeedRows, ImportRecord, ImportReject};
    let store = f.store.as_ref();
    seed(store).await;
    let org = store
        .organisation_by_slug("china-telecom")
        .await
        .unwrap()
        .unwrap()
        .value
        .id;
    let mut imp = ImportRecord::start(org, "plain", "feed.txt", T0);
    store.put_import(&imp).await.unwrap();
    let row = |k: &'static str, v: String, n: u64| (k, v, n);
    let batch = |rows: &[(&'static str, String, u64)]| FeedRows::new(rows.to_vec()).unwrap();
    let rows: Vec<(&str, String, u64)> = (0..450)
        .map(|i| {
            row(
                "ipv4",
                format!("198.51.{}.{}", i / 256, i % 256),
                1 + (i % 2),
            )
        })
        .collect();
    // The batch's progress and rejects are written with it.
    imp.lines = 452;
    imp.accepted = 450;
    imp.rejected = 2;
    let rejects: Vec<ImportReject> = (1..=2)
        .map(|n| ImportReject {
            n,
            place: format!("line {}", 450 + n),
            reason: "not an indicator".into(),
        })
        .collect();
    assert_eq!(
        store
            .add_feed_rows(&imp, T0, batch(&rows), &rejects)
            .await
            .unwrap(),
        450
    );
    let stored = store.import(imp.id).await.unwrap().unwrap();
    assert_eq!(
        (
            stored.lines,
            stored.accepted,
            stored.rejected,
            stored.new_indicators
        ),
        (452, 450, 2, 450)
    );
    assert_eq!(store.import_rejects(imp.id, 0, 10).await.unwrap(), rejects);
    assert_eq!(
        store.import_rejects(imp.id, 1, 10).await.unwrap(),
        rejects[1..]
    );
    assert_eq!(store.imports_pending().await.unwrap(), vec![stored]);
    // Again, with one new: the known ones gain sightings.
    let mut again: Vec<(&str, String, u64)> = rows[..10].to_vec();
    again.push(row("domain", "new.example.cn".into(), 3));
    let later = T0 + time::Duration::minutes(1);
    let second = ImportRecord {
        id: Uuid::now_v7(),
        ..imp.clone()
    };
    store.put_import(&second).await.unwrap();
    assert_eq!(
        store
            .add_feed_rows(&second, later, batch(&again), &[])
            .await
            .unwrap(),
        1
    );
    // What the feed store knows of an indicator it holds.
    async fn known(store: &dyn Store, kind: &str, value: &str) -> warden_store::FeedIndicator {
        store.feed_indicator(kind, value).await.unwrap().unwrap()
    }
    let f1 = known(store, "ipv4", "198.51.0.1").await;
    assert_eq!((f1.sightings, f1.first_seen, f1.last_seen), (4, T0, later));
    assert_eq!(
        (f1.first_import, f1.last_import, f1.first_org),
        (imp.id, second.id, org)
    );
    assert_eq!(known(store, "domain", "new.example.cn").await.sightings, 3);
    assert_eq!(
        store.feed_indicator("ipv4", "192.0.2.1").await.unwrap(),
        None
    );
    // A later batch of the same import: what its earlier batch brought is not new again,
    // and the last sighting moves to this batch's time.
    let third = T0 + time::Duration::minutes(2);
    let mut again2 = vec![row("domain", "new.example.cn".into(), 1)];
    again2.push(row("domain", "newer.example.cn".into(), 1));
    // The same indicator twice in one batch is one row with both counts.
    again2.push(row("domain", "newer.example.cn".into(), 2));
    assert_eq!(
        store
            .add_feed_rows(&second, third, batch(&again2), &[])
            .await
            .unwrap(),
        1
    );
    let f2 = known(store, "domain", "new.example.cn").await;
    assert_eq!(
        (f2.sightings, f2.first_seen, f2.last_seen, f2.first_import),
        (4, later, third, second.id)
    );
    assert_eq!(
        known(store, "domain", "newer.example.cn").await.sightings,
        3
    );
    // The import record is kept and updated.
    imp.status = "complete".into();
    imp.finished = Some(later);
    imp.lines = 460;
    imp.accepted = 450;
    imp.rejected = 10;
    imp.new_indicators = 450;
    store.put_import(&imp).await.unwrap();
    assert_eq!(store.import(imp.id).await.unwrap(), Some(imp.clone()));
    assert_eq!(
        store.imports_pending().await.unwrap(),
        vec![store.import(second.id).await.unwrap().unwrap()]
    );
    let listed = store.imports_of_org(org, 10).await.unwrap();
    assert_eq!(listed.len(), 2);
    // An uploaded feed is kept in chunks until its import has read it.
    store
        .add_import_chunk(imp.id, 0, b"a\n".to_vec())
        .await
        .unwrap();
    store
        .add_import_chunk(imp.id, 1, vec![0, 255, 10])
        .await
        .unwrap();
    assert!(store.add_import_chunk(imp.id, 1, vec![1]).await.is_err());
    assert_eq!(
        store.import_chunk(imp.id, 1).await.unwrap(),
        Some(vec![0, 255, 10])
    );
    assert_eq!(store.import_chunk(imp.id, 2).await.unwrap(), None);
    store.drop_import_chunks(imp.id).await.unwrap();
    assert_eq!(store.import_chunk(imp.id, 0).await.unwrap(), None);
}
