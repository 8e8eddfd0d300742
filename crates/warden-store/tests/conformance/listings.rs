//! Filtered, paged listings and the queues the jobs work from.

use crate::common::*;
use time::Duration;
use warden_core::lifecycle::*;
use warden_core::org::*;
use warden_store::*;

conformance!(lists_filter_and_paginate, deadline_and_expiry_queues,);

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
