//! The lifecycle state machines, driven through their public functions: the whole
//! lifecycle, separation of duties, jurisdiction, windows on the working-day calendar, random
//! command sequences against an independent permission table, and what a page may offer.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod random_sequences;
mod world;

use crate::world::*;
use time::Duration;
use time::macros::datetime;
use uuid::Uuid;
use warden_core::indicator::{Indicator, TargetScope};
use warden_core::lifecycle::*;
use warden_core::org::Role::*;
use warden_core::org::{Actor, OrgRef, OrgType, Province, Role};

struct Flow {
    w: World,
    case: Case,
    report: Report,
}

fn reporter() -> Actor {
    actor("secco-alpha", "rita", &[Reporter])
}
fn analyst() -> Actor {
    actor("cncert", "ann", &[Analyst])
}
fn reviewer_gd() -> Actor {
    actor("ca-guangdong", "rob", &[Reviewer])
}
fn responder() -> Actor {
    actor("china-telecom", "ron", &[Responder])
}
fn verifier() -> Actor {
    actor("cncert", "vic", &[Verifier])
}

fn opened(province: Option<&str>) -> Flow {
    let w = world();
    let mut report = Report::submit(
        &reporter(),
        Uuid::from_u128(1),
        content(province, "evil-bank.example.cn"),
        None,
        T0,
    )
    .unwrap();
    let out = Case::open(&mut report, Uuid::from_u128(2), Some(org("cncert")), T0).unwrap();
    assert_eq!(out.next.status, CaseStatus::Assigned);
    Flow {
        w,
        case: out.next,
        report,
    }
}

fn determine(f: &mut Flow, level: Option<IncidentLevel>) {
    let ctx = f.w.ctx(T0, f.case.province);
    let out = f
        .case
        .apply(
            &analyst(),
            CaseCommand::Determine {
                verdict: Verdict::Confirmed,
                severity: Some(Severity::High),
                incident_level: level,
                rationale: "Confirmed by crawl".into(),
                recommended_measures: vec![],
                malware_family: None,
            },
            ctx,
        )
        .unwrap();
    f.case = out.next;
}

fn decide(f: &mut Flow, who: &Actor) -> Result<CaseOutcome, Refusal> {
    let ctx = f.w.ctx(T0, f.case.province);
    f.case.apply(
        who,
        CaseCommand::Decide {
            outcome: DecisionOutcome::Approved,
            reasons: "Confirmed phishing".into(),
            measures: vec![block_spec("china-telecom", "evil-bank.example.cn", 1)],
            notify: vec![],
            art_8_3: Art83Facts::default(),
        },
        ctx,
    )
}

fn decided() -> (Flow, Measure) {
    let mut f = opened(Some("44"));
    determine(&mut f, None);
    let out = decide(&mut f, &reviewer_gd()).unwrap();
    f.case = out.next;
    let m = out.measures.into_iter().next().unwrap();
    (f, m)
}

#[test]
fn the_whole_lifecycle() {
    let (f, m) = decided();
    assert_eq!(f.case.status, CaseStatus::Decided);
    assert_eq!(
        f.case.decision.as_ref().unwrap().policy_version,
        "national-2026.1+44-2026.1"
    );
    // Guangdong's policy: high-severity blocks within 6 hours.
    assert_eq!(m.deadline, T0 + Duration::hours(6));
    assert_eq!(
        m.block.as_ref().unwrap().expires_at,
        T0 + Duration::days(365)
    );
    let now = T0 + Duration::hours(1);
    let m = m
        .apply(&Actor::system("delivery"), MeasureCommand::Deliver, now)
        .unwrap()
        .next;
    let m = m
        .apply(&responder(), MeasureCommand::Acknowledge, now)
        .unwrap()
        .next;
    let fb = MeasureCommand::FileFeedback {
        outcome: FeedbackOutcome::Done,
        actions_taken: "Blocked in DNS".into(),
        completed_at: None,
    };
    let m = m.apply(&responder(), fb.clone(), now).unwrap().next;
    let failed = MeasureCommand::Verify {
        result: VerificationResult::Failed,
        method: VerificationMethod::Manual,
        notes: "Still resolves".into(),
    };
    let m = m.apply(&verifier(), failed, now).unwrap().next;
    assert_eq!(m.status, NoticeStatus::Reopened);
    let m = m.apply(&responder(), fb, now).unwrap().next;
    let passed = MeasureCommand::Verify {
        result: VerificationResult::Passed,
        method: VerificationMethod::Dns,
        notes: "NXDOMAIN".into(),
    };
    let m = m.apply(&verifier(), passed, now).unwrap().next;
    let out = m.apply(&reviewer_gd(), MeasureCommand::Close, now).unwrap();
    assert_eq!(out.next.status, NoticeStatus::Closed);
    assert_eq!(out.events[0].name, "measure.closed");
    assert_eq!(f.report.case_id, Some(f.case.id));
}

#[test]
fn separation_of_duties() {
    // The reporter's organisation never determines its own report.
    let w = world();
    let mut report = Report::submit(
        &actor("cncert", "rita", &[Reporter]),
        Uuid::from_u128(1),
        content(Some("44"), "evil.example.cn"),
        None,
        T0,
    )
    .unwrap();
    let out = Case::open(&mut report, Uuid::from_u128(2), Some(org("cncert")), T0).unwrap();
    assert_eq!(
        out.next.status,
        CaseStatus::Submitted,
        "not routed to its own reporter"
    );
    let case = out.next;
    let ctx = w.ctx(T0, case.province);
    let err = case
        .apply(
            &reviewer_gd(),
            CaseCommand::Assign {
                institution: org("cncert"),
            },
            ctx,
        )
        .unwrap_err();
    assert_eq!(err.code, RefusalCode::SeparationOfDuties);
    let case = case
        .apply(
            &reviewer_gd(),
            CaseCommand::Assign {
                institution: org("caict"),
            },
            ctx,
        )
        .unwrap()
        .next;
    let err = case
        .apply(
            &actor("cncert", "ann", &[Analyst]),
            CaseCommand::Determine {
                verdict: Verdict::Confirmed,
                severity: Some(Severity::Low),
                incident_level: None,
                rationale: "x".into(),
                recommended_measures: vec![],
                malware_family: None,
            },
            ctx,
        )
        .unwrap_err();
    assert_eq!(err.code, RefusalCode::Organisation);

    // The analyst who determined never decides, even holding the reviewer role.
    let mut f = opened(Some("44"));
    determine(&mut f, None);
    let both = actor("cncert", "ann", &[Analyst, Reviewer]);
    assert_eq!(
        decide(&mut f, &both).unwrap_err().code,
        RefusalCode::Organisation
    );
}

#[test]
fn jurisdiction_decides_who_decides() {
    let mut f = opened(Some("44"));
    determine(&mut f, None);
    let bj = actor("ca-beijing", "bob", &[Reviewer]);
    assert_eq!(
        decide(&mut f, &bj).unwrap_err().code,
        RefusalCode::Jurisdiction
    );
    let miit = actor("miit", "mia", &[Reviewer]);
    assert!(decide(&mut f, &miit).is_ok());
    // A case spanning provinces is MIIT's alone.
    let mut f = opened(None);
    determine(&mut f, None);
    assert_eq!(
        decide(&mut f, &reviewer_gd()).unwrap_err().code,
        RefusalCode::Jurisdiction
    );
    assert!(decide(&mut f, &miit).is_ok());
    // Roles matter as much as organisations.
    let mut f = opened(Some("44"));
    determine(&mut f, None);
    let admin = actor("ca-guangdong", "amy", &[Admin]);
    assert_eq!(decide(&mut f, &admin).unwrap_err().code, RefusalCode::Role);
}

#[test]
fn recipients_and_verifiers_are_the_named_ones() {
    let (_, m) = decided();
    let other = actor("china-mobile", "moe", &[Responder]);
    assert_eq!(
        m.apply(&other, MeasureCommand::Acknowledge, T0)
            .unwrap_err()
            .code,
        RefusalCode::Organisation
    );
    let m = m
        .apply(&responder(), MeasureCommand::Acknowledge, T0)
        .unwrap()
        .next;
    let m = m
        .apply(
            &responder(),
            MeasureCommand::FileFeedback {
                outcome: FeedbackOutcome::Done,
                actions_taken: "done".into(),
                completed_at: None,
            },
            T0,
        )
        .unwrap()
        .next;
    let v = MeasureCommand::Verify {
        result: VerificationResult::Passed,
        method: VerificationMethod::Manual,
        notes: String::new(),
    };
    let caict = actor("caict", "cat", &[Verifier]);
    assert_eq!(
        m.apply(&caict, v.clone(), T0).unwrap_err().code,
        RefusalCode::Organisation
    );
    assert!(m.apply(&verifier(), v, T0).is_ok());
}

#[test]
fn overdue_and_expiry_are_the_platforms() {
    let (_, m) = decided();
    let sys = Actor::system("deadlines");
    assert_eq!(
        m.apply(&sys, MeasureCommand::MarkOverdue, T0)
            .unwrap_err()
            .code,
        RefusalCode::Window
    );
    let late = m.deadline + Duration::seconds(1);
    assert_eq!(
        m.apply(&reviewer_gd(), MeasureCommand::MarkOverdue, late)
            .unwrap_err()
            .code,
        RefusalCode::Role
    );
    let out = m.apply(&sys, MeasureCommand::MarkOverdue, late).unwrap();
    assert!(out.next.overdue);
    assert!(out.events.iter().any(|e| e.name == "enforcement.raised"));
    let exp = m.block.as_ref().unwrap().expires_at;
    assert!(
        m.apply(&sys, MeasureCommand::Expire, exp - Duration::seconds(1))
            .is_err()
    );
    // Fourteen days ahead the deciding authority is asked to re-review, once.
    let review = MeasureCommand::RequestReview {
        lead: Duration::days(14),
    };
    assert_eq!(
        m.apply(&sys, review.clone(), exp - Duration::days(15))
            .unwrap_err()
            .code,
        RefusalCode::Window
    );
    assert_eq!(
        m.apply(&reviewer_gd(), review.clone(), exp)
            .unwrap_err()
            .code,
        RefusalCode::Role
    );
    let reviewed = m
        .apply(&sys, review.clone(), exp - Duration::days(14))
        .unwrap();
    assert!(!reviewed.next.review_pending());
    assert!(reviewed.next.block_active());
    assert_eq!(reviewed.events[0].name, "block.review_due");
    assert_eq!(
        reviewed.next.apply(&sys, review, exp).unwrap_err().code,
        RefusalCode::State
    );
    let out = m.apply(&sys, MeasureCommand::Expire, exp).unwrap();
    assert!(!out.next.block_active());
    assert!(!out.next.review_pending());
}

#[test]
fn appeal_window_is_ten_working_days() {
    let (f, m) = decided();
    // Decided Monday 2026-09-28 10:00 Shanghai: 10 working days over National Day end on 10-16.
    let rules = f.w.policy.for_province(m.province);
    assert_eq!(
        appeal_last_day(m.decided_at, rules, &f.w.calendar).value,
        time::macros::date!(2026 - 10 - 16)
    );
    let public = Actor::Public;
    let a = |now| {
        Appeal::file(
            &public,
            Uuid::from_u128(9),
            &m,
            Appellant {
                name: "Site owner".into(),
                contact: "owner@example.cn".into(),
            },
            "The domain was cleaned".into(),
            f.w.ctx(now, m.province),
        )
    };
    let ok = a(datetime!(2026-10-16 23:59:59 +8)).unwrap();
    // The reply is due 30 working days after filing.
    assert_eq!(ok.next.reply_due, datetime!(2026-11-28 00:00 +8));
    let err = a(datetime!(2026-10-17 00:00 +8)).unwrap_err();
    assert_eq!(err.code, RefusalCode::Window);
    assert!(err.message.contains("2026-10-16"), "{}", err.message);

    // Only block measures can be appealed.
    let mut rem = m.clone();
    rem.kind = MeasureKind::Remediate;
    rem.block = None;
    let err = Appeal::file(
        &public,
        Uuid::from_u128(9),
        &rem,
        Appellant {
            name: "x".into(),
            contact: "y".into(),
        },
        "z".into(),
        f.w.ctx(T0, m.province),
    )
    .unwrap_err();
    assert_eq!(err.code, RefusalCode::Invalid);
}

#[test]
fn provisional_reply_deadlines_are_counted_again_under_a_newer_calendar() {
    let (f, m) = decided();
    // The same calendar without the 2026 notice: 2026 is then a year without one.
    let src = warden_core::calendar::BUILTIN_SOURCE;
    let cut = src.find("year = 2026").unwrap();
    let start = src[..cut].rfind("[[notice]]").unwrap();
    let older = warden_core::calendar::Calendar::from_toml("older.toml", &src[..start]).unwrap();
    let rules = f.w.policy.for_province(m.province);
    let ctx = Context {
        now: T0,
        calendar: &older,
        rules,
    };
    let appellant = Appellant {
        name: "Owner".into(),
        contact: "o@example.cn".into(),
    };
    let filed = Appeal::file(
        &responder(),
        Uuid::from_u128(9),
        &m,
        appellant,
        "Cleaned".into(),
        ctx,
    )
    .unwrap()
    .next;
    assert!(filed.reply_due_provisional);
    // Nothing changes while the calendar is the same.
    assert!(filed.recount(rules, &older).is_none());
    // With the 2026 notice loaded, the count is exact and no longer provisional.
    let out = filed.recount(rules, &f.w.calendar).unwrap();
    let exact = f.w.calendar.deadline(T0, rules.appeal_reply_working_days);
    assert_eq!(out.next.reply_due, exact.value);
    assert!(!out.next.reply_due_provisional);
    assert_eq!(out.events[0].name, "appeal.reply_due_recounted");
    assert!(out.next.recount(rules, &f.w.calendar).is_none());
}

#[test]
fn appeal_answers_change_the_block() {
    let (f, m) = decided();
    let appeal = Appeal::file(
        &responder(),
        Uuid::from_u128(9),
        &m,
        Appellant {
            name: "Owner".into(),
            contact: "o@example.cn".into(),
        },
        "Cleaned".into(),
        f.w.ctx(T0, m.province),
    )
    .unwrap()
    .next;
    let decide = AppealCommand::Decide {
        outcome: AppealOutcome::Revoked,
        reasons: "Verified clean".into(),
        modification: None,
        allowlist_hits: vec![],
    };
    let bj = actor("ca-beijing", "bob", &[Reviewer]);
    assert_eq!(
        appeal.apply(&bj, &m, decide.clone(), T0).unwrap_err().code,
        RefusalCode::Organisation
    );
    let out = appeal
        .apply(&reviewer_gd(), &m, decide.clone(), T0)
        .unwrap();
    assert_eq!(out.next.status, AppealStatus::Revoked);
    assert!(!out.measure.as_ref().unwrap().block_active());
    assert!(
        out.next.apply(&reviewer_gd(), &m, decide, T0).is_err(),
        "answered once"
    );
    let modify =
        |target: &str, scope: Option<TargetScope>, hits: Vec<AllowlistHit>| AppealCommand::Decide {
            outcome: AppealOutcome::Modified,
            reasons: "Narrowed".into(),
            modification: Some(Modification {
                target: Some(
                    Indicator::parse(Indicator::detect(target).unwrap().kind(), target).unwrap(),
                ),
                expires_at: None,
                scope,
                range_last: None,
                allowlist_override: None,
            }),
            allowlist_hits: hits,
        };
    // A subdomain, exact: within the original block on the domain and its subdomains.
    let out = appeal
        .apply(
            &reviewer_gd(),
            &m,
            modify(
                "login.evil-bank.example.cn",
                Some(TargetScope::Exact),
                vec![],
            ),
            T0,
        )
        .unwrap();
    let narrowed = out.measure.unwrap();
    assert_eq!(
        narrowed.target.as_ref().unwrap().value(),
        "login.evil-bank.example.cn"
    );
    assert_eq!(narrowed.scope, Some(TargetScope::Exact));
    // Widening to the public suffix, moving elsewhere, or changing the type is a new
    // decision, not an answer.
    for wider in [
        "example.cn",
        "other.example.cn",
        "http://evil-bank.example.cn/login",
    ] {
        let err = appeal
            .apply(&reviewer_gd(), &m, modify(wider, None, vec![]), T0)
            .unwrap_err();
        assert_eq!(err.code, RefusalCode::Invalid, "{wider}");
        assert!(err.message.contains("only narrow"), "{}", err.message);
    }
    // A narrowed target on an allow-list needs a reason like any decision.
    let hit = AllowlistHit {
        list: "operator".into(),
        entry: "www.evil-bank.example.cn".into(),
        source: "test".into(),
    };
    let err = appeal
        .apply(
            &reviewer_gd(),
            &m,
            modify("www.evil-bank.example.cn", None, vec![hit]),
            T0,
        )
        .unwrap_err();
    assert_eq!(err.code, RefusalCode::Allowlisted);
}

#[test]
fn emergency_cases_take_the_short_path() {
    let mut f = opened(Some("44"));
    determine(&mut f, Some(IncidentLevel::Ii));
    // Art. 13: a level II incident goes to MIIT; the province sees it but does not decide.
    assert!(f.case.national);
    let err = decide(&mut f, &reviewer_gd()).unwrap_err();
    assert_eq!(err.code, RefusalCode::Jurisdiction, "{}", err.message);
    let miit = actor("miit", "mia", &[Reviewer]);
    assert!(can_view_case(&reviewer_gd(), &f.case));
    let out = decide(&mut f, &miit).unwrap();
    let m = &out.measures[0];
    assert!(m.emergency);
    // Nothing has reached the recipient: its time has not begun, nor may it see the order.
    assert_eq!(m.status, NoticeStatus::Pending);
    assert!(m.written_notice_pending);
    assert!(!can_view_measure(&responder(), m));
    assert!(can_view_measure(&reviewer_gd(), m));
    assert!(can_follow_emergency(&reviewer_gd(), m));
    assert_eq!(m.deadline, T0 + Duration::hours(1));
    assert_eq!(m.written_notice_due, Some(T0 + Duration::hours(24)));
    // The province does not make MIIT's calls.
    let call = |at| MeasureCommand::RecordPhoneNotification {
        called_person: "张三 (contact person)".into(),
        called_number: "+8613800138000".into(),
        answered_by: Some("李四, duty officer".into()),
        summary: "Block the domain at once; the written notice follows".into(),
        at: Some(at),
    };
    let t_call = T0 + Duration::minutes(30);
    assert_eq!(
        m.apply(&reviewer_gd(), call(t_call), t_call)
            .unwrap_err()
            .code,
        RefusalCode::Organisation
    );
    // MIIT calls half an hour later: the hour allotted and the day to send the written
    // notice count from the call, and the recipient now sees the order.
    let called = m.apply(&miit, call(t_call), t_call).unwrap().next;
    assert_eq!(called.status, NoticeStatus::Delivered);
    assert_eq!(called.deadline, t_call + Duration::hours(1));
    assert_eq!(
        called.written_notice_due,
        Some(t_call + Duration::hours(24))
    );
    assert_eq!(
        called.phone_notifications[0].answered_by.as_deref(),
        Some("李四, duty officer")
    );
    assert!(can_view_measure(&responder(), &called));
    assert!(can_acknowledge(&responder(), &called));
    // The written notice owed is the authority's duty: late, it is flagged on the
    // authority, whatever the recipient did.
    let acked = called
        .apply(&responder(), MeasureCommand::Acknowledge, t_call)
        .unwrap()
        .next;
    let late = t_call + Duration::hours(25);
    let job = Actor::system("deadlines");
    let flagged = acked
        .apply(&job, MeasureCommand::MarkWrittenNoticeOverdue, late)
        .unwrap();
    assert!(flagged.next.written_notice_overdue);
    assert_eq!(flagged.events[0].data["authority"], "miit");
    // Once issued, nothing is owed; a second issue is refused.
    let written = acked
        .apply(
            &miit,
            MeasureCommand::IssueWrittenNotice,
            t_call + Duration::hours(2),
        )
        .unwrap()
        .next;
    assert!(!written.written_notice_pending);
    assert_eq!(written.written_notice_at, Some(t_call + Duration::hours(2)));
    assert_eq!(written.status, NoticeStatus::Acknowledged);
    assert!(
        written
            .apply(&job, MeasureCommand::MarkWrittenNoticeOverdue, late)
            .is_err()
    );
    assert_eq!(
        written
            .apply(&miit, MeasureCommand::IssueWrittenNotice, late)
            .unwrap_err()
            .code,
        RefusalCode::State
    );
    // Without a call, the written notice itself starts the recipient's time.
    let t_written = T0 + Duration::hours(3);
    let direct = m
        .apply(&miit, MeasureCommand::IssueWrittenNotice, t_written)
        .unwrap()
        .next;
    assert_eq!(direct.status, NoticeStatus::Issued);
    assert_eq!(direct.deadline, t_written + Duration::hours(1));
    // An untold recipient is never overdue.
    assert!(
        m.apply(&job, MeasureCommand::MarkOverdue, T0 + Duration::hours(5))
            .is_err()
    );
}

#[test]
fn art_8_3_victims_need_their_superiors_notified() {
    let mut f = opened(Some("44"));
    f.case.victim = Some(Victim {
        supervising_org: None,
        name: "某市政府网站".into(),
        kind: VictimKind::PartyGovernment,
        org: None,
    });
    determine(&mut f, None);
    let spec = MeasureSpec {
        kind: MeasureKind::Remediate,
        target: None,
        ..block_spec("china-telecom", "evil-bank.example.cn", 1)
    };
    let cmd = |notify: Vec<OrgRef>| CaseCommand::Decide {
        outcome: DecisionOutcome::Approved,
        reasons: "Defaced".into(),
        measures: vec![spec.clone()],
        notify,
        art_8_3: Art83Facts::default(),
    };
    let ctx = f.w.ctx(T0, f.case.province);
    let err = f
        .case
        .apply(&reviewer_gd(), cmd(vec![org("cac")]), ctx)
        .unwrap_err();
    assert!(err.message.contains("supervising_unit"), "{}", err.message);
    let out = f
        .case
        .apply(
            &reviewer_gd(),
            cmd(vec![org("cac"), org("supervisor-alpha")]),
            ctx,
        )
        .unwrap();
    assert_eq!(out.next.decision.unwrap().notified.len(), 2);
    // When the victim's superior is on record, only that unit will do.
    let recorded = |superior: &str, notify: Vec<OrgRef>| CaseCommand::Decide {
        outcome: DecisionOutcome::Approved,
        reasons: "Defaced".into(),
        measures: vec![spec.clone()],
        notify,
        art_8_3: Art83Facts {
            victim_superior: Some(superior.into()),
            cac_provinces: vec![],
        },
    };
    let err = f
        .case
        .apply(
            &reviewer_gd(),
            recorded("ministry-of-x", vec![org("cac"), org("supervisor-alpha")]),
            ctx,
        )
        .unwrap_err();
    assert!(err.message.contains("ministry-of-x"), "{}", err.message);
    assert!(
        f.case
            .apply(
                &reviewer_gd(),
                recorded(
                    "supervisor-alpha",
                    vec![org("cac"), org("supervisor-alpha")]
                ),
                ctx,
            )
            .is_ok()
    );
    // 5 working days after 2026-09-28 for high-severity remediation.
    assert_eq!(out.measures[0].deadline, datetime!(2026-10-11 00:00 +8));
}

#[test]
fn returned_decisions_go_back_for_determination() {
    let mut f = opened(Some("44"));
    determine(&mut f, None);
    let ctx = f.w.ctx(T0, f.case.province);
    let out = f
        .case
        .apply(
            &reviewer_gd(),
            CaseCommand::Decide {
                outcome: DecisionOutcome::Returned,
                reasons: "Evidence too thin".into(),
                measures: vec![],
                notify: vec![],
                art_8_3: Art83Facts::default(),
            },
            ctx,
        )
        .unwrap();
    assert_eq!(out.next.status, CaseStatus::Assigned);
    assert!(out.next.determination.is_none());
}

#[test]
fn bad_commands_are_refused_specifically() {
    let mut f = opened(Some("44"));
    determine(&mut f, None);
    let ctx = f.w.ctx(T0, f.case.province);
    let mut spec = block_spec("cncert", "evil-bank.example.cn", 1);
    let cmd = |spec: MeasureSpec| CaseCommand::Decide {
        outcome: DecisionOutcome::Approved,
        reasons: "r".into(),
        measures: vec![spec],
        notify: vec![],
        art_8_3: Art83Facts::default(),
    };
    let e = f
        .case
        .apply(&reviewer_gd(), cmd(spec.clone()), ctx)
        .unwrap_err();
    assert!(
        e.message
            .starts_with("measures[0]: the recipient cncert is a institution"),
        "{}",
        e.message
    );
    spec.recipient = org("china-telecom");
    spec.deadline = Some(T0 - Duration::hours(1));
    let e = f
        .case
        .apply(&reviewer_gd(), cmd(spec.clone()), ctx)
        .unwrap_err();
    assert_eq!(e.code, RefusalCode::Window);
    spec.deadline = None;
    spec.target = Some(
        warden_core::indicator::Indicator::parse(
            warden_core::indicator::IndicatorType::Md5,
            "d41d8cd98f00b204e9800998ecf8427e",
        )
        .unwrap(),
    );
    let e = f.case.apply(&reviewer_gd(), cmd(spec), ctx).unwrap_err();
    assert!(e.message.contains("cannot be blocked"), "{}", e.message);
    let mut c = content(Some("44"), "a.example.cn");
    c.indicators.clear();
    let e = Report::submit(&reporter(), Uuid::nil(), c, None, T0).unwrap_err();
    assert!(e.message.contains("at least one indicator"));
    let mut c = content(Some("44"), "a.example.cn");
    c.observed_at = T0 + Duration::days(1);
    assert_eq!(
        Report::submit(&reporter(), Uuid::nil(), c, None, T0)
            .unwrap_err()
            .code,
        RefusalCode::Window
    );
    let c = content(Some("44"), "a.example.cn");
    assert_eq!(
        Report::submit(&analyst(), Uuid::nil(), c, None, T0)
            .unwrap_err()
            .code,
        RefusalCode::Role
    );
}

#[test]
fn the_determining_institution_cannot_slip_in_its_own_report() {
    let mut f = opened(Some("44"));
    let ctx = f.w.ctx(T0, f.case.province);
    f.case = f
        .case
        .apply(
            &analyst(),
            CaseCommand::Determine {
                verdict: Verdict::MoreInfo,
                severity: None,
                incident_level: None,
                rationale: "Need the sinkhole logs".into(),
                recommended_measures: vec![],
                malware_family: None,
            },
            ctx,
        )
        .unwrap()
        .next;
    let own = actor("cncert", "rita", &[Reporter]);
    let report = Report::submit(
        &own,
        Uuid::from_u128(77),
        content(Some("44"), "evil-bank.example.cn"),
        None,
        T0,
    )
    .unwrap();
    let err = f
        .case
        .apply(
            &own,
            CaseCommand::AddReport {
                report: Box::new(report),
            },
            ctx,
        )
        .unwrap_err();
    assert_eq!(err.code, RefusalCode::SeparationOfDuties);
}

#[test]
fn who_sees_a_case() {
    let (f, m) = decided();
    let sees = |a: &Actor| can_view_case(a, &f.case);
    assert!(sees(&reporter()));
    assert!(sees(&analyst()));
    assert!(sees(&reviewer_gd()));
    assert!(sees(&actor("miit", "mia", &[Auditor])));
    assert!(!sees(&actor("ca-beijing", "bob", &[Reviewer])));
    assert!(!sees(&actor("caict", "cat", &[Analyst])));
    assert!(!sees(&responder()), "recipients see notices, not cases");
    assert!(!sees(&Actor::Public));
    assert!(can_view_measure(&responder(), &m));
    assert!(!can_view_measure(
        &actor("china-mobile", "moe", &[Responder]),
        &m
    ));
    assert_eq!(
        case_scope(&reviewer_gd()),
        Some(CaseScope::Province("44".parse().unwrap()))
    );
    assert_eq!(
        case_scope(&analyst()),
        Some(CaseScope::AssignedTo(org("cncert").id))
    );
    assert_eq!(case_scope(&Actor::Public), None);
    assert!(can_read_audit(&actor("cncert", "aud", &[Auditor])));
    assert!(!can_read_audit(&actor("secco-alpha", "aud", &[Auditor])));
    assert!(!can_read_audit(&actor("ca-guangdong", "adm", &[Admin])));
    assert!(can_read_audit(&actor("miit", "adm", &[Admin])));
}

#[test]
fn authorities_refer_cases_up_and_across() {
    let f = opened(Some("44"));
    let ctx = f.w.ctx(T0, f.case.province);
    let refer = |to: Option<&str>| CaseCommand::Refer {
        to: to.map(|p| p.parse().unwrap()),
        reasons: "The resources are in another province".into(),
    };
    let bj = actor("ca-beijing", "bea", &[Reviewer]);
    assert_eq!(
        f.case.apply(&bj, refer(None), ctx).unwrap_err().code,
        RefusalCode::Jurisdiction
    );
    assert_eq!(
        f.case.apply(&analyst(), refer(None), ctx).unwrap_err().code,
        RefusalCode::Role
    );
    assert_eq!(
        f.case
            .apply(&reviewer_gd(), refer(Some("44")), ctx)
            .unwrap_err()
            .code,
        RefusalCode::Invalid
    );
    // Across to Beijing: Guangdong no longer holds it, Beijing does.
    let across = f
        .case
        .apply(&reviewer_gd(), refer(Some("11")), ctx)
        .unwrap();
    assert_eq!(across.next.province, Some("11".parse().unwrap()));
    assert_eq!(across.events[0].name, "case.referred");
    let ctx11 = f.w.ctx(T0, across.next.province);
    assert_eq!(
        across
            .next
            .apply(&reviewer_gd(), refer(None), ctx11)
            .unwrap_err()
            .code,
        RefusalCode::Jurisdiction
    );
    // Up to MIIT.
    let up = across.next.apply(&bj, refer(None), ctx11).unwrap();
    assert_eq!(up.next.province, None);
    let miit = actor("miit", "max", &[Reviewer]);
    assert!(
        up.next
            .apply(&miit, refer(Some("44")), f.w.ctx(T0, None))
            .is_ok()
    );
}

/// Every organisation with every single role, the platform and the public.
fn everyone() -> Vec<Actor> {
    let mut all = vec![Actor::Public, Actor::system("test")];
    for o in ORGS {
        for r in warden_core::org::Role::ALL {
            all.push(actor(o, &format!("{}-{}", r.as_str(), o), &[r]));
        }
    }
    all
}

/// A step the content of which the actor got wrong was still the actor's to take.
fn taken(r: &Result<impl Sized, Refusal>) -> bool {
    match r {
        Ok(_) => true,
        Err(e) => e.code == RefusalCode::Invalid,
    }
}

#[test]
fn what_a_page_offers_is_what_the_core_would_take() {
    // A case awaiting determination, one awaiting decision, and a notice in each state the
    // forms care about.
    let assigned = opened(Some("44"));
    let mut determined = opened(Some("44"));
    determine(&mut determined, Some(IncidentLevel::Ii));
    let miit = actor("miit", "mia", &[Reviewer]);
    let (_, pending) = {
        let mut f = opened(Some("44"));
        determine(&mut f, Some(IncidentLevel::Ii));
        let out = decide(&mut f, &miit).unwrap();
        (f, out.measures.into_iter().next().unwrap())
    };
    // Telephoned: the emergency order has reached the recipient.
    let issued = pending
        .apply(
            &miit,
            MeasureCommand::RecordPhoneNotification {
                called_person: "Duty officer".into(),
                called_number: "+861012345678".into(),
                answered_by: None,
                summary: "Block at once".into(),
                at: None,
            },
            T0,
        )
        .unwrap()
        .next;
    let acknowledged = issued
        .apply(&responder(), MeasureCommand::Acknowledge, T0)
        .unwrap()
        .next;
    let filed = acknowledged
        .apply(
            &responder(),
            MeasureCommand::FileFeedback {
                outcome: FeedbackOutcome::Done,
                actions_taken: "Blocked".into(),
                completed_at: None,
            },
            T0,
        )
        .unwrap()
        .next;
    let mut checked = 0;
    for a in everyone() {
        for case in [&assigned.case, &determined.case] {
            let ctx = assigned.w.ctx(T0, case.province);
            let det = case.apply(
                &a,
                CaseCommand::Determine {
                    verdict: Verdict::Confirmed,
                    severity: Some(Severity::High),
                    incident_level: None,
                    rationale: "Seen".into(),
                    recommended_measures: vec![],
                    malware_family: None,
                },
                ctx,
            );
            assert_eq!(
                can_determine(&a, case),
                taken(&det),
                "{a:?} {:?}",
                case.status
            );
            let ctx = assigned.w.ctx(T0, case.province);
            let dec = case.apply(
                &a,
                CaseCommand::Decide {
                    outcome: DecisionOutcome::Approved,
                    reasons: "Confirmed".into(),
                    measures: vec![block_spec("china-telecom", "evil-bank.example.cn", 9)],
                    notify: vec![],
                    art_8_3: Art83Facts::default(),
                },
                ctx,
            );
            assert_eq!(can_decide(&a, case), taken(&dec), "{a:?} {:?}", case.status);
            let ctx = assigned.w.ctx(T0, case.province);
            let asg = case.apply(
                &a,
                CaseCommand::Assign {
                    institution: org("caict"),
                },
                ctx,
            );
            assert_eq!(can_assign(&a, case), taken(&asg), "{a:?} {:?}", case.status);
            checked += 3;
        }
        for m in [&pending, &issued, &acknowledged, &filed] {
            let ack = m.apply(&a, MeasureCommand::Acknowledge, T0);
            assert_eq!(can_acknowledge(&a, m), taken(&ack), "{a:?} {:?}", m.status);
            let fb = m.apply(
                &a,
                MeasureCommand::FileFeedback {
                    outcome: FeedbackOutcome::Done,
                    actions_taken: "Blocked".into(),
                    completed_at: None,
                },
                T0,
            );
            assert_eq!(can_file_feedback(&a, m), taken(&fb), "{a:?} {:?}", m.status);
            let v = m.apply(
                &a,
                MeasureCommand::Verify {
                    result: VerificationResult::Passed,
                    method: VerificationMethod::Manual,
                    notes: String::new(),
                },
                T0,
            );
            assert_eq!(can_verify(&a, m), taken(&v), "{a:?} {:?}", m.status);
            let call = m.apply(
                &a,
                MeasureCommand::RecordPhoneNotification {
                    called_person: "Duty officer".into(),
                    called_number: "+861012345678".into(),
                    answered_by: None,
                    summary: "Block at once".into(),
                    at: None,
                },
                T0,
            );
            assert_eq!(can_record_phone_call(&a, m), taken(&call), "{a:?}");
            let written = m.apply(&a, MeasureCommand::IssueWrittenNotice, T0);
            assert_eq!(can_issue_written_notice(&a, m), taken(&written), "{a:?}");
            checked += 5;
        }
        let bulletin = warden_core::bulletin::Bulletin::issue(
            &a,
            Uuid::from_u128(77),
            warden_core::bulletin::BulletinDraft {
                kind: warden_core::bulletin::BulletinKind::Bulletin,
                title: "Campaign".into(),
                body: "Details".into(),
                tlp: Tlp::Green,
                audience: vec![],
                case_ids: vec![],
            },
            T0,
        );
        assert_eq!(can_issue_bulletins(&a), taken(&bulletin), "{a:?}");
        // Queues are offered to those who could take some case's step.
        if can_determine(&a, &assigned.case) {
            assert!(can_determine_cases(&a));
        }
        if can_decide(&a, &determined.case) {
            assert!(can_decide_cases(&a));
        }
        if can_acknowledge(&a, &issued) {
            assert!(can_handle_notices(&a));
        }
        if can_verify(&a, &filed) {
            assert!(can_verify_notices(&a));
        }
    }
    assert!(checked > 1000, "{checked}");
}
