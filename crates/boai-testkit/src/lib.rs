//! Test support. Every test gets a fresh database on the backend named by
//! `BOAI_TEST_DATABASE` (`sqlite`, the default, or `postgres`, created on the
//! server at `BOAI_TEST_PG_URL`), and [`TestApp`] runs the real server on
//! port 0 with a clock the test controls.

use anyhow::Context;
use boai_domain::accounts::{Role, UserForCreate};
use boai_domain::FixedClock;
use boai_store::{Actor, Store};
use boai_web::{AppState, WebConfig};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use std::sync::Arc;
use tokio::sync::oneshot;

pub mod api;
pub mod hostile;
pub mod template;

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

/// The real server on port 0, over the demo city.
pub struct TestApp {
    pub base: String,
    pub store: Store,
    pub state: AppState,
    pub clock: FixedClock,
    pub db: TestDb,
    shutdown: Option<oneshot::Sender<()>>,
}

impl TestApp {
    pub async fn demo() -> anyhow::Result<TestApp> {
        Self::with_config(WebConfig::default()).await
    }

    pub async fn with_config(config: WebConfig) -> anyhow::Result<TestApp> {
        let (store, clock, db) = demo_store().await?;
        Self::serving(store, clock, db, config).await
    }

    /// The demo city in the database at `url` (see [`TestDb::at`]).
    pub async fn demo_at(url: &str, config: WebConfig) -> anyhow::Result<TestApp> {
        let db = TestDb::at(url);
        let clock = FixedClock::at(chrono::Utc::now());
        let store = Store::connect(&db.url, Arc::new(clock.clone())).await?;
        store.migrate().await?;
        boai_store::demo::seed(&store, PASSWORD, DEMO_GIFTS, |_, _| {}).await?;
        Self::serving(store, clock, db, config).await
    }

    async fn serving(store: Store, clock: FixedClock, db: TestDb, config: WebConfig) -> anyhow::Result<TestApp> {
        let state = AppState::new(store.clone(), config);
        state.set_ready();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(boai_web::serve(listener, state.clone(), async {
            let _ = rx.await;
        }));
        Ok(TestApp {
            base,
            store,
            state,
            clock,
            db,
            shutdown: Some(tx),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A client that keeps cookies and does not follow redirects.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default()
    }

    /// An API token for a user (write access).
    pub async fn token(&self, username: &str) -> anyhow::Result<String> {
        let res = self
            .client()
            .post(self.url("/api/v1/auth/token"))
            .json(&serde_json::json!({"username": username, "password": PASSWORD}))
            .send()
            .await?;
        anyhow::ensure!(res.status() == 200, "token for {username}: {}", res.status());
        let body: serde_json::Value = res.json().await?;
        body["token"].as_str().map(str::to_owned).context("no token in answer")
    }

    /// A browser-like client signed in through the login page, and the CSRF
    /// token of its session (read from a page's form).
    pub async fn sign_in(&self, username: &str) -> anyhow::Result<(reqwest::Client, String)> {
        let client = self.client();
        let page = client.get(self.url("/login")).send().await?.text().await?;
        let csrf = hidden_field(&page, "csrf").context("login form has no csrf field")?;
        let res = client
            .post(self.url("/login"))
            .form(&[
                ("username", username),
                ("password", PASSWORD),
                ("csrf", &csrf),
                ("next", "/dashboard"),
            ])
            .send()
            .await?;
        anyhow::ensure!(
            res.status() == 303 || res.status() == 302,
            "sign-in as {username}: {}",
            res.status()
        );
        let tokens = client.get(self.url("/account/tokens")).send().await?.text().await?;
        let csrf = hidden_field(&tokens, "csrf").context("no csrf on a signed-in page")?;
        Ok((client, csrf))
    }

    /// Adds an account directly through the store.
    pub async fn add_user(&self, username: &str, role: Role, org_code: &str) -> anyhow::Result<()> {
        let admin = actor(&self.store, "admin").await?;
        self.store
            .scoped(admin)
            .user_create(
                UserForCreate {
                    username: username.to_owned(),
                    display_name: username.to_owned(),
                    role,
                    org_id: boai_store::demo::org_id(org_code),
                    password: PASSWORD.to_owned(),
                },
                None,
            )
            .await?;
        Ok(())
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The value of the first hidden input named `name` in an HTML page.
pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}
