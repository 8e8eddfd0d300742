//! The blocklist change sequence and the allow-list entries.

use crate::common::*;
use uuid::Uuid;
use warden_core::lifecycle::*;
use warden_core::org::*;
use warden_store::*;

conformance!(blocklist_change_sequence, allowlist_entries_are_kept,);

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
