//! The resource registry (Art. 5, 9): claims declared by organisations and decided by the
//! authorities, attribution of a value to its holder, and the routing of measures that name
//! no recipient.

use crate::error::ServiceError;
use crate::filters::{Lookup, parse_value};
use crate::proto::*;
use crate::service::{Idem, Result, Service};
use uuid::Uuid;
use warden_core::indicator::{Indicator, IndicatorType};
use warden_core::lifecycle::{MeasureKind, may_lookup};
use warden_core::org::{Actor, OrgRef};
use warden_core::policy::RouteTo;
use warden_core::resources::{ClaimStatus, ResourceClaim, ResourceKind};
use warden_match::attribution::{Attribution, Attributor};
use warden_store::{Changeset, Write};

impl Service {
    /// The province a report concerns when it names none: the one where every indicator's
    /// resource is used (from the registry), if they agree; else none (MIIT's).
    pub fn infer_province(&self, indicators: &[Indicator]) -> Option<warden_core::org::Province> {
        let a = self.registry.get();
        let mut found: Option<String> = None;
        for i in indicators {
            let p = a.attribute(i).holder.and_then(|h| h.province)?;
            match &found {
                Some(f) if *f != p => return None,
                _ => found = Some(p),
            }
        }
        found?.parse().ok()
    }

    pub async fn resources(&self, actor: &Actor) -> Result<ResourceList, ServiceError> {
        may_lookup(actor)?;
        Ok(ResourceList {
            items: self
                .store
                .resource_claims()
                .await?
                .into_iter()
                .map(|c| ResourceView {
                    claim: c.value,
                    version: c.version,
                })
                .collect(),
        })
    }

    pub async fn declare_resource(
        &self,
        actor: &Actor,
        req: ResourceRequest,
        idem: Option<Idem>,
    ) -> Result<ResourceView, ServiceError> {
        let now = self.now();
        // Normalise first so that overlaps compare like with like.
        let (value, last) = warden_core::resources::normalize_claim(
            req.kind,
            &req.value,
            req.range_last.as_deref(),
        )
        .map_err(|m| {
            ServiceError::Refused(warden_core::lifecycle::Refusal {
                code: warden_core::lifecycle::RefusalCode::Invalid,
                message: m,
            })
        })?;
        let org_id = actor.org().map(|o| o.id);
        let others: Vec<Uuid> = self
            .store
            .resource_claims()
            .await?
            .into_iter()
            .filter(|c| c.value.status != ClaimStatus::Rejected && Some(c.value.org.id) != org_id)
            .filter(|c| c.value.overlaps(req.kind, &value, last.as_deref()))
            .map(|c| c.value.id)
            .collect();
        let (claim, ev) = ResourceClaim::declare(
            actor,
            Uuid::now_v7(),
            req.kind,
            &value,
            last.as_deref(),
            req.asn,
            req.province
                .as_deref()
                .map(str::parse::<warden_core::org::Province>)
                .transpose()?,
            others,
            now,
        )?;
        self.once(idem, || async {
            let view = ResourceView {
                claim: claim.clone(),
                version: 1,
            };
            let changes = Changeset::new(
                actor.clone(),
                now,
                vec![Write::ResourceClaim {
                    claim,
                    expected: None,
                }],
                vec![ev],
            );
            Ok((view, changes))
        })
        .await
    }

    pub async fn decide_resource(
        &self,
        actor: &Actor,
        id: Uuid,
        req: ClaimDecisionRequest,
        idem: Option<Idem>,
    ) -> Result<ResourceView, ServiceError> {
        let Some(cur) = self.store.resource_claim(id).await? else {
            return Err(ServiceError::NotFound(format!("resource claim {id}")));
        };
        let now = self.now();
        let (next, ev) = cur.value.decide(
            actor,
            req.outcome == ClaimOutcome::Approved,
            &req.reasons,
            now,
        )?;
        self.once(idem, || async {
            let view = ResourceView {
                claim: next.clone(),
                version: cur.version + 1,
            };
            let changes = Changeset::new(
                actor.clone(),
                now,
                vec![Write::ResourceClaim {
                    claim: next,
                    expected: Some(cur.version),
                }],
                vec![ev],
            );
            Ok((view, changes))
        })
        .await
    }

    fn attribute_indicator(a: &Attributor, value: &str, ind: &Indicator) -> AttributionResult {
        let attribution = a.attribute(ind);
        // Where the resource is used, as its claim says; an organisation's seat says nothing
        // about where a prefix or number is used.
        let province = attribution.holder.as_ref().and_then(|h| h.province.clone());
        AttributionResult {
            value: value.to_owned(),
            kind: Some(ind.kind().as_str().into()),
            normalized: Some(ind.value().to_owned()),
            attribution,
            province,
            error: None,
        }
    }

    fn attribute_one(a: &Attributor, value: &str, kind: Option<&str>) -> AttributionResult {
        match parse_value(kind, value) {
            Ok(ind) => Self::attribute_indicator(a, value, &ind),
            Err(e) => AttributionResult {
                value: value.to_owned(),
                kind: None,
                normalized: None,
                attribution: Attribution::default(),
                province: None,
                error: Some(LookupItemError {
                    kind: "invalid-indicator".into(),
                    detail: e,
                }),
            },
        }
    }

    pub async fn attribution(&self, actor: &Actor, q: &Lookup) -> Result<AttributionResult> {
        may_lookup(actor)?;
        Ok(Self::attribute_indicator(
            &self.registry.get(),
            &q.sent,
            &q.indicator,
        ))
    }

    pub async fn attribution_batch(
        &self,
        actor: &Actor,
        req: &LookupBatchRequest,
    ) -> Result<AttributionBatchResponse, ServiceError> {
        may_lookup(actor)?;
        if req.values.len() > LOOKUP_BATCH_MAX {
            return Err(ServiceError::BatchTooLarge(format!(
                "{} values: at most {LOOKUP_BATCH_MAX} per request; split the batch",
                req.values.len()
            )));
        }
        let a = self.registry.get();
        let results = req
            .values
            .iter()
            .map(|v| match v {
                LookupValue::Text(s) => Self::attribute_one(&a, s, None),
                LookupValue::Typed(i) => Self::attribute_one(&a, &i.value, Some(&i.kind)),
            })
            .collect();
        Ok(AttributionBatchResponse { results })
    }

    /// Every operator that declared it filters URLs in `province`.
    async fn url_filtering(
        &self,
        province: Option<warden_core::org::Province>,
    ) -> Result<Vec<OrgRef>, ServiceError> {
        let Some(p) = province else {
            return Ok(vec![]);
        };
        let registry = self.registry.get();
        let mut slugs = registry.holders_of(ResourceKind::UrlFiltering, &p.to_string());
        slugs.sort_unstable();
        slugs.dedup();
        let mut out = Vec::with_capacity(slugs.len());
        for slug in slugs {
            if let Some(o) = self.store.organisation_by_slug(slug).await?
                && o.value.is_active()
            {
                out.push(o.value.org_ref());
            }
        }
        Ok(out)
    }

    /// The organisation a measure goes to when the decision names none: by the kind of
    /// measure and of target, from the registry. Says what is missing when it cannot.
    pub async fn route(
        &self,
        field: &str,
        kind: MeasureKind,
        target: Option<&Indicator>,
        province: Option<warden_core::org::Province>,
    ) -> Result<Vec<OrgRef>, ServiceError> {
        let Some(t) = target else {
            return Err(ServiceError::Unroutable(format!(
                "{field}: a measure without a target names its recipient_org"
            )));
        };
        let order = self.policy.for_province(province).route(kind, t.kind());
        if order.is_empty() {
            return Err(ServiceError::Unroutable(format!(
                "{field}: policy routes no {} measure on a {} by itself: name recipient_org",
                kind.as_str(),
                t.kind()
            )));
        }
        let a = self.registry.get().attribute(t);
        let mut pick = None;
        for r in order {
            let found = match r {
                RouteTo::UrlFiltering => {
                    let orgs = self.url_filtering(province).await?;
                    if !orgs.is_empty() {
                        return Ok(orgs);
                    }
                    None
                }
                RouteTo::Holder => a.holder.clone().map(|h| (h, "the resource's holder")),
                RouteTo::Registrar => a.registrar.clone().map(|h| (h, "the registrar of record")),
                RouteTo::Registry => a.registry.clone().map(|h| (h, "the registry")),
                RouteTo::Carrier => a.carrier.clone().map(|h| (h, "the carrier of the number")),
                RouteTo::MailProvider => a.mail_provider.clone().map(|h| (h, "the mail provider")),
                RouteTo::Operator => a.operator.clone().map(|h| (h, "the account's operator")),
            };
            if found.is_some() {
                pick = found;
                break;
            }
        }
        let Some((answer, why)) = pick else {
            // Art. 9: an organisation's answer to a look-up request names the holder.
            if let Some(slug) = self
                .store
                .inquiry_holder(t.kind().as_str(), t.value())
                .await?
                && let Some(o) = self.store.organisation_by_slug(&slug).await?
                && o.value.is_active()
            {
                return Ok(vec![o.value.org_ref()]);
            }
            let missing = match t.kind() {
                IndicatorType::Url if order.contains(&RouteTo::UrlFiltering) => match province {
                    Some(p) => format!(
                        "no operator has declared that it filters URLs in province {p}: name recipient_org"
                    ),
                    None => "the case names no province, so the operators that filter its URLs are unknown: name recipient_org".to_owned(),
                },
                IndicatorType::Ipv4 | IndicatorType::Ipv6 | IndicatorType::Cidr => format!(
                    "no approved prefix claim covers {}: name recipient_org, or have its holder declare the prefix",
                    t.value()
                ),
                IndicatorType::Domain => format!(
                    "no registrar of record or registry is known for {}: name recipient_org",
                    t.value()
                ),
                IndicatorType::Phone => format!(
                    "{} is in no carrier's segment or claimed range: name recipient_org",
                    t.value()
                ),
                IndicatorType::Email => format!(
                    "no mail provider has claimed the domain of {}: name recipient_org",
                    t.value()
                ),
                _ => format!("nothing in the registry holds {t}: name recipient_org"),
            };
            return Err(ServiceError::Unroutable(format!("{field}: {missing}")));
        };
        let org = self
            .store
            .organisation_by_slug(&answer.org)
            .await?
            .ok_or_else(|| {
                ServiceError::Unroutable(format!(
                    "{field}: {why} of {} is {}, which is not a member organisation: name recipient_org",
                    t.value(),
                    answer.org
                ))
            })?;
        if !org.value.is_active() {
            return Err(ServiceError::Unroutable(format!(
                "{field}: {why} of {} is {}, which is suspended: name recipient_org",
                t.value(),
                answer.org
            )));
        }
        Ok(vec![org.value.org_ref()])
    }
}
