//! Appeals (Art. 10): filed within 10 working days of a block's decision, answered by the
//! deciding authority within 30; a revocation or modification goes out as a signed notice.

use crate::error::ServiceError;
use crate::proto::*;
use crate::reports::parse_indicator;
use crate::service::{Idem, Result, Service};
use uuid::Uuid;
use warden_core::indicator::{Indicator, IndicatorType};
use warden_core::lifecycle::*;
use warden_core::notice::NoticeType;
use warden_core::org::Actor;
use warden_store::{Changeset, Versioned, Write};

impl Service {
    pub async fn file_appeal(
        &self,
        actor: &Actor,
        measure: Option<Uuid>,
        reference: Option<&str>,
        req: AppealRequest,
        idem: Option<Idem>,
    ) -> Result<AppealCreated> {
        let m = match (measure, reference) {
            (Some(id), _) => self.store.measure(id).await?,
            (None, Some(r)) => self.store.measure_by_reference(r.trim()).await?,
            (None, None) => None,
        };
        // By id, a measure is found by those who may see it, and, as a block in force (what
        // a look-up shows anyone, with its reference), by a member filing for the affected
        // party; nobody else learns its state or reference from the answer.
        let m = m.filter(|m| {
            reference.is_some() || m.value.block_active() || can_view_measure(actor, &m.value)
        });
        let m = m.ok_or_else(|| {
            ServiceError::NotFound(match (measure, reference) {
                (Some(id), _) => format!("measure {id}"),
                (_, r) => format!("a measure with reference {:?}", r.unwrap_or_default()),
            })
        })?;
        self.once(idem, || async {
            let now = self.now();
            let out = Appeal::file(
                actor,
                Uuid::now_v7(),
                &m.value,
                req.appellant,
                req.grounds,
                self.ctx(now, m.value.province),
            )?;
            let a = &out.next;
            let response = AppealCreated {
                id: a.id,
                measure_id: a.measure_id,
                reference: warden_core::notice::reference_number(&m.value),
                status: a.status.as_str().to_owned(),
                reply_due: a.reply_due,
                reply_due_provisional: a.reply_due_provisional,
            };
            let changes = Changeset::new(
                actor.clone(),
                now,
                vec![Write::Appeal {
                    appeal: out.next,
                    expected: None,
                }],
                out.events,
            );
            Ok((response, changes))
        })
        .await
    }

    pub(crate) async fn appeal_and_measure(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<(Versioned<Appeal>, Versioned<Measure>), ServiceError> {
        let not_found = || ServiceError::NotFound(format!("appeal {id}"));
        let a = self.store.appeal(id).await?.ok_or_else(not_found)?;
        let m = self
            .store
            .measure(a.value.measure_id)
            .await?
            .ok_or_else(not_found)?;
        let authority = actor.org().is_some_and(|o| o.org_type.is_authority());
        if !(can_view_appeal(actor, &a.value, &m.value) || authority) {
            return Err(not_found());
        }
        Ok((a, m))
    }

    /// The reference number and the notice of the measure an appeal concerns (to those who
    /// may see the appeal).
    pub async fn appeal_notice(&self, actor: &Actor, id: Uuid) -> Result<(String, Uuid)> {
        let (a, m) = self.appeal_and_measure(actor, id).await?;
        if !can_view_appeal(actor, &a.value, &m.value) {
            return Err(ServiceError::NotFound(format!("appeal {id}")));
        }
        Ok((
            warden_core::notice::reference_number(&m.value),
            m.value.notice_id,
        ))
    }

    pub async fn appeal(&self, actor: &Actor, id: Uuid) -> Result<AppealView> {
        let (a, m) = self.appeal_and_measure(actor, id).await?;
        if !can_view_appeal(actor, &a.value, &m.value) {
            return Err(ServiceError::NotFound(format!("appeal {id}")));
        }
        Ok(AppealView {
            appeal: a.value,
            version: a.version,
        })
    }

    /// The appeals the caller's authority has yet to answer, the reply due soonest first.
    pub async fn open_appeals(&self, actor: &Actor) -> Result<Vec<AppealView>> {
        let Some(org) = actor.org() else {
            return Ok(vec![]);
        };
        Ok(self
            .store
            .open_appeals(org.id, 200)
            .await?
            .into_iter()
            .map(|a| AppealView {
                appeal: a.value,
                version: a.version,
            })
            .collect())
    }

    /// The appeals against the measure of a notice that the caller may see.
    pub async fn notice_appeals(&self, actor: &Actor, notice_id: Uuid) -> Result<Vec<AppealView>> {
        let (_, m) = self.notice_and_measure(actor, notice_id).await?;
        Ok(self
            .store
            .appeals_of_measure(m.value.id)
            .await?
            .into_iter()
            .filter(|a| can_view_appeal(actor, &a.value, &m.value))
            .map(|a| AppealView {
                appeal: a.value,
                version: a.version,
            })
            .collect())
    }

    pub async fn decide_appeal(
        &self,
        actor: &Actor,
        id: Uuid,
        req: AppealDecisionRequest,
        idem: Option<Idem>,
    ) -> Result<AppealDecisionResponse> {
        let modification = match req.modification {
            None => None,
            Some(m) => Some(Modification {
                target: m
                    .target
                    .as_ref()
                    .map(|t| parse_indicator("modification.target".into(), t))
                    .transpose()?,
                expires_at: m.expires_at,
                scope: m.scope,
                range_last: m
                    .range_last
                    .as_deref()
                    .map(|r| {
                        Indicator::parse(IndicatorType::Phone, r).map_err(|source| {
                            ServiceError::Indicator {
                                field: "modification.range_last".into(),
                                source,
                            }
                        })
                    })
                    .transpose()?,
                allowlist_override: m.allowlist_override,
            }),
        };
        self.once(idem, || async {
            let now = self.now();
            let (a, m) = self.appeal_and_measure(actor, id).await?;
            // The narrowed target passes the same false-positive guards as a decision.
            let allowlist_hits = modification
                .as_ref()
                .and_then(|md| md.reach_for(&m.value))
                .map(|(target, scope, _)| self.blocklist.allowlist().check(&target, scope))
                .unwrap_or_default();
            let cmd = AppealCommand::Decide {
                outcome: req.outcome,
                reasons: req.reasons.clone(),
                modification: modification.clone(),
                allowlist_hits,
            };
            let out = a.value.apply(actor, &m.value, cmd, now)?;
            let mut writes = vec![Write::Appeal {
                appeal: out.next.clone(),
                expected: Some(a.version),
            }];
            let mut notice_id = None;
            let mut block_active = m.value.block_active();
            if let Some(changed) = &out.measure {
                block_active = changed.block_active();
                let kind = if out.next.status == AppealStatus::Revoked {
                    NoticeType::Revocation
                } else {
                    NoticeType::Modification
                };
                let nid = Uuid::now_v7();
                let (notice, recipient_org_id) = self
                    .sign_notice(changed, nid, kind, Some(req.reasons.clone()), None, now)
                    .await?;
                notice_id = Some(nid);
                writes.push(Write::Measure {
                    measure: changed.clone(),
                    expected: Some(m.version),
                });
                writes.push(Write::Notice {
                    notice,
                    recipient_org_id,
                });
            }
            let response = AppealDecisionResponse {
                id: out.next.id,
                status: out.next.status.as_str().to_owned(),
                measure_id: m.value.id,
                block_active,
                notice_id,
                late: out.next.decision.as_ref().is_some_and(|d| d.late),
            };
            let changes = Changeset::new(actor.clone(), now, writes, out.events);
            Ok((response, changes))
        })
        .await
    }
}
