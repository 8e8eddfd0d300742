//! The demo world of DESIGN §5.3, loaded through the same store commits as real data.

use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::lifecycle::{Event, Subject, SubjectKind};
use warden_core::org::{
    Actor, Art5Contacts, Contact, Jurisdiction, OrgType, Organisation, Province,
};
use warden_store::{Changeset, Store, Write};

const ORGANISATIONS: &str = include_str!("../../../data/demo/organisations.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    organisation: Vec<OrgDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrgDoc {
    slug: String,
    name: String,
    #[serde(rename = "type")]
    org_type: OrgType,
    jurisdiction: Option<Jurisdiction>,
    province: Option<Province>,
    responsible_department: String,
    responsible_person: Contact,
    contact_person: Contact,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("data/demo/organisations.toml: {0}")]
    Data(String),
    #[error(transparent)]
    Store(#[from] warden_store::StoreError),
}

/// The demo organisations, validated.
pub fn organisations() -> Result<Vec<Organisation>, DemoError> {
    let doc: Doc = toml::from_str(ORGANISATIONS).map_err(|e| DemoError::Data(e.to_string()))?;
    doc.organisation
        .into_iter()
        .map(|o| {
            let org = Organisation {
                // Stable ids: the same demo world every time.
                id: Uuid::new_v5(
                    &Uuid::NAMESPACE_URL,
                    format!("warden:demo:{}", o.slug).as_bytes(),
                ),
                slug: o.slug,
                name: o.name,
                org_type: o.org_type,
                jurisdiction: o.jurisdiction,
                province: o.province,
                contacts: Art5Contacts {
                    responsible_department: o.responsible_department,
                    responsible_person: o.responsible_person,
                    contact_person: o.contact_person,
                },
            };
            org.validate()
                .map_err(|e| DemoError::Data(format!("{}: {e}", org.slug)))?;
            Ok(org)
        })
        .collect()
}

/// Adds whatever of the demo world is missing; returns how many organisations were added.
pub async fn load(store: &dyn Store, now: OffsetDateTime) -> Result<usize, DemoError> {
    let orgs = organisations()?;
    let actor = Actor::system("demo");
    let mut writes = vec![];
    let mut events = vec![];
    for org in orgs {
        if store.organisation_by_slug(&org.slug).await?.is_some() {
            continue;
        }
        events.push(Event {
            name: "organisation.created".into(),
            subject: Subject {
                kind: SubjectKind::Organisation,
                id: org.id,
            },
            data: serde_json::json!({"slug": org.slug, "type": org.org_type}),
        });
        writes.push(Write::Organisation {
            org,
            expected: None,
        });
    }
    let added = writes.len();
    if added > 0 {
        store
            .commit(Changeset {
                actor,
                at: now,
                writes,
                events,
                idempotency: None,
            })
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
    }
}
