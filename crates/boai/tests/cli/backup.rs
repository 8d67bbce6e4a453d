//! `boai backup` / `boai restore` with the real binary, on the backend
//! `BOAI_TEST_DATABASE` names: a backup taken while clients keep posting
//! gifts restores into a fresh database and data folder where the ledger
//! check and the audit chain pass, every table holds the manifest's count, a
//! gift acknowledged before the backup is there, and the restored server
//! signs checkpoints with the same key. A second restore into the now full
//! database is refused, and so is a damaged archive, which writes nothing.
//! A backup moves between backends: SQLite → PostgreSQL → SQLite keeps
//! every row and both checks pass at each step.

use crate::support::{boai, said, start_server, token};
use anyhow::Context;
use boai_testkit::TestDb;
use sea_orm::{ConnectionTrait, Statement};
use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The manifest inside an archive.
fn manifest_of(archive: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    let file = std::fs::File::open(archive)?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    for entry in tar.entries()? {
        let mut entry = entry?;
        if entry.path()?.to_string_lossy() == "manifest.json" {
            let mut text = String::new();
            entry.read_to_string(&mut text)?;
            return Ok(serde_json::from_str(&text)?);
        }
    }
    anyhow::bail!("no manifest in the archive")
}

async fn count(db: &sea_orm::DatabaseConnection, table: &str) -> anyhow::Result<i64> {
    let row = db
        .query_one(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {table}"),
        ))
        .await?
        .context("no count")?;
    Ok(row.try_get("", "n")?)
}

/// How many tables a database holds (0 = nothing was ever written there).
async fn table_count(db: &TestDb) -> anyhow::Result<i64> {
    if db.url.starts_with("sqlite") {
        let path = db.url.trim_start_matches("sqlite://");
        if !std::path::Path::new(path).exists() {
            return Ok(0);
        }
    }
    let conn = db.raw().await?;
    let sql = if db.url.starts_with("sqlite") {
        "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table'"
    } else {
        "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = current_schema()"
    };
    let row = conn
        .query_one(Statement::from_string(conn.get_database_backend(), sql))
        .await?
        .context("no count")?;
    let n: i64 = row.try_get("", "n")?;
    conn.close().await?;
    Ok(n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_under_load_restores_a_consistent_copy() -> anyhow::Result<()> {
    let db = TestDb::fresh().await?;
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data").to_string_lossy().into_owned();
    let url = db.url.clone();
    let out = boai(&["demo", "--gifts", "20", "--database-url", &url, "--data-dir", &data]).await?;
    assert!(out.status.success(), "{}", said(&out));

    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build()?;
    let server = start_server(&url, &data, &client).await?;
    let tok = token(&client, &server.base, "caiwu").await?;
    let project = crate::support::project(&client, &server.base, &tok, "CATARACT").await?;
    let gift = |amount: i64| {
        client
            .post(server.url("/api/v1/donations"))
            .bearer_auth(&tok)
            .json(
                &serde_json::json!({"project_id": project, "amount_fen": amount, "channel": "cash",
                "donor": {"kind": "person", "name": "备份前"}}),
            )
            .send()
    };
    let before: serde_json::Value = gift(424_242).await?.error_for_status()?.json().await?;
    let before_id = before["id"].as_str().context("no id")?.to_owned();
    let key = client.get(server.url("/ledger/key")).send().await?.text().await?;

    // Gifts keep coming while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let posted = Arc::new(AtomicUsize::new(0));
    let mut load = Vec::new();
    for c in 0..3i64 {
        let (client, base, tok, project) = (client.clone(), server.base.clone(), tok.clone(), project.clone());
        let (stop, posted) = (stop.clone(), posted.clone());
        load.push(tokio::spawn(async move {
            let mut i = 0i64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let res = client
                    .post(format!("{base}/api/v1/donations"))
                    .bearer_auth(&tok)
                    .json(
                        &serde_json::json!({"project_id": project, "amount_fen": 1_000 * (c + 1) + i,
                        "channel": "bank_transfer", "donor": null}),
                    )
                    .send()
                    .await;
                if matches!(res, Ok(r) if r.status() == 201) {
                    posted.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let during_start = posted.load(Ordering::Relaxed);
    let archive = dir.path().join("boai-backup.tar.gz");
    let archive_s = archive.to_string_lossy().into_owned();
    let out = boai(&[
        "backup",
        "--out",
        &archive_s,
        "--database-url",
        &url,
        "--data-dir",
        &data,
    ])
    .await?;
    let during_end = posted.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await?;
    }
    assert!(out.status.success(), "backup failed: {}", said(&out));
    assert!(
        during_end > during_start,
        "no gift was taken while the backup ran ({during_start} → {during_end})"
    );
    drop(server);

    let manifest = manifest_of(&archive)?;
    assert_eq!(manifest["format"], "boai-backup");
    let tables = manifest["tables"].as_array().context("no tables")?.clone();
    let files = manifest["files"].as_object().context("no files")?;
    for needed in [
        "data/secrets.json",
        "data/ledger.key",
        "db/gifts.jsonl",
        "db/ledger_nodes.jsonl",
    ] {
        assert!(files.contains_key(needed), "{needed} missing from {files:?}");
    }

    // Restore into a fresh database and data folder.
    let db2 = TestDb::fresh().await?;
    let data2 = dir.path().join("restored").to_string_lossy().into_owned();
    let out = boai(&["restore", &archive_s, "--database-url", &db2.url, "--data-dir", &data2]).await?;
    assert!(out.status.success(), "restore failed: {}", said(&out));

    // Every table holds the manifest's count (the audit trail one more: the restore's own row).
    let conn = db2.raw().await?;
    for table in &tables {
        let name = table["table"].as_str().context("table name")?;
        let want = table["rows"].as_i64().context("rows")? + i64::from(name == "audit_log");
        assert_eq!(count(&conn, name).await?, want, "rows of {name}");
    }
    conn.close().await?;

    for check in [
        vec!["ledger", "check", "--database-url", &db2.url, "--data-dir", &data2],
        vec!["audit", "verify", "--database-url", &db2.url],
    ] {
        let out = boai(&check).await?;
        assert_eq!(out.status.code(), Some(0), "{check:?}: {}", said(&out));
    }

    // The restored copy serves: the early gift, the same ledger key, a checkpoint it verifies.
    let server = start_server(&db2.url, &data2, &client).await?;
    let tok = token(&client, &server.base, "caiwu").await?;
    let again: serde_json::Value = client
        .get(server.url(&format!("/api/v1/donations/{before_id}")))
        .bearer_auth(&tok)
        .send()
        .await?
        .error_for_status()
        .context("the gift acknowledged before the backup is missing")?
        .json()
        .await?;
    assert_eq!(again["amount_fen"], 424_242);
    assert_eq!(again["ledger_index"], before["ledger_index"]);
    let key2 = client.get(server.url("/ledger/key")).send().await?.text().await?;
    assert_eq!(key2.trim(), key.trim(), "the restored server signs with another key");
    let checkpoint = client
        .get(server.url("/ledger/checkpoint"))
        .send()
        .await?
        .text()
        .await?;
    let verifier = boai_ledger::VerifierKey::parse(key.trim())?;
    let opened = verifier.open(checkpoint.as_bytes())?;
    let gifts_rows = tables
        .iter()
        .find(|t| t["table"] == "ledger_entries")
        .and_then(|t| t["rows"].as_u64())
        .context("ledger_entries count")?;
    assert_eq!(opened.size, gifts_rows, "checkpoint size vs restored ledger");
    drop(server);

    // A second restore into the same (now full) database and folder is refused.
    let out = boai(&["restore", &archive_s, "--database-url", &db2.url, "--data-dir", &data2]).await?;
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(said(&out).contains("not empty"), "{}", said(&out));

    // A damaged archive (one byte flipped) is refused, and nothing is written.
    let mut bytes = std::fs::read(&archive)?;
    let at = bytes.len() / 2;
    bytes[at] ^= 0x55;
    let damaged = dir.path().join("damaged.tar.gz");
    std::fs::write(&damaged, &bytes)?;
    let db3 = TestDb::fresh().await?;
    let data3 = dir.path().join("third");
    let out = boai(&[
        "restore",
        &damaged.to_string_lossy(),
        "--database-url",
        &db3.url,
        "--data-dir",
        &data3.to_string_lossy(),
    ])
    .await?;
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(said(&out).contains("refusing"), "{}", said(&out));
    assert_eq!(table_count(&db3).await?, 0, "a damaged archive wrote tables");
    let left = std::fs::read_dir(&data3).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "a damaged archive wrote into the data folder");
    Ok(())
}

/// Every table's row count, from an archive's manifest.
fn counts_of(manifest: &serde_json::Value) -> anyhow::Result<Vec<(String, i64)>> {
    manifest["tables"]
        .as_array()
        .context("no tables")?
        .iter()
        .map(|t| {
            Ok((
                t["table"].as_str().context("table name")?.to_owned(),
                t["rows"].as_i64().context("rows")?,
            ))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_moves_between_backends() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let sqlite = TestDb::fresh_on("sqlite").await?;
    let postgres = TestDb::fresh_on("postgres").await?;
    let back = TestDb::fresh_on("sqlite").await?;
    let data = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let out = boai(&[
        "demo",
        "--gifts",
        "30",
        "--database-url",
        &sqlite.url,
        "--data-dir",
        &data("a"),
    ])
    .await?;
    assert!(out.status.success(), "{}", said(&out));

    let mut previous: Option<Vec<(String, i64)>> = None;
    let steps = [(&sqlite, "a", &postgres, "b"), (&postgres, "b", &back, "c")];
    for (i, (from, from_dir, to, to_dir)) in steps.into_iter().enumerate() {
        let archive = dir
            .path()
            .join(format!("step{i}.tar.gz"))
            .to_string_lossy()
            .into_owned();
        let out = boai(&[
            "backup",
            "--out",
            &archive,
            "--database-url",
            &from.url,
            "--data-dir",
            &data(from_dir),
        ])
        .await?;
        assert!(out.status.success(), "backup from {}: {}", from.url, said(&out));
        let counts = counts_of(&manifest_of(std::path::Path::new(&archive))?)?;
        if let Some(before) = &previous {
            // The same rows, but for the audit row the restore itself wrote.
            let expected: Vec<(String, i64)> = before
                .iter()
                .map(|(t, n)| (t.clone(), n + i64::from(t == "audit_log")))
                .collect();
            assert_eq!(&counts, &expected, "row counts after a round through {}", from.url);
        }
        let out = boai(&[
            "restore",
            &archive,
            "--database-url",
            &to.url,
            "--data-dir",
            &data(to_dir),
        ])
        .await?;
        assert!(out.status.success(), "restore into {}: {}", to.url, said(&out));
        for check in [
            vec![
                "ledger",
                "check",
                "--database-url",
                &to.url,
                "--data-dir",
                &data(to_dir),
            ],
            vec!["audit", "verify", "--database-url", &to.url],
        ] {
            let out = boai(&check).await?;
            assert_eq!(out.status.code(), Some(0), "{check:?}: {}", said(&out));
        }
        previous = Some(counts);
    }
    // What came back to SQLite is what left it: the same gifts, to the fen.
    let sum = "SELECT CAST(COUNT(*) AS BIGINT) AS n, CAST(SUM(amount_fen) AS BIGINT) AS fen FROM gifts";
    let mut seen = Vec::new();
    for db in [&sqlite, &back] {
        let conn = db.raw().await?;
        let row = conn
            .query_one(Statement::from_string(conn.get_database_backend(), sum.to_owned()))
            .await?
            .context("no row")?;
        seen.push((row.try_get::<i64>("", "n")?, row.try_get::<i64>("", "fen")?));
        conn.close().await?;
    }
    assert_eq!(seen[0], seen[1]);
    assert!(seen[0].0 >= 30, "{seen:?}");
    Ok(())
}
