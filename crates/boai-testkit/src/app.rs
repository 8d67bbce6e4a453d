//! The real server for HTTP tests (the `web` feature): [`TestApp`] over a
//! copy of the demo city, its clients, tokens and sign-in, and the hidden
//! form fields of a page.

use crate::{actor, demo_store, TestDb, DEMO_GIFTS, PASSWORD};
use anyhow::Context;
use boai_domain::accounts::{Role, UserForCreate};
use boai_domain::FixedClock;
use boai_store::Store;
use boai_web::{AppState, WebConfig};
use std::sync::Arc;
use tokio::sync::oneshot;

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
