//! Notices (Art. 8, 9): signed in the deciding authority's name, delivered by the
//! recipient's first fetch, followed up through acknowledgement, feedback and verification.

use crate::error::ServiceError;
use crate::filters::NoticesFilter;
use crate::proto::*;
use crate::service::{Idem, Result, Service, cursor_error};
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::lifecycle::*;
use warden_core::notice::{NoticeBody, NoticeType, SignedNotice, ThreatFacts};
use warden_core::org::{Actor, OrgRef, Organisation};
use warden_store::{Changeset, Versioned, Write};

/// What a notice says beyond its measure.
struct Wording<'a> {
    notice_id: Uuid,
    notice_type: NoticeType,
    reasons: Option<String>,
    facts: Option<&'a ThreatFacts>,
}

impl Service {
    /// Builds and signs the notice of `m` in the deciding authority's name.
    pub(crate) async fn sign_notice(
        &self,
        m: &Measure,
        notice_id: Uuid,
        notice_type: NoticeType,
        reasons: Option<String>,
        facts: Option<&ThreatFacts>,
        now: OffsetDateTime,
    ) -> Result<(SignedNotice, Uuid), ServiceError> {
        let recipient = self.org("recipient", &m.recipient.slug).await?;
        let wording = Wording {
            notice_id,
            notice_type,
            reasons,
            facts,
        };
        self.sign_to(m, recipient, wording, now).await
    }

    /// An Art. 8(3) notification of `m` to `to`, signed by the deciding authority.
    pub(crate) async fn sign_notification(
        &self,
        m: &Measure,
        notice_id: Uuid,
        to: &OrgRef,
        reasons: String,
        facts: &ThreatFacts,
        now: OffsetDateTime,
    ) -> Result<(SignedNotice, Uuid), ServiceError> {
        let target = self.org("notify", &to.slug).await?;
        let wording = Wording {
            notice_id,
            notice_type: NoticeType::Notification,
            reasons: Some(reasons),
            facts: Some(facts),
        };
        self.sign_to(m, target, wording, now).await
    }

    /// A notice about `m` addressed to `to`, signed with the deciding authority's key; with
    /// the id of the organisation it is addressed to.
    async fn sign_to(
        &self,
        m: &Measure,
        to: Organisation,
        w: Wording<'_>,
        now: OffsetDateTime,
    ) -> Result<(SignedNotice, Uuid), ServiceError> {
        let notice_id = w.notice_id;
        let issuer = self.org("issuer", &m.deciding_org.slug).await?;
        let mut body = NoticeBody::for_measure(
            notice_id,
            w.notice_type,
            m,
            (&to.name, &issuer.name),
            self.ctx(now, m.province),
            w.reasons,
        );
        body.threat = w.facts.cloned();
        body.recipient = warden_core::notice::Party {
            slug: to.slug.clone(),
            name: to.name.clone(),
        };
        let (key_id, key) = self.keys.signer(self.store.as_ref(), &issuer).await?;
        let signature = warden_core::notice::sign(&body, &key_id, &key);
        Ok((
            SignedNotice {
                id: notice_id,
                measure_id: m.id,
                recipient_org: to.slug,
                body,
                signature,
            },
            to.id,
        ))
    }

    pub(crate) async fn notice_and_measure(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<(SignedNotice, Versioned<Measure>), ServiceError> {
        let not_found = || ServiceError::NotFound(format!("notice {id}"));
        let n = self.store.notice(id).await?.ok_or_else(not_found)?;
        let m = self
            .store
            .measure(n.measure_id)
            .await?
            .ok_or_else(not_found)?;
        if !can_view_notice(actor, &n.recipient_org, &m.value) {
            return Err(not_found());
        }
        Ok((n, m))
    }

    pub async fn notice(&self, actor: &Actor, id: Uuid) -> Result<NoticeView> {
        let (n, mut m) = self.notice_and_measure(actor, id).await?;
        // The recipient's first fetch of the order is its delivery receipt.
        let is_recipient = actor.org().is_some_and(|o| o.id == m.value.recipient.id);
        if is_recipient && m.value.status == NoticeStatus::Issued && n.id == m.value.notice_id {
            let now = self.now();
            if let Ok(out) = m.value.apply(actor, MeasureCommand::Deliver, now) {
                let changes = Changeset {
                    actor: actor.clone(),
                    at: now,
                    writes: vec![Write::Measure {
                        measure: out.next.clone(),
                        expected: Some(m.version),
                    }],
                    events: out.events,
                    idempotency: None,
                    request_id: crate::service::current_request_id(),
                };
                match self.store.commit(changes).await {
                    Ok(_) => {
                        m.value = out.next;
                        m.version += 1;
                    }
                    // Someone else moved it first: their state stands.
                    Err(warden_store::StoreError::Conflict { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(NoticeView {
            notice: n,
            status: m.value.status.as_str().to_owned(),
            overdue: m.value.overdue,
        })
    }

    pub async fn notices(&self, actor: &Actor, q: NoticesFilter) -> Result<NoticeList> {
        let empty = NoticeList {
            items: vec![],
            next: None,
        };
        let Some(scope) = measure_scope(actor) else {
            return Ok(empty);
        };
        let mut f = warden_store::MeasureFilter {
            status: q.status.map(|s| s.as_str().to_owned()),
            overdue: q.overdue,
            province: q.province.map(|p| p.to_string()),
            category: q.category.map(|c| c.as_str().to_owned()),
            decided_from: q.from,
            decided_to: q.to,
            ..Default::default()
        };
        if let Some(r) = &q.recipient {
            f.recipient_org = Some(self.org("recipient", r).await?.id);
        }
        match scope {
            MeasureScope::All => {}
            MeasureScope::Province(p) => {
                if q.province.is_some_and(|q| q != p) {
                    return Ok(empty);
                }
                f.province = Some(p.to_string());
            }
            MeasureScope::Determiner(id) => f.determining_org = Some(id),
            MeasureScope::Recipient(id) => {
                if f.recipient_org.is_some_and(|r| r != id) {
                    return Ok(empty);
                }
                f.recipient_org = Some(id);
            }
        }
        let page = self
            .store
            .measures(&f, q.page.limit, q.page.cursor.as_deref())
            .await
            .map_err(cursor_error)?;
        Ok(NoticeList {
            items: page
                .items
                .into_iter()
                .map(|m| notice_summary(m.value))
                .collect(),
            next: page.next,
        })
    }

    /// The measures of a case the caller may see, as notice lines (the case page).
    pub async fn case_notices(&self, actor: &Actor, case_id: Uuid) -> Result<Vec<NoticeSummary>> {
        self.visible_case(actor, case_id).await?;
        Ok(self
            .store
            .measures_of_case(case_id)
            .await?
            .into_iter()
            .filter(|m| can_view_notice(actor, &m.value.recipient.slug, &m.value))
            .map(|m| notice_summary(m.value))
            .collect())
    }

    /// Applies a measure command reached through one of its notices.
    pub async fn notice_step(
        &self,
        actor: &Actor,
        notice_id: Uuid,
        cmd: MeasureCommand,
        idem: Option<Idem>,
    ) -> Result<NoticeStatusResponse> {
        self.once(idem, || async {
            let now = self.now();
            let (n, m) = self.notice_and_measure(actor, notice_id).await?;
            let out = m.value.apply(actor, cmd, now)?;
            let response = NoticeStatusResponse {
                id: n.id,
                measure_id: m.value.id,
                status: out.next.status.as_str().to_owned(),
                overdue: out.next.overdue,
            };
            let changes = Changeset::new(
                actor.clone(),
                now,
                vec![Write::Measure {
                    measure: out.next,
                    expected: Some(m.version),
                }],
                out.events,
            );
            Ok((response, changes))
        })
        .await
    }

    /// What the caller may do now with the measure of a notice (the forms a page offers).
    pub async fn notice_offers(&self, actor: &Actor, id: Uuid) -> Result<NoticeOffers> {
        let (_, m) = self.notice_and_measure(actor, id).await?;
        let m = &m.value;
        Ok(NoticeOffers {
            acknowledge: can_acknowledge(actor, m),
            feedback: can_file_feedback(actor, m),
            verify: can_verify(actor, m),
            phone: can_record_phone_call(actor, m),
        })
    }

    /// The published keys: every authority's, retired ones included, and the platform's
    /// (`GET /api/v1/keys`).
    pub async fn published_keys(&self) -> Result<warden_core::notice::KeySet> {
        Ok(crate::keys::published(self.store.as_ref(), &self.keys).await?)
    }
}

/// The steps open to a caller on a notice's measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoticeOffers {
    pub acknowledge: bool,
    pub feedback: bool,
    pub verify: bool,
    pub phone: bool,
}

fn notice_summary(m: Measure) -> NoticeSummary {
    NoticeSummary {
        id: m.notice_id,
        measure_id: m.id,
        case_id: m.case_id,
        reference: warden_core::notice::reference_number(&m),
        kind: m.kind,
        block_active: m.block.as_ref().map(|_| m.block_active()),
        target: m.target,
        recipient_org: m.recipient.slug,
        deciding_org: m.deciding_org.slug,
        status: m.status.as_str().to_owned(),
        overdue: m.overdue,
        deadline: m.deadline,
        emergency: m.emergency,
    }
}
