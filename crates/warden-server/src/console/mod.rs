//! The web console: pages rendered on the server (askama), Chinese by default and English by
//! switch, every string from a message catalog (`i18n/*.toml`). People sign in with the
//! users of `warden admin user create`; sessions live in the database (the cookie holds a
//! random secret, the database its hash); every form carries the session's CSRF token (the
//! sign-in form a double-submit cookie); every page goes out with a strict CSP (no inline
//! script or style) and the other security headers. What a page shows comes from the same
//! service calls, and so the same core rules, as the API.

use crate::state::AppState;
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Redirect, Response};
use axum::routing::{get, post};

/// A page's template reaches the layout's fields (`lang`, `m`, `user`, …) as its own.
macro_rules! layout_page {
    ($page:ty) => {
        impl std::ops::Deref for $page {
            type Target = $crate::console::frame::Layout;
            fn deref(&self) -> &Self::Target {
                &self.layout
            }
        }
    };
}

mod charts;
mod forms;
mod frame;
mod home;
mod inquiries;
mod members;
mod oversight;
mod pages;
mod people;
mod tables;

pub use frame::{Messages, messages};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/console/") }))
        .route("/console", get(|| async { Redirect::to("/console/") }))
        .route("/console/", get(home::home))
        .route("/console/login", get(home::login_form).post(home::login))
        .route("/console/logout", post(home::logout))
        .route("/console/lookup", get(home::lookup))
        .route("/console/cases/{id}", get(pages::case_page))
        .route("/console/cases/{id}/assign", post(pages::assign))
        .route("/console/cases/{id}/determination", post(pages::determine))
        .route("/console/cases/{id}/decision", post(pages::decide))
        .route("/console/notices/{id}", get(pages::notice_page))
        .route(
            "/console/notices/{id}/acknowledge",
            post(pages::acknowledge),
        )
        .route("/console/notices/{id}/feedback", post(pages::feedback))
        .route("/console/notices/{id}/verification", post(pages::verify))
        .route("/console/notices/{id}/probes", post(pages::probe))
        .route("/console/notices/{id}/phone", post(pages::phone))
        .route("/console/notices/{id}/written", post(pages::written))
        .route("/console/appeals/{id}", get(oversight::appeal_page))
        .route("/console/appeals/{id}/decision", post(oversight::answer))
        .route("/console/audit", get(oversight::audit_page))
        .route("/console/dashboard", get(charts::dashboard))
        .route(
            "/console/bulletins",
            get(oversight::bulletins_page).post(oversight::issue_bulletin),
        )
        .route(
            "/console/inquiries",
            get(inquiries::inquiries_page).post(inquiries::ask),
        )
        .route(
            "/console/inquiries/{id}",
            get(inquiries::inquiry_page).post(inquiries::answer),
        )
        .route(
            "/console/enforcements/{id}",
            get(oversight::enforcement_page),
        )
        .route(
            "/console/enforcements/{id}/actions",
            post(oversight::record_action),
        )
        .route(
            "/console/appeal",
            get(oversight::public_appeal_form).post(oversight::public_appeal),
        )
        .route("/console/cases", get(pages::cases_page))
        .route(
            "/console/organisations",
            get(members::list_page).post(members::register),
        )
        .route(
            "/console/organisations/{slug}",
            get(members::org_page).post(members::amend),
        )
        .route(
            "/console/organisations/{slug}/suspension",
            post(members::suspension),
        )
        .route(
            "/console/organisations/{slug}/people",
            get(people::people_page).post(people::people_action),
        )
        .route(
            "/console/welcome/{secret}",
            get(people::welcome).post(people::accept),
        )
        .route(
            "/console/account",
            get(people::account).post(people::account_action),
        )
        .route("/console/compliance", get(oversight::compliance_page))
        .route("/console/reports/new", get(pages::report_form))
        .route("/console/reports", post(pages::submit_report))
        .route("/console/reports/check", post(pages::check_values))
        .route("/console/lang/{lang}", get(home::set_lang))
        .route("/console/assets/console.css", get(home::css))
        .route("/console/assets/htmx.min.js", get(home::htmx))
        .route("/favicon.ico", get(home::icon))
        .route("/console/assets/icon.svg", get(home::icon))
        .layer(axum::middleware::from_fn(no_nul_in_forms))
        .layer(axum::middleware::map_response(security_headers))
}

/// A form whose fields hold a NUL character (`%00`) is refused before any handler reads it:
/// no field accepts one, and PostgreSQL cannot store it.
async fn no_nul_in_forms(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let form = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, crate::state::BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return (
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "the form is larger than the server accepts",
            )
                .into_response();
        }
    };
    if bytes.windows(3).any(|w| w.eq_ignore_ascii_case(b"%00")) {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            "a field of the form holds a NUL character (%00), which no field accepts",
        )
            .into_response();
    }
    next.run(axum::extract::Request::from_parts(
        parts,
        axum::body::Body::from(bytes),
    ))
    .await
}

/// Strict headers on every console response: nothing runs or loads but what the binary serves.
async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    let set = |h: &mut HeaderMap, k: &'static str, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(
        h,
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(h, "x-content-type-options", "nosniff");
    set(h, "x-frame-options", "DENY");
    set(h, "referrer-policy", "no-referrer");
    set(h, "cross-origin-opener-policy", "same-origin");
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, "cache-control", "no-store");
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_catalogs_have_every_key() {
        let zh: std::collections::BTreeSet<_> = messages("zh-CN").keys().collect();
        let en: std::collections::BTreeSet<_> = messages("en").keys().collect();
        assert!(zh.len() > 40);
        assert_eq!(zh, en);
        // Every key the code and the templates use is in them.
        let used = [
            include_str!("mod.rs"),
            include_str!("pages.rs"),
            include_str!("oversight.rs"),
            include_str!("members.rs"),
            include_str!("people.rs"),
            include_str!("../../templates/people.html"),
            include_str!("../../templates/welcome.html"),
            include_str!("../../templates/account.html"),
            include_str!("../../templates/organisations.html"),
            include_str!("../../templates/organisation.html"),
            include_str!("../../templates/org_contacts.html"),
            include_str!("../../templates/appeal.html"),
            include_str!("../../templates/audit.html"),
            include_str!("../../templates/public_appeal.html"),
            include_str!("../../templates/checked.html"),
            include_str!("../../templates/dashboard.html"),
            include_str!("../../templates/enforcement.html"),
            include_str!("../../templates/bulletins.html"),
            include_str!("inquiries.rs"),
            include_str!("../../templates/inquiries.html"),
            include_str!("../../templates/inquiry.html"),
            include_str!("../../templates/cases.html"),
            include_str!("../../templates/compliance.html"),
            include_str!("charts.rs"),
            include_str!("../../templates/case.html"),
            include_str!("../../templates/notice.html"),
            include_str!("../../templates/report.html"),
            include_str!("../../templates/base.html"),
            include_str!("../../templates/home.html"),
            include_str!("../../templates/login.html"),
            include_str!("../../templates/lookup.html"),
        ]
        .concat();
        for part in used.split(".t(\"").skip(1) {
            let key = part.split('"').next().unwrap_or_default();
            // `t("` also ends other calls, such as `split("`: keys are identifiers.
            if !key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                continue;
            }
            assert!(
                zh.contains(&key.to_owned()),
                "{key} is used but in no catalog"
            );
        }
        let has = |k: String| assert!(zh.contains(&k), "{k} is in no catalog");
        for role in warden_core::org::Role::ALL {
            has(format!("role_{}", role.as_str()));
        }
        for c in warden_core::taxonomy::Category::ALL {
            has(format!("category_{}", c.as_str()));
            for st in c.subtypes() {
                has(format!("subtype_{}", st.as_str()));
            }
        }
        for st in warden_core::lifecycle::CaseStatus::ALL
            .iter()
            .map(|s| s.as_str())
            .chain([
                "issued",
                "delivered",
                "acknowledged",
                "feedback_filed",
                "verified",
                "reopened",
                "closed",
            ])
        {
            has(format!("status_{st}"));
        }
        for k in [
            "action_talk",
            "action_warning",
            "action_fine",
            "reason_overdue",
            "reason_verification_failed",
            "reason_repeated_failures",
        ] {
            has(k.to_owned());
        }
        for st in ["filed", "under_review", "upheld", "revoked", "modified"] {
            has(format!("status_appeal_{st}"));
        }
        for st in ["active", "revoked", "expired"] {
            has(format!("token_{st}"));
        }
        for t in warden_core::org::OrgType::ALL {
            has(format!("org_type_{}", t.as_str()));
        }
        for k in warden_core::lifecycle::MeasureKind::ALL {
            has(format!("kind_{}", k.as_str()));
        }
    }
}
