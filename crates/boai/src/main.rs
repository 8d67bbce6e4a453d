//! `boai`: the command line. Parsing and wiring only; everything it does is
//! a call into the store or the web crate.

mod backup;
mod bench;
mod ledger;
mod settings;

use anyhow::{bail, Context};
use boai_domain::SystemClock;
use boai_store::audit::AuditVerdict;
use boai_store::Store;
use clap::{Parser, Subcommand};
use settings::Settings;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// mimalloc gives memory back to the system after a peak (seeding the demo,
/// a large export) where glibc's allocator keeps it; see
/// docs/decisions/0010-allocator.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "boai",
    version,
    about = "博爱 Boai: the platform a city Red Cross society runs on"
)]
struct Cli {
    /// A TOML settings file (see `boai print-config`).
    #[arg(long, global = true, env = "BOAI_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (migrates the database first).
    Serve {
        /// Seed the demo city if the database is empty.
        #[arg(long)]
        demo: bool,
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long)]
        listen: Option<String>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Apply database migrations.
    Migrate {
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Fill an empty database with the demo city.
    Demo {
        /// How many gifts to seed over the demo year.
        #[arg(long, default_value_t = boai_store::demo::DEFAULT_GIFTS)]
        gifts: u64,
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Print a documented example configuration.
    PrintConfig,
    /// Measure the gift write path against baselines (see `bench.rs`).
    Bench {
        /// A PostgreSQL server URL to bench on (a fresh database is created); default SQLite.
        #[arg(long)]
        database_url: Option<String>,
        /// Seconds per phase.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Concurrent clients (a giving day has thousands of donors at once;
        /// with few clients the group commit's batches stay small).
        #[arg(long, default_value_t = 64)]
        clients: usize,
        /// Gifts in the demo city seeded before the run (reads at scale use them).
        #[arg(long, default_value_t = 2_000)]
        gifts: u64,
        /// Bench on this installation's database as it is (seeded beforehand by
        /// `boai demo --gifts N`, e.g. ten million): nothing is seeded, the
        /// gift phases add their gifts to it, the final ledger check is left
        /// to `boai ledger check`. With `--database-url`/`--data-dir` naming it.
        #[arg(long)]
        existing: bool,
        /// The data folder of the `--existing` database (its keys).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Make a ledger signing key (refuses to overwrite one).
    Keygen {
        /// The key's name: the ledger's origin line.
        #[arg(long)]
        name: Option<String>,
        /// Where to write the private key (default: the configured key file).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Audit a running instance's public ledger over HTTP.
    Verify {
        /// The instance's base address, e.g. https://boai.example.
        #[arg(long)]
        url: String,
        /// Remembers the last checkpoint and key seen, to detect forks,
        /// rollbacks and key changes between runs.
        #[arg(long)]
        state: Option<PathBuf>,
    },
    /// Public-ledger commands.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// Online, consistent backup of the database and the data folder into one archive.
    Backup {
        /// The archive to write (tar.gz).
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Restore a backup into an empty database and data folder.
    Restore {
        /// The archive `boai backup` wrote.
        file: PathBuf,
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Audit-trail commands.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Personal-data key commands.
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
    },
}

#[derive(Subcommand)]
enum SecretsCommand {
    /// Rotate the personal-data key while the server keeps running: a new key
    /// becomes current, every encrypted value is sealed again with it (in
    /// batches), then the old key is retired from secrets.json.
    Rotate {
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Seconds to wait for running servers to take the new key (they look
        /// at secrets.json once a second) and, at the end, for writes begun
        /// under the old key to commit, before the old key is retired.
        #[arg(long, default_value_t = 5)]
        grace_seconds: u64,
    },
}

#[derive(Subcommand)]
enum LedgerCommand {
    /// Check the ledger against the books, in the database.
    Check {
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain of the audit trail.
    Verify {
        #[arg(long)]
        database_url: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut settings = match Settings::load(cli.config.as_ref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("boai: bad configuration: {e}");
            return ExitCode::from(2);
        }
    };
    if let Command::PrintConfig = cli.command {
        print!("{}", settings::EXAMPLE);
        return ExitCode::SUCCESS;
    }
    init_logging(&settings);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("boai: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, &mut settings)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("boai: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&settings.log_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if settings.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn open(settings: &Settings) -> anyhow::Result<Store> {
    let url = settings.database_url();
    let store = Store::connect(&url, Arc::new(SystemClock))
        .await
        .context("cannot open the database")?;
    store.migrate().await.context("migrations failed")?;
    Ok(store)
}

/// Connects with the installation's keys from the data folder.
async fn connect(settings: &Settings) -> anyhow::Result<Store> {
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("cannot create the data folder {}", settings.data_dir.display()))?;
    let secrets = boai_store::secrets::Secrets::load_or_create(&settings.data_dir.join("secrets.json"))?;
    let url = settings.database_url();
    Ok(Store::connect(&url, Arc::new(SystemClock))
        .await
        .context("cannot open the database")?
        .with_secrets(secrets))
}

/// Seeds the demo with a progress bar on stderr.
async fn seed_demo(store: &Store, gifts: u64) -> anyhow::Result<bool> {
    let bar = indicatif::ProgressBar::new(gifts);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} gifts ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message("seeding the demo city");
    let seeded = boai_store::demo::seed(store, &demo_password(), gifts, |done, _| bar.set_position(done)).await?;
    bar.finish_and_clear();
    Ok(seeded)
}

fn demo_password() -> String {
    std::env::var("BOAI_DEMO_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "boai-demo".to_owned())
}

async fn run(command: Command, settings: &mut Settings) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve {
            demo,
            database_url,
            listen,
            data_dir,
        } => {
            override_location(settings, database_url, None);
            if let Some(listen) = listen {
                settings.listen = listen;
            }
            if let Some(dir) = data_dir {
                settings.data_dir = dir;
            }
            serve(settings, demo).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate { database_url } => {
            override_location(settings, database_url, None);
            let store = open(settings).await?;
            println!("migrations applied ({})", store.backend().as_str());
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo {
            gifts,
            database_url,
            data_dir,
        } => {
            override_location(settings, database_url, data_dir);
            let store = connect(settings).await?;
            store.migrate().await.context("migrations failed")?;
            if seed_demo(&store, gifts).await? {
                // The demo's ledger key, so a later `boai serve` signs with it.
                ledger::load_signer(settings, true)?;
                println!(
                    "demo city seeded: {} organisations, {gifts} gifts, accounts {}",
                    boai_store::demo::demo_orgs(chrono::Utc::now()).len(),
                    boai_store::demo::ACCOUNTS
                        .iter()
                        .map(|a| a.0)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                Ok(ExitCode::SUCCESS)
            } else {
                bail!("the database already holds data; the demo seeds only an empty database")
            }
        }
        Command::Audit {
            command: AuditCommand::Verify { database_url },
        } => {
            override_location(settings, database_url, None);
            let store = open(settings).await?;
            let verdict = store
                .verify_audit(|done, of| eprint!("\rchecked {done} of {of} audit rows"))
                .await?;
            eprintln!();
            match verdict {
                AuditVerdict::Intact { rows } => {
                    println!("audit trail intact: {rows} rows, every hash and link checked");
                    Ok(ExitCode::SUCCESS)
                }
                AuditVerdict::Broken(why) => {
                    println!("audit trail BROKEN: {why}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Bench {
            database_url,
            seconds,
            clients,
            gifts,
            existing,
            data_dir,
        } => {
            let existing = if existing {
                override_location(settings, database_url.clone(), data_dir);
                let store = connect(settings).await?;
                store.migrate().await.context("migrations failed")?;
                // The installation's own ledger key and witness: checkpoints
                // the bench's server signs must verify like any other.
                let mut config = settings.web_config()?;
                config.ledger_signer = Some(Arc::new(ledger::load_signer(settings, false)?));
                Some((store, config))
            } else {
                None
            };
            bench::run(bench::BenchOptions {
                database_url,
                seconds,
                clients,
                gifts,
                existing,
            })
            .await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Keygen { name, out } => {
            let name = name.unwrap_or_else(|| settings.ledger_origin.clone());
            let path = out.unwrap_or_else(|| settings.ledger_key_path());
            let signer = ledger::keygen(&name, &path)?;
            eprintln!(
                "wrote the private key to {} (keep it secret, back it up)",
                path.display()
            );
            println!("{}", signer.verifier_key());
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify { url, state } => ledger::verify(&url, state.as_deref()).await,
        Command::Ledger {
            command: LedgerCommand::Check { database_url, data_dir },
        } => {
            override_location(settings, database_url, data_dir);
            let store = open(settings).await?;
            ledger::check(&store, settings).await
        }
        Command::Backup {
            out,
            database_url,
            data_dir,
        } => {
            override_location(settings, database_url, data_dir);
            backup::backup(settings, &out).await
        }
        Command::Restore {
            file,
            database_url,
            data_dir,
        } => {
            override_location(settings, database_url, data_dir);
            backup::restore(settings, &file).await
        }
        Command::Secrets {
            command:
                SecretsCommand::Rotate {
                    database_url,
                    data_dir,
                    grace_seconds,
                },
        } => {
            override_location(settings, database_url, data_dir);
            rotate_secrets(settings, std::time::Duration::from_secs(grace_seconds)).await
        }
        Command::PrintConfig => Ok(ExitCode::SUCCESS),
    }
}

/// Command-line `--database-url` / `--data-dir` win over the configuration.
fn override_location(settings: &mut Settings, database_url: Option<String>, data_dir: Option<std::path::PathBuf>) {
    if let Some(url) = database_url {
        settings.database_url = Some(url);
    }
    if let Some(dir) = data_dir {
        settings.data_dir = dir;
    }
}

/// `boai secrets rotate` (docs/decisions/0009-key-rotation.md).
async fn rotate_secrets(settings: &Settings, grace: std::time::Duration) -> anyhow::Result<ExitCode> {
    use boai_store::secrets::Secrets;
    let path = settings.data_dir.join("secrets.json");
    if !path.exists() {
        bail!("{} does not exist: nothing to rotate", path.display());
    }
    let (current, old) = Secrets::begin_rotation(&path)?;
    println!(
        "data key {current} is current; re-encrypting what keys {} sealed",
        old.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
    );
    let store = connect(settings).await?;
    store.migrate().await.context("migrations failed")?;
    if store.secrets().current_key_id() != current {
        bail!("secrets.json changed under the rotation; run it again");
    }
    eprintln!(
        "waiting {} s for running servers to seal with key {current}",
        grace.as_secs()
    );
    tokio::time::sleep(grace).await;
    let mut clean_passes = 0;
    for pass_no in 1..=20 {
        let passes = store
            .reencrypt_pass(|table, column, seen| eprint!("\rpass {pass_no}: {table}.{column}: {seen} values   "))
            .await?;
        eprintln!();
        let rewritten: u64 = passes.iter().map(|p| p.rewritten).sum();
        let raced: u64 = passes.iter().map(|p| p.raced).sum();
        for p in passes.iter().filter(|p| p.values > 0) {
            println!(
                "pass {pass_no}: {}.{}: {} values, {} re-encrypted{}",
                p.table,
                p.column,
                p.values,
                p.rewritten,
                if p.raced > 0 {
                    format!(", {} changed meanwhile", p.raced)
                } else {
                    String::new()
                }
            );
        }
        let left = store.key_census().await?.not_under(current);
        if rewritten == 0 && raced == 0 && left == 0 {
            clean_passes += 1;
            if clean_passes == 2 {
                let retired = Secrets::retire_old_keys(&path)?;
                println!(
                    "no value is sealed with an older key; retired key(s) {} from {}",
                    retired.iter().map(u32::to_string).collect::<Vec<_>>().join(", "),
                    path.display()
                );
                return Ok(ExitCode::SUCCESS);
            }
            // Writes begun under the old key just before the switch may still commit.
            tokio::time::sleep(grace).await;
        } else {
            clean_passes = 0;
        }
    }
    println!("values under an older key keep appearing; the old key is kept (run again)");
    Ok(ExitCode::FAILURE)
}

async fn serve(settings: &Settings, demo: bool) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let store = connect(settings).await?;
    let signer = ledger::load_signer(settings, demo)?;
    let mut config = settings.web_config()?;
    config.ledger_signer = Some(Arc::new(signer));
    // The sandbox confirms gifts without money: the demo turns it on, a
    // plain serve only when the settings say so (and then says so loudly).
    config.sandbox_payments = settings.sandbox_payments || demo;
    if config.sandbox_payments && !demo {
        tracing::warn!(
            "sandbox payment provider ON (sandbox_payments = true): online gifts are confirmed without money"
        );
    } else if config.sandbox_payments {
        tracing::info!("sandbox payment provider on (demo)");
    } else {
        tracing::info!("sandbox payment provider off; /sandbox/… answers 404");
    }
    tracing::info!(
        metrics = ?config.metrics,
        trusted_proxies = settings.trusted_proxies.len(),
        max_connections_per_ip = config.max_connections_per_ip,
        "web settings"
    );
    let state = boai_web::AppState::new(store.clone(), config);
    tracing::info!(listen = %settings.listen, backend = store.backend().as_str(), "boai starting");
    let server = tokio::spawn(boai_web::serve(listener, state.clone(), shutdown_signal()));
    store.migrate().await.context("migrations failed")?;
    if demo {
        // Seeded through a store of its own, closed afterwards: its
        // connections' caches of large bulk statements go with it instead
        // of staying in the serving process.
        let seeder = connect(settings).await?;
        let seeded = seed_demo(&seeder, settings.demo_gifts).await;
        seeder.close().await;
        if seeded? {
            tracing::info!("demo city seeded");
        }
    }
    state.set_ready();
    tracing::info!("ready");
    server.await.context("server task failed")?.context("server failed")?;
    store.close().await;
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
    tracing::info!("shutting down");
}
