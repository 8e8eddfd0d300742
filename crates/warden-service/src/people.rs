//! People and API clients, administered by each organisation's admin (and by the authority
//! that registered it): invitations by one-time link, roles, disabling, password resets,
//! TOTP second factors, and tokens with their last use. Every change is committed with its
//! audit record; link secrets and TOTP secrets never reach the trail or the log.

use crate::admin::{self, NewUser};
use crate::authentication::random_token;
use crate::credentials::{AuthError, hash_password, hash_token, totp, verify_password};
use crate::error::ServiceError;
use crate::proto::{
    LinkIssued, PeopleList, PersonPatch, PersonRequest, PersonView, TokenCreated, TokenList,
    TokenRequest, TokenView,
};
use crate::service::{Idem, Result, Service};
use serde_json::json;
use std::collections::{BTreeSet, HashMap};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;
use warden_core::lifecycle::{Refusal, RefusalCode, SubjectKind, event};
use warden_core::membership::may_manage_people;
use warden_core::org::{Actor, ApiToken, Organisation, Principal, PrincipalKind, Role};
use warden_store::{Changeset, LinkRecord, SecondFactorRecord, StoreError, Versioned, Write};

/// How long an invitation and a reset link work.
pub const INVITATION_DAYS: i64 = 7;
pub const RESET_HOURS: i64 = 24;
/// The console path of a one-time link.
pub const WELCOME_PATH: &str = "/console/welcome/";

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn invalid(message: impl Into<String>) -> ServiceError {
    ServiceError::Refused(Refusal {
        code: RefusalCode::Invalid,
        message: message.into(),
    })
}

/// What a one-time link leads to, for the page that uses it.
#[derive(Debug, Clone)]
pub struct LinkState {
    pub name: String,
    pub org: String,
    pub purpose: String,
    /// The TOTP secret to enrol (base32) and its `otpauth://` URI.
    pub totp_secret: String,
    pub totp_uri: String,
    /// Whether the organisation requires the second factor.
    pub second_factor_required: bool,
}

/// A TOTP enrolment begun: what the authenticator app needs.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub secret: String,
    pub uri: String,
}

fn purpose_of(principal_id: Uuid) -> String {
    format!("totp:{principal_id}")
}

impl Service {
    async fn managed_org(&self, actor: &Actor, slug: &str) -> Result<Organisation> {
        let org = self
            .store
            .organisation_by_slug(slug)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("organisation {slug:?}")))?
            .value;
        may_manage_people(actor, &org)?;
        Ok(org)
    }

    /// The person named `name` and their organisation, if the actor administers them.
    async fn managed_person(
        &self,
        actor: &Actor,
        name: &str,
    ) -> Result<(Versioned<Principal>, Organisation)> {
        let p = self
            .store
            .principal_by_name(name)
            .await?
            .filter(|p| p.value.kind == PrincipalKind::User)
            .ok_or_else(|| ServiceError::NotFound(format!("person {name:?}")))?;
        let org = self
            .store
            .organisation(p.value.org_id)
            .await?
            .ok_or_else(|| ServiceError::Internal(format!("{name} has no organisation")))?
            .value;
        may_manage_people(actor, &org)?;
        Ok((p, org))
    }

    async fn person_view(&self, p: Versioned<Principal>, org: &str) -> Result<PersonView> {
        let id = p.value.id;
        let has_password = self.store.password_hash(id).await?.is_some();
        let second_factor = self
            .store
            .second_factor(id)
            .await?
            .is_some_and(|f| f.confirmed.is_some());
        let now = self.now();
        let locked_until = self
            .store
            .sign_in_state(id)
            .await?
            .and_then(|(_, until)| until)
            .filter(|u| *u > now)
            .map(rfc3339);
        Ok(PersonView {
            id,
            name: p.value.name,
            display_name: p.value.display_name,
            org: org.to_owned(),
            roles: p.value.roles.into_iter().collect(),
            disabled: p.value.disabled,
            has_password,
            second_factor,
            locked_until,
            version: p.version,
        })
    }

    /// The people of an organisation.
    pub async fn people(&self, actor: &Actor, slug: &str) -> Result<PeopleList> {
        let org = self.managed_org(actor, slug).await?;
        let mut items = vec![];
        for p in self.store.principals_of_org(org.id).await? {
            if p.value.kind == PrincipalKind::User {
                items.push(self.person_view(p, &org.slug).await?);
            }
        }
        items.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(PeopleList { items })
    }

    /// A one-time link for `p`, with a fresh TOTP secret to enrol: the writes and the secret.
    fn link_writes(
        &self,
        p: &Principal,
        purpose: &str,
        now: OffsetDateTime,
        valid: Duration,
    ) -> Result<(String, OffsetDateTime, Vec<Write>)> {
        let secret = random_token()?;
        let expires = now + valid;
        let mut seed = [0u8; 20];
        getrandom::fill(&mut seed)
            .map_err(|e| ServiceError::Internal(format!("no randomness: {e}")))?;
        let sealed = self.keys.seal_secret(&seed, &purpose_of(p.id))?;
        let writes = vec![
            Write::Link {
                link: LinkRecord {
                    id_hash: hash_token(&secret),
                    principal_id: p.id,
                    purpose: purpose.to_owned(),
                    created: now,
                    expires,
                    used: None,
                },
            },
            // The factor to enrol with the link; confirmed only by a first good code.
            Write::SecondFactor {
                factor: SecondFactorRecord {
                    principal_id: p.id,
                    sealed_secret: sealed,
                    confirmed: None,
                    last_step: 0,
                },
            },
        ];
        Ok((secret, expires, writes))
    }

    /// Invites a person into an organisation: the account (no password yet) and a one-time
    /// link, valid for [`INVITATION_DAYS`], to set it. Not replayed by idempotency key: the
    /// link's secret is never stored; a repeated invitation answers 409.
    pub async fn invite_person(
        &self,
        actor: &Actor,
        slug: &str,
        req: PersonRequest,
    ) -> Result<LinkIssued> {
        let org = self.managed_org(actor, slug).await?;
        let roles: BTreeSet<Role> = req.roles.iter().copied().collect();
        // The password rule is checked when the person sets one.
        admin::check_user(&NewUser {
            org: org.slug.clone(),
            name: req.name.clone(),
            display_name: None,
            roles: roles.clone(),
            password: "x".repeat(12),
        })
        .map_err(|e| invalid(e.to_string()))?;
        if self.store.principal_by_name(&req.name).await?.is_some() {
            return Err(duplicate_person(&req.name));
        }
        let now = self.now();
        let principal = Principal {
            id: Uuid::now_v7(),
            kind: PrincipalKind::User,
            org_id: org.id,
            display_name: req
                .display_name
                .clone()
                .filter(|d| !d.trim().is_empty())
                .unwrap_or_else(|| req.name.clone()),
            name: req.name.clone(),
            roles: roles.clone(),
            disabled: false,
        };
        let (secret, expires, mut writes) = self.link_writes(
            &principal,
            "invitation",
            now,
            Duration::days(INVITATION_DAYS),
        )?;
        writes.insert(
            0,
            Write::Principal {
                principal: principal.clone(),
                expected: None,
            },
        );
        let events = vec![
            event(
                "principal.created",
                SubjectKind::Principal,
                principal.id,
                json!({"kind": "user", "name": principal.name, "org": org.slug, "roles": roles}),
            ),
            event(
                "principal.invited",
                SubjectKind::Principal,
                principal.id,
                json!({"expires_at": rfc3339(expires)}),
            ),
        ];
        self.store
            .commit(Changeset::new(actor.clone(), now, writes, events))
            .await
            .map_err(|e| match e {
                StoreError::Duplicate { .. } => duplicate_person(&req.name),
                other => other.into(),
            })?;
        let person = self
            .person_view(
                Versioned {
                    value: principal,
                    version: 1,
                },
                &org.slug,
            )
            .await?;
        Ok(LinkIssued {
            person,
            purpose: "invitation".into(),
            link: format!("{WELCOME_PATH}{secret}"),
            expires_at: rfc3339(expires),
        })
    }

    /// A new one-time link for a person to set a new password and second factor (valid
    /// [`RESET_HOURS`]); earlier unused links of theirs stop working.
    pub async fn reset_person(&self, actor: &Actor, name: &str) -> Result<LinkIssued> {
        let (p, org) = self.managed_person(actor, name).await?;
        let now = self.now();
        let (secret, expires, writes) =
            self.link_writes(&p.value, "reset", now, Duration::hours(RESET_HOURS))?;
        let events = vec![event(
            "principal.reset_issued",
            SubjectKind::Principal,
            p.value.id,
            json!({"name": p.value.name, "expires_at": rfc3339(expires)}),
        )];
        self.store
            .commit(Changeset::new(actor.clone(), now, writes, events))
            .await?;
        let person = self.person_view(p, &org.slug).await?;
        Ok(LinkIssued {
            person,
            purpose: "reset".into(),
            link: format!("{WELCOME_PATH}{secret}"),
            expires_at: rfc3339(expires),
        })
    }

    /// Changes a person's display name, roles or whether they are disabled. An admin does not
    /// take their own admin role away or disable themselves (someone must remain).
    pub async fn amend_person(
        &self,
        actor: &Actor,
        name: &str,
        patch: PersonPatch,
        idem: Option<Idem>,
    ) -> Result<PersonView> {
        let (p, org) = self.managed_person(actor, name).await?;
        let own = actor.principal_id() == Some(p.value.id);
        let (next, ended) = self
            .once(idem, || async {
                let mut next = p.value.clone();
                let mut changed = serde_json::Map::new();
                if let Some(d) = patch.display_name.clone() {
                    let d = d.trim().to_owned();
                    if d.is_empty() {
                        return Err(invalid("display_name: empty"));
                    }
                    if d != next.display_name {
                        changed.insert("display_name".into(), json!(d));
                        next.display_name = d;
                    }
                }
                if let Some(r) = patch.roles.clone() {
                    let r: BTreeSet<Role> = r.into_iter().collect();
                    if r.is_empty() {
                        return Err(invalid("roles: a person needs at least one role"));
                    }
                    if own && !r.contains(&Role::Admin) {
                        return Err(invalid(
                            "roles: you cannot take away your own admin role; another admin can",
                        ));
                    }
                    if r != next.roles {
                        changed.insert("roles".into(), json!(r));
                        next.roles = r;
                    }
                }
                if let Some(d) = patch.disabled {
                    if own && d {
                        return Err(invalid("disabled: you cannot disable yourself"));
                    }
                    if d != next.disabled {
                        changed.insert("disabled".into(), json!(d));
                        next.disabled = d;
                    }
                }
                let now = self.now();
                let changes = Changeset::new(
                    actor.clone(),
                    now,
                    vec![Write::Principal {
                        principal: next.clone(),
                        expected: Some(p.version),
                    }],
                    vec![event(
                        "principal.updated",
                        SubjectKind::Principal,
                        next.id,
                        json!({"name": next.name, "changed": changed}),
                    )],
                );
                let ended = next.disabled && !p.value.disabled;
                Ok(((next, ended), changes))
            })
            .await?;
        if ended {
            self.store.end_sessions_of(next.id, self.now()).await?;
        }
        let v = self
            .store
            .principal(next.id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("person {name:?}")))?;
        self.person_view(v, &org.slug).await
    }

    /// What a one-time link leads to, if it still works.
    pub async fn link_state(&self, secret: &str) -> Result<LinkState> {
        let (link, p, org) = self.usable_link(secret).await?;
        let seed = self.factor_seed(p.id).await?;
        Ok(LinkState {
            totp_secret: totp::base32(&seed),
            totp_uri: totp::uri(&seed, &p.name),
            name: p.name,
            org: org.slug,
            purpose: link.purpose,
            second_factor_required: org.require_second_factor,
        })
    }

    async fn usable_link(&self, secret: &str) -> Result<(LinkRecord, Principal, Organisation)> {
        let gone = || ServiceError::NotFound("this link (used, expired or never issued)".into());
        let link = self
            .store
            .link(&hash_token(secret))
            .await?
            .filter(|l| l.used.is_none() && l.expires > self.now())
            .ok_or_else(gone)?;
        let p = self
            .store
            .principal(link.principal_id)
            .await?
            .ok_or_else(gone)?
            .value;
        let org = self
            .store
            .organisation(p.org_id)
            .await?
            .ok_or_else(gone)?
            .value;
        Ok((link, p, org))
    }

    async fn factor_seed(&self, principal_id: Uuid) -> Result<Vec<u8>> {
        let f = self
            .store
            .second_factor(principal_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound("a second factor to enrol".into()))?;
        Ok(self
            .keys
            .unseal_secret(&f.sealed_secret, &purpose_of(principal_id))?)
    }

    /// Uses a one-time link: sets the password and, with a good code, enrols the second
    /// factor (required when the organisation requires it). Ends the person's sessions and
    /// forgets failed sign-ins.
    pub async fn accept_link(&self, secret: &str, password: &str, code: &str) -> Result<()> {
        let (link, p, org) = self.usable_link(secret).await?;
        admin::check_password(password).map_err(|e| invalid(format!("password: {e}")))?;
        let now = self.now();
        let mut writes = vec![
            Write::UseLink {
                id_hash: link.id_hash.clone(),
            },
            Write::Password {
                principal_id: p.id,
                hash: hash_password(password)?,
            },
        ];
        let mut events = vec![event(
            "principal.password_set",
            SubjectKind::Principal,
            p.id,
            json!({"name": p.name, "via": link.purpose}),
        )];
        let code = code.trim();
        if !code.is_empty() || org.require_second_factor {
            let seed = self.factor_seed(p.id).await?;
            let Some(step) = totp::matching_step(&seed, now.unix_timestamp(), code) else {
                return Err(invalid(
                    "code: not the current code of the authenticator app (six digits)",
                ));
            };
            let f = self.store.second_factor(p.id).await?;
            writes.push(Write::SecondFactor {
                factor: SecondFactorRecord {
                    principal_id: p.id,
                    sealed_secret: f.map(|f| f.sealed_secret).unwrap_or_default(),
                    confirmed: Some(now),
                    last_step: step,
                },
            });
            events.push(event(
                "principal.second_factor_enrolled",
                SubjectKind::Principal,
                p.id,
                json!({"name": p.name}),
            ));
        }
        self.store
            .commit(Changeset::new(Actor::Public, now, writes, events))
            .await
            .map_err(|e| match e {
                StoreError::Conflict { .. } => {
                    ServiceError::NotFound("this link (used, expired or never issued)".into())
                }
                other => other.into(),
            })?;
        self.store.end_sessions_of(p.id, now).await?;
        self.store.sign_in_cleared(p.id).await?;
        Ok(())
    }

    /// A person changes their own password.
    pub async fn change_password(&self, actor: &Actor, current: &str, new: &str) -> Result<()> {
        let id = actor
            .principal_id()
            .ok_or_else(|| invalid("only a person has a password"))?;
        let stored = self
            .store
            .password_hash(id)
            .await?
            .ok_or(ServiceError::Auth(AuthError::Invalid))?;
        if !verify_password(current, &stored) {
            return Err(invalid("current: not your current password"));
        }
        admin::check_password(new).map_err(|e| invalid(format!("new: {e}")))?;
        let now = self.now();
        self.store
            .commit(Changeset::new(
                actor.clone(),
                now,
                vec![Write::Password {
                    principal_id: id,
                    hash: hash_password(new)?,
                }],
                vec![event(
                    "principal.password_changed",
                    SubjectKind::Principal,
                    id,
                    json!({}),
                )],
            ))
            .await?;
        Ok(())
    }

    /// Starts (or restarts) a person's TOTP enrolment: a new secret, not asked at sign-in
    /// until confirmed with a code.
    pub async fn begin_second_factor(&self, actor: &Actor) -> Result<Enrolment> {
        let id = actor
            .principal_id()
            .ok_or_else(|| invalid("only a person has a second factor"))?;
        let name = match actor {
            Actor::Principal { name, .. } => name.clone(),
            _ => String::new(),
        };
        if let Some(f) = self.store.second_factor(id).await?
            && f.confirmed.is_none()
        {
            let seed = self.keys.unseal_secret(&f.sealed_secret, &purpose_of(id))?;
            return Ok(Enrolment {
                secret: totp::base32(&seed),
                uri: totp::uri(&seed, &name),
            });
        }
        let mut seed = [0u8; 20];
        getrandom::fill(&mut seed)
            .map_err(|e| ServiceError::Internal(format!("no randomness: {e}")))?;
        let sealed = self.keys.seal_secret(&seed, &purpose_of(id))?;
        let now = self.now();
        self.store
            .commit(Changeset::new(
                actor.clone(),
                now,
                vec![Write::SecondFactor {
                    factor: SecondFactorRecord {
                        principal_id: id,
                        sealed_secret: sealed,
                        confirmed: None,
                        last_step: 0,
                    },
                }],
                vec![event(
                    "principal.second_factor_started",
                    SubjectKind::Principal,
                    id,
                    json!({}),
                )],
            ))
            .await?;
        Ok(Enrolment {
            secret: totp::base32(&seed),
            uri: totp::uri(&seed, &name),
        })
    }

    /// Confirms an enrolment with the app's current code: from now on it is asked at sign-in.
    pub async fn confirm_second_factor(&self, actor: &Actor, code: &str) -> Result<()> {
        let id = actor
            .principal_id()
            .ok_or_else(|| invalid("only a person has a second factor"))?;
        let f = self
            .store
            .second_factor(id)
            .await?
            .ok_or_else(|| invalid("code: start the enrolment first"))?;
        let seed = self.keys.unseal_secret(&f.sealed_secret, &purpose_of(id))?;
        let now = self.now();
        let step = totp::matching_step(&seed, now.unix_timestamp(), code)
            .filter(|s| *s > f.last_step)
            .ok_or_else(|| invalid("code: not the current code of the authenticator app"))?;
        self.store
            .commit(Changeset::new(
                actor.clone(),
                now,
                vec![Write::SecondFactor {
                    factor: SecondFactorRecord {
                        principal_id: id,
                        sealed_secret: f.sealed_secret,
                        confirmed: Some(now),
                        last_step: step,
                    },
                }],
                vec![event(
                    "principal.second_factor_enrolled",
                    SubjectKind::Principal,
                    id,
                    json!({}),
                )],
            ))
            .await?;
        Ok(())
    }

    /// Whether a person signs in with a second factor (confirmed), and whether their
    /// organisation requires one.
    pub async fn second_factor_of(&self, principal_id: Uuid) -> Result<bool> {
        Ok(self
            .store
            .second_factor(principal_id)
            .await?
            .is_some_and(|f| f.confirmed.is_some()))
    }

    /// Checks a sign-in's TOTP code and uses its time step (a code is good once).
    pub(crate) async fn check_code(
        &self,
        principal_id: Uuid,
        code: &str,
    ) -> Result<bool, AuthError> {
        let Some(f) = self
            .store
            .second_factor(principal_id)
            .await?
            .filter(|f| f.confirmed.is_some())
        else {
            return Ok(false);
        };
        let seed = self
            .keys
            .unseal_secret(&f.sealed_secret, &purpose_of(principal_id))
            .map_err(|e| AuthError::Internal(e.to_string()))?;
        let Some(step) = totp::matching_step(&seed, self.now().unix_timestamp(), code) else {
            return Ok(false);
        };
        Ok(self.store.accept_totp_step(principal_id, step).await?)
    }

    /// The API tokens of an organisation, newest first, with their last use.
    pub async fn org_tokens(&self, actor: &Actor, slug: &str) -> Result<TokenList> {
        let org = self.managed_org(actor, slug).await?;
        let uses: HashMap<Uuid, OffsetDateTime> =
            self.store.token_uses(org.id).await?.into_iter().collect();
        let mut roles = HashMap::new();
        for p in self.store.principals_of_org(org.id).await? {
            roles.insert(p.value.id, p.value.roles.into_iter().collect::<Vec<_>>());
        }
        let now = self.now();
        let items = self
            .store
            .tokens_of_org(org.id)
            .await?
            .into_iter()
            .map(|t| {
                let last = uses.get(&t.value.id).copied();
                token_view(&t.value, roles.get(&t.value.principal_id), last, now)
            })
            .collect();
        Ok(TokenList { items })
    }

    /// A new API client of an organisation and its token (the secret shown once).
    pub async fn create_org_token(
        &self,
        actor: &Actor,
        slug: &str,
        req: TokenRequest,
    ) -> Result<TokenCreated> {
        let org = self.managed_org(actor, slug).await?;
        let roles: BTreeSet<Role> = req.roles.into_iter().collect();
        let now = self.now();
        let (created, writes, events) = admin::client_writes(
            &org,
            roles.clone(),
            req.label.filter(|l| !l.trim().is_empty()),
            req.expires_in_days.map(|d| Duration::days(d.into())),
            now,
        )
        .map_err(|e| invalid(e.to_string()))?;
        self.store
            .commit(Changeset::new(actor.clone(), now, writes, events))
            .await?;
        let view = token_view(
            &created.record,
            Some(&roles.into_iter().collect()),
            None,
            now,
        );
        Ok(TokenCreated {
            token: created.token,
            view,
        })
    }

    /// Revokes a token of an organisation the actor administers.
    pub async fn revoke_org_token(&self, actor: &Actor, prefix: &str) -> Result<TokenView> {
        let t = self
            .store
            .token_by_prefix(prefix)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("token {prefix:?}")))?;
        let p = self
            .store
            .principal(t.value.principal_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("token {prefix:?}")))?;
        let org = self
            .store
            .organisation(p.value.org_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("token {prefix:?}")))?
            .value;
        may_manage_people(actor, &org)?;
        let now = self.now();
        let revoked = admin::revoke_token(self.store.as_ref(), actor, now, prefix)
            .await
            .map_err(|e| invalid(e.to_string()))?;
        Ok(token_view(
            &revoked,
            Some(&p.value.roles.into_iter().collect()),
            None,
            now,
        ))
    }
}

fn duplicate_person(name: &str) -> ServiceError {
    ServiceError::Store(StoreError::Duplicate {
        kind: "person named",
        id: name.to_owned(),
    })
}

fn token_view(
    t: &ApiToken,
    roles: Option<&Vec<Role>>,
    last: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> TokenView {
    TokenView {
        prefix: t.prefix.clone(),
        label: t.label.clone(),
        roles: roles.cloned().unwrap_or_default(),
        status: match t.unusable(now) {
            None => "active",
            Some(_) if t.revoked_at.is_some() => "revoked",
            Some(_) => "expired",
        }
        .into(),
        created_at: rfc3339(t.created_at),
        expires_at: t.expires_at.map(rfc3339),
        last_used_at: last.map(rfc3339),
    }
}
