//! Who administers which organisation (Art. 3, 5). MIIT registers and changes organisations
//! anywhere; a provincial communications administration the members of its own province; an
//! organisation's own admin keeps its Art. 5 contacts current. Each step returns the new state
//! and the event the trail records, or a refusal, like the lifecycle's transitions.

use crate::lifecycle::{Outcome, Refusal, RefusalCode, SubjectKind, event, refuse};
use crate::org::{Actor, Jurisdiction, OrgError, OrgRef, OrgType, Organisation, Role, Suspension};
use serde_json::json;
use time::OffsetDateTime;

/// Why a membership step failed: not permitted, or the organisation it would make is invalid
/// (naming the field).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MembershipError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Invalid(#[from] OrgError),
}

fn refusal(code: RefusalCode, message: impl Into<String>) -> MembershipError {
    MembershipError::Refused(Refusal {
        code,
        message: message.into(),
    })
}

/// The administering organisation of an admin: refuses anyone else.
fn admin_org(actor: &Actor) -> Result<&OrgRef, Refusal> {
    let Some(org) = actor.org() else {
        return refuse(
            RefusalCode::Role,
            "organisations are administered by the admins of member organisations",
        );
    };
    if !actor.has_role(Role::Admin) {
        return refuse(
            RefusalCode::Role,
            format!(
                "administering organisations needs the admin role, which {} does not have",
                actor.label()
            ),
        );
    }
    Ok(org)
}

/// Whether `authority` (an admin's organisation) administers `org`: MIIT every organisation
/// but itself, a provincial authority the members of its province.
fn administers(authority: &OrgRef, org: &Organisation) -> Result<(), Refusal> {
    match (authority.org_type, authority.jurisdiction) {
        (OrgType::Ministry, Some(Jurisdiction::National)) => Ok(()),
        (OrgType::ProvincialAuthority, Some(Jurisdiction::Province(p))) => {
            if !org.org_type.provincial_member() {
                return refuse(
                    RefusalCode::Jurisdiction,
                    format!(
                        "a {} is administered by MIIT, not by a provincial authority",
                        org.org_type
                    ),
                );
            }
            if org.province != Some(p) {
                return refuse(
                    RefusalCode::Jurisdiction,
                    format!(
                        "{} administers organisations of province {p} only; {} is in {}",
                        authority.slug,
                        org.slug,
                        org.province
                            .map(|q| q.to_string())
                            .unwrap_or_else(|| "no province".into())
                    ),
                );
            }
            Ok(())
        }
        _ => refuse(
            RefusalCode::Organisation,
            format!(
                "only MIIT and the provincial communications administrations administer organisations, not {}",
                authority.slug
            ),
        ),
    }
}

/// Whether the actor may register organisations at all (what the console offers).
pub fn can_register_organisations(actor: &Actor) -> bool {
    admin_org(actor).is_ok_and(|o| o.org_type.is_authority())
}

/// Whether the actor may suspend or change more than the contacts of `org`.
pub fn can_administer(actor: &Actor, org: &Organisation) -> bool {
    admin_org(actor).is_ok_and(|a| a.id != org.id && administers(a, org).is_ok())
}

/// Whether the actor may change `org`'s Art. 5 contacts: its own admin or its authority.
pub fn can_edit_contacts(actor: &Actor, org: &Organisation) -> bool {
    admin_org(actor).is_ok_and(|a| a.id == org.id) || can_administer(actor, org)
}

/// Whether the actor may administer `org`'s people and API clients: its own admin, or an
/// admin of the authority that administers it (who registers its first people).
pub fn may_manage_people(actor: &Actor, org: &Organisation) -> Result<(), Refusal> {
    let a = admin_org(actor)?;
    if a.id == org.id {
        return Ok(());
    }
    administers(a, org)
}

pub fn can_manage_people(actor: &Actor, org: &Organisation) -> bool {
    may_manage_people(actor, org).is_ok()
}

/// Whether the actor may read `org`'s Art. 5 contacts (names, telephone numbers, addresses):
/// the organisation itself, the national bodies, and a provincial authority for its province
/// and the national bodies. Other members see who an organisation is, not its people.
pub fn contacts_visible_to(actor: &Actor, org: &Organisation) -> bool {
    let Some(a) = actor.org() else {
        return false;
    };
    if a.id == org.id {
        return true;
    }
    match (a.org_type, a.jurisdiction) {
        (OrgType::Ministry | OrgType::Institution | OrgType::CyberspaceAdmin, _) => true,
        (OrgType::ProvincialAuthority, Some(Jurisdiction::Province(p))) => {
            org.province == Some(p) || !org.org_type.provincial_member()
        }
        _ => false,
    }
}

impl Organisation {
    /// Registers a new organisation (Art. 5 contacts required of those the article names).
    pub fn register(
        actor: &Actor,
        org: Organisation,
    ) -> Result<Outcome<Organisation>, MembershipError> {
        let authority = admin_org(actor)?;
        administers(authority, &org)?;
        if org.org_type == OrgType::Ministry {
            return Err(refusal(
                RefusalCode::Invalid,
                "there is one ministry: MIIT is installed by warden init",
            ));
        }
        if org.suspended.is_some() {
            return Err(refusal(
                RefusalCode::Invalid,
                "a new organisation is registered active",
            ));
        }
        org.validate()?;
        let ev = event(
            "organisation.registered",
            SubjectKind::Organisation,
            org.id,
            json!({"slug": org.slug, "type": org.org_type, "province": org.province, "by": authority.slug}),
        );
        Ok(Outcome {
            next: org,
            events: vec![ev],
        })
    }

    /// Changes an organisation to `next`. Its slug, type, jurisdiction and suspension do not
    /// change here; its own admin changes only the contacts; a provincial authority keeps it
    /// in its province. The event names each changed field with its new value.
    pub fn amend(
        &self,
        actor: &Actor,
        next: Organisation,
    ) -> Result<Outcome<Organisation>, MembershipError> {
        let authority = admin_org(actor)?;
        for (field, same) in [
            ("slug", next.slug == self.slug),
            ("type", next.org_type == self.org_type),
            ("jurisdiction", next.jurisdiction == self.jurisdiction),
            ("id", next.id == self.id),
            ("suspended", next.suspended == self.suspended),
        ] {
            if !same {
                return Err(refusal(
                    RefusalCode::Invalid,
                    format!(
                        "{field}: an organisation's {field} does not change; register a new organisation instead"
                    ),
                ));
            }
        }
        let mut changed = serde_json::Map::new();
        if next.name != self.name {
            changed.insert("name".into(), json!(next.name));
        }
        if next.province != self.province {
            changed.insert("province".into(), json!(next.province));
        }
        if next.supervising_unit != self.supervising_unit {
            changed.insert("supervising_unit".into(), json!(next.supervising_unit));
        }
        let contacts_changed = next.contacts != self.contacts;
        if contacts_changed {
            changed.insert("contacts".into(), json!(next.contacts));
        }
        let factor_changed = next.require_second_factor != self.require_second_factor;
        if factor_changed {
            changed.insert(
                "require_second_factor".into(),
                json!(next.require_second_factor),
            );
        }
        if factor_changed && authority.id != self.id {
            return Err(refusal(
                RefusalCode::Organisation,
                format!(
                    "{}'s own admin decides whether its people need a second factor",
                    self.slug
                ),
            ));
        }
        let own = usize::from(contacts_changed) + usize::from(factor_changed);
        let only_contacts = changed.len() == own;
        if authority.id == self.id {
            if !only_contacts {
                return Err(refusal(
                    RefusalCode::Organisation,
                    format!(
                        "{}'s own admin keeps its Art. 5 contacts current; its name, province and supervising unit are changed by its telecom authority",
                        self.slug
                    ),
                ));
            }
        } else {
            administers(authority, self)?;
            // A provincial authority may not move an organisation out of its province.
            administers(authority, &next)?;
        }
        if contacts_changed && next.contacts.is_none() && next.org_type.bound_by_art5() {
            next.validate()?;
        }
        next.check_identity()?;
        let ev = event(
            "organisation.updated",
            SubjectKind::Organisation,
            self.id,
            json!({"slug": self.slug, "changed": changed}),
        );
        Ok(Outcome {
            next,
            events: vec![ev],
        })
    }

    /// Suspends the organisation: its people and clients stop working at once and it is
    /// routed nothing new.
    pub fn suspend(
        &self,
        actor: &Actor,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<Outcome<Organisation>, MembershipError> {
        let authority = self.suspension_authority(actor)?;
        if self.suspended.is_some() {
            return Err(refusal(
                RefusalCode::State,
                format!("{} is already suspended", self.slug),
            ));
        }
        if reason.trim().is_empty() {
            return Err(refusal(
                RefusalCode::Invalid,
                "reason: say why the organisation is suspended",
            ));
        }
        let mut next = self.clone();
        next.suspended = Some(Suspension {
            since: now,
            reason: reason.trim().to_owned(),
            by: actor.label(),
        });
        let ev = event(
            "organisation.suspended",
            SubjectKind::Organisation,
            self.id,
            json!({"slug": self.slug, "reason": reason.trim(), "by": authority}),
        );
        Ok(Outcome {
            next,
            events: vec![ev],
        })
    }

    /// Ends a suspension.
    pub fn reactivate(&self, actor: &Actor) -> Result<Outcome<Organisation>, MembershipError> {
        let authority = self.suspension_authority(actor)?;
        if self.suspended.is_none() {
            return Err(refusal(
                RefusalCode::State,
                format!("{} is not suspended", self.slug),
            ));
        }
        let mut next = self.clone();
        next.suspended = None;
        let ev = event(
            "organisation.reactivated",
            SubjectKind::Organisation,
            self.id,
            json!({"slug": self.slug, "by": authority}),
        );
        Ok(Outcome {
            next,
            events: vec![ev],
        })
    }

    fn suspension_authority(&self, actor: &Actor) -> Result<String, Refusal> {
        let authority = admin_org(actor)?;
        if authority.id == self.id {
            return refuse(
                RefusalCode::Organisation,
                "an organisation is suspended by its telecom authority, not by itself",
            );
        }
        administers(authority, self)?;
        Ok(authority.slug.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::{Art5Contacts, Contact, Principal, PrincipalKind};
    use uuid::Uuid;

    fn contacts() -> Art5Contacts {
        let c = Contact {
            name: "联系人".into(),
            phone: "+861055500000".into(),
            email: String::new(),
        };
        Art5Contacts {
            responsible_department: "网络安全部".into(),
            responsible_person: c.clone(),
            contact_person: c,
        }
    }

    fn org(slug: &str, t: OrgType, province: Option<&str>) -> Organisation {
        let province = province.map(|p| p.parse().unwrap());
        Organisation {
            id: Uuid::new_v5(&Uuid::NAMESPACE_URL, slug.as_bytes()),
            slug: slug.into(),
            name: slug.into(),
            org_type: t,
            jurisdiction: match t {
                OrgType::Ministry => Some(Jurisdiction::National),
                OrgType::ProvincialAuthority => province.map(Jurisdiction::Province),
                _ => None,
            },
            province,
            contacts: t.bound_by_art5().then(contacts),
            supervising_unit: None,
            suspended: None,
            require_second_factor: false,
        }
    }

    fn admin(o: &Organisation, role: Role) -> Actor {
        let p = Principal {
            id: Uuid::now_v7(),
            kind: PrincipalKind::User,
            org_id: o.id,
            name: format!("{role}@{}", o.slug),
            display_name: String::new(),
            roles: [role].into_iter().collect(),
            disabled: false,
        };
        Actor::principal(&p, o)
    }

    fn code(e: MembershipError) -> &'static str {
        match e {
            MembershipError::Refused(r) => r.code.as_str(),
            MembershipError::Invalid(e) => e.field,
        }
    }

    #[test]
    fn who_registers_what() {
        let miit = org("miit", OrgType::Ministry, None);
        let js = org("ca-jiangsu", OrgType::ProvincialAuthority, Some("32"));
        let op = org("js-net", OrgType::InternetCompany, Some("32"));
        let elsewhere = org("gd-net", OrgType::InternetCompany, Some("44"));
        let inst = org("inst", OrgType::Institution, Some("32"));
        assert!(Organisation::register(&admin(&miit, Role::Admin), elsewhere.clone()).is_ok());
        assert!(Organisation::register(&admin(&miit, Role::Admin), inst.clone()).is_ok());
        assert!(Organisation::register(&admin(&js, Role::Admin), op.clone()).is_ok());
        let refused =
            |a: &Actor, o: &Organisation| code(Organisation::register(a, o.clone()).unwrap_err());
        assert_eq!(
            refused(&admin(&js, Role::Admin), &elsewhere),
            "forbidden-jurisdiction"
        );
        assert_eq!(
            refused(&admin(&js, Role::Admin), &inst),
            "forbidden-jurisdiction"
        );
        assert_eq!(refused(&admin(&js, Role::Reviewer), &op), "forbidden-role");
        assert_eq!(
            refused(&admin(&op, Role::Admin), &op),
            "forbidden-organisation"
        );
        assert_eq!(refused(&Actor::Public, &op), "forbidden-role");
        let mut bare = op.clone();
        bare.contacts = None;
        assert_eq!(refused(&admin(&js, Role::Admin), &bare), "contacts");
        assert_eq!(
            refused(&admin(&miit, Role::Admin), &miit),
            "invalid-command"
        );
        assert!(can_register_organisations(&admin(&js, Role::Admin)));
        assert!(!can_register_organisations(&admin(&op, Role::Admin)));
    }

    #[test]
    fn who_changes_what() {
        let miit = org("miit", OrgType::Ministry, None);
        let js = org("ca-jiangsu", OrgType::ProvincialAuthority, Some("32"));
        let op = org("js-net", OrgType::InternetCompany, Some("32"));
        let mut renamed = op.clone();
        renamed.name = "新名称".into();
        let mut recontacted = op.clone();
        if let Some(c) = recontacted.contacts.as_mut() {
            c.contact_person.name = "新联系人".into();
        }
        let mut moved = op.clone();
        moved.province = Some("44".parse().unwrap());
        let own = admin(&op, Role::Admin);
        let out = op.amend(&own, recontacted.clone()).unwrap();
        assert_eq!(
            out.events[0].data["changed"]["contacts"]["contact_person"]["name"],
            "新联系人"
        );
        assert_eq!(
            code(op.amend(&own, renamed.clone()).unwrap_err()),
            "forbidden-organisation"
        );
        assert!(op.amend(&admin(&js, Role::Admin), renamed.clone()).is_ok());
        assert_eq!(
            code(
                op.amend(&admin(&js, Role::Admin), moved.clone())
                    .unwrap_err()
            ),
            "forbidden-jurisdiction"
        );
        assert!(op.amend(&admin(&miit, Role::Admin), moved).is_ok());
        let mut retyped = op.clone();
        retyped.org_type = OrgType::SecurityCompany;
        assert_eq!(
            code(op.amend(&admin(&miit, Role::Admin), retyped).unwrap_err()),
            "invalid-command"
        );
        let mut emptied = op.clone();
        emptied.contacts = None;
        assert_eq!(
            code(op.amend(&admin(&miit, Role::Admin), emptied).unwrap_err()),
            "contacts"
        );
        assert!(can_edit_contacts(&own, &op) && !can_administer(&own, &op));
    }

    #[test]
    fn suspension() {
        let miit = org("miit", OrgType::Ministry, None);
        let js = org("ca-jiangsu", OrgType::ProvincialAuthority, Some("32"));
        let op = org("js-net", OrgType::InternetCompany, Some("32"));
        let now = OffsetDateTime::UNIX_EPOCH;
        let s = op
            .suspend(&admin(&js, Role::Admin), "licence revoked", now)
            .unwrap()
            .next;
        assert!(!s.is_active());
        assert_eq!(
            code(
                s.suspend(&admin(&js, Role::Admin), "again", now)
                    .unwrap_err()
            ),
            "invalid-state"
        );
        assert_eq!(
            code(op.suspend(&admin(&op, Role::Admin), "x", now).unwrap_err()),
            "forbidden-organisation"
        );
        assert_eq!(
            code(op.suspend(&admin(&js, Role::Admin), " ", now).unwrap_err()),
            "invalid-command"
        );
        assert_eq!(
            code(js.suspend(&admin(&js, Role::Admin), "x", now).unwrap_err()),
            "forbidden-organisation"
        );
        assert!(js.suspend(&admin(&miit, Role::Admin), "x", now).is_ok());
        assert!(
            s.reactivate(&admin(&miit, Role::Admin))
                .unwrap()
                .next
                .is_active()
        );
        assert_eq!(
            code(op.reactivate(&admin(&miit, Role::Admin)).unwrap_err()),
            "invalid-state"
        );
    }

    #[test]
    fn contacts_are_seen_by_the_organisation_and_its_authorities() {
        let miit = org("miit", OrgType::Ministry, None);
        let js = org("ca-jiangsu", OrgType::ProvincialAuthority, Some("32"));
        let gd = org("ca-guangdong", OrgType::ProvincialAuthority, Some("44"));
        let op = org("js-net", OrgType::InternetCompany, Some("32"));
        let other = org("gd-net", OrgType::InternetCompany, Some("44"));
        assert!(contacts_visible_to(&admin(&miit, Role::Auditor), &op));
        assert!(contacts_visible_to(&admin(&js, Role::Reviewer), &op));
        assert!(!contacts_visible_to(&admin(&gd, Role::Reviewer), &op));
        assert!(contacts_visible_to(&admin(&op, Role::Reporter), &op));
        assert!(!contacts_visible_to(&admin(&other, Role::Admin), &op));
        assert!(!contacts_visible_to(&Actor::Public, &op));
    }
}
