//! Rotating the personal-data key without downtime: the real binary serves a
//! demo database while `boai secrets rotate` runs beside it and clients keep
//! writing gifts with ID numbers and phones and reading people's data back
//! (the privacy export decrypts). Then no value in any encrypted column is
//! sealed with the old key, the old key is gone from secrets.json, values
//! written before the rotation read back the same (on the running server and
//! after a restart), searching by ID number still works, and the ledger check
//! passes. Runs on the backend `BOAI_TEST_DATABASE` names.

use crate::support::{boai, start_server, token};
use anyhow::Context;
use boai_domain::validation::identity::id_card_check_char;
use boai_testkit::TestDb;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn id_card(n: u32) -> String {
    let body = format!("37010219800101{:03}", n % 1000);
    format!("{body}{}", id_card_check_char(&body).unwrap_or('0'))
}

async fn gift(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    project: &str,
    id: &str,
    phone: &str,
) -> anyhow::Result<reqwest::StatusCode> {
    Ok(client
        .post(format!("{base}/api/v1/donations"))
        .bearer_auth(token)
        .json(&json!({"project_id": project, "amount_fen": 1000, "channel": "cash",
                      "donor": {"kind": "person", "name": "轮换测试", "phone": phone, "id_card_no": id}}))
        .send()
        .await?
        .status())
}

/// The donor's phone and ID number as the privacy export decrypts them.
async fn exported(client: &reqwest::Client, base: &str, token: &str, id: &str) -> anyhow::Result<(String, String)> {
    let res = client
        .post(format!("{base}/api/v1/privacy/exports"))
        .bearer_auth(token)
        .json(&json!({"id_card_no": id, "requested_by": "轮换测试"}))
        .send()
        .await?;
    anyhow::ensure!(res.status().is_success(), "export: {}", res.status());
    let v: Value = res.json().await?;
    Ok((
        v["donors"][0]["phone"].as_str().unwrap().to_owned(),
        v["donors"][0]["id_card_no"].as_str().unwrap().to_owned(),
    ))
}

/// Values in every encrypted column: (not sealed with `k{key}:`, all).
async fn sealed_counts(url: &str, key: u32) -> anyhow::Result<(i64, i64)> {
    let conn = Database::connect(url).await?;
    let (mut stale, mut all) = (0, 0);
    for (table, column) in boai_store::secrets::rotate::ENCRYPTED_COLUMNS {
        let row = conn
            .query_one(Statement::from_string(
                conn.get_database_backend(),
                format!(
                    "SELECT CAST(COUNT(*) AS BIGINT), CAST(SUM(CASE WHEN {column} LIKE 'k{key}:%' THEN 0 ELSE 1 END) AS BIGINT) \
                     FROM {table} WHERE {column} IS NOT NULL"
                ),
            ))
            .await?
            .context("no row")?;
        all += row.try_get_by_index::<i64>(0)?;
        stale += row.try_get_by_index::<Option<i64>>(1)?.unwrap_or(0);
    }
    let _ = conn.close().await;
    Ok((stale, all))
}

// On SQLite the rotation writes from another process while the server takes
// gifts: every write transaction takes the write lock first (`begin_write`),
// so the two wait for each other within the busy timeout instead of failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_while_the_server_runs() -> anyhow::Result<()> {
    let db = TestDb::fresh().await?;
    let dir = tempfile::tempdir()?;
    let data = dir.path().to_string_lossy().into_owned();
    let url = db.url.clone();
    let out = boai(&["demo", "--gifts", "20", "--database-url", &url, "--data-dir", &data]).await?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build()?;
    let server = start_server(&url, &data, &client).await?;
    let (caiwu, shi) = (
        token(&client, &server.base, "caiwu").await?,
        token(&client, &server.base, "shi").await?,
    );
    let projects: Value = client
        .get(format!("{}/api/v1/projects?per_page=100", server.base))
        .bearer_auth(&caiwu)
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

    // Written before the rotation, under key 1 (the format from before rotation existed).
    let before_id = id_card(1);
    assert_eq!(
        gift(&client, &server.base, &caiwu, &project, &before_id, "13800001111").await?,
        reqwest::StatusCode::CREATED
    );
    let (stale, all) = sealed_counts(&url, 2).await?;
    assert!(all > 100 && stale == all, "{stale} of {all} under key 1 before");

    // Clients keep writing and reading while the rotation runs.
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let failures: Arc<Mutex<Vec<String>>> = Arc::default();
    let written: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let load = {
        let (client, base, caiwu, shi, project) = (
            client.clone(),
            server.base.clone(),
            caiwu.clone(),
            shi.clone(),
            project.clone(),
        );
        let (stop, done, failures, written, before_id) = (
            stop.clone(),
            done.clone(),
            failures.clone(),
            written.clone(),
            before_id.clone(),
        );
        tokio::spawn(async move {
            let mut n = 100u32;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let (id, phone) = (id_card(n), format!("1370000{n:04}"));
                match gift(&client, &base, &caiwu, &project, &id, &phone).await {
                    Ok(s) if s == reqwest::StatusCode::CREATED => {
                        if let Ok(mut w) = written.lock() {
                            w.push((id, phone));
                        }
                    }
                    other => {
                        if let Ok(mut f) = failures.lock() {
                            f.push(format!("gift {n}: {other:?}"));
                        }
                    }
                }
                match exported(&client, &base, &shi, &before_id).await {
                    Ok((phone, id)) if phone == "13800001111" && id == before_id => {}
                    other => {
                        if let Ok(mut f) = failures.lock() {
                            f.push(format!("read back: {other:?}"));
                        }
                    }
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rotated = boai(&[
        "secrets",
        "rotate",
        "--database-url",
        &url,
        "--data-dir",
        &data,
        "--grace-seconds",
        "2",
    ])
    .await?;
    let during = done.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    load.await?;
    let stdout = String::from_utf8_lossy(&rotated.stdout).into_owned();
    assert!(
        rotated.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    assert!(stdout.contains("retired key(s) 1"), "{stdout}");
    let failures = failures.lock().map(|f| f.clone()).unwrap_or_default();
    assert!(
        failures.is_empty(),
        "the server failed during the rotation: {failures:?}"
    );
    assert!(during >= 3, "only {during} rounds of requests ran during the rotation");

    // Nothing is sealed with the old key any more, and the old key is gone.
    let (stale, all) = sealed_counts(&url, 2).await?;
    assert_eq!(stale, 0, "{stale} of {all} values not under key 2");
    let file: Value = serde_json::from_slice(&std::fs::read(dir.path().join("secrets.json"))?)?;
    assert_eq!(
        file["data_keys"].as_array().map(Vec::len),
        Some(1),
        "{}",
        file["current_data_key"]
    );
    assert_eq!(file["data_keys"][0]["id"], 2);
    assert!(file.get("data_key").is_none());

    // The running server reads old and new values; the keyed hash still finds them.
    assert_eq!(
        exported(&client, &server.base, &shi, &before_id).await?,
        ("13800001111".to_owned(), before_id.clone())
    );
    let w = written.lock().map(|w| w.clone()).unwrap_or_default();
    let (mid_id, mid_phone) = w
        .get(w.len() / 2)
        .cloned()
        .context("no gift written during the rotation")?;
    assert_eq!(
        exported(&client, &server.base, &shi, &mid_id).await?,
        (mid_phone.clone(), mid_id.clone())
    );
    let found: Value = client
        .get(format!("{}/api/v1/donors?q={before_id}", server.base))
        .bearer_auth(&caiwu)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(found["total"], 1, "search by ID number: {found}");
    // A gift written now uses the new key.
    assert_eq!(
        gift(&client, &server.base, &caiwu, &project, &id_card(2), "13800002222").await?,
        reqwest::StatusCode::CREATED
    );
    assert_eq!(sealed_counts(&url, 2).await?.0, 0);
    drop(server);

    // A fresh process knows only key 2 and reads everything.
    let server = start_server(&url, &data, &client).await?;
    let shi = token(&client, &server.base, "shi").await?;
    assert_eq!(
        exported(&client, &server.base, &shi, &before_id).await?,
        ("13800001111".to_owned(), before_id.clone())
    );
    assert_eq!(
        exported(&client, &server.base, &shi, &mid_id).await?,
        (mid_phone, mid_id)
    );
    drop(server);
    let check = boai(&["ledger", "check", "--database-url", &url, "--data-dir", &data]).await?;
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    // Rotating again works on the new format (key 3).
    let again = boai(&[
        "secrets",
        "rotate",
        "--database-url",
        &url,
        "--data-dir",
        &data,
        "--grace-seconds",
        "0",
    ])
    .await?;
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stdout));
    assert_eq!(sealed_counts(&url, 3).await?.0, 0);
    Ok(())
}
