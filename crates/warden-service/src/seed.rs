//! A national-scale data set for measuring the platform: member organisations across the 31
//! provinces (weighted by population), their people, and years of cases in every state of the
//! lifecycle with their reports, measures, signed notices, appeals and blocks. Every object is
//! made by the lifecycle's own transitions and every notice is signed with its authority's key,
//! as the service would; the changesets are then written through the store's bulk path
//! (`COPY` on PostgreSQL) with the same rows and audit chain as one commit each.

use crate::error::ServiceError;
use crate::service::Service;
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;
use warden_core::calendar::SHANGHAI;
use warden_core::indicator::{Indicator, IndicatorType};
use warden_core::lifecycle::*;
use warden_core::notice::{NoticeType, SignedNotice, ThreatFacts};
use warden_core::org::*;
use warden_core::taxonomy::{Category, Classification, Subtype};
use warden_match::synth::{self, Rng};
use warden_store::{Changeset, Write};

/// What to make.
#[derive(Debug, Clone)]
pub struct SeedPlan {
    pub orgs: usize,
    pub cases: usize,
    /// Blocks in force at the end (active block measures).
    pub blocks: usize,
    /// How many years of history.
    pub years: u32,
    pub rng_seed: u64,
    /// Cases per bulk transaction.
    pub batch: usize,
    /// The password every seeded person signs in with (hashed once).
    pub password: String,
}

/// Counts so far (reported after each batch) and at the end.
#[derive(Debug, Clone, Default)]
pub struct SeedProgress {
    pub orgs: usize,
    pub people: usize,
    pub cases: usize,
    pub reports: usize,
    pub measures: usize,
    pub active_blocks: usize,
    pub notices: usize,
    pub appeals: usize,
    pub audit_entries: u64,
}

/// Mainland provinces by population (2020 census, millions): where members sit and threats lie.
const PROVINCE_WEIGHTS: [(u8, u32); 31] = [
    (44, 126),
    (37, 102),
    (41, 99),
    (32, 85),
    (51, 84),
    (13, 75),
    (33, 65),
    (43, 66),
    (34, 61),
    (42, 58),
    (45, 50),
    (53, 47),
    (36, 45),
    (21, 43),
    (35, 42),
    (61, 40),
    (52, 39),
    (14, 35),
    (50, 32),
    (23, 32),
    (65, 26),
    (62, 25),
    (31, 25),
    (22, 24),
    (15, 24),
    (11, 22),
    (12, 14),
    (46, 10),
    (64, 7),
    (63, 6),
    (54, 4),
];

/// Member types, with their share of members per thousand and a slug prefix.
const MEMBER_TYPES: [(OrgType, u64, &str); 6] = [
    (OrgType::TelecomOperator, 60, "tel"),
    (OrgType::ServiceProvider, 300, "isp"),
    (OrgType::InternetCompany, 370, "net"),
    (OrgType::DomainRegistrar, 50, "reg"),
    (OrgType::SecurityCompany, 150, "sec"),
    (OrgType::SupervisingUnit, 70, "sup"),
];

/// Block targets in the proportions `warden bench match` measures (one sixth each).
const BLOCK_KINDS: [IndicatorType; 6] = [
    IndicatorType::Ipv4,
    IndicatorType::Ipv6,
    IndicatorType::Domain,
    IndicatorType::Email,
    IndicatorType::Phone,
    IndicatorType::Url,
];

struct Member {
    org: Organisation,
    actor: Actor,
}

/// The cast: who reports, decides, determines and carries out, per province.
struct Cast {
    /// Each authority's reviewer, by the province it governs (None: MIIT).
    reviewers: HashMap<Option<Province>, (Organisation, Actor)>,
    analysts: Vec<(Organisation, Actor, Actor)>,
    members: Vec<Member>,
    /// Index into `members` by organisation id.
    member_of: HashMap<Uuid, usize>,
    reporters: HashMap<Province, Vec<usize>>,
    recipients: HashMap<(Province, OrgType), Vec<usize>>,
    /// Each authority and its signing key, by organisation id.
    issuers: HashMap<Uuid, (Organisation, (String, ed25519_dalek::SigningKey))>,
}

impl Cast {
    fn member(&self, org: &OrgRef) -> Result<&Member, ServiceError> {
        self.member_of
            .get(&org.id)
            .map(|&k| &self.members[k])
            .ok_or_else(|| ServiceError::NotFound(org.slug.clone()))
    }
}

fn weighted_province(rng: &mut Rng) -> Province {
    let total: u32 = PROVINCE_WEIGHTS.iter().map(|p| p.1).sum();
    let mut x = rng.below(u64::from(total)) as u32;
    for (code, w) in PROVINCE_WEIGHTS {
        if x < w
            && let Some(p) = Province::all().find(|p| p.code() == code)
        {
            return p;
        }
        x = x.saturating_sub(w);
    }
    Province::all()
        .next()
        .unwrap_or_else(|| unreachable!("the province table is empty"))
}

fn contact(rng: &mut Rng, slug: &str, role: &str) -> Contact {
    Contact {
        name: format!("{role} {}", rng.below(10_000)),
        phone: format!("+86139{:08}", rng.below(100_000_000)),
        email: format!("{role}@{slug}.example.cn"),
    }
}

/// A person of `org` signing in as `name` with the seed's password: the writes and events
/// the administration makes, with the one hash for everyone.
fn seeded_person(
    org: &Organisation,
    name: String,
    roles: &[Role],
    plan: &SeedPlan,
    hash: &str,
    writes: &mut Vec<Write>,
    events: &mut Vec<Event>,
) -> Result<Actor, ServiceError> {
    let user = crate::admin::NewUser {
        org: org.slug.clone(),
        name,
        display_name: None,
        roles: roles.iter().copied().collect(),
        password: plan.password.clone(),
    };
    crate::admin::check_user(&user).map_err(|e| ServiceError::InvalidQuery(e.to_string()))?;
    let (p, w, e) = crate::admin::user_writes(org, user, hash.to_owned());
    writes.extend(w);
    events.extend(e);
    Ok(Actor::principal(&p, org))
}

/// A working-day moment `days` before `now`, in office hours (Asia/Shanghai).
fn working_moment(svc: &Service, now: OffsetDateTime, days: f64, rng: &mut Rng) -> OffsetDateTime {
    let mut t = now - Duration::seconds_f64(days * 86_400.0);
    let local = t.to_offset(SHANGHAI);
    let mut date = local.date();
    while !svc.calendar.is_working_day(date).value {
        date = date.previous_day().unwrap_or(date);
    }
    let minute = 9 * 60 + rng.below(9 * 60) as i64;
    if let Ok(time) = time::Time::from_hms(
        (minute / 60) as u8,
        (minute % 60) as u8,
        rng.below(60) as u8,
    ) {
        t = date.with_time(time).assume_offset(SHANGHAI);
    }
    t.min(now - Duration::minutes(30))
}

/// Blocks per blocking case: a heavy tail (most cases a few, campaigns thousands) scaled to
/// `total`, at most 10,000 per case (the limit of one report).
fn block_counts(n: usize, total: usize, rng: &mut Rng) -> Vec<usize> {
    if n == 0 {
        return vec![];
    }
    let raw: Vec<f64> = (0..n)
        .map(|_| {
            let u = (rng.below(1_000_000) as f64 + 1.0) / 1_000_001.0;
            u.powf(-1.0 / 1.3)
        })
        .collect();
    let sum: f64 = raw.iter().sum();
    let mut counts: Vec<usize> = raw
        .iter()
        .map(|x| ((x / sum * total as f64) as usize).clamp(1, 10_000))
        .collect();
    let mut have: usize = counts.iter().sum();
    let mut i = 0;
    while have < total && i < n * 20_000 {
        let k = rng.below(n as u64) as usize;
        if counts[k] < 10_000 {
            counts[k] += 1;
            have += 1;
        }
        i += 1;
    }
    while have > total {
        let k = rng.below(n as u64) as usize;
        if counts[k] > 1 {
            counts[k] -= 1;
            have -= 1;
        }
    }
    counts
}

fn targets(kind: IndicatorType, n: usize, rng: &mut Rng) -> Vec<Indicator> {
    let values: Vec<(IndicatorType, String)> = match kind {
        IndicatorType::Ipv4 => synth::ipv4_prefixes(n, rng)
            .into_iter()
            .map(|(a, len)| {
                let ip = std::net::Ipv4Addr::from(a);
                if len == 32 {
                    (IndicatorType::Ipv4, ip.to_string())
                } else {
                    (IndicatorType::Cidr, format!("{ip}/{len}"))
                }
            })
            .collect(),
        IndicatorType::Ipv6 => synth::ipv6_prefixes(n, rng)
            .into_iter()
            .map(|(a, len)| {
                let ip = std::net::Ipv6Addr::from(a);
                if len == 128 {
                    (IndicatorType::Ipv6, ip.to_string())
                } else {
                    (IndicatorType::Cidr, format!("{ip}/{len}"))
                }
            })
            .collect(),
        IndicatorType::Domain => synth::domains(n, rng)
            .into_iter()
            .map(|d| (kind, d))
            .collect(),
        IndicatorType::Url => synth::urls(n, rng).into_iter().map(|u| (kind, u)).collect(),
        _ => synth::exact_values(kind, n, rng)
            .into_iter()
            .map(|v| (kind, v))
            .collect(),
    };
    values
        .into_iter()
        .filter_map(|(t, v)| Indicator::parse(t, &v).ok())
        .collect()
}

fn category_of(kind: IndicatorType) -> (Category, Subtype) {
    match kind {
        IndicatorType::Email => (Category::MaliciousResource, Subtype::PhishingEmail),
        IndicatorType::Phone => (Category::MaliciousResource, Subtype::PhishingSms),
        IndicatorType::Url => (Category::MaliciousResource, Subtype::PhishingSite),
        IndicatorType::Domain => (Category::MaliciousResource, Subtype::C2),
        _ => (
            Category::MaliciousResource,
            Subtype::MaliciousInfrastructure,
        ),
    }
}

/// Who carries out a block of this kind.
fn recipient_type(kind: IndicatorType) -> OrgType {
    match kind {
        IndicatorType::Domain => OrgType::DomainRegistrar,
        IndicatorType::Url | IndicatorType::Email => OrgType::InternetCompany,
        _ => OrgType::TelecomOperator,
    }
}

/// Where one case's life ends.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fate {
    Submitted,
    Assigned,
    MoreInfo,
    Rejected,
    Determined,
    Dismissed,
    /// Decided: with blocks when the case has some, or else with one remediation.
    Decided,
}

/// When a follow-up step comes: after the one before, or at a set time (a deadline, an
/// expiry).
enum When {
    After(Duration),
    At(OffsetDateTime),
}

struct Life<'a> {
    svc: &'a Service,
    cast: &'a Cast,
    now: OffsetDateTime,
    out: Vec<Changeset>,
    p: &'a mut SeedProgress,
}

impl Life<'_> {
    fn push(&mut self, actor: &Actor, at: OffsetDateTime, writes: Vec<Write>, events: Vec<Event>) {
        self.p.audit_entries += events.len() as u64;
        self.out
            .push(Changeset::new(actor.clone(), at, writes, events));
    }

    fn sign(
        &self,
        m: &Measure,
        facts: &ThreatFacts,
        at: OffsetDateTime,
    ) -> Result<(SignedNotice, Uuid), ServiceError> {
        let recipient = &self.cast.member(&m.recipient)?.org;
        let (issuer, (key_id, key)) =
            self.cast.issuers.get(&m.deciding_org.id).ok_or_else(|| {
                ServiceError::NotFound(format!("signing key of {}", m.deciding_org.slug))
            })?;
        let wording = crate::notices::Wording {
            notice_id: m.notice_id,
            notice_type: NoticeType::Measure,
            reasons: None,
            facts: Some(facts),
        };
        let ctx = self.svc.ctx(at, m.province);
        let notice =
            crate::notices::signed_notice(m, recipient, issuer, wording, ctx, (key_id, key));
        Ok((notice, recipient.id))
    }

    /// One case from its first report to where `fate` leaves it, `age` days ago.
    fn case(
        &mut self,
        rng: &mut Rng,
        age: f64,
        fate: Fate,
        blocks: usize,
        province: Province,
    ) -> Result<(), ServiceError> {
        let cast = self.cast;
        let reporters = cast.reporters.get(&province).filter(|v| !v.is_empty());
        let reporter = match reporters {
            Some(v) => &cast.members[v[rng.below(v.len() as u64) as usize]],
            None => return Ok(()),
        };
        let opened = working_moment(self.svc, self.now, age, rng);
        let block_kind = BLOCK_KINDS[rng.below(BLOCK_KINDS.len() as u64) as usize];
        // A decision without blocks orders one remediation.
        let remediation = blocks == 0;
        let (category, subtype) = if remediation {
            (Category::Incident, Subtype::CompromisedHost)
        } else {
            category_of(block_kind)
        };
        let n_ind = if blocks > 0 {
            blocks
        } else {
            1 + rng.below(3) as usize
        };
        let indicators = if remediation {
            targets(IndicatorType::Ipv4, n_ind, rng)
        } else {
            targets(block_kind, n_ind, rng)
        };
        if indicators.is_empty() {
            return Ok(());
        }
        let content = ReportContent {
            classification: Classification { category, subtype },
            title: format!("{} seen from {}", subtype.as_str(), province.name_en()),
            description: format!(
                "{} indicators observed by {} monitoring; details in the attached evidence.",
                indicators.len(),
                reporter.org.name
            ),
            observed_at: opened - Duration::hours(2),
            province: Some(province),
            tlp: if rng.below(5) == 0 {
                Tlp::Amber
            } else {
                Tlp::Green
            },
            indicators,
            victim: None,
        };
        let mut report = Report::submit(&reporter.actor, Uuid::now_v7(), content, None, opened)?;
        let (inst, analyst, verifier) =
            &cast.analysts[rng.below(cast.analysts.len() as u64) as usize];
        // A case not yet assigned is one whose province routes reports to no institution.
        let routed = (fate != Fate::Submitted).then(|| inst.org_ref());
        let out = Case::open(&mut report, Uuid::now_v7(), routed, opened)?;
        let mut case = out.next;
        let mut version = 1;
        self.p.cases += 1;
        self.p.reports += 1;
        self.push(
            &reporter.actor,
            opened,
            vec![
                Write::Case {
                    case: case.clone(),
                    expected: None,
                },
                Write::Report {
                    report: report.clone(),
                    expected: None,
                },
            ],
            out.events,
        );
        if matches!(fate, Fate::Submitted | Fate::Assigned) {
            return Ok(());
        }
        let latest = self.now - Duration::minutes(1);
        let mut at = (opened + Duration::hours(3 + rng.below(20) as i64)).min(latest);
        let verdict = match fate {
            Fate::Rejected => Verdict::NotAThreat,
            Fate::MoreInfo => Verdict::MoreInfo,
            _ => Verdict::Confirmed,
        };
        let severity =
            (verdict == Verdict::Confirmed).then_some(Severity::ALL[rng.below(4) as usize]);
        let svc = self.svc;
        let step = |case: &Case, actor: &Actor, cmd: CaseCommand, at: OffsetDateTime| {
            case.apply(actor, cmd, svc.ctx(at, case.province))
        };
        let det = step(
            &case,
            analyst,
            CaseCommand::Determine {
                verdict,
                severity,
                incident_level: None,
                rationale: "Confirmed by sandbox analysis and passive DNS.".into(),
                recommended_measures: vec![],
                malware_family: None,
            },
            at,
        )?;
        self.push(
            analyst,
            at,
            vec![Write::Case {
                case: det.next.clone(),
                expected: Some(version),
            }],
            det.events,
        );
        case = det.next;
        version += 1;
        if matches!(fate, Fate::Rejected | Fate::MoreInfo | Fate::Determined) {
            return Ok(());
        }
        at = (at + Duration::hours(1 + rng.below(6) as i64)).min(latest);
        let (_, reviewer) = cast
            .reviewers
            .get(&Some(province))
            .ok_or_else(|| ServiceError::NotFound(format!("authority of {province}")))?;
        let mut specs = vec![];
        if fate == Fate::Decided {
            for t in &case.indicators {
                let (kind, target) = if remediation {
                    (MeasureKind::Remediate, None)
                } else {
                    (MeasureKind::Block, Some(t.clone()))
                };
                let rtype = if remediation {
                    OrgType::ServiceProvider
                } else {
                    recipient_type(block_kind)
                };
                let pool = cast
                    .recipients
                    .get(&(province, rtype))
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| ServiceError::NotFound(format!("{rtype} in {province}")))?;
                let recipient = &cast.members[pool[rng.below(pool.len() as u64) as usize]].org;
                specs.push(MeasureSpec {
                    id: Uuid::now_v7(),
                    notice_id: Uuid::now_v7(),
                    kind,
                    target,
                    recipient: recipient.org_ref(),
                    deadline: None,
                    scope: None,
                    range_last: None,
                    allowlist_hits: vec![],
                    allowlist_override: None,
                    instructions: None,
                });
                if remediation {
                    break;
                }
            }
        }
        let outcome = if fate == Fate::Dismissed {
            DecisionOutcome::Dismissed
        } else {
            DecisionOutcome::Approved
        };
        let dec = step(
            &case,
            reviewer,
            CaseCommand::Decide {
                outcome,
                reasons: "Decided under Art. 8 on the institution's determination.".into(),
                measures: specs,
                notify: vec![],
                art_8_3: Art83Facts::default(),
            },
            at,
        )?;
        let mut writes = vec![Write::Case {
            case: dec.next.clone(),
            expected: Some(version),
        }];
        let reports = [&report];
        let mut measures = vec![];
        for m in &dec.measures {
            writes.push(Write::Measure {
                measure: m.clone(),
                expected: None,
            });
            let facts = ThreatFacts::for_measure(m, &dec.next, &reports);
            let (notice, recipient_org_id) = self.sign(m, &facts, at)?;
            writes.push(Write::Notice {
                notice,
                recipient_org_id,
            });
            self.p.notices += 1;
            self.p.measures += 1;
            measures.push(m.clone());
        }
        self.push(reviewer, at, writes, dec.events);
        // Each measure's follow-up, as far as its age lets it go.
        for m in measures {
            self.follow(rng, m, verifier, reviewer)?;
        }
        Ok(())
    }

    fn follow(
        &mut self,
        rng: &mut Rng,
        mut m: Measure,
        verifier: &Actor,
        reviewer: &Actor,
    ) -> Result<(), ServiceError> {
        let responder = &self.cast.member(&m.recipient)?.actor;
        let mut at = m.decided_at;
        let answers = rng.below(100) >= 3;
        let mut steps: Vec<(Actor, MeasureCommand, When)> = vec![
            (
                Actor::system("delivery"),
                MeasureCommand::Deliver,
                When::After(Duration::minutes(5)),
            ),
            (
                responder.clone(),
                MeasureCommand::Acknowledge,
                When::After(Duration::minutes(20 + rng.below(60) as i64)),
            ),
        ];
        if answers {
            steps.push((
                responder.clone(),
                MeasureCommand::FileFeedback {
                    outcome: FeedbackOutcome::Done,
                    actions_taken: "Blocked at the resolvers and border routers.".into(),
                    completed_at: None,
                },
                When::After(Duration::minutes(30 + rng.below(120) as i64)),
            ));
            steps.push((
                verifier.clone(),
                MeasureCommand::Verify {
                    result: VerificationResult::Passed,
                    method: VerificationMethod::Dns,
                    notes: "No answer from the target.".into(),
                },
                When::After(Duration::hours(4 + rng.below(40) as i64)),
            ));
            steps.push((
                reviewer.clone(),
                MeasureCommand::Close,
                When::After(Duration::days(2)),
            ));
        } else {
            steps.push((
                Actor::system("deadlines"),
                MeasureCommand::MarkOverdue,
                When::At(m.deadline + Duration::hours(1)),
            ));
        }
        if let Some(b) = &m.block {
            steps.push((
                Actor::system("expiry"),
                MeasureCommand::Expire,
                When::At(b.expires_at),
            ));
        }
        // Each step writes the measure's next version, from the first on.
        for (version, (actor, cmd, when)) in (1..).zip(steps) {
            let when = match when {
                When::After(d) => at + d,
                When::At(t) => t,
            };
            if when >= self.now {
                break;
            }
            // A refusal here is a mistake of this script, not a state to skip.
            let next = m.apply(&actor, cmd, when)?;
            self.push(
                &actor,
                when,
                vec![Write::Measure {
                    measure: next.next.clone(),
                    expected: Some(version),
                }],
                next.events,
            );
            m = next.next;
            at = when.max(at);
        }
        if m.block_active() {
            self.p.active_blocks += 1;
            // A few blocks are appealed by the site's owner (Art. 10).
            if rng.below(500) == 0 {
                let filed = (m.decided_at + Duration::days(2)).min(self.now - Duration::hours(1));
                if let Ok(a) = Appeal::file(
                    &Actor::Public,
                    Uuid::now_v7(),
                    &m,
                    Appellant {
                        name: "Site owner".into(),
                        contact: "owner@example.cn".into(),
                    },
                    "The domain was transferred to a new owner before the decision.".into(),
                    self.svc.ctx(filed, m.province),
                ) {
                    self.p.appeals += 1;
                    self.push(
                        &Actor::Public,
                        filed,
                        vec![Write::Appeal {
                            appeal: a.next,
                            expected: None,
                        }],
                        a.events,
                    );
                }
            }
        }
        Ok(())
    }
}

impl Service {
    /// Fills the database with the data set `plan` describes; `report` is called after each
    /// bulk transaction. The database must hold the installation (`warden init`) and no
    /// earlier seed.
    pub async fn seed(
        &self,
        plan: &SeedPlan,
        report: &(dyn Fn(&SeedProgress) + Sync),
    ) -> Result<SeedProgress, ServiceError> {
        crate::admin::check_password(&plan.password)
            .map_err(|e| ServiceError::InvalidQuery(format!("password: {e}")))?;
        let now = self.now();
        let mut rng = Rng::new(plan.rng_seed);
        let mut progress = SeedProgress::default();
        let existing = self.store.organisations().await?;
        let has_cases = !self
            .store
            .cases(&warden_store::CaseFilter::default(), 1, None)
            .await?
            .items
            .is_empty();
        if has_cases || existing.iter().any(|o| o.value.slug.starts_with("seed-")) {
            return Err(ServiceError::InvalidQuery(
                "this database holds cases or a seeded data set already: seed a fresh database (warden init first)".into(),
            ));
        }
        let by_type = |t: OrgType| -> Vec<Organisation> {
            existing
                .iter()
                .filter(|o| o.value.org_type == t)
                .map(|o| o.value.clone())
                .collect()
        };
        if by_type(OrgType::ProvincialAuthority).len() < 31
            || by_type(OrgType::Institution).is_empty()
        {
            return Err(ServiceError::InvalidQuery(
                "the database lacks the installation's authorities and institutions: run warden init on it first".into(),
            ));
        }
        let started = now - Duration::days(i64::from(plan.years) * 365);
        // The authorities sign notices with their keys, as the server would give them at start.
        self.keys.ensure_keys(self.store.as_ref(), started).await?;
        // The national and provincial authorities' reviewers, the institutions' analysts and
        // verifiers: one person each.
        let mut cast = Cast {
            reviewers: HashMap::new(),
            analysts: vec![],
            members: vec![],
            member_of: HashMap::new(),
            reporters: HashMap::new(),
            recipients: HashMap::new(),
            issuers: HashMap::new(),
        };
        // One argon2 hash for everyone: it is slow on purpose.
        let hash = crate::credentials::hash_password(&plan.password)?;
        let (mut writes, mut events) = (vec![], vec![]);
        for o in by_type(OrgType::ProvincialAuthority)
            .into_iter()
            .chain(by_type(OrgType::Ministry))
        {
            let name = format!("seed-reviewer@{}", o.slug);
            let actor = seeded_person(
                &o,
                name,
                &[Role::Reviewer],
                plan,
                &hash,
                &mut writes,
                &mut events,
            )?;
            let key = self.keys.signer(self.store.as_ref(), &o).await?;
            let province = match o.jurisdiction {
                Some(Jurisdiction::Province(p)) => Some(p),
                _ => None,
            };
            cast.issuers.insert(o.id, (o.clone(), key));
            cast.reviewers.insert(province, (o, actor));
        }
        for o in by_type(OrgType::Institution) {
            let a = format!("seed-analyst@{}", o.slug);
            let v = format!("seed-verifier@{}", o.slug);
            let a = seeded_person(
                &o,
                a,
                &[Role::Analyst],
                plan,
                &hash,
                &mut writes,
                &mut events,
            )?;
            let v = seeded_person(
                &o,
                v,
                &[Role::Verifier],
                plan,
                &hash,
                &mut writes,
                &mut events,
            )?;
            cast.analysts.push((o, a, v));
        }
        progress.people += events.len();
        // The members: each with Art. 5 contacts and one person holding its working roles.
        let types_total: u64 = MEMBER_TYPES.iter().map(|t| t.1).sum();
        let mut members = vec![];
        for i in 0..plan.orgs {
            let province = weighted_province(&mut rng);
            let mut x = rng.below(types_total);
            let (t, prefix) = MEMBER_TYPES
                .iter()
                .find_map(|(t, share, prefix)| {
                    if x < *share {
                        Some((*t, *prefix))
                    } else {
                        x -= share;
                        None
                    }
                })
                .unwrap_or((OrgType::InternetCompany, "net"));
            let slug = format!("seed-{prefix}-{}-{i:05}", province.code());
            let org = Organisation {
                id: Uuid::now_v7(),
                slug: slug.clone(),
                name: format!("{} {} {i}", province.name_en(), t),
                org_type: t,
                jurisdiction: None,
                province: Some(province),
                contacts: Some(Art5Contacts {
                    responsible_department: "Network security".into(),
                    responsible_person: contact(&mut rng, &slug, "head"),
                    contact_person: contact(&mut rng, &slug, "duty"),
                }),
                supervising_unit: None,
                suspended: None,
                require_second_factor: false,
            };
            org.validate()
                .map_err(|e| ServiceError::InvalidQuery(format!("{slug}: {e}")))?;
            let roles: &[Role] = match t {
                OrgType::SecurityCompany => &[Role::Reporter, Role::Admin],
                OrgType::SupervisingUnit => &[Role::Admin],
                _ => &[Role::Reporter, Role::Responder, Role::Admin],
            };
            let name = format!("staff@{slug}");
            let actor = seeded_person(&org, name, roles, plan, &hash, &mut writes, &mut events)?;
            members.push(org.clone());
            let k = cast.members.len();
            if roles.contains(&Role::Reporter) {
                cast.reporters.entry(province).or_default().push(k);
            }
            if roles.contains(&Role::Responder) {
                cast.recipients.entry((province, t)).or_default().push(k);
            }
            cast.member_of.insert(org.id, k);
            cast.members.push(Member { actor, org });
        }
        // Every province needs someone to carry out each kind of measure: members of the
        // biggest province stand in where a small one has none of a type.
        for province in Province::all().filter(|p| p.has_communications_administration()) {
            for t in [
                OrgType::TelecomOperator,
                OrgType::ServiceProvider,
                OrgType::InternetCompany,
                OrgType::DomainRegistrar,
            ] {
                if cast
                    .recipients
                    .get(&(province, t))
                    .is_none_or(|v| v.is_empty())
                {
                    let fallback: Vec<usize> = cast
                        .recipients
                        .iter()
                        .filter(|((_, tt), _)| *tt == t)
                        .flat_map(|(_, v)| v.iter().copied())
                        .take(8)
                        .collect();
                    cast.recipients.insert((province, t), fallback);
                }
            }
            if cast.reporters.get(&province).is_none_or(|v| v.is_empty()) {
                let fallback: Vec<usize> =
                    cast.reporters.values().flatten().copied().take(8).collect();
                cast.reporters.insert(province, fallback);
            }
        }
        progress.orgs = cast.members.len();
        progress.people += cast.members.len();
        let (org_writes, org_events) = crate::install::organisation_writes(members);
        progress.audit_entries += (org_events.len() + events.len()) as u64;
        let system = Actor::system("seed");
        let first = [
            Changeset::new(system.clone(), started, org_writes, org_events),
            Changeset::new(system, started, writes, events),
        ];
        self.store.bulk_commit(&first).await?;
        report(&progress);

        // The cases: ages skewed to the recent past (the platform's use grows), fates by age.
        let span_days = f64::from(plan.years) * 365.0;
        let mut ages: Vec<f64> = (0..plan.cases)
            .map(|_| {
                let u = rng.below(1_000_000) as f64 / 1_000_000.0;
                span_days * u.powf(1.4)
            })
            .collect();
        ages.sort_by(|a, b| b.total_cmp(a));
        // Blocks in force come from cases decided within the shortest block life (180 days).
        let blocking: Vec<usize> = (0..ages.len())
            .filter(|&i| ages[i] > 3.0 && ages[i] < 170.0 && i % 10 < 7)
            .collect();
        if plan.blocks > 0 && blocking.len() * 10_000 < plan.blocks {
            return Err(ServiceError::InvalidQuery(format!(
                "{} blocks need more cases: {} of {} cases fall in the last 170 days",
                plan.blocks,
                blocking.len(),
                plan.cases
            )));
        }
        let counts = block_counts(blocking.len(), plan.blocks, &mut rng);
        let mut blocks_of = vec![0; ages.len()];
        for (i, n) in blocking.into_iter().zip(counts) {
            blocks_of[i] = n;
        }
        let mut life = Life {
            svc: self,
            cast: &cast,
            now,
            out: vec![],
            p: &mut progress,
        };
        let mut budget = 0usize;
        type Writing =
            tokio::task::JoinHandle<Result<warden_store::BulkOutcome, warden_store::StoreError>>;
        let mut writing: Option<Writing> = None;
        async fn finish(w: Writing) -> Result<(), ServiceError> {
            w.await
                .map_err(|e| ServiceError::Internal(format!("bulk write: {e}")))??;
            Ok(())
        }
        for (i, &age) in ages.iter().enumerate() {
            let blocks = blocks_of[i];
            let fate = if blocks > 0 {
                Fate::Decided
            } else if age < 1.0 {
                [Fate::Submitted, Fate::Assigned, Fate::MoreInfo][rng.below(3) as usize]
            } else if age < 3.0 {
                [Fate::Determined, Fate::Assigned, Fate::Rejected][rng.below(3) as usize]
            } else {
                match rng.below(20) {
                    0 | 1 => Fate::Rejected,
                    2 => Fate::Dismissed,
                    3 => Fate::MoreInfo,
                    _ => Fate::Decided,
                }
            };
            let province = weighted_province(&mut rng);
            // Decided cases older than a year blocked a few targets, expired by now (a domain
            // block lives a year); the others ordered a remediation.
            let blocks = if blocks == 0 && fate == Fate::Decided && age >= 366.0 {
                1 + rng.below(3) as usize
            } else {
                blocks
            };
            life.case(&mut rng, age, fate, blocks, province)?;
            budget += 1 + blocks;
            if budget >= plan.batch.max(1) || i + 1 == ages.len() {
                let mut batch = std::mem::take(&mut life.out);
                // Within a batch the trail runs forward in time (a stable sort keeps each
                // object's own steps in order); the follow-ups of a batch's cases are written
                // with it, so from one batch to the next the times step back.
                batch.sort_by_key(|c| c.at);
                // One batch is written while the next is made.
                if let Some(w) = writing.take() {
                    finish(w).await?;
                }
                let store = self.store.clone();
                writing = Some(tokio::spawn(async move { store.bulk_commit(&batch).await }));
                budget = 0;
                report(life.p);
            }
        }
        if let Some(w) = writing.take() {
            finish(w).await?;
        }
        // The planner has not seen the new rows yet: without fresh statistics it picks plans
        // for an empty database.
        self.store.refresh_statistics().await?;
        Ok(progress)
    }
}
