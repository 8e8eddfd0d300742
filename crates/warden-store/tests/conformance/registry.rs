//! Resource claims.

use crate::common::*;
use uuid::Uuid;
use warden_core::org::*;
use warden_store::*;

conformance!(resource_claims_are_kept,);

async fn resource_claims_are_kept(f: Fixture) {
    use warden_core::resources::{ClaimStatus, ResourceClaim, ResourceKind};
    let store = f.store.as_ref();
    let w = seed(store).await;
    let admin = w.actor("china-telecom", "ada", &[Role::Admin]);
    let reviewer = w.actor("ca-guangdong", "rob", &[Role::Reviewer]);
    assert_eq!(
        store.resource_claims_stamp().await.unwrap(),
        0,
        "no claim yet"
    );
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
    let declared = store.resource_claims_stamp().await.unwrap();
    assert!(declared > 0);
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
    assert!(
        store.resource_claims_stamp().await.unwrap() > declared,
        "a decision changes the stamp"
    );
    let all = store.resource_claims().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].value.status, ClaimStatus::Approved);
    assert_eq!(all[0].version, 2);
    assert_eq!(
        store.resource_claim(claim.id).await.unwrap().unwrap().value,
        approved
    );
}
