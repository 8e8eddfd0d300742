//! Random command sequences from random actors: no sequence reaches an invalid state, and
//! every step the machine accepts is one the acting person may take. The permission
//! oracle below restates the rules of DESIGN §2 independently of the implementation.

use super::*;
use proptest::prelude::*;
use time::OffsetDateTime;
use warden_core::indicator::{Indicator, IndicatorType};
use warden_core::org::Jurisdiction;

const PEOPLE: [&str; 3] = ["p1", "p2", "p3"];

#[derive(Debug, Clone)]
enum Step {
    Advance(u32),
    AddReport,
    Assign(usize),
    Determine(u8, bool),
    ProvideInfo,
    Decide(u8, usize),
    Measure(usize, u8),
    FileAppeal(usize),
    Appeal(usize, u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (1u32..200_000).prop_map(Step::Advance),
        Just(Step::AddReport),
        (0usize..10).prop_map(Step::Assign),
        (0u8..3, any::<bool>()).prop_map(|(v, e)| Step::Determine(v, e)),
        Just(Step::ProvideInfo),
        (0u8..3, 0usize..10).prop_map(|(o, r)| Step::Decide(o, r)),
        (0usize..3, 0u8..8).prop_map(|(i, c)| Step::Measure(i, c)),
        (0usize..3).prop_map(Step::FileAppeal),
        (0usize..3, 0u8..4).prop_map(|(i, c)| Step::Appeal(i, c)),
    ]
}

fn actor_strategy() -> impl Strategy<Value = Actor> {
    prop_oneof![
        8 => (0usize..ORGS.len(), 0usize..3, prop::collection::btree_set(prop::sample::select(Role::ALL.to_vec()), 0..3))
            .prop_map(|(o, p, roles)| actor(ORGS[o], PEOPLE[p], &roles.into_iter().collect::<Vec<_>>())),
        // The institutions, with the roles that let them report and determine.
        4 => (prop::sample::select(vec!["cncert", "caict"]), 0usize..3, prop::sample::subsequence(vec![Reporter, Analyst, Verifier], 1..=3))
            .prop_map(|(o, p, roles)| actor(o, PEOPLE[p], &roles)),
        1 => Just(Actor::system("job")),
        1 => Just(Actor::Public),
    ]
}

struct State {
    now: OffsetDateTime,
    case: Case,
    measures: Vec<Measure>,
    appeals: Vec<Appeal>,
    seq: u128,
}

fn covers(o: &OrgRef, p: Option<Province>) -> bool {
    o.org_type.is_authority()
        && o.jurisdiction.is_some_and(|j| {
            j == Jurisdiction::National || Some(j) == p.map(Jurisdiction::Province)
        })
}

fn is_system(a: &Actor) -> bool {
    matches!(a, Actor::System { .. })
}

/// May `a` take a step of this kind at all (who, not when)?
fn permitted(a: &Actor, st: &State, step: &Step) -> bool {
    let org = a.org();
    let role = |r| a.has_role(r);
    let is = |o: &OrgRef| org.is_some_and(|x| x.id == o.id);
    match step {
        Step::Advance(_) => true,
        Step::AddReport => role(Reporter),
        Step::Assign(_) => {
            (role(Reviewer) || role(Admin)) && org.is_some_and(|o| covers(o, st.case.province))
        }
        Step::Determine(..) => {
            role(Analyst)
                && st.case.assigned_to.as_ref().is_some_and(is)
                && org.is_some_and(|o| !st.case.reporter_orgs.contains(&o.id))
        }
        Step::ProvideInfo => {
            role(Reporter) && org.is_some_and(|o| st.case.reporter_orgs.contains(&o.id))
        }
        Step::Decide(..) => {
            let det = st.case.determination.as_ref();
            role(Reviewer)
                && org.is_some_and(|o| covers(o, st.case.province))
                && det.is_some_and(|d| !is(&d.org) && a.principal_id() != Some(d.analyst_id))
        }
        Step::Measure(i, c) => {
            let Some(m) = st.measures.get(*i) else {
                return true;
            };
            match c {
                0 => is_system(a) || is(&m.recipient),
                1 | 2 => role(Responder) && is(&m.recipient),
                3 | 4 => role(Verifier) && is(&m.determining_org),
                5 => is_system(a) || (role(Reviewer) && is(&m.deciding_org)),
                6 => is_system(a) || (role(Reviewer) && is(&m.deciding_org)),
                7 => is_system(a),
                _ => false,
            }
        }
        Step::FileAppeal(_) => !is_system(a),
        Step::Appeal(i, _) => st
            .appeals
            .get(*i)
            .is_none_or(|ap| role(Reviewer) && is(&ap.deciding_org)),
    }
}

fn allowed_notice_edge(from: NoticeStatus, to: NoticeStatus) -> bool {
    use NoticeStatus::*;
    from == to
        || matches!(
            (from, to),
            (Issued, Delivered)
                | (Issued | Delivered, Acknowledged)
                | (Acknowledged | Reopened, FeedbackFiled)
                | (FeedbackFiled, Verified | Reopened)
                | (Verified, Closed)
        )
}

fn check_invariants(st: &State, w: &World) -> Result<(), TestCaseError> {
    let c = &st.case;
    match c.status {
        CaseStatus::Determined => {
            prop_assert_eq!(
                c.determination.as_ref().map(|d| d.verdict),
                Some(Verdict::Confirmed)
            )
        }
        CaseStatus::Decided => {
            let d = c.decision.as_ref();
            prop_assert!(d.is_some_and(|d| !d.measure_ids.is_empty()));
        }
        CaseStatus::Assigned | CaseStatus::MoreInfo => prop_assert!(c.assigned_to.is_some()),
        _ => {}
    }
    if let (Some(det), Some(dec)) = (&c.determination, &c.decision) {
        prop_assert!(det.org.id != dec.org.id);
        prop_assert!(det.analyst_id != dec.reviewer_id);
        prop_assert!(covers(&dec.org, c.province));
        prop_assert!(det.org.org_type == OrgType::Institution);
    }
    for m in &st.measures {
        prop_assert!(m.deadline > m.decided_at);
        prop_assert_eq!(m.block.is_some(), m.kind == MeasureKind::Block);
        prop_assert!(!m.recipient.org_type.is_authority());
    }
    for a in &st.appeals {
        let m = st.measures.iter().find(|m| m.id == a.measure_id);
        prop_assert!(m.is_some_and(|m| m.kind == MeasureKind::Block));
        let m = m.unwrap_or_else(|| unreachable!());
        let rules = w.policy.for_province(m.province);
        prop_assert!(a.filed_at < appeal_window_closes(m.decided_at, rules, &w.calendar).value);
        prop_assert!(a.reply_due > a.filed_at);
    }
    Ok(())
}

fn run(seq: Vec<(Actor, Step)>, province: Option<&str>) -> Result<(), TestCaseError> {
    let w = world();
    let mut report = Report::submit(
        &reporter(),
        Uuid::from_u128(1),
        content(province, "evil.example.cn"),
        None,
        T0,
    )
    .map_err(|e| TestCaseError::fail(e.message))?;
    let case = Case::open(&mut report, Uuid::from_u128(2), Some(org("cncert")), T0)
        .map_err(|e| TestCaseError::fail(e.message))?
        .next;
    let mut st = State {
        now: T0,
        case,
        measures: vec![],
        appeals: vec![],
        seq: 10,
    };
    for (a, step) in seq {
        st.seq += 1;
        let ctx = w.ctx(st.now, st.case.province);
        let may = permitted(&a, &st, &step);
        let accepted: bool = match &step {
            Step::Advance(s) => {
                st.now += Duration::seconds(i64::from(*s));
                true
            }
            Step::AddReport
            | Step::Assign(_)
            | Step::Determine(..)
            | Step::ProvideInfo
            | Step::Decide(..) => {
                let cmd = match &step {
                    Step::AddReport => {
                        let r = Report::submit(
                            &a,
                            Uuid::from_u128(st.seq),
                            content(province, "evil.example.cn"),
                            None,
                            st.now,
                        );
                        match r {
                            Ok(r) => CaseCommand::AddReport {
                                report: Box::new(r),
                            },
                            Err(_) => continue,
                        }
                    }
                    Step::Assign(i) => CaseCommand::Assign {
                        institution: org(ORGS[*i]),
                    },
                    Step::Determine(v, e) => CaseCommand::Determine {
                        verdict: [Verdict::Confirmed, Verdict::NotAThreat, Verdict::MoreInfo]
                            [*v as usize],
                        severity: Some(Severity::High),
                        incident_level: e.then_some(IncidentLevel::I),
                        rationale: "r".into(),
                        recommended_measures: vec![],
                        malware_family: None,
                    },
                    Step::ProvideInfo => CaseCommand::ProvideInfo { note: "n".into() },
                    Step::Decide(o, r) => CaseCommand::Decide {
                        outcome: [
                            DecisionOutcome::Approved,
                            DecisionOutcome::Dismissed,
                            DecisionOutcome::Returned,
                        ][*o as usize],
                        reasons: "r".into(),
                        measures: if *o == 0 {
                            vec![MeasureSpec {
                                id: Uuid::from_u128(st.seq),
                                notice_id: Uuid::from_u128(st.seq + 1_000_000),
                                kind: MeasureKind::Block,
                                target: Some(
                                    Indicator::parse(IndicatorType::Domain, "evil.example.cn")
                                        .unwrap_or_else(|_| unreachable!()),
                                ),
                                recipient: org(ORGS[*r]),
                                deadline: None,
                                scope: None,
                                range_last: None,
                                allowlist_hits: vec![],
                                allowlist_override: None,
                                instructions: None,
                            }]
                        } else {
                            vec![]
                        },
                        notify: vec![],
                        art_8_3: Art83Facts::default(),
                    },
                    _ => unreachable!(),
                };
                match st.case.apply(&a, cmd, ctx) {
                    Ok(out) => {
                        prop_assert_eq!(out.next.id, st.case.id);
                        st.case = out.next;
                        st.measures.extend(out.measures);
                        true
                    }
                    Err(_) => false,
                }
            }
            Step::Measure(i, c) => {
                let Some(m) = st.measures.get(*i).cloned() else {
                    continue;
                };
                let cmd = match c {
                    0 => MeasureCommand::Deliver,
                    1 => MeasureCommand::Acknowledge,
                    2 => MeasureCommand::FileFeedback {
                        outcome: FeedbackOutcome::Done,
                        actions_taken: "a".into(),
                        completed_at: None,
                    },
                    3 => MeasureCommand::Verify {
                        result: VerificationResult::Passed,
                        method: VerificationMethod::Manual,
                        notes: String::new(),
                    },
                    4 => MeasureCommand::Verify {
                        result: VerificationResult::Failed,
                        method: VerificationMethod::Manual,
                        notes: String::new(),
                    },
                    5 => MeasureCommand::Close,
                    6 => {
                        if is_system(&a) {
                            MeasureCommand::MarkOverdue
                        } else {
                            MeasureCommand::Revoke {
                                reasons: "r".into(),
                            }
                        }
                    }
                    _ => MeasureCommand::Expire,
                };
                let was_overdue_time = st.now > m.deadline;
                match m.apply(&a, cmd.clone(), st.now) {
                    Ok(out) => {
                        prop_assert!(
                            allowed_notice_edge(m.status, out.next.status),
                            "{:?} -> {:?}",
                            m.status,
                            out.next.status
                        );
                        if out.next.overdue && !m.overdue {
                            prop_assert!(was_overdue_time);
                        }
                        if matches!(cmd, MeasureCommand::MarkOverdue | MeasureCommand::Expire) {
                            prop_assert!(is_system(&a));
                        }
                        st.measures[*i] = out.next;
                        true
                    }
                    Err(_) => false,
                }
            }
            Step::FileAppeal(i) => {
                let Some(m) = st.measures.get(*i) else {
                    continue;
                };
                let r = Appeal::file(
                    &a,
                    Uuid::from_u128(st.seq),
                    m,
                    Appellant {
                        name: "n".into(),
                        contact: "c".into(),
                    },
                    "g".into(),
                    w.ctx(st.now, m.province),
                );
                match r {
                    Ok(out) => {
                        st.appeals.push(out.next);
                        true
                    }
                    Err(_) => false,
                }
            }
            Step::Appeal(i, c) => {
                let Some(ap) = st.appeals.get(*i).cloned() else {
                    continue;
                };
                let Some(mi) = st.measures.iter().position(|m| m.id == ap.measure_id) else {
                    continue;
                };
                let cmd = match c {
                    0 => AppealCommand::StartReview,
                    1 => AppealCommand::Decide {
                        outcome: AppealOutcome::Upheld,
                        reasons: "r".into(),
                        modification: None,
                        allowlist_hits: vec![],
                    },
                    2 => AppealCommand::Decide {
                        outcome: AppealOutcome::Revoked,
                        reasons: "r".into(),
                        modification: None,
                        allowlist_hits: vec![],
                    },
                    _ => AppealCommand::Decide {
                        outcome: AppealOutcome::Modified,
                        reasons: "r".into(),
                        modification: Some(Modification {
                            target: None,
                            expires_at: Some(st.now + Duration::days(1)),
                            scope: None,
                            range_last: None,
                            allowlist_override: None,
                        }),
                        allowlist_hits: vec![],
                    },
                };
                match ap.apply(&a, &st.measures[mi], cmd, st.now) {
                    Ok(out) => {
                        if let Some(m) = out.measure {
                            st.measures[mi] = m;
                        }
                        st.appeals[*i] = out.next;
                        true
                    }
                    Err(_) => false,
                }
            }
        };
        if accepted {
            prop_assert!(may, "{} was allowed {:?}", a.label(), step);
        }
        check_invariants(&st, &w)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn no_sequence_breaks_the_rules(
        seq in prop::collection::vec((actor_strategy(), step()), 1..60),
        province in prop::sample::select(vec![Some("44"), Some("11"), None]),
    ) {
        run(seq, province)?;
    }

    /// A biased walk that reaches decisions, notices and appeals often.
    #[test]
    fn guided_sequences_reach_deep_states(
        noise in prop::collection::vec((actor_strategy(), step()), 0..40),
    ) {
        let mut seq = vec![
            (analyst(), Step::Determine(0, false)),
            (reviewer_gd(), Step::Decide(0, 5)),
            (Actor::system("job"), Step::Measure(0, 0)),
            (responder(), Step::Measure(0, 1)),
            (Actor::Public, Step::FileAppeal(0)),
        ];
        seq.extend(noise);
        run(seq, Some("44"))?;
    }

    /// Starts from a request for more information, where sightings and reassignment meet.
    #[test]
    fn guided_more_info(
        noise in prop::collection::vec((actor_strategy(), step()), 0..40),
    ) {
        let mut seq = vec![(analyst(), Step::Determine(2, false))];
        seq.extend(noise);
        run(seq, Some("44"))?;
    }
}
