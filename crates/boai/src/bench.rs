//! `boai bench`: measures, in one run on one machine, the gift write path
//! against baselines, and prints ratios (the machines are shared and noisy,
//! so absolute numbers alone mean little):
//! - baseline A: single-row durable INSERTs into the same database, one
//!   after another (same sync settings as the application);
//! - baseline B: `GET /healthz` through the same server;
//! - gifts: `POST /api/v1/donations` with `--clients` concurrent clients,
//!   each gift confirmed, journalled and audited before it is acknowledged;
//!   p50 and p99 latency.
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
}

struct Load {
    ok: u64,
    failed: u64,
    elapsed: Duration,
    latencies: Vec<Duration>,
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

async fn load<F, Fut>(clients: usize, duration: Duration, make: F) -> Load
where
    F: Fn(usize, u64) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let make = make.clone();
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut failed, mut latencies) = (0u64, 0u64, Vec::new());
            let mut i = 0u64;
            while start.elapsed() < duration {
                let t = Instant::now();
                if make(c, i).await {
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
    let mut total = Load {
        ok: 0,
        failed: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
    };
    for t in tasks {
        if let Ok((ok, failed, lat)) = t.await {
            total.ok += ok;
            total.failed += failed;
            total.latencies.extend(lat);
        }
    }
    total.elapsed = start.elapsed();
    total
}

pub async fn run(options: BenchOptions) -> anyhow::Result<()> {
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
    let result = measure(&url, &options).await;
    if let Some((server, url)) = cleanup {
        let _ = boai_store::drop_scratch_database(&server, &url).await;
    }
    result
}

async fn measure(url: &str, options: &BenchOptions) -> anyhow::Result<()> {
    let duration = Duration::from_secs(options.seconds.max(1));
    let store = Store::connect(url, Arc::new(SystemClock))
        .await
        .context("cannot open the bench database")?;
    store.migrate().await?;
    eprintln!(
        "bench: {} · {} s per phase · {} clients",
        store.backend().as_str(),
        duration.as_secs(),
        options.clients
    );
    boai_store::demo::seed(&store, "bench-password-1", 200, |_, _| {}).await?;

    eprintln!("bench: baseline A (single-row durable INSERTs)…");
    let raw = store.raw_insert_baseline(duration).await?;
    let raw_rate = raw as f64 / duration.as_secs_f64();

    let state = boai_web::AppState::new(
        store.clone(),
        boai_web::WebConfig {
            login_rate_per_minute: 1_000_000,
            ..Default::default()
        },
    );
    state.set_ready();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(boai_web::serve(listener, state, std::future::pending()));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(options.clients * 2)
        .build()?;

    eprintln!("bench: baseline B (GET /healthz)…");
    let c = client.clone();
    let b = base.clone();
    let mut health = load(options.clients, duration, move |_, _| {
        let c = c.clone();
        let url = format!("{b}/healthz");
        async move {
            c.get(url)
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false)
        }
    })
    .await;

    let token: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/token"))
        .json(&serde_json::json!({"username": "caiwu", "password": "bench-password-1"}))
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
    eprintln!("bench: gifts (POST /api/v1/donations)…");
    let c = client.clone();
    let b = base.clone();
    let mut gifts = load(options.clients, duration, move |client_no, i| {
        let c = c.clone();
        let url = format!("{b}/api/v1/donations");
        let body = serde_json::json!({
            "project_id": project, "amount_fen": 1000 + (i % 997) as i64, "channel": "bank_transfer",
            "donor": {"kind": "person", "name": format!("压测{client_no}"), "phone": format!("139{:08}", client_no)}
        });
        let token = token.clone();
        async move {
            c.post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .map(|r| r.status().as_u16() == 201)
                .unwrap_or(false)
        }
    })
    .await;
    let ledger_after = store.ledger_size().await?;
    let appended = ledger_after - ledger_before;

    eprintln!("bench: inclusion proofs (GET /api/v1/ledger/proofs/{{i}})…");
    let c = client.clone();
    let b = base.clone();
    let mut proofs = load(options.clients, duration, move |client_no, i| {
        let c = c.clone();
        let index = (i * 7919 + client_no as u64 * 104_729) % ledger_after.max(1);
        let url = format!("{b}/api/v1/ledger/proofs/{index}");
        async move {
            c.get(url)
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false)
        }
    })
    .await;

    eprintln!("bench: full tiles (GET /ledger/tile/0/N)…");
    let c = client.clone();
    let b = base.clone();
    let full_tiles = (ledger_after / 256).max(1);
    let mut tiles = load(options.clients, duration, move |client_no, i| {
        let c = c.clone();
        let n = (i + client_no as u64) % full_tiles;
        let url = format!(
            "{b}/ledger/tile/0/{}",
            boai_ledger::TilePath::Hashes {
                level: 0,
                index: n,
                width: 256
            }
            .path()
            .trim_start_matches("tile/0/")
        );
        async move {
            c.get(url)
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false)
        }
    })
    .await;
    let report = store.books_check().await?;
    let ledger = store.ledger_check(None, None, &|_, _| {}).await?;

    println!(
        "Boai bench — {} — {} s per phase, {} concurrent clients",
        store.backend().as_str(),
        duration.as_secs(),
        options.clients
    );
    println!("  baseline A  raw single-row durable INSERT   {raw_rate:>10.1} rows/s   (1.00)");
    println!(
        "  baseline B  GET /healthz                     {:>10.1} req/s    ({:.2} × A)  p50 {:?} p99 {:?}",
        health.rate(),
        health.rate() / raw_rate,
        health.percentile(0.5),
        health.percentile(0.99)
    );
    println!(
        "  gifts       POST /api/v1/donations           {:>10.1} gifts/s  ({:.2} × A)  p50 {:?} p99 {:?}  ({} ok, {} failed)",
        gifts.rate(),
        gifts.rate() / raw_rate,
        gifts.percentile(0.5),
        gifts.percentile(0.99),
        gifts.ok,
        gifts.failed
    );
    println!(
        "  ledger      entries appended (one per gift)  {:>10.1} entries/s ({:.2} × A)  ({appended} entries, in the gifts' transactions)",
        appended as f64 / duration.as_secs_f64(),
        appended as f64 / duration.as_secs_f64() / raw_rate,
    );
    println!(
        "  proofs      GET /api/v1/ledger/proofs/{{i}}  {:>10.1} proofs/s ({:.2} × A)  p50 {:?} p99 {:?}  ({} ok, {} failed; tree of {ledger_after})",
        proofs.rate(),
        proofs.rate() / raw_rate,
        proofs.percentile(0.5),
        proofs.percentile(0.99),
        proofs.ok,
        proofs.failed
    );
    println!(
        "  tiles       GET /ledger/tile/0/N (full)      {:>10.1} tiles/s  ({:.2} × A)  p50 {:?} p99 {:?}",
        tiles.rate(),
        tiles.rate() / raw_rate,
        tiles.percentile(0.5),
        tiles.percentile(0.99)
    );
    println!(
        "  ledger check after the run: {} entries, {}",
        ledger.size,
        if ledger.holds() {
            "every entry matches the books"
        } else {
            "PROBLEMS"
        }
    );
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
    anyhow::ensure!(report.holds(), "the books do not hold after the run");
    anyhow::ensure!(
        ledger.holds(),
        "the ledger check failed after the run: {:?}",
        ledger.problems
    );
    store.close().await;
    Ok(())
}
