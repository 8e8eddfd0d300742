//! Operator-managed allow-list entries: addresses, networks and names that organisations
//! declare must not be blocked by mistake (their resolvers, their customers' critical sites).
//! A block on one needs a stated reason; the entry itself is kept with who added it and why.

use crate::indicator::{Indicator, IndicatorType};
use crate::lifecycle::{Event, Refusal, RefusalCode, SubjectKind, event};
use crate::org::{Actor, OrgRef, OrgType, Role};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AllowlistRecord {
    pub id: Uuid,
    /// An address, a network (CIDR) or a domain name (with everything below it), normalised.
    pub value: String,
    pub reason: String,
    /// The organisation that maintains the entry.
    pub org: OrgRef,
    pub added_by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed: Option<Removal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Removal {
    pub by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Normalises an allow-list value: an address, a network, or a domain name.
pub fn normalize_value(v: &str) -> Result<String, String> {
    let v = v.trim();
    if let Ok(n) = v.parse::<ipnet::IpNet>() {
        return Ok(n.trunc().to_string());
    }
    if let Ok(a) = v.parse::<std::net::IpAddr>() {
        return Ok(a.to_string());
    }
    Indicator::parse(IndicatorType::Domain, v)
        .map(|d| d.value().to_owned())
        .map_err(|e| {
            format!(
                "{v:?} is neither an IP address, a network in CIDR form nor a domain name ({})",
                e.reason
            )
        })
}

impl AllowlistRecord {
    /// Any organisation's administrator adds entries for their organisation.
    pub fn add(
        actor: &Actor,
        id: Uuid,
        value: &str,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<(AllowlistRecord, Event), Refusal> {
        let p = require_admin(actor)?;
        let value = normalize_value(value).map_err(|m| Refusal {
            code: RefusalCode::Invalid,
            message: m,
        })?;
        if reason.trim().is_empty() {
            return Err(Refusal {
                code: RefusalCode::Invalid,
                message: "say why the entry must not be blocked (reason)".into(),
            });
        }
        let rec = AllowlistRecord {
            id,
            value,
            reason: reason.trim().to_owned(),
            org: p.0,
            added_by: p.1,
            created_at: now,
            removed: None,
        };
        let ev = event(
            "allowlist_entry.added",
            SubjectKind::AllowlistEntry,
            id,
            json!({"value": rec.value, "reason": rec.reason, "org": rec.org.slug}),
        );
        Ok((rec, ev))
    }

    /// The maintaining organisation's administrators remove it; so do those of the
    /// authorities and institutions, who answer for the platform's lists.
    pub fn remove(
        &self,
        actor: &Actor,
        now: OffsetDateTime,
    ) -> Result<(AllowlistRecord, Event), Refusal> {
        let (org, by) = require_admin(actor)?;
        let platform = org.org_type.is_authority() || org.org_type == OrgType::Institution;
        if org.id != self.org.id && !platform {
            return Err(Refusal {
                code: RefusalCode::Organisation,
                message: format!("the entry is maintained by {}", self.org.slug),
            });
        }
        if self.removed.is_some() {
            return Err(Refusal {
                code: RefusalCode::State,
                message: "the entry was already removed".into(),
            });
        }
        let mut next = self.clone();
        next.removed = Some(Removal { by, at: now });
        let ev = event(
            "allowlist_entry.removed",
            SubjectKind::AllowlistEntry,
            self.id,
            json!({"value": self.value}),
        );
        Ok((next, ev))
    }
}

fn require_admin(actor: &Actor) -> Result<(OrgRef, Uuid), Refusal> {
    match actor {
        Actor::Principal {
            principal_id,
            org,
            roles,
            ..
        } if roles.contains(&Role::Admin) => Ok((org.clone(), *principal_id)),
        _ => Err(Refusal {
            code: RefusalCode::Role,
            message: "allow-list entries are maintained by an organisation's administrators".into(),
        }),
    }
}
