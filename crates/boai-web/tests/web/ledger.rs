//! The public ledger over HTTP, as CONTRACT.md fixes it: checkpoint, key,
//! tiles and entry bundles with their caching, proofs that verify, bad paths
//! answered 400/404 (never a panic), a background signer, and — the real
//! test of the format — Go's reference implementation (golang.org/x/mod
//! sumdb/note and tlog) verifying what we serve.

use boai_ledger::tree::{check_inclusion, leaf_hash, Hash};
use boai_ledger::VerifierKey;
use boai_testkit::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::PathBuf;

fn b64(text: &str) -> anyhow::Result<Hash> {
    use base64::Engine;
    Ok(Hash::from_slice(
        &base64::engine::general_purpose::STANDARD.decode(text)?,
    )?)
}

async fn get(app: &TestApp, path: &str) -> anyhow::Result<reqwest::Response> {
    Ok(app.client().get(app.url(path)).send().await?)
}

#[tokio::test]
async fn checkpoint_key_and_tiles_follow_the_contract() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let size = app.store.ledger_size().await?;
    let res = get(&app, "/ledger/checkpoint").await?;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-cache");
    let note = res.text().await?;
    let key_text = get(&app, "/ledger/key").await?.text().await?;
    let key = VerifierKey::parse(&key_text)?;
    assert_eq!(key.name(), "boai.example/jinan");
    let checkpoint = key.open(note.as_bytes())?;
    assert_eq!(checkpoint.origin, key.name(), "the origin line is the key's name");
    assert_eq!(checkpoint.size, size);
    assert!(note.starts_with(&format!("boai.example/jinan\n{size}\n")));

    let full = get(&app, "/ledger/tile/0/000").await?;
    assert_eq!(full.status(), StatusCode::OK);
    assert_eq!(full.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(full.bytes().await?.len(), 256 * 32);
    let width = size % 256;
    let last = size / 256;
    let partial = get(&app, &format!("/ledger/tile/entries/{last:03}.p/{width}")).await?;
    assert_eq!(partial.status(), StatusCode::OK);
    assert_ne!(
        partial.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let bundle = boai_ledger::tiles::decode_bundle(&partial.bytes().await?)?;
    assert_eq!(bundle.len() as u64, width);
    // Beyond the tree: 404; malformed: 400 problem+json.
    let beyond = get(&app, &format!("/ledger/tile/entries/{last:03}.p/{}", width + 1)).await?;
    assert_eq!(beyond.status(), StatusCode::NOT_FOUND);
    for bad in [
        "0/1",
        "8/0/000",
        "0/000.p/0",
        "0/000.p/256",
        "data/000",
        "0/x000/001",
        "99/000",
        "entries/abc",
    ] {
        let res = get(&app, &format!("/ledger/tile/{bad}")).await?;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(res.headers()["content-type"], "application/problem+json", "{bad}");
    }
    Ok(())
}

#[tokio::test]
async fn arbitrary_tile_paths_never_fail_the_server() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let parts = [
        "0",
        "1",
        "2",
        "63",
        "64",
        "255",
        "entries",
        "x001",
        "x000",
        "000",
        "999",
        ".p",
        ".p/",
        "1.p/5",
        "000.p/",
        "-1",
        "18446744073709551615",
        "%2e%2e",
        "",
        "x",
        "001.p/300",
    ];
    let mut seed = 0x9e37_79b9_u64;
    for _ in 0..400 {
        let mut path = String::new();
        for _ in 0..(1 + seed % 5) {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            path.push_str(parts[(seed >> 33) as usize % parts.len()]);
            path.push('/');
        }
        path.pop();
        let res = get(&app, &format!("/ledger/tile/{path}")).await?;
        assert!(
            matches!(
                res.status(),
                StatusCode::OK | StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND
            ),
            "{path}: {}",
            res.status()
        );
    }
    assert_eq!(get(&app, "/healthz").await?.status(), StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn a_gift_shows_its_ledger_index_and_its_proof_verifies() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let token = app.token("caiwu").await?;
    let (general, _) = app.store.house_funds().await?;
    let gift: Value = app
        .client()
        .post(app.url("/api/v1/donations"))
        .bearer_auth(&token)
        .json(
            &json!({"project_id": general.id, "amount_fen": 88_800, "channel": "cash",
            "donor": {"kind": "person", "name": "王五", "phone": "13900139000"}}),
        )
        .send()
        .await?
        .json()
        .await?;
    let index = gift["ledger_index"]
        .as_u64()
        .ok_or_else(|| anyhow::anyhow!("ledger_index is a number: {gift}"))?;
    let fetched: Value = app
        .client()
        .get(app.url(&format!("/api/v1/donations/{}", gift["id"].as_str().unwrap())))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(fetched["ledger_index"].as_u64(), Some(index));
    let proof: Value = get(&app, &format!("/api/v1/ledger/proofs/{index}"))
        .await?
        .json()
        .await?;
    let entry = proof["entry"].as_str().unwrap();
    assert!(
        entry.contains("\"amount_fen\":88800") && entry.contains("\"donor\":\"王*\""),
        "{entry}"
    );
    assert!(
        !entry.contains("王五") && !entry.contains("13900139000"),
        "no private data: {entry}"
    );
    let size = proof["tree_size"].as_u64().unwrap();
    let root = b64(proof["root"].as_str().unwrap())?;
    let path: Vec<Hash> = proof["path"]
        .as_array()
        .map(|a| a.iter().filter_map(|h| h.as_str().and_then(|s| b64(s).ok())).collect())
        .unwrap_or_default();
    check_inclusion(&path, size, root, index, leaf_hash(entry.as_bytes()))?;
    let key = VerifierKey::parse(proof["verifier_key"].as_str().unwrap())?;
    assert_eq!(key.open(proof["checkpoint"].as_str().unwrap().as_bytes())?.root, root);
    let beyond = get(&app, &format!("/api/v1/ledger/proofs/{}", size + 10)).await?;
    assert_eq!(beyond.status(), StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn the_background_signer_signs_new_entries() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let before = app.store.ledger_size().await?;
    let token = app.token("caiwu").await?;
    let (general, _) = app.store.house_funds().await?;
    let res = app
        .client()
        .post(app.url("/api/v1/donations"))
        .bearer_auth(&token)
        .json(&json!({"project_id": general.id, "amount_fen": 1000, "channel": "cash"}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::CREATED);
    // Nobody asks for the checkpoint: the signer must notice on its own.
    let mut signed = None;
    for _ in 0..100 {
        if let Some(c) = app.store.ledger_checkpoint().await? {
            if c.size > before {
                signed = Some(c);
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let signed = signed.ok_or_else(|| anyhow::anyhow!("the signer never signed the larger tree"))?;
    assert_eq!(signed.size, before + 1);
    Ok(())
}

fn go_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../e2e/go/run-ledgercheck.sh")
}

/// Go's reference implementation is installed. `scripts/test.sh` installs
/// it and sets `BOAI_REQUIRE_GO`, so there a missing Go fails the test;
/// elsewhere it is skipped with a note.
fn go_available() -> bool {
    let found = std::process::Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found && std::env::var_os("BOAI_REQUIRE_GO").is_some() {
        panic!("BOAI_REQUIRE_GO is set but go is missing: install golang-go and golang-golang-x-mod-dev");
    }
    found
}

#[tokio::test]
async fn go_reference_implementation_verifies_checkpoint_tiles_and_proofs() -> anyhow::Result<()> {
    if !go_available() {
        eprintln!("skipped: go is not installed");
        return Ok(());
    }
    let app = TestApp::demo().await?;
    let base = app.base.clone();
    let size = app.store.ledger_size().await?;
    let old = size / 3;
    let old_hash = app.store.ledger_root(old).await?.to_base64();
    let script = go_script();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("bash")
            .arg(script)
            .arg(&base)
            .args(["-old", &old.to_string(), "-old-hash", &old_hash])
            .output()
    })
    .await??;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.starts_with(&format!("ok: size={size}")),
        "go ledgercheck: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // And it fails against a different key.
    let (_, other) = boai_ledger::LedgerSigner::generate("boai.example/jinan")?;
    let dir = tempfile::tempdir()?;
    let key_file = dir.path().join("other.vkey");
    std::fs::write(&key_file, other.verifier_key())?;
    let base = app.base.clone();
    let script = go_script();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("bash")
            .arg(script)
            .arg(&base)
            .arg("-key-file")
            .arg(&key_file)
            .output()
    })
    .await??;
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    Ok(())
}
