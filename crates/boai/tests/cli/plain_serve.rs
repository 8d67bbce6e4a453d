//! Issue 24: a plain `boai serve` (no `--demo`, default settings) has no
//! sandbox payment provider and no public `/metrics`, and says so in its log;
//! the setting `sandbox_payments` turns the sandbox on.

use crate::support::{boai, said, start_server_with};
use boai_testkit::TestDb;
use std::time::Duration;

#[tokio::test]
async fn plain_serve_has_no_sandbox_and_no_public_metrics() -> anyhow::Result<()> {
    let db = TestDb::fresh().await?;
    let dir = tempfile::tempdir()?;
    let data = dir.path().to_string_lossy().into_owned();
    // A real installation makes its ledger key first.
    let key = dir.path().join("ledger.key").to_string_lossy().into_owned();
    let out = boai(&["keygen", "--out", &key]).await?;
    assert!(out.status.success(), "{}", said(&out));
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build()?;
    let log_path = dir.path().join("serve.log");
    let log = std::fs::File::create(&log_path)?;
    let server = start_server_with(&db.url, &data, &client, |command, _| {
        command.env("RUST_LOG", "info").stderr(log);
        Ok(())
    })
    .await?;
    for path in ["/sandbox/pay/G20250101000001", "/metrics"] {
        let res = client.get(server.url(path)).send().await?;
        assert_eq!(res.status(), 404, "GET {path}");
    }
    let res = client.post(server.url("/sandbox/pay/G20250101000001")).send().await?;
    assert_eq!(res.status(), 404, "POST /sandbox/pay");
    let res = client
        .post(server.url("/api/v1/giving/notify/sandbox"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await?;
    assert_eq!(res.status(), 404, "notifications from the sandbox");
    drop(server);
    let text = std::fs::read_to_string(&log_path)?;
    assert!(
        text.contains("sandbox payment provider off"),
        "the log says so:\n{text}"
    );

    // Turned on by the setting, and the log warns.
    let log_path = dir.path().join("serve-sandbox.log");
    let log = std::fs::File::create(&log_path)?;
    let server = start_server_with(&db.url, &data, &client, |command, _| {
        command
            .env("RUST_LOG", "info")
            .env("BOAI_SANDBOX_PAYMENTS", "true")
            .stderr(log);
        Ok(())
    })
    .await?;
    let res = client.get(server.url("/sandbox/pay/G20250101000001")).send().await?;
    assert_eq!(res.status(), 404, "an unknown order");
    assert!(res.text().await?.contains("订单不存在"), "but the sandbox's own page");
    drop(server);
    let text = std::fs::read_to_string(&log_path)?;
    assert!(text.contains("sandbox payment provider ON"), "the log warns:\n{text}");
    Ok(())
}
