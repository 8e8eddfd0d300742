//! Look-up requests (Art. 9): asked by an authority or an institution on its behalf,
//! answered by the organisation within the time limit, counted in compliance, and used by
//! routing when the registry has no answer.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

on_both!(look_ups_are_asked_answered_and_counted,);

async fn look_ups_are_asked_answered_and_counted(s: Server) {
    let ask = |addressee: &str, kind: &str, value: &str| {
        json!({"addressee": addressee, "subject": {"type": kind, "value": value},
               "question": "Who holds it, and since when?", "province": "44"})
    };
    // Guangdong's reviewer asks China Telecom who holds an address: two working days.
    let (st, q) = s
        .post(
            "gd",
            "/api/v1/inquiries",
            ask("china-telecom", "ipv4", "45.33.12.7"),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{q}");
    assert_eq!(q["status"], "open");
    assert_eq!(q["authority"]["slug"], "ca-guangdong");
    assert_eq!(
        q["due"], "2026-10-01T00:00:00+08:00",
        "Monday + 2 working days"
    );
    let qid = q["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/inquiries/{qid}");
    // The addressee and the authority see it; another operator or province does not.
    assert_eq!(s.get("telecom", &path).await.0, StatusCode::OK);
    assert_eq!(s.get("mobile", &path).await.0, StatusCode::NOT_FOUND);
    assert_eq!(s.get("bj", &path).await.0, StatusCode::NOT_FOUND);
    let (_, mine) = s.get("telecom", "/api/v1/inquiries?open=true").await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1, "{mine}");
    // The institution asks on the authority's behalf; a reporter does not ask at all.
    let (st, q2) = s
        .post(
            "cncert",
            "/api/v1/inquiries",
            ask("china-telecom", "domain", "who.example.cn"),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{q2}");
    assert_eq!(q2["authority"]["slug"], "ca-guangdong");
    assert_eq!(q2["asked_by"]["slug"], "cncert");
    for (who, body, want) in [
        (
            "secco",
            ask("china-telecom", "ipv4", "45.33.12.8"),
            "forbidden-role",
        ),
        (
            "gd",
            ask("secco-alpha", "ipv4", "45.33.12.8"),
            "invalid-command",
        ),
        (
            "gd",
            ask("china-telecom", "sha256", &"a".repeat(64)),
            "invalid-command",
        ),
        (
            "gd",
            ask("nobody", "ipv4", "45.33.12.8"),
            "unknown-organisation",
        ),
        (
            "bj",
            ask("china-telecom", "ipv4", "45.33.12.8"),
            "forbidden-jurisdiction",
        ),
    ] {
        let (st, p) = s.post(who, "/api/v1/inquiries", body).await;
        assert!(st.is_client_error(), "{who}: {st} {p}");
        assert_eq!(kind(&p), want, "{who}: {p}");
    }
    // The operator answers, naming the holder, a member organisation.
    let answer = json!({"holder": "示例云计算服务有限公司", "contact": "soc@cloud-alpha.example.cn",
                        "evidence": "Customer record 2024-118, assigned 45.33.12.0/24", "holder_org": "cloud-alpha"});
    let (st, p) = s
        .post("mobile", &format!("{path}/answer"), answer.clone())
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{p}");
    let (st, a) = s
        .post("telecom", &format!("{path}/answer"), answer.clone())
        .await;
    assert_eq!(st, StatusCode::OK, "{a}");
    assert_eq!(a["status"], "answered");
    assert_eq!(a["answer"]["late"], false);
    let (st, p) = s.post("telecom", &format!("{path}/answer"), answer).await;
    assert_eq!((st, kind(&p)), (StatusCode::CONFLICT, "invalid-state"));
    // The registry knows nothing of the address: routing follows the answer.
    let (st, out) = decide_measure(
        &s,
        "routed-by-answer.example.cn",
        json!({"kind": "block", "target": {"type": "ipv4", "value": "45.33.12.7"}}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{out}");
    assert_eq!(out["measures"][0]["recipient_org"], "cloud-alpha");
    // The other request goes unanswered past its limit: overdue, and counted.
    s.clock.clone().unwrap().set(NOW + time::Duration::days(4));
    let r = warden_service::jobs::run_due(&s.state.svc, "q")
        .await
        .unwrap();
    assert_eq!(r.inquiries_overdue, 1);
    let (_, q2v) = s
        .get(
            "gd",
            &format!("/api/v1/inquiries/{}", q2["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(q2v["overdue"], true);
    let (_, c) = s.get("gd", "/api/v1/compliance?org=china-telecom").await;
    assert_eq!(
        (c["inquiries"].as_u64(), c["inquiries_late"].as_u64()),
        (Some(2), Some(1)),
        "{c}"
    );
    assert!(s.store.verify_audit().await.unwrap().intact);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn look_ups_in_the_console() {
    use warden_core::org::Role;
    let s = on_sqlite().await;
    let (rev, csrf) = console_sign_in(&s, "ca-guangdong", Role::Reviewer).await;
    let (st, page) = console_get(&s, &rev, "/console/inquiries").await;
    assert_eq!(st, StatusCode::OK);
    assert!(page.contains("id=\"ask\""), "{page}");
    let form = |subject: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("addressee", "china-telecom".to_owned()),
            ("subject", subject.to_owned()),
            ("question", "Who holds it?".to_owned()),
            ("province", "44".to_owned()),
        ]
    };
    // A NUL character in any field is refused before a handler reads the form.
    let (st, _, page) =
        console_post(&s, &rev, "/console/inquiries", form("45.33.12.11\u{0}")).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{page}");
    assert!(page.contains("NUL"), "{page}");
    // Refusals come back on the page, specific.
    let (st, _, page) = console_post(&s, &rev, "/console/inquiries", form("not a value")).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("class=\"error\""), "{page}");
    let (st, location, _) = console_post(&s, &rev, "/console/inquiries", form("45.33.12.10")).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let at = location.unwrap();
    let path = at.split('?').next().unwrap().to_owned();
    // The operator answers from the same page.
    let (op, ocsrf) = console_sign_in(&s, "china-telecom", Role::Responder).await;
    let (_, page) = console_get(&s, &op, &path).await;
    assert!(
        page.contains("id=\"answer\"") && page.contains("45.33.12.10"),
        "{page}"
    );
    let (_, page) = console_get(&s, &op, "/console/inquiries").await;
    assert!(
        page.contains(&path) && !page.contains("id=\"ask\""),
        "{page}"
    );
    let answer = vec![
        ("csrf", ocsrf),
        ("holder", "示例客户".to_owned()),
        ("evidence", "Customer record 77".to_owned()),
    ];
    let (st, _, _) = console_post(&s, &op, &path, answer).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (_, page) = console_get(&s, &rev, &path).await;
    assert!(
        page.contains("示例客户") && !page.contains("id=\"answer\""),
        "{page}"
    );
}
