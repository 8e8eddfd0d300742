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
        Ok(Actor::principal(&principal, &org))
    }

    /// A person by sign-in name and password (argon2).
    pub async fn sign_in(&self, user: &str, password: &str) -> Result<Actor, AuthError> {
        self.person(user, |_, phc| verify_password(password, phc))
            .await
    }

    /// The person named `user`, if `accept` takes their id and stored password hash and the
    /// account is usable.
    pub async fn person(
        &self,
        user: &str,
        accept: impl FnOnce(Uuid, &str) -> bool,
    ) -> Result<Actor, AuthError> {
        let principal = self
            .store
            .principal_by_name(user)
            .await?
            .ok_or(AuthError::Invalid)?
            .value;
        let hash = self
            .store
            .password_hash(principal.id)
            .await?
            .ok_or(AuthError::Invalid)?;
        if !accept(principal.id, &hash) {
            return Err(AuthError::Invalid);
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
        Ok(Actor::principal(&principal, &org))
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
