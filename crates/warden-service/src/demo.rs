//! The demo world of docs/design.md §5.3, built on the bodies `warden init` installs: the
//! demo's members, a person and an API client per organisation and role, and a month of use —
//! cases over the last 30 days in every state, a publication and a bulletin — made through the
//! same store commits and service calls as real data. Each part is one commit or is skipped
//! when already there, so a start cut short resumes where it stopped.

use crate::error::ServiceError;
use crate::install::{self, OrgFile};
use crate::proto::*;
use crate::service::Service;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;
use warden_core::bulletin::{BulletinDraft, BulletinKind};
use warden_core::clock::FixedClock;
use warden_core::lifecycle::{
    Appellant, DecisionOutcome, FeedbackOutcome, IncidentLevel, MeasureCommand, MeasureKind,
    Severity, Tlp, Verdict, VerificationMethod, VerificationResult,
};
use warden_core::org::{Actor, OrgType, Organisation, Role};
use warden_store::{Changeset, Store, Write};

const ORGANISATIONS: &str = include_str!("../../../data/demo/organisations.toml");

/// How far back the demo's history reaches.
pub const HISTORY_DAYS: i64 = 30;

/// When the demo's history begins, for a world built at `now`.
pub fn history_start(now: OffsetDateTime) -> OffsetDateTime {
    now - Duration::days(HISTORY_DAYS)
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("data/demo/organisations.toml: {0}")]
    Data(String),
    #[error(transparent)]
    Store(#[from] warden_store::StoreError),
}

fn demo_file() -> Result<OrgFile, DemoError> {
    toml::from_str(ORGANISATIONS).map_err(|e| DemoError::Data(e.to_string()))
}

/// The demo world's organisations: the reference bodies (with the demo's contacts for those
/// its file names) and the demo's own members, validated.
pub fn organisations() -> Result<Vec<Organisation>, DemoError> {
    let mut orgs =
        install::reference_organisations().map_err(|e| DemoError::Data(e.to_string()))?;
    for e in demo_file()?.organisation {
        if let Some(o) = orgs.iter_mut().find(|o| o.slug == e.slug) {
            if e.name.is_some()
                || e.org_type.is_some()
                || e.jurisdiction.is_some()
                || e.province.is_some()
            {
                return Err(DemoError::Data(format!(
                    "{} is installed from data/reference: give only its contacts",
                    e.slug
                )));
            }
            o.contacts = e.contacts().map_err(DemoError::Data)?;
            if e.supervising_unit.is_some() {
                o.supervising_unit = e.supervising_unit.clone();
            }
        } else {
            orgs.push(e.organisation("demo").map_err(DemoError::Data)?);
        }
    }
    for o in &orgs {
        o.validate()
            .map_err(|e| DemoError::Data(format!("{}: {e}", o.slug)))?;
    }
    Ok(orgs)
}

/// Adds whatever of the demo world's organisations is missing, in one commit; returns how
/// many were added.
pub async fn load(store: &dyn Store, now: OffsetDateTime) -> Result<usize, DemoError> {
    let mut missing = vec![];
    for org in organisations()? {
        if store.organisation_by_slug(&org.slug).await?.is_none() {
            missing.push(org);
        }
    }
    let added = missing.len();
    if added > 0 {
        let (writes, events) = install::organisation_writes(missing);
        store
            .commit(Changeset::new(Actor::system("demo"), now, writes, events))
            .await?;
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_organisation_type_is_in_the_demo_world() {
        let orgs = super::organisations().unwrap();
        for t in warden_core::org::OrgType::ALL {
            assert!(orgs.iter().any(|o| o.org_type == t), "no {t}");
        }
        // The national bodies are the installation's, not copies that could drift.
        let reference = crate::install::reference_organisations().unwrap();
        for r in &reference {
            let d = orgs.iter().find(|o| o.slug == r.slug).unwrap();
            assert_eq!((d.id, &d.name, d.org_type), (r.id, &r.name, r.org_type));
        }
    }
}

/// The roles the demo gives each kind of organisation.
fn demo_roles(t: OrgType) -> &'static [Role] {
    match t {
        OrgType::Ministry => &[Role::Reviewer, Role::Admin, Role::Auditor],
        OrgType::ProvincialAuthority => &[Role::Reviewer, Role::Admin, Role::Auditor],
        OrgType::Institution => &[Role::Analyst, Role::Verifier, Role::Auditor],
        OrgType::SecurityCompany => &[Role::Reporter, Role::Admin],
        _ => &[Role::Reporter, Role::Responder, Role::Admin],
    }
}

/// The password of every demo user (`ROLE@ORG`, e.g. `reviewer@ca-guangdong`).
pub const DEMO_PASSWORD: &str = "warden-demo-2026";

/// What `populate` made: the tokens created on this start, the people, and how many cases.
#[derive(Debug, Default)]
pub struct DemoWorld {
    /// (organisation, role, token) of the clients created by this call; empty when the
    /// accounts were already there.
    pub tokens: Vec<(String, Role, String)>,
    /// Sign-in names of the people created by this call (password [`DEMO_PASSWORD`]).
    pub users: Vec<String>,
    /// Cases this call added.
    pub cases: usize,
}

/// A place for the demo's tokens, called before the accounts are committed so that no
/// committed token is lost to a crash. The flag says whether these are all the demo's tokens
/// (a first start: replace what was kept) or some added to an older demo database (keep the
/// others).
pub type KeepTokens<'a> =
    &'a mut (dyn FnMut(&[(String, Role, String)], bool) -> std::io::Result<()> + Send);

/// Gives each organisation the demo file names a person and an API client per role, in one
/// commit (the tokens handed to `keep` first), and those missing only.
async fn accounts(
    svc: &Service,
    at: OffsetDateTime,
    keep: KeepTokens<'_>,
    world: &mut DemoWorld,
) -> Result<(), DemoError> {
    let store = svc.store.as_ref();
    let named: HashSet<String> = demo_file()?
        .organisation
        .into_iter()
        .map(|e| e.slug)
        .collect();
    let mut writes = vec![];
    let mut events = vec![];
    let mut hash = None;
    let mut existed = false;
    for org in store.organisations().await? {
        let org = org.value;
        if !named.contains(&org.slug) {
            continue;
        }
        for role in demo_roles(org.org_type) {
            let name = format!("{role}@{}", org.slug);
            if store.principal_by_name(&name).await?.is_some() {
                existed = true;
                continue;
            }
            let fail = |e: crate::admin::AdminError| DemoError::Data(e.to_string());
            let (created, w, e) = crate::admin::client_writes(
                &org,
                [*role].into_iter().collect(),
                Some(format!("demo {role} of {}", org.slug)),
                None,
                at,
            )
            .map_err(fail)?;
            writes.extend(w);
            events.extend(e);
            world.tokens.push((org.slug.clone(), *role, created.token));
            let user = crate::admin::NewUser {
                org: org.slug.clone(),
                name: name.clone(),
                display_name: Some(format!("Demo {role}, {}", org.name)),
                roles: [*role].into_iter().collect(),
                password: DEMO_PASSWORD.to_owned(),
            };
            crate::admin::check_user(&user).map_err(fail)?;
            // One hash for the one published demo password: argon2 is slow on purpose.
            let h = match &hash {
                Some(h) => String::clone(h),
                None => {
                    let h = crate::credentials::hash_password(DEMO_PASSWORD)
                        .map_err(|e| DemoError::Data(e.to_string()))?;
                    hash = Some(h.clone());
                    h
                }
            };
            let (_, w, e) = crate::admin::user_writes(&org, user, h);
            writes.extend(w);
            events.extend(e);
            world.users.push(name);
        }
    }
    if writes.is_empty() {
        return Ok(());
    }
    keep(&world.tokens, !existed)
        .map_err(|e| DemoError::Data(format!("keeping the demo tokens: {e}")))?;
    store
        .commit(Changeset::new(Actor::system("demo"), at, writes, events))
        .await?;
    Ok(())
}

/// The demo world's resource registry: who holds which addresses, names and numbers, so that
/// attribution answers and measures route without a named recipient.
async fn registry(svc: &Service, now: time::OffsetDateTime) -> Result<(), DemoError> {
    use warden_core::resources::{ResourceClaim, ResourceKind as K};
    let store = svc.store.as_ref();
    // One commit: either every claim is there or none is.
    if !store.resource_claims().await?.is_empty() {
        return Ok(());
    }
    // (holder, kind, value, AS, province where used)
    type Claim<'a> = (&'a str, K, &'a str, Option<u32>, Option<&'a str>);
    let claims: &[Claim] = &[
        (
            "china-telecom",
            K::Prefix,
            "61.140.0.0/14",
            Some(4134),
            Some("44"),
        ),
        (
            "china-telecom",
            K::Prefix,
            "202.96.128.0/18",
            Some(4134),
            Some("44"),
        ),
        ("china-telecom", K::Asn, "AS4134", None, None),
        (
            "china-telecom",
            K::Resolver,
            "202.96.128.86",
            None,
            Some("44"),
        ),
        ("china-telecom", K::UrlFiltering, "44", None, None),
        (
            "china-mobile",
            K::Prefix,
            "120.196.0.0/14",
            Some(9808),
            Some("44"),
        ),
        ("china-mobile", K::Asn, "AS9808", None, None),
        ("china-mobile", K::UrlFiltering, "44", None, None),
        (
            "china-unicom",
            K::Prefix,
            "221.4.0.0/16",
            Some(4837),
            Some("44"),
        ),
        ("china-unicom", K::Asn, "AS4837", None, None),
        (
            "china-unicom",
            K::Prefix,
            "123.112.0.0/12",
            Some(4808),
            Some("11"),
        ),
        ("cnnic", K::Tld, "cn", None, None),
        (
            "registrar-alpha",
            K::SponsoredDomain,
            "example.cn",
            None,
            None,
        ),
        (
            "cloud-alpha",
            K::Prefix,
            "61.140.200.0/24",
            Some(64500),
            Some("44"),
        ),
    ];
    let actor = Actor::system("demo");
    let mut writes = vec![];
    let mut events = vec![];
    for (slug, kind, value, asn, province) in claims {
        let Some(org) = store.organisation_by_slug(slug).await? else {
            continue;
        };
        let province = province
            .map(str::parse::<warden_core::org::Province>)
            .transpose()
            .map_err(|e| DemoError::Data(e.to_string()))?;
        let (claim, ev) = ResourceClaim::imported(
            &actor,
            Uuid::now_v7(),
            org.value.org_ref(),
            *kind,
            value,
            None,
            *asn,
            province,
            "demo world",
            now,
        )
        .map_err(|e| DemoError::Data(e.message))?;
        writes.push(Write::ResourceClaim {
            claim,
            expected: None,
        });
        events.push(ev);
    }
    store
        .commit(Changeset::new(actor, now, writes, events))
        .await?;
    svc.registry
        .reload(store)
        .await
        .map_err(|e| DemoError::Data(e.to_string()))
}

/// The people the walk acts as, by organisation and role.
struct Cast(HashMap<(String, Role), Actor>);

impl Cast {
    async fn of(store: &dyn Store) -> Result<Cast, DemoError> {
        let mut cast = HashMap::new();
        for org in store.organisations().await? {
            let org = org.value;
            for role in demo_roles(org.org_type) {
                if let Some(p) = store
                    .principal_by_name(&format!("{role}@{}", org.slug))
                    .await?
                {
                    cast.insert((org.slug.clone(), *role), Actor::principal(&p.value, &org));
                }
            }
        }
        Ok(Cast(cast))
    }

    fn get(&self, slug: &str, role: Role) -> Result<Actor, DemoError> {
        self.0
            .get(&(slug.to_owned(), role))
            .cloned()
            .ok_or_else(|| DemoError::Data(format!("no demo {role} for {slug}")))
    }
}

fn fail(e: ServiceError) -> DemoError {
    DemoError::Data(format!("demo walk: {e}"))
}

/// The demo's history: a service on a clock the walk sets to each moment of the past month,
/// sharing the real service's store, matcher and registry.
struct Walk<'a> {
    real: &'a Service,
    past: Service,
    clock: Arc<FixedClock>,
    now: OffsetDateTime,
    /// Titles of the cases already there: their scenarios are not played again.
    done: HashSet<String>,
    cases: usize,
}

impl Walk<'_> {
    /// The service as of `days_ago` working days before now at `hour`:`minute` Shanghai
    /// time (the real service, at the real time, for 0).
    fn at(&self, days_ago: u32, hour: u8, minute: u8) -> &Service {
        if days_ago == 0 {
            return self.real;
        }
        let cal = self.real.calendar();
        let mut day =
            warden_core::calendar::shanghai_date(self.now) - Duration::days(days_ago.into());
        while !cal.is_working_day(day).value {
            day = day.previous_day().unwrap_or(day);
        }
        let t = time::PrimitiveDateTime::new(
            day,
            time::Time::from_hms(hour, minute, 0).unwrap_or(time::Time::MIDNIGHT),
        )
        .assume_offset(warden_core::calendar::SHANGHAI);
        self.clock.set(t);
        &self.past
    }

    /// Moves the past clock on (a step taken later the same day).
    fn later(&self, minutes: i64) {
        self.clock.advance(Duration::minutes(minutes));
    }

    /// Whether the scenario of the case titled `title` still has to be played.
    fn todo(&mut self, title: &str) -> bool {
        let todo = !self.done.contains(title);
        if todo {
            self.cases += 1;
        }
        todo
    }
}

fn report(
    at: OffsetDateTime,
    subtype: &str,
    title: &str,
    province: &str,
    kind: &str,
    value: &str,
) -> ReportRequest {
    ReportRequest {
        category: if subtype == "compromised_host" || subtype == "defacement" {
            "incident".into()
        } else {
            "malicious_resource".into()
        },
        subtype: subtype.into(),
        title: title.into(),
        description: format!("{title}. Observed by the reporter's monitoring platform."),
        observed_at: at - Duration::hours(3),
        province: Some(province.into()),
        tlp: None,
        indicators: vec![IndicatorInput {
            kind: kind.into(),
            value: value.into(),
        }],
        victim: None,
    }
}

fn determination(verdict: Verdict, severity: Option<Severity>) -> DeterminationRequest {
    DeterminationRequest {
        verdict,
        severity,
        incident_level: None,
        rationale: "Checked against sandbox runs and passive DNS.".into(),
        recommended_measures: vec![],
        malware_family: None,
    }
}

fn block(kind: &str, value: &str, recipient: &str) -> MeasureInput {
    MeasureInput {
        kind: MeasureKind::Block,
        target: Some(IndicatorInput {
            kind: kind.into(),
            value: value.into(),
        }),
        recipient_org: Some(recipient.into()),
        deadline: None,
        scope: None,
        range_last: None,
        allowlist_override: None,
        instructions: None,
    }
}

fn approve(reasons: &str, measures: Vec<MeasureInput>) -> DecisionRequest {
    DecisionRequest {
        outcome: DecisionOutcome::Approved,
        reasons: reasons.into(),
        measures,
        notify: vec![],
    }
}

/// Submits a report and has the assigned institution's analyst determine it; the case id.
async fn reported(
    svc: &Service,
    reporter: &Actor,
    report: ReportRequest,
    analyst: &Actor,
    determination: DeterminationRequest,
) -> Result<Uuid, ServiceError> {
    let created = svc.submit_report(reporter, report, None).await?;
    svc.determine(analyst, created.case_id, determination, None)
        .await?;
    Ok(created.case_id)
}

/// The recipient acknowledges a notice and reports it carried out.
async fn reported_back(
    svc: &Service,
    recipient: &Actor,
    notice_id: Uuid,
    actions_taken: &str,
) -> Result<(), ServiceError> {
    svc.notice_step(recipient, notice_id, MeasureCommand::Acknowledge, None)
        .await?;
    let fb = MeasureCommand::FileFeedback {
        outcome: FeedbackOutcome::Done,
        actions_taken: actions_taken.into(),
        completed_at: None,
    };
    svc.notice_step(recipient, notice_id, fb, None).await?;
    Ok(())
}

fn verified(notes: &str) -> MeasureCommand {
    MeasureCommand::Verify {
        result: VerificationResult::Passed,
        method: VerificationMethod::Dns,
        notes: notes.into(),
    }
}

/// One block carried through the whole lifecycle over a day: reported, determined, decided,
/// carried out and verified.
struct Handled<'a> {
    days_ago: u32,
    reporter: &'a str,
    subtype: &'a str,
    title: &'a str,
    province: &'a str,
    domain: &'a str,
    severity: Severity,
    authority: &'a str,
    recipient: &'a str,
    /// Whether the recipient reports back (an unanswered notice goes overdue).
    answered: bool,
}

impl Walk<'_> {
    async fn handled(&mut self, cast: &Cast, h: Handled<'_>) -> Result<Option<Uuid>, DemoError> {
        if !self.todo(h.title) {
            return Ok(None);
        }
        let svc = self.at(h.days_ago, 9, 20);
        let c = reported(
            svc,
            &cast.get(h.reporter, Role::Reporter)?,
            report(
                svc.now(),
                h.subtype,
                h.title,
                h.province,
                "domain",
                h.domain,
            ),
            &cast.get("cncert", Role::Analyst)?,
            determination(Verdict::Confirmed, Some(h.severity)),
        )
        .await
        .map_err(fail)?;
        self.later(50);
        let d = self
            .past
            .decide(
                &cast.get(h.authority, Role::Reviewer)?,
                c,
                approve(
                    "Confirmed by CNCERT: block the domain.",
                    vec![block("domain", h.domain, h.recipient)],
                ),
                None,
            )
            .await
            .map_err(fail)?;
        let notice = d.measures[0].notice_id;
        let responder = cast.get(h.recipient, Role::Responder)?;
        self.later(40);
        if !h.answered {
            self.past
                .notice_step(&responder, notice, MeasureCommand::Acknowledge, None)
                .await
                .map_err(fail)?;
            return Ok(Some(c));
        }
        reported_back(
            &self.past,
            &responder,
            notice,
            "Listed in the RPZ of all recursive resolvers.",
        )
        .await
        .map_err(fail)?;
        self.later(120);
        self.past
            .notice_step(
                &cast.get("cncert", Role::Verifier)?,
                notice,
                verified("NXDOMAIN from the operator's resolvers."),
                None,
            )
            .await
            .map_err(fail)?;
        Ok(Some(c))
    }
}

/// Builds the demo world on a database holding its organisations ([`load`]): the registry,
/// the accounts (tokens handed to `keep` before they are committed), and a month of cases, a
/// publication and a bulletin. Skips whatever is already there.
pub async fn populate(svc: &Service, keep: KeepTokens<'_>) -> Result<DemoWorld, DemoError> {
    let store = svc.store.as_ref();
    let mut world = DemoWorld::default();
    let now = svc.now();
    let start = history_start(now);
    registry(svc, start).await?;
    accounts(svc, start, keep, &mut world).await?;
    let cast = Cast::of(store).await?;
    let existing = store
        .cases(&warden_store::CaseFilter::default(), 1000, None)
        .await?;
    let clock = Arc::new(FixedClock::new(start));
    let mut w = Walk {
        real: svc,
        past: svc.on_clock(clock.clone()),
        clock,
        now,
        done: existing.items.into_iter().map(|c| c.value.title).collect(),
        cases: 0,
    };
    let a = |slug: &str, role: Role| cast.get(slug, role);
    let analyst = a("cncert", Role::Analyst)?;
    let verifier = a("cncert", Role::Verifier)?;

    // Four weeks ago: blocks carried out and verified.
    w.handled(
        &cast,
        Handled {
            days_ago: 28,
            reporter: "secco-alpha",
            subtype: "malicious_infrastructure",
            title: "Trojan download site posing as a video player",
            province: "44",
            domain: "player-codec.example.cn",
            severity: Severity::High,
            authority: "ca-guangdong",
            recipient: "china-telecom",
            answered: true,
        },
    )
    .await?;
    let t = "Suspected phishing page";
    if w.todo(t) {
        let svc = w.at(26, 10, 5);
        reported(
            svc,
            &a("secco-alpha", Role::Reporter)?,
            report(
                svc.now(),
                "phishing_site",
                t,
                "11",
                "url",
                "http://portal.example.cn/login",
            ),
            &analyst,
            determination(Verdict::NotAThreat, None),
        )
        .await
        .map_err(fail)?;
    }
    w.handled(
        &cast,
        Handled {
            days_ago: 24,
            reporter: "netco-alpha",
            subtype: "phishing_site",
            title: "Lottery scam site collecting bank cards",
            province: "44",
            domain: "lucky-draw.example.cn",
            severity: Severity::Medium,
            authority: "ca-guangdong",
            recipient: "china-mobile",
            answered: true,
        },
    )
    .await?;
    let t = "SMS phishing sender";
    if w.todo(t) {
        let svc = w.at(21, 14, 30);
        let c = reported(
            svc,
            &a("netco-alpha", Role::Reporter)?,
            report(
                svc.now(),
                "phishing_sms",
                t,
                "11",
                "phone",
                "+8613800000001",
            ),
            &analyst,
            determination(Verdict::Confirmed, Some(Severity::Low)),
        )
        .await
        .map_err(fail)?;
        w.later(90);
        w.past
            .decide(
                &a("ca-beijing", Role::Reviewer)?,
                c,
                DecisionRequest {
                    outcome: DecisionOutcome::Dismissed,
                    reasons: "The number was already suspended by the carrier.".into(),
                    measures: vec![],
                    notify: vec![],
                },
                None,
            )
            .await
            .map_err(fail)?;
    }
    w.handled(
        &cast,
        Handled {
            days_ago: 18,
            reporter: "secco-alpha",
            subtype: "c2",
            title: "Botnet controller of an IoT worm",
            province: "31",
            domain: "iot-cnc.example.cn",
            severity: Severity::High,
            authority: "ca-shanghai",
            recipient: "china-unicom",
            answered: true,
        },
    )
    .await?;
    // Decided and acknowledged, never reported back: the deadline job marks it overdue and
    // raises an enforcement record (Art. 12).
    w.handled(
        &cast,
        Handled {
            days_ago: 15,
            reporter: "netco-alpha",
            subtype: "malicious_infrastructure",
            title: "Mining pool proxy abusing cloud hosts",
            province: "44",
            domain: "pool-proxy.example.cn",
            severity: Severity::Medium,
            authority: "ca-guangdong",
            recipient: "china-mobile",
            answered: false,
        },
    )
    .await?;
    // A threat handled in the reporter's own systems: a report without a case, made once
    // (its idempotency key) however often the walk runs.
    {
        let t = "Compromised customer VM";
        let svc = w.at(13, 11, 0);
        let once = crate::service::Idem {
            scope: "demo".into(),
            key: "self-report:compromised-vm".into(),
            request_hash: "demo".into(),
        };
        svc.submit_self_report(
            &a("cloud-alpha", Role::Reporter)?,
            SelfReportRequest {
                report: report(
                    svc.now(),
                    "compromised_host",
                    t,
                    "44",
                    "ipv4",
                    "192.0.2.200",
                ),
                actions_taken: "Isolated the VM, notified the customer, restored from backup."
                    .into(),
            },
            Some(once),
        )
        .await
        .map_err(fail)?;
    }
    let subsidy = w
        .handled(
            &cast,
            Handled {
                days_ago: 11,
                reporter: "secco-alpha",
                subtype: "phishing_site",
                title: "Fake government subsidy site",
                province: "44",
                domain: "subsidy-gov.example.cn",
                severity: Severity::High,
                authority: "ca-guangdong",
                recipient: "china-telecom",
                answered: true,
            },
        )
        .await?;
    let t = "Possible botnet controller";
    if w.todo(t) {
        let svc = w.at(8, 16, 10);
        reported(
            svc,
            &a("netco-alpha", Role::Reporter)?,
            report(svc.now(), "c2", t, "31", "ipv4", "203.0.113.45"),
            &analyst,
            determination(Verdict::MoreInfo, None),
        )
        .await
        .map_err(fail)?;
    }
    // Confirmed, waiting for the authority.
    let t = "Trojan command-and-control domain";
    if w.todo(t) {
        let svc = w.at(5, 15, 0);
        reported(
            svc,
            &a("secco-alpha", Role::Reporter)?,
            report(svc.now(), "c2", t, "44", "domain", "cc-update.example.cn"),
            &analyst,
            determination(Verdict::Confirmed, Some(Severity::High)),
        )
        .await
        .map_err(fail)?;
    }
    // Carried out and reported back two days ago: waiting for the institution to verify (by
    // hand or by a probe).
    let t = "Fake online shop taking payments";
    if w.todo(t) {
        let svc = w.at(2, 10, 0);
        let c = reported(
            svc,
            &a("secco-alpha", Role::Reporter)?,
            report(
                svc.now(),
                "phishing_site",
                t,
                "44",
                "domain",
                "fake-shop.example.cn",
            ),
            &analyst,
            determination(Verdict::Confirmed, Some(Severity::Medium)),
        )
        .await
        .map_err(fail)?;
        w.later(60);
        let d = w
            .past
            .decide(
                &a("ca-guangdong", Role::Reviewer)?,
                c,
                approve(
                    "Confirmed fraud: block the domain.",
                    vec![block("domain", "fake-shop.example.cn", "china-telecom")],
                ),
                None,
            )
            .await
            .map_err(fail)?;
        w.later(45);
        reported_back(
            &w.past,
            &a("china-telecom", Role::Responder)?,
            d.measures[0].notice_id,
            "Listed in the RPZ of our recursive resolvers.",
        )
        .await
        .map_err(fail)?;
    }
    publications(&mut w, &cast, subsidy).await?;

    // Today.
    let svc = w.real;
    let t = "Phishing site imitating a bank";
    if w.todo(t) {
        svc.submit_report(
            &a("secco-alpha", Role::Reporter)?,
            report(
                now,
                "phishing_site",
                t,
                "44",
                "domain",
                "login-bank-verify.example.cn",
            ),
            None,
        )
        .await
        .map_err(fail)?;
    }
    // Decided: one notice handled and verified, one acknowledged, one appealed.
    let t = "Phishing kit on a compromised server";
    if w.todo(t) {
        let c = reported(
            svc,
            &a("netco-alpha", Role::Reporter)?,
            report(
                now,
                "phishing_site",
                t,
                "44",
                "domain",
                "secure-pay-check.example.cn",
            ),
            &analyst,
            determination(Verdict::Confirmed, Some(Severity::High)),
        )
        .await
        .map_err(fail)?;
        let d = svc
            .decide(
                &a("ca-guangdong", Role::Reviewer)?,
                c,
                approve(
                    "Confirmed phishing: block the domain and its URL.",
                    vec![
                        block("domain", "secure-pay-check.example.cn", "china-telecom"),
                        block("url", "http://secure-pay-check.example.cn/pay", "china-mobile"),
                        MeasureInput {
                            // Documentation addresses are allow-listed: blocking one takes a
                            // reason.
                            allowlist_override: Some(
                                "Training world: the RFC 5737 address stands in for the phishing host."
                                    .into(),
                            ),
                            ..block("ipv4", "198.51.100.77", "china-unicom")
                        },
                    ],
                ),
                None,
            )
            .await
            .map_err(fail)?;
        let telecom = a("china-telecom", Role::Responder)?;
        let first = &d.measures[0];
        svc.notice(&telecom, first.notice_id).await.map_err(fail)?;
        reported_back(
            svc,
            &telecom,
            first.notice_id,
            "Added to the RPZ of all recursive resolvers.",
        )
        .await
        .map_err(fail)?;
        svc.notice_step(
            &verifier,
            first.notice_id,
            verified("NXDOMAIN from the operator's resolvers."),
            None,
        )
        .await
        .map_err(fail)?;
        svc.notice_step(
            &a("china-mobile", Role::Responder)?,
            d.measures[1].notice_id,
            MeasureCommand::Acknowledge,
            None,
        )
        .await
        .map_err(fail)?;
        let appeal = AppealRequest {
            appellant: Appellant {
                name: "Holder of 198.51.100.77".into(),
                contact: "noc@example.cn".into(),
            },
            grounds: "The address was reassigned to a new customer last week.".into(),
        };
        svc.file_appeal(
            &a("netco-alpha", Role::Reporter)?,
            Some(d.measures[2].id),
            None,
            appeal,
            None,
        )
        .await
        .map_err(fail)?;
    }
    // Art. 9: Guangdong asks China Telecom who holds an address; one request is answered,
    // one awaits its answer.
    // Made once each (idempotency keys), however often the walk runs.
    {
        let once = |key: &str| crate::service::Idem {
            scope: "demo".into(),
            key: key.into(),
            request_hash: "demo".into(),
        };
        let gd = a("ca-guangdong", Role::Reviewer)?;
        let ask = |value: &str| InquiryRequest {
            addressee: "china-telecom".into(),
            subject: IndicatorInput {
                kind: "ipv4".into(),
                value: value.into(),
            },
            question: "Who has held this address since September, and how can they be reached?"
                .into(),
            case_id: None,
            authority: None,
            province: Some("44".into()),
        };
        let answered = svc
            .ask_inquiry(&gd, ask("45.33.12.7"), Some(once("look-up:45.33.12.7")))
            .await
            .map_err(fail)?;
        {
            svc.answer_inquiry(
                &a("china-telecom", Role::Responder)?,
                answered.inquiry.id,
                InquiryAnswerRequest {
                    holder: "示例云计算服务有限公司".into(),
                    registrant: None,
                    contact: Some("soc@cloud-alpha.example.cn".into()),
                    evidence: "Customer record 2024-118: 45.33.12.0/24 assigned 2024-03-02".into(),
                    holder_org: Some("cloud-alpha".into()),
                },
                Some(once("look-up-answer:45.33.12.7")),
            )
            .await
            .map_err(fail)?;
        }
        svc.ask_inquiry(&gd, ask("45.33.12.8"), Some(once("look-up:45.33.12.8")))
            .await
            .map_err(fail)?;
    }
    // Decided today: a notice the operator has not opened yet.
    let t = "Domain serving a banking trojan";
    if w.todo(t) {
        let c = reported(
            svc,
            &a("secco-alpha", Role::Reporter)?,
            report(
                now,
                "malicious_infrastructure",
                t,
                "44",
                "domain",
                "apk-update.example.cn",
            ),
            &analyst,
            determination(Verdict::Confirmed, Some(Severity::High)),
        )
        .await
        .map_err(fail)?;
        svc.decide(
            &a("ca-guangdong", Role::Reviewer)?,
            c,
            approve(
                "Confirmed malware distribution: block the domain.",
                vec![block("domain", "apk-update.example.cn", "china-telecom")],
            ),
            None,
        )
        .await
        .map_err(fail)?;
    }
    // An emergency (Art. 8, 13): a level II incident goes to MIIT, which telephones the
    // operator first; the signed written notice is still owed.
    let t = "Ransomware controller spreading across provinces";
    if w.todo(t) {
        let c = reported(
            svc,
            &a("secco-alpha", Role::Reporter)?,
            report(now, "c2", t, "44", "domain", "ransom-relay.example.cn"),
            &analyst,
            DeterminationRequest {
                incident_level: Some(IncidentLevel::Ii),
                malware_family: Some("LockBit 3.0".into()),
                ..determination(Verdict::Confirmed, Some(Severity::Critical))
            },
        )
        .await
        .map_err(fail)?;
        let miit = a("miit", Role::Reviewer)?;
        let d = svc
            .decide(
                &miit,
                c,
                approve(
                    "Level II incident under the national plan: block the controller at once.",
                    vec![block("domain", "ransom-relay.example.cn", "china-unicom")],
                ),
                None,
            )
            .await
            .map_err(fail)?;
        if let Some(m) = d.measures.first() {
            let (person, number) = m
                .telephone
                .as_ref()
                .map(|c| {
                    (
                        c.contact_person.name.clone(),
                        c.contact_person.phone.clone(),
                    )
                })
                .unwrap_or_else(|| ("Duty officer".into(), "+861000000000".into()));
            svc.notice_step(
                &miit,
                m.notice_id,
                MeasureCommand::RecordPhoneNotification {
                    called_person: person,
                    called_number: number,
                    answered_by: None,
                    summary: "Block ransom-relay.example.cn in every resolver now; the written notice follows today.".into(),
                    at: None,
                },
                None,
            )
            .await
            .map_err(fail)?;
        }
    }
    // Decided with a short deadline: the deadline job marks it overdue and raises an
    // enforcement record shortly after start.
    let t = "Botnet controller still active";
    if w.todo(t) {
        let c = reported(
            svc,
            &a("secco-alpha", Role::Reporter)?,
            report(now, "c2", t, "31", "domain", "bot-cnc.example.cn"),
            &analyst,
            determination(Verdict::Confirmed, Some(Severity::Critical)),
        )
        .await
        .map_err(fail)?;
        let mut short = block("domain", "bot-cnc.example.cn", "china-mobile");
        // From the clock at this point, not the start of the walk: a slow machine may have
        // spent seconds on the cases before.
        short.deadline = Some(svc.now() + Duration::seconds(20));
        svc.decide(
            &a("ca-shanghai", Role::Reviewer)?,
            c,
            approve("Active controller: block at once.", vec![short]),
            None,
        )
        .await
        .map_err(fail)?;
    }
    world.cases = w.cases;
    Ok(world)
}

/// A public publication (发布) on the subsidy fraud and a bulletin (通报) to the members, as
/// MIIT issues them.
async fn publications(
    w: &mut Walk<'_>,
    cast: &Cast,
    subsidy: Option<Uuid>,
) -> Result<(), DemoError> {
    let store = w.real.store.as_ref();
    let miit = cast.get("miit", Role::Reviewer)?;
    let published: HashSet<String> = store
        .bulletins(BulletinKind::Publication, 100, None)
        .await?
        .items
        .into_iter()
        .map(|b| b.value.title)
        .collect();
    let title = "关于防范仿冒政府补贴网站诈骗的风险提示";
    if !published.contains(title) {
        let svc = w.at(10, 10, 0);
        svc.issue_bulletin(
            &miit,
            BulletinDraft {
                kind: BulletinKind::Publication,
                title: title.into(),
                body: "近期发现不法分子仿冒政府部门发布“补贴申领”网站，诱导用户填写银行卡信息。相关域名已依法处置。请勿点击短信中的不明链接，如有疑问请拨打官方热线核实。".into(),
                tlp: Tlp::Clear,
                audience: vec![],
                case_ids: subsidy.into_iter().collect(),
            },
            None,
        )
        .await
        .map_err(fail)?;
    }
    let bulletined: HashSet<String> = store
        .bulletins(BulletinKind::Bulletin, 100, None)
        .await?
        .items
        .into_iter()
        .map(|b| b.value.title)
        .collect();
    let title = "关于近期物联网僵尸网络控制端活动情况的通报";
    if !bulletined.contains(title) {
        let svc = w.at(4, 16, 0);
        svc.issue_bulletin(
            &miit,
            BulletinDraft {
                kind: BulletinKind::Bulletin,
                title: title.into(),
                body: "各基础电信企业、互联网企业：近期监测发现多个物联网僵尸网络控制端域名活跃，已通知相关单位处置。请加强对本单位网络内受控设备的监测与清理，并及时报送处置情况。".into(),
                tlp: Tlp::Green,
                audience: vec![OrgType::TelecomOperator, OrgType::InternetCompany, OrgType::ServiceProvider],
                case_ids: vec![],
            },
            None,
        )
        .await
        .map_err(fail)?;
    }
    Ok(())
}
