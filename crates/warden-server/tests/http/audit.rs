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
}
