//! A case from report to closed measure, concurrent writers, and idempotent writes.

use crate::common::*;
use time::Duration;
use uuid::Uuid;
use warden_core::lifecycle::*;
use warden_core::org::*;
use warden_store::*;

conformance!(
    lifecycle_story,
    concurrent_transitions_one_wins,
    idempotent_writes_apply_once,
    a_group_keeps_each_outcome,
);

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
                allowlist_hits: vec![],
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

    // Numbered, linked checkpoints of the head match the chain.
    let (seq, hash) = store.audit_head().await.unwrap();
    let first = Checkpoint {
        number: 1,
        seq: seq - 1,
        hash: store.audit(seq - 2, 1, None).await.unwrap()[0].hash.clone(),
        at_us: 1,
        prev: Checkpoint::link_after(None),
        key_id: "platform:t".into(),
        signature: "s".into(),
    };
    store.add_checkpoint(&first).await.unwrap();
    let second = Checkpoint {
        number: 2,
        seq,
        hash: hash.clone(),
        at_us: 2,
        prev: Checkpoint::link_after(Some(&first)),
        key_id: "platform:t".into(),
        signature: "s".into(),
    };
    store.add_checkpoint(&second).await.unwrap();
    let check = store.verify_audit().await.unwrap();
    assert!(check.intact, "{check:?}");
    assert_eq!(check.checkpoints, 2);
    assert_eq!(store.checkpoints().await.unwrap()[1].hash, hash);
    assert_eq!(store.last_checkpoint().await.unwrap(), Some(second.clone()));
    assert_eq!(
        store.checkpoints_after(1, 10).await.unwrap(),
        vec![second.clone()]
    );
    // From a trusted checkpoint only the entries after it are walked.
    let from = store.verify_audit_from(Some(&first), &[]).await.unwrap();
    assert!(from.intact && from.checkpoints == 1, "{from:?}");
    // A copy saved elsewhere that the database no longer holds, or holds otherwise, fails.
    let made_up = Checkpoint {
        number: 3,
        ..second.clone()
    };
    let check = store.verify_audit_from(None, &[made_up]).await.unwrap();
    assert!(!check.intact);
    assert!(check.problem.unwrap().contains("checkpoint 3"));
    let altered = Checkpoint {
        at_us: 9,
        ..second.clone()
    };
    assert!(
        !store
            .verify_audit_from(None, &[altered])
            .await
            .unwrap()
            .intact
    );
    // Every live row agrees with the trail and with itself.
    let deep = store.deep_check().await.unwrap();
    assert_eq!(deep.differences, 0, "{:?}", deep.discrepancies);
    assert!(deep.objects > 10, "{deep:?}");

    // Every version is kept; the audit chain holds and covers every step.
    let h = store.history("measure", mid).await.unwrap();
    assert_eq!(
        h.iter().map(|v| v.version).collect::<Vec<_>>(),
        (1..=7).collect::<Vec<_>>()
    );
    assert_eq!(h[0].body["status"], "issued");
    let audit = store.audit(0, 1000, None).await.unwrap();
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
    // A provincial authority's auditors read their province's part of the trail.
    let province = store
        .measure(mid)
        .await
        .unwrap()
        .unwrap()
        .value
        .province
        .unwrap();
    let scoped = |p: &str, org: &str| AuditScope {
        province: p.into(),
        org_slug: org.into(),
    };
    let mine = store
        .audit(0, 1000, Some(&scoped(&province.to_string(), "nobody")))
        .await
        .unwrap();
    let mine_events: Vec<&str> = mine.iter().map(|e| e.event.as_str()).collect();
    for n in [
        "case.opened",
        "case.decided",
        "measure.issued",
        "appeal.filed",
        "appeal.decided",
    ] {
        assert!(mine_events.contains(&n), "{n} missing from {mine_events:?}");
    }
    assert!(mine.len() < audit.len(), "not the organisations' creation");
    let other = if province.to_string() == "11" {
        "12"
    } else {
        "11"
    };
    assert!(
        store
            .audit(0, 1000, Some(&scoped(other, "nobody")))
            .await
            .unwrap()
            .is_empty()
    );
    let own = store
        .audit(0, 1000, Some(&scoped(other, "secco-alpha")))
        .await
        .unwrap();
    assert!(
        !own.is_empty()
            && own
                .iter()
                .all(|e| e.actor_org.as_deref() == Some("secco-alpha"))
    );
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
        // The timing rows that migration 28 derives from the bodies of an older database are
        // the rows the committer writes.
        let kept: Vec<(String, Option<i64>, Option<i64>)> = sqlx::query_as(
            "SELECT measure_id, report_ms, verify_ms FROM measure_timings ORDER BY measure_id",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert!(kept.iter().any(|k| k.2.is_some()), "{kept:?}");
        for delete in ["DELETE FROM measure_timings", "DELETE FROM case_timings"] {
            sqlx::query(delete).execute(&pool).await.unwrap();
        }
        let deep = reopened.deep_check().await.unwrap();
        assert!(
            deep.discrepancies
                .iter()
                .any(|d| d.subject_type == "measure_timing" && d.field == "row"),
            "{deep:?}"
        );
        let migration = include_str!("../../migrations/sqlite/0028_timings.sql");
        for statement in migration.split(';') {
            if let Some(at) = statement.find("INSERT INTO") {
                sqlx::query(&statement[at..]).execute(&pool).await.unwrap();
            }
        }
        let deep = reopened.deep_check().await.unwrap();
        assert_eq!(deep.differences, 0, "{:?}", deep.discrepancies);
        let backfilled: Vec<(String, Option<i64>, Option<i64>)> = sqlx::query_as(
            "SELECT measure_id, report_ms, verify_ms FROM measure_timings ORDER BY measure_id",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(backfilled, kept);
        // A row edited behind the server's back: the chain cannot see it, the deep check can.
        sqlx::query("UPDATE measures SET block_status = 'active' WHERE id = $1")
            .bind(mid.to_string())
            .execute(&pool)
            .await
            .unwrap();
        let deep = reopened.deep_check().await.unwrap();
        assert!(
            deep.discrepancies
                .iter()
                .any(|d| d.subject_type == "measure"
                    && d.id == mid.to_string()
                    && d.field == "block_status"),
            "{deep:?}"
        );
        sqlx::query(
            "UPDATE cases SET body = replace(body, 'confirmed', 'not_a_threat') WHERE id = $1",
        )
        .bind(case_id.to_string())
        .execute(&pool)
        .await
        .unwrap();
        let deep = reopened.deep_check().await.unwrap();
        assert!(
            deep.discrepancies
                .iter()
                .any(|d| d.id == case_id.to_string() && d.field == "body"),
            "{deep:?}"
        );

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

        // A checkpoint removed from the middle, or the link of one replaced, shows.
        sqlx::query("DELETE FROM audit_checkpoints WHERE number = 1")
            .execute(&pool)
            .await
            .unwrap();
        let check = reopened.verify_audit().await.unwrap();
        assert!(check.problem.unwrap().contains("checkpoint 1 is missing"));
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
                        malware_family: None,
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
        let report =
            Report::submit(&reporter, Uuid::now_v7(), content("idem.evil.cn"), None, T0).unwrap();
        let report_id = report.id;
        let (mut c, case) = opening(&w, &reporter, report, T0);
        let response = serde_json::json!({"id": report_id, "case_id": case.id});
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
    let before = store.audit(0, 1000, None).await.unwrap().len();
    // The retry builds new ids, but gets the first response back and writes nothing.
    let (retry, _) = build("k1", "h1");
    assert_eq!(
        store.commit(retry).await.unwrap(),
        CommitOutcome::Replayed {
            response: response.clone()
        }
    );
    assert_eq!(store.audit(0, 1000, None).await.unwrap().len(), before);
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

/// Many commits at once share the committer's groups: new cases and reports (which may wait
/// for the group's end), a case made twice, a stale update, and an update of a case made by an
/// earlier commit of the same burst. Each gets its own outcome, and the trail holds exactly
/// the applied ones' entries.
async fn a_group_keeps_each_outcome(f: Fixture) {
    let store = f.store.clone();
    let w = seed(store.as_ref()).await;
    let reporter = w.actor("secco-alpha", "rita", &[Role::Reporter]);
    let analyst = w.actor("cncert", "ann", &[Role::Analyst]);
    let new_case = |i: usize| {
        let report = Report::submit(
            &reporter,
            Uuid::now_v7(),
            content(&format!("g{i}.evil.cn")),
            None,
            T0,
        )
        .unwrap();
        opening(&w, &reporter, report, T0)
    };
    let determine = |case: &Case, version: i64| {
        let out = case
            .apply(
                &analyst,
                CaseCommand::Determine {
                    verdict: Verdict::Confirmed,
                    severity: Some(Severity::Low),
                    incident_level: None,
                    rationale: "r".into(),
                    recommended_measures: vec![],
                    malware_family: None,
                },
                w.ctx(T0, case.province),
            )
            .unwrap();
        cs(
            &analyst,
            T0,
            vec![Write::Case {
                case: out.next,
                expected: Some(version),
            }],
            out.events,
        )
    };
    // A case already there, for the stale update.
    let (_, old_case) = submit(store.as_ref(), &w, "old.evil.cn", T0).await;
    let old = store.case(old_case).await.unwrap().unwrap();
    let audit_before = store.audit(0, 100_000, None).await.unwrap().len();

    for round in 0..3 {
        let mut commits: Vec<(&str, Changeset)> = vec![];
        let mut made = vec![];
        for i in 0..40 {
            let (c, case) = new_case(round * 100 + i);
            if i == 7 {
                // The same case and report again: the second is a duplicate.
                commits.push(("ok", c.clone()));
                commits.push(("duplicate", c));
            } else {
                commits.push(("ok", c));
            }
            made.push(case);
        }
        // Determining a case made earlier in the burst finds it.
        commits.push(("ok", determine(&made[3], 1)));
        // An update against a version that is not the stored one.
        commits.push(("conflict", determine(&old.value, old.version + 5)));
        for i in 40..60 {
            commits.push(("ok", new_case(round * 100 + i).0));
        }
        let expected_entries: usize = commits
            .iter()
            .filter(|(e, _)| *e == "ok")
            .map(|(_, c)| c.events.len())
            .sum();
        let before = store.audit(0, 100_000, None).await.unwrap().len();
        // Polled in order, the commits reach the committer's queue in order (the determination
        // after the case it determines) without waiting for one another.
        let (wants, pending): (Vec<_>, Vec<_>) = commits
            .into_iter()
            .map(|(want, c)| (want, store.commit(c)))
            .unzip();
        let results = futures_util::future::join_all(pending).await;
        for (want, got) in wants.into_iter().zip(results) {
            match want {
                "ok" => assert!(
                    matches!(got, Ok(CommitOutcome::Applied { .. })),
                    "round {round}: {got:?}"
                ),
                "duplicate" => assert_eq!(got.unwrap_err().code(), "duplicate", "round {round}"),
                _ => assert_eq!(got.unwrap_err().code(), "conflict", "round {round}"),
            }
        }
        for case in &made {
            let stored = store.case(case.id).await.unwrap().unwrap();
            assert_eq!(stored.value.indicators, case.indicators);
        }
        assert_eq!(
            store.case(made[3].id).await.unwrap().unwrap().version,
            2,
            "round {round}"
        );
        let after = store.audit(0, 100_000, None).await.unwrap().len();
        assert_eq!(after - before, expected_entries, "round {round}");
        assert_eq!(
            store
                .open_case_matching(&made[9].indicators.iter().cloned().collect::<Vec<_>>())
                .await
                .unwrap(),
            Some(made[9].id)
        );
    }
    assert!(store.audit(0, 100_000, None).await.unwrap().len() > audit_before);
    assert!(store.verify_audit().await.unwrap().intact);
    assert_eq!(
        store.case(old_case).await.unwrap().unwrap().version,
        old.version
    );
}
