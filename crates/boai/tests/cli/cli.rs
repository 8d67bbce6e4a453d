//! The binary as an operator runs it: migrate, demo, audit verify (which must
//! notice an edited or deleted audit row), print-config.

use boai_testkit::TestDb;
use sea_orm::ConnectionTrait;
use std::process::Command;

fn boai(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_boai"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap_or_else(|e| panic!("cannot run boai: {e}"))
}

#[tokio::test]
async fn audit_verify_reports_edits_and_deletions() -> anyhow::Result<()> {
    let db = TestDb::fresh().await?;
    let url = db.url.as_str();
    let out = boai(&["migrate", "--database-url", url]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dir = tempfile::tempdir()?;
    let data = dir.path().to_string_lossy().to_string();
    let out = boai(&["demo", "--gifts", "40", "--database-url", url, "--data-dir", &data]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        dir.path().join("secrets.json").exists(),
        "keys are kept in the data folder"
    );
    let out = boai(&["demo", "--gifts", "40", "--database-url", url, "--data-dir", &data]);
    assert!(
        !out.status.success(),
        "the demo never re-seeds a database that holds data"
    );

    let out = boai(&["audit", "verify", "--database-url", url]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("intact"));

    let raw = db.raw().await?;
    raw.execute_unprepared("UPDATE audit_log SET after = '{\"name\":\"篡改\"}' WHERE seq = 2")
        .await?;
    let out = boai(&["audit", "verify", "--database-url", url]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("BROKEN") && stdout.contains("第 2 条"), "{stdout}");

    let db2 = TestDb::fresh().await?;
    assert!(
        boai(&["demo", "--gifts", "10", "--database-url", &db2.url, "--data-dir", &data])
            .status
            .success()
    );
    db2.raw()
        .await?
        .execute_unprepared("DELETE FROM audit_log WHERE seq = 10")
        .await?;
    let out = boai(&["audit", "verify", "--database-url", &db2.url]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    Ok(())
}

#[test]
fn print_config_prints_the_documented_example() {
    let out = boai(&["print-config"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("database_url") && text.contains("lockout_threshold"));
}

#[test]
fn unknown_commands_are_usage_errors() {
    assert_eq!(boai(&["frobnicate"]).status.code(), Some(2));
}

/// `boai bench --existing` benches an installation as it is: it seeds
/// nothing, adds its gifts with the installation's keys, and the ledger
/// (checkpoints included, signed with the installation's key) still checks.
#[tokio::test]
async fn bench_runs_on_an_existing_installation() -> anyhow::Result<()> {
    let db = TestDb::fresh().await?;
    let url = db.url.as_str();
    let dir = tempfile::tempdir()?;
    let data = dir.path().to_string_lossy().to_string();
    // Enough for one full ledger tile (the tile phase reads full tiles).
    let out = boai(&["demo", "--gifts", "300", "--database-url", url, "--data-dir", &data]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let gifts = |conn: sea_orm::DatabaseConnection| async move {
        let row = conn
            .query_one(sea_orm::Statement::from_string(
                conn.get_database_backend(),
                "SELECT COUNT(*) AS n FROM gifts",
            ))
            .await?
            .ok_or_else(|| anyhow::anyhow!("no count"))?;
        anyhow::Ok(row.try_get::<i64>("", "n")?)
    };
    let before = gifts(db.raw().await?).await?;
    assert_eq!(before, 300);

    let out = boai(&[
        "bench",
        "--existing",
        "--seconds",
        "1",
        "--clients",
        "2",
        "--database-url",
        url,
        "--data-dir",
        &data,
    ]);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    assert!(said.contains("none: an existing database of"), "{said}");
    assert!(!said.contains("seeding ["), "nothing is seeded: {said}");
    let after = gifts(db.raw().await?).await?;
    assert!(after > before, "the gift phases add gifts: {before} → {after}");

    let out = boai(&["ledger", "check", "--database-url", url, "--data-dir", &data]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // An installation without gifts is refused.
    let empty = TestDb::fresh().await?;
    let out = boai(&["bench", "--existing", "--database-url", &empty.url, "--data-dir", &data]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no gifts"));
    Ok(())
}
