//! Enforcement (Art. 12): the records overdue and failed notices raise, the talks, warnings
//! and fines the authorities record on them, and each organisation's compliance.

use crate::error::ServiceError;
use crate::filters::EnforcementFilter;
use crate::proto::*;
use crate::service::{Idem, Result, Service};
use uuid::Uuid;
use warden_core::lifecycle::*;
use warden_core::org::Actor;
use warden_store::{Changeset, Write};

impl Service {
    /// The enforcement records a measure raises (Art. 12), as writes and events to commit
    /// with it: one for `reason`, and one more when the organisation's failures now repeat
    /// within the policy's period.
    pub(crate) async fn raise_records(
        &self,
        measure: &Measure,
        reason: EnforcementReason,
        now: time::OffsetDateTime,
    ) -> Result<(Vec<Write>, Vec<Event>), ServiceError> {
        let actor = Actor::system("enforcement");
        let earlier = self
            .store
            .enforcements(Some(measure.recipient.id), None, 1000)
            .await?;
        // One record of each reason per measure: a second failed verification of the same
        // notice adds to the record the first one raised.
        if earlier
            .iter()
            .any(|e| e.value.measure_id == measure.id && e.value.reason == reason)
        {
            return Ok((vec![], vec![]));
        }
        let raised = Enforcement::raise(&actor, Uuid::now_v7(), measure, reason, now)?;
        let rules = self.policy.for_province(measure.province).enforcement;
        let mut all: Vec<&Enforcement> = earlier.iter().map(|e| &e.value).collect();
        all.push(&raised.next);
        let mut writes = vec![];
        let mut events = raised.events;
        let repeated =
            Enforcement::repetition(&all, rules.repeated_failures, rules.within_days, now);
        writes.push(Write::Enforcement {
            enforcement: raised.next,
            expected: None,
        });
        if let Some(failures) = repeated {
            let again = Enforcement::raise_repeated(
                &actor,
                Uuid::now_v7(),
                measure,
                Repetition {
                    failures,
                    within_days: rules.within_days,
                },
                now,
            )?;
            events.extend(again.events);
            writes.push(Write::Enforcement {
                enforcement: again.next,
                expected: None,
            });
        }
        Ok((writes, events))
    }

    /// The organisation and province an enforcement listing is limited to for this caller.
    pub(crate) async fn enforcement_scope(
        &self,
        actor: &Actor,
        q: &EnforcementFilter,
    ) -> Result<(Option<Uuid>, Option<String>), ServiceError> {
        let wanted = match &q.org {
            Some(s) => Some(self.org("org", s).await?.id),
            None => None,
        };
        let Some(org) = actor.org() else {
            return Err(ServiceError::NotFound("enforcement records".into()));
        };
        Ok(match (org.org_type.is_authority(), org.jurisdiction) {
            (true, Some(warden_core::org::Jurisdiction::National)) => {
                (wanted, q.province.map(|p| p.to_string()))
            }
            (true, Some(warden_core::org::Jurisdiction::Province(p))) => {
                if q.province.is_some_and(|x| x != p) {
                    return Err(ServiceError::Refused(Refusal {
                        code: RefusalCode::Jurisdiction,
                        message: format!("{} sees records of province {p} only", org.slug),
                    }));
                }
                (wanted, Some(p.to_string()))
            }
            // Everyone else sees its own record only.
            _ => {
                if wanted.is_some_and(|w| w != org.id) {
                    return Err(ServiceError::Refused(Refusal {
                        code: RefusalCode::Organisation,
                        message: "an organisation sees its own compliance record only".into(),
                    }));
                }
                (Some(org.id), None)
            }
        })
    }

    pub async fn enforcements(
        &self,
        actor: &Actor,
        q: EnforcementFilter,
    ) -> Result<EnforcementList> {
        let (org, province) = self.enforcement_scope(actor, &q).await?;
        let limit = q.limit;
        let items = self
            .store
            .enforcements(org, province.as_deref(), limit)
            .await?
            .into_iter()
            .filter(|e| can_view_enforcement(actor, &e.value))
            .map(|e| EnforcementView {
                enforcement: e.value,
                version: e.version,
            })
            .collect();
        Ok(EnforcementList { items })
    }

    /// One enforcement record, to those who may see it or any authority (as when acting on it).
    pub async fn enforcement(&self, actor: &Actor, id: Uuid) -> Result<EnforcementView> {
        let not_found = || ServiceError::NotFound(format!("enforcement record {id}"));
        let e = self.store.enforcement(id).await?.ok_or_else(not_found)?;
        if !can_view_enforcement(actor, &e.value) {
            return Err(not_found());
        }
        Ok(EnforcementView {
            enforcement: e.value,
            version: e.version,
        })
    }

    /// The reference number of the notice an enforcement record is about (to those who may
    /// see the record).
    pub async fn enforcement_reference(&self, actor: &Actor, id: Uuid) -> Result<String> {
        let e = self.enforcement(actor, id).await?.enforcement;
        Ok(self
            .store
            .measure(e.measure_id)
            .await?
            .map(|m| warden_core::notice::reference_number(&m.value))
            .unwrap_or_default())
    }

    pub async fn record_enforcement(
        &self,
        actor: &Actor,
        id: Uuid,
        req: EnforcementActionRequest,
        idem: Option<Idem>,
    ) -> Result<EnforcementView> {
        self.once(idem, || async {
            let now = self.now();
            let not_found = || ServiceError::NotFound(format!("enforcement record {id}"));
            let e = self.store.enforcement(id).await?.ok_or_else(not_found)?;
            let authority = actor.org().is_some_and(|o| o.org_type.is_authority());
            if !can_view_enforcement(actor, &e.value) && !authority {
                return Err(not_found());
            }
            let draft = ActionDraft {
                kind: req.kind,
                basis: req.basis,
                amount_yuan: req.amount_yuan,
                responsible_person: req.responsible_person,
                notes: req.notes,
            };
            let out = e.value.record(actor, draft, self.policy.penalties(), now)?;
            let view = EnforcementView {
                enforcement: out.next.clone(),
                version: e.version + 1,
            };
            let changes = Changeset::new(
                actor.clone(),
                now,
                vec![Write::Enforcement {
                    enforcement: out.next,
                    expected: Some(e.version),
                }],
                out.events,
            );
            Ok((view, changes))
        })
        .await
    }

    /// Every organisation's compliance record within an authority's jurisdiction, most overdue
    /// first: one pass over the measures and the enforcement records.
    pub async fn compliance_overview(&self, actor: &Actor) -> Result<Vec<ComplianceRecord>> {
        if !actor.org().is_some_and(|o| o.org_type.is_authority()) {
            return Err(ServiceError::Refused(Refusal {
                code: RefusalCode::Organisation,
                message: "the compliance of every organisation is for the telecom authorities"
                    .into(),
            }));
        }
        let (_, province) = self
            .enforcement_scope(actor, &EnforcementFilter::default())
            .await?;
        let mut by_org: std::collections::BTreeMap<String, ComplianceRecord> = Default::default();
        for c in self.store.measure_counts(province.as_deref(), None).await? {
            let rec = by_org
                .entry(c.recipient_slug.clone())
                .or_insert_with(|| blank(&c.recipient_slug));
            rec.notices += c.notices;
            rec.overdue += c.overdue;
        }
        for e in self
            .store
            .enforcements(None, province.as_deref(), 10_000)
            .await?
        {
            let rec = by_org
                .entry(e.value.org.slug.clone())
                .or_insert_with(|| blank(&e.value.org.slug));
            count_record(rec, &e.value);
        }
        for (slug, (asked, late)) in self.inquiry_counts(None, province.as_deref()).await? {
            let rec = by_org.entry(slug.clone()).or_insert_with(|| blank(&slug));
            rec.inquiries = asked;
            rec.inquiries_late = late;
        }
        let mut out: Vec<_> = by_org.into_values().collect();
        out.sort_by(|a, b| {
            b.overdue
                .cmp(&a.overdue)
                .then(b.notices.cmp(&a.notices))
                .then_with(|| a.org.cmp(&b.org))
        });
        Ok(out)
    }

    pub async fn compliance(
        &self,
        actor: &Actor,
        q: EnforcementFilter,
    ) -> Result<ComplianceRecord> {
        let slug = match (&q.org, actor.org()) {
            (Some(s), _) => s.clone(),
            (None, Some(o)) => o.slug.clone(),
            (None, None) => return Err(ServiceError::InvalidQuery("org: required".into())),
        };
        let q = EnforcementFilter {
            org: Some(slug.clone()),
            ..q
        };
        let (org, province) = self.enforcement_scope(actor, &q).await?;
        let mut rec = blank(&slug);
        for c in self.store.measure_counts(province.as_deref(), org).await? {
            rec.notices += c.notices;
            rec.overdue += c.overdue;
        }
        for e in self
            .store
            .enforcements(org, province.as_deref(), 1000)
            .await?
        {
            count_record(&mut rec, &e.value);
        }
        if let Some((asked, late)) = self
            .inquiry_counts(org, province.as_deref())
            .await?
            .remove(&slug)
        {
            rec.inquiries = asked;
            rec.inquiries_late = late;
        }
        Ok(rec)
    }
}

/// An organisation's record before anything is counted.
fn blank(org: &str) -> ComplianceRecord {
    ComplianceRecord {
        org: org.to_owned(),
        notices: 0,
        overdue: 0,
        inquiries: 0,
        inquiries_late: 0,
        enforcement_records: 0,
        talks: 0,
        warnings: 0,
        fines: 0,
        fines_total_yuan: 0,
    }
}

/// Counts an enforcement record and the talks, warnings and fines recorded on it.
fn count_record(rec: &mut ComplianceRecord, e: &Enforcement) {
    rec.enforcement_records += 1;
    for a in &e.actions {
        match a.kind {
            ActionKind::Talk => rec.talks += 1,
            ActionKind::Warning => rec.warnings += 1,
            ActionKind::Fine => {
                rec.fines += 1;
                rec.fines_total_yuan += a.amount_yuan.unwrap_or(0);
            }
        }
    }
}
