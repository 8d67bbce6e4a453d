//! `boai keygen`, `boai verify` and `boai ledger check`: wiring around
//! `boai-ledger` (the auditor) and the store (the database check).

use crate::settings::Settings;
use anyhow::{bail, Context};
use boai_ledger::audit::{audit, AuditState, Source};
use boai_ledger::{LedgerSigner, VerifierKey};
use boai_store::ledger::SignedCheckpoint;
use boai_store::Store;
use std::path::Path;
use std::process::ExitCode;

/// Makes a key and writes its private half to `path` (never over an existing file).
pub fn keygen(name: &str, path: &Path) -> anyhow::Result<LedgerSigner> {
    if path.exists() {
        bail!(
            "{} already exists; a ledger key is never replaced silently",
            path.display()
        );
    }
    let (private, signer) = LedgerSigner::generate(name)?;
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
    }
    write_private(path, &format!("{private}\n"))?;
    Ok(signer)
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// The server's signing key: from the key file; `serve --demo` makes one on
/// first start and keeps it.
pub fn load_signer(settings: &Settings, demo: bool) -> anyhow::Result<LedgerSigner> {
    let path = settings.ledger_key_path();
    if path.exists() {
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        return LedgerSigner::from_text(&text).with_context(|| format!("{} is not a ledger key", path.display()));
    }
    if demo {
        let signer = keygen(&settings.ledger_origin, &path)?;
        tracing::info!(path = %path.display(), key = signer.verifier_key(), "made a ledger signing key");
        return Ok(signer);
    }
    bail!(
        "no ledger signing key at {}: make one with `boai keygen` (or set ledger_key_file)",
        path.display()
    )
}

/// Reads over HTTP for the auditor.
struct HttpSource {
    base: String,
    client: reqwest::Client,
}

impl Source for HttpSource {
    async fn get(&self, path: &str) -> Result<Option<Vec<u8>>, String> {
        let url = format!("{}{path}", self.base);
        let response = self.client.get(&url).send().await.map_err(|e| e.to_string())?;
        match response.status() {
            reqwest::StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => Ok(Some(response.bytes().await.map_err(|e| e.to_string())?.to_vec())),
            s => Err(format!("HTTP {s}")),
        }
    }
}

/// `boai verify`.
pub async fn verify(url: &str, state_file: Option<&Path>) -> anyhow::Result<ExitCode> {
    let previous: Option<AuditState> = match state_file {
        Some(p) if p.exists() => Some(
            serde_json::from_slice(&std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?)
                .with_context(|| format!("{} is not a verify state file", p.display()))?,
        ),
        _ => None,
    };
    let source = HttpSource {
        base: url.trim_end_matches('/').to_owned(),
        client: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()?,
    };
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} entries")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message("checking entries");
    let outcome = audit(&source, previous.as_ref(), &|done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .await;
    bar.finish_and_clear();
    for line in &outcome.passed {
        println!("ok: {line}");
    }
    for line in &outcome.problems {
        println!("PROBLEM: {line}");
    }
    if let (Some(path), Some(state)) = (state_file, &outcome.state) {
        std::fs::write(path, serde_json::to_vec_pretty(state)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if outcome.ok() {
        println!(
            "ledger verified: {} entries, every check passed",
            outcome.checkpoint.as_ref().map_or(0, |c| c.size)
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!("ledger NOT verified: {} problem(s)", outcome.problems.len());
        Ok(ExitCode::from(1))
    }
}

/// `boai ledger check`.
pub async fn check(store: &Store, settings: &Settings) -> anyhow::Result<ExitCode> {
    let key_path = settings.ledger_key_path();
    let key = match std::fs::read_to_string(&key_path) {
        Ok(text) => {
            let signer = LedgerSigner::from_text(&text)
                .with_context(|| format!("{} is not a ledger key", key_path.display()))?;
            Some(VerifierKey::parse(signer.verifier_key())?)
        }
        Err(_) => {
            eprintln!(
                "no ledger key at {}: checkpoint signatures are not checked",
                key_path.display()
            );
            None
        }
    };
    let witness_path = settings.ledger_witness_path();
    let witness = match (std::fs::read(&witness_path), &key) {
        (Ok(note), Some(key)) => {
            let opened = key.open(&note).with_context(|| {
                format!(
                    "{} is not a checkpoint signed by the ledger key",
                    witness_path.display()
                )
            })?;
            Some(SignedCheckpoint {
                size: opened.size,
                root: opened.root,
                note: String::from_utf8_lossy(&note).into_owned(),
                signed_at: chrono::Utc::now(),
            })
        }
        _ => None,
    };
    let bar = indicatif::ProgressBar::new(0);
    let report = store
        .ledger_check(key.as_ref(), witness.as_ref(), &|done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })
        .await?;
    bar.finish_and_clear();
    for line in &report.passed {
        println!("ok: {line}");
    }
    for line in &report.problems {
        println!("PROBLEM: {line}");
    }
    if report.holds() {
        println!("ledger check passed: {} entries", report.size);
        Ok(ExitCode::SUCCESS)
    } else {
        println!("ledger check FAILED: {} problem(s)", report.problems.len());
        Ok(ExitCode::from(1))
    }
}
