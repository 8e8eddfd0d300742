//! Art. 6: the sharing platform notifies (通报) its members and publishes (发布) to the
//! public. A bulletin goes to members (all, or some organisation types); a publication is
//! public and therefore TLP:CLEAR.

use crate::lifecycle::common::{Outcome, Refusal, RefusalCode, Subject, SubjectKind, Tlp};
use crate::org::{Actor, OrgRef, OrgType, Role};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BulletinKind {
    /// 通报: to members.
    Bulletin,
    /// 发布: to the public.
    Publication,
}

impl BulletinKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BulletinKind::Bulletin => "bulletin",
            BulletinKind::Publication => "publication",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Bulletin {
    pub id: Uuid,
    pub kind: BulletinKind,
    pub issuer: OrgRef,
    pub title: String,
    pub body: String,
    pub tlp: Tlp,
    /// For bulletins: the organisation types it is for; empty means every member.
    pub audience: Vec<OrgType>,
    /// Cases it concerns.
    pub case_ids: Vec<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub published_at: OffsetDateTime,
}

/// What an issuer writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulletinDraft {
    pub kind: BulletinKind,
    pub title: String,
    pub body: String,
    pub tlp: Tlp,
    pub audience: Vec<OrgType>,
    pub case_ids: Vec<Uuid>,
}

fn refuse<T>(code: RefusalCode, message: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal {
        code,
        message: message.into(),
    })
}

/// Reviewers of the telecom authorities and the institutions issue bulletins and
/// publications.
pub(crate) fn may_issue(actor: &Actor) -> Result<&OrgRef, Refusal> {
    let Some(org) = actor.org() else {
        return refuse(
            RefusalCode::Role,
            "bulletins are issued by members' reviewers",
        );
    };
    if !actor.has_role(Role::Reviewer) {
        return refuse(
            RefusalCode::Role,
            "issuing bulletins and publications needs the reviewer role",
        );
    }
    if !(org.org_type.is_authority() || org.org_type == OrgType::Institution) {
        return refuse(
            RefusalCode::Organisation,
            format!(
                "a {} does not issue bulletins or publications",
                org.org_type
            ),
        );
    }
    Ok(org)
}

impl Bulletin {
    /// Telecom authorities and the institutions (CNCERT operates the platform) issue them,
    /// through a reviewer.
    pub fn issue(
        actor: &Actor,
        id: Uuid,
        d: BulletinDraft,
        now: OffsetDateTime,
    ) -> Result<Outcome<Bulletin>, Refusal> {
        let org = may_issue(actor)?;
        for (field, v, max) in [("title", &d.title, 300), ("body", &d.body, 50_000)] {
            if v.trim().is_empty() {
                return refuse(RefusalCode::Invalid, format!("{field} is required"));
            }
            if v.chars().count() > max {
                return refuse(
                    RefusalCode::Invalid,
                    format!("{field} is longer than {max} characters"),
                );
            }
        }
        if d.kind == BulletinKind::Publication {
            if d.tlp != Tlp::Clear {
                return refuse(
                    RefusalCode::Invalid,
                    "a publication is public: its TLP must be clear",
                );
            }
            if !d.audience.is_empty() {
                return refuse(
                    RefusalCode::Invalid,
                    "a publication is for everyone: no audience",
                );
            }
        }
        if d.tlp == Tlp::Red {
            return refuse(
                RefusalCode::Invalid,
                "TLP:RED information is not shared by bulletin",
            );
        }
        let b = Bulletin {
            id,
            kind: d.kind,
            issuer: org.clone(),
            title: d.title,
            body: d.body,
            tlp: d.tlp,
            audience: d.audience,
            case_ids: d.case_ids,
            published_at: now,
        };
        let events = vec![crate::lifecycle::common::Event {
            name: format!("{}.issued", b.kind.as_str()),
            subject: Subject {
                kind: SubjectKind::Bulletin,
                id,
            },
            data: serde_json::json!({"title": b.title, "tlp": b.tlp, "audience": b.audience}),
        }];
        Ok(Outcome { next: b, events })
    }

    /// Publications are public; bulletins reach the members of their audience.
    pub fn visible_to(&self, actor: &Actor) -> bool {
        match (self.kind, actor) {
            (BulletinKind::Publication, _) => true,
            (_, Actor::System { .. }) => true,
            (_, Actor::Public) => false,
            (BulletinKind::Bulletin, Actor::Principal { org, .. }) => {
                org.id == self.issuer.id
                    || org.org_type.is_authority()
                    || self.audience.is_empty()
                    || self.audience.contains(&org.org_type)
            }
        }
    }
}

/// An Atom feed (RFC 4287) of publications, newest first.
pub fn atom_feed(base_url: &str, items: &[Bulletin], now: OffsetDateTime) -> String {
    fn esc(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    }
    fn ts(t: OffsetDateTime) -> String {
        t.to_offset(crate::calendar::SHANGHAI)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    }
    let updated = items.first().map(|b| b.published_at).unwrap_or(now);
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n\
         <id>{base}/api/v1/publications.atom</id>\n<title>Warden: public-internet threat publications</title>\n\
         <updated>{u}</updated>\n<link rel=\"self\" href=\"{base}/api/v1/publications.atom\"/>\n",
        base = esc(base_url),
        u = ts(updated),
    );
    for b in items {
        out.push_str(&format!(
            "<entry>\n<id>urn:uuid:{id}</id>\n<title>{t}</title>\n<updated>{u}</updated>\n\
             <author><name>{a}</name></author>\n<content type=\"text\">{c}</content>\n</entry>\n",
            id = b.id,
            t = esc(&b.title),
            u = ts(b.published_at),
            a = esc(&b.issuer.slug),
            c = esc(&b.body),
        ));
    }
    out.push_str("</feed>\n");
    out
}
