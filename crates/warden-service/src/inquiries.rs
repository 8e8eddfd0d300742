//! Look-up requests (Art. 9): asked by an authority or an institution on its behalf,
//! answered by the organisation within policy's time limit, audited, counted in compliance,
//! and used by routing when the registry has no answer.

use crate::error::ServiceError;
use crate::proto::*;
use crate::reports::parse_indicator;
use crate::service::{Idem, Result, Service, cursor_error};
use uuid::Uuid;
use warden_core::lifecycle::*;
use warden_core::org::{Actor, Jurisdiction, OrgType, Organisation, Province};
use warden_store::{Changeset, InquiryFilter, Versioned, Write};

impl Service {
    /// The authority a query belongs to when the asker does not name one: the asker itself
    /// when it is an authority, else the authority over the province (MIIT without one).
    async fn inquiry_authority(
        &self,
        actor: &Actor,
        named: Option<&str>,
        province: Option<Province>,
    ) -> Result<Organisation> {
        if let Some(slug) = named {
            return self.org("authority", slug).await;
        }
        if let Some(o) = actor.org()
            && o.org_type.is_authority()
        {
            return self.org("authority", &o.slug).await;
        }
        let all = self.store.organisations().await?;
        let wanted = province.map(Jurisdiction::Province);
        let found = all.into_iter().map(|o| o.value).find(|o| match wanted {
            Some(j) => o.org_type == OrgType::ProvincialAuthority && o.jurisdiction == Some(j),
            None => o.org_type == OrgType::Ministry,
        });
        found.ok_or_else(|| {
            ServiceError::InvalidBody(
                "authority: no telecom authority is installed for that province; name one".into(),
            )
        })
    }

    pub async fn ask_inquiry(
        &self,
        actor: &Actor,
        req: InquiryRequest,
        idem: Option<Idem>,
    ) -> Result<InquiryView> {
        let addressee = self.org("addressee", &req.addressee).await?;
        if !addressee.is_active() {
            return Err(ServiceError::Refused(Refusal {
                code: RefusalCode::State,
                message: format!("{} is suspended: it is asked nothing new", addressee.slug),
            }));
        }
        let subject = parse_indicator("subject".into(), &req.subject)?;
        let case = match req.case_id {
            Some(id) => Some(self.visible_case(actor, id).await?.value),
            None => None,
        };
        let province = match (&req.province, &case) {
            (Some(p), _) => Some(p.parse::<Province>()?),
            (None, Some(c)) => c.province,
            (None, None) => None,
        };
        let authority = self
            .inquiry_authority(actor, req.authority.as_deref(), province)
            .await?;
        // An emergency case needs its answer sooner.
        let emergency = case
            .as_ref()
            .and_then(|c| c.determination.as_ref())
            .and_then(|d| d.incident_level)
            .is_some_and(IncidentLevel::is_emergency);
        let rules = self.policy.for_province(province);
        let span = if emergency {
            rules.inquiry_emergency_answer_within
        } else {
            rules.inquiry_answer_within
        };
        let draft = InquiryDraft {
            case_id: req.case_id,
            authority: authority.org_ref(),
            addressee: addressee.org_ref(),
            subject,
            question: req.question,
            province,
        };
        self.once(idem, || async {
            let now = self.now();
            let due = span.after(now, &self.calendar);
            let out = Inquiry::ask(actor, Uuid::now_v7(), draft, due, &rules.version, now)?;
            let view = InquiryView {
                inquiry: out.next.clone(),
                version: 1,
            };
            let changes = Changeset::new(
                actor.clone(),
                now,
                vec![Write::Inquiry {
                    inquiry: out.next,
                    expected: None,
                }],
                out.events,
            );
            Ok((view, changes))
        })
        .await
    }

    async fn visible_inquiry(&self, actor: &Actor, id: Uuid) -> Result<Versioned<Inquiry>> {
        match self.store.inquiry(id).await? {
            Some(q) if can_view_inquiry(actor, &q.value) => Ok(q),
            _ => Err(ServiceError::NotFound(format!("look-up request {id}"))),
        }
    }

    pub async fn inquiry(&self, actor: &Actor, id: Uuid) -> Result<InquiryView> {
        let q = self.visible_inquiry(actor, id).await?;
        Ok(InquiryView {
            inquiry: q.value,
            version: q.version,
        })
    }

    /// The requests an actor may see: all (MIIT), its province's (a provincial authority),
    /// those it asked (an institution), those it must answer (everyone else).
    pub async fn inquiries(
        &self,
        actor: &Actor,
        open_only: bool,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<InquiryList> {
        let Some(org) = actor.org() else {
            return Ok(InquiryList {
                items: vec![],
                next: None,
            });
        };
        let mut f = InquiryFilter {
            status: open_only.then(|| InquiryStatus::Open.as_str().to_owned()),
            ..Default::default()
        };
        match (org.org_type, org.jurisdiction) {
            (OrgType::Ministry, _) => {}
            (OrgType::ProvincialAuthority, Some(Jurisdiction::Province(p))) => {
                f.province = Some(p.to_string());
            }
            (OrgType::ProvincialAuthority, _) => f.party_org = Some(org.id),
            (OrgType::Institution, _) => f.party_org = Some(org.id),
            _ => f.addressee_org = Some(org.id),
        }
        let page = self
            .store
            .inquiries(&f, limit, cursor)
            .await
            .map_err(cursor_error)?;
        Ok(InquiryList {
            items: page
                .items
                .into_iter()
                .filter(|q| can_view_inquiry(actor, &q.value))
                .map(|q| InquiryView {
                    inquiry: q.value,
                    version: q.version,
                })
                .collect(),
            next: page.next,
        })
    }

    pub async fn answer_inquiry(
        &self,
        actor: &Actor,
        id: Uuid,
        req: InquiryAnswerRequest,
        idem: Option<Idem>,
    ) -> Result<InquiryView> {
        if let Some(slug) = req.holder_org.as_deref().filter(|s| !s.trim().is_empty()) {
            self.org("holder_org", slug.trim()).await?;
        }
        self.once(idem, || async {
            let now = self.now();
            let q = self.visible_inquiry(actor, id).await?;
            let out = q.value.apply(
                actor,
                InquiryCommand::Answer {
                    holder: req.holder.clone(),
                    registrant: req.registrant.clone(),
                    contact: req.contact.clone(),
                    evidence: req.evidence.clone(),
                    holder_org: req.holder_org.clone(),
                },
                now,
            )?;
            let view = InquiryView {
                inquiry: out.next.clone(),
                version: q.version + 1,
            };
            let changes = Changeset::new(
                actor.clone(),
                now,
                vec![Write::Inquiry {
                    inquiry: out.next,
                    expected: Some(q.version),
                }],
                out.events,
            );
            Ok((view, changes))
        })
        .await
    }

    /// The deadline job: open requests past their time limit are marked overdue.
    pub(crate) async fn mark_inquiries_overdue(&self) -> Result<usize> {
        let actor = Actor::system(crate::jobs::DEADLINES);
        let mut done = 0;
        loop {
            let now = self.now();
            let due = self.store.inquiries_past_due(now, 200).await?;
            if due.is_empty() {
                return Ok(done);
            }
            let mut progressed = false;
            for q in due {
                let Ok(out) = q.value.apply(&actor, InquiryCommand::MarkOverdue, now) else {
                    continue;
                };
                let changes = Changeset::new(
                    actor.clone(),
                    now,
                    vec![Write::Inquiry {
                        inquiry: out.next,
                        expected: Some(q.version),
                    }],
                    out.events,
                );
                match self.store.commit(changes).await {
                    Ok(_) => {
                        done += 1;
                        progressed = true;
                    }
                    // Answered meanwhile: the answer stands.
                    Err(warden_store::StoreError::Conflict { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            if !progressed {
                return Ok(done);
            }
        }
    }

    /// An organisation's look-up requests and how many went unanswered in time.
    pub(crate) async fn inquiry_counts(
        &self,
        org: Option<Uuid>,
        province: Option<&str>,
    ) -> Result<std::collections::BTreeMap<String, (u64, u64)>> {
        let f = InquiryFilter {
            addressee_org: org,
            province: province.map(str::to_owned),
            ..Default::default()
        };
        let mut out: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.store.inquiries(&f, 1000, cursor.as_deref()).await?;
            for q in &page.items {
                let e = out.entry(q.value.addressee.slug.clone()).or_default();
                e.0 += 1;
                let late = q.value.overdue || q.value.answer.as_ref().is_some_and(|a| a.late);
                e.1 += u64::from(late);
            }
            match page.next {
                Some(n) => cursor = Some(n),
                None => return Ok(out),
            }
        }
    }
}
