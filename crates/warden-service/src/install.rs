//! Installation (`warden init`): the bodies the measures name — MIIT, the 31 provincial
//! communications administrations, CNCERT, CAICT and the cyberspace administration — from
//! `data/reference/organisations.toml`, and the first person, `admin@miit`. One transaction;
//! run again, it adds only what is missing. The demo world is built on the same bodies.

use crate::admin::{self, AdminError, NewUser};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::lifecycle::{Event, Subject, SubjectKind};
use warden_core::org::{
    Actor, Art5Contacts, Contact, Jurisdiction, OrgType, Organisation, Province, Role,
};
use warden_store::{Changeset, Store, StoreError, Write};

const REFERENCE: &str = include_str!("../../../data/reference/organisations.toml");

/// The sign-in name of the first person.
pub const FIRST_ADMIN: &str = "admin@miit";

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("{file}: {problem}")]
    Data { file: &'static str, problem: String },
    #[error("{FIRST_ADMIN} does not exist yet: give its password (one line on standard input)")]
    PasswordNeeded,
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An organisation as the reference and demo files write it: the Art. 5 contacts inline,
/// all three or none.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrgEntry {
    pub slug: String,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub org_type: Option<OrgType>,
    pub jurisdiction: Option<Jurisdiction>,
    pub province: Option<Province>,
    pub supervising_unit: Option<String>,
    pub responsible_department: Option<String>,
    pub responsible_person: Option<Contact>,
    pub contact_person: Option<Contact>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrgFile {
    pub organisation: Vec<OrgEntry>,
}

impl OrgEntry {
    pub fn contacts(&self) -> Result<Option<Art5Contacts>, String> {
        match (
            &self.responsible_department,
            &self.responsible_person,
            &self.contact_person,
        ) {
            (None, None, None) => Ok(None),
            (Some(d), Some(r), Some(c)) => Ok(Some(Art5Contacts {
                responsible_department: d.clone(),
                responsible_person: r.clone(),
                contact_person: c.clone(),
            })),
            _ => Err(format!(
                "{}: give responsible_department, responsible_person and contact_person together",
                self.slug
            )),
        }
    }

    /// The organisation this entry describes, with a stable id derived from `namespace` and
    /// the slug (the same world every time).
    pub fn organisation(&self, namespace: &str) -> Result<Organisation, String> {
        let (Some(name), Some(org_type)) = (&self.name, self.org_type) else {
            return Err(format!("{}: name and type are required", self.slug));
        };
        let org = Organisation {
            id: Uuid::new_v5(
                &Uuid::NAMESPACE_URL,
                format!("warden:{namespace}:{}", self.slug).as_bytes(),
            ),
            slug: self.slug.clone(),
            name: name.clone(),
            org_type,
            jurisdiction: self.jurisdiction,
            province: self.province,
            contacts: self.contacts()?,
            supervising_unit: self.supervising_unit.clone(),
            suspended: None,
            require_second_factor: false,
        };
        org.check_identity()
            .map_err(|e| format!("{}: {e}", self.slug))?;
        Ok(org)
    }
}

/// The bodies every installation has, validated.
pub fn reference_organisations() -> Result<Vec<Organisation>, InstallError> {
    let data = |problem: String| InstallError::Data {
        file: "data/reference/organisations.toml",
        problem,
    };
    let doc: OrgFile = toml::from_str(REFERENCE).map_err(|e| data(e.to_string()))?;
    doc.organisation
        .iter()
        .map(|e| e.organisation("org").map_err(data))
        .collect()
}

/// The writes and events that add `orgs`, for one changeset.
pub(crate) fn organisation_writes(orgs: Vec<Organisation>) -> (Vec<Write>, Vec<Event>) {
    let mut writes = Vec::with_capacity(orgs.len());
    let mut events = Vec::with_capacity(orgs.len());
    for org in orgs {
        events.push(Event {
            name: "organisation.created".into(),
            subject: Subject {
                kind: SubjectKind::Organisation,
                id: org.id,
            },
            data: serde_json::json!({"slug": org.slug, "type": org.org_type, "province": org.province}),
        });
        writes.push(Write::Organisation {
            org,
            expected: None,
        });
    }
    (writes, events)
}

/// What an installation lacks.
#[derive(Debug)]
pub struct InstallPlan {
    /// Reference bodies not in the database yet.
    pub missing: Vec<Organisation>,
    /// Whether the first person must be created (and so a password given).
    pub needs_admin: bool,
}

impl InstallPlan {
    pub fn is_empty(&self) -> bool {
        self.missing.is_empty() && !self.needs_admin
    }
}

/// What `store` lacks of an installation.
pub async fn plan(store: &dyn Store) -> Result<InstallPlan, InstallError> {
    let mut missing = vec![];
    for org in reference_organisations()? {
        if store.organisation_by_slug(&org.slug).await?.is_none() {
            missing.push(org);
        }
    }
    let needs_admin = store.principal_by_name(FIRST_ADMIN).await?.is_none();
    Ok(InstallPlan {
        missing,
        needs_admin,
    })
}

/// What an installation added.
#[derive(Debug, Default)]
pub struct Installed {
    pub organisations: Vec<String>,
    pub admin_created: bool,
}

/// Carries out `plan` in one transaction: the missing bodies and, if it lacks, the first
/// person with `password` (at least 12 characters).
pub async fn install(
    store: &dyn Store,
    plan: InstallPlan,
    password: Option<&str>,
    now: OffsetDateTime,
) -> Result<Installed, InstallError> {
    let mut out = Installed {
        organisations: plan.missing.iter().map(|o| o.slug.clone()).collect(),
        admin_created: false,
    };
    let miit = match plan.missing.iter().find(|o| o.slug == "miit") {
        Some(o) => Some(o.clone()),
        None => store.organisation_by_slug("miit").await?.map(|o| o.value),
    };
    let (mut writes, mut events) = organisation_writes(plan.missing);
    if plan.needs_admin {
        let password = password.ok_or(InstallError::PasswordNeeded)?;
        let user = NewUser {
            org: "miit".into(),
            name: FIRST_ADMIN.into(),
            display_name: Some("MIIT administrator".into()),
            roles: [Role::Admin].into_iter().collect(),
            password: password.to_owned(),
        };
        admin::check_user(&user)?;
        let miit = miit.ok_or_else(|| InstallError::Data {
            file: "data/reference/organisations.toml",
            problem: "has no organisation miit".into(),
        })?;
        let hash = crate::credentials::hash_password(password).map_err(AdminError::from)?;
        let (_, w, e) = admin::user_writes(&miit, user, hash);
        writes.extend(w);
        events.extend(e);
        out.admin_created = true;
    }
    if !writes.is_empty() {
        store
            .commit(Changeset::new(Actor::system("init"), now, writes, events))
            .await?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_bodies() {
        let orgs = reference_organisations().unwrap();
        let authorities: Vec<&Organisation> = orgs
            .iter()
            .filter(|o| o.org_type == OrgType::ProvincialAuthority)
            .collect();
        assert_eq!(authorities.len(), 31);
        // Every mainland province has its administration, slugged ca-<pinyin>.
        for p in Province::all().filter(|p| p.has_communications_administration()) {
            let a = authorities
                .iter()
                .find(|o| o.province == Some(p))
                .unwrap_or_else(|| panic!("no authority for {p}"));
            assert_eq!(a.jurisdiction, Some(Jurisdiction::Province(p)));
            assert!(a.slug.starts_with("ca-"));
            assert_eq!(a.name, format!("{}通信管理局", p.name_zh()));
        }
        for slug in ["miit", "cncert", "caict", "cac"] {
            assert!(orgs.iter().any(|o| o.slug == slug), "{slug}");
        }
        assert_eq!(orgs.len(), 35);
        let js = orgs.iter().find(|o| o.slug == "ca-jiangsu").unwrap();
        assert_eq!(js.province.map(|p| p.code()), Some(32));
        // The institutions record their Art. 5 contacts after installation.
        assert!(
            orgs.iter()
                .find(|o| o.slug == "cncert")
                .unwrap()
                .art5_incomplete()
        );
    }
}
