//! People and API clients administered over the API and the console: invitations by one-time
//! link, roles and disabling, resets, the per-account lock, TOTP second factors, and tokens
//! with their last use.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use warden_core::clock::Clock as _;
use warden_core::org::Role;
use warden_service::credentials::totp;

on_both!(
    people_are_invited_and_administered,
    a_second_factor_is_asked_once_enrolled,
    tokens_are_administered_with_their_last_use,
);

/// Uses a one-time link as the console's form does: status and body.
async fn use_link(s: &Server, link: &str, password: &str, code: &str) -> (StatusCode, String) {
    let r = form(
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(format!("{}{link}", s.base)),
        &[("password", password), ("again", password), ("code", code)],
    )
    .send()
    .await
    .unwrap();
    (r.status(), r.text().await.unwrap())
}

fn base32_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut buf, mut bits, mut out) = (0u32, 0u32, vec![]);
    for c in s.chars() {
        buf = (buf << 5) | ALPHABET.find(c).unwrap() as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    out
}

/// The TOTP secret a welcome or account page shows.
fn page_secret(html: &str) -> Vec<u8> {
    let s = html
        .split("id=\"totp-secret\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap();
    base32_decode(s.trim())
}

fn code_at(secret: &[u8], s: &Server, ahead: i64) -> String {
    let now = s.clock.as_ref().unwrap().now().unix_timestamp();
    format!("{:06}", totp::code(secret, totp::step(now) + ahead))
}

async fn people_are_invited_and_administered(s: Server) {
    // The operator's own admin invites; another province's may not; a reporter may not.
    let invite =
        json!({"name": "li.si@china-telecom", "display_name": "李四", "roles": ["responder"]});
    let (st, p) = s
        .post(
            "js-admin",
            "/api/v1/organisations/china-telecom/people",
            invite.clone(),
        )
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::FORBIDDEN, "forbidden-jurisdiction"),
        "{p}"
    );
    let (st, p) = s
        .post(
            "secco",
            "/api/v1/organisations/secco-alpha/people",
            invite.clone(),
        )
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::FORBIDDEN, "forbidden-role"));
    let (st, issued) = s
        .post(
            "telecom-admin",
            "/api/v1/organisations/china-telecom/people",
            invite.clone(),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{issued}");
    assert_eq!(issued["person"]["has_password"], false);
    let link = issued["link"].as_str().unwrap().to_owned();
    assert!(
        link.starts_with("/console/welcome/") && link.len() > 60,
        "{link}"
    );
    let (st, p) = s
        .post(
            "telecom-admin",
            "/api/v1/organisations/china-telecom/people",
            invite,
        )
        .await;
    assert_eq!((st, kind(&p)), (StatusCode::CONFLICT, "duplicate"));
    // The link's secret is nowhere in the trail.
    let (_, audit) = s.get("miit-auditor", "/api/v1/audit?limit=1000").await;
    let secret = link.trim_start_matches("/console/welcome/");
    assert!(!audit.to_string().contains(secret));
    assert!(audit.to_string().contains("principal.invited"));

    // The person sets a password through the link, once.
    let (st, body) = use_link(&s, &link, "short", "").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (st, _) = use_link(&s, &link, "li si's own passphrase", "").await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (st, _) = use_link(&s, &link, "li si's own passphrase", "").await;
    assert_eq!(st, StatusCode::NOT_FOUND, "a link works once");
    let r = post_console_login(&s, "li.si@china-telecom", "li si's own passphrase").await;
    assert!(set_cookie(&r, "warden_session").is_some());

    // Five wrong passwords lock the account, whatever the address; then even the right one
    // is refused until the lock ends.
    for _ in 0..5 {
        let r = post_console_login(&s, "li.si@china-telecom", "not the passphrase").await;
        assert!(set_cookie(&r, "warden_session").is_none());
    }
    let r = post_console_login(&s, "li.si@china-telecom", "li si's own passphrase").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        r.text().await.unwrap().contains("账户已锁定"),
        "the console says so (zh-CN)"
    );
    let (_, people) = s
        .get(
            "telecom-admin",
            "/api/v1/organisations/china-telecom/people",
        )
        .await;
    let li = people["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "li.si@china-telecom")
        .unwrap()
        .clone();
    assert!(li["locked_until"].is_string(), "{li}");
    s.clock
        .as_ref()
        .unwrap()
        .advance(time::Duration::minutes(16));
    let r = post_console_login(&s, "li.si@china-telecom", "li si's own passphrase").await;
    let session = set_cookie(&r, "warden_session").expect("the lock ends");

    // Roles change; disabling ends the person's session at once; nobody disables themselves.
    let patch = |who: &'static str, name: &str, body: Value| {
        let s = &s;
        let path = format!("/api/v1/people/{name}");
        async move {
            s.call(Some(who), Method::PATCH, &path, Some(body), None)
                .await
        }
    };
    let (st, p) = patch(
        "telecom-admin",
        "li.si@china-telecom",
        json!({"roles": ["responder", "reporter"]}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{p}");
    assert_eq!(p["roles"], json!(["reporter", "responder"]));
    let (st, p) = patch(
        "miit-admin",
        "li.si@china-telecom",
        json!({"disabled": true}),
    )
    .await;
    assert_eq!(
        st,
        StatusCode::OK,
        "its authority administers its people too: {p}"
    );
    let (st, _) = console_get(&s, &session, "/console/").await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "the session ended");
    let (st, p) = patch(
        "js-admin",
        "li.si@china-telecom",
        json!({"disabled": false}),
    )
    .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::FORBIDDEN, "forbidden-jurisdiction")
    );
    let (st, _) = patch(
        "telecom-admin",
        "li.si@china-telecom",
        json!({"disabled": false}),
    )
    .await;
    assert_eq!(st, StatusCode::OK);

    // A reset link replaces the password (and the links before it).
    let (st, first) = s
        .post(
            "telecom-admin",
            "/api/v1/people/li.si@china-telecom/reset",
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{first}");
    let (_, second) = s
        .post(
            "telecom-admin",
            "/api/v1/people/li.si@china-telecom/reset",
            json!({}),
        )
        .await;
    let (st, _) = use_link(
        &s,
        first["link"].as_str().unwrap(),
        "a newer passphrase!",
        "",
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "replaced by the second");
    let (st, _) = use_link(
        &s,
        second["link"].as_str().unwrap(),
        "a newer passphrase!",
        "",
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    // (The per-address limit allows ten attempts a minute: this test makes nine.)
    let r = post_console_login(&s, "li.si@china-telecom", "a newer passphrase!").await;
    assert!(set_cookie(&r, "warden_session").is_some());
}

async fn a_second_factor_is_asked_once_enrolled(s: Server) {
    // An admin of Guangdong enrols from the account page.
    let (gd, csrf) = console_sign_in(&s, "ca-guangdong", Role::Admin).await;
    // Requiring it before having one is refused: nobody locks themselves out.
    let (st, _, html) = console_post(
        &s,
        &gd,
        "/console/organisations/ca-guangdong",
        vec![
            ("csrf", csrf.clone()),
            ("part", "factor".into()),
            ("require_second_factor", "1".into()),
        ],
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    let (st, _, html) = console_post(
        &s,
        &gd,
        "/console/account",
        vec![("csrf", csrf.clone()), ("action", "begin".into())],
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let secret = page_secret(&html);
    assert!(
        html.contains("otpauth://totp/Warden:admin%40ca-guangdong?secret="),
        "{html}"
    );
    let (st, _, _) = console_post(
        &s,
        &gd,
        "/console/account",
        vec![
            ("csrf", csrf.clone()),
            ("action", "confirm".into()),
            ("code", "000000".into()),
        ],
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let (st, _, _) = console_post(
        &s,
        &gd,
        "/console/account",
        vec![
            ("csrf", csrf.clone()),
            ("action", "confirm".into()),
            ("code", code_at(&secret, &s, 0)),
        ],
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    // Now the password alone is refused, the code is good once, HTTP Basic is refused.
    let login = |code: String| {
        let s = &s;
        async move {
            let http = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            let page = http
                .get(format!("{}/console/login", s.base))
                .send()
                .await
                .unwrap();
            let cookie = set_cookie(&page, "warden_login").unwrap();
            let csrf = hidden_csrf(&page.text().await.unwrap());
            let r = form(
                http.post(format!("{}/console/login", s.base))
                    .header("cookie", format!("warden_login={cookie}")),
                &[
                    ("username", "admin@ca-guangdong"),
                    ("password", "correct horse"),
                    ("csrf", &csrf),
                    ("code", &code),
                ],
            )
            .send()
            .await
            .unwrap();
            set_cookie(&r, "warden_session").is_some()
        }
    };
    assert!(!login(String::new()).await, "a password alone");
    assert!(
        !login(code_at(&secret, &s, 0)).await,
        "the enrolment's code again"
    );
    assert!(login(code_at(&secret, &s, 1)).await, "the next code");
    assert!(!login(code_at(&secret, &s, 1)).await, "a code is good once");
    let r = s
        .http
        .get(format!("{}/api/v1/cases", s.base))
        .basic_auth("admin@ca-guangdong", Some("correct horse"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Then the organisation requires it: a colleague without one is told what to do.
    let (st, _, _) = console_post(
        &s,
        &gd,
        "/console/organisations/ca-guangdong",
        vec![
            ("csrf", csrf.clone()),
            ("part", "factor".into()),
            ("require_second_factor", "1".into()),
        ],
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    add_person(
        &s,
        "ca-guangdong",
        "colleague@ca-guangdong",
        Role::Reviewer,
        "another passphrase",
    )
    .await;
    let r = post_console_login(&s, "colleague@ca-guangdong", "another passphrase").await;
    assert!(set_cookie(&r, "warden_session").is_none());
    assert!(r.text().await.unwrap().contains("requires a second factor"));
    // A reset link makes them enrol with it.
    let (_, issued) = s
        .post(
            "gd-admin",
            "/api/v1/people/colleague@ca-guangdong/reset",
            json!({}),
        )
        .await;
    let link = issued["link"].as_str().unwrap();
    let (_, page) = console_get(&s, "none", link).await;
    let theirs = page_secret(&page);
    let (st, _) = use_link(&s, link, "another passphrase", "").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "the code is required");
    let (st, _) = use_link(&s, link, "another passphrase", &code_at(&theirs, &s, 0)).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (_, people) = s
        .get("gd-admin", "/api/v1/organisations/ca-guangdong/people")
        .await;
    let c = people["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "colleague@ca-guangdong")
        .unwrap()
        .clone();
    assert_eq!(c["second_factor"], true, "{c}");
}

async fn tokens_are_administered_with_their_last_use(s: Server) {
    let (st, created) = s
        .post(
            "telecom-admin",
            "/api/v1/organisations/china-telecom/tokens",
            json!({"roles": ["responder"], "label": "ticketing system", "expires_in_days": 90}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    let token = created["token"].as_str().unwrap().to_owned();
    let prefix = created["prefix"].as_str().unwrap().to_owned();
    let (st, p) = s
        .post(
            "js-admin",
            "/api/v1/organisations/china-telecom/tokens",
            json!({"roles": ["responder"]}),
        )
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::FORBIDDEN, "forbidden-jurisdiction")
    );
    let (_, list) = s
        .get(
            "telecom-admin",
            "/api/v1/organisations/china-telecom/tokens",
        )
        .await;
    let row = |list: &Value| {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["prefix"] == prefix.as_str())
            .unwrap()
            .clone()
    };
    assert!(row(&list)["last_used_at"].is_null());
    assert!(
        !list.to_string().contains(&token[13..]),
        "secrets are never listed"
    );
    let r = s
        .http
        .get(format!("{}/api/v1/notices", s.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (_, list) = s
        .get(
            "telecom-admin",
            "/api/v1/organisations/china-telecom/tokens",
        )
        .await;
    assert_eq!(row(&list)["last_used_at"], "2026-09-28T02:00:00Z", "{list}");
    assert_eq!(row(&list)["status"], "active");
    let (st, p) = s
        .call(
            Some("mobile-admin"),
            Method::DELETE,
            &format!("/api/v1/tokens/{prefix}"),
            None,
            None,
        )
        .await;
    assert_eq!(
        (st, kind(&p)),
        (StatusCode::FORBIDDEN, "forbidden-organisation")
    );
    let (st, t) = s
        .call(
            Some("telecom-admin"),
            Method::DELETE,
            &format!("/api/v1/tokens/{prefix}"),
            None,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{t}");
    assert_eq!(t["status"], "revoked");
    let r = s
        .http
        .get(format!("{}/api/v1/notices", s.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // The console shows the same, and makes tokens too (the secret on that page only).
    let (admin, csrf) = console_sign_in(&s, "china-telecom", Role::Admin).await;
    let (_, html) = console_get(&s, &admin, "/console/organisations/china-telecom/people").await;
    assert!(html.contains(&prefix) && html.contains("ticketing system"));
    let (st, _, html) = console_post(
        &s,
        &admin,
        "/console/organisations/china-telecom/people",
        vec![
            ("csrf", csrf),
            ("action", "token".into()),
            ("label", "SOAR".into()),
            ("role", "responder".into()),
        ],
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert!(html.contains("id=\"secret\">wdn_"), "{html}");
}
