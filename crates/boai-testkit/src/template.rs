//! The demo city seeded once per test run and copied for every test that
//! asks for it: a file copy on SQLite (the template is checkpointed and
//! closed first), `CREATE DATABASE … TEMPLATE` on PostgreSQL. A test's clock
//! starts at the instant the template was seeded and its store holds the
//! template's keys, so a copy behaves exactly as a fresh seeding would.
//!
//! One template per backend and run: `BOAI_TEST_RUN` (set by
//! scripts/test.sh) names the run; without it the test binary's path and
//! modification time do, so a rebuilt binary seeds anew. Processes and
//! threads agree through a file lock beside the template. scripts/test.sh
//! removes the templates at the end of a run.

use crate::{backend, pg_server_url, TestDb, DEMO_GIFTS, PASSWORD};
use anyhow::Context;
use boai_domain::FixedClock;
use boai_store::secrets::Secrets;
use boai_store::Store;
use sea_orm::{ConnectionTrait, Database};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The prefix of template databases on PostgreSQL (dropped by scripts/test.sh).
pub const PG_TEMPLATE_PREFIX: &str = "boai_tpl_";

/// Where the templates of this machine live.
pub fn templates_root() -> PathBuf {
    std::env::temp_dir().join("boai-test-templates")
}

/// A seeded demo city to copy.
struct Template {
    dir: PathBuf,
    at: chrono::DateTime<chrono::Utc>,
}

fn run_key() -> String {
    if let Ok(run) = std::env::var("BOAI_TEST_RUN") {
        let clean: String = run.chars().filter(|c| c.is_ascii_alphanumeric()).take(32).collect();
        if !clean.is_empty() {
            return clean;
        }
    }
    let exe = std::env::current_exe().unwrap_or_default();
    let modified = std::fs::metadata(&exe)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in exe.to_string_lossy().bytes().chain(modified.to_le_bytes()) {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

fn pg_template_name(key: &str) -> String {
    format!("{PG_TEMPLATE_PREFIX}{key}")
}

fn pg_url_of(name: &str) -> String {
    let admin = pg_server_url();
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_owned()).unwrap_or(admin);
    format!("{base}/{name}")
}

/// The template of this run on the current backend, seeding it if nobody
/// has yet.
async fn template() -> anyhow::Result<Template> {
    let key = run_key();
    let dir = templates_root().join(format!("{}-{key}", backend()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let lock = std::fs::File::create(dir.join("lock"))?;
    // Blocks this test's thread only; the seeding test runs on its own.
    lock.lock()?;
    let done = dir.join("seeded-at");
    if let Ok(text) = std::fs::read_to_string(&done) {
        let at = chrono::DateTime::parse_from_rfc3339(text.trim())?.with_timezone(&chrono::Utc);
        return Ok(Template { dir, at });
    }
    let at = chrono::Utc::now();
    let clock = FixedClock::at(at);
    let at = boai_domain::Clock::now(&clock);
    let url = if backend() == "postgres" {
        let name = pg_template_name(&key);
        let admin = Database::connect(pg_server_url())
            .await
            .context("cannot reach PostgreSQL for tests")?;
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await?;
        let _ = admin.close().await;
        pg_url_of(&name)
    } else {
        let _ = std::fs::remove_file(dir.join("boai.db"));
        format!("sqlite://{}", dir.join("boai.db").display())
    };
    let secrets = Secrets::load_or_create(&dir.join("secrets.json"))?;
    let store = Store::connect(&url, Arc::new(clock.clone()))
        .await?
        .with_secrets(secrets);
    store.migrate().await?;
    boai_store::demo::seed(&store, PASSWORD, DEMO_GIFTS, |_, _| {}).await?;
    store.close().await;
    std::fs::write(&done, at.to_rfc3339())?;
    Ok(Template { dir, at })
}

/// A copy of the demo city in a database of its own, with the template's
/// clock and keys.
pub(crate) async fn demo_copy() -> anyhow::Result<(Store, FixedClock, TestDb)> {
    let template = template().await?;
    let dir = tempfile::tempdir()?;
    let url = if backend() == "postgres" {
        let name = format!("boai_test_{}", uuid::Uuid::new_v4().simple());
        let source = pg_template_name(&run_key());
        let admin = Database::connect(pg_server_url())
            .await
            .context("cannot reach PostgreSQL for tests")?;
        // A connection of the seeding store may take a moment to go away.
        let mut tries = 0;
        loop {
            match admin
                .execute_unprepared(&format!("CREATE DATABASE {name} TEMPLATE {source}"))
                .await
            {
                Ok(_) => break,
                Err(e) if tries < 50 && e.to_string().contains("being accessed by other users") => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        let _ = admin.close().await;
        pg_url_of(&name)
    } else {
        let path = dir.path().join("boai.db");
        std::fs::copy(template.dir.join("boai.db"), &path)?;
        format!("sqlite://{}", path.display())
    };
    let secrets_path = dir.path().join("secrets.json");
    std::fs::copy(template.dir.join("secrets.json"), &secrets_path)?;
    let secrets = Secrets::load_or_create(Path::new(&secrets_path))?;
    let clock = FixedClock::at(template.at);
    let store = Store::connect(&url, Arc::new(clock.clone()))
        .await?
        .with_secrets(secrets);
    store.migrate().await?;
    let db = TestDb { url, _dir: Some(dir) };
    Ok((store, clock, db))
}
