//! Reports, correlation, determination and decision (Art. 6, 7, 8), the emergency path and
//! Art. 8(3) notifications.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both!(
    reports_are_validated_and_correlated,
    determination_and_decision_respect_the_rules,
    lists_are_scoped_to_the_caller,
    emergencies_phone_first_and_write_after,
    party_government_victims_bring_art_8_3_notifications,
);

async fn reports_are_validated_and_correlated(s: Server) {
    // The wrong role.
    let (st, p) = s
        .post("cncert", "/api/v1/reports", report("evil-bank.example.cn"))
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::FORBIDDEN, "forbidden-role"));
    // A bad indicator names its place; nothing is stored.
    let mut bad = report("evil-bank.example.cn");
    bad["indicators"][1]["value"] = json!("http://evil-bank.example.cn:99999/");
    let (st, p) = s.post("secco", "/api/v1/reports", bad).await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-indicator")
    );
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .starts_with("indicators[1]: invalid url"),
        "{p}"
    );
    // Unknown fields, wrong subtypes, bad provinces, malformed JSON.
    let mut extra = report("evil-bank.example.cn");
    extra["severity"] = json!("high");
    let (st, p) = s.post("secco", "/api/v1/reports", extra).await;
    assert_eq!((st, kind(&p)), (StatusCode::BAD_REQUEST, "invalid-body"));
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("unknown field `severity`"),
        "{p}"
    );
    let mut wrong = report("evil-bank.example.cn");
    wrong["subtype"] = json!("trojan");
    let (st, p) = s.post("secco", "/api/v1/reports", wrong).await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-classification")
    );
    let mut wrong = report("evil-bank.example.cn");
    wrong["province"] = json!("99");
    let (st, p) = s.post("secco", "/api/v1/reports", wrong).await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-province")
    );
    let raw = |content_type: Option<&'static str>, body: &'static str| {
        let mut r = s
            .http
            .post(format!("{}/api/v1/reports", s.base))
            .bearer_auth(&s.tokens["secco"])
            .body(body);
        if let Some(c) = content_type {
            r = r.header("content-type", c);
        }
        r.send()
    };
    let r = raw(Some("application/json"), "{not json").await.unwrap();
    assert_eq!(r.status(), 400);
    // A write not declared as JSON is not taken as JSON (a cross-site form could send it).
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let body = serde_json::to_string(&report("form-post.example.cn")).unwrap();
        let r = s
            .http
            .post(format!("{}/api/v1/reports", s.base))
            .bearer_auth(&s.tokens["secco"])
            .header("content-type", ct.unwrap_or(""))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 415, "{ct:?}");
        let p: Value = r.json().await.unwrap();
        assert_eq!(kind(&p), "unsupported-media-type");
    }
    // NUL reaches neither database: a 4xx like any bad input, on PostgreSQL too.
    let mut nul = report("nul.example.cn");
    nul["title"] = json!("a\u{0}b");
    let (st, p) = s.post("secco", "/api/v1/reports", nul).await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::BAD_REQUEST, "invalid-body"),
        "{p}"
    );
    for q in ["org=%00", "assigned_to=a%00b"] {
        let (st, p) = s.get("miit", &format!("/api/v1/cases?{q}")).await;
        assert_eq!(
            (st, kind(&p)),
            (StatusCode::BAD_REQUEST, "invalid-query"),
            "{q}: {p}"
        );
    }
    let r = s
        .http
        .get(format!("{}/api/v1/cases", s.base))
        .basic_auth("a\u{0}b", Some("correct horse"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let (_, list) = s.get("miit", "/api/v1/cases").await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        0,
        "refused requests change nothing"
    );

    // A report opens a case assigned by policy; the same threat spelled otherwise joins it.
    let (st, first) = s
        .post("secco", "/api/v1/reports", report("evil-bank.example.cn"))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{first}");
    assert_eq!(first["status"], "assigned");
    assert_eq!(first["correlated"], false);
    let (st, second) = s
        .post("netco", "/api/v1/reports", report("EVIL-BANK.example.cn."))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{second}");
    assert_eq!(second["case_id"], first["case_id"]);
    assert_eq!(second["correlated"], true);
    let case_id = first["case_id"].as_str().unwrap();
    let (_, case) = s.get("miit", &format!("/api/v1/cases/{case_id}")).await;
    assert_eq!(case["report_ids"].as_array().unwrap().len(), 2);
    assert_eq!(case["assigned_to"]["slug"], "cncert");
    // Each reporter sees the case's progress and only its own report, not the other's (TLP).
    let (_, mine) = s.get("netco", &format!("/api/v1/cases/{case_id}")).await;
    assert_eq!(mine["report_ids"], json!([second["id"]]));
    assert_eq!(mine["status"], "assigned");
    let (st, _) = s
        .get(
            "netco",
            &format!("/api/v1/reports/{}", first["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "secco's report stays secco's");
    let (st, r) = s
        .get(
            "netco",
            &format!("/api/v1/reports/{}", second["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(r["indicators"][0]["value"], "evil-bank.example.cn");

    // Idempotency: a retried POST returns the first answer and creates nothing.
    let body = report("retry.example.cn");
    let (st1, a) = s
        .call(
            Some("secco"),
            reqwest::Method::POST,
            "/api/v1/reports",
            Some(body.clone()),
            Some("k-1"),
        )
        .await;
    let (st2, b) = s
        .call(
            Some("secco"),
            reqwest::Method::POST,
            "/api/v1/reports",
            Some(body),
            Some("k-1"),
        )
        .await;
    assert_eq!((st1, st2), (StatusCode::CREATED, StatusCode::CREATED));
    assert_eq!(a, b);
    let (st, p) = s
        .call(
            Some("secco"),
            reqwest::Method::POST,
            "/api/v1/reports",
            Some(report("other.example.cn")),
            Some("k-1"),
        )
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "idempotency-key-reused")
    );
    let (_, list) = s.get("miit", "/api/v1/cases").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    // A threat handled in the reporter's own systems is filed, and opens no case.
    let body = json!({"report": report("own-host.example.cn"), "actions_taken": "Reimaged the host, rotated credentials"});
    let (st, sr) = s.post("secco", "/api/v1/self-reports", body).await;
    assert_eq!(
        (st, sr["status"].as_str()),
        (StatusCode::CREATED, Some("self_handled")),
        "{sr}"
    );
    let sid = sr["id"].as_str().unwrap();
    let (st, r) = s.get("gd", &format!("/api/v1/reports/{sid}")).await;
    assert_eq!(st, StatusCode::OK, "the provincial authority sees it");
    assert!(r["case_id"].is_null());
    assert_eq!(r["self_handled"], "Reimaged the host, rotated credentials");
    let (st, _) = s.get("bj", &format!("/api/v1/reports/{sid}")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, p) = s
        .post(
            "secco",
            "/api/v1/self-reports",
            json!({"report": report("x.example.cn")}),
        )
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::BAD_REQUEST, "invalid-body"));
    let (_, list) = s.get("miit", "/api/v1/cases").await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        2,
        "no case for the self-handled report"
    );
    assert!(s.store.verify_audit().await.unwrap().intact);
}

async fn determination_and_decision_respect_the_rules(s: Server) {
    let (_, created) = s
        .post("secco", "/api/v1/reports", report("c2.example.cn"))
        .await;
    let case = format!("/api/v1/cases/{}", created["case_id"].as_str().unwrap());
    let det = json!({
        "verdict": "confirmed", "severity": "high", "rationale": "Kit fingerprint matches",
        "recommended_measures": [{"kind": "block", "target": {"type": "domain", "value": "c2.example.cn"}}]
    });
    // Not the assigned institution; not an analyst.
    let (st, p) = s
        .post("caict", &format!("{case}/determination"), det.clone())
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::NOT_FOUND, "not-found"),
        "caict cannot see it: {p}"
    );
    let (st, p) = s
        .post("gd", &format!("{case}/determination"), det.clone())
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::FORBIDDEN, "forbidden-role"));
    let (st, d) = s
        .post("cncert-both", &format!("{case}/determination"), det.clone())
        .await;
    assert_eq!(st, StatusCode::OK, "{d}");
    assert_eq!(d["status"], "determined");
    let (st, p) = s
        .post("cncert", &format!("{case}/determination"), det)
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::CONFLICT, "invalid-state"));

    let decision = json!({
        "outcome": "approved", "reasons": "Confirmed phishing infrastructure",
        "measures": [{"kind": "block", "target": {"type": "domain", "value": "c2.example.cn"}, "recipient_org": "china-telecom"}]
    });
    // The determining organisation, another province, a measure without a recipient.
    let (st, p) = s
        .post("cncert-both", &format!("{case}/decision"), decision.clone())
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::FORBIDDEN, "forbidden-organisation"),
        "{p}"
    );
    // Another province's reviewer learns nothing of the case, not even where it lies.
    let (st, p) = s
        .post("bj", &format!("{case}/decision"), decision.clone())
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::NOT_FOUND, "not-found"), "{p}");
    let detail = p["detail"].as_str().unwrap();
    assert!(
        !detail.contains("province") && !detail.contains("Guangdong"),
        "{p}"
    );
    let mut unroutable = decision.clone();
    unroutable["measures"][0]
        .as_object_mut()
        .unwrap()
        .remove("recipient_org");
    let (st, p) = s.post("gd", &format!("{case}/decision"), unroutable).await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unroutable")
    );
    let mut unknown = decision.clone();
    unknown["measures"][0]["recipient_org"] = json!("no-such-org");
    let (st, p) = s.post("gd", &format!("{case}/decision"), unknown).await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown-organisation")
    );
    // The competent provincial authority decides; the deadline comes from its policy.
    let (st, out) = s
        .post("gd", &format!("{case}/decision"), decision.clone())
        .await;
    assert_eq!(st, StatusCode::CREATED, "{out}");
    assert_eq!(out["status"], "decided");
    assert_eq!(out["policy_version"], "national-2026.1+44-2026.1");
    let m = &out["measures"][0];
    assert_eq!(m["recipient_org"], "china-telecom");
    assert_eq!(
        m["deadline"], "2026-09-28T16:00:00+08:00",
        "Guangdong: 6 hours for high-severity blocks"
    );
    let (st, p) = s.post("miit", &format!("{case}/decision"), decision).await;
    assert_eq!((st, kind(&p)), (StatusCode::CONFLICT, "invalid-state"));
    let id: uuid::Uuid = m["id"].as_str().unwrap().parse().unwrap();
    let stored = s.store.measure(id).await.unwrap().unwrap().value;
    assert!(stored.block_active());
    assert!(s.store.verify_audit().await.unwrap().intact);
}

async fn lists_are_scoped_to_the_caller(s: Server) {
    let (_, a) = s
        .post("secco", "/api/v1/reports", report("a.example.cn"))
        .await;
    let mut bj = report("b.example.cn");
    bj["province"] = json!("11");
    let (_, b) = s.post("netco", "/api/v1/reports", bj).await;
    let ids = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, all) = s.get("miit", "/api/v1/cases").await;
    assert_eq!(ids(&all).len(), 2);
    let (_, gd) = s.get("gd", "/api/v1/cases").await;
    assert_eq!(ids(&gd), vec![a["case_id"].as_str().unwrap()]);
    let (_, gd11) = s.get("gd", "/api/v1/cases?province=11").await;
    assert!(
        ids(&gd11).is_empty(),
        "a province filter cannot widen the scope"
    );
    let (_, bjl) = s.get("bj", "/api/v1/cases").await;
    assert_eq!(ids(&bjl), vec![b["case_id"].as_str().unwrap()]);
    let (_, mine) = s.get("secco", "/api/v1/cases").await;
    assert_eq!(ids(&mine), vec![a["case_id"].as_str().unwrap()]);
    let (_, inst) = s.get("cncert", "/api/v1/cases").await;
    assert_eq!(ids(&inst).len(), 2);
    let (_, none) = s.get("caict", "/api/v1/cases").await;
    assert!(ids(&none).is_empty());
    let (_, recips) = s.get("telecom", "/api/v1/cases").await;
    assert!(ids(&recips).is_empty());
    let (st, _) = s
        .get(
            "telecom",
            &format!("/api/v1/cases/{}", a["case_id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s
        .get(
            "bj",
            &format!("/api/v1/reports/{}", a["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // Filters and pages.
    let (_, f) = s.get("miit", "/api/v1/cases?org=netco-alpha").await;
    assert_eq!(ids(&f), vec![b["case_id"].as_str().unwrap()]);
    let (_, p1) = s.get("miit", "/api/v1/cases?limit=1").await;
    assert_eq!(ids(&p1).len(), 1);
    let next = p1["next"].as_str().unwrap();
    let (_, p2) = s
        .get("miit", &format!("/api/v1/cases?limit=1&cursor={next}"))
        .await;
    assert_eq!(ids(&p2).len(), 1);
    assert_ne!(ids(&p1), ids(&p2));
    assert!(p2["next"].is_null());
    for (q, expect) in [
        ("limit=0", "invalid-query"),
        ("cursor=zz", "invalid-query"),
        ("from=yesterday", "invalid-query"),
        ("colour=red", "invalid-query"),
        ("org=nobody", "unknown-organisation"),
        ("province=99", "invalid-province"),
    ] {
        let (st, p) = s.get("miit", &format!("/api/v1/cases?{q}")).await;
        assert!(st.is_client_error(), "{q}: {st}");
        assert_eq!(kind(&p), expect, "{q}: {p}");
    }
}

async fn emergencies_phone_first_and_write_after(s: Server) {
    let (_, created) = s
        .post("secco", "/api/v1/reports", report("ransom-c2.example.cn"))
        .await;
    let case = format!("/api/v1/cases/{}", created["case_id"].as_str().unwrap());
    let det = json!({"verdict": "confirmed", "severity": "critical", "incident_level": "I", "rationale": "Nationwide ransomware C2"});
    s.post("cncert", &format!("{case}/determination"), det)
        .await;
    // Art. 13: a level I incident goes to MIIT; the province still sees it.
    let (_, c) = s.get("gd", &case).await;
    assert_eq!(c["warning_colour"], "red");
    assert_eq!(c["national"], true, "{c}");
    let decision = json!({
        "outcome": "approved", "reasons": "Emergency block",
        "measures": [{"kind": "block", "target": {"type": "domain", "value": "ransom-c2.example.cn"}, "recipient_org": "china-telecom"}]
    });
    let (st, p) = s
        .post("gd", &format!("{case}/decision"), decision.clone())
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::FORBIDDEN, "forbidden-jurisdiction"),
        "{p}"
    );
    let (st, out) = s.post("miit", &format!("{case}/decision"), decision).await;
    assert_eq!(st, StatusCode::CREATED, "{out}");
    let issued = &out["measures"][0];
    assert_eq!(issued["status"], "pending");
    // Whom to call: the recipient's Art. 5 contacts, in the answer and on the sheet.
    assert!(
        issued["telephone"]["contact_person"]["phone"].is_string(),
        "{out}"
    );
    let nid = issued["notice_id"].as_str().unwrap().to_owned();
    // Nothing has reached the operator yet: no notice, nothing in its list.
    let (st, _) = s.get("telecom", &format!("/api/v1/notices/{nid}")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, list) = s.get("telecom", "/api/v1/notices").await;
    assert!(!list.to_string().contains(&nid), "{list}");
    let (st, sheet) = s
        .get("gd", &format!("/api/v1/notices/{nid}/telephone"))
        .await;
    assert_eq!(st, StatusCode::OK, "{sheet}");
    assert_eq!(sheet["written_notice_pending"], true);
    let (st, _) = s
        .get("telecom", &format!("/api/v1/notices/{nid}/telephone"))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // MIIT telephones half an hour after deciding; the operator's hour starts then.
    let clock = s.clock.clone().unwrap();
    clock.set(NOW + time::Duration::minutes(30));
    let call = json!({"called_person": "Duty officer Wang", "called_number": "+861012345678", "answered_by": "Deputy Li", "summary": "Block ransom-c2.example.cn now; written notice follows"});
    let path = format!("/api/v1/notices/{nid}/phone-notification");
    let (st, p) = s.post("telecom", &path, call.clone()).await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::NOT_FOUND, "not-found"),
        "not yet told, the operator does not know of it"
    );
    let (st, p) = s.post("gd", &path, call.clone()).await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::FORBIDDEN, "forbidden-organisation"),
        "the caller is the deciding authority: {p}"
    );
    let (st, r) = s.post("miit", &path, call.clone()).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "delivered");
    let m = s
        .store
        .measure_by_notice(nid.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .value;
    assert_eq!(m.phone_notifications.len(), 1);
    assert_eq!(
        m.deadline,
        NOW + time::Duration::minutes(90),
        "one hour from the call"
    );
    assert_eq!(
        m.written_notice_due,
        Some(NOW + time::Duration::minutes(30) + time::Duration::hours(24))
    );
    // Told by telephone, the operator acknowledges before any paper arrives.
    let (st, p) = s
        .post("telecom", &format!("/api/v1/notices/{nid}/ack"), json!({}))
        .await;
    assert_eq!(st, StatusCode::OK, "{p}");
    let (st, p) = s.get("telecom", &format!("/api/v1/notices/{nid}")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(p["detail"].as_str().unwrap().contains("telephone"), "{p}");
    // MIIT has not issued the written notice a day after the call: that is flagged on
    // MIIT; the operator, who has not reported back, is overdue on its own deadline.
    clock.set(NOW + time::Duration::hours(25));
    let r = warden_service::jobs::run_due(&s.state.svc, "w")
        .await
        .unwrap();
    assert_eq!((r.written_overdue, r.overdue), (1, 1));
    let (_, sheet) = s
        .get("miit", &format!("/api/v1/notices/{nid}/telephone"))
        .await;
    assert_eq!(sheet["written_notice_overdue"], true, "{sheet}");
    // The written notice follows, signed, saying what the threat is.
    let written = format!("/api/v1/notices/{nid}/written-notice");
    let (st, p) = s.post("gd", &written, json!({})).await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::FORBIDDEN, "forbidden-organisation")
    );
    let (st, p) = s.post("miit", &written, json!({})).await;
    assert_eq!(st, StatusCode::OK, "{p}");
    let (st, n) = s.get("telecom", &format!("/api/v1/notices/{nid}")).await;
    assert_eq!(st, StatusCode::OK, "{n}");
    assert_eq!(n["body"]["emergency"], true);
    assert_eq!(n["body"]["issuer"]["slug"], "miit");
    assert_eq!(n["body"]["threat"]["incident_level"], "I", "{n}");
    let (st, p) = s.post("miit", &written, json!({})).await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::CONFLICT, "invalid-state"),
        "{p}"
    );
    // A non-emergency notice has no telephone path.
    let other = decided_block(&s, "calm.example.cn").await;
    let (st, p) = s
        .post(
            "gd",
            &format!(
                "/api/v1/notices/{}/phone-notification",
                other["notice_id"].as_str().unwrap()
            ),
            call,
        )
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-command")
    );
}

async fn party_government_victims_bring_art_8_3_notifications(s: Server) {
    let mut r = report("city-portal.example.cn");
    r["category"] = json!("incident");
    r["subtype"] = json!("defacement");
    r["victim"] = json!({"name": "某市人民政府门户网站", "kind": "party_government"});
    let (st, created) = s.post("secco", "/api/v1/reports", r).await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    let case = format!("/api/v1/cases/{}", created["case_id"].as_str().unwrap());
    s.post(
        "cncert",
        &format!("{case}/determination"),
        json!({"verdict": "confirmed", "severity": "medium", "rationale": "Defaced"}),
    )
    .await;
    let mut decision = json!({
        "outcome": "approved", "reasons": "Restore and patch",
        "measures": [{"kind": "remediate", "recipient_org": "cloud-alpha"}]
    });
    let (st, p) = s
        .post("gd", &format!("{case}/decision"), decision.clone())
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-command")
    );
    assert!(p["detail"].as_str().unwrap().contains("Art. 8(3)"), "{p}");
    decision["notify"] = json!(["supervisor-alpha", "cac"]);
    let (st, out) = s.post("gd", &format!("{case}/decision"), decision).await;
    assert_eq!(st, StatusCode::CREATED, "{out}");
    let notes = out["notifications"].as_array().unwrap();
    assert_eq!(notes.len(), 2);
    let to_cac = notes.iter().find(|n| n["org"] == "cac").unwrap();
    let (st, n) = s
        .get(
            "cac",
            &format!("/api/v1/notices/{}", to_cac["notice_id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{n}");
    assert_eq!(n["body"]["type"], "notification");
    assert_eq!(n["body"]["recipient"]["slug"], "cac");
    assert!(
        n["body"]["reasons"]
            .as_str()
            .unwrap()
            .contains("cloud-alpha must remediate")
    );
    let keys = s.keys().await;
    let signed: warden_core::notice::SignedNotice = serde_json::from_value(n).unwrap();
    assert_eq!(warden_core::notice::verify(&signed, &keys), Ok(()));
    // A victim whose superior unit the report names: the decision need not name anyone.
    let mut r = report("county-portal.example.cn");
    r["category"] = json!("incident");
    r["subtype"] = json!("defacement");
    r["victim"] = json!({"name": "某县人民政府门户网站", "kind": "party_government", "supervising_org": "nobody"});
    let (st, p) = s.post("secco", "/api/v1/reports", r.clone()).await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown-organisation")
    );
    r["victim"]["supervising_org"] = json!("supervisor-alpha");
    let (st, created) = s.post("secco", "/api/v1/reports", r).await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    let case2 = format!("/api/v1/cases/{}", created["case_id"].as_str().unwrap());
    s.post(
        "cncert",
        &format!("{case2}/determination"),
        json!({"verdict": "confirmed", "severity": "medium", "rationale": "Defaced"}),
    )
    .await;
    let (st, out2) = s
        .post(
            "gd",
            &format!("{case2}/decision"),
            json!({"outcome": "approved", "reasons": "Restore and patch",
                   "measures": [{"kind": "remediate", "recipient_org": "cloud-alpha"}]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{out2}");
    let mut to: Vec<&str> = out2["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["org"].as_str().unwrap())
        .collect();
    to.sort();
    assert_eq!(to, ["cac", "supervisor-alpha"]);
    // The supervising unit cannot read the CAC's copy, nor the order itself.
    let (st, _) = s
        .get(
            "supervisor",
            &format!("/api/v1/notices/{}", to_cac["notice_id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s
        .get(
            "supervisor",
            &format!(
                "/api/v1/notices/{}",
                out["measures"][0]["notice_id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // The order itself says whom Art. 8(3) notified.
    let (_, order) = s
        .get(
            "gd",
            &format!(
                "/api/v1/notices/{}",
                out2["measures"][0]["notice_id"].as_str().unwrap()
            ),
        )
        .await;
    let told = order["body"]["threat"]["notified"].to_string();
    assert!(
        told.contains("supervisor-alpha") && told.contains("cac"),
        "{order}"
    );
    // A victim that is a member: its profile's superior unit is the one to be told.
    let (st, p) = s
        .call(
            Some("miit-admin"),
            reqwest::Method::PATCH,
            "/api/v1/organisations/cloud-alpha",
            Some(json!({"supervising_unit": "supervisor-alpha"})),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{p}");
    let mut r = report("member-portal.example.cn");
    r["category"] = json!("incident");
    r["subtype"] = json!("defacement");
    r["victim"] = json!({"name": "云服务门户", "kind": "cii", "org": "cloud-alpha"});
    let (st, created) = s.post("secco", "/api/v1/reports", r).await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    let case3 = format!("/api/v1/cases/{}", created["case_id"].as_str().unwrap());
    s.post(
        "cncert",
        &format!("{case3}/determination"),
        json!({"verdict": "confirmed", "severity": "medium", "rationale": "Defaced"}),
    )
    .await;
    let decide3 = |notify: Value| {
        json!({"outcome": "approved", "reasons": "Patch", "notify": notify,
               "measures": [{"kind": "remediate", "recipient_org": "cloud-alpha"}]})
    };
    // Only the cyberspace administration named: the victim's superior is missing.
    let (st, p) = s
        .post("gd", &format!("{case3}/decision"), decide3(json!(["cac"])))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert!(
        p["detail"].as_str().unwrap().contains("supervisor-alpha"),
        "{p}"
    );
    // Named by no one, it is found from the profile.
    let (st, out3) = s
        .post("gd", &format!("{case3}/decision"), decide3(json!([])))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{out3}");
    let mut r = report("member-portal-2.example.cn");
    r["victim"] = json!({"name": "x", "kind": "cii", "org": "nobody"});
    let (st, p) = s.post("secco", "/api/v1/reports", r).await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown-organisation"),
        "{p}"
    );
}
