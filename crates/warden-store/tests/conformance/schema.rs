//! Health, migrations, and the two backends compared and broken.

use crate::common::*;
use uuid::Uuid;
use warden_core::lifecycle::*;
use warden_core::org::*;
use warden_store::*;

conformance!(health_reports_schema,);

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
