//! Administration of principals and their credentials, shared by the CLI and (later) the
//! admin API. Every change is committed with its audit record.

use crate::credentials::{self as auth, AuthError};
use serde::Serialize;
use std::collections::BTreeSet;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;
use warden_core::lifecycle::{Event, Subject, SubjectKind};
use warden_core::org::{Actor, ApiToken, Organisation, Principal, PrincipalKind, Role};
use warden_store::{Changeset, Store, StoreError, Versioned, Write};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("no organisation with slug {0:?}")]
    UnknownOrg(String),
    #[error("no token with prefix {0:?}")]
    UnknownToken(String),
    #[error("a user named {0:?} already exists")]
    UserExists(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn event(name: &str, kind: SubjectKind, id: Uuid, data: serde_json::Value) -> Event {
    Event {
        name: name.into(),
        subject: Subject { kind, id },
        data,
    }
}

async fn org(store: &dyn Store, slug: &str) -> Result<Organisation, AdminError> {
    Ok(store
        .organisation_by_slug(slug)
        .await?
        .ok_or_else(|| AdminError::UnknownOrg(slug.to_owned()))?
        .value)
}

/// A created token: the secret is in `token` and nowhere else, ever.
#[derive(Debug, Serialize)]
pub struct CreatedToken {
    pub token: String,
    #[serde(flatten)]
    pub record: ApiToken,
    pub org: String,
    pub roles: BTreeSet<Role>,
}

/// Creates an API client of `org_slug` with `roles` and a token for it.
pub async fn create_token(
    store: &dyn Store,
    actor: &Actor,
    now: OffsetDateTime,
    org_slug: &str,
    roles: BTreeSet<Role>,
    label: Option<String>,
    expires_in: Option<Duration>,
) -> Result<CreatedToken, AdminError> {
    let org = org(store, org_slug).await?;
    let (created, writes, events) = client_writes(&org, roles, label, expires_in, now)?;
    store
        .commit(Changeset::new(actor.clone(), now, writes, events))
        .await?;
    Ok(created)
}

/// The writes and events that create an API client of `org` with a new token, for a caller
/// that commits them with others (installation, the demo) or alone.
pub fn client_writes(
    org: &Organisation,
    roles: BTreeSet<Role>,
    label: Option<String>,
    expires_in: Option<Duration>,
    now: OffsetDateTime,
) -> Result<(CreatedToken, Vec<Write>, Vec<Event>), AdminError> {
    if roles.is_empty() {
        return Err(AdminError::Invalid(
            "a token needs at least one role".into(),
        ));
    }
    if expires_in.is_some_and(|d| d <= Duration::ZERO) {
        return Err(AdminError::Invalid(
            "the expiry must be in the future".into(),
        ));
    }
    let new = auth::new_token()?;
    let label = label.unwrap_or_else(|| format!("client {}", new.prefix));
    let principal = Principal {
        id: Uuid::now_v7(),
        kind: PrincipalKind::Client,
        org_id: org.id,
        name: new.prefix.clone(),
        display_name: label.clone(),
        roles: roles.clone(),
        disabled: false,
    };
    let token = ApiToken {
        id: Uuid::now_v7(),
        principal_id: principal.id,
        prefix: new.prefix.clone(),
        label,
        created_at: now,
        expires_at: expires_in.map(|d| now + d),
        revoked_at: None,
    };
    let events = vec![
        event(
            "principal.created",
            SubjectKind::Principal,
            principal.id,
            serde_json::json!({"kind": "client", "org": org.slug, "roles": roles}),
        ),
        event(
            "token.created",
            SubjectKind::Token,
            token.id,
            serde_json::json!({"prefix": token.prefix, "expires_at": token.expires_at.map(|t| t.unix_timestamp())}),
        ),
    ];
    let writes = vec![
        Write::Principal {
            principal,
            expected: None,
        },
        Write::Token {
            token: token.clone(),
            hash: Some(new.hash),
            expected: None,
        },
    ];
    Ok((
        CreatedToken {
            token: new.secret,
            record: token,
            org: org.slug.clone(),
            roles,
        },
        writes,
        events,
    ))
}

pub async fn list_tokens(
    store: &dyn Store,
    org_slug: &str,
) -> Result<Vec<Versioned<ApiToken>>, AdminError> {
    let org = org(store, org_slug).await?;
    Ok(store.tokens_of_org(org.id).await?)
}

pub async fn revoke_token(
    store: &dyn Store,
    actor: &Actor,
    now: OffsetDateTime,
    prefix: &str,
) -> Result<ApiToken, AdminError> {
    let t = store
        .token_by_prefix(prefix)
        .await?
        .ok_or_else(|| AdminError::UnknownToken(prefix.to_owned()))?;
    if t.value.revoked_at.is_some() {
        return Ok(t.value);
    }
    let mut token = t.value;
    token.revoked_at = Some(now);
    store
        .commit(Changeset::new(
            actor.clone(),
            now,
            vec![Write::Token {
                token: token.clone(),
                hash: None,
                expected: Some(t.version),
            }],
            vec![event(
                "token.revoked",
                SubjectKind::Token,
                token.id,
                serde_json::json!({"prefix": token.prefix}),
            )],
        ))
        .await?;
    Ok(token)
}

/// A person to create.
pub struct NewUser {
    pub org: String,
    pub name: String,
    pub display_name: Option<String>,
    pub roles: BTreeSet<Role>,
    pub password: String,
}

/// Creates a person who signs in with their name and password.
pub async fn create_user(
    store: &dyn Store,
    actor: &Actor,
    now: OffsetDateTime,
    user: NewUser,
) -> Result<Principal, AdminError> {
    check_user(&user)?;
    let org = org(store, &user.org).await?;
    if store.principal_by_name(&user.name).await?.is_some() {
        return Err(AdminError::UserExists(user.name));
    }
    let hash = auth::hash_password(&user.password)?;
    let name = user.name.clone();
    let (principal, writes, events) = user_writes(&org, user, hash);
    store
        .commit(Changeset::new(actor.clone(), now, writes, events))
        .await
        .map_err(|e| match e {
            StoreError::Duplicate { .. } => AdminError::UserExists(name),
            other => other.into(),
        })?;
    Ok(principal)
}

/// Refuses a sign-in name, password or role set that a person may not have.
pub fn check_user(user: &NewUser) -> Result<(), AdminError> {
    let name = user.name.as_str();
    let valid_name = (2..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'@'));
    if !valid_name {
        return Err(AdminError::Invalid(format!(
            "user name {name:?} must be 2–64 letters, digits or . - _ @"
        )));
    }
    check_password(&user.password)?;
    if user.roles.is_empty() {
        return Err(AdminError::Invalid("a user needs at least one role".into()));
    }
    Ok(())
}

/// Passwords of people: at least 12 characters.
pub fn check_password(password: &str) -> Result<(), AdminError> {
    if password.chars().count() < 12 {
        return Err(AdminError::Invalid(
            "the password must have at least 12 characters".into(),
        ));
    }
    Ok(())
}

/// The writes and events that create a person of `org` whose password hashes to `hash`
/// (checked with [`check_user`] first).
pub fn user_writes(
    org: &Organisation,
    user: NewUser,
    hash: String,
) -> (Principal, Vec<Write>, Vec<Event>) {
    let principal = Principal {
        id: Uuid::now_v7(),
        kind: PrincipalKind::User,
        org_id: org.id,
        display_name: user.display_name.unwrap_or_else(|| user.name.clone()),
        name: user.name,
        roles: user.roles,
        disabled: false,
    };
    let events = vec![event(
        "principal.created",
        SubjectKind::Principal,
        principal.id,
        serde_json::json!({"kind": "user", "name": principal.name, "org": org.slug, "roles": principal.roles}),
    )];
    let writes = vec![
        Write::Principal {
            principal: principal.clone(),
            expected: None,
        },
        Write::Password {
            principal_id: principal.id,
            hash,
        },
    ];
    (principal, writes, events)
}
