//! Tokens and passwords found by their hashes only.

use crate::common::*;
use time::Duration;
use uuid::Uuid;
use warden_core::lifecycle::*;
use warden_core::org::*;
use warden_store::*;

conformance!(credentials_are_found_by_hash_only,);

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
