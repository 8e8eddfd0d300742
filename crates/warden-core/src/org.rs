//! Organisations (Art. 3, 5), their jurisdictions, and the people and clients acting for them.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// Province-level divisions by GB/T 2260 code.
pub const PROVINCES: [(u8, &str, &str); 34] = [
    (11, "北京市", "Beijing"),
    (12, "天津市", "Tianjin"),
    (13, "河北省", "Hebei"),
    (14, "山西省", "Shanxi"),
    (15, "内蒙古自治区", "Inner Mongolia"),
    (21, "辽宁省", "Liaoning"),
    (22, "吉林省", "Jilin"),
    (23, "黑龙江省", "Heilongjiang"),
    (31, "上海市", "Shanghai"),
    (32, "江苏省", "Jiangsu"),
    (33, "浙江省", "Zhejiang"),
    (34, "安徽省", "Anhui"),
    (35, "福建省", "Fujian"),
    (36, "江西省", "Jiangxi"),
    (37, "山东省", "Shandong"),
    (41, "河南省", "Henan"),
    (42, "湖北省", "Hubei"),
    (43, "湖南省", "Hunan"),
    (44, "广东省", "Guangdong"),
    (45, "广西壮族自治区", "Guangxi"),
    (46, "海南省", "Hainan"),
    (50, "重庆市", "Chongqing"),
    (51, "四川省", "Sichuan"),
    (52, "贵州省", "Guizhou"),
    (53, "云南省", "Yunnan"),
    (54, "西藏自治区", "Tibet"),
    (61, "陕西省", "Shaanxi"),
    (62, "甘肃省", "Gansu"),
    (63, "青海省", "Qinghai"),
    (64, "宁夏回族自治区", "Ningxia"),
    (65, "新疆维吾尔自治区", "Xinjiang"),
    (71, "台湾省", "Taiwan"),
    (81, "香港特别行政区", "Hong Kong"),
    (82, "澳门特别行政区", "Macao"),
];

/// A GB/T 2260 province-level code, e.g. 44 for Guangdong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Province(u8);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a GB/T 2260 province code (two digits, e.g. 11 Beijing, 44 Guangdong)")]
pub struct ProvinceError(pub String);

impl Province {
    pub fn code(self) -> u8 {
        self.0
    }

    pub fn name_zh(self) -> &'static str {
        PROVINCES
            .iter()
            .find(|p| p.0 == self.0)
            .map(|p| p.1)
            .unwrap_or("")
    }

    pub fn name_en(self) -> &'static str {
        PROVINCES
            .iter()
            .find(|p| p.0 == self.0)
            .map(|p| p.2)
            .unwrap_or("")
    }

    /// Mainland provinces each have a communications administration (Art. 3).
    pub fn has_communications_administration(self) -> bool {
        self.0 < 70
    }

    pub fn all() -> impl Iterator<Item = Province> {
        PROVINCES.iter().map(|p| Province(p.0))
    }
}

impl FromStr for Province {
    type Err = ProvinceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Accept the six-digit division code of the province itself (440000) as well.
        let t = s.trim();
        let two = match t.len() {
            2 => t,
            6 if t.ends_with("0000") => &t[..2],
            _ => return Err(ProvinceError(s.to_owned())),
        };
        two.parse::<u8>()
            .ok()
            .filter(|c| PROVINCES.iter().any(|p| p.0 == *c))
            .map(Province)
            .ok_or_else(|| ProvinceError(s.to_owned()))
    }
}

impl TryFrom<String> for Province {
    type Error = ProvinceError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Province> for String {
    fn from(p: Province) -> String {
        p.to_string()
    }
}

impl fmt::Display for Province {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}", self.0)
    }
}

/// Where a telecom authority's competence runs (Art. 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Jurisdiction {
    National,
    Province(Province),
}

impl Jurisdiction {
    /// Whether a case located in `province` (None: no single province) falls under it.
    pub fn covers(self, province: Option<Province>) -> bool {
        match self {
            Jurisdiction::National => true,
            Jurisdiction::Province(p) => province == Some(p),
        }
    }
}

impl TryFrom<String> for Jurisdiction {
    type Error = ProvinceError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s == "national" {
            Ok(Jurisdiction::National)
        } else {
            s.parse().map(Jurisdiction::Province)
        }
    }
}

impl From<Jurisdiction> for String {
    fn from(j: Jurisdiction) -> String {
        j.to_string()
    }
}

impl fmt::Display for Jurisdiction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Jurisdiction::National => f.write_str("national"),
            Jurisdiction::Province(p) => p.fmt(f),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum OrgType {
    /// MIIT.
    Ministry,
    /// A provincial communications administration (通信管理局).
    ProvincialAuthority,
    /// A professional institution that determines threats (CNCERT, CAICT, …), Art. 7.
    Institution,
    TelecomOperator,
    InternetCompany,
    DomainRegistry,
    DomainRegistrar,
    SecurityCompany,
    ServiceProvider,
    /// The cyberspace administration (网信部门), notified under Art. 8(3).
    CyberspaceAdmin,
    /// A superior unit of a Party/government organ or CII operator, Art. 8(3).
    SupervisingUnit,
}

impl OrgType {
    pub const ALL: [OrgType; 11] = [
        OrgType::Ministry,
        OrgType::ProvincialAuthority,
        OrgType::Institution,
        OrgType::TelecomOperator,
        OrgType::InternetCompany,
        OrgType::DomainRegistry,
        OrgType::DomainRegistrar,
        OrgType::SecurityCompany,
        OrgType::ServiceProvider,
        OrgType::CyberspaceAdmin,
        OrgType::SupervisingUnit,
    ];

    /// MIIT and the provincial communications administrations: "telecom authorities".
    pub fn is_authority(self) -> bool {
        matches!(self, OrgType::Ministry | OrgType::ProvincialAuthority)
    }

    /// The organisations Art. 5 names: they must keep a responsible department, a responsible
    /// person and a contact person on record. The authorities, the cyberspace administration
    /// and supervising units are not among them.
    pub fn bound_by_art5(self) -> bool {
        matches!(
            self,
            OrgType::Institution
                | OrgType::TelecomOperator
                | OrgType::InternetCompany
                | OrgType::DomainRegistry
                | OrgType::DomainRegistrar
                | OrgType::SecurityCompany
                | OrgType::ServiceProvider
        )
    }

    /// Members a provincial authority registers in its province: the bodies of the state
    /// (authorities, institutions, the cyberspace administration) are registered nationally.
    pub fn provincial_member(self) -> bool {
        !matches!(
            self,
            OrgType::Ministry
                | OrgType::ProvincialAuthority
                | OrgType::Institution
                | OrgType::CyberspaceAdmin
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrgType::Ministry => "ministry",
            OrgType::ProvincialAuthority => "provincial_authority",
            OrgType::Institution => "institution",
            OrgType::TelecomOperator => "telecom_operator",
            OrgType::InternetCompany => "internet_company",
            OrgType::DomainRegistry => "domain_registry",
            OrgType::DomainRegistrar => "domain_registrar",
            OrgType::SecurityCompany => "security_company",
            OrgType::ServiceProvider => "service_provider",
            OrgType::CyberspaceAdmin => "cyberspace_admin",
            OrgType::SupervisingUnit => "supervising_unit",
        }
    }
}

impl FromStr for OrgType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrgType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                let all: Vec<&str> = OrgType::ALL.iter().map(|t| t.as_str()).collect();
                format!(
                    "unknown organisation type {s:?}: expected one of {}",
                    all.join(", ")
                )
            })
    }
}

impl fmt::Display for OrgType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contact {
    pub name: String,
    pub phone: String,
    pub email: String,
}

/// Art. 5: a responsible department, a responsible person and a contact person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Art5Contacts {
    pub responsible_department: String,
    pub responsible_person: Contact,
    pub contact_person: Contact,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Organisation {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    #[serde(rename = "type")]
    pub org_type: OrgType,
    /// Only telecom authorities have one: MIIT national, a provincial authority its province.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub jurisdiction: Option<Jurisdiction>,
    /// Where the organisation is based; routes its reports when a threat names no province.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub province: Option<Province>,
    /// Art. 5 contacts: required of the organisations Art. 5 names ([`OrgType::bound_by_art5`]);
    /// a body installed from the reference data has none until its admin records them.
    #[serde(default)]
    pub contacts: Option<Art5Contacts>,
    /// The superior unit (slug of a `supervising_unit`) of a Party/government organ or a
    /// critical-information-infrastructure operator, notified with it under Art. 8(3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervising_unit: Option<String>,
    /// Set while the organisation is suspended: its tokens and sessions do not work and it is
    /// routed nothing new.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended: Option<Suspension>,
    /// Its people must sign in with a second factor (TOTP); set by its own admin.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_second_factor: bool,
}

/// Why and since when an organisation is suspended, and by whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Suspension {
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub since: time::OffsetDateTime,
    pub reason: String,
    /// `name@org` of who suspended it.
    pub by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("organisation {field}: {problem}")]
pub struct OrgError {
    pub field: &'static str,
    pub problem: String,
}

fn org_err(field: &'static str, problem: impl Into<String>) -> OrgError {
    OrgError {
        field,
        problem: problem.into(),
    }
}

/// Slugs name organisations in URLs, tokens and broadband accounts.
pub fn check_slug(slug: &str) -> Result<(), OrgError> {
    let ok = (2..=64).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(org_err(
            "slug",
            format!("{slug:?} must be 2–64 lowercase letters, digits or inner hyphens"),
        ))
    }
}

impl Organisation {
    /// Checks the Art. 3 and Art. 5 requirements: what a registration must meet.
    pub fn validate(&self) -> Result<(), OrgError> {
        self.check_identity()?;
        if self.contacts.is_none() && self.org_type.bound_by_art5() {
            return Err(org_err(
                "contacts",
                format!(
                    "Art. 5 requires a {} to name a responsible department, a responsible person and a contact person",
                    self.org_type
                ),
            ));
        }
        Ok(())
    }

    /// Whether Art. 5 asks for contacts this organisation has not recorded yet.
    pub fn art5_incomplete(&self) -> bool {
        self.contacts.is_none() && self.org_type.bound_by_art5()
    }

    /// Whether it may act and be routed to now.
    pub fn is_active(&self) -> bool {
        self.suspended.is_none()
    }

    /// The Art. 3 rules and whatever contacts are recorded; Art. 5 contacts may still be
    /// missing (a body installed from the reference data).
    pub fn check_identity(&self) -> Result<(), OrgError> {
        check_slug(&self.slug)?;
        if self.name.trim().is_empty() {
            return Err(org_err("name", "is empty"));
        }
        match (self.org_type, self.jurisdiction) {
            (OrgType::Ministry, Some(Jurisdiction::National)) => {}
            (OrgType::Ministry, _) => {
                return Err(org_err(
                    "jurisdiction",
                    "the ministry's jurisdiction is national",
                ));
            }
            (OrgType::ProvincialAuthority, Some(Jurisdiction::Province(p)))
                if p.has_communications_administration() => {}
            (OrgType::ProvincialAuthority, _) => {
                return Err(org_err(
                    "jurisdiction",
                    "a provincial authority's jurisdiction is one mainland province code",
                ));
            }
            (_, Some(_)) => {
                return Err(org_err(
                    "jurisdiction",
                    format!(
                        "only telecom authorities have a jurisdiction, not a {}",
                        self.org_type
                    ),
                ));
            }
            (_, None) => {}
        }
        if let Some(unit) = &self.supervising_unit {
            check_slug(unit).map_err(|e| org_err("supervising_unit", e.problem))?;
            if *unit == self.slug {
                return Err(org_err(
                    "supervising_unit",
                    "an organisation is not its own supervising unit",
                ));
            }
        }
        let Some(c) = &self.contacts else {
            return Ok(());
        };
        if c.responsible_department.trim().is_empty() {
            return Err(org_err(
                "contacts.responsible_department",
                "Art. 5 requires a responsible department",
            ));
        }
        for (field, p) in [
            ("contacts.responsible_person", &c.responsible_person),
            ("contacts.contact_person", &c.contact_person),
        ] {
            if p.name.trim().is_empty() {
                return Err(org_err(field, "Art. 5 requires a name"));
            }
            if p.phone.trim().is_empty() && p.email.trim().is_empty() {
                return Err(org_err(field, "needs a phone number or an e-mail address"));
            }
        }
        Ok(())
    }

    pub fn org_ref(&self) -> OrgRef {
        OrgRef {
            id: self.id,
            slug: self.slug.clone(),
            org_type: self.org_type,
            jurisdiction: self.jurisdiction,
        }
    }
}

/// What the lifecycle needs to know of an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgRef {
    pub id: Uuid,
    pub slug: String,
    #[serde(rename = "type")]
    pub org_type: OrgType,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub jurisdiction: Option<Jurisdiction>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Role {
    Reporter,
    Analyst,
    Reviewer,
    Responder,
    Verifier,
    Auditor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Reporter,
        Role::Analyst,
        Role::Reviewer,
        Role::Responder,
        Role::Verifier,
        Role::Auditor,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reporter => "reporter",
            Role::Analyst => "analyst",
            Role::Reviewer => "reviewer",
            Role::Responder => "responder",
            Role::Verifier => "verifier",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown role {s:?}: expected one of reporter, analyst, reviewer, responder, verifier, auditor, admin"
                )
            })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    /// A person signing in to the console.
    User,
    /// A monitoring platform or other program with an API token.
    Client,
}

/// A user or API client of an organisation, with its roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Principal {
    pub id: Uuid,
    pub kind: PrincipalKind,
    pub org_id: Uuid,
    /// The sign-in name of a user, the label of a client.
    pub name: String,
    pub display_name: String,
    pub roles: BTreeSet<Role>,
    pub disabled: bool,
}

/// An API token of a principal. The secret is shown once at creation; only its SHA-256 hash
/// is stored (beside this record), and the prefix tells tokens apart in lists and logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: Uuid,
    pub principal_id: Uuid,
    pub prefix: String,
    pub label: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<time::OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<time::OffsetDateTime>,
}

impl ApiToken {
    /// Why the token cannot be used at `now`, if it cannot.
    pub fn unusable(&self, now: time::OffsetDateTime) -> Option<&'static str> {
        if self.revoked_at.is_some() {
            Some("the token was revoked")
        } else if self.expires_at.is_some_and(|e| now >= e) {
            Some("the token has expired")
        } else {
            None
        }
    }
}

/// Who performs a step: a principal of an organisation, or the platform itself (deadline
/// jobs, expiry), or a member of the public (appeals without an account).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    Principal {
        principal_id: Uuid,
        name: String,
        org: OrgRef,
        roles: BTreeSet<Role>,
    },
    System {
        job: String,
    },
    Public,
}

impl Actor {
    pub fn principal(p: &Principal, org: &Organisation) -> Actor {
        Actor::Principal {
            principal_id: p.id,
            name: p.name.clone(),
            org: org.org_ref(),
            roles: p.roles.clone(),
        }
    }

    pub fn system(job: &str) -> Actor {
        Actor::System {
            job: job.to_owned(),
        }
    }

    pub fn org(&self) -> Option<&OrgRef> {
        match self {
            Actor::Principal { org, .. } => Some(org),
            _ => None,
        }
    }

    pub fn principal_id(&self) -> Option<Uuid> {
        match self {
            Actor::Principal { principal_id, .. } => Some(*principal_id),
            _ => None,
        }
    }

    pub fn has_role(&self, role: Role) -> bool {
        matches!(self, Actor::Principal { roles, .. } if roles.contains(&role))
    }

    /// A short, log-safe description: `name@org` or `system:job`.
    pub fn label(&self) -> String {
        match self {
            Actor::Principal { name, org, .. } => format!("{name}@{}", org.slug),
            Actor::System { job } => format!("system:{job}"),
            Actor::Public => "public".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact() -> Contact {
        Contact {
            name: "张三".into(),
            phone: "+861012345678".into(),
            email: "a@example.cn".into(),
        }
    }

    fn org(t: OrgType, j: Option<Jurisdiction>) -> Organisation {
        Organisation {
            id: Uuid::nil(),
            slug: "ca-guangdong".into(),
            name: "广东省通信管理局".into(),
            org_type: t,
            jurisdiction: j,
            province: None,
            contacts: Some(Art5Contacts {
                responsible_department: "网络安全管理处".into(),
                responsible_person: contact(),
                contact_person: contact(),
            }),
            supervising_unit: None,
            suspended: None,
            require_second_factor: false,
        }
    }

    #[test]
    fn provinces_parse_and_print() {
        let p: Province = "44".parse().unwrap();
        assert_eq!(p.to_string(), "44");
        assert_eq!(p.name_en(), "Guangdong");
        assert_eq!("440000".parse::<Province>(), Ok(p));
        assert!("99".parse::<Province>().is_err());
        assert!("4".parse::<Province>().is_err());
        assert_eq!(Province::all().count(), 34);
        let j: Jurisdiction = serde_json::from_str("\"national\"").unwrap();
        assert!(j.covers(None));
        let j: Jurisdiction = serde_json::from_str("\"44\"").unwrap();
        assert!(j.covers(Some(p)) && !j.covers(None) && !j.covers("11".parse().ok()));
    }

    #[test]
    fn art3_and_art5_rules() {
        let gd = Some(Jurisdiction::Province("44".parse().unwrap()));
        assert!(org(OrgType::ProvincialAuthority, gd).validate().is_ok());
        assert!(org(OrgType::ProvincialAuthority, None).validate().is_err());
        let hk = Some(Jurisdiction::Province("81".parse().unwrap()));
        assert!(org(OrgType::ProvincialAuthority, hk).validate().is_err());
        assert!(org(OrgType::Ministry, gd).validate().is_err());
        assert!(org(OrgType::TelecomOperator, gd).validate().is_err());
        assert!(org(OrgType::TelecomOperator, None).validate().is_ok());
        let mut o = org(OrgType::TelecomOperator, None);
        if let Some(c) = o.contacts.as_mut() {
            c.responsible_department = " ".into();
        }
        assert_eq!(
            o.validate().unwrap_err().field,
            "contacts.responsible_department"
        );
        let mut o = org(OrgType::TelecomOperator, None);
        if let Some(c) = o.contacts.as_mut() {
            c.contact_person.phone.clear();
            c.contact_person.email.clear();
        }
        assert_eq!(o.validate().unwrap_err().field, "contacts.contact_person");
        let mut o = org(OrgType::TelecomOperator, None);
        o.slug = "Bad Slug".into();
        assert_eq!(o.validate().unwrap_err().field, "slug");
        // Art. 5 binds operators, not authorities: an authority may lack contacts.
        let mut o = org(OrgType::TelecomOperator, None);
        o.contacts = None;
        assert_eq!(o.validate().unwrap_err().field, "contacts");
        assert!(o.check_identity().is_ok() && o.art5_incomplete());
        let mut o = org(OrgType::ProvincialAuthority, gd);
        o.contacts = None;
        assert!(o.validate().is_ok() && !o.art5_incomplete());
        let mut o = org(OrgType::TelecomOperator, None);
        o.supervising_unit = Some(o.slug.clone());
        assert_eq!(o.validate().unwrap_err().field, "supervising_unit");
    }
}
