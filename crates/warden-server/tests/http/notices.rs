//! Signed notices and their follow-up (Art. 8, 9), overdue notices and enforcement (Art. 12).

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both!(
    notices_are_signed_and_followed_up,
    overdue_notices_raise_enforcement,
    failed_verifications_and_repetition_raise_records,
);

/// Art. 12: a verification that finds the measure not carried out raises a record, and the
/// third failure within the policy's period raises one for the repetition itself.
async fn failed_verifications_and_repetition_raise_records(s: Server) {
    let mut records = vec![];
    for (i, domain) in [
        "r1.example.cn",
        "r2.example.cn",
        "r3.example.cn",
        "r4.example.cn",
    ]
    .iter()
    .enumerate()
    {
        let nid =
            &awaiting_verification(&s, domain, json!({"type": "domain", "value": domain})).await;
        let (st, p) = s
            .post(
                "cncert-verifier",
                &format!("/api/v1/notices/{nid}/verification"),
                json!({"result": "failed", "method": "manual", "notes": "Still resolves"}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{p}");
        let (_, list) = s.get("gd", "/api/v1/enforcements?org=china-telecom").await;
        records = list["items"].as_array().unwrap().clone();
        let reasons: Vec<&str> = records
            .iter()
            .map(|r| r["reason"].as_str().unwrap())
            .collect();
        let failed = reasons
            .iter()
            .filter(|r| **r == "verification_failed")
            .count();
        let repeated = reasons
            .iter()
            .filter(|r| **r == "repeated_failures")
            .count();
        assert_eq!(failed, i + 1, "{reasons:?}");
        // The third failure in 180 days is a repetition; a fourth does not repeat it.
        assert_eq!(repeated, usize::from(i >= 2), "{reasons:?}");
    }
    let rep = records
        .iter()
        .find(|r| r["reason"] == "repeated_failures")
        .unwrap();
    assert_eq!(rep["repeated"]["failures"], 3, "{rep}");
    assert_eq!(rep["repeated"]["within_days"], 180);
    assert!(s.store.verify_audit().await.unwrap().intact);
}

async fn notices_are_signed_and_followed_up(s: Server) {
    let m = decided_block(&s, "notice.example.cn").await;
    let nid = m["notice_id"].as_str().unwrap();
    let path = format!("/api/v1/notices/{nid}");
    // Others cannot see it; the recipient's first fetch is the delivery.
    let (st, _) = s.get("mobile", &path).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, n) = s.get("telecom", &path).await;
    assert_eq!(st, StatusCode::OK, "{n}");
    assert_eq!(n["status"], "delivered");
    assert_eq!(n["recipient_org"], "china-telecom");
    assert_eq!(n["body"]["issuer"]["slug"], "ca-guangdong");
    assert_eq!(n["body"]["appeal"]["until"], "2026-10-16");
    assert!(n["body"]["appeal"].get("provisional").is_none());
    // The notice says what the threat is and what to do, inside the signed body, and not
    // who reported it.
    let threat = &n["body"]["threat"];
    assert_eq!(threat["category"], "malicious_resource", "{n}");
    assert_eq!(threat["subtype"], "phishing_site");
    assert_eq!(threat["title"], "Phishing site imitating a bank");
    assert_eq!(threat["severity"], "high");
    assert_eq!(threat["summary"], "Confirmed");
    let shown = threat["indicators"].to_string();
    assert!(shown.contains("http://notice.example.cn/login"), "{shown}");
    assert!(
        n["body"]["asked"].as_str().unwrap().contains("block"),
        "{n}"
    );
    assert!(
        n["body"]["report_back"]
            .as_str()
            .unwrap()
            .contains(&format!("/api/v1/notices/{nid}/feedback"))
    );
    assert!(
        !n.to_string().contains("secco"),
        "no reporter's identity: {n}"
    );
    assert_eq!(n["signature"]["alg"], "Ed25519");
    // Anyone can check the signature with the published keys.
    let keys = s.keys().await;
    assert_eq!(
        keys.keys.len(),
        33,
        "MIIT, the 31 provincial authorities and the platform"
    );
    let signed: warden_core::notice::SignedNotice = serde_json::from_value(n.clone()).unwrap();
    assert_eq!(warden_core::notice::verify(&signed, &keys), Ok(()));
    let mut forged = signed.clone();
    forged.body.deadline = "2026-10-28T16:00:00+08:00".into();
    assert!(warden_core::notice::verify(&forged, &keys).is_err());

    // The printable form carries the reference, the fingerprint and how to verify.
    let html = s.text_as("telecom", &format!("{path}/print")).await;
    assert!(html.contains(signed.body.reference.as_str()));
    assert!(html.contains(&warden_core::notice::fingerprint(&signed.body.canonical())));
    assert!(html.contains("warden notice verify"));
    assert!(html.contains("notice.example.cn"));

    // Listing: the recipient sees it, another operator does not.
    let (_, list) = s.get("telecom", "/api/v1/notices").await;
    assert_eq!(list["items"][0]["id"], nid);
    assert!(
        list["items"][0]["reference"]
            .as_str()
            .unwrap()
            .starts_with("WD-20260928-")
    );
    let (_, list) = s.get("mobile", "/api/v1/notices").await;
    assert!(list["items"].as_array().unwrap().is_empty());
    let (_, list) = s.get("cncert", "/api/v1/notices?status=delivered").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (_, list) = s.get("miit", "/api/v1/notices?category=malicious_resource&from=2026-09-28T00:00:00%2B08:00&to=2026-09-29T00:00:00%2B08:00").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (_, list) = s.get("miit", "/api/v1/notices?category=incident").await;
    assert!(list["items"].as_array().unwrap().is_empty());
    let (_, list) = s
        .get("miit", "/api/v1/notices?from=2026-09-29T00:00:00%2B08:00")
        .await;
    assert!(list["items"].as_array().unwrap().is_empty());

    // Feedback needs an acknowledgement; only the recipient gives either.
    let fb = json!({"outcome": "done", "actions_taken": "RPZ entry deployed on all resolvers"});
    let (st, p) = s
        .post("telecom", &format!("{path}/feedback"), fb.clone())
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::CONFLICT, "invalid-state"));
    let (st, p) = s.post("mobile", &format!("{path}/ack"), json!({})).await;
    assert_eq!((st, kind(&p)), (StatusCode::NOT_FOUND, "not-found"));
    let (st, a) = s.post("telecom", &format!("{path}/ack"), json!({})).await;
    assert_eq!(
        (st, a["status"].as_str()),
        (StatusCode::OK, Some("acknowledged"))
    );
    let (st, f) = s
        .post("telecom", &format!("{path}/feedback"), fb.clone())
        .await;
    assert_eq!(
        (st, f["status"].as_str()),
        (StatusCode::OK, Some("feedback_filed"))
    );
    // Verification belongs to the determining institution's verifiers.
    let failed = json!({"result": "failed", "method": "manual", "notes": "still resolves"});
    let (st, p) = s
        .post("cncert", &format!("{path}/verification"), failed.clone())
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::FORBIDDEN, "forbidden-role"));
    let (st, v) = s
        .post("cncert-verifier", &format!("{path}/verification"), failed)
        .await;
    assert_eq!(
        (st, v["status"].as_str()),
        (StatusCode::OK, Some("reopened"))
    );
    let (_, f) = s.post("telecom", &format!("{path}/feedback"), fb).await;
    assert_eq!(f["status"], "feedback_filed");
    let passed = json!({"result": "passed", "method": "dns", "notes": "NXDOMAIN"});
    let (_, v) = s
        .post("cncert-verifier", &format!("{path}/verification"), passed)
        .await;
    assert_eq!(v["status"], "verified");
    let (st, p) = s
        .post(
            "telecom",
            &format!("{path}/verification"),
            json!({"result": "passed", "method": "tcp", "extra": 1}),
        )
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::BAD_REQUEST, "invalid-body"));
    assert!(s.store.verify_audit().await.unwrap().intact);
}

async fn overdue_notices_raise_enforcement(s: Server) {
    use warden_service::jobs;
    let m = decided_block(&s, "late-operator.example.cn").await;
    let clock = s.clock.clone().unwrap();
    let svc = s.state.svc.clone();
    let r = jobs::run_due(&svc, "a").await.unwrap();
    assert_eq!((r.ran, r.overdue, r.checkpoints), (4, 0, 1));
    // The checkpoint is signed by the platform key published with the others.
    let cps = s.store.checkpoints().await.unwrap();
    let keys = s.keys().await;
    let platform = keys.keys.iter().find(|k| k.org == "platform").unwrap();
    assert_eq!(cps[0].key_id, platform.key_id);
    assert_eq!(s.store.verify_audit().await.unwrap().checkpoints, 1);
    let r = jobs::run_due(&svc, "b").await.unwrap();
    assert_eq!(r.ran, 0, "not due again yet");
    // A quarter of the six hours left: the recipient is reminded, once.
    clock.set(NOW + time::Duration::hours(5));
    let r = jobs::run_due(&svc, "b").await.unwrap();
    assert_eq!((r.reminded, r.overdue), (1, 0));
    clock.set(NOW + time::Duration::hours(5) + time::Duration::minutes(1));
    assert_eq!(jobs::run_due(&svc, "a").await.unwrap().reminded, 0);
    // Six hours for a high-severity block in Guangdong; seven hours later it is overdue.
    clock.set(NOW + time::Duration::hours(7));
    let r = jobs::run_due(&svc, "b").await.unwrap();
    assert_eq!(
        (r.ran, r.overdue, r.checkpoints),
        (4, 1, 1),
        "seven hours on, every job is due"
    );
    clock.set(NOW + time::Duration::hours(8));
    assert_eq!(
        jobs::run_due(&svc, "a").await.unwrap().overdue,
        0,
        "once only"
    );
    let (_, n) = s
        .get(
            "telecom",
            &format!("/api/v1/notices/{}", m["notice_id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(n["overdue"], true);

    let count = |v: &Value| v["items"].as_array().unwrap().len();
    let (_, gd) = s.get("gd", "/api/v1/enforcements").await;
    assert_eq!(count(&gd), 1);
    assert_eq!(gd["items"][0]["org"]["slug"], "china-telecom");
    let (_, own) = s.get("telecom", "/api/v1/enforcements").await;
    assert_eq!(count(&own), 1);
    let (_, other) = s.get("mobile", "/api/v1/enforcements").await;
    assert_eq!(count(&other), 0);
    let (_, bj) = s.get("bj", "/api/v1/enforcements").await;
    assert_eq!(count(&bj), 0);
    let (st, p) = s
        .get("mobile", "/api/v1/enforcements?org=china-telecom")
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::FORBIDDEN, "forbidden-organisation")
    );

    let eid = gd["items"][0]["id"].as_str().unwrap().to_owned();
    let act = |kind: &str, amount: Option<u64>| json!({"kind": kind, "basis": "csl-56", "amount_yuan": amount, "notes": "Summoned the head of security"});
    let (st, p) = s
        .post(
            "telecom",
            &format!("/api/v1/enforcements/{eid}/actions"),
            act("talk", None),
        )
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::FORBIDDEN, "forbidden-role"));
    let (st, p) = s
        .post(
            "gd",
            &format!("/api/v1/enforcements/{eid}/actions"),
            act("fine", None),
        )
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-command")
    );
    let (st, _) = s
        .post(
            "gd",
            &format!("/api/v1/enforcements/{eid}/actions"),
            act("talk", None),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let mut fine = act("fine", Some(50_000));
    fine["basis"] = json!("csl-59");
    let (st, e) = s
        .post("gd", &format!("/api/v1/enforcements/{eid}/actions"), fine)
        .await;
    assert_eq!(st, StatusCode::OK, "{e}");
    assert_eq!(e["actions"].as_array().unwrap().len(), 2);
    // Cited as the measures cite it (Art. 59 of 2017), kept as the article in force (61).
    assert_eq!(e["actions"][1]["basis"], "csl-61");
    assert_eq!(e["actions"][1]["law_version"], "csl-2026.1");
    // A fine outside what the cited article allows is refused, naming the ranges; so is a
    // kind the article does not provide for, and an article not in the table.
    let path = format!("/api/v1/enforcements/{eid}/actions");
    for (kind_, basis, amount, why) in [
        ("fine", "csl-62", Some(1_000_000u64), "outside"),
        ("fine", "csl-61", Some(5_000), "outside"),
        ("talk", "csl-61", None, "does not provide"),
        ("fine", "csl-99", Some(50_000), "not in the penalty table"),
    ] {
        let mut a = act(kind_, amount);
        a["basis"] = json!(basis);
        let (st, p) = s.post("gd", &path, a).await;
        assert_eq!(
            (st, kind(&p)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid-command"),
            "{basis} {amount:?}: {p}"
        );
        assert!(p["detail"].as_str().unwrap().contains(why), "{p}");
    }
    // The person directly responsible is named, with a fine in the persons' range.
    let mut named = act("fine", Some(100_000));
    named["basis"] = json!("csl-62");
    named["responsible_person"] =
        json!({"name": "王五", "position": "安全部总经理", "amount_yuan": 500_000});
    let (st, p) = s.post("gd", &path, named.clone()).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert!(
        p["detail"].as_str().unwrap().contains("responsible person"),
        "{p}"
    );
    named["responsible_person"]["amount_yuan"] = json!(20_000);
    let (st, e) = s.post("gd", &path, named).await;
    assert_eq!(st, StatusCode::OK, "{e}");
    assert_eq!(e["actions"][2]["responsible_person"]["name"], "王五");
    let (st, table) = s.get("telecom", "/api/v1/penalties").await;
    assert_eq!(st, StatusCode::OK, "{table}");
    assert!(
        table["text"].as_str().unwrap().contains("2025年10月28日"),
        "{table}"
    );
    let (st, c) = s.get("gd", "/api/v1/compliance?org=china-telecom").await;
    assert_eq!(st, StatusCode::OK, "{c}");
    assert_eq!(
        (
            c["notices"].as_u64(),
            c["overdue"].as_u64(),
            c["enforcement_records"].as_u64(),
            c["talks"].as_u64(),
            c["fines_total_yuan"].as_u64()
        ),
        (Some(1), Some(1), Some(1), Some(1), Some(150_000))
    );
    let (st, own) = s.get("telecom", "/api/v1/compliance").await;
    assert_eq!(
        (st, own["org"].as_str()),
        (StatusCode::OK, Some("china-telecom"))
    );
    assert!(s.store.verify_audit().await.unwrap().intact);
}
