//! Feed rows merged as sightings, batch by batch.

use crate::common::*;
use uuid::Uuid;
use warden_store::*;

conformance!(feeds_merge_repeats_as_sightings,);

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
