//! The `warden` binary, as people and scripts run it.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn warden(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn calendar_answers() {
    assert_eq!(
        warden(&["calendar", "add-working-days", "2026-09-28", "10"]).1,
        "2026-10-16\n"
    );
    assert_eq!(
        warden(&["calendar", "add-working-days", "2026-02-10", "10"]).1,
        "2026-03-02\n"
    );
    assert_eq!(
        warden(&["calendar", "add-working-days", "2031-06-02", "5"]).1,
        "2031-06-09 provisional\n"
    );
    assert_eq!(
        warden(&["calendar", "is-working-day", "2026-10-10"]).1,
        "working\n"
    );
    assert_eq!(
        warden(&["calendar", "is-working-day", "2026-10-01"]).1,
        "rest\n"
    );
    assert_eq!(
        warden(&["calendar", "count", "2026-09-28", "2026-10-16"]).1,
        "10\n"
    );
    let (_, list, _) = warden(&["calendar", "list", "2026-10-07", "2026-10-08"]);
    assert_eq!(list, "2026-10-07 rest\n2026-10-08 working\n");
}

#[test]
fn bad_input_is_a_message_and_a_failure() {
    let (code, out, err) = warden(&["calendar", "add-working-days", "2026-02-30", "1"]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(err.contains("not a date like 2026-09-28"), "{err}");
    let (code, _, err) = warden(&["calendar", "count", "2026-01-01"]);
    assert_eq!(code, 2, "usage error: {err}");
    let dir = tempfile::tempdir().unwrap();
    let cal = dir.path().join("cal.toml");
    std::fs::write(
        &cal,
        "[[notice]]\nyear = 2027\nsource = \"x\"\nholidays = []\nworkdays = [2027-01-05]\n",
    )
    .unwrap();
    let (code, _, err) = warden(&[
        "calendar",
        "--calendar",
        cal.to_str().unwrap(),
        "is-working-day",
        "2027-01-05",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("cal.toml: notice[0] (year 2027).workdays[0]: 2027-01-05 is a Tuesday"),
        "{err}"
    );
    let (code, _, err) = warden(&["migrate", "--db", "mysql://x"]);
    assert_eq!(code, 1);
    assert!(err.contains("invalid database URL"), "{err}");
}

#[test]
fn a_calendar_file_replaces_the_builtin_one() {
    let dir = tempfile::tempdir().unwrap();
    let cal = dir.path().join("cn.toml");
    let builtin = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/calendar/cn.toml"
    ))
    .unwrap();
    std::fs::write(
        &cal,
        format!("{builtin}\n[[notice]]\nyear = 2027\nsource = \"test\"\nholidays = [{{ name = \"元旦\", from = 2027-01-01, to = 2027-01-03 }}]\nworkdays = []\n"),
    )
    .unwrap();
    let c = cal.to_str().unwrap();
    assert_eq!(
        warden(&[
            "calendar",
            "--calendar",
            c,
            "add-working-days",
            "2026-12-31",
            "1"
        ])
        .1,
        "2027-01-04\n"
    );
    assert_eq!(
        warden(&["calendar", "add-working-days", "2026-12-31", "1"]).1,
        "2027-01-01 provisional\n"
    );
}

#[test]
fn migrate_then_serve_with_health() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/w.db", dir.path().display());
    let (code, out, err) = warden(&["migrate", "--db", &db]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("schema version 2"), "{out}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args([
            "serve",
            "--demo",
            "--db",
            &db,
            "--listen",
            "127.0.0.1:0",
            "--clock-start",
            "2026-09-28T10:00:00+08:00",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut line).unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let body: serde_json::Value = tokio::runtime::Runtime::new().unwrap().block_on(async {
        reqwest::get(format!("http://{addr}/healthz"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"]["schema_version"], 2);
    assert!(
        body["time"]
            .as_str()
            .unwrap()
            .starts_with("2026-09-28T02:0"),
        "simulated clock: {body}"
    );
}

#[test]
fn tokens_and_users_are_administered() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/w.db", dir.path().display());
    // Load the demo organisations, then stop.
    let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["serve", "--demo", "--db", &db, "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    out.read_line(&mut line).unwrap();
    child.kill().unwrap();
    let _ = child.wait();

    let (code, stdout, stderr) = warden(&[
        "admin",
        "token",
        "create",
        "--org",
        "secco-alpha",
        "--role",
        "reporter",
        "--db",
        &db,
    ]);
    assert_eq!(code, 0, "{stderr}");
    let token = stdout.lines().last().unwrap();
    assert!(token.starts_with("wdn_") && token.len() == 61, "{stdout}");
    assert!(stderr.contains("shown only now"));
    let prefix = &token[..12];
    let (_, list, _) = warden(&[
        "admin",
        "token",
        "list",
        "--org",
        "secco-alpha",
        "--db",
        &db,
    ]);
    assert!(list.contains(prefix) && list.contains("active"), "{list}");
    assert!(!list.contains(&token[13..]), "secrets are never listed");
    let (code, _, _) = warden(&["admin", "token", "revoke", prefix, "--db", &db]);
    assert_eq!(code, 0);
    let (_, list, _) = warden(&[
        "admin",
        "token",
        "list",
        "--org",
        "secco-alpha",
        "--db",
        &db,
    ]);
    assert!(list.contains("revoked"), "{list}");
    let (code, _, err) = warden(&[
        "admin", "token", "create", "--org", "nobody", "--role", "reporter", "--db", &db,
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no organisation with slug \"nobody\""),
        "{err}"
    );

    let user = |name: &str, password: &str| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_warden"))
            .args([
                "admin", "user", "create", "--org", "cncert", "--name", name, "--role", "analyst",
                "--db", &db,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        writeln!(c.stdin.take().unwrap(), "{password}").unwrap();
        let o = c.wait_with_output().unwrap();
        (
            o.status.code().unwrap(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    assert_eq!(user("ann", "a long enough passphrase").0, 0);
    let (code, err) = user("ann", "a long enough passphrase");
    assert_eq!(code, 1);
    assert!(err.contains("already exists"), "{err}");
    let (code, err) = user("bob", "short");
    assert_eq!(code, 1);
    assert!(err.contains("at least 12"), "{err}");
}
