//! Test support. Every test gets a fresh database on the backend named by
//! `BOAI_TEST_DATABASE` (`sqlite`, the default, or `postgres`, created on the
//! server at `BOAI_TEST_PG_URL`). With the `web` feature (boai-web's and
//! boai's tests; the store's tests do not build the web crate), `TestApp`
//! runs the real server on port 0 with a clock the test controls.

use anyhow::Context;
use boai_domain::FixedClock;
use boai_store::{Actor, Store};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use std::sync::Arc;

#[cfg(feature = "web")]
pub mod api;
#[cfg(feature = "web")]
mod app;
pub mod hostile;
pub mod template;

#[cfg(feature = "web")]
pub use app::{hidden_field, TestApp};

/// The demo accounts' password in tests.
pub const PASSWORD: &str = "boai-demo";

/// Which backend the tests run on.
pub fn backend() -> &'static str {
    match std::env::var("BOAI_TEST_DATABASE").as_deref() {
        Ok("postgres") | Ok("postgresql") | Ok("pg") => "postgres",
        _ => "sqlite",
    }
}

/// A database of its own for one test (dropped with it on PostgreSQL).
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

fn pg_server_url() -> String {
    std::env::var("BOAI_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if !self.url.starts_with("postgres") {
            return;
        }
        let url = self.url.clone();
        // Drop runs inside the test's runtime: use a thread of its own.
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                let _ = rt.block_on(boai_store::drop_scratch_database(&pg_server_url(), &url));
            }
        })
        .join();
    }
}

impl TestDb {
    pub async fn fresh() -> anyhow::Result<TestDb> {
        Self::fresh_on(backend()).await
    }

    /// A fresh database on the named backend (`sqlite` or `postgres`),
    /// whatever `BOAI_TEST_DATABASE` says (tests that move data between
    /// backends).
    pub async fn fresh_on(backend: &str) -> anyhow::Result<TestDb> {
        if backend == "postgres" {
            let admin_url = std::env::var("BOAI_TEST_PG_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
            let name = format!("boai_test_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(&admin_url)
                .await
                .context("cannot reach PostgreSQL for tests")?;
            admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await?;
            let _ = admin.close().await;
            let base = admin_url
                .rsplit_once('/')
                .map(|(b, _)| b.to_owned())
                .unwrap_or(admin_url);
            Ok(TestDb {
                url: format!("{base}/{name}"),
                _dir: None,
            })
        } else {
            let dir = tempfile::tempdir()?;
            let url = format!("sqlite://{}", dir.path().join("boai.db").display());
            Ok(TestDb { url, _dir: Some(dir) })
        }
    }

    /// A database at a SQLite URL whose folder the caller owns (e.g. a
    /// small tmpfs).
    pub fn at(url: &str) -> TestDb {
        TestDb {
            url: url.to_owned(),
            _dir: None,
        }
    }

    /// A raw connection, for tests that tamper with the database behind the
    /// application's back.
    pub async fn raw(&self) -> anyhow::Result<DatabaseConnection> {
        Ok(Database::connect(&self.url).await?)
    }
}

/// A migrated store on a fresh database, with a fixed clock.
pub async fn store() -> anyhow::Result<(Store, FixedClock, TestDb)> {
    let db = TestDb::fresh().await?;
    let clock = FixedClock::at(chrono::Utc::now());
    let store = Store::connect(&db.url, Arc::new(clock.clone())).await?;
    store.migrate().await?;
    Ok((store, clock, db))
}

/// How many gifts the test demo city holds (the real demo has far more).
pub const DEMO_GIFTS: u64 = 220;

/// A store holding the demo city: a copy of the run's template (see
/// [`template`]), whose clock starts when the template was seeded.
pub async fn demo_store() -> anyhow::Result<(Store, FixedClock, TestDb)> {
    template::demo_copy().await
}

/// A store holding the demo city seeded from scratch, for the tests of the
/// seeding itself.
pub async fn demo_store_seeded() -> anyhow::Result<(Store, FixedClock, TestDb)> {
    let (store, clock, db) = store().await?;
    boai_store::demo::seed(&store, PASSWORD, DEMO_GIFTS, |_, _| {}).await?;
    Ok((store, clock, db))
}

/// The actor of a demo account, as sign-in would make it.
pub async fn actor(store: &Store, username: &str) -> anyhow::Result<Actor> {
    let policy = boai_store::accounts::LockoutPolicy {
        threshold: 10,
        duration: chrono::Duration::minutes(1),
    };
    match store
        .sign_in(username, PASSWORD, Some("127.0.0.1".to_owned()), policy)
        .await?
    {
        boai_store::accounts::LoginOutcome::Success(actor) => Ok(actor),
        other => anyhow::bail!("cannot sign in as {username}: {other:?}"),
    }
}
