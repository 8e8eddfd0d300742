//! Job leases: one holder at a time.

use crate::common::*;
use time::Duration;

conformance!(jobs_run_under_one_lease,);

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
