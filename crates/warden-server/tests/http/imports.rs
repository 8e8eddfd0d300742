//! Bulk feeds uploaded over HTTP, and resumed by another server.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both!(feeds_upload_over_http_and_resume,);

async fn feeds_upload_over_http_and_resume(s: Server) {
    // A feed of more than one stored chunk: 40,000 lines, one in ten a repeat, two bad ones.
    let mut feed = String::new();
    for i in 0..40_000u32 {
        let n = if i % 10 == 9 { i - 1 } else { i };
        feed.push_str(&format!(
            "{{\"type\": \"domain\", \"value\": \"Feed-{n}.Example.CN\"}}\n"
        ));
    }
    feed.push_str("{not json\n");
    feed.push_str("{\"type\": \"ipv4\", \"value\": \"300.1.2.3\"}\n");
    // A line far over the limit is a reject, never held in memory.
    feed.push_str(&"x".repeat(200_000));
    feed.push('\n');
    assert!(feed.len() > 1 << 20);
    let upload = |who: &'static str, query: &'static str, ctype: &'static str, body: String| {
        let req = s
            .http
            .post(format!("{}/api/v1/imports{query}", s.base))
            .bearer_auth(&s.tokens[who])
            .header("content-type", ctype)
            .body(body);
        async move { req.send().await.unwrap() }
    };
    let r = upload(
        "secco",
        "?source=daily.ndjson",
        "application/x-ndjson",
        feed,
    )
    .await;
    assert_eq!(r.status(), 202);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let job: Value = r.json().await.unwrap();
    let id = job["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/api/v1/imports/{id}"));
    assert!(
        ["queued", "running", "complete"].contains(&job["status"].as_str().unwrap()),
        "{job}"
    );
    assert_eq!(job["source"], "daily.ndjson");
    let job = finished_import(&s, "secco", &id).await;
    assert_eq!(job["status"], "complete", "{job}");
    assert_eq!(
        (
            &job["lines"],
            &job["accepted"],
            &job["new_indicators"],
            &job["merged"],
            &job["rejected"]
        ),
        (
            &json!(40_003),
            &json!(40_000),
            &json!(36_000),
            &json!(4_000),
            &json!(3)
        ),
        "{job}"
    );
    let (st, rejects) = s
        .get("secco", &format!("/api/v1/imports/{id}/rejects"))
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(rejects["total"], 3);
    assert_eq!(rejects["items"][0]["place"], "line 40001");
    assert_eq!(rejects["items"][1]["place"], "line 40002");
    assert!(
        rejects["items"][2]["reason"]
            .as_str()
            .unwrap()
            .contains("at most 65536 bytes"),
        "{rejects}"
    );
    assert!(
        rejects["items"][1]["reason"]
            .as_str()
            .unwrap()
            .contains("300.1.2.3"),
        "{rejects}"
    );
    let (_, page) = s
        .get(
            "secco",
            &format!("/api/v1/imports/{id}/rejects?after=1&limit=5"),
        )
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    // The upload was dropped once read.
    let uuid: uuid::Uuid = id.parse().unwrap();
    assert_eq!(s.store.import_chunk(uuid, 0).await.unwrap(), None);
    let f = s
        .store
        .feed_indicator("domain", "feed-8.example.cn")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(f.sightings, 2);

    // Another feed of the same organisation, one value per line: known values are sightings.
    let r = upload(
        "netco",
        "?format=plain",
        "application/octet-stream",
        "feed-8.example.cn\n  FEED-1.example.cn \n# comment\n".into(),
    )
    .await;
    assert_eq!(r.status(), 202);
    let second: Value = r.json().await.unwrap();
    let second = finished_import(&s, "netco", second["id"].as_str().unwrap()).await;
    assert_eq!(
        (&second["accepted"], &second["merged"]),
        (&json!(2), &json!(2))
    );
    assert_eq!(
        s.store
            .feed_indicator("domain", "feed-8.example.cn")
            .await
            .unwrap()
            .unwrap()
            .sightings,
        3
    );

    // Who may send and see: reporters send; their organisation (and the ministry) sees.
    let (st, p) = s
        .call(
            Some("telecom"),
            reqwest::Method::POST,
            "/api/v1/imports?format=plain",
            None,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{p}");
    let (st, _) = s.get("netco", &format!("/api/v1/imports/{id}")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s.get("miit", &format!("/api/v1/imports/{id}")).await;
    assert_eq!(st, StatusCode::OK);
    let (_, mine) = s.get("secco", "/api/v1/imports").await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["items"][0]["id"], json!(id));

    // Bad requests are refused before anything is stored.
    let r = upload("secco", "", "application/json", "{}".into()).await;
    assert_eq!(r.status(), 415);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let r = upload("secco", "?format=xml", "text/plain", "x".into()).await;
    assert_eq!(r.status(), 400);
    let p: Value = r.json().await.unwrap();
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("ndjson, csv or plain"),
        "{p}"
    );
    let r = upload("secco", "?format=stix", "text/plain", "x".into()).await;
    assert!(r.text().await.unwrap().contains("inbound"));
    let (_, mine) = s.get("secco", "/api/v1/imports").await;
    assert_eq!(
        mine["items"].as_array().unwrap().len(),
        1,
        "nothing new stored"
    );

    // A server that stopped mid-import left it running: it resumes after the last line it
    // committed, so nothing is counted twice.
    let org = s
        .store
        .organisation_by_slug("secco-alpha")
        .await
        .unwrap()
        .unwrap()
        .value
        .id;
    let mut rec = warden_store::ImportRecord::start(org, "csv", "resumed.csv", NOW);
    rec.status = "queued".into();
    s.store.put_import(&rec).await.unwrap();
    let csv = "type,value\nipv4,203.0.113.9\nipv4,203.0.113.10\nipv4,203.0.113.9\nipv4,x\n";
    let (a, b) = csv.as_bytes().split_at(30);
    s.store
        .add_import_chunk(rec.id, 0, a.to_vec())
        .await
        .unwrap();
    s.store
        .add_import_chunk(rec.id, 1, b.to_vec())
        .await
        .unwrap();
    // The first run committed the header and the first value, then stopped.
    rec.status = "running".into();
    rec.lines = 2;
    rec.accepted = 1;
    let row = warden_store::FeedRows::new([("ipv4", "203.0.113.9", 1)]).unwrap();
    assert_eq!(s.store.add_feed_rows(&rec, NOW, row, &[]).await.unwrap(), 1);
    warden_service::imports::start_pending(s.state.svc.clone(), "another-server".into());
    let done = finished_import(&s, "secco", &rec.id.to_string()).await;
    assert_eq!(
        (
            &done["status"],
            &done["lines"],
            &done["accepted"],
            &done["new_indicators"],
            &done["rejected"]
        ),
        (
            &json!("complete"),
            &json!(5),
            &json!(3),
            &json!(2),
            &json!(1)
        ),
        "{done}"
    );
    let (_, rj) = s
        .get("secco", &format!("/api/v1/imports/{}/rejects", rec.id))
        .await;
    assert_eq!(rj["items"][0]["place"], "line 5");
    assert_eq!(
        s.store
            .feed_indicator("ipv4", "203.0.113.9")
            .await
            .unwrap()
            .unwrap()
            .sightings,
        2
    );
}

/// Imports are bounded: an upload over the configured size is refused before it is read,
/// an organisation with as many unfinished imports as it may have waits, and an import that
/// stops its servers twice without progress is failed instead of resumed forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_are_bounded() {
    use warden_service::imports::ImportLimits;
    let s = on_sqlite().await;
    let keydir = tempfile::tempdir().unwrap();
    let ring = warden_service::keys::KeyRing::new(
        warden_service::keys::MasterKey::load_or_create(&keydir.path().join("k")).unwrap(),
    );
    let svc = warden_service::Service::builder(
        s.store.clone(),
        warden_core::calendar::Calendar::builtin().unwrap(),
        warden_core::policy::Policy::builtin().unwrap(),
        ring,
    )
    .clock(s.clock.clone().unwrap())
    .import_limits(ImportLimits {
        max_upload: 1000,
        active_per_org: 1,
        running: 1,
    })
    .build();
    let state = warden_server::AppState::new(std::sync::Arc::new(svc));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(warden_server::serve(
        listener,
        state.clone(),
        std::future::pending(),
    ));
    let upload = |body: String| {
        s.http
            .post(format!("{base}/api/v1/imports"))
            .bearer_auth(&s.tokens["secco"])
            .header("content-type", "text/plain")
            .body(body)
            .send()
    };
    let r = upload("x.example.cn\n".repeat(100)).await.unwrap();
    assert_eq!(r.status(), 413);
    let p: Value = r.json().await.unwrap();
    assert_eq!(kind(&p), "batch-too-large");
    assert!(p["detail"].as_str().unwrap().contains("1000 bytes"), "{p}");
    // One import of the organisation is unfinished: the next waits.
    let org = s
        .store
        .organisation_by_slug("secco-alpha")
        .await
        .unwrap()
        .unwrap();
    let mut stuck = warden_store::ImportRecord::start(org.value.id, "plain", "http", NOW);
    stuck.status = "running".into();
    stuck.detail = Some("attempt 2 from line 0".into());
    s.store.put_import(&stuck).await.unwrap();
    s.store
        .add_import_chunk(stuck.id, 0, b"a.example.cn\n".to_vec())
        .await
        .unwrap();
    let r = upload("y.example.cn\n".into()).await.unwrap();
    assert_eq!(r.status(), 429);
    let p: Value = r.json().await.unwrap();
    assert_eq!(kind(&p), "imports-busy");
    // It was left running twice by servers that stopped without a line of progress: the next
    // server to take it up fails it, and the organisation may send feeds again.
    warden_service::imports::start_pending(state.svc.clone(), "t".into());
    let mut rec = None;
    for _ in 0..100 {
        let r = s.store.import(stuck.id).await.unwrap().unwrap();
        if r.status == "failed" {
            rec = Some(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let rec = rec.expect("the stalled import was not failed");
    assert!(
        rec.detail
            .as_deref()
            .unwrap()
            .contains("stopped 2 times at line 0"),
        "{rec:?}"
    );
    let r = upload("y.example.cn\n".into()).await.unwrap();
    assert_eq!(r.status(), 202);
}
