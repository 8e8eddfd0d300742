//! The organisations of the platform (Art. 3, 5): listed and read by members, registered,
//! changed, suspended and reactivated by their authorities, their Art. 5 contacts kept by
//! their own admins. The rules are `warden_core::membership`'s; this module reads, commits
//! and shapes the answers.

use crate::error::ServiceError;
use crate::filters::OrganisationsFilter;
use crate::proto::{
    OrganisationList, OrganisationPatch, OrganisationRequest, OrganisationView, ResourceView,
};
use crate::service::{Idem, Result, Service};
use uuid::Uuid;
use warden_core::lifecycle::{Outcome, Refusal, RefusalCode};
use warden_core::membership::{MembershipError, contacts_visible_to};
use warden_core::org::{Actor, Jurisdiction, OrgType, Organisation, Province};
use warden_store::{Changeset, StoreError, Versioned, Write};

impl From<MembershipError> for ServiceError {
    fn from(e: MembershipError) -> Self {
        match e {
            MembershipError::Refused(r) => ServiceError::Refused(r),
            MembershipError::Invalid(e) => ServiceError::InvalidOrganisation(e),
        }
    }
}

/// Members see who an organisation is; the platform and the public do not list them.
fn may_list(actor: &Actor) -> Result<()> {
    if actor.org().is_none() {
        return Err(ServiceError::Refused(Refusal {
            code: RefusalCode::Role,
            message: "organisations are listed to members".into(),
        }));
    }
    Ok(())
}

fn province(p: Option<&str>) -> Result<Option<Province>> {
    Ok(p.map(str::parse::<Province>).transpose()?)
}

impl Service {
    fn view(
        &self,
        actor: &Actor,
        o: Versioned<Organisation>,
        resources: Vec<ResourceView>,
    ) -> OrganisationView {
        let org = o.value;
        let visible = contacts_visible_to(actor, &org);
        OrganisationView {
            id: org.id,
            art5_incomplete: org.art5_incomplete(),
            province_name: org.province.map(|p| p.name_zh().to_owned()),
            status: if org.is_active() {
                "active"
            } else {
                "suspended"
            }
            .into(),
            contacts: if visible { org.contacts } else { None },
            resources: if visible { resources } else { vec![] },
            slug: org.slug,
            name: org.name,
            org_type: org.org_type,
            jurisdiction: org.jurisdiction,
            province: org.province,
            supervising_unit: org.supervising_unit,
            suspended: org.suspended,
            require_second_factor: org.require_second_factor,
            version: o.version,
        }
    }

    async fn versioned_org(&self, slug: &str) -> Result<Versioned<Organisation>> {
        self.store
            .organisation_by_slug(slug)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("organisation {slug:?}")))
    }

    /// Organisations in slug order, a page at a time.
    pub async fn organisations(
        &self,
        actor: &Actor,
        f: OrganisationsFilter,
    ) -> Result<OrganisationList> {
        may_list(actor)?;
        let mut all: Vec<Versioned<Organisation>> = self
            .store
            .organisations()
            .await?
            .into_iter()
            .filter(|o| {
                let v = &o.value;
                f.org_type.is_none_or(|t| v.org_type == t)
                    && f.province.is_none_or(|p| v.province == Some(p))
                    && f.suspended.is_none_or(|s| v.suspended.is_some() == s)
                    && f.page.cursor.as_deref().is_none_or(|c| v.slug.as_str() > c)
            })
            .collect();
        all.sort_by(|a, b| a.value.slug.cmp(&b.value.slug));
        let limit = f.page.limit as usize;
        let next = (all.len() > limit).then(|| all[limit - 1].value.slug.clone());
        all.truncate(limit);
        Ok(OrganisationList {
            items: all
                .into_iter()
                .map(|o| self.view(actor, o, vec![]))
                .collect(),
            next,
        })
    }

    /// One organisation, with its declared resources for those who may see them.
    pub async fn organisation(&self, actor: &Actor, slug: &str) -> Result<OrganisationView> {
        may_list(actor)?;
        let o = self.versioned_org(slug).await?;
        let resources = if contacts_visible_to(actor, &o.value) {
            self.store
                .resource_claims()
                .await?
                .into_iter()
                .filter(|c| c.value.org.id == o.value.id)
                .map(|c| ResourceView {
                    claim: c.value,
                    version: c.version,
                })
                .collect()
        } else {
            vec![]
        };
        Ok(self.view(actor, o, resources))
    }

    /// A supervising unit named by a change: an organisation of that type.
    async fn check_supervising_unit(&self, org: &Organisation) -> Result<()> {
        let Some(slug) = &org.supervising_unit else {
            return Ok(());
        };
        let unit = self.org("supervising_unit", slug).await?;
        if unit.org_type != OrgType::SupervisingUnit {
            return Err(ServiceError::InvalidOrganisation(
                warden_core::org::OrgError {
                    field: "supervising_unit",
                    problem: format!("{slug} is a {}, not a supervising_unit", unit.org_type),
                },
            ));
        }
        Ok(())
    }

    async fn commit_org(
        &self,
        actor: &Actor,
        out: Outcome<Organisation>,
        expected: Option<i64>,
    ) -> Result<(Organisation, Changeset)> {
        let changes = Changeset::new(
            actor.clone(),
            self.now(),
            vec![Write::Organisation {
                org: out.next.clone(),
                expected,
            }],
            out.events,
        );
        Ok((out.next, changes))
    }

    /// Registers a member organisation (MIIT anywhere, a provincial authority in its province).
    pub async fn register_organisation(
        &self,
        actor: &Actor,
        req: OrganisationRequest,
        idem: Option<Idem>,
    ) -> Result<OrganisationView> {
        let slug = req.slug.clone();
        let org = self
            .once(idem, || async {
                let province = province(req.province.as_deref())?;
                let org = Organisation {
                    id: Uuid::now_v7(),
                    slug: req.slug,
                    name: req.name.trim().to_owned(),
                    org_type: req.org_type,
                    jurisdiction: match req.org_type {
                        OrgType::Ministry => Some(Jurisdiction::National),
                        OrgType::ProvincialAuthority => province.map(Jurisdiction::Province),
                        _ => None,
                    },
                    province,
                    contacts: req.contacts,
                    supervising_unit: req.supervising_unit,
                    suspended: None,
                    require_second_factor: false,
                };
                let out = Organisation::register(actor, org)?;
                if self
                    .store
                    .organisation_by_slug(&out.next.slug)
                    .await?
                    .is_some()
                {
                    return Err(duplicate(&out.next.slug));
                }
                if out.next.org_type == OrgType::ProvincialAuthority {
                    let taken = self.store.organisations().await?.into_iter().find(|o| {
                        o.value.org_type == OrgType::ProvincialAuthority
                            && o.value.jurisdiction == out.next.jurisdiction
                    });
                    if let Some(o) = taken {
                        return Err(ServiceError::Store(StoreError::Duplicate {
                            kind: "provincial authority of that province",
                            id: o.value.slug,
                        }));
                    }
                }
                self.check_supervising_unit(&out.next).await?;
                self.commit_org(actor, out, None).await
            })
            .await
            .map_err(|e| match e {
                // Two registrations of one slug at once: the database's unique slug decides.
                ServiceError::Store(StoreError::Duplicate {
                    kind: "organisation",
                    ..
                }) => duplicate(&slug),
                other => other,
            })?;
        self.organisation(actor, &org.slug).await
    }

    /// Changes an organisation: its own admin the contacts, its authority the rest.
    pub async fn amend_organisation(
        &self,
        actor: &Actor,
        slug: &str,
        patch: OrganisationPatch,
        idem: Option<Idem>,
    ) -> Result<OrganisationView> {
        let org = self
            .once(idem, || async {
                let current = self.versioned_org(slug).await?;
                let mut next = current.value.clone();
                if let Some(s) = patch.slug {
                    next.slug = s;
                }
                if let Some(t) = patch.org_type {
                    next.org_type = t;
                }
                if let Some(n) = patch.name {
                    next.name = n.trim().to_owned();
                }
                if let Some(p) = patch.province {
                    next.province = province(p.as_deref())?;
                }
                if let Some(c) = patch.contacts {
                    next.contacts = c;
                }
                if let Some(u) = patch.supervising_unit {
                    next.supervising_unit = u;
                }
                if let Some(r) = patch.require_second_factor {
                    // A person who turns it on has one already: nobody locks themselves out.
                    if r && !current.value.require_second_factor
                        && let Some(id) = actor.principal_id()
                        && self
                            .store
                            .principal(id)
                            .await?
                            .is_some_and(|p| p.value.kind == warden_core::org::PrincipalKind::User)
                        && !self.second_factor_of(id).await?
                    {
                        return Err(ServiceError::Refused(Refusal {
                            code: RefusalCode::Invalid,
                            message: "require_second_factor: set up your own second factor first (your account page)".into(),
                        }));
                    }
                    next.require_second_factor = r;
                }
                let out = current.value.amend(actor, next)?;
                if out.next.supervising_unit != current.value.supervising_unit {
                    self.check_supervising_unit(&out.next).await?;
                }
                self.commit_org(actor, out, Some(current.version)).await
            })
            .await?;
        self.organisation(actor, &org.slug).await
    }

    /// Suspends an organisation (`reason` is recorded) or, with `None`, reactivates it.
    pub async fn set_suspension(
        &self,
        actor: &Actor,
        slug: &str,
        reason: Option<String>,
        idem: Option<Idem>,
    ) -> Result<OrganisationView> {
        let org = self
            .once(idem, || async {
                let current = self.versioned_org(slug).await?;
                let out = match &reason {
                    Some(r) => current.value.suspend(actor, r, self.now())?,
                    None => current.value.reactivate(actor)?,
                };
                self.commit_org(actor, out, Some(current.version)).await
            })
            .await?;
        self.organisation(actor, &org.slug).await
    }
}

fn duplicate(slug: &str) -> ServiceError {
    ServiceError::Store(StoreError::Duplicate {
        kind: "organisation with slug",
        id: slug.to_owned(),
    })
}
