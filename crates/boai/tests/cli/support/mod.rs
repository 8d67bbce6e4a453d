//! Running the real `boai` binary from tests: commands, a server that is
//! killed with SIGKILL when dropped, sign-in.

#![allow(dead_code)]

use anyhow::Context;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `boai ARGS…` to the end.
pub async fn boai(args: &[&str]) -> anyhow::Result<Output> {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    Ok(tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_boai"))
            .args(&args)
            .env("RUST_LOG", "warn")
            .output()
    })
    .await??)
}

/// Both output streams, for assertion messages.
pub fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A running `boai serve`; killed with SIGKILL when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// Starts `boai serve` on a free port (logging warnings only, to nowhere)
/// and waits until `/healthz` answers 200.
pub async fn start_server(url: &str, data: &str, client: &reqwest::Client) -> anyhow::Result<Server> {
    start_server_with(url, data, client, |_, _| Ok(())).await
}

/// [`start_server`], with `configure` changing the command (its
/// environment, where its output goes) once it knows the server's base URL.
pub async fn start_server_with(
    url: &str,
    data: &str,
    client: &reqwest::Client,
    configure: impl FnOnce(&mut Command, &str) -> anyhow::Result<()>,
) -> anyhow::Result<Server> {
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let mut command = Command::new(env!("CARGO_BIN_EXE_boai"));
    command
        .args(["serve", "--database-url", url, "--data-dir", data])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    configure(&mut command, &base)?;
    let child = command.spawn().context("cannot start boai serve")?;
    let server = Server { child, base };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(format!("{}/healthz", server.base)).send().await {
            if r.status().is_success() {
                return Ok(server);
            }
        }
        anyhow::ensure!(Instant::now() < deadline, "server did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An API token of a demo account.
pub async fn token(client: &reqwest::Client, base: &str, user: &str) -> anyhow::Result<String> {
    let answer: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/token"))
        .json(&serde_json::json!({"username": user, "password": boai_testkit::PASSWORD}))
        .send()
        .await?
        .json()
        .await?;
    Ok(answer["token"].as_str().context("no token")?.to_owned())
}

/// The id of a demo project by its code.
pub async fn project(client: &reqwest::Client, base: &str, token: &str, code: &str) -> anyhow::Result<String> {
    let projects: serde_json::Value = client
        .get(format!("{base}/api/v1/projects?per_page=100"))
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?;
    Ok(projects["items"]
        .as_array()
        .and_then(|items| items.iter().find(|p| p["code"] == code))
        .and_then(|p| p["id"].as_str())
        .with_context(|| format!("no project {code}"))?
        .to_owned())
}
