//! The web console: sessions, forms, and HTTP Basic passwords.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use warden_core::org::Role;

on_both!(
    basic_passwords_are_remembered_and_guessing_is_limited,
    the_console_guards_its_sessions,
    the_console_moves_a_case_through_its_forms,
    the_console_keeps_enforcement_records,
    the_console_administers_organisations,
);

async fn basic_passwords_are_remembered_and_guessing_is_limited(s: Server) {
    for (name, password) in [
        ("reviewer@ca-guangdong", "correct horse"),
        ("second@ca-guangdong", "battery staple"),
    ] {
        add_person(&s, "ca-guangdong", name, Role::Reviewer, password).await;
    }
    use base64::Engine as _;
    let basic = |u: &str, p: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
        )
    };
    let right = basic("reviewer@ca-guangdong", "correct horse");
    let get = |path: &str, auth: String| {
        s.http
            .get(format!("{}{path}", s.base))
            .header("accept", TAXII)
            .header("authorization", auth)
            .send()
    };
    let collections = "/taxii2/members/collections/";
    // A client polling with a verified password is not held to the guessing limit: only
    // checks that run argon2 count, and a verified pair is remembered.
    for _ in 0..warden_server::SIGN_IN_ATTEMPTS + 5 {
        let r = get(collections, right.clone()).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    // Guesses count, whatever the name and password, until the address is held back (one
    // account's own lock after five failures is the people tests').
    let mut limited = None;
    for i in 0..=warden_server::SIGN_IN_ATTEMPTS {
        let r = get(
            collections,
            basic(&format!("guess{i}@nowhere"), &format!("guess {i}")),
        )
        .await
        .unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(r.headers().contains_key("retry-after"));
            let e: Value = r.json().await.unwrap();
            assert_eq!(e["error_code"], "rate-limited");
            assert!(
                e["description"].as_str().unwrap().contains("API token"),
                "{e}"
            );
            limited = Some(i);
            break;
        }
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    // One check was spent on the first right password, so the limit comes one guess early.
    assert_eq!(
        limited,
        Some(warden_server::SIGN_IN_ATTEMPTS - 1),
        "guesses not limited"
    );
    // Outside TAXII and the feeds, Basic is not taken at all: a browser's remembered
    // credentials cannot ride on a request another site makes it send.
    let r = s
        .http
        .get(format!("{}/api/v1/cases", s.base))
        .header("authorization", right.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["www-authenticate"], "Bearer realm=\"warden\"");
    let p: Value = r.json().await.unwrap();
    assert_eq!(kind(&p), "credentials-unusable");
    assert!(p["detail"].as_str().unwrap().contains("Bearer"), "{p}");
    // A feed answers as the REST API does, as problem+json.
    let r = s
        .http
        .get(format!("{}/api/v1/blocklists/plain", s.base))
        .header(
            "authorization",
            basic("second@ca-guangdong", "battery staple"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "not even a right one"
    );
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(kind(&r.json().await.unwrap()), "rate-limited");
    // The verified client goes on working; an API token is never limited.
    let r = get(collections, right.clone()).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = get(collections, basic("feed", &s.tokens["cncert"]))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // The console's sign-in shares the limit: the same passwords, another door.
    let r = post_console_login(&s, "second@ca-guangdong", "battery staple").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
}

async fn the_console_guards_its_sessions(s: Server) {
    add_person(
        &s,
        "ca-guangdong",
        "reviewer@ca-guangdong",
        Role::Reviewer,
        "correct horse",
    )
    .await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = |p: &str| format!("{}{p}", s.base);
    // Every page carries the strict headers; the public home needs no account.
    let r = http.get(url("/console/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    assert!(r.text().await.unwrap().contains("lang=\"zh-CN\""));

    // Sign-in needs the form's token (double-submit cookie) and the right password.
    let login_page = http.get(url("/console/login")).send().await.unwrap();
    let login_cookie = set_cookie(&login_page, "warden_login").unwrap();
    let csrf = hidden_csrf(&login_page.text().await.unwrap());
    assert_eq!(login_cookie, csrf);
    let sign_in = |password: &'static str, token: String, cookie: Option<String>| {
        let mut req = form(
            http.post(url("/console/login")),
            &[
                ("username", "reviewer@ca-guangdong"),
                ("password", password),
                ("csrf", &token),
            ],
        );
        if let Some(c) = cookie {
            req = req.header("cookie", format!("warden_login={c}"));
        }
        async move { req.send().await.unwrap() }
    };
    let r = sign_in("correct horse", csrf.clone(), None).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no cookie: refused");
    assert!(set_cookie(&r, "warden_session").is_none());
    let r = sign_in("wrong", csrf.clone(), Some(login_cookie.clone())).await;
    assert!(set_cookie(&r, "warden_session").is_none());
    assert!(r.text().await.unwrap().contains("class=\"error\""));
    let r = sign_in("correct horse", csrf.clone(), Some(login_cookie.clone())).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let session = set_cookie(&r, "warden_session").unwrap();
    let sc = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        sc.contains("HttpOnly") && sc.contains("SameSite=Strict"),
        "{sc}"
    );
    // Only the secret's hash is stored.
    let hash = warden_service::credentials::hash_token(&session);
    assert!(s.store.session(&session).await.unwrap().is_none());
    let stored = s.store.session(&hash).await.unwrap().unwrap();

    let home = |cookie: String| {
        let req = http
            .get(url("/console/"))
            .header("cookie", format!("warden_session={cookie}; warden_lang=en"));
        async move { req.send().await.unwrap() }
    };
    let r = home(session.clone()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains("reviewer@ca-guangdong") && page.contains("id=\"decisions\""));
    assert!(page.contains("lang=\"en\""));
    let page_csrf = hidden_csrf(&page);
    assert_eq!(page_csrf, stored.csrf);

    // Signing out needs the session's token; then the session is over on the server too.
    let logout = |token: &str| {
        let req = form(
            http.post(url("/console/logout"))
                .header("cookie", format!("warden_session={session}")),
            &[("csrf", token)],
        );
        async move { req.send().await.unwrap() }
    };
    assert_eq!(logout("forged").await.status(), StatusCode::FORBIDDEN);
    assert!(
        home(session.clone())
            .await
            .text()
            .await
            .unwrap()
            .contains("id=\"decisions\"")
    );
    assert_eq!(logout(&page_csrf).await.status(), StatusCode::SEE_OTHER);
    assert!(
        s.store
            .session(&hash)
            .await
            .unwrap()
            .unwrap()
            .ended
            .is_some()
    );
    let r = home(session.clone()).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.unwrap().contains("expired"));

    // Sessions expire.
    let r = sign_in("correct horse", csrf, Some(login_cookie)).await;
    let again = set_cookie(&r, "warden_session").unwrap();
    assert!(
        home(again.clone())
            .await
            .text()
            .await
            .unwrap()
            .contains("id=\"decisions\"")
    );
    s.clock.as_ref().unwrap().set(
        NOW + time::Duration::hours(warden_service::authentication::SESSION_HOURS)
            + time::Duration::seconds(1),
    );
    assert_eq!(home(again).await.status(), StatusCode::UNAUTHORIZED);

    // The public lookup answers with the reference to appeal with, not the enforcer.
    s.clock.as_ref().unwrap().set(NOW);
    decided_block(&s, "console.example.cn").await;
    let r = http
        .get(url("/console/lookup?value=www.console.example.cn"))
        .send()
        .await
        .unwrap();
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"verdict\""), "{page}");
    assert!(page.contains("已列入处置名单"), "{page}");
    assert!(
        !page.contains("china-telecom"),
        "the public is not told who enforces it"
    );

    // From there, the public appeal form: double-submit token, then filed by reference.
    let (_, n) = s.get("telecom", "/api/v1/notices").await;
    let reference = n["items"][0]["reference"].as_str().unwrap().to_owned();
    assert!(page.contains(&format!("/console/appeal?reference={reference}")));
    let r = http
        .get(url(&format!("/console/appeal?reference={reference}")))
        .send()
        .await
        .unwrap();
    let appeal_cookie = set_cookie(&r, "warden_appeal").unwrap();
    let page = r.text().await.unwrap();
    assert!(page.contains(&format!("value=\"{reference}\"")));
    let appeal_csrf = hidden_csrf(&page);
    let file = |reference: &str, cookie: Option<&str>| {
        let mut req = form(
            http.post(url("/console/appeal")),
            &[
                ("csrf", appeal_csrf.as_str()),
                ("reference", reference),
                ("name", "Shop owner"),
                ("contact", "owner@example.cn"),
                ("grounds", "The shop is mine and clean"),
            ],
        );
        if let Some(c) = cookie {
            req = req.header("cookie", format!("warden_appeal={c}"));
        }
        async move {
            let r = req.send().await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    assert_eq!(file(&reference, None).await.0, StatusCode::FORBIDDEN);
    let (st, page) = file("WD-20260928-000000000000", Some(&appeal_cookie)).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    let (st, page) = file(&reference, Some(&appeal_cookie)).await;
    assert_eq!(st, StatusCode::CREATED, "{page}");
    assert!(page.contains("id=\"filed\""), "{page}");
    let filed: Vec<_> = s
        .store
        .open_appeals(
            s.store
                .organisation_by_slug("ca-guangdong")
                .await
                .unwrap()
                .unwrap()
                .value
                .id,
            10,
        )
        .await
        .unwrap();
    assert_eq!(filed.len(), 1);
    assert!(page.contains(&filed[0].value.id.to_string()));
    assert_eq!(filed[0].value.filed_by_org, None, "filed by the public");

    // Password guessing meets a limit: the account locks after five failures (and an address
    // is held back after ten attempts, whatever the names).
    let mut limited = None;
    for i in 0..=warden_server::SIGN_IN_ATTEMPTS {
        let login_page = http.get(url("/console/login")).send().await.unwrap();
        let c = set_cookie(&login_page, "warden_login").unwrap();
        let t = hidden_csrf(&login_page.text().await.unwrap());
        let r = sign_in("guess", t, Some(c)).await;
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(r.headers().contains_key("retry-after"));
            limited = Some(i);
            break;
        }
    }
    assert!(limited.is_some(), "no limit on sign-in attempts");
    let login_page = http.get(url("/console/login")).send().await.unwrap();
    let c = set_cookie(&login_page, "warden_login").unwrap();
    let t = hidden_csrf(&login_page.text().await.unwrap());
    let r = sign_in("correct horse", t, Some(c)).await;
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "not even the right one"
    );
    assert!(set_cookie(&r, "warden_session").is_none());
}

async fn the_console_moves_a_case_through_its_forms(s: Server) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cases_of_secco = || async {
        let (_, list) = s.get("secco", "/api/v1/cases").await;
        list["items"].as_array().unwrap().len()
    };

    // The reporter pastes values; "check" reads each with the core parser and files nothing.
    let (rep, rep_csrf) = console_sign_in(&s, "secco-alpha", Role::Reporter).await;
    let (st, page) = console_get(&s, &rep, "/console/reports/new").await;
    assert_eq!(st, StatusCode::OK);
    assert!(page.contains("malicious_resource/phishing_site"), "{page}");
    let before = cases_of_secco().await;
    let report = |csrf: &str, action: &str, values: &str| {
        vec![
            ("csrf", csrf.to_owned()),
            ("subtype", "malicious_resource/phishing_site".to_owned()),
            ("title", "Console phishing".to_owned()),
            ("description", "Seen in SMS".to_owned()),
            ("province", "440000".to_owned()),
            ("indicators", values.to_owned()),
            ("action", action.to_owned()),
        ]
    };
    let pasted = "WWW.Console-Form.example.cn\nhttp://console-form.example.cn/pay, 1.2.3\n";
    let (st, _, page) = console_post(
        &s,
        &rep,
        "/console/reports",
        report(&rep_csrf, "check", pasted),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        page.contains("www.console-form.example.cn"),
        "normalised: {page}"
    );
    assert!(page.contains("class=\"alert\""), "the bad value is marked");
    // The same check as a fragment for the page's live validation (htmx), under the CSRF rule.
    let (st, _, frag) = console_post(
        &s,
        &rep,
        "/console/reports/check",
        report(&rep_csrf, "", pasted),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert!(frag.starts_with("<section id=\"checked\""), "{frag}");
    assert!(!frag.contains("<html"), "a fragment, not a page");
    assert!(frag.contains("www.console-form.example.cn") && frag.contains("class=\"alert\""));
    let (st, _, _) = console_post(
        &s,
        &rep,
        "/console/reports/check",
        report("forged", "", pasted),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _, page) = console_post(
        &s,
        &rep,
        "/console/reports",
        report(&rep_csrf, "submit", pasted),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("could not be read"), "{page}");
    let (st, _, _) = console_post(
        &s,
        &rep,
        "/console/reports",
        report("forged", "submit", "console-form.example.cn"),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(cases_of_secco().await, before, "refused forms file nothing");
    let good = "console-form.example.cn\nhttp://console-form.example.cn/pay";
    let (st, to, _) = console_post(
        &s,
        &rep,
        "/console/reports",
        report(&rep_csrf, "submit", good),
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let case_page = to.unwrap().replace("?done=1", "");
    let case_id = case_page.rsplit('/').next().unwrap().to_owned();
    assert_eq!(cases_of_secco().await, before + 1);
    let (st, page) = console_get(&s, &rep, &case_page).await;
    assert_eq!(st, StatusCode::OK);
    assert!(page.contains("Console phishing") && page.contains("console-form.example.cn"));
    assert!(
        !page.contains("id=\"determine\""),
        "reporters do not determine"
    );
    assert!(
        page.contains("id=\"reports\"") && page.contains("secco-alpha"),
        "{page}"
    );

    // A threat handled in the reporter's own systems goes on file (Art. 6, 11).
    let mut own = report(&rep_csrf, "submit", "192.0.2.201");
    own.push(("self_handled", "1".to_owned()));
    own.push((
        "actions_taken",
        "Isolated the VM and restored it".to_owned(),
    ));
    let (st, to, _) = console_post(&s, &rep, "/console/reports", own).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let to = to.unwrap();
    let rid = to.split("filed=").nth(1).unwrap().to_owned();
    let (_, page) = console_get(&s, &rep, &to).await;
    assert!(page.contains("id=\"filed\"") && page.contains(&rid));
    let (st, r) = s.get("secco", &format!("/api/v1/reports/{rid}")).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(r["self_handled"], "Isolated the VM and restored it");

    // The analyst determines through the form; a bad choice is refused with its reason.
    let (ana, ana_csrf) = console_sign_in(&s, "cncert", Role::Analyst).await;
    let (_, page) = console_get(&s, &ana, &case_page).await;
    assert!(page.contains("id=\"determine\""), "{page}");
    let det = |verdict: &str| {
        vec![
            ("csrf", ana_csrf.clone()),
            ("verdict", verdict.to_owned()),
            ("severity", "high".to_owned()),
            ("incident_level", "".to_owned()),
            ("rationale", "Confirmed by a test purchase".to_owned()),
        ]
    };
    let path = format!("{case_page}/determination");
    let (st, _, page) = console_post(&s, &ana, &path, det("guilty")).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("verdict"), "{page}");
    let (st, _, _) = console_post(&s, &ana, &path, det("confirmed")).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (_, c) = s.get("cncert", &format!("/api/v1/cases/{case_id}")).await;
    assert_eq!(c["status"], "determined");
    let (_, page) = console_get(&s, &ana, &case_page).await;
    assert!(page.contains("awaiting decision") && page.contains("Confirmed by a test purchase"));
    // The filtered list finds it by state and category, and not under another state.
    let (st, page) = console_get(
        &s,
        &ana,
        "/console/cases?status=determined&category=malicious_resource",
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert!(page.contains(&case_page), "{page}");
    let (_, page) = console_get(&s, &ana, "/console/cases?status=assigned").await;
    assert!(!page.contains(&case_page));
    let (st, page) = console_get(&s, &ana, "/console/cases?province=999999").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("province"), "{page}");
    // The same form again is refused by the core: the case has moved on.
    let (_, page) = console_get(&s, &rep, &case_page).await;
    assert!(!page.contains("id=\"determine\""));

    // The reviewer decides through the form: each indicator a row, with where routing sends
    // it and the policy deadline; an approval without a measure is refused.
    let (rev, rev_csrf) = console_sign_in(&s, "ca-guangdong", Role::Reviewer).await;
    let (_, page) = console_get(&s, &rev, &case_page).await;
    assert!(
        page.contains("id=\"decide\"") && page.contains(" h → "),
        "{page}"
    );
    let (_, c) = s.get("gd", &format!("/api/v1/cases/{case_id}")).await;
    let indicators = c["indicators"].as_array().unwrap().clone();
    let decide = |use_domain: bool| {
        let mut f = vec![
            ("csrf", rev_csrf.clone()),
            ("outcome", "approved".to_owned()),
            ("reasons", "Confirmed phishing".to_owned()),
        ];
        for (i, ind) in indicators.iter().enumerate() {
            let key = |k: &str| -> &'static str { Box::leak(format!("m{i}_{k}").into_boxed_str()) };
            f.push((key("type"), ind["type"].as_str().unwrap().to_owned()));
            f.push((key("value"), ind["value"].as_str().unwrap().to_owned()));
            f.push((key("kind"), "block".to_owned()));
            if use_domain && ind["type"] == "domain" {
                f.push((key("use"), "1".to_owned()));
                f.push((key("recipient"), "china-telecom".to_owned()));
            }
        }
        f
    };
    let path = format!("{case_page}/decision");
    let (st, _, page) = console_post(&s, &rev, &path, decide(false)).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("at least one measure"), "{page}");
    let (st, _, _) = console_post(&s, &rev, &path, decide(true)).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (_, notices) = s.get("telecom", "/api/v1/notices").await;
    let nid = notices["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["case_id"] == case_id.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let notice_page = format!("/console/notices/{nid}");
    // The case page lists its notices a page at a time; one page here, and a made-up cursor
    // is refused.
    let (_, page) = console_get(&s, &rev, &case_page).await;
    assert!(
        page.contains(&notice_page) && !page.contains("?notices="),
        "{page}"
    );
    let (st, _) = console_get(&s, &rev, &format!("{case_page}?notices=nonsense")).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    // The responder finds the notice in the inbox, signs for it and reports back.
    let (resp, resp_csrf) = console_sign_in(&s, "china-telecom", Role::Responder).await;
    let (_, home) = console_get(&s, &resp, "/console/").await;
    assert!(home.contains(&notice_page), "the inbox links the notice");
    let (st, page) = console_get(&s, &resp, &notice_page).await;
    assert_eq!(st, StatusCode::OK);
    let (_, n) = s.get("telecom", &format!("/api/v1/notices/{nid}")).await;
    assert_eq!(n["status"], "delivered", "the first view is the delivery");
    let signed: warden_core::notice::SignedNotice = serde_json::from_value(n).unwrap();
    let fp = warden_core::notice::fingerprint(&signed.body.canonical());
    assert!(
        page.contains(&fp) && page.contains(&signed.body.reference),
        "{page}"
    );
    assert!(page.contains("id=\"acknowledge\"") && page.contains("id=\"feedback\""));
    let (st, _, _) = console_post(
        &s,
        &resp,
        &format!("{notice_page}/acknowledge"),
        vec![("csrf", "x".into())],
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _, _) = console_post(
        &s,
        &resp,
        &format!("{notice_page}/acknowledge"),
        vec![("csrf", resp_csrf.clone())],
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let fb = |outcome: &str| {
        vec![
            ("csrf", resp_csrf.clone()),
            ("outcome", outcome.to_owned()),
            ("actions_taken", "Blocked at the resolvers".to_owned()),
        ]
    };
    let (st, _, _) = console_post(&s, &resp, &format!("{notice_page}/feedback"), fb("maybe")).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let (st, _, _) = console_post(&s, &resp, &format!("{notice_page}/feedback"), fb("done")).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (_, n) = s.get("telecom", &format!("/api/v1/notices/{nid}")).await;
    assert_eq!(n["status"], "feedback_filed");
    // Another operator's responder cannot see it at all.
    let (other, _) = console_sign_in(&s, "china-mobile", Role::Responder).await;
    let (st, _) = console_get(&s, &other, &notice_page).await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // The institution's verifier records the result.
    let (ver, ver_csrf) = console_sign_in(&s, "cncert", Role::Verifier).await;
    let (_, page) = console_get(&s, &ver, &notice_page).await;
    assert!(page.contains("id=\"verify\""), "{page}");
    // A probe from the page: a bad port is refused with its reason; a DNS probe asks the
    // recipient's declared resolvers, and this world declares none.
    let probe = |method: &str, port: &str| {
        vec![
            ("csrf", ver_csrf.clone()),
            ("method", method.to_owned()),
            ("port", port.to_owned()),
            ("every", "".to_owned()),
        ]
    };
    let (st, _, page) = console_post(
        &s,
        &ver,
        &format!("{notice_page}/probes"),
        probe("tcp", "99999"),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("is not a port number"), "{page}");
    let (st, _, page) =
        console_post(&s, &ver, &format!("{notice_page}/probes"), probe("dns", "")).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("has declared no resolver"), "{page}");
    let (st, _, _) = console_post(
        &s,
        &ver,
        &format!("{notice_page}/verification"),
        vec![
            ("csrf", ver_csrf),
            ("result", "passed".into()),
            ("notes", "Resolvers answer NXDOMAIN".into()),
        ],
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (_, n) = s.get("telecom", &format!("/api/v1/notices/{nid}")).await;
    assert_eq!(n["status"], "verified");
    let (_, page) = console_get(&s, &ver, &case_page).await;
    assert!(
        page.contains(&notice_page) && page.contains("verified"),
        "{page}"
    );
    // An appeal reaches the deciding authority's home with the reply countdown in working
    // days (30 from the filing); the reviewer shortens the block through the form.
    let (_, n) = s.get("telecom", &format!("/api/v1/notices/{nid}")).await;
    let mid = n["measure_id"].as_str().unwrap().to_owned();
    let (st, a) = s
        .post(
            "netco",
            &format!("/api/v1/measures/{mid}/appeals"),
            json!({"appellant": {"name": "Shop owner", "contact": "owner@example.cn"}, "grounds": "The site was cleaned"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    let appeal_id = a["id"].as_str().unwrap().to_owned();
    let appeal_page = format!("/console/appeals/{appeal_id}");
    let (_, home) = console_get(&s, &rev, "/console/").await;
    assert!(home.contains(&appeal_page), "{home}");
    assert!(home.contains("30 working days"), "{home}");
    let (_, page) = console_get(&s, &rev, &notice_page).await;
    assert!(page.contains(&appeal_page), "the notice lists its appeals");
    let (_, page) = console_get(&s, &resp, &notice_page).await;
    assert!(
        !page.contains(&appeal_page),
        "the appellant's details are not the recipient's to see"
    );
    let (_, page) = console_get(&s, &rev, &appeal_page).await;
    assert!(page.contains("id=\"answer\"") && page.contains("The site was cleaned"));
    let (_, page) = console_get(&s, &resp, &appeal_page).await;
    assert!(
        !page.contains("id=\"answer\""),
        "only the deciding authority answers"
    );
    let answer = |outcome: &str| {
        vec![
            ("csrf", rev_csrf.clone()),
            ("outcome", outcome.to_owned()),
            ("reasons", "Cleaned, checked".to_owned()),
        ]
    };
    let (st, _, _) = console_post(
        &s,
        &rev,
        &format!("{appeal_page}/decision"),
        answer("pardoned"),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    // "Modified" needs the change; a date must be a date.
    let mut modify = answer("modified");
    let (st, _, page) =
        console_post(&s, &rev, &format!("{appeal_page}/decision"), modify.clone()).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    modify.push(("new_expiry", "next week".to_owned()));
    let (st, _, page) = console_post(&s, &rev, &format!("{appeal_page}/decision"), modify).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("is not a date"), "{page}");
    let mut modify = answer("modified");
    modify.push(("new_expiry", "2026-10-31".to_owned()));
    let (st, _, page) = console_post(&s, &rev, &format!("{appeal_page}/decision"), modify).await;
    assert_eq!(st, StatusCode::SEE_OTHER, "{page}");
    let (_, a) = s.get("gd", &format!("/api/v1/appeals/{appeal_id}")).await;
    assert_eq!(a["status"], "modified");
    assert_eq!(
        a["decision"]["modification"]["expires_at"], "2026-11-01T00:00:00+08:00",
        "the block ends with the chosen day, Beijing time"
    );
    let (_, home) = console_get(&s, &rev, "/console/").await;
    assert!(
        !home.contains(&appeal_page),
        "an answered appeal leaves the queue"
    );

    // The auditor reads the trail, with the chain's state; nobody else can.
    let (aud, _) = console_sign_in(&s, "miit", Role::Auditor).await;
    let (st, page) = console_get(&s, &aud, "/console/audit").await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        page.contains("intact") && page.contains("case.assigned"),
        "{page}"
    );
    let (st, _) = console_get(&s, &rev, "/console/audit").await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // The dashboard: SVG drawn on the server, over what the person may see.
    let (st, page) = console_get(&s, &rev, "/console/dashboard").await;
    assert_eq!(st, StatusCode::OK);
    for id in ["opened", "handling", "overdue-province", "overdue-org"] {
        assert!(
            page.contains(&format!("<section id=\"{id}\"")),
            "{id}: {page}"
        );
    }
    assert!(page.contains("<svg") && page.contains("Cases opened per day"));
    assert!(
        page.contains("<title>2026-09-28 malicious network resource: 1"),
        "today's case is drawn: {page}"
    );
    let (st, page) = console_get(&s, &other, "/console/dashboard").await;
    assert_eq!(st, StatusCode::OK);
    assert!(page.contains("<section id=\"opened\""));
    assert!(
        !page.contains("<title>2026-09-28 malicious network resource: 1"),
        "china-mobile reported no case and sees none"
    );
    let r = http
        .get(format!("{}/console/dashboard", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "the public signs in first"
    );
}

async fn the_console_keeps_enforcement_records(s: Server) {
    // A notice goes overdue: the deadline job raises the record.
    decided_block(&s, "late-console.example.cn").await;
    s.clock
        .as_ref()
        .unwrap()
        .set(NOW + time::Duration::hours(7));
    let r = warden_service::jobs::run_due(&s.state.svc, "a")
        .await
        .unwrap();
    assert_eq!(r.overdue, 1);
    let (_, list) = s.get("gd", "/api/v1/enforcements").await;
    let eid = list["items"][0]["id"].as_str().unwrap().to_owned();
    let page_path = format!("/console/enforcements/{eid}");

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (rev, csrf) = console_sign_in(&s, "ca-guangdong", Role::Reviewer).await;
    let (_, home) = console_get(&s, &rev, "/console/").await;
    assert!(
        home.contains("id=\"enforcement\"") && home.contains(&page_path),
        "{home}"
    );
    let (st, page) = console_get(&s, &rev, &page_path).await;
    assert_eq!(st, StatusCode::OK);
    assert!(page.contains("no report back by the deadline") && page.contains("id=\"act\""));
    let (sr, rev_s, csrf_s, actions) = (
        &s,
        rev.as_str(),
        csrf.as_str(),
        format!("{page_path}/actions"),
    );
    let actions = actions.as_str();
    let act = move |kind: &str, basis: &str, amount: &str| {
        let fields = vec![
            ("csrf", csrf_s.to_owned()),
            ("kind", kind.to_owned()),
            ("basis", basis.to_owned()),
            ("amount_yuan", amount.to_owned()),
            ("notes", "Summoned the head of security".to_owned()),
        ];
        async move {
            let (st, _, page) = console_post(sr, rev_s, actions, fields).await;
            (st, page)
        }
    };
    // The core's rules show as the page's refusal: a fine needs its amount.
    let (st, page) = act("fine", "csl-59", "").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("class=\"error\""), "{page}");
    let (st, _) = act("fine", "csl-59", "fifty").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(act("talk", "csl-56", "").await.0, StatusCode::SEE_OTHER);
    assert_eq!(
        act("fine", "csl-59", "50000").await.0,
        StatusCode::SEE_OTHER
    );
    let (_, page) = console_get(&s, &rev, &page_path).await;
    assert!(
        page.contains("网络安全法 Art. 61") && page.contains("50000"),
        "{page}"
    );
    assert!(
        page.contains("1 talk · 0 warning · 1 fine (50000 ¥)"),
        "{page}"
    );
    // Compliance of every organisation in the authority's province, most overdue first.
    let (st, page) = console_get(&s, &rev, "/console/compliance").await;
    assert_eq!(st, StatusCode::OK);
    let row = page
        .split("<tr")
        .find(|r| r.contains("china-telecom"))
        .unwrap_or_default();
    assert!(
        row.contains("class=\"alert\"")
            && row.contains("<td>100%</td>")
            && row.contains("1 (50000 ¥)"),
        "{page}"
    );
    // The operator sees its own record, without the form; another authority sees nothing.
    let (op, _) = console_sign_in(&s, "china-telecom", Role::Responder).await;
    let (st, page) = console_get(&s, &op, &page_path).await;
    assert_eq!(st, StatusCode::OK);
    assert!(!page.contains("id=\"act\""));
    let (bj, _) = console_sign_in(&s, "ca-beijing", Role::Reviewer).await;
    assert_eq!(
        console_get(&s, &bj, &page_path).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        console_get(&s, &op, "/console/compliance").await.0,
        StatusCode::FORBIDDEN
    );
    let (_, page) = console_get(&s, &bj, "/console/compliance").await;
    assert!(!page.contains("china-telecom"), "Beijing sees Beijing only");

    // An emergency: the deciding authority records the telephone call from the notice page.
    let (_, created) = s
        .post(
            "secco",
            "/api/v1/reports",
            report("ransom-console.example.cn"),
        )
        .await;
    let case = format!("/api/v1/cases/{}", created["case_id"].as_str().unwrap());
    let det = json!({"verdict": "confirmed", "severity": "critical", "incident_level": "I", "rationale": "Ransomware C2"});
    s.post("cncert", &format!("{case}/determination"), det)
        .await;
    let decision = json!({"outcome": "approved", "reasons": "Emergency block", "measures": [
        {"kind": "block", "target": {"type": "domain", "value": "ransom-console.example.cn"}, "recipient_org": "china-telecom"}]});
    // A level I incident is MIIT's to decide (Art. 13).
    let (st, out) = s.post("miit", &format!("{case}/decision"), decision).await;
    assert_eq!(st, StatusCode::CREATED, "{out}");
    let nid = out["measures"][0]["notice_id"].as_str().unwrap().to_owned();
    let (mi, mcsrf) = console_sign_in(&s, "miit", Role::Reviewer).await;
    let (st, page) = console_get(&s, &mi, &format!("/console/notices/{nid}")).await;
    assert_eq!(st, StatusCode::OK, "{page}");
    assert!(
        page.contains("id=\"telephone\"")
            && page.contains("id=\"phone\"")
            && page.contains("id=\"written\""),
        "{page}"
    );
    // The province follows MIIT's measure without making its calls.
    let (_, page) = console_get(&s, &rev, &format!("/console/notices/{nid}")).await;
    assert!(
        page.contains("id=\"telephone\"") && !page.contains("id=\"phone\""),
        "{page}"
    );
    // Nothing has reached the operator before the call.
    let (st, _) = console_get(&s, &op, &format!("/console/notices/{nid}")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let call = vec![
        ("csrf", mcsrf.clone()),
        ("called_person", "Duty officer Wang".to_owned()),
        ("called_number", "+861012345678".to_owned()),
        ("answered_by", "Deputy Li".to_owned()),
        (
            "summary",
            "Block it now; the written notice follows".to_owned(),
        ),
    ];
    let (st, _, _) = console_post(&s, &mi, &format!("/console/notices/{nid}/phone"), call).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let m = s
        .store
        .measure_by_notice(nid.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .value;
    assert_eq!(m.phone_notifications.len(), 1);
    // Telephoned, the operator sees the order and acknowledges it before the paper.
    let (st, page) = console_get(&s, &op, &format!("/console/notices/{nid}")).await;
    assert_eq!(st, StatusCode::OK, "{page}");
    assert!(
        page.contains("id=\"acknowledge\"") && !page.contains("id=\"telephone\""),
        "{page}"
    );
    let (st, _, _) = console_post(
        &s,
        &mi,
        &format!("/console/notices/{nid}/written"),
        vec![("csrf", mcsrf.clone())],
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (_, page) = console_get(&s, &op, &format!("/console/notices/{nid}")).await;
    assert!(
        page.contains("ransom-console.example.cn") && page.contains("miit:"),
        "the signed written notice: {page}"
    );

    // Bulletins to members and publications to the public, issued from the console.
    let (_, page) = console_get(&s, &rev, "/console/bulletins").await;
    assert!(page.contains("id=\"issue\""));
    let issue = move |kind: &str, title: &str| {
        let fields = vec![
            ("csrf", csrf_s.to_owned()),
            ("kind", kind.to_owned()),
            ("tlp", "amber".to_owned()),
            ("title", title.to_owned()),
            ("body", "Block the listed domains.".to_owned()),
        ];
        async move {
            console_post(sr, rev_s, "/console/bulletins", fields)
                .await
                .0
        }
    };
    assert_eq!(issue("memo", "x").await, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        issue("bulletin", "Operators: new phishing wave").await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        issue("publication", "Phishing wave closed down").await,
        StatusCode::SEE_OTHER
    );
    let (_, page) = console_get(&s, &op, "/console/bulletins").await;
    assert!(!page.contains("id=\"issue\""), "operators do not issue");
    assert!(page.contains("Operators: new phishing wave") && page.contains("TLP:AMBER"));
    let public = http
        .get(format!("{}/console/", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(public.contains("Phishing wave closed down"));
    assert!(
        !public.contains("Operators: new phishing wave"),
        "bulletins stay with members"
    );
}

/// Organisations in the console: Guangdong's admin registers a member from the form (the
/// province offered by name), its admin keeps the contacts current, Guangdong suspends it and
/// its person's session ends at once; others see no contacts and no forms.
async fn the_console_administers_organisations(s: Server) {
    let (gd, gd_csrf) = console_sign_in(&s, "ca-guangdong", Role::Admin).await;
    let (st, html) = console_get(&s, &gd, "/console/organisations?type=provincial_authority").await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        html.contains("ca-xinjiang") && html.contains("Jiangsu"),
        "{html}"
    );
    assert!(html.contains("id=\"register\""));
    let fields = |slug: &str, province: &str, rp_name: &str| {
        vec![
            ("csrf", gd_csrf.clone()),
            ("slug", slug.to_owned()),
            ("name", "广州云计算有限公司".to_owned()),
            ("type", "service_provider".to_owned()),
            ("province", province.to_owned()),
            ("supervising_unit", String::new()),
            ("department", "安全部".to_owned()),
            ("rp_name", rp_name.to_owned()),
            ("rp_phone", "+862055509999".to_owned()),
            ("rp_email", String::new()),
            ("cp_name", "王五".to_owned()),
            ("cp_phone", String::new()),
            ("cp_email", "soc@gz-cloud.example.cn".to_owned()),
        ]
    };
    // Refusals come back with the form filled in.
    let (st, _, html) = console_post(
        &s,
        &gd,
        "/console/organisations",
        fields("gz-cloud", "32", "李四"),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("province 44 only") && html.contains("value=\"gz-cloud\""),
        "{html}"
    );
    let (st, _, html) = console_post(
        &s,
        &gd,
        "/console/organisations",
        fields("gz-cloud", "44", " "),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("contacts.responsible_person"), "{html}");
    let (st, to, _) = console_post(
        &s,
        &gd,
        "/console/organisations",
        fields("gz-cloud", "44", "李四"),
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert_eq!(
        to.as_deref(),
        Some("/console/organisations/gz-cloud?done=1")
    );
    let (_, html) = console_get(&s, &gd, "/console/organisations/gz-cloud").await;
    assert!(
        html.contains("李四") && html.contains("id=\"suspension\""),
        "{html}"
    );
    // Its own admin changes the contacts, and is offered nothing else.
    let (own, own_csrf) = console_sign_in(&s, "gz-cloud", Role::Admin).await;
    let (_, html) = console_get(&s, &own, "/console/organisations/gz-cloud").await;
    assert!(!html.contains("id=\"suspension\"") && !html.contains("id=\"identity\""));
    let mut contacts = fields("gz-cloud", "44", "赵六");
    contacts[0].1 = own_csrf.clone();
    contacts.push(("part", "contacts".to_owned()));
    let (st, _, _) = console_post(&s, &own, "/console/organisations/gz-cloud", contacts).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (_, html) = console_get(&s, &gd, "/console/organisations/gz-cloud").await;
    assert!(html.contains("赵六"), "the authority sees the change");
    // Another member sees who it is, not its people.
    let (secco, _) = console_sign_in(&s, "secco-alpha", Role::Reporter).await;
    let (_, html) = console_get(&s, &secco, "/console/organisations/gz-cloud").await;
    assert!(!html.contains("赵六") && !html.contains("id=\"register\""));
    // Suspended: its person's session ends at once.
    let (st, _, _) = console_post(
        &s,
        &gd,
        "/console/organisations/gz-cloud/suspension",
        vec![
            ("csrf", gd_csrf.clone()),
            ("action", "suspend".into()),
            ("reason", "licence revoked".into()),
        ],
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (st, html) = console_get(&s, &own, "/console/").await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "asked to sign in again");
    assert!(html.contains("/console/login"));
    let (_, html) = console_get(&s, &gd, "/console/organisations?status=suspended").await;
    assert!(html.contains("gz-cloud"));
    // The report form offers the provinces by name, sending their codes.
    let (_, html) = console_get(&s, &secco, "/console/reports/new").await;
    assert!(
        html.contains("<option value=\"32\">Jiangsu</option>"),
        "{html}"
    );
}
