//! Bulk loading: a batch of changesets written at once leaves what committing each would.

use crate::common::*;
use time::Duration;
use uuid::Uuid;
use warden_core::lifecycle::*;
use warden_core::org::*;
use warden_store::*;

conformance!(bulk_commit_writes_what_commits_write,);

/// The life of one case, made in memory as the service makes it: report, determination,
/// decision with a block, delivery; then the block's expiry for the second case.
fn life(w: &World, value: &str, expire: bool) -> (Vec<Changeset>, Uuid, Uuid) {
    let reporter = w.actor("secco-alpha", "rita", &[Role::Reporter]);
    let analyst = w.actor("cncert", "ann", &[Role::Analyst]);
    let reviewer = w.actor("ca-guangdong", "rob", &[Role::Reviewer]);
    let mut report = Report::submit(&reporter, Uuid::now_v7(), content(value), None, T0).unwrap();
    let out = Case::open(
        &mut report,
        Uuid::now_v7(),
        Some(w.org("cncert").org_ref()),
        T0,
    )
    .unwrap();
    let case_id = out.next.id;
    let mut batch = vec![cs(
        &reporter,
        T0,
        vec![
            Write::Case {
                case: out.next.clone(),
                expected: None,
            },
            Write::Report {
                report,
                expected: None,
            },
        ],
        out.events,
    )];
    let mut case = out.next;
    let mut measure = None;
    for (v, (actor, cmd)) in [(&analyst, determine()), (&reviewer, decide(w, value))]
        .into_iter()
        .enumerate()
    {
        let at = T0 + Duration::minutes(v as i64 + 1);
        let out = case.apply(actor, cmd, w.ctx(at, case.province)).unwrap();
        let mut writes = vec![Write::Case {
            case: out.next.clone(),
            expected: Some(v as i64 + 1),
        }];
        for m in &out.measures {
            writes.push(Write::Measure {
                measure: m.clone(),
                expected: None,
            });
            measure = Some(m.clone());
        }
        batch.push(cs(actor, at, writes, out.events));
        case = out.next;
    }
    let mut m = measure.unwrap();
    let mut steps = vec![(
        Actor::system("delivery"),
        MeasureCommand::Deliver,
        T0 + Duration::minutes(5),
    )];
    if expire {
        let exp = m.block.as_ref().unwrap().expires_at;
        steps.push((Actor::system("expiry"), MeasureCommand::Expire, exp));
    }
    for (v, (actor, cmd, at)) in steps.into_iter().enumerate() {
        let out = m.apply(&actor, cmd, at).unwrap();
        batch.push(cs(
            &actor,
            at,
            vec![Write::Measure {
                measure: out.next.clone(),
                expected: Some(v as i64 + 1),
            }],
            out.events,
        ));
        m = out.next;
    }
    (batch, case_id, m.id)
}

async fn bulk_commit_writes_what_commits_write(f: Fixture) {
    let store = f.store.as_ref();
    let w = seed(store).await;
    let head = store.verify_audit().await.unwrap().entries;
    let (mut batch, case_a, measure_a) = life(&w, "a.evil.cn", false);
    let (more, _, measure_b) = life(&w, "b.evil.cn", true);
    batch.extend(more);
    let person = Uuid::now_v7();
    batch.push(cs(
        &Actor::system("seed"),
        T0,
        vec![
            Write::Principal {
                principal: Principal {
                    id: person,
                    kind: PrincipalKind::User,
                    org_id: w.org("china-telecom").id,
                    name: "staff@china-telecom".into(),
                    display_name: "Staff".into(),
                    roles: [Role::Responder].into_iter().collect(),
                    disabled: false,
                },
                expected: None,
            },
            Write::Password {
                principal_id: person,
                hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            },
        ],
        vec![event(
            "principal.created",
            SubjectKind::Principal,
            person,
            serde_json::json!({}),
        )],
    ));
    let events: usize = batch.iter().map(|c| c.events.len()).sum();
    let out = store.bulk_commit(&batch).await.unwrap();
    assert_eq!(out.changesets, batch.len() as u64);
    assert_eq!(out.audit_entries, events as u64);
    assert_eq!(out.audit_seq, head + events as i64);

    // Objects at their last version, every version kept.
    let case = store.case(case_a).await.unwrap().unwrap();
    assert_eq!((case.version, case.value.status), (3, CaseStatus::Decided));
    let history = store.history("case", case_a).await.unwrap();
    assert_eq!(history.len(), 3);
    let m = store.measure(measure_a).await.unwrap().unwrap();
    assert_eq!((m.version, m.value.status), (2, NoticeStatus::Delivered));
    assert_eq!(store.history("measure", measure_b).await.unwrap().len(), 3);
    assert!(store.principal(person).await.unwrap().is_some());
    assert_eq!(
        store
            .open_case_matching(&content("a.evil.cn").indicators)
            .await
            .unwrap(),
        Some(case_a)
    );
    // The block change sequence: a listed, b listed, b expired; a's listing serial is its own.
    let changes = store.block_changes(0, 10).await.unwrap();
    let seq: Vec<(bool, &str)> = changes
        .iter()
        .map(|c| (c.listed, c.block.target_value.as_str()))
        .collect();
    assert_eq!(
        seq,
        [
            (true, "a.evil.cn"),
            (true, "b.evil.cn"),
            (false, "b.evil.cn")
        ]
    );
    // Each block's current version: a's listing, b's expiry (its listing is superseded).
    let last = store
        .block_versions(&BlockVersionQuery {
            versions: VersionSelect::Last,
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let last: Vec<i64> = last.iter().map(|c| c.serial).collect();
    assert_eq!(last, [changes[0].serial, changes[2].serial]);
    let listed = store.listed_blocks(None, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].listed_serial, changes[0].serial);
    assert_eq!(store.block_serial().await.unwrap(), changes[2].serial);

    // The chain and every row hold, as after commits one by one.
    let check = store.verify_audit().await.unwrap();
    assert!(check.intact, "{:?}", check.problem);
    assert_eq!(check.entries, head + events as i64);
    let deep = store.deep_check().await.unwrap();
    assert_eq!(deep.differences, 0, "{:?}", deep.discrepancies);

    // The compliance counts, by the database.
    let counts = store.measure_counts(None, None).await.unwrap();
    assert_eq!(counts.len(), 1);
    assert_eq!(
        (
            counts[0].recipient_slug.as_str(),
            counts[0].notices,
            counts[0].overdue
        ),
        ("china-telecom", 2, 0)
    );
    assert_eq!(
        store.measure_counts(Some("44"), None).await.unwrap(),
        counts
    );
    assert!(
        store
            .measure_counts(Some("11"), None)
            .await
            .unwrap()
            .is_empty()
    );
    let telecom = Some(w.org("china-telecom").id);
    assert_eq!(store.measure_counts(None, telecom).await.unwrap(), counts);

    // Commits carry on from where the batch left the chain and the objects.
    let responder = w.actor("china-telecom", "rui", &[Role::Responder]);
    measure_step(
        store,
        measure_a,
        &responder,
        MeasureCommand::Acknowledge,
        T0,
    )
    .await;
    assert!(store.verify_audit().await.unwrap().intact);
    // The deadline job marks a notice overdue: the tally follows, the next commit's and the
    // next batch's alike.
    let acked = store.measure(measure_a).await.unwrap().unwrap();
    let late = m
        .value
        .apply(
            &Actor::system("deadlines"),
            MeasureCommand::MarkOverdue,
            acked.value.deadline + Duration::hours(1),
        )
        .unwrap();
    store
        .commit(cs(
            &Actor::system("deadlines"),
            acked.value.deadline + Duration::hours(1),
            vec![Write::Measure {
                measure: late.next,
                expected: Some(acked.version),
            }],
            late.events,
        ))
        .await
        .unwrap();
    let counts = store.measure_counts(None, None).await.unwrap();
    assert_eq!((counts[0].notices, counts[0].overdue), (2, 1));

    // A batch that updates an object it did not create writes nothing.
    let ack = m
        .value
        .apply(&responder, MeasureCommand::Acknowledge, T0)
        .unwrap();
    let (fresh, fresh_case, _) = life(&w, "c.evil.cn", false);
    let mut bad = fresh;
    bad.push(cs(
        &responder,
        T0,
        vec![Write::Measure {
            measure: ack.next,
            expected: Some(2),
        }],
        ack.events,
    ));
    let before = store.verify_audit().await.unwrap().entries;
    assert!(matches!(
        store.bulk_commit(&bad).await,
        Err(StoreError::NotFound { .. } | StoreError::Conflict { .. })
    ));
    assert!(store.case(fresh_case).await.unwrap().is_none());
    assert_eq!(store.verify_audit().await.unwrap().entries, before);
}
