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
pub(crate) struct Wording<'a> {
    pub(crate) notice_id: Uuid,
    pub(crate) notice_type: NoticeType,
    pub(crate) reasons: Option<String>,
    pub(crate) facts: Option<&'a ThreatFacts>,
}

/// The notice about `m` addressed to `to`, signed in `issuer`'s name with its key: what
/// every issued notice is, whether the service or a bulk load makes it.
pub(crate) fn signed_notice(
    m: &Measure,
    to: &Organisation,
    issuer: &Organisation,
    w: Wording<'_>,
    ctx: Context<'_>,
    (key_id, key): (&str, &ed25519_dalek::SigningKey),
) -> SignedNotice {
    let mut body = NoticeBody::for_measure(
        w.notice_id,
        w.notice_type,
        m,
        (&to.name, &issuer.name),
        ctx,
        w.reasons,
    );
    body.threat = w.facts.cloned();
    body.recipient = warden_core::notice::Party {
        slug: to.slug.clone(),
        name: to.name.clone(),
    };
    let signature = warden_core::notice::sign(&body, key_id, key);
    SignedNotice {
        id: w.notice_id,
        measure_id: m.id,
        recipient_org: to.slug.clone(),
        body,
        signature,
    }
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
        let issuer = self.org("issuer", &m.deciding_org.slug).await?;
        let (key_id, key) = self.keys.signer(self.store.as_ref(), &issuer).await?;
        let ctx = self.ctx(now, m.province);
        let notice = signed_notice(m, &to, &issuer, w, ctx, (&key_id, &key));
        Ok((notice, to.id))
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
        let (n, mut m) = match self.notice_and_measure(actor, id).await {
            Ok(found) => found,
            // Not signed yet: an emergency measure whose written notice follows the call.
            Err(ServiceError::NotFound(what)) => {
                return Err(ServiceError::NotFound(
                    match self.store.measure_by_notice(id).await? {
                        Some(m)
                            if can_view_measure(actor, &m.value)
                                && m.value.written_notice_pending =>
                        {
                            format!(
                                "notice {id}: the signed written notice of this emergency measure has not been issued yet; {}",
                                if m.value.phone_notifications.is_empty() {
                                    "the recipient is to be telephoned first"
                                } else {
                                    "the recipient was told by telephone and may acknowledge and report back already"
                                }
                            )
                        }
                        _ => what,
                    },
                ));
            }
            Err(e) => return Err(e),
        };
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
                // What has not reached it yet is not its to see (emergencies).
                f.notified_only = true;
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

    /// How many notices a case page shows at once.
    pub const CASE_NOTICES_PAGE: u32 = 200;

    /// The measures of a case the caller may see, as notice lines (the case page), newest
    /// first, a page at a time: a campaign's case can carry thousands.
    pub async fn case_notices(
        &self,
        actor: &Actor,
        case_id: Uuid,
        cursor: Option<&str>,
    ) -> Result<NoticeList> {
        self.visible_case(actor, case_id).await?;
        let f = warden_store::MeasureFilter {
            case_id: Some(case_id),
            ..Default::default()
        };
        let page = self
            .store
            .measures(&f, Self::CASE_NOTICES_PAGE, cursor)
            .await
            .map_err(cursor_error)?;
        Ok(NoticeList {
            items: page
                .items
                .into_iter()
                .filter(|m| can_view_notice(actor, &m.value.recipient.slug, &m.value))
                .map(|m| notice_summary(m.value))
                .collect(),
            next: page.next,
        })
    }

    /// Applies a measure command reached through one of its notices.
    /// The measure a notice id names, whether or not its written notice exists yet (on the
    /// emergency path it follows the telephone call), to those who may see it.
    pub(crate) async fn measure_of_notice(
        &self,
        actor: &Actor,
        notice_id: Uuid,
    ) -> Result<Versioned<Measure>> {
        if let Some(m) = self.store.measure_by_notice(notice_id).await?
            && can_view_measure(actor, &m.value)
        {
            return Ok(m);
        }
        // An Art. 8(3) notification or a later notice: found through the notice itself.
        Ok(self.notice_and_measure(actor, notice_id).await?.1)
    }

    /// The measure of a notice id to those who may see it, before its written notice exists
    /// (an emergency order telephoned to the recipient, say).
    pub async fn notice_measure(&self, actor: &Actor, notice_id: Uuid) -> Result<Measure> {
        Ok(self.measure_of_notice(actor, notice_id).await?.value)
    }

    /// Whom the deciding authority telephones first, and what is owed still.
    pub async fn telephone_sheet(&self, actor: &Actor, notice_id: Uuid) -> Result<TelephoneSheet> {
        let m = self.measure_of_notice(actor, notice_id).await?.value;
        if !can_follow_emergency(actor, &m) {
            return Err(ServiceError::NotFound(format!(
                "the telephone sheet of notice {notice_id} (the deciding authority's, on the emergency path)"
            )));
        }
        let recipient = self.org("recipient", &m.recipient.slug).await?;
        Ok(TelephoneSheet {
            notice_id: m.notice_id,
            measure_id: m.id,
            case_id: m.case_id,
            recipient_org: recipient.slug,
            recipient_name: recipient.name,
            kind: m.kind,
            target: m.target,
            contacts: recipient.contacts,
            status: m.status.as_str().to_owned(),
            calls: m.phone_notifications,
            deadline: m.deadline,
            written_notice_pending: m.written_notice_pending,
            written_notice_due: m.written_notice_due,
            written_notice_at: m.written_notice_at,
            written_notice_overdue: m.written_notice_overdue,
        })
    }

    /// The deciding authority issues the signed written notice of an emergency measure.
    pub async fn issue_written_notice(
        &self,
        actor: &Actor,
        notice_id: Uuid,
        idem: Option<Idem>,
    ) -> Result<NoticeStatusResponse> {
        self.once(idem, || async {
            let now = self.now();
            let m = self.measure_of_notice(actor, notice_id).await?;
            let out = m
                .value
                .apply(actor, MeasureCommand::IssueWrittenNotice, now)?;
            let case = self
                .store
                .case(m.value.case_id)
                .await?
                .ok_or_else(|| ServiceError::NotFound(format!("case {}", m.value.case_id)))?;
            let reports = self.store.reports_of_case(case.value.id).await?;
            let reports: Vec<&Report> = reports.iter().map(|r| &r.value).collect();
            let facts = ThreatFacts::for_measure(&out.next, &case.value, &reports);
            let (notice, recipient_org_id) = self
                .sign_notice(
                    &out.next,
                    out.next.notice_id,
                    NoticeType::Measure,
                    None,
                    Some(&facts),
                    now,
                )
                .await?;
            let response = NoticeStatusResponse {
                id: out.next.notice_id,
                measure_id: out.next.id,
                status: out.next.status.as_str().to_owned(),
                overdue: out.next.overdue,
            };
            let changes = Changeset::new(
                actor.clone(),
                now,
                vec![
                    Write::Measure {
                        measure: out.next,
                        expected: Some(m.version),
                    },
                    Write::Notice {
                        notice,
                        recipient_org_id,
                    },
                ],
                out.events,
            );
            Ok((response, changes))
        })
        .await
    }

    pub async fn notice_step(
        &self,
        actor: &Actor,
        notice_id: Uuid,
        cmd: MeasureCommand,
        idem: Option<Idem>,
    ) -> Result<NoticeStatusResponse> {
        self.once(idem, || async {
            let now = self.now();
            let m = self.measure_of_notice(actor, notice_id).await?;
            let out = m.value.apply(actor, cmd, now)?;
            let response = NoticeStatusResponse {
                id: notice_id,
                measure_id: m.value.id,
                status: out.next.status.as_str().to_owned(),
                overdue: out.next.overdue,
            };
            let mut events = out.events;
            let mut writes = vec![];
            // Art. 12: a verification that finds the measure not carried out is a failure.
            if events
                .iter()
                .any(|e| e.name == "measure.verification_failed")
            {
                let (records, raised) = self
                    .raise_records(&out.next, EnforcementReason::VerificationFailed, now)
                    .await?;
                writes.extend(records);
                events.extend(raised);
            }
            writes.insert(
                0,
                Write::Measure {
                    measure: out.next,
                    expected: Some(m.version),
                },
            );
            let changes = Changeset::new(actor.clone(), now, writes, events);
            Ok((response, changes))
        })
        .await
    }

    /// What the caller may do now with the measure of a notice (the forms a page offers).
    pub async fn notice_offers(&self, actor: &Actor, id: Uuid) -> Result<NoticeOffers> {
        let m = self.measure_of_notice(actor, id).await?;
        let m = &m.value;
        Ok(NoticeOffers {
            acknowledge: can_acknowledge(actor, m),
            feedback: can_file_feedback(actor, m),
            verify: can_verify(actor, m),
            phone: can_record_phone_call(actor, m),
            written: can_issue_written_notice(actor, m),
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
    /// The signed written notice is owed (emergency path).
    pub written: bool,
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
