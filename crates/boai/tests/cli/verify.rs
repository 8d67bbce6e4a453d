//! `boai keygen`, `boai verify` and `boai ledger check` as an auditor runs
//! them: a running instance verifies; a rewritten entry, a forked or rolled
//! back log and a changed key are reported; the database check passes on
//! good books and fails on tampered ones.

use boai_testkit::TestApp;
use sea_orm::ConnectionTrait;
use std::process::{Command, Output};

async fn boai(args: Vec<String>) -> anyhow::Result<Output> {
    Ok(tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_boai"))
            .args(&args)
            .env("RUST_LOG", "warn")
            .output()
    })
    .await??)
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_passes_then_reports_a_rewritten_entry() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let dir = tempfile::tempdir()?;
    let state = dir.path().join("state.json").to_string_lossy().into_owned();
    let out = boai(args(&["verify", "--url", &app.base, "--state", &state])).await?;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("published totals of"), "{}", stdout(&out));
    let again = boai(args(&["verify", "--url", &app.base, "--state", &state])).await?;
    assert_eq!(again.status.code(), Some(0), "{}", stdout(&again));
    assert!(stdout(&again).contains("consistent with the checkpoint seen before"));

    // Rewrite history in the database: entry 1 now says what entry 0 says.
    let raw = app.db.raw().await?;
    let backend = raw.get_database_backend();
    raw.execute(sea_orm::Statement::from_string(
        backend,
        "UPDATE ledger_entries SET body = (SELECT body FROM ledger_entries WHERE idx = 0) WHERE idx = 1",
    ))
    .await?;
    let out = boai(args(&["verify", "--url", &app.base, "--state", &state])).await?;
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("PROBLEM"), "{}", stdout(&out));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_reports_forks_rollbacks_and_key_changes() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let dir = tempfile::tempdir()?;
    let state_path = dir.path().join("state.json");
    let state = state_path.to_string_lossy().into_owned();
    let out = boai(args(&["verify", "--url", &app.base, "--state", &state])).await?;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let seen: serde_json::Value = serde_json::from_slice(&std::fs::read(&state_path)?)?;

    let cases: Vec<(&str, serde_json::Value, &str)> = vec![
        (
            "fork",
            {
                let mut s = seen.clone();
                s["root"] = serde_json::json!(boai_ledger::tree::leaf_hash(b"another history").to_base64());
                s
            },
            "fork",
        ),
        (
            "rollback",
            {
                let mut s = seen.clone();
                s["size"] = serde_json::json!(seen["size"].as_u64().unwrap() + 100);
                s
            },
            "rollback",
        ),
        (
            "key change",
            {
                let (_, other) = boai_ledger::LedgerSigner::generate("boai.example/jinan")?;
                let mut s = seen.clone();
                s["key"] = serde_json::json!(other.verifier_key());
                s
            },
            "key changed",
        ),
    ];
    for (name, state_json, expect) in cases {
        std::fs::write(&state_path, serde_json::to_vec(&state_json)?)?;
        let out = boai(args(&["verify", "--url", &app.base, "--state", &state])).await?;
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stdout(&out));
        assert!(stdout(&out).contains(expect), "{name}: {}", stdout(&out));
        // A failed audit never overwrites what was seen before.
        let kept: serde_json::Value = serde_json::from_slice(&std::fs::read(&state_path)?)?;
        assert_eq!(kept, state_json, "{name}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keygen_and_ledger_check() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let key = dir.path().join("ledger.key").to_string_lossy().into_owned();
    let out = boai(args(&["keygen", "--name", "boai.example/test", "--out", &key])).await?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).starts_with("boai.example/test+"), "{}", stdout(&out));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key)?.permissions().mode() & 0o777, 0o600);
    }
    let again = boai(args(&["keygen", "--out", &key])).await?;
    assert!(!again.status.success(), "a key is never overwritten");

    // A key that is not the one the server signed with is noticed.
    let app = TestApp::demo().await?;
    app.client().get(app.url("/ledger/checkpoint")).send().await?;
    let out = boai(args(&[
        "ledger",
        "check",
        "--database-url",
        &app.db.url,
        "--data-dir",
        &dir.path().to_string_lossy(),
    ]))
    .await?;
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("not signed by the ledger key"),
        "{}",
        stdout(&out)
    );
    // Without the key, the rest is still checked.
    let empty = tempfile::tempdir()?;
    let data = empty.path().to_string_lossy().into_owned();
    let check = |extra: Vec<String>| {
        let mut a = args(&["ledger", "check", "--database-url", &app.db.url, "--data-dir", &data]);
        a.extend(extra);
        boai(a)
    };
    let out = check(vec![]).await?;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("ledger check passed"), "{}", stdout(&out));
    let raw = app.db.raw().await?;
    let backend = raw.get_database_backend();
    raw.execute(sea_orm::Statement::from_string(
        backend,
        "UPDATE journal_entries SET amount_fen = amount_fen + 1 WHERE ledger_index = 5",
    ))
    .await?;
    let out = check(vec![]).await?;
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("does not match journal entry"),
        "{}",
        stdout(&out)
    );
    Ok(())
}
