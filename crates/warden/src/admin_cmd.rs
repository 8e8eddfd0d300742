//! `warden org …` and `warden admin …`: organisations, people, API tokens and signing keys
//! administered from the shell, through the same service rules and audit trail as the API.

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Subcommand;
use std::path::PathBuf;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use warden_core::calendar::Calendar;
use warden_core::org::{Actor, Role};
use warden_core::policy::{Policy, Span};
use warden_service::admin;

#[derive(Subcommand)]
pub(crate) enum OrgCommand {
    /// Organisations in slug order, one per line (slug, type, province, status, name)
    List {
        /// An organisation type, e.g. provincial_authority, telecom_operator
        #[arg(long = "type")]
        org_type: Option<String>,
        /// A GB/T 2260 province code, e.g. 32
        #[arg(long)]
        province: Option<String>,
    },
    /// One organisation as JSON, with its Art. 5 contacts and declared resources
    Show { slug: String },
    /// Register an organisation from a JSON file shaped as POST /api/v1/organisations takes
    /// ("-" for standard input)
    Register {
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
    },
    /// Suspend an organisation: its tokens and sessions stop, it is routed nothing new
    Suspend {
        slug: String,
        #[arg(long)]
        reason: String,
    },
    /// End an organisation's suspension
    Reactivate { slug: String },
}

#[derive(Subcommand)]
pub(crate) enum AdminCommand {
    /// API tokens for monitoring platforms and other programs
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// People who sign in to the console
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Notice-signing keys of the telecom authorities
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
}

#[derive(Subcommand)]
pub(crate) enum KeyCommand {
    /// Give an authority a new signing key; its old keys are retired but stay published, so
    /// notices signed with them still verify
    Rotate {
        #[arg(long)]
        org: String,
        /// The master key file that seals the private keys
        #[arg(
            long,
            env = "WARDEN_MASTER_KEY_FILE",
            default_value = "warden-data/master.key"
        )]
        master_key_file: PathBuf,
    },
    /// List the published keys
    List,
}

#[derive(Subcommand)]
pub(crate) enum TokenCommand {
    /// Create an API client with a token; the token is printed once, alone on the last line
    Create {
        #[arg(long)]
        org: String,
        /// A role of the client (repeat for several)
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        #[arg(long)]
        label: Option<String>,
        /// Lifetime such as 90d or 12h; without it the token lasts until revoked
        #[arg(long)]
        expires_in: Option<String>,
    },
    /// List an organisation's tokens (prefixes, never secrets)
    List {
        #[arg(long)]
        org: String,
    },
    /// Revoke a token by its prefix (wdn_xxxxxxxx)
    Revoke { prefix: String },
}

#[derive(Subcommand)]
pub(crate) enum UserCommand {
    /// Create a person; the password is read from standard input (one line)
    Create {
        #[arg(long)]
        org: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
    },
}

fn parse_roles(roles: &[String]) -> Result<std::collections::BTreeSet<Role>> {
    roles
        .iter()
        .map(|r| r.parse::<Role>().map_err(|e| anyhow!(e)))
        .collect()
}

/// `warden org …`: the service's organisation operations as MIIT's administrator would call
/// them, so that the core's rules and the audit trail are the same as over the API.
pub(crate) async fn org_command(url: &str, cmd: OrgCommand) -> Result<()> {
    use warden_service::proto::{OrganisationRequest, OrganisationsQuery};
    let store = warden_store::open(url).await?;
    let miit = store
        .organisation_by_slug("miit")
        .await?
        .ok_or_else(|| anyhow!("no organisation miit: run `warden init` first"))?
        .value;
    let who = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    let actor = Actor::Principal {
        principal_id: uuid::Uuid::nil(),
        name: format!("cli:{who}"),
        org: miit.org_ref(),
        roles: [Role::Admin].into_iter().collect(),
    };
    let keys = warden_service::keys::KeyRing::new(warden_service::keys::MasterKey::ephemeral()?);
    let svc =
        warden_service::Service::builder(store, Calendar::builtin()?, Policy::builtin()?, keys)
            .build();
    let show = |v: &warden_service::proto::OrganisationView| -> Result<()> {
        println!("{}", serde_json::to_string_pretty(v)?);
        Ok(())
    };
    match cmd {
        OrgCommand::List { org_type, province } => {
            let mut cursor = None;
            loop {
                let q = OrganisationsQuery {
                    org_type: org_type.clone(),
                    province: province.clone(),
                    status: None,
                    limit: Some(500),
                    cursor,
                };
                let page = svc.organisations(&actor, q.try_into()?).await?;
                for o in &page.items {
                    println!(
                        "{}\t{}\t{}\t{}\t{}",
                        o.slug,
                        o.org_type,
                        o.province
                            .map(|p| p.to_string())
                            .unwrap_or_else(|| "-".into()),
                        o.status,
                        o.name
                    );
                }
                match page.next {
                    Some(n) => cursor = Some(n),
                    None => break,
                }
            }
        }
        OrgCommand::Show { slug } => show(&svc.organisation(&actor, &slug).await?)?,
        OrgCommand::Register { file } => {
            let text = if file.as_os_str() == "-" {
                let mut t = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut t)?;
                t
            } else {
                std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {}", file.display()))?
            };
            let req: OrganisationRequest = serde_json::from_str(&text).map_err(|e| {
                anyhow!(
                    "{}: not an organisation as POST /api/v1/organisations takes it: {e}",
                    file.display()
                )
            })?;
            show(&svc.register_organisation(&actor, req, None).await?)?;
        }
        OrgCommand::Suspend { slug, reason } => show(
            &svc.set_suspension(&actor, &slug, Some(reason), None)
                .await?,
        )?,
        OrgCommand::Reactivate { slug } => {
            show(&svc.set_suspension(&actor, &slug, None, None).await?)?
        }
    }
    Ok(())
}

fn cli_actor() -> Actor {
    let who = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    Actor::system(&format!("cli:{who}"))
}

pub(crate) async fn admin_command(url: &str, cmd: AdminCommand) -> Result<()> {
    let store = warden_store::open(url).await?;
    let store = store.as_ref();
    let now = OffsetDateTime::now_utc();
    let actor = cli_actor();
    match cmd {
        AdminCommand::Token {
            command:
                TokenCommand::Create {
                    org,
                    roles,
                    label,
                    expires_in,
                },
        } => {
            let expires_in = match expires_in {
                None => None,
                Some(s) => match s.parse::<Span>().map_err(|e| anyhow!(e))? {
                    Span::Hours(h) => Some(time::Duration::hours(i64::from(h))),
                    Span::Days(d) => Some(time::Duration::days(i64::from(d))),
                    Span::WorkingDays(_) => bail!("--expires-in takes hours or days, like 90d"),
                },
            };
            let created = admin::create_token(
                store,
                &actor,
                now,
                &org,
                parse_roles(&roles)?,
                label,
                expires_in,
            )
            .await?;
            let roles: Vec<&str> = created.roles.iter().map(|r| r.as_str()).collect();
            let expires = created
                .record
                .expires_at
                .and_then(|t| t.format(&Rfc3339).ok())
                .unwrap_or_else(|| "never".into());
            eprintln!(
                "Created token {} for {} (roles: {}; expires: {}). It is shown only now:",
                created.record.prefix,
                created.org,
                roles.join(", "),
                expires
            );
            println!("{}", created.token);
        }
        AdminCommand::Token {
            command: TokenCommand::List { org },
        } => {
            for t in admin::list_tokens(store, &org).await? {
                let t = t.value;
                let fmt = |o: Option<OffsetDateTime>| {
                    o.and_then(|t| t.format(&Rfc3339).ok())
                        .unwrap_or_else(|| "-".into())
                };
                let state = match t.unusable(now) {
                    None => "active",
                    Some(_) if t.revoked_at.is_some() => "revoked",
                    Some(_) => "expired",
                };
                println!(
                    "{}\t{}\tcreated {}\texpires {}\t{}",
                    t.prefix,
                    state,
                    fmt(Some(t.created_at)),
                    fmt(t.expires_at),
                    t.label
                );
            }
        }
        AdminCommand::Token {
            command: TokenCommand::Revoke { prefix },
        } => {
            let t = admin::revoke_token(store, &actor, now, &prefix).await?;
            println!("revoked {}", t.prefix);
        }
        AdminCommand::Key {
            command:
                KeyCommand::Rotate {
                    org,
                    master_key_file,
                },
        } => {
            let master = warden_service::keys::MasterKey::load_or_create(&master_key_file)?;
            let ring = warden_service::keys::KeyRing::new(master);
            let o = store
                .organisation_by_slug(&org)
                .await?
                .ok_or_else(|| anyhow!("no organisation with slug {org:?}"))?
                .value;
            if !o.org_type.is_authority() {
                bail!(
                    "{org} is a {}: only telecom authorities sign notices",
                    o.org_type
                );
            }
            let id = ring.create_key(store, &o, now).await?;
            println!("{id}");
        }
        AdminCommand::Key {
            command: KeyCommand::List,
        } => {
            for k in warden_service::keys::authority_keys(store).await? {
                let state = k
                    .retired_at
                    .map(|t| format!("retired {t}"))
                    .unwrap_or_else(|| "active".into());
                println!("{}\t{}\t{}\t{}", k.key_id, k.org, state, k.public_key);
            }
        }
        AdminCommand::User {
            command:
                UserCommand::Create {
                    org,
                    name,
                    display_name,
                    roles,
                },
        } => {
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']).to_owned();
            let user = admin::NewUser {
                org,
                name,
                display_name,
                roles: parse_roles(&roles)?,
                password,
            };
            let p = admin::create_user(store, &actor, now, user).await?;
            println!("created user {} ({})", p.name, p.id);
        }
    }
    Ok(())
}
