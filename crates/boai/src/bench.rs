//! `boai bench`: measures, in one run on one machine, the gift write path
//! against baselines, and prints ratios (the machines are shared and noisy,
//! so absolute numbers alone mean little):
//! - baseline A: single-row durable INSERTs into the same database, one
//!   after another (same sync settings as the application);
//! - baseline B: `GET /healthz` through the same server;
//! - gifts: `POST /api/v1/donations` with `--clients` concurrent clients,
//!   each with its own Idempotency-Key, confirmed, journalled, in the public
//!   ledger, audited and its key recorded before
//!   it is acknowledged (group commit); then an open-loop run at 80% of that
//!   peak rate for p50 and p99 latency (measured from each request's due
//!   time, so a slow server cannot hide its queue);
//! - ledger: entries appended per second, proof and tile look-ups over HTTP;
//! - reads at scale (`--gifts N` seeded first): the portal's totals, the
//!   portal page and a project, against a plain GROUP BY over the gifts;
//! - the process's peak RSS (server and load generator share the process).
//!
//! The load generator runs on a thread of its own (its own single-threaded
//! runtime and HTTP client) and shares the machine's cores with the server;
//! the table gives the generator's own CPU time per phase. Any failed request
//! (socket error or non-2xx) makes the run invalid: the table is printed and
//! the command fails.
//!
//! It runs against a fresh database it creates (SQLite in a temporary
//! folder, or a new database on the PostgreSQL server `--database-url`
//! names) and removes it afterwards.

use anyhow::Context;
use boai_domain::SystemClock;
use boai_store::Store;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct BenchOptions {
    pub database_url: Option<String>,
    pub seconds: u64,
    pub clients: usize,
    /// Gifts seeded before the run (the reads-at-scale phase reads them).
    pub gifts: u64,
    /// A seeded installation to bench on as it is (`--existing`): no
    /// seeding, no scratch database, no ledger check at the end (at ten
    /// million gifts that is `boai ledger check`'s job).
    pub existing: Option<(Store, boai_web::WebConfig)>,
}

/// The demo accounts' password in an `--existing` database (as `boai demo` seeded it).
fn demo_password() -> String {
    std::env::var("BOAI_DEMO_PASSWORD").unwrap_or_else(|_| "boai-demo".to_owned())
}

#[derive(Default)]
struct Load {
    ok: u64,
    failed: u64,
    elapsed: Duration,
    latencies: Vec<Duration>,
    /// CPU time the load generator's thread used.
    generator_cpu: Duration,
}

impl Load {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&mut self, p: f64) -> Duration {
        self.latencies.sort();
        let i = ((self.latencies.len() as f64 * p) as usize).min(self.latencies.len().saturating_sub(1));
        self.latencies.get(i).copied().unwrap_or_default()
    }
}

/// CPU time (user + system) the calling thread has used.
fn thread_cpu() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/thread-self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the command name in parentheses: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    Duration::from_millis(ticks * 10)
}

/// The process's peak resident memory (VmHWM), in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Runs `work` on a load-generator thread of its own (a single-threaded
/// runtime with its own HTTP client), and adds that thread's CPU time.
async fn on_generator<W, Fut>(work: W) -> anyhow::Result<Load>
where
    W: FnOnce(reqwest::Client) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Load>,
{
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("bench-load".to_owned())
        .spawn(move || {
            let load = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(anyhow::Error::from)
                .and_then(|rt| {
                    let client = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;
                    let before = thread_cpu();
                    let mut load = rt.block_on(work(client));
                    load.generator_cpu = thread_cpu().saturating_sub(before);
                    Ok(load)
                });
            let _ = done.send(load);
        })?;
    result.await?
}

/// Closed loop: `clients` clients, each sending its next request when the last is answered.
async fn load<F, Fut>(clients: usize, duration: Duration, make: F) -> anyhow::Result<Load>
where
    F: Fn(reqwest::Client, usize, u64) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    on_generator(move |client| async move {
        let start = Instant::now();
        let mut tasks = Vec::new();
        for c in 0..clients {
            let make = make.clone();
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                let (mut ok, mut failed, mut latencies) = (0u64, 0u64, Vec::new());
                let mut i = 0u64;
                while start.elapsed() < duration {
                    let t = Instant::now();
                    if make(client.clone(), c, i).await {
                        ok += 1;
                        latencies.push(t.elapsed());
                    } else {
                        failed += 1;
                    }
                    i += 1;
                }
                (ok, failed, latencies)
            }));
        }
        let mut total = Load::default();
        for t in tasks {
            if let Ok((ok, failed, lat)) = t.await {
                total.ok += ok;
                total.failed += failed;
                total.latencies.extend(lat);
            }
        }
        total.elapsed = start.elapsed();
        total
    })
    .await
}

/// Open loop: one request every 1/`rate` seconds whatever the answers do;
/// latency counts from when the request was due.
async fn paced<F, Fut>(rate: f64, duration: Duration, make: F) -> anyhow::Result<Load>
where
    F: Fn(reqwest::Client, usize, u64) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    on_generator(move |client| async move {
        let interval = Duration::from_secs_f64(1.0 / rate.max(1.0));
        let start = tokio::time::Instant::now();
        let mut tasks = Vec::new();
        let mut i = 0u64;
        loop {
            let due = start + interval.mul_f64(i as f64);
            if due - start >= duration {
                break;
            }
            tokio::time::sleep_until(due).await;
            let request = make(client.clone(), (i % 64) as usize, i);
            tasks.push(tokio::spawn(async move {
                let ok = request.await;
                (ok, due.elapsed())
            }));
            i += 1;
        }
        let mut total = Load::default();
        for t in tasks {
            match t.await {
                Ok((true, latency)) => {
                    total.ok += 1;
                    total.latencies.push(latency);
                }
                _ => total.failed += 1,
            }
        }
        total.elapsed = start.elapsed();
        total
    })
    .await
}

/// Sequential requests, one at a time: latency of a single reader.
async fn sequential(url: String, token: Option<String>, count: u64) -> anyhow::Result<Load> {
    on_generator(move |client| async move {
        let start = Instant::now();
        let mut total = Load::default();
        for _ in 0..count {
            let t = Instant::now();
            let mut request = client.get(&url);
            if let Some(token) = &token {
                request = request.bearer_auth(token);
            }
            let ok = match request.send().await {
                Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                Err(_) => false,
            };
            if ok {
                total.ok += 1;
                total.latencies.push(t.elapsed());
            } else {
                total.failed += 1;
            }
        }
        total.elapsed = start.elapsed();
        total
    })
    .await
}

pub async fn run(mut options: BenchOptions) -> anyhow::Result<()> {
    if let Some((store, config)) = options.existing.take() {
        anyhow::ensure!(
            store.gift_count().await? > 0,
            "--existing: the database holds no gifts (seed it with `boai demo --gifts N` first)"
        );
        return measure(store, config, &options, &demo_password(), false).await;
    }
    let dir = tempfile::tempdir()?;
    let (url, cleanup) = match options.database_url.as_deref() {
        Some(server) if server.starts_with("postgres") => {
            let url = boai_store::create_scratch_database(server, "boai_bench").await?;
            (url.clone(), Some((server.to_owned(), url)))
        }
        Some(other) => {
            anyhow::bail!("--database-url must be a postgres:// server URL (SQLite is used by default): {other}")
        }
        None => (format!("sqlite://{}", dir.path().join("bench.db").display()), None),
    };
    let result = async {
        let store = Store::connect(&url, Arc::new(SystemClock))
            .await
            .context("cannot open the bench database")?;
        store.migrate().await?;
        measure(store, boai_web::WebConfig::default(), &options, BENCH_PASSWORD, true).await
    }
    .await;
    if let Some((server, url)) = cleanup {
        let _ = boai_store::drop_scratch_database(&server, &url).await;
    }
    result
}

async fn get_ok(client: reqwest::Client, url: String) -> bool {
    match client.get(url).send().await {
        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
        Err(_) => false,
    }
}

fn post_gift(
    client: reqwest::Client,
    url: String,
    token: String,
    project: String,
    client_no: usize,
    i: u64,
) -> impl std::future::Future<Output = bool> + Send {
    let body = serde_json::json!({
        "project_id": project, "amount_fen": 1000 + (i % 997) as i64, "channel": "bank_transfer",
        "donor": {"kind": "person", "name": format!("压测{client_no}"), "phone": format!("139{:08}", client_no)}
    });
    async move {
        // Every gift carries its own Idempotency-Key, as a donor's phone
        // retrying over a bad network would: the key's record is part of
        // the write path measured.
        client
            .post(url)
            .bearer_auth(token)
            .header("idempotency-key", uuid::Uuid::new_v4().to_string())
            .json(&body)
            .send()
            .await
            .map(|r| r.status().as_u16() == 201)
            .unwrap_or(false)
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// The demo accounts' password in the bench's own scratch database.
const BENCH_PASSWORD: &str = "bench-password-1";

/// Runs every phase on `store`; `fresh`: a scratch database the bench seeds
/// (and checks in full afterwards).
async fn measure(
    store: Store,
    config: boai_web::WebConfig,
    options: &BenchOptions,
    password: &str,
    fresh: bool,
) -> anyhow::Result<()> {
    let duration = Duration::from_secs(options.seconds.max(1));
    let seeding = if fresh {
        eprintln!(
            "bench: {} · {} s per phase · {} clients · {} gifts seeded first",
            store.backend().as_str(),
            duration.as_secs(),
            options.clients,
            options.gifts
        );
        let bar = indicatif::ProgressBar::new(options.gifts);
        bar.set_style(
            indicatif::ProgressStyle::with_template("seeding [{bar:40}] {pos}/{len} gifts ({per_sec}, eta {eta})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let seeding = Instant::now();
        boai_store::demo::seed(&store, password, options.gifts, |done, _| bar.set_position(done)).await?;
        bar.finish_and_clear();
        Some(seeding.elapsed())
    } else {
        eprintln!(
            "bench: {} · {} s per phase · {} clients · on the existing database ({} gifts)",
            store.backend().as_str(),
            duration.as_secs(),
            options.clients,
            store.gift_count().await?
        );
        None
    };

    eprintln!("bench: baseline A (single-row durable INSERTs)…");
    let raw = store.raw_insert_baseline(duration).await?;
    let raw_rate = raw as f64 / duration.as_secs_f64();

    let state = boai_web::AppState::new(
        store.clone(),
        boai_web::WebConfig {
            login_rate_per_minute: 1_000_000,
            ..config
        },
    );
    state.set_ready();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    // The server (and its checkpoint signer) stops when `stop` is dropped:
    // at the end of the run, or on any early return.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(boai_web::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();

    eprintln!("bench: baseline B (GET /healthz)…");
    let b = base.clone();
    let mut health = load(options.clients, duration, move |c, _, _| {
        get_ok(c, format!("{b}/healthz"))
    })
    .await?;
    let health_rate = health.rate();

    let token: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/token"))
        .json(&serde_json::json!({"username": "caiwu", "password": password}))
        .send()
        .await?
        .json()
        .await?;
    let token = token["token"].as_str().context("no token")?.to_owned();
    let projects: serde_json::Value = client
        .get(format!("{base}/api/v1/projects?per_page=100"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let project = projects["items"]
        .as_array()
        .and_then(|items| items.iter().find(|p| p["code"] == "CATARACT"))
        .and_then(|p| p["id"].as_str())
        .context("no CATARACT project")?
        .to_owned();

    let ledger_before = store.ledger_size().await?;
    eprintln!("bench: gifts at full load (POST /api/v1/donations)…");
    let (b, t, p) = (base.clone(), token.clone(), project.clone());
    let mut gifts = load(options.clients, duration, move |c, client_no, i| {
        post_gift(c, format!("{b}/api/v1/donations"), t.clone(), p.clone(), client_no, i)
    })
    .await?;
    let ledger_after = store.ledger_size().await?;
    let appended = ledger_after - ledger_before;

    let target = gifts.rate() * 0.8;
    eprintln!("bench: gifts at 80% of the peak ({target:.0}/s, open loop)…");
    let (b, t, p) = (base.clone(), token.clone(), project.clone());
    let mut steady = paced(target, duration, move |c, client_no, i| {
        post_gift(c, format!("{b}/api/v1/donations"), t.clone(), p.clone(), client_no, i)
    })
    .await?;
    let ledger_after = store.ledger_size().await?;

    eprintln!("bench: inclusion proofs (GET /api/v1/ledger/proofs/{{i}})…");
    let b = base.clone();
    let mut proofs = load(options.clients, duration, move |c, client_no, i| {
        let index = (i * 7919 + client_no as u64 * 104_729) % ledger_after.max(1);
        get_ok(c, format!("{b}/api/v1/ledger/proofs/{index}"))
    })
    .await?;

    eprintln!("bench: full tiles (GET /ledger/tile/0/N)…");
    let b = base.clone();
    let full_tiles = ledger_after / 256;
    anyhow::ensure!(
        full_tiles > 0,
        "the ledger holds {ledger_after} entries, not one full tile of 256: seed more gifts (--gifts)"
    );
    let mut tiles = load(options.clients, duration, move |c, client_no, i| {
        let n = (i + client_no as u64) % full_tiles;
        let path = boai_ledger::TilePath::Hashes {
            level: 0,
            index: n,
            width: 256,
        }
        .path();
        get_ok(c, format!("{b}/ledger/{path}"))
    })
    .await?;

    eprintln!("bench: reads at scale…");
    let gift_rows = store.gift_count().await?;
    let group_by = store.raw_group_by_gifts().await?;
    // The portal's digest is warm after the first request; later ones add only new entries.
    let mut totals = sequential(format!("{base}/transparency/totals.json"), None, 50).await?;
    let mut portal = sequential(format!("{base}/transparency"), None, 20).await?;
    let mut project_read = sequential(format!("{base}/api/v1/projects/{project}"), Some(token.clone()), 50).await?;
    let rss = peak_rss_mib();

    let report = store.books_check().await?;
    let ledger = if fresh {
        Some(store.ledger_check(None, None, &|_, _| {}).await?)
    } else {
        None
    };

    println!(
        "Boai bench — {} — {} s per phase, {} concurrent clients; load generator on its own thread in the same process, sharing the machine's cores",
        store.backend().as_str(),
        duration.as_secs(),
        options.clients
    );
    match seeding {
        Some(seeding) => println!(
            "  seeding     demo city with {} gifts         {:>10.1} s",
            options.gifts,
            seeding.as_secs_f64()
        ),
        None => println!("  seeding     none: an existing database of {gift_rows} gifts"),
    }
    println!("  baseline A  raw single-row durable INSERT   {raw_rate:>10.1} rows/s   (1.00)");
    println!(
        "  baseline B  GET /healthz                     {:>10.1} req/s    ({:.2} × A)  p50 {} p99 {}  generator CPU {:.1} s",
        health_rate,
        health_rate / raw_rate,
        ms(health.percentile(0.5)),
        ms(health.percentile(0.99)),
        health.generator_cpu.as_secs_f64()
    );
    println!(
        "  gifts       POST /api/v1/donations, peak     {:>10.1} gifts/s  ({:.2} × A)  p50 {} p99 {}  ({} ok, {} failed; generator CPU {:.1} s)",
        gifts.rate(),
        gifts.rate() / raw_rate,
        ms(gifts.percentile(0.5)),
        ms(gifts.percentile(0.99)),
        gifts.ok,
        gifts.failed,
        gifts.generator_cpu.as_secs_f64()
    );
    println!(
        "  gifts       at 80% of peak, open loop        {:>10.1} gifts/s  ({:.2} × A)  p50 {} p99 {}  ({} ok, {} failed)",
        steady.rate(),
        steady.rate() / raw_rate,
        ms(steady.percentile(0.5)),
        ms(steady.percentile(0.99)),
        steady.ok,
        steady.failed
    );
    println!(
        "  ledger      entries appended (one per gift)  {:>10.1} entries/s ({:.2} × A)  ({appended} entries, in the gifts' transactions)",
        appended as f64 / gifts.elapsed.as_secs_f64(),
        appended as f64 / gifts.elapsed.as_secs_f64() / raw_rate,
    );
    println!(
        "  proofs      GET /api/v1/ledger/proofs/{{i}}  {:>10.1} proofs/s ({:.2} × B)  p50 {} p99 {}  ({} ok, {} failed; tree of {ledger_after})",
        proofs.rate(),
        proofs.rate() / health_rate,
        ms(proofs.percentile(0.5)),
        ms(proofs.percentile(0.99)),
        proofs.ok,
        proofs.failed
    );
    println!(
        "  tiles       GET /ledger/tile/0/N (full)      {:>10.1} tiles/s  ({:.2} × B)  p50 {} p99 {}  ({} ok, {} failed)",
        tiles.rate(),
        tiles.rate() / health_rate,
        ms(tiles.percentile(0.5)),
        ms(tiles.percentile(0.99)),
        tiles.ok,
        tiles.failed
    );
    println!(
        "  at scale    plain GROUP BY over {gift_rows} gifts {:>10}",
        ms(group_by)
    );
    for (name, load) in [
        ("GET /transparency/totals.json ", &mut totals),
        ("GET /transparency (portal)    ", &mut portal),
        ("GET /api/v1/projects/{id}     ", &mut project_read),
    ] {
        let p50 = load.percentile(0.5);
        println!(
            "  at scale    {name}   p50 {:>10}  ({:.0} × faster than the GROUP BY)  p99 {}  ({} ok, {} failed)",
            ms(p50),
            group_by.as_secs_f64() / p50.as_secs_f64().max(1e-9),
            ms(load.percentile(0.99)),
            load.ok,
            load.failed
        );
    }
    println!("  memory      peak RSS of the process (server + generator) {rss:>8.1} MiB");
    match &ledger {
        Some(ledger) => println!(
            "  ledger check after the run: {} entries, {}",
            ledger.size,
            if ledger.holds() {
                "every entry matches the books"
            } else {
                "PROBLEMS"
            }
        ),
        None => println!("  ledger check after the run: not run on an existing database (run `boai ledger check`)"),
    }
    println!(
        "  books after the run: {} entries, trial balance {}, running balances {}",
        report.entries,
        if report.trial_balance.balanced() {
            "balanced"
        } else {
            "UNBALANCED"
        },
        if report.mismatched_accounts.is_empty() {
            "equal the journal"
        } else {
            "DIFFER from the journal"
        }
    );
    let failed = [
        &health,
        &gifts,
        &steady,
        &proofs,
        &tiles,
        &totals,
        &portal,
        &project_read,
    ]
    .iter()
    .map(|l| l.failed)
    .sum::<u64>();
    // Stop the server before the database goes (a scratch one is dropped next).
    drop(stop);
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
    anyhow::ensure!(
        failed == 0,
        "INVALID run: {failed} requests failed (socket error or non-2xx)"
    );
    anyhow::ensure!(report.holds(), "the books do not hold after the run");
    if let Some(ledger) = &ledger {
        anyhow::ensure!(
            ledger.holds(),
            "the ledger check failed after the run: {:?}",
            ledger.problems
        );
    }
    store.close().await;
    Ok(())
}
