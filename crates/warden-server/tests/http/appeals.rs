//! Appeals (Art. 10): windows on the working-day calendar, answers, the public form.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

on_both!(appeals_follow_article_10, answers_may_only_narrow_a_block,);

async fn answers_may_only_narrow_a_block(s: Server) {
    let m = decided_block(&s, "narrow.example.cn").await;
    let grounds = json!({"appellant": {"name": "Holder", "contact": "h@example.cn"}, "grounds": "Only one host is bad"});
    let (st, a) = s
        .post(
            "netco",
            &format!("/api/v1/measures/{}/appeals", m["id"].as_str().unwrap()),
            grounds,
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    let path = format!("/api/v1/appeals/{}/decision", a["id"].as_str().unwrap());
    let modify = |target: &str, scope: Option<&str>| {
        let mut md = json!({"target": {"type": "domain", "value": target}});
        if let Some(sc) = scope {
            md["scope"] = json!(sc);
        }
        json!({"outcome": "modified", "reasons": "Narrowed", "modification": md})
    };
    // Widening to the registry's suffix, or moving to another name, is not an answer.
    for wider in ["example.cn", "other.example.cn"] {
        let (st, p) = s.post("gd", &path, modify(wider, None)).await;
        assert_eq!(
            (st, kind(&p)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid-command"),
            "{wider}: {p}"
        );
        assert!(p["detail"].as_str().unwrap().contains("only narrow"), "{p}");
    }
    // An allow-listed name inside the block needs a reason like any decision.
    let (st, p) = s
        .post(
            "miit-admin",
            "/api/v1/allowlist",
            json!({"value": "www.narrow.example.cn", "reason": "The holder's own front page"}),
        )
        .await;
    if st == StatusCode::CREATED {
        let (st, p) = s
            .post("gd", &path, modify("www.narrow.example.cn", Some("exact")))
            .await;
        assert_eq!(
            (st, kind(&p)),
            (StatusCode::UNPROCESSABLE_ENTITY, "allowlisted-target"),
            "{p}"
        );
    } else {
        panic!("allow-list entry not added: {st} {p}");
    }
    // One host, exactly: the block narrows and a signed modification goes out.
    let (st, d) = s
        .post(
            "gd",
            &path,
            modify("login.narrow.example.cn", Some("exact")),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{d}");
    assert_eq!(d["status"], "modified");
    let (_, n) = s
        .get(
            "telecom",
            &format!("/api/v1/notices/{}", d["notice_id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(n["body"]["type"], "modification");
    assert_eq!(n["body"]["target"]["value"], "login.narrow.example.cn");
}

async fn appeals_follow_article_10(s: Server) {
    let m = decided_block(&s, "appeal.example.cn").await;
    let mid = m["id"].as_str().unwrap();
    let grounds = json!({"appellant": {"name": "Domain holder", "contact": "holder@example.cn"}, "grounds": "The site was cleaned"});
    // A member files on behalf of the affected party; the reply is due in 30 working days.
    let (st, a) = s
        .post(
            "netco-2",
            &format!("/api/v1/measures/{mid}/appeals"),
            grounds.clone(),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    assert_eq!(a["reply_due"], "2026-11-14T00:00:00+08:00");
    assert_eq!(a["status"], "filed");
    let reference = a["reference"].as_str().unwrap().to_owned();
    // The public form takes the reference number, without an account.
    let public = |r: &str| json!({"reference": r, "appellant": {"name": "Owner", "contact": "+8613800138000"}, "grounds": "Not mine"});
    let (st, p) = s
        .call(
            None,
            reqwest::Method::POST,
            "/api/v1/public/appeals",
            Some(public(&reference.to_lowercase())),
            Some("form-1"),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    let (_, again) = s
        .call(
            None,
            reqwest::Method::POST,
            "/api/v1/public/appeals",
            Some(public(&reference.to_lowercase())),
            Some("form-1"),
        )
        .await;
    assert_eq!(again["id"], p["id"], "a resubmitted form files once");
    let (st, p) = s
        .call(
            None,
            reqwest::Method::POST,
            "/api/v1/public/appeals",
            Some(public("WD-20260928-000000000000")),
            None,
        )
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::NOT_FOUND, "not-found"));
    // Only the deciding authority answers.
    let aid = a["id"].as_str().unwrap();
    let revoke = json!({"outcome": "revoked", "reasons": "Verified clean by CNCERT"});
    let (st, p) = s
        .post(
            "bj",
            &format!("/api/v1/appeals/{aid}/decision"),
            revoke.clone(),
        )
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::FORBIDDEN, "forbidden-organisation"),
        "{p}"
    );
    let (st, d) = s
        .post(
            "gd",
            &format!("/api/v1/appeals/{aid}/decision"),
            revoke.clone(),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{d}");
    assert_eq!(d["status"], "revoked");
    assert_eq!(d["block_active"], false);
    assert_eq!(d["late"], false);
    let (st, p) = s
        .post("gd", &format!("/api/v1/appeals/{aid}/decision"), revoke)
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::CONFLICT, "invalid-state"));
    // The recipient gets a signed revocation notice.
    let (st, n) = s
        .get(
            "telecom",
            &format!("/api/v1/notices/{}", d["notice_id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(n["body"]["type"], "revocation");
    assert_eq!(n["body"]["reasons"], "Verified clean by CNCERT");
    let keys = s.keys().await;
    let signed: warden_core::notice::SignedNotice = serde_json::from_value(n).unwrap();
    assert_eq!(warden_core::notice::verify(&signed, &keys), Ok(()));
    // A revoked block cannot be appealed again, and a member who is no party to it learns
    // nothing of it by trying (not even that it was revoked); by its reference the answer
    // says why. The appeal is visible to its filer.
    let (st, p) = s
        .post(
            "netco-2",
            &format!("/api/v1/measures/{mid}/appeals"),
            grounds.clone(),
        )
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::NOT_FOUND, "not-found"));
    let reference = s
        .store
        .measure(mid.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let reference = warden_core::notice::reference_number(&reference.value);
    let mut public = grounds.clone();
    public["reference"] = reference.into();
    let r = s
        .http
        .post(format!("{}/api/v1/public/appeals", s.base))
        .json(&public)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let (st, v) = s.get("netco-2", &format!("/api/v1/appeals/{aid}")).await;
    assert_eq!(
        (st, v["status"].as_str()),
        (StatusCode::OK, Some("revoked"))
    );
    let (st, _) = s.get("mobile", &format!("/api/v1/appeals/{aid}")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // The clock cannot be moved on a server with the system clock (here: a fixed one).
    let (st, _) = s
        .post(
            "miit-admin",
            "/api/v1/admin/clock/advance",
            json!({"seconds": 60}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(s.store.verify_audit().await.unwrap().intact);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_appeals_are_refused_on_the_simulated_clock() {
    let dir = tempfile::tempdir().unwrap();
    let store = warden_store::open(&format!("sqlite://{}/w.db", dir.path().display()))
        .await
        .unwrap();
    let s = start_with(store, Some(dir), true).await;
    let m = decided_block(&s, "late.example.cn").await;
    let (st, p) = s
        .post("gd", "/api/v1/admin/clock/advance", json!({"seconds": 60}))
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::FORBIDDEN, "forbidden-role"));
    let (st, p) = s
        .post(
            "miit-admin",
            "/api/v1/admin/clock/advance",
            json!({"seconds": -5}),
        )
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::BAD_REQUEST, "invalid-body"));
    // Decided Monday 2026-09-28: the window ends with Friday 2026-10-16.
    let (st, now) = s
        .post(
            "miit-admin",
            "/api/v1/admin/clock/advance",
            json!({"seconds": 18 * 86_400 + 13 * 3600}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{now}");
    assert!(
        now["now"].as_str().unwrap().starts_with("2026-10-16T23:"),
        "{now}"
    );
    let grounds =
        json!({"appellant": {"name": "Holder", "contact": "h@example.cn"}, "grounds": "Cleaned"});
    let mid = m["id"].as_str().unwrap();
    let (st, a) = s
        .post(
            "netco",
            &format!("/api/v1/measures/{mid}/appeals"),
            grounds.clone(),
        )
        .await;
    assert_eq!(
        st,
        StatusCode::CREATED,
        "the last evening of the 10th working day: {a}"
    );
    s.post(
        "miit-admin",
        "/api/v1/admin/clock/advance",
        json!({"seconds": 3600}),
    )
    .await;
    let (st, p) = s
        .post("netco", &format!("/api/v1/measures/{mid}/appeals"), grounds)
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "window-closed"),
        "{p}"
    );
    assert!(p["detail"].as_str().unwrap().contains("2026-10-16"), "{p}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_into_an_unpublished_year_never_closes_early() {
    let dir = tempfile::tempdir().unwrap();
    let store = warden_store::open(&format!("sqlite://{}/w.db", dir.path().display()))
        .await
        .unwrap();
    let s = start_with(store, Some(dir), true).await;
    // From Monday 2026-09-28 10:00 to Friday 2026-12-18 10:00.
    let (st, now) = s
        .post(
            "miit-admin",
            "/api/v1/admin/clock/advance",
            json!({"seconds": 81 * 86_400}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{now}");
    assert!(
        now["now"].as_str().unwrap().starts_with("2026-12-18T10:00"),
        "{now}"
    );
    let m = decided_block(&s, "newyear.example.cn").await;
    // Monday–Friday alone would close the window with 2027-01-01, New Year's Day in every
    // published year: the notice gives the latest day the count could give, marked so.
    let (_, n) = s
        .get(
            "telecom",
            &format!("/api/v1/notices/{}", m["notice_id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(n["body"]["appeal"]["until"], "2027-01-04", "{n}");
    assert_eq!(n["body"]["appeal"]["provisional"], true);
    // Saturday 2027-01-02: still open, and the reply deadline is marked provisional.
    s.post(
        "miit-admin",
        "/api/v1/admin/clock/advance",
        json!({"seconds": 15 * 86_400}),
    )
    .await;
    let grounds =
        json!({"appellant": {"name": "Holder", "contact": "h@example.cn"}, "grounds": "Cleaned"});
    let (st, a) = s
        .post(
            "netco",
            &format!("/api/v1/measures/{}/appeals", m["id"].as_str().unwrap()),
            grounds,
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    assert_eq!(a["reply_due_provisional"], true, "{a}");
    let (_, v) = s
        .get(
            "gd",
            &format!("/api/v1/appeals/{}", a["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(v["reply_due_provisional"], true, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_form_is_rate_limited() {
    let s = on_sqlite().await;
    let body = json!({"reference": "WD-20260928-000000000000", "appellant": {"name": "A", "contact": "B"}, "grounds": "C"});
    for _ in 0..10 {
        let (st, _) = s
            .call(
                None,
                reqwest::Method::POST,
                "/api/v1/public/appeals",
                Some(body.clone()),
                None,
            )
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
    }
    let r = s
        .http
        .post(format!("{}/api/v1/public/appeals", s.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
}
