//! Who is asking: an API token's client, a person by name and password, and the console's
//! sessions (the cookie holds a random secret, the database its hash). How credentials
//! travel (headers, cookies, HTTP Basic) is the server's.

use crate::credentials::{AuthError, TOKEN_TAG, hash_token, verify_password};
use crate::error::ServiceError;
use crate::service::{Result, Service};
use uuid::Uuid;
use warden_core::org::Actor;
use warden_store::SessionRecord;

const SUSPENDED: &str = "the organisation is suspended";

/// Failed sign-ins of one account within the window that lock it, and for how long. Per
/// account and shared by every node, beside the per-address limits of the server.
pub const LOCK_AFTER_FAILURES: i64 = 5;
pub const LOCK_WINDOW_MINUTES: i64 = 15;
pub const LOCK_MINUTES: i64 = 15;

fn seconds_until(now: time::OffsetDateTime, until: time::OffsetDateTime) -> u64 {
    u64::try_from((until - now).whole_seconds())
        .unwrap_or(0)
        .max(1)
}

/// How long a console session lasts from sign-in.
pub const SESSION_HOURS: i64 = 8;

/// The person behind a console session.
pub struct Session {
    pub actor: Actor,
    /// The person's sign-in name.
    pub name: String,
    pub record: SessionRecord,
}

/// What a session secret leads to.
pub enum SessionState {
    Active(Box<Session>),
    /// Ended, expired, or its person disabled: sign in again.
    Expired,
    /// No session has this secret.
    Unknown,
}

/// A new session: the secret for the cookie (shown once) and what is stored.
pub struct NewSession {
    pub secret: String,
    pub record: SessionRecord,
}

/// 32 random bytes as hex: session secrets and CSRF tokens.
pub fn random_token() -> Result<String> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| ServiceError::Internal(format!("no randomness: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// What a person presents: a password, or a check of it remembered from earlier (the
/// principal and the stored hash it matched, which a changed password invalidates).
#[derive(Debug, Clone, Copy)]
pub enum Proof<'a> {
    Password(&'a str),
    Remembered { principal: Uuid, phc: &'a str },
}

/// A hash made with the same parameters as every stored one, checked for unknown names so
/// they cost what a known name does.
fn unknown_name_hash() -> String {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        crate::credentials::hash_password("warden: no such person").unwrap_or_default()
    })
    .clone()
}

impl Service {
    /// The client an API token belongs to, if the token is usable now.
    pub async fn token_actor(&self, secret: &str) -> Result<Actor, AuthError> {
        if !secret.starts_with(TOKEN_TAG) {
            return Err(AuthError::Invalid);
        }
        let (token, principal, org) = self
            .store
            .credentials(&hash_token(secret))
            .await?
            .ok_or(AuthError::Invalid)?;
        if let Some(why) = token.unusable(self.clock.now()) {
            return Err(AuthError::Unusable(why));
        }
        if principal.disabled {
            return Err(AuthError::Unusable("the account is disabled"));
        }
        if !org.is_active() {
            return Err(AuthError::Unusable(SUSPENDED));
        }
        self.note_use(token.id).await;
        Ok(Actor::principal(&principal, &org))
    }

    /// Records a token's use for its administrators, at most once a minute per token and
    /// process; a failure to record never refuses the request.
    async fn note_use(&self, token_id: Uuid) {
        let now = self.clock.now();
        let due = {
            let mut seen = self.token_seen.lock().unwrap_or_else(|p| p.into_inner());
            let due = seen
                .get(&token_id)
                .is_none_or(|t| now - *t >= time::Duration::minutes(1));
            if due {
                seen.insert(token_id, now);
            }
            due
        };
        if !due {
            return;
        }
        match self.store.touch_token(token_id, now).await {
            Ok(()) => {}
            // A read-only node keeps no record of use: the primary's nodes do.
            Err(warden_store::StoreError::ReadOnly) => {}
            Err(e) => tracing::warn!(error = %e, "recording a token's use"),
        }
    }

    /// A person signing in to the console: name, password (argon2) and, when they have a
    /// second factor, its current code.
    pub async fn sign_in(
        &self,
        user: &str,
        password: &str,
        code: &str,
    ) -> Result<Actor, AuthError> {
        self.checked_person(user, Proof::Password(password), Some(code))
            .await
            .map(|(a, _)| a)
    }

    /// A person by name, with a password or a check remembered from an earlier one (HTTP
    /// Basic): the actor and the stored hash that matched. A person who signs in with a
    /// second factor, or whose organisation requires one, is refused here: a password alone
    /// is not enough for them.
    pub async fn person(&self, user: &str, proof: Proof<'_>) -> Result<(Actor, String), AuthError> {
        self.checked_person(user, proof, None).await
    }

    /// argon2 off the request workers, at most one check per core at a time.
    async fn password_matches(&self, password: &str, phc: String) -> Result<bool, AuthError> {
        let _slot = self
            .password_slots
            .acquire()
            .await
            .map_err(|e| AuthError::Internal(e.to_string()))?;
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || verify_password(&password, &phc))
            .await
            .map_err(|e| AuthError::Internal(e.to_string()))
    }

    /// The checks of a sign-in: the account's lock, the password, the account and its
    /// organisation, and the second factor (`code`: None when the channel has no place for
    /// one). Failures count towards the account's lock, on every node.
    async fn checked_person(
        &self,
        user: &str,
        proof: Proof<'_>,
        code: Option<&str>,
    ) -> Result<(Actor, String), AuthError> {
        // No name holds a NUL (PostgreSQL cannot even be asked for one).
        if user.contains('\0') || user.len() > 320 {
            return Err(AuthError::Invalid);
        }
        let Some(principal) = self.store.principal_by_name(user).await? else {
            // An unknown name costs what a known one does, so timing tells no names apart.
            if let Proof::Password(p) = proof {
                self.password_matches(p, unknown_name_hash()).await?;
            }
            return Err(AuthError::Invalid);
        };
        let principal = principal.value;
        let now = self.now();
        let state = self.store.sign_in_state(principal.id).await?;
        if let Some(until) = state.and_then(|(_, u)| u).filter(|u| *u > now) {
            return Err(AuthError::Limited(seconds_until(now, until)));
        }
        let hash = self
            .store
            .password_hash(principal.id)
            .await?
            .ok_or(AuthError::Invalid)?;
        let accepted = match proof {
            Proof::Password(p) => self.password_matches(p, hash.clone()).await?,
            Proof::Remembered { principal: id, phc } => id == principal.id && phc == hash,
        };
        if !accepted {
            return Err(self.failed(principal.id, now).await);
        }
        if principal.disabled {
            return Err(AuthError::Unusable("the account is disabled"));
        }
        let org = self
            .store
            .organisation(principal.org_id)
            .await?
            .ok_or(AuthError::Invalid)?
            .value;
        if !org.is_active() {
            return Err(AuthError::Unusable(SUSPENDED));
        }
        let enrolled = self
            .second_factor_of(principal.id)
            .await
            .map_err(|e| AuthError::Internal(e.to_string()))?;
        match code {
            None if enrolled || org.require_second_factor => {
                return Err(AuthError::Unusable(
                    "this account signs in with a second factor: use the console (programs use API tokens)",
                ));
            }
            Some(_) if !enrolled && org.require_second_factor => {
                return Err(AuthError::Unusable(
                    "your organisation requires a second factor: ask your admin for a reset link to set one up",
                ));
            }
            _ => {}
        }
        if let Some(c) = code.filter(|_| enrolled)
            && !self.check_code(principal.id, c).await?
        {
            return Err(self.failed(principal.id, now).await);
        }
        if state.is_some() {
            self.store.sign_in_cleared(principal.id).await?;
        }
        Ok((Actor::principal(&principal, &org), hash))
    }

    /// Counts a failed sign-in: the answer is the lock when this failure sets it.
    async fn failed(&self, principal_id: Uuid, now: time::OffsetDateTime) -> AuthError {
        match self
            .store
            .sign_in_failed(
                principal_id,
                now,
                time::Duration::minutes(LOCK_WINDOW_MINUTES),
                LOCK_AFTER_FAILURES,
                time::Duration::minutes(LOCK_MINUTES),
            )
            .await
        {
            Ok(Some(until)) => {
                tracing::warn!(%principal_id, "account locked after failed sign-ins");
                AuthError::Limited(seconds_until(now, until))
            }
            Ok(None) => AuthError::Invalid,
            Err(e) => e.into(),
        }
    }

    /// Opens a console session for a person who has just signed in.
    pub async fn open_session(&self, actor: &Actor) -> Result<NewSession> {
        let Some(principal) = actor.principal_id() else {
            return Err(ServiceError::Internal("a sign-in without a person".into()));
        };
        let now = self.now();
        let secret = random_token()?;
        let record = SessionRecord {
            id_hash: hash_token(&secret),
            principal_id: principal,
            csrf: random_token()?,
            created: now,
            expires: now + time::Duration::hours(SESSION_HOURS),
            ended: None,
        };
        self.store.put_session(&record).await?;
        Ok(NewSession { secret, record })
    }

    /// The session a cookie's secret names, as of now.
    pub async fn session(&self, secret: &str) -> Result<SessionState> {
        let Some(record) = self.store.session(&hash_token(secret)).await? else {
            return Ok(SessionState::Unknown);
        };
        if record.ended.is_some() || record.expires <= self.now() {
            return Ok(SessionState::Expired);
        }
        let Some(p) = self.store.principal(record.principal_id).await? else {
            return Ok(SessionState::Unknown);
        };
        let Some(org) = self.store.organisation(p.value.org_id).await? else {
            return Ok(SessionState::Unknown);
        };
        if p.value.disabled || !org.value.is_active() {
            return Ok(SessionState::Expired);
        }
        Ok(SessionState::Active(Box::new(Session {
            actor: Actor::principal(&p.value, &org.value),
            name: p.value.name.clone(),
            record,
        })))
    }

    /// Ends a session (signing out).
    pub async fn end_session(&self, s: &Session) -> Result<()> {
        self.store
            .end_session(&s.record.id_hash, self.now())
            .await?;
        Ok(())
    }
}
