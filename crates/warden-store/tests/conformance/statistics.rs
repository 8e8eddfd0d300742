//! Timeliness aggregated in the database equals the core's figures from the bodies.

use crate::common::*;
use time::Duration;
use warden_core::lifecycle::*;
use warden_core::org::*;
use warden_core::stats::{Durations, Group, GroupBy};
use warden_store::*;

conformance!(timeliness_in_sql_is_the_cores,);

/// Figures to the millisecond (the timing rows keep milliseconds).
fn rounded(groups: &[Group]) -> Vec<Group> {
    let ms = |d: Durations| Durations {
        median_s: d.median_s.map(|s| (s * 1000.0).round() / 1000.0),
        p90_s: d.p90_s.map(|s| (s * 1000.0).round() / 1000.0),
        ..d
    };
    groups
        .iter()
        .map(|g| Group {
            time_to_determine: ms(g.time_to_determine),
            time_to_decide: ms(g.time_to_decide),
            time_to_acknowledge: ms(g.time_to_acknowledge),
            time_to_report_back: ms(g.time_to_report_back),
            time_to_verify: ms(g.time_to_verify),
            ..g.clone()
        })
        .collect()
}

async fn timeliness_in_sql_is_the_cores(f: Fixture) {
    let store = f.store.as_ref();
    let w = seed(store).await;
    let analyst = w.actor("cncert", "ann", &[Role::Analyst]);
    let reviewer = w.actor("ca-guangdong", "rob", &[Role::Reviewer]);
    let responder = w.actor("china-telecom", "ron", &[Role::Responder]);
    let verifier = w.actor("cncert", "vic", &[Role::Verifier]);
    // Thirteen cases whose steps take different times, stopping at different steps; one
    // measure is overdue.
    let mut case_ids = vec![];
    for i in 0..13i64 {
        let opened = T0 + Duration::minutes(7 * i) + Duration::milliseconds(i * 37);
        let value = format!("c2-{i}.evil.cn");
        let (_, case_id) = submit(store, &w, &value, opened).await;
        case_ids.push(case_id);
        if i % 5 == 4 {
            continue;
        }
        let t = opened + Duration::seconds(90 * (i * i % 11) + 1);
        case_step(store, &w, case_id, &analyst, determine(), t).await;
        if i % 6 == 5 {
            continue;
        }
        let t = t + Duration::seconds(600 + 77 * i);
        let out = case_step(store, &w, case_id, &reviewer, decide(&w, &value), t).await;
        let mid = out.measures[0].id;
        let delivery = Actor::system("delivery");
        measure_step(store, mid, &delivery, MeasureCommand::Deliver, t).await;
        if i == 7 {
            let late = t + Duration::days(30);
            measure_step(
                store,
                mid,
                &Actor::system("deadlines"),
                MeasureCommand::MarkOverdue,
                late,
            )
            .await;
            continue;
        }
        let t = t + Duration::seconds(30 * (13 - i)) + Duration::microseconds(499_700);
        measure_step(store, mid, &responder, MeasureCommand::Acknowledge, t).await;
        if i % 4 == 3 {
            continue;
        }
        let t = t + Duration::hours(i + 1);
        let fb = MeasureCommand::FileFeedback {
            outcome: FeedbackOutcome::Done,
            actions_taken: "RPZ entry added".into(),
            completed_at: None,
        };
        measure_step(store, mid, &responder, fb, t).await;
        let verify = MeasureCommand::Verify {
            result: VerificationResult::Passed,
            method: VerificationMethod::Dns,
            notes: "NXDOMAIN".into(),
        };
        measure_step(store, mid, &verifier, verify, t + Duration::minutes(3 * i)).await;
    }
    let mut cases = vec![];
    let mut measures = vec![];
    for id in &case_ids {
        cases.push(store.case(*id).await.unwrap().unwrap().value);
        for m in store.measures_of_case(*id).await.unwrap() {
            measures.push(m.value);
        }
    }
    // The notice list narrowed to one case (the case page's notices).
    for id in &case_ids {
        let f = MeasureFilter {
            case_id: Some(*id),
            ..MeasureFilter::default()
        };
        let listed = store.measures(&f, 10, None).await.unwrap();
        let of_case = store.measures_of_case(*id).await.unwrap();
        assert_eq!(
            listed.items.iter().map(|m| m.value.id).collect::<Vec<_>>(),
            of_case.iter().map(|m| m.value.id).collect::<Vec<_>>()
        );
    }
    assert!(measures.iter().any(|m| m.overdue));
    assert!(measures.iter().any(|m| !m.verifications.is_empty()));
    for by in [GroupBy::Province, GroupBy::Org, GroupBy::Category] {
        let want = warden_core::stats::timeliness(&cases, &measures, by);
        let got = store.timeliness(&TimingScope::default(), by).await.unwrap();
        assert_eq!(rounded(&got), rounded(&want), "{by:?}");
    }
    // A period: the cases opened from the fourth to the ninth, and their notices.
    let scope = TimingScope {
        opened_from: Some(cases[3].opened_at),
        opened_to: Some(cases[9].opened_at),
        ..TimingScope::default()
    };
    let some: Vec<Case> = cases[3..9].to_vec();
    let theirs: Vec<Measure> = measures
        .iter()
        .filter(|m| some.iter().any(|c| c.id == m.case_id))
        .cloned()
        .collect();
    let got = store.timeliness(&scope, GroupBy::Category).await.unwrap();
    let want = warden_core::stats::timeliness(&some, &theirs, GroupBy::Category);
    assert_eq!(rounded(&got), rounded(&want));
    assert_eq!(got[0].cases, 6);

    // The dashboard's figures.
    let opened = store.cases_opened(&TimingScope::default()).await.unwrap();
    assert_eq!(opened.iter().map(|r| r.2).sum::<u64>(), 13);
    let day = (T0 + Duration::hours(8)).date()
        - time::Date::from_calendar_date(1970, time::Month::January, 1).unwrap();
    assert!(opened.iter().all(|r| r.0 == day.whole_days()), "{opened:?}");
    let n = store.notice_figures(&TimingScope::default()).await.unwrap();
    assert_eq!(n.notices, measures.len() as u64);
    let (handling, open) = warden_core::stats::handling_histogram(measures.iter().map(|m| {
        m.feedback
            .first()
            .map(|f| (f.filed_at - m.decided_at).whole_seconds())
    }));
    assert_eq!((n.handling, n.awaiting_report), (handling, open));
    assert_eq!(n.overdue_by_org, vec![("china-telecom".to_owned(), 1)]);
    let recipient = w.org("china-telecom").id;
    let other = TimingScope {
        measure_recipient: Some(w.org("cncert").id),
        ..TimingScope::default()
    };
    assert_eq!(store.notice_figures(&other).await.unwrap().notices, 0);
    let mut decided: Vec<_> = measures.iter().map(|m| m.decided_at).collect();
    decided.sort();
    let own = TimingScope {
        measure_recipient: Some(recipient),
        decided_from: Some(decided[decided.len() / 2]),
        ..TimingScope::default()
    };
    let later = measures
        .iter()
        .filter(|m| m.decided_at >= decided[decided.len() / 2])
        .count() as u64;
    assert!(later > 0 && later < measures.len() as u64);
    assert_eq!(store.notice_figures(&own).await.unwrap().notices, later);
}
