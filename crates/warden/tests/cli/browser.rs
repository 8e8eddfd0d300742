//! The web console in a real browser.

use super::*;

/// The web console in Debian's chromium, driven by playwright-core against `warden serve
/// --demo` on a free port: `scripts/console-check.cjs` walks one part (the public pages in
/// Chinese and English, or one role doing its main work through the console's forms) and fails
/// on any browser console error. WARDEN_NODE_PATH is the node_modules that `scripts/node-env`
/// prints (scripts/test sets it); WARDEN_SCREENSHOTS, when set, names the directory the
/// screenshots go to (docs/console/ holds the published ones).
pub(crate) fn console_check(part: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let node_path = std::env::var("WARDEN_NODE_PATH").unwrap_or_else(|_| {
        panic!(
            "WARDEN_NODE_PATH is unset: run scripts/test, or set it to what scripts/node-env prints"
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let served = serve_demo(dir.path(), "sqlite://warden-data/demo.db", &[]);
    let shots = std::env::var("WARDEN_SCREENSHOTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| dir.path().join("shots"));
    std::fs::create_dir_all(&shots).unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/console-check.cjs"
    );
    let out = Command::new("node")
        .env("NODE_PATH", &node_path)
        .args([script, &served.base, &shots.display().to_string(), part])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("no browser errors"), "{stdout}");
    drop(served);
    (dir, shots)
}

pub(crate) fn shot_size(shots: &std::path::Path, name: &str) -> u64 {
    shots.join(format!("{name}.png")).metadata().unwrap().len()
}

#[test]
fn the_console_serves_the_public_in_a_real_browser() {
    let (_dir, shots) = console_check("public");
    assert!(shot_size(&shots, "public-appeal-zh") > 10_000);
}

#[test]
fn the_console_serves_the_administrator_in_a_real_browser() {
    let (_dir, shots) = console_check("admin");
    assert!(shot_size(&shots, "people-admin") > 10_000);
}

#[test]
fn the_console_serves_the_reporter_in_a_real_browser() {
    let (_dir, shots) = console_check("reporter");
    assert!(shot_size(&shots, "report-check") > 10_000);
}

#[test]
fn the_console_serves_the_analyst_in_a_real_browser() {
    let (_dir, shots) = console_check("analyst");
    assert!(shot_size(&shots, "case-analyst") > 10_000);
}

#[test]
fn the_console_serves_the_reviewer_in_a_real_browser() {
    let (_dir, shots) = console_check("reviewer");
    assert!(shot_size(&shots, "appeal-reviewer") > 10_000);
}

#[test]
fn the_console_serves_the_responder_in_a_real_browser() {
    let (_dir, shots) = console_check("responder");
    assert!(shot_size(&shots, "home-responder-zh") > 10_000);
}

#[test]
fn the_console_serves_the_verifier_in_a_real_browser() {
    let (_dir, shots) = console_check("verifier");
    assert!(shot_size(&shots, "notice-verifier") > 10_000);
}

#[test]
fn the_console_serves_the_auditor_in_a_real_browser() {
    let (_dir, shots) = console_check("auditor");
    assert!(shot_size(&shots, "audit-trail") > 10_000);
}
