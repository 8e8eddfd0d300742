//! `warden`: the server and the command line.

mod admin_cmd;
mod audit_cmd;
mod bench;
mod bench_import;
mod bench_match;
mod bench_propagation;
mod bench_reads;
mod bench_seed;
mod bench_soak;
mod bench_taxii;
mod config;
mod export;
mod import_cmd;
mod registry_cmd;
mod serve_cmd;

use admin_cmd::{AdminCommand, OrgCommand, admin_command, org_command};
use anyhow::{Context as _, Result, anyhow, bail};
use audit_cmd::{AuditCommand, audit_command};
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};
use warden_core::calendar::Calendar;
use warden_core::clock::SimulatedClock;
use warden_core::policy::Policy;
use warden_store::DEFAULT_DB_URL;

#[derive(Parser)]
#[command(
    name = "warden",
    version,
    about = "Public-internet cyber-threat monitoring and handling platform (工信部网安〔2017〕202号)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// A configuration file of `serve` options (default: warden.toml here, when present);
    /// the command line and WARDEN_* variables win over it
    #[arg(long, env = "WARDEN_CONFIG", global = true, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Args, Clone)]
struct DbArg {
    /// Database: sqlite://PATH or postgres://USER@HOST/DB [default: sqlite://warden-data/warden.db]
    #[arg(long, env = "WARDEN_DB", global = true)]
    db: Option<String>,
}

#[derive(Args, Clone)]
struct CalendarArg {
    /// A working-day calendar file to use instead of the built-in one (data/calendar/cn.toml)
    #[arg(long, env = "WARDEN_CALENDAR", global = true)]
    calendar: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database and serve the HTTP API
    Serve {
        #[command(flatten)]
        db: DbArg,
        /// Address to listen on
        #[arg(long, env = "WARDEN_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Load the demo world into a demo database (sqlite://warden-data/demo.db unless --db)
        #[arg(long)]
        demo: bool,
        /// Run on a simulated clock starting at this RFC 3339 instant (training, tests)
        #[arg(long, value_name = "RFC3339")]
        clock_start: Option<String>,
        /// Serve reads only, from a PostgreSQL streaming replica (or any database, read in
        /// read-only transactions): lookups, exports, TAXII, the API's reads. Writes answer
        /// 503 `read-only-node`; nothing is migrated and no background job runs here
        #[arg(long, env = "WARDEN_READ_ONLY", conflicts_with = "demo")]
        read_only: bool,
        /// A directory of policy files (national.toml and NN.toml per province) instead of the built-in ones
        #[arg(long, env = "WARDEN_POLICY_DIR")]
        policy_dir: Option<PathBuf>,
        /// The file holding the master key that seals the authorities' signing keys; created
        /// if missing. Every server sharing a database needs the same file.
        #[arg(
            long,
            env = "WARDEN_MASTER_KEY_FILE",
            default_value = "warden-data/master.key"
        )]
        master_key_file: PathBuf,
        #[command(flatten)]
        calendar: CalendarArg,
        /// Networks whose clients may read /metrics, comma-separated (behind a proxy, the
        /// proxy's address is the client's)
        #[arg(
            long,
            env = "WARDEN_METRICS_FROM",
            value_delimiter = ',',
            default_value = "127.0.0.0/8,::1/128"
        )]
        metrics_from: Vec<String>,
        /// Proxies (load balancers) in front of the server, comma-separated networks: from
        /// them, the client is read from X-Forwarded-For (for per-address limits and the
        /// metrics networks); from anyone else, the header is ignored
        #[arg(long, env = "WARDEN_TRUSTED_PROXIES", value_delimiter = ',')]
        trusted_proxies: Vec<String>,
        /// Serve HTTPS directly with this PEM certificate chain (with --tls-key), instead of
        /// behind a proxy that ends TLS
        #[arg(
            long,
            env = "WARDEN_TLS_CERT",
            value_name = "FILE",
            requires = "tls_key"
        )]
        tls_cert: Option<PathBuf>,
        /// The PEM private key of --tls-cert
        #[arg(
            long,
            env = "WARDEN_TLS_KEY",
            value_name = "FILE",
            requires = "tls_cert"
        )]
        tls_key: Option<PathBuf>,
        #[command(flatten)]
        connections: ConnectionArgs,
        #[command(flatten)]
        imports: ImportArgs,
        /// Seconds timeliness figures may still be served after writes, while one
        /// recomputation runs in the background (0: recomputed after every write)
        #[arg(long, env = "WARDEN_STATISTICS_MAX_AGE", default_value_t = 60,
              value_parser = clap::value_parser!(u64).range(0..=3600))]
        statistics_max_age: u64,
    },
    /// Prepare an empty database for production: MIIT, the 31 provincial communications
    /// administrations, CNCERT, CAICT and the cyberspace administration, and the first
    /// person, admin@miit, whose password is read from standard input (one line, at least 12
    /// characters). On an initialised database it changes nothing.
    Init {
        #[command(flatten)]
        db: DbArg,
        /// The master key file (created if missing), from which the root key that endorses
        /// every published key is derived; its fingerprint is printed
        #[arg(
            long,
            env = "WARDEN_MASTER_KEY_FILE",
            default_value = "warden-data/master.key"
        )]
        master_key_file: PathBuf,
    },
    /// The configuration file
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Copy an SQLite database while it serves (one consistent snapshot) and the master key
    /// into DIR; restore by copying both back. PostgreSQL: pg_dump (docs/operations.md)
    Backup {
        #[command(flatten)]
        db: DbArg,
        /// The directory to write warden.db and master.key into (created; must not hold them)
        #[arg(long, value_name = "DIR")]
        to: PathBuf,
        /// The master key file the server uses
        #[arg(
            long,
            env = "WARDEN_MASTER_KEY_FILE",
            default_value = "warden-data/master.key"
        )]
        master_key_file: PathBuf,
    },
    /// Create or upgrade the database schema, then exit
    Migrate {
        #[command(flatten)]
        db: DbArg,
    },
    /// China's working-day calendar (official holidays and make-up working days)
    Calendar {
        #[command(subcommand)]
        command: CalendarCommand,
        #[command(flatten)]
        calendar: CalendarArg,
    },
    /// Policy files (Art. 14)
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Print the OpenAPI 3.1 document of the API (the interface specification)
    Openapi,
    /// Measure the service end to end
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
    /// The tamper-evident audit trail
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
        #[command(flatten)]
        db: DbArg,
    },
    /// Signed notices
    Notice {
        #[command(subcommand)]
        command: NoticeCommand,
    },
    /// Write a blocklist to a file (or standard output): rpz, nftables, suricata, plain, csv
    Export {
        /// rpz | nftables | suricata | plain | csv
        format: String,
        /// The file to write (replaced atomically); standard output when absent
        #[arg(long)]
        out: Option<PathBuf>,
        /// Only the blocks this organisation (slug) must enforce
        #[arg(long)]
        recipient: Option<String>,
        /// Only the changes after this serial
        #[arg(long)]
        since: Option<i64>,
        /// Only targets of this indicator type
        #[arg(long = "type")]
        kind: Option<String>,
        /// A directory of policy files instead of the built-in ones (RPZ zone and action)
        #[arg(long, env = "WARDEN_POLICY_DIR")]
        policy_dir: Option<PathBuf>,
        #[command(flatten)]
        db: DbArg,
    },
    /// The resource registry: imports of registry data
    /// Import a bulk feed for an organisation: each indicator kept once, repeats (within and
    /// across feeds) counted as sightings; streamed, with a progress bar, a reject file and a
    /// summary. Exits 1 when a line was rejected
    Import {
        file: PathBuf,
        /// csv (header naming `value`, optionally `type`), ndjson ({"type","value"} a line),
        /// plain (one value a line, type detected), stix (a bundle), misp (an event file or a
        /// feed directory with manifest.json)
        #[arg(long)]
        format: String,
        /// The organisation the feed comes from
        #[arg(long = "as-org")]
        as_org: String,
        /// Where rejected lines go, with their reasons [default: FILE.rejects]
        #[arg(long)]
        rejects: Option<PathBuf>,
        #[command(flatten)]
        db: DbArg,
    },
    Registry {
        #[command(subcommand)]
        command: RegistryCommand,
        #[command(flatten)]
        db: DbArg,
    },
    /// Who holds a value? One JSON line per value, with the evidence
    Attribute {
        #[arg(required = true)]
        values: Vec<String>,
        #[command(flatten)]
        db: DbArg,
    },
    /// Is a value listed? One JSON line per value
    Lookup {
        #[arg(required = true)]
        values: Vec<String>,
        #[command(flatten)]
        db: DbArg,
    },
    /// Organisations (Art. 3, 5): list, show, register, suspend and reactivate. The shell acts
    /// with MIIT's authority (recorded as cli:USER of miit)
    Org {
        #[command(subcommand)]
        command: OrgCommand,
        #[command(flatten)]
        db: DbArg,
    },
    /// Users, API clients and tokens
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
        #[command(flatten)]
        db: DbArg,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// The matcher in memory: lookups per kind over synthetic lists, snapshot build, a full
    /// RPZ export and a delta after 100 changes (pin with `taskset -c 1` for one core)
    Match {
        /// Listed entries per kind
        #[arg(long, default_value_t = 1_000_000)]
        entries: usize,
        /// Queries per kind (URLs: a tenth)
        #[arg(long, default_value_t = 10_000_000)]
        queries: usize,
    },
    /// The lookup API over HTTP on loopback: single values, then batches
    Lookup {
        /// Listed entries (half domains, half IPv4)
        #[arg(long, default_value_t = 1_000_000)]
        entries: usize,
        #[arg(long, default_value_t = 32)]
        clients: u32,
        #[arg(long, default_value_t = 10)]
        seconds: u32,
        /// Values per batch request
        #[arg(long, default_value_t = 1000)]
        batch: usize,
    },
    /// A national-scale data set in an initialised database (`warden init` first): member
    /// organisations across the provinces with their people, years of cases in every state,
    /// their reports, measures, signed notices, appeals and blocks, and the audit trail, written
    /// through the store's bulk path (COPY on PostgreSQL)
    Seed {
        #[command(flatten)]
        db: DbArg,
        /// Member organisations (each with one person)
        #[arg(long, default_value_t = 3_000)]
        orgs: usize,
        #[arg(long, default_value_t = 100_000)]
        cases: usize,
        /// Blocks in force at the end (active block measures, each with its signed notice)
        #[arg(long, default_value_t = 1_000_000)]
        blocks: usize,
        /// Years of history
        #[arg(long, default_value_t = 3)]
        years: u32,
        /// Objects (cases and blocks) per bulk transaction
        #[arg(long, default_value_t = 20_000)]
        batch: usize,
        /// The password every seeded person signs in with (`staff@SLUG`, `seed-reviewer@ca-…`)
        #[arg(long, default_value = "warden-seed-2026")]
        password: String,
        #[arg(long, default_value_t = 20261207)]
        rng_seed: u64,
        /// The master key file the server uses: the authorities' notices are signed with keys
        /// sealed under it
        #[arg(
            long,
            env = "WARDEN_MASTER_KEY_FILE",
            default_value = "warden-data/master.key"
        )]
        master_key_file: PathBuf,
    },
    /// The reads of a national day against a running server, route by route under
    /// concurrent load: case lists with filters and cursor paging, case and notice pages,
    /// compliance, timeliness, the audit page, lookups, TAXII, and the console's pages
    Reads {
        /// The server (or the proxy in front of several)
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// An API token (`warden admin token create`)
        #[arg(long, env = "WARDEN_TOKEN")]
        token: String,
        /// A person's sign-in name, for the console's pages (its password in WARDEN_PASSWORD)
        #[arg(long)]
        user: Option<String>,
        #[arg(long, env = "WARDEN_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        #[arg(long, default_value_t = 16)]
        clients: u32,
        /// Seconds per route
        #[arg(long, default_value_t = 10)]
        seconds: u32,
        /// Only the routes whose label contains this
        #[arg(long)]
        only: Option<String>,
        /// Not the routes whose label contains one of these (comma-separated)
        #[arg(long)]
        skip: Option<String>,
    },
    /// How long a decision through one node takes to show in the lookups of others (several
    /// nodes on one database, read-only nodes on replicas): p50/p90/p99/max per node
    Propagation {
        /// The node (or proxy) the decisions go through
        #[arg(long)]
        write: String,
        /// The nodes whose lookups are timed, comma-separated
        #[arg(long, value_delimiter = ',', required = true)]
        read: Vec<String>,
        #[command(flatten)]
        actors: bench::Lifecycle,
        #[arg(long, default_value_t = 100)]
        samples: u32,
    },
    /// The mix of a national day against running nodes at a fixed rate for a long time:
    /// errors, latency per route and the nodes' memory over time
    Soak(bench_soak::SoakArgs),
    /// A generated 1M-line mixed feed through `warden import`'s pipeline into a fresh database
    Import {
        #[arg(long, default_value_t = 1_000_000)]
        lines: u64,
        /// Database (default: a fresh SQLite file in a temporary directory)
        #[arg(long)]
        db: Option<String>,
    },
    /// TAXII 2.1 paging with the OASIS taxii2-client: Warden's blocks collection of N
    /// indicators, then the OASIS reference server medallion holding the same objects
    Taxii {
        /// Indicators in the collection (block measures decided through the lifecycle)
        #[arg(long, default_value_t = 100_000)]
        objects: usize,
        /// Objects per request
        #[arg(long, default_value_t = 1000)]
        page: usize,
        /// Python with taxii2-client and medallion (scripts/python-env prints one)
        #[arg(long, env = "WARDEN_PYTHON")]
        python: String,
        /// Seconds of paging medallion; its rate comes from the requests it answered
        #[arg(long, default_value_t = 120)]
        budget: u64,
    },
    /// TAXII 2.1 threat objects asked for by id, over N confirmed cases: the first request,
    /// then the rest
    TaxiiIds {
        /// Confirmed cases (each one report, green, so every member is shared them)
        #[arg(long, default_value_t = 2000)]
        cases: usize,
        /// Objects asked for
        #[arg(long, default_value_t = 200)]
        lookups: usize,
    },
    /// Durable report submissions over HTTP against a server started in-process on a fresh
    /// database: the highest rate with N clients, then latency at a fixed offered rate
    Api {
        /// Database to test (default: a fresh SQLite file in a temporary directory)
        #[arg(long)]
        db: Option<String>,
        /// Submissions in the throughput run
        #[arg(long, default_value_t = 20_000)]
        requests: u32,
        /// Concurrent clients in the throughput run
        #[arg(long, default_value_t = 64)]
        concurrency: u32,
        /// Offered rate (requests/s) of the latency run
        #[arg(long, default_value_t = 500)]
        rate: u32,
        /// Seconds of the latency run
        #[arg(long, default_value_t = 10)]
        seconds: u32,
    },
}

#[derive(Subcommand)]
enum RegistryCommand {
    /// Import a registry data file as approved claims (streamed; per-line errors; a summary)
    Import {
        #[arg(long, value_enum)]
        format: registry_cmd::ImportFormat,
        file: PathBuf,
        /// The holder of every resource in the file (required for delegation files)
        #[arg(long)]
        org: Option<String>,
        /// Delegation files: only lines of this country code
        #[arg(long)]
        cc: Option<String>,
        /// Delegation files: only lines with this opaque id (one holder's allocations)
        #[arg(long)]
        opaque_id: Option<String>,
    },
}

/// How many connections `serve` holds, and how long it waits on a slow or quiet one.
#[derive(Args)]
struct ConnectionArgs {
    /// Connections served at once; more are answered 503 and closed at once (default: the
    /// process's file-handle limit less 256, at most 50,000)
    #[arg(long, env = "WARDEN_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
    /// Seconds a client has to send a request's headers
    #[arg(long, env = "WARDEN_HEADER_TIMEOUT", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=600))]
    header_timeout: u64,
    /// Seconds a connection may stay quiet (nothing read or written) before it is closed
    #[arg(long, env = "WARDEN_IDLE_TIMEOUT", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    idle_timeout: u64,
}

/// How large a feed upload may be, and how many imports an organisation and the server have.
#[derive(Args)]
struct ImportArgs {
    /// Bytes one feed upload may carry (at most 16 GiB)
    #[arg(long, env = "WARDEN_IMPORT_MAX_BYTES", default_value_t = warden_service::imports::UPLOAD_LIMIT,
          value_parser = clap::value_parser!(u64).range(1..=warden_service::imports::UPLOAD_LIMIT))]
    import_max_bytes: u64,
    /// Imports one organisation may have unfinished at once (what it may have stored)
    #[arg(long, env = "WARDEN_IMPORTS_PER_ORG", default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=100))]
    imports_per_org: u64,
    /// Imports this server runs at once; the others wait
    #[arg(long, env = "WARDEN_IMPORTS_RUNNING", default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=64))]
    imports_running: u64,
}

impl ImportArgs {
    fn limits(&self) -> warden_service::imports::ImportLimits {
        warden_service::imports::ImportLimits {
            max_upload: self.import_max_bytes,
            active_per_org: usize::try_from(self.imports_per_org).unwrap_or(2),
            running: usize::try_from(self.imports_running).unwrap_or(2),
        }
    }
}

impl ConnectionArgs {
    fn limits(&self) -> Result<warden_server::listen::ConnectionLimits> {
        let max = self
            .max_connections
            .unwrap_or_else(warden_server::listen::default_max_connections);
        if max == 0 {
            bail!("--max-connections must be at least 1");
        }
        Ok(warden_server::listen::ConnectionLimits {
            max_connections: max,
            header_timeout: std::time::Duration::from_secs(self.header_timeout),
            idle_timeout: std::time::Duration::from_secs(self.idle_timeout),
        })
    }
}

#[derive(Subcommand)]
enum NoticeCommand {
    /// Verify a notice (the document GET /api/v1/notices/{id} returns) offline against the
    /// published keys (the document GET /api/v1/keys returns); exit 0 only when valid
    Verify {
        notice: PathBuf,
        #[arg(long)]
        keys: PathBuf,
        /// The platform's root key fingerprint (as `warden init` printed it, received out of
        /// band): the key set must be endorsed by that root, so a key written into the
        /// platform's database by anyone else does not verify
        #[arg(long, value_name = "FINGERPRINT")]
        root: Option<String>,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Check the configuration file and every `serve` setting as serve would read them, print
    /// the settings in effect, and exit non-zero naming the first mistake
    Check {
        /// Also open the database and report its schema
        #[arg(long)]
        connect: bool,
    },
}

#[derive(Subcommand)]
enum CalendarCommand {
    /// The Nth working day after DATE (DATE itself not counted); "provisional" when it
    /// depends on a year without calendar data
    AddWorkingDays { date: String, n: u32 },
    /// Whether DATE is a working day: prints "working" or "rest"
    IsWorkingDay { date: String },
    /// Working days after DATE1 up to and including DATE2
    Count { date1: String, date2: String },
    /// Every date from FROM to TO with "working" or "rest", one per line
    List { from: String, to: String },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Validate a policy directory and print the rules in force per province
    Check { dir: Option<PathBuf> },
}

fn main() -> ExitCode {
    // The configuration file's settings join the command line before it is parsed.
    let args: Vec<String> = std::env::args().collect();
    let args = match config::locate(&args) {
        Some(path) => match config::read(&path) {
            Ok(settings) => config::apply(args, &settings),
            Err(e) => {
                eprintln!("error: {e:#}");
                return ExitCode::FAILURE;
            }
        },
        None => args,
    };
    let cli = Cli::parse_from(args);
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WARDEN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve {
            db,
            listen,
            demo,
            clock_start,
            read_only,
            policy_dir,
            master_key_file,
            calendar,
            metrics_from,
            trusted_proxies,
            tls_cert,
            tls_key,
            connections,
            imports,
            statistics_max_age,
        } => {
            let connections = connections.limits()?;
            let imports = imports.limits();
            let tls = match (tls_cert, tls_key) {
                (Some(c), Some(k)) => Some(warden_server::tls::config(&c, &k)?),
                _ => None,
            };
            let metrics_from = networks("--metrics-from", &metrics_from)?;
            let trusted_proxies = networks("--trusted-proxies", &trusted_proxies)?;
            let master = warden_service::keys::MasterKey::load_or_create(&master_key_file)?;
            let calendar = load_calendar(calendar.calendar.as_deref())?;
            let policy = load_policy(policy_dir.as_deref())?;
            let simulated = match clock_start {
                Some(s) => {
                    let start = OffsetDateTime::parse(&s, &Rfc3339).map_err(|e| {
                        anyhow!("--clock-start {s:?} is not an RFC 3339 instant like 2026-09-28T10:00:00+08:00: {e}")
                    })?;
                    Some(Arc::new(SimulatedClock::new(start)))
                }
                None => None,
            };
            let url = match (db.db, demo) {
                (Some(u), _) => u,
                (None, true) => "sqlite://warden-data/demo.db".to_owned(),
                (None, false) => DEFAULT_DB_URL.to_owned(),
            };
            let keys = warden_service::keys::KeyRing::new(master);
            let tokens_file = master_key_file
                .parent()
                .map(|d| d.join("demo-tokens.txt"))
                .unwrap_or_else(|| PathBuf::from("demo-tokens.txt"));
            let setup = serve_cmd::Setup {
                connections,
                imports,
                statistics_max_age: time::Duration::seconds(
                    i64::try_from(statistics_max_age).unwrap_or(60),
                ),
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
            };
            runtime()?.block_on(serve_cmd::serve(setup))
        }
        Command::Init {
            db,
            master_key_file,
        } => {
            let url = db.db.unwrap_or_else(|| DEFAULT_DB_URL.to_owned());
            runtime()?.block_on(init(&url))?;
            let master = warden_service::keys::MasterKey::load_or_create(&master_key_file)?;
            println!(
                "Root key fingerprint (give it to every member out of band; they check notices with `warden notice verify --root FINGERPRINT`):\n  {}",
                master.root_fingerprint()
            );
            Ok(())
        }
        Command::Config {
            command: ConfigCommand::Check { connect },
        } => config_check(connect),
        Command::Backup {
            db,
            to,
            master_key_file,
        } => {
            let url = db.db.unwrap_or_else(|| DEFAULT_DB_URL.to_owned());
            runtime()?.block_on(backup(&url, &to, &master_key_file))
        }
        Command::Migrate { db } => {
            let url = db.db.unwrap_or_else(|| DEFAULT_DB_URL.to_owned());
            runtime()?.block_on(async {
                let store = warden_store::open(&url).await?;
                let h = store.health().await?;
                println!("schema version {} ({:?})", h.schema_version, h.backend);
                Ok(())
            })
        }
        Command::Calendar { command, calendar } => {
            let cal = load_calendar(calendar.calendar.as_deref())?;
            calendar_command(&cal, command)
        }
        Command::Bench {
            command: BenchCommand::Match { entries, queries },
        } => bench_match::run(entries, queries),
        Command::Bench {
            command:
                BenchCommand::Propagation {
                    write,
                    read,
                    actors,
                    samples,
                },
        } => runtime()?.block_on(bench_propagation::run(bench_propagation::Propagation {
            write,
            read,
            actors,
            samples,
        })),
        Command::Bench {
            command:
                BenchCommand::Reads {
                    url,
                    token,
                    user,
                    password,
                    clients,
                    seconds,
                    only,
                    skip,
                },
        } => {
            let user = match (user, password) {
                (Some(u), Some(p)) => Some((u, p)),
                (Some(_), None) => bail!("--user needs the password in WARDEN_PASSWORD"),
                _ => None,
            };
            runtime()?.block_on(bench_reads::run(bench_reads::Reads {
                url,
                token,
                user,
                clients,
                seconds,
                only,
                skip,
            }))
        }
        Command::Bench {
            command: BenchCommand::Soak(args),
        } => runtime()?.block_on(bench_soak::run(args.into_soak()?)),
        Command::Bench {
            command:
                BenchCommand::Seed {
                    db,
                    orgs,
                    cases,
                    blocks,
                    years,
                    batch,
                    password,
                    rng_seed,
                    master_key_file,
                },
        } => {
            let url = db.db.unwrap_or_else(|| DEFAULT_DB_URL.to_owned());
            let master = warden_service::keys::MasterKey::load_or_create(&master_key_file)?;
            runtime()?.block_on(bench_seed::run(bench_seed::Seed {
                url,
                calendar: load_calendar(None)?,
                policy: load_policy(None)?,
                master,
                plan: warden_service::seed::SeedPlan {
                    orgs,
                    cases,
                    blocks,
                    years,
                    rng_seed,
                    batch,
                    password,
                },
            }))
        }
        Command::Bench {
            command:
                BenchCommand::Lookup {
                    entries,
                    clients,
                    seconds,
                    batch,
                },
        } => runtime()?.block_on(bench_match::lookup(bench_match::LookupBench {
            entries,
            clients,
            seconds,
            batch,
        })),
        Command::Bench {
            command: BenchCommand::Import { lines, db },
        } => runtime()?.block_on(bench_import::run(lines, db)),
        Command::Bench {
            command:
                BenchCommand::Taxii {
                    objects,
                    page,
                    python,
                    budget,
                },
        } => runtime()?.block_on(bench_taxii::run(bench_taxii::TaxiiBench {
            objects,
            page,
            python,
            budget,
        })),
        Command::Bench {
            command: BenchCommand::TaxiiIds { cases, lookups },
        } => runtime()?.block_on(bench_taxii::by_id(cases, lookups)),
        Command::Bench {
            command:
                BenchCommand::Api {
                    db,
                    requests,
                    concurrency,
                    rate,
                    seconds,
                },
        } => runtime()?.block_on(bench::api(bench::ApiBench {
            db,
            requests,
            concurrency,
            rate,
            seconds,
        })),
        Command::Export {
            format,
            out,
            recipient,
            since,
            kind,
            policy_dir,
            db,
        } => {
            let policy = load_policy(policy_dir.as_deref())?;
            let url = db.db.unwrap_or_else(|| DEFAULT_DB_URL.to_owned());
            runtime()?.block_on(export::export(
                export::ExportArgs {
                    url,
                    format,
                    out,
                    recipient,
                    since,
                    kind,
                },
                &policy,
            ))
        }
        Command::Registry {
            command:
                RegistryCommand::Import {
                    format,
                    file,
                    org,
                    cc,
                    opaque_id,
                },
            db,
        } => {
            let url = db.db.unwrap_or_else(|| DEFAULT_DB_URL.to_owned());
            runtime()?.block_on(registry_cmd::import(registry_cmd::ImportArgs {
                url: &url,
                format,
                file: &file,
                org: org.as_deref(),
                cc: cc.as_deref(),
                opaque_id: opaque_id.as_deref(),
            }))
        }
        Command::Import {
            file,
            format,
            as_org,
            rejects,
            db,
        } => {
            let url = db.db.unwrap_or_else(|| DEFAULT_DB_URL.to_owned());
            let clean = runtime()?.block_on(import_cmd::run(import_cmd::ImportArgs {
                url: &url,
                file: &file,
                format: &format,
                org: &as_org,
                rejects: rejects.as_deref(),
            }))?;
            if clean { Ok(()) } else { std::process::exit(1) }
        }
        Command::Attribute { values, db } => {
            let url = db.db.unwrap_or_else(|| DEFAULT_DB_URL.to_owned());
            runtime()?.block_on(registry_cmd::attribute(&url, values))
        }
        Command::Lookup { values, db } => {
            let url = db.db.unwrap_or_else(|| DEFAULT_DB_URL.to_owned());
            runtime()?.block_on(export::lookup(&url, values))
        }
        Command::Openapi => {
            let doc = warden_server::openapi();
            println!(
                "{}",
                serde_json::to_string_pretty(&doc).context("serialising the OpenAPI document")?
            );
            Ok(())
        }
        Command::Audit { command, db } => {
            let url = db.db.unwrap_or_else(|| DEFAULT_DB_URL.to_owned());
            runtime()?.block_on(audit_command(&url, command))
        }
        Command::Notice {
            command: NoticeCommand::Verify { notice, keys, root },
        } => {
            let read = |p: &Path, what: &str| -> Result<String> {
                std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read {what} file {}", p.display()))
            };
            let n: warden_core::notice::SignedNotice =
                serde_json::from_str(&read(&notice, "notice")?)
                    .with_context(|| format!("{} is not a notice document", notice.display()))?;
            let k: warden_core::notice::KeySet = serde_json::from_str(&read(&keys, "keys")?)
                .with_context(|| {
                    format!("{} is not a key set (GET /api/v1/keys)", keys.display())
                })?;
            match &root {
                Some(fp) => warden_core::notice::verify_rooted(&n, &k, fp)
                    .map_err(|e| anyhow!("INVALID: {e}"))?,
                None => warden_core::notice::verify(&n, &k).map_err(|e| anyhow!("INVALID: {e}"))?,
            }
            println!(
                "valid: notice {} ({}) signed by {} with key {}{}",
                n.id,
                n.body.reference,
                n.body.issuer.slug,
                n.signature.key_id,
                if root.is_some() {
                    ", endorsed by the root key with that fingerprint"
                } else {
                    " (the key set itself was not checked: give --root FINGERPRINT)"
                }
            );
            Ok(())
        }
        Command::Org { command, db } => {
            let url = db.db.unwrap_or_else(|| DEFAULT_DB_URL.to_owned());
            runtime()?.block_on(org_command(&url, command))
        }
        Command::Admin { command, db } => {
            let url = db.db.unwrap_or_else(|| DEFAULT_DB_URL.to_owned());
            runtime()?.block_on(admin_command(&url, command))
        }
        Command::Policy {
            command: PolicyCommand::Check { dir },
        } => {
            let policy = load_policy(dir.as_deref())?;
            let n = policy.national();
            println!("national: {}", n.version);
            for p in policy.provinces() {
                println!(
                    "{p} ({}): {}",
                    p.name_en(),
                    policy.for_province(Some(p)).version
                );
            }
            let t = policy.penalties();
            println!(
                "penalties: {} ({}, in force from {}): {}",
                t.version,
                t.law,
                t.in_force_from,
                t.articles
                    .iter()
                    .map(|a| format!(
                        "Art. {}{}",
                        a.number,
                        if a.confirmed {
                            ""
                        } else {
                            " (to be confirmed)"
                        }
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            Ok(())
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Networks from a comma-separated flag: CIDRs or single addresses.
fn networks(flag: &str, values: &[String]) -> Result<Vec<ipnet::IpNet>> {
    values
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .map(|n| {
            n.parse::<ipnet::IpNet>()
                .or_else(|_| n.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    anyhow!(
                        "{flag} {n:?} is not a network like 10.0.0.0/8 or an address like 192.0.2.7"
                    )
                })
        })
        .collect()
}

/// `warden config check`: the settings `serve` would run with, each read as serve reads it.
fn config_check(connect: bool) -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let file = config::locate(&args);
    let settings = match &file {
        Some(path) => config::read(path)?,
        None => vec![],
    };
    // What serve would be given: the file's settings where neither the command line of
    // serve (none here) nor the environment names them.
    let argv = config::apply(vec!["warden".into(), "serve".into()], &settings);
    let cli = Cli::try_parse_from(&argv).map_err(|e| anyhow!("{e}"))?;
    let Command::Serve {
        db,
        listen,
        clock_start,
        policy_dir,
        master_key_file,
        calendar,
        metrics_from,
        trusted_proxies,
        tls_cert,
        tls_key,
        connections,
        ..
    } = cli.command
    else {
        bail!("internal: the settings did not read as serve's");
    };
    let limits = connections.limits()?;
    networks("metrics_from", &metrics_from)?;
    networks("trusted_proxies", &trusted_proxies)?;
    listen
        .parse::<std::net::SocketAddr>()
        .map_err(|e| anyhow!("listen: {listen:?} is not ADDRESS:PORT: {e}"))?;
    let cal = load_calendar(calendar.calendar.as_deref())?;
    let policy = load_policy(policy_dir.as_deref())?;
    if let Some(s) = clock_start {
        OffsetDateTime::parse(&s, &Rfc3339)
            .map_err(|e| anyhow!("clock_start: {s:?} is not an RFC 3339 instant: {e}"))?;
    }
    let url = db.db.unwrap_or_else(|| DEFAULT_DB_URL.to_owned());
    if !(url.starts_with("sqlite:")
        || url.starts_with("postgres:")
        || url.starts_with("postgresql:"))
    {
        bail!(
            "db: {:?} is neither sqlite://PATH nor postgres://…",
            warden_store::redact_url(&url)
        );
    }
    let key = if master_key_file.exists() {
        warden_service::keys::MasterKey::load_or_create(&master_key_file)?;
        "present"
    } else {
        "absent: serve creates it (copy it to every node that shares the database)"
    };
    println!(
        "configuration: {}",
        file.as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "none (defaults and environment)".into())
    );
    println!("db              {}", warden_store::redact_url(&url));
    println!("listen          {listen}");
    println!("master_key_file {} ({key})", master_key_file.display());
    println!("metrics_from    {}", metrics_from.join(","));
    println!("trusted_proxies {}", trusted_proxies.join(","));
    println!(
        "connections     at most {}; headers within {} s; closed after {} s quiet",
        limits.max_connections,
        limits.header_timeout.as_secs(),
        limits.idle_timeout.as_secs()
    );
    println!(
        "calendar        years {:?}",
        cal.years().collect::<Vec<_>>()
    );
    println!("policy          {}", policy.national().version);
    match (&tls_cert, &tls_key) {
        (Some(c), Some(k)) => {
            warden_server::tls::config(c, k)?;
            println!("tls             {} ({})", c.display(), k.display());
        }
        _ => println!("tls             none (a proxy in front ends TLS)"),
    }
    if connect {
        let rt = runtime()?;
        rt.block_on(async {
            let store = warden_store::open(&url).await?;
            let h = store.health().await?;
            println!(
                "database        reachable, schema version {} ({:?})",
                h.schema_version, h.backend
            );
            anyhow::Ok(())
        })?;
    }
    println!("ok");
    Ok(())
}

/// `warden backup`: a consistent copy of an SQLite database taken while it serves, and the
/// master key that unseals its signing keys, side by side.
async fn backup(url: &str, to: &Path, master_key_file: &Path) -> Result<()> {
    let store = warden_store::open(url).await?;
    if store.backend() != warden_store::Backend::Sqlite {
        bail!(
            "{} is PostgreSQL: back it up with pg_dump, and copy the master key file (docs/operations.md)",
            warden_store::redact_url(url)
        );
    }
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    let db = to.join("warden.db");
    let key = to.join("master.key");
    for f in [&db, &key] {
        if f.exists() {
            bail!("{} exists: back up into an empty directory", f.display());
        }
    }
    if !master_key_file.exists() {
        bail!(
            "no master key at {}: name the server's with --master-key-file",
            master_key_file.display()
        );
    }
    let started = std::time::Instant::now();
    let path = db
        .to_str()
        .ok_or_else(|| anyhow!("{} is not UTF-8", db.display()))?;
    store.snapshot_to(path).await?;
    std::fs::copy(master_key_file, &key)
        .with_context(|| format!("copying {}", master_key_file.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))?;
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600))?;
    }
    // Both on disk before saying so.
    for f in [&db, &key] {
        std::fs::File::open(f)?.sync_all()?;
    }
    let size = std::fs::metadata(&db)?.len();
    println!(
        "backed up {} ({size} bytes) and its master key into {} in {:.1} s",
        warden_store::redact_url(url),
        to.display(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "restore: stop warden, copy {} to the database path and {} to the master key path, start warden; check with `warden audit verify`",
        db.display(),
        key.display()
    );
    Ok(())
}

/// `warden init`: the reference bodies and the first person, in one transaction.
async fn init(url: &str) -> Result<()> {
    use warden_service::install;
    let store = warden_store::open(url).await?;
    let plan = install::plan(store.as_ref()).await?;
    let shown = warden_store::redact_url(url);
    if plan.is_empty() {
        println!(
            "{shown} is already initialised: the reference organisations and {} are there; nothing changed.",
            install::FIRST_ADMIN
        );
        return Ok(());
    }
    let password = if plan.needs_admin {
        use std::io::{BufRead as _, IsTerminal as _};
        if std::io::stdin().is_terminal() {
            eprint!(
                "Password for {} (at least 12 characters; it is shown as typed): ",
                install::FIRST_ADMIN
            );
        }
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        let line = line.trim_end_matches(['\n', '\r']).to_owned();
        warden_service::admin::check_password(&line).map_err(|e| {
            anyhow!(
                "{e}: give {}'s password as one line on standard input",
                install::FIRST_ADMIN
            )
        })?;
        Some(line)
    } else {
        None
    };
    let done = install::install(
        store.as_ref(),
        plan,
        password.as_deref(),
        OffsetDateTime::now_utc(),
    )
    .await?;
    println!(
        "Initialised {shown}: {} organisations added{}.",
        done.organisations.len(),
        if done.admin_created {
            format!(", and the first person, {}", install::FIRST_ADMIN)
        } else {
            String::new()
        }
    );
    println!(
        "Next: warden serve --db '{shown}', then sign in at http://127.0.0.1:8080/ as {} with that password.\n\
         Register member organisations in the console or with POST /api/v1/organisations; \
         API tokens: warden admin token create --org SLUG --role ROLE.",
        install::FIRST_ADMIN
    );
    Ok(())
}

fn load_calendar(path: Option<&Path>) -> Result<Calendar> {
    match path {
        None => Ok(Calendar::builtin()?),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read calendar file {}", p.display()))?;
            Ok(Calendar::from_toml(&p.display().to_string(), &text)?)
        }
    }
}

fn load_policy(dir: Option<&Path>) -> Result<Policy> {
    let Some(dir) = dir else {
        return Ok(Policy::builtin()?);
    };
    let mut files = vec![];
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read policy directory {}", dir.display()))?;
    for e in entries {
        let path = e?.path();
        if path.extension().is_some_and(|x| x == "toml") {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            files.push((path.display().to_string(), text));
        }
    }
    files.sort();
    if files.is_empty() {
        bail!("{} holds no .toml policy files", dir.display());
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    Ok(Policy::load(&refs)?)
}

fn parse_date(s: &str) -> Result<Date> {
    Date::parse(s, format_description!("[year]-[month]-[day]"))
        .map_err(|_| anyhow!("{s:?} is not a date like 2026-09-28 (YYYY-MM-DD)"))
}

fn calendar_command(cal: &Calendar, cmd: CalendarCommand) -> Result<()> {
    let mark = |p: bool| if p { " provisional" } else { "" };
    match cmd {
        CalendarCommand::AddWorkingDays { date, n } => {
            println!("{}", cal.add_working_days(parse_date(&date)?, n));
        }
        CalendarCommand::IsWorkingDay { date } => {
            let r = cal.is_working_day(parse_date(&date)?);
            let word = if r.value { "working" } else { "rest" };
            println!("{word}{}", mark(r.provisional));
        }
        CalendarCommand::Count { date1, date2 } => {
            let r = cal.count_working_days(parse_date(&date1)?, parse_date(&date2)?);
            println!("{}{}", r.value, mark(r.provisional));
        }
        CalendarCommand::List { from, to } => {
            let (from, to) = (parse_date(&from)?, parse_date(&to)?);
            if to < from {
                bail!("{to} is before {from}");
            }
            if (to - from).whole_days() > 366 * 20 {
                bail!("at most 20 years at a time");
            }
            let mut out = String::new();
            let mut d = from;
            while d <= to {
                let r = cal.is_working_day(d);
                let word = if r.value { "working" } else { "rest" };
                out.push_str(&format!("{d} {word}{}\n", mark(r.provisional)));
                match d.next_day() {
                    Some(n) => d = n,
                    None => break,
                }
            }
            print!("{out}");
        }
    }
    Ok(())
}
