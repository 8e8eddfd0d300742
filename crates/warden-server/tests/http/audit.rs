//! The audit trail: for auditors, and tampering detected.

use crate::common::*;
use reqwest::StatusCode;

on_both!(audit_is_for_auditors,);

async fn audit_is_for_auditors(s: Server) {
    decided_block(&s, "audited.example.cn").await;
    let (st, p) = s.get("secco-auditor", "/api/v1/audit").await;
    assert_eq!((st, kind(&p)), (StatusCode::FORBIDDEN, "forbidden-role"));
    let (st, p) = s.get("gd", "/api/v1/audit").await;
    assert_eq!((st, kind(&p)), (StatusCode::FORBIDDEN, "forbidden-role"));
    let (st, page) = s.get("miit-auditor", "/api/v1/audit?limit=5").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(page["items"].as_array().unwrap().len(), 5);
    assert_eq!(page["items"][0]["seq"], 1);
    let after = page["next_after"].as_i64().unwrap();
    let (_, all) = s
        .get(
            "miit-auditor",
            &format!("/api/v1/audit?after={after}&limit=1000"),
        )
        .await;
    let names: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    for n in [
        "token.created",
        "signing_key.created",
        "report.submitted",
        "case.determined",
        "case.decided",
        "measure.issued",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    assert!(all["next_after"].is_null());
    let decided = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "case.decided")
        .unwrap();
    assert_eq!(decided["actor_org"], "ca-guangdong");
    // Each entry names its request and the hash of the object's new state.
    assert!(
        decided["request_id"]
            .as_str()
            .is_some_and(|r| r.len() == 36),
        "{decided}"
    );
    assert_eq!(decided["state_hash"].as_str().map(str::len), Some(64));
    let r = s
        .http
        .post(format!("{}/api/v1/reports", s.base))
        .bearer_auth(&s.tokens["secco"])
        .header("x-request-id", "trace-42")
        .json(&report("traced.example.cn"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "trace-42");
    let (_, tail) = s.get("miit-auditor", "/api/v1/audit?limit=1000").await;
    assert!(
        tail["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["request_id"] == "trace-42" && e["event"] == "case.opened")
    );
    assert!(s.store.verify_audit().await.unwrap().intact);
    // A provincial authority's auditors read their province's part of the trail.
    let store = s.store.clone();
    let token = |org: &'static str| {
        let store = store.clone();
        async move {
            warden_service::admin::create_token(
                store.as_ref(),
                &warden_core::org::Actor::system("test"),
                NOW,
                org,
                [warden_core::org::Role::Auditor].into_iter().collect(),
                None,
                None,
            )
            .await
            .unwrap()
            .token
        }
    };
    let read = |t: String| {
        let http = s.http.clone();
        let url = format!("{}/api/v1/audit?limit=1000", s.base);
        async move {
            let v: serde_json::Value = http
                .get(url)
                .bearer_auth(t)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["event"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let gd = read(token("ca-guangdong").await).await;
    assert!(gd.iter().any(|e| e == "case.decided"), "{gd:?}");
    let bj = read(token("ca-beijing").await).await;
    assert!(
        !bj.iter()
            .any(|e| e == "case.decided" || e == "report.submitted"),
        "{bj:?}"
    );
    let (st, p) = s.get("miit-auditor", "/api/v1/audit?limit=5000").await;
    assert_eq!((st, kind(&p)), (StatusCode::BAD_REQUEST, "invalid-query"));
}

/// A row of the audit trail edited in the database is found over the API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_audit_row_is_detected_over_http() {
    let s = on_sqlite().await;
    decided_block(&s, "tamper.example.cn").await;
    warden_service::jobs::run_due(&s.state.svc, "t")
        .await
        .unwrap();
    let (st, v) = s.get("miit-auditor", "/api/v1/audit/verify").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        (v["intact"].as_bool(), v["checkpoints"].as_i64()),
        (Some(true), Some(1))
    );
    let (st, _) = s.get("secco-auditor", "/api/v1/audit/verify").await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let db = s._dir.as_ref().unwrap().path().join("w.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let seq: i64 = sqlx::query_scalar("SELECT seq FROM audit_log WHERE event = 'case.decided'")
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET data = '{\"reasons\":\"nothing to see\"}' WHERE seq = ?1")
        .bind(seq)
        .execute(&pool)
        .await
        .unwrap();
    let (_, v) = s.get("miit-auditor", "/api/v1/audit/verify").await;
    assert_eq!(v["intact"], false);
    assert_eq!(v["first_broken"], seq);
    assert!(v["problem"].as_str().unwrap().contains("altered"), "{v}");

    // The checkpoint job verifies the trail since the last checkpoint before it signs: an
    // entry edited after checkpoint 1 stops it and raises an alert the auditors see.
    let (_, status) = s.get("miit-auditor", "/api/v1/audit/status").await;
    assert_eq!(
        status["intact"], true,
        "the edit predates the last checkpoint: {status}"
    );
    s.post(
        "secco",
        "/api/v1/reports",
        report("after-checkpoint.example.cn"),
    )
    .await;
    let late: i64 = sqlx::query_scalar("SELECT MAX(seq) FROM audit_log")
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET data = '{}' WHERE seq = ?1")
        .bind(late)
        .execute(&pool)
        .await
        .unwrap();
    let clock = s.clock.clone().unwrap();
    clock.set(NOW + time::Duration::minutes(11));
    let r = warden_service::jobs::run_due(&s.state.svc, "t")
        .await
        .unwrap();
    assert_eq!(r.checkpoints, 0, "nothing signed over a broken trail");
    assert_eq!(s.store.checkpoints().await.unwrap().len(), 1);
    let (st, status) = s.get("miit-auditor", "/api/v1/audit/status").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(status["intact"], false, "{status}");
    assert_eq!(status["alerts"][0]["first_broken"], late, "{status}");
    assert_eq!(status["last_checkpoint"]["number"], 1);
    let (st, _) = s.get("secco-auditor", "/api/v1/audit/status").await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (session, _) = console_sign_in(&s, "miit", warden_core::org::Role::Auditor).await;
    let (_, html) = console_get(&s, &session, "/console/").await;
    assert!(
        html.contains(&format!("#{late}")),
        "the alert is on the auditor's home page"
    );

    // The checkpoints are public, linked and signed by the key published with them.
    let page: serde_json::Value = s.public_json("/api/v1/audit/checkpoints").await;
    let cp = &page["items"][0];
    assert_eq!(
        (cp["number"].as_i64(), cp["prev"].as_str()),
        (Some(1), Some(warden_store::GENESIS_HASH))
    );
    let key =
        warden_service::keys::parse_public_key(page["platform_key"].as_str().unwrap()).unwrap();
    let cp: warden_service::proto::CheckpointDoc = serde_json::from_value(cp.clone()).unwrap();
    assert!(warden_service::keys::checkpoint_signed_by(&cp.into(), &key));
    let atom = s.public_text("/api/v1/audit/checkpoints.atom").await;
    assert!(atom.contains("<title>Checkpoint 1: entry "), "{atom}");
}
