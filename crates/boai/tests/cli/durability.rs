//! No acknowledged gift is lost when the server is killed (`kill -9`) under
//! load: the real binary serves a demo database while concurrent clients
//! record gifts; it is killed mid-load, restarted, and killed again. Then
//! every gift that was answered `201` must be there with its amount and
//! ledger index, the trial balance must balance, and `boai ledger check`
//! (journal ↔ ledger ↔ stored tree ↔ the data folder's witness checkpoint)
//! must pass. Runs on the backend `BOAI_TEST_DATABASE` names, bounded in time
//! (three rounds of about two seconds of load each).
//!
//! A bank statement import killed at random moments is all or nothing: after
//! each kill its lines are either all there or none is, and the audit chain
//! and the ledger still check.

use crate::support::{boai, start_server, token};
use anyhow::Context;
use boai_testkit::TestDb;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ROUNDS: usize = 3;
const CLIENTS: usize = 8;

/// What the server acknowledged: gift id, amount, ledger index.
type Acknowledged = Arc<Mutex<Vec<(String, i64, u64)>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_under_load_loses_no_acknowledged_gift() -> anyhow::Result<()> {
    let db = TestDb::fresh().await?;
    let dir = tempfile::tempdir()?;
    let data = dir.path().to_string_lossy().into_owned();
    let url = db.url.clone();
    let out = boai(&["demo", "--gifts", "20", "--database-url", &url, "--data-dir", &data]).await?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    let acknowledged: Acknowledged = Arc::default();
    let mut failed_after_kill = 0usize;
    for round in 0..ROUNDS {
        let mut server = start_server(&url, &data, &client).await?;
        let token = token(&client, &server.base, "caiwu").await?;
        let projects: serde_json::Value = client
            .get(format!("{}/api/v1/projects?per_page=100", server.base))
            .bearer_auth(&token)
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

        let before = acknowledged.lock().map(|a| a.len()).unwrap_or_default();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut clients = Vec::new();
        for c in 0..CLIENTS {
            let (client, base, token, project) = (client.clone(), server.base.clone(), token.clone(), project.clone());
            let (acknowledged, stop) = (acknowledged.clone(), stop.clone());
            clients.push(tokio::spawn(async move {
                let mut failures = 0usize;
                let mut i = 0i64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    i += 1;
                    let amount = 100 + (round as i64) * 100_000 + (c as i64) * 1_000 + i;
                    let sent = client
                        .post(format!("{base}/api/v1/donations"))
                        .bearer_auth(&token)
                        .json(&serde_json::json!({
                            "project_id": project, "amount_fen": amount, "channel": "bank_transfer",
                            "donor": {"kind": "person", "name": format!("压测{c}"), "phone": format!("139{:08}", c)}
                        }))
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status().as_u16() == 201 => {
                            // Only a complete answer counts as acknowledged.
                            if let Ok(gift) = r.json::<serde_json::Value>().await {
                                let id = gift["id"].as_str().unwrap().to_owned();
                                let index = gift["ledger_index"].as_u64().unwrap_or(u64::MAX);
                                if let Ok(mut a) = acknowledged.lock() {
                                    a.push((id, gift["amount_fen"].as_i64().unwrap(), index));
                                }
                            }
                        }
                        Ok(r) => panic!("a gift under load was answered {}", r.status()),
                        Err(_) => {
                            // The server is gone: wait for the round to end.
                            failures += 1;
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
                failures
            }));
        }
        // Load for a while, then kill the server while requests are in flight.
        tokio::time::sleep(Duration::from_millis(1500 + 250 * round as u64)).await;
        server.child.kill()?;
        server.child.wait()?;
        tokio::time::sleep(Duration::from_millis(200)).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for c in clients {
            failed_after_kill += c.await?;
        }
        let after = acknowledged.lock().map(|a| a.len()).unwrap_or_default();
        assert!(
            after > before,
            "round {round}: no gift was acknowledged before the kill"
        );
    }
    assert!(failed_after_kill > 0, "the kills never hit a request in flight");

    // After the last kill: everything acknowledged is there, books and ledger agree.
    let server = start_server(&url, &data, &client).await?;
    let token = token(&client, &server.base, "caiwu").await?;
    let acknowledged = acknowledged.lock().map(|a| a.clone()).unwrap_or_default();
    let mut indices = std::collections::HashSet::new();
    for (id, amount, index) in &acknowledged {
        let gift: serde_json::Value = client
            .get(format!("{}/api/v1/donations/{id}", server.base))
            .bearer_auth(&token)
            .send()
            .await?
            .error_for_status()
            .with_context(|| format!("acknowledged gift {id} is missing"))?
            .json()
            .await?;
        assert_eq!(gift["amount_fen"].as_i64(), Some(*amount), "gift {id}");
        assert_eq!(gift["status"], "confirmed");
        assert_eq!(gift["ledger_index"].as_u64(), Some(*index), "gift {id}");
        assert!(indices.insert(*index), "ledger index {index} given twice");
    }
    let trial: serde_json::Value = client
        .get(format!("{}/api/v1/funds/trial-balance", server.base))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(trial["balanced"], true, "{trial}");
    drop(server);

    let out = boai(&["ledger", "check", "--database-url", &url, "--data-dir", &data]).await?;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// Lines with this round's reference prefix.
async fn lines_of_round(db: &TestDb, round: usize) -> anyhow::Result<i64> {
    use sea_orm::ConnectionTrait;
    let conn = db.raw().await?;
    let row = conn
        .query_one(sea_orm::Statement::from_string(
            conn.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM bank_statement_lines WHERE reference LIKE 'K{round}-%'"),
        ))
        .await?
        .context("no count")?;
    let n: i64 = row.try_get("", "n")?;
    conn.close().await?;
    Ok(n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_during_bank_import_is_all_or_nothing() -> anyhow::Result<()> {
    const LINES: usize = 4_000;
    const KILLS: usize = 4;
    const MAX_ROUNDS: usize = 12;
    let db = TestDb::fresh().await?;
    let dir = tempfile::tempdir()?;
    let data = dir.path().to_string_lossy().into_owned();
    let url = db.url.clone();
    let out = boai(&["demo", "--gifts", "20", "--database-url", &url, "--data-dir", &data]).await?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // A large statement (signed-amount CSV layout), references unique per round.
    let statement = |round: usize| {
        let mut csv = String::from("记账日期,交易金额,对方户名,附言,流水号\r\n");
        for i in 0..LINES {
            csv.push_str(&format!(
                "20250105,{}.{:02},汇款人{i},捐款,K{round}-{i:05}\r\n",
                10 + i % 90,
                i % 100
            ));
        }
        csv.into_bytes()
    };
    let client = reqwest::Client::builder().timeout(Duration::from_secs(120)).build()?;
    let import = |base: String, token: String, body: Vec<u8>| {
        let client = client.clone();
        async move {
            client
                .post(format!("{base}/api/v1/giving/bank/statements"))
                .bearer_auth(token)
                .header("content-type", "text/csv")
                .body(body)
                .send()
                .await
        }
    };

    // Round 0 runs to the end: how long an import takes.
    let server = start_server(&url, &data, &client).await?;
    let tok = token(&client, &server.base, "caiwu").await?;
    let started = Instant::now();
    let res = import(server.base.clone(), tok, statement(0)).await?;
    let took = started.elapsed();
    assert_eq!(res.status(), 200, "{}", res.text().await?);
    drop(server);
    assert_eq!(lines_of_round(&db, 0).await?, LINES as i64);

    // Then kills at pseudo-random moments inside that time.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let mut seed = u64::from(std::process::id()) ^ u64::from(nanos) ^ 0x9e37_79b9;
    let mut outcomes = Vec::new();
    // At least KILLS rounds, and more (killing earlier) until one kill has
    // hit an import in flight: on a loaded machine round 0 can take much
    // longer than the later ones, and every kill then comes too late.
    let mut rounds = 0;
    for round in 1..=MAX_ROUNDS {
        rounds = round;
        let mut server = start_server(&url, &data, &client).await?;
        let tok = token(&client, &server.base, "caiwu").await?;
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let (low, span) = if round <= KILLS { (0.1, 0.8) } else { (0.02, 0.25) };
        let fraction = low + span * ((seed >> 33) as f64 / (1u64 << 31) as f64);
        let at = took.mul_f64(fraction);
        let request = tokio::spawn(import(server.base.clone(), tok, statement(round)));
        tokio::time::sleep(at).await;
        server.child.kill()?;
        server.child.wait()?;
        let answered = matches!(request.await?, Ok(r) if r.status() == 200);
        let n = lines_of_round(&db, round).await?;
        eprintln!("kill {round} at {at:?} of {took:?}: {n} of {LINES} lines, answered: {answered}");
        assert!(
            n == 0 || n == LINES as i64,
            "kill {round}: {n} of {LINES} lines were left"
        );
        if answered {
            assert_eq!(n, LINES as i64, "an answered import is not all there");
        }
        outcomes.push(n);
        if round >= KILLS && outcomes.contains(&0) {
            break;
        }
    }
    assert!(outcomes.contains(&0), "no kill hit an import in flight: {outcomes:?}");

    // The books, the ledger and the audit chain hold after all that.
    for check in [
        vec!["ledger", "check", "--database-url", &url, "--data-dir", &data],
        vec!["audit", "verify", "--database-url", &url],
    ] {
        let out = boai(&check).await?;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{check:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // And a restarted server imports again.
    let server = start_server(&url, &data, &client).await?;
    let tok = token(&client, &server.base, "caiwu").await?;
    let res = import(server.base.clone(), tok, statement(rounds + 1)).await?;
    assert_eq!(res.status(), 200);
    assert_eq!(lines_of_round(&db, rounds + 1).await?, LINES as i64);
    Ok(())
}
