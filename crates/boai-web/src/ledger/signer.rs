//! The checkpoint signer: polls the committed ledger size and signs a new
//! checkpoint when it grew, then writes the newest checkpoint to the data
//! folder (the witness `boai ledger check` compares a database with, which
//! reveals a database restored from an older copy).

use crate::AppState;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often the signer looks for new entries.
pub const INTERVAL: Duration = Duration::from_millis(500);

/// Runs until the task is dropped or aborted.
pub async fn run(state: AppState) {
    let mut last_size = None;
    loop {
        if state.ready.load(std::sync::atomic::Ordering::Acquire) {
            match state.store.ledger_sign(&state.ledger_signer).await {
                Ok(signed) if Some(signed.size) != last_size => {
                    if let Some(path) = &state.config.ledger_witness {
                        if let Err(e) = write_witness(path, &signed.note) {
                            tracing::warn!(error = %e, path = %path.display(), "cannot write the ledger witness");
                        }
                    }
                    tracing::debug!(size = signed.size, "ledger checkpoint signed");
                    last_size = Some(signed.size);
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cannot sign a ledger checkpoint"),
            }
        }
        tokio::time::sleep(INTERVAL).await;
    }
}

/// Replaces the witness file atomically (write, sync, rename).
fn write_witness(path: &Path, note: &str) -> std::io::Result<()> {
    use std::io::Write;
    let tmp: PathBuf = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(note.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}
