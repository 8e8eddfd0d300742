//! Look-up requests (Art. 9): operators, internet companies and domain registries and
//! registrars support the telecom authorities' lawful queries of who holds an IP address or
//! a broadband account, who registered a domain, whose a telephone number is. An authority
//! (or the institution on its behalf) asks one organisation, with a time limit from policy;
//! the organisation answers with the holder, the registrant, a contact and its evidence.

use super::common::*;
use crate::indicator::{Indicator, IndicatorType};
use crate::org::{Actor, OrgRef, OrgType, Province, Role};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum InquiryStatus {
    Open,
    Answered,
}

impl InquiryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InquiryStatus::Open => "open",
            InquiryStatus::Answered => "answered",
        }
    }
}

/// What the organisation asked answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InquiryAnswer {
    /// Who holds the address, account, domain or number (the customer, the registrant).
    pub holder: String,
    /// For a domain: the registrant as registered, when it differs from the holder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registrant: Option<String>,
    /// How to reach the holder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// Where the answer comes from (the customer record, the WHOIS entry, the assignment).
    pub evidence: String,
    /// The holder when it is a member organisation: measures on the subject are then routed
    /// to it when the registry has no answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder_org: Option<String>,
    pub answered_by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Answered after the time limit.
    pub late: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Inquiry {
    pub id: Uuid,
    /// The case it serves, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_id: Option<Uuid>,
    /// The authority whose query it is.
    pub authority: OrgRef,
    /// Who asked: the authority, or the institution on its behalf.
    pub asked_by: OrgRef,
    pub asker_id: Uuid,
    /// The organisation that must answer.
    pub addressee: OrgRef,
    pub subject: Indicator,
    pub question: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub province: Option<Province>,
    #[serde(with = "time::serde::rfc3339")]
    pub asked_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub due: OffsetDateTime,
    pub due_provisional: bool,
    pub status: InquiryStatus,
    /// The time limit passed without an answer (counted in the compliance figures).
    pub overdue: bool,
    pub answer: Option<InquiryAnswer>,
    pub policy_version: String,
}

/// What an asker writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InquiryDraft {
    pub case_id: Option<Uuid>,
    pub authority: OrgRef,
    pub addressee: OrgRef,
    pub subject: Indicator,
    pub question: String,
    pub province: Option<Province>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InquiryCommand {
    Answer {
        holder: String,
        registrant: Option<String>,
        contact: Option<String>,
        evidence: String,
        holder_org: Option<String>,
    },
    /// Deadline job: the time limit passed without an answer.
    MarkOverdue,
}

/// The subjects Art. 9 names: IP addresses (and networks), broadband accounts, domains;
/// telephone numbers, which Art. 8(1) lets be blocked, are asked about the same way.
pub fn inquirable(t: IndicatorType) -> bool {
    matches!(
        t,
        IndicatorType::Ipv4
            | IndicatorType::Ipv6
            | IndicatorType::Cidr
            | IndicatorType::BroadbandAccount
            | IndicatorType::Domain
            | IndicatorType::Phone
    )
}

/// Who must support the authorities' queries (Art. 9).
fn answers_queries(t: OrgType) -> bool {
    matches!(
        t,
        OrgType::TelecomOperator
            | OrgType::InternetCompany
            | OrgType::DomainRegistry
            | OrgType::DomainRegistrar
            | OrgType::ServiceProvider
    )
}

fn authority_over(org: &OrgRef, province: Option<Province>) -> bool {
    org.org_type.is_authority() && org.jurisdiction.is_some_and(|j| j.covers(province))
}

impl Inquiry {
    /// A reviewer of an authority over the province asks in its own name; an analyst of an
    /// institution asks on an authority's behalf. `due` is policy's time limit from now.
    pub fn ask(
        actor: &Actor,
        id: Uuid,
        d: InquiryDraft,
        due: crate::calendar::Reckoned<OffsetDateTime>,
        policy_version: &str,
        now: OffsetDateTime,
    ) -> Result<Outcome<Inquiry>, Refusal> {
        let Some(org) = actor.org() else {
            return refuse(RefusalCode::Role, "look-up requests are made by members");
        };
        let principal = actor.principal_id().unwrap_or_default();
        if org.org_type == OrgType::Institution {
            require_role(actor, Role::Analyst)?;
        } else {
            require_role(actor, Role::Reviewer)?;
            if org.id != d.authority.id {
                return refuse(
                    RefusalCode::Organisation,
                    format!(
                        "{} asks in its own name, not in that of {}",
                        org.slug, d.authority.slug
                    ),
                );
            }
        }
        if !d.authority.org_type.is_authority() {
            return refuse(
                RefusalCode::Invalid,
                format!(
                    "{} is not a telecom authority: Art. 9 queries are the authorities'",
                    d.authority.slug
                ),
            );
        }
        if !authority_over(&d.authority, d.province) {
            return refuse(
                RefusalCode::Jurisdiction,
                format!(
                    "{} has no jurisdiction over {}",
                    d.authority.slug,
                    d.province
                        .map_or("a query spanning provinces".to_owned(), |p| format!(
                            "province {p}"
                        ))
                ),
            );
        }
        if !answers_queries(d.addressee.org_type) {
            return refuse(
                RefusalCode::Invalid,
                format!(
                    "{} is a {}: Art. 9 obliges operators, internet companies and domain registries and registrars",
                    d.addressee.slug, d.addressee.org_type
                ),
            );
        }
        if !inquirable(d.subject.kind()) {
            return refuse(
                RefusalCode::Invalid,
                format!(
                    "a {} is not something Art. 9 asks about: an IP address or network, a broadband account, a domain or a telephone number",
                    d.subject.kind()
                ),
            );
        }
        require_text("question", &d.question, 5_000)?;
        let q = Inquiry {
            id,
            case_id: d.case_id,
            authority: d.authority,
            asked_by: org.clone(),
            asker_id: principal,
            addressee: d.addressee,
            subject: d.subject,
            question: d.question,
            province: d.province,
            asked_at: now,
            due: due.value,
            due_provisional: due.provisional,
            status: InquiryStatus::Open,
            overdue: false,
            answer: None,
            policy_version: policy_version.to_owned(),
        };
        let events = vec![event(
            "inquiry.asked",
            SubjectKind::Inquiry,
            id,
            json!({
                "addressee": q.addressee.slug,
                "authority": q.authority.slug,
                "subject": {"type": q.subject.kind().as_str(), "value": q.subject.value()},
                "due": q.due.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            }),
        )];
        Ok(Outcome { next: q, events })
    }

    /// The addressee's responders and admins answer.
    pub(crate) fn may_answer(&self, actor: &Actor) -> Result<(), Refusal> {
        let Some(org) = actor.org() else {
            return refuse(RefusalCode::Role, "the public does not answer look-ups");
        };
        require_org(org, &self.addressee, "answer this look-up request")?;
        if !(actor.has_role(Role::Responder) || actor.has_role(Role::Admin)) {
            return refuse(
                RefusalCode::Role,
                "answering a look-up request needs the responder or admin role",
            );
        }
        if self.status != InquiryStatus::Open {
            return refuse(RefusalCode::State, "the request was already answered");
        }
        Ok(())
    }

    pub fn apply(
        &self,
        actor: &Actor,
        cmd: InquiryCommand,
        now: OffsetDateTime,
    ) -> Result<Outcome<Inquiry>, Refusal> {
        let mut next = self.clone();
        let ev =
            |name: &str, data: serde_json::Value| event(name, SubjectKind::Inquiry, self.id, data);
        let events = match cmd {
            InquiryCommand::Answer {
                holder,
                registrant,
                contact,
                evidence,
                holder_org,
            } => {
                self.may_answer(actor)?;
                require_text("holder", &holder, 500)?;
                require_text("evidence", &evidence, 20_000)?;
                let opt = |field: &str, v: Option<String>| -> Result<Option<String>, Refusal> {
                    match v.map(|s| s.trim().to_owned()) {
                        None => Ok(None),
                        Some(s) if s.is_empty() => Ok(None),
                        Some(s) => {
                            require_text(field, &s, 500)?;
                            Ok(Some(s))
                        }
                    }
                };
                let late = now > self.due;
                next.answer = Some(InquiryAnswer {
                    holder: holder.trim().to_owned(),
                    registrant: opt("registrant", registrant)?,
                    contact: opt("contact", contact)?,
                    evidence: evidence.trim().to_owned(),
                    holder_org: opt("holder_org", holder_org)?,
                    answered_by: actor.principal_id().unwrap_or_default(),
                    at: now,
                    late,
                });
                next.status = InquiryStatus::Answered;
                vec![ev(
                    "inquiry.answered",
                    json!({"late": late, "holder_org": next.answer.as_ref().and_then(|a| a.holder_org.clone())}),
                )]
            }
            InquiryCommand::MarkOverdue => {
                if !matches!(actor, Actor::System { .. }) {
                    return refuse(
                        RefusalCode::Role,
                        "only the deadline job marks look-ups overdue",
                    );
                }
                if self.status != InquiryStatus::Open || self.overdue {
                    return refuse(RefusalCode::State, "answered, or already overdue");
                }
                if now <= self.due {
                    return refuse(RefusalCode::Window, "the time limit has not passed");
                }
                next.overdue = true;
                vec![ev(
                    "inquiry.overdue",
                    json!({"addressee": self.addressee.slug}),
                )]
            }
        };
        Ok(Outcome { next, events })
    }
}

/// The asking authority (and authorities over its province), the institution that asked,
/// and the addressee.
pub fn can_view_inquiry(actor: &Actor, q: &Inquiry) -> bool {
    match actor {
        Actor::System { .. } => true,
        Actor::Public => false,
        Actor::Principal { org, .. } => {
            org.id == q.addressee.id
                || org.id == q.asked_by.id
                || org.id == q.authority.id
                || authority_over(org, q.province)
        }
    }
}

/// Answers this request, now.
pub fn can_answer_inquiry(actor: &Actor, q: &Inquiry) -> bool {
    q.may_answer(actor).is_ok()
}

/// May ask look-up requests at all (the form is offered): an authority's reviewer, or an
/// institution's analyst on an authority's behalf.
pub fn can_ask_inquiries(actor: &Actor) -> bool {
    match actor.org() {
        Some(o) if o.org_type == OrgType::Institution => actor.has_role(Role::Analyst),
        Some(o) if o.org_type.is_authority() => actor.has_role(Role::Reviewer),
        _ => false,
    }
}
