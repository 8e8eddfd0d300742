//! `warden serve`: opens the store (read-only on a replica), loads the demo world when asked,
//! makes the notice-signing keys, and serves the API and console until a signal stops it.

use anyhow::{Context as _, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use warden_core::calendar::Calendar;
use warden_core::clock::{Clock, SimulatedClock, SystemClock};
use warden_core::org::Role;
use warden_core::policy::Policy;

pub(crate) struct Setup {
    pub(crate) connections: warden_server::listen::ConnectionLimits,
    pub(crate) imports: warden_service::imports::ImportLimits,
    /// How old kept timeliness figures may be (`serve --statistics-max-age`).
    pub(crate) statistics_max_age: time::Duration,
    /// HTTPS served directly, when configured.
    pub(crate) tls: Option<Arc<warden_server::tls::RustlsConfig>>,
    pub(crate) metrics_from: Vec<ipnet::IpNet>,
    pub(crate) trusted_proxies: Vec<ipnet::IpNet>,
    /// Where the demo writes its API tokens.
    pub(crate) tokens_file: PathBuf,
    pub(crate) url: String,
    pub(crate) listen: String,
    pub(crate) demo: bool,
    /// A read-only node (see `serve --read-only`).
    pub(crate) read_only: bool,
    pub(crate) simulated: Option<Arc<SimulatedClock>>,
    pub(crate) calendar: Calendar,
    pub(crate) policy: Policy,
    pub(crate) keys: warden_service::keys::KeyRing,
}

pub(crate) async fn serve(setup: Setup) -> Result<()> {
    let Setup {
        connections,
        imports,
        statistics_max_age,
        tls,
        metrics_from,
        trusted_proxies,
        tokens_file,
        url,
        listen,
        demo,
        read_only,
        simulated,
        calendar,
        policy,
        keys,
    } = setup;
    let clock: Arc<dyn Clock> = match &simulated {
        Some(s) => s.clone(),
        None => Arc::new(SystemClock),
    };
    let store = if read_only {
        warden_store::open_read_only(&url).await?
    } else {
        warden_store::open(&url).await?
    };
    let health = store.health().await?;
    // The demo's history begins a month back: its bodies and keys exist from then on.
    let since = if demo {
        warden_service::demo::history_start(clock.now())
    } else {
        clock.now()
    };
    if demo {
        let added = warden_service::demo::load(store.as_ref(), since).await?;
        tracing::info!(added, "demo world loaded");
    } else if !read_only
        && warden_service::install::plan(store.as_ref())
            .await?
            .missing
            .iter()
            .any(|o| o.slug == "miit")
    {
        tracing::warn!(
            "this database is not initialised: run `warden init` to install MIIT, the provincial authorities and the first person"
        );
    }
    // A read-only node signs nothing: the primary's nodes make the keys.
    if !read_only {
        let created = keys.ensure_keys(store.as_ref(), since).await?;
        if created > 0 {
            tracing::info!(created, "notice-signing keys created");
        }
    }
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(
        %addr,
        backend = ?health.backend,
        schema = health.schema_version,
        read_only,
        calendar_years = ?calendar.years().collect::<Vec<_>>(),
        policy = %policy.national().version,
        "warden serving"
    );
    let builder = warden_service::Service::builder(store, calendar, policy, keys)
        .import_limits(imports)
        .statistics_max_age(statistics_max_age);
    let svc = match simulated {
        Some(sim) => builder.simulated_clock(sim),
        None => builder.clock(clock),
    }
    .build();
    let mut state = warden_server::AppState::new(Arc::new(svc));
    state.metrics_from = Arc::new(metrics_from);
    state.trusted_proxies = Arc::new(trusted_proxies);
    state.connections = connections;
    // The banner is for people and scripts; a closed stdout must not stop the server.
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut banner =
        format!("Warden is serving on {scheme}://{addr} (health: {scheme}://{addr}/healthz)\n");
    if demo {
        let mut keep =
            |tokens: &[(String, Role, String)], all: bool| write_tokens(&tokens_file, tokens, !all);
        let world = warden_service::demo::populate(&state.svc, &mut keep).await?;
        tracing::info!(
            cases = world.cases,
            people = world.users.len(),
            "demo world populated"
        );
        banner.push_str(&format!(
            "Demo world in {}: the organisations of docs/design.md §5.3 on the installed national bodies, and a month of cases in every state.\n\
             API: http://{addr}/api/v1/openapi.json. Tokens for every organisation and role: {}\n\
             Web console: http://{addr}/ - people sign in as ROLE@ORG (e.g. reviewer@ca-guangdong) with the password {}\n",
            warden_store::redact_url(&url),
            tokens_file.display(),
            warden_service::demo::DEMO_PASSWORD
        ));
        // Tokens are made on the first start; later starts find them in the file.
        let kept = std::fs::read_to_string(&tokens_file).unwrap_or_default();
        let try_token = world
            .tokens
            .iter()
            .find(|(o, r, _)| o == "secco-alpha" && *r == Role::Reporter)
            .map(|(_, _, t)| t.as_str())
            .or_else(|| {
                kept.lines()
                    .find_map(|l| l.strip_prefix("secco-alpha\treporter\t"))
            });
        if let Some(t) = try_token {
            banner.push_str(&format!(
                "Try: curl -H 'Authorization: Bearer {t}' http://{addr}/api/v1/cases\n"
            ));
        }
    }
    {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(banner.as_bytes());
        let _ = out.flush();
    }
    // Jobs write; a read-only node leaves them to the primary's nodes (leased, once each).
    if !read_only {
        warden_service::jobs::spawn(state.svc.clone(), std::time::Duration::from_secs(15));
    }
    match tls {
        Some(config) => warden_server::serve_tls(listener, config, state, shutdown_signal())
            .await
            .context("serving HTTPS")?,
        None => warden_server::serve(listener, state, shutdown_signal())
            .await
            .context("serving HTTP")?,
    }
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// The demo's tokens, one per line, readable by the owner only; `add` keeps the lines already
/// there (tokens added to an older demo database).
fn write_tokens(path: &Path, tokens: &[(String, Role, String)], add: bool) -> std::io::Result<()> {
    let mut text = match std::fs::read_to_string(path) {
        Ok(old) if add => old,
        _ => String::from(
            "# organisation\trole\ttoken (demo world; send as Authorization: Bearer TOKEN)\n",
        ),
    };
    for (org, role, token) in tokens {
        text.push_str(&format!("{org}\t{role}\t{token}\n"));
    }
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    use std::io::Write as _;
    let mut f = opts
        .open(path)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    f.write_all(text.as_bytes())?;
    // On disk before the tokens are committed: a crash must not leave tokens nobody has.
    f.sync_all()
}
