//! Where attachments' bytes live: a small storage interface, content
//! addressed by SHA-256, with the data folder's implementation. A file is
//! written before the case that names it is committed; a failed filing
//! leaves at most an unreferenced file, never a case without its file.

use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// Stores and fetches attachment bytes by their SHA-256 (hex).
pub trait FileStore: Send + Sync + std::fmt::Debug {
    /// Keeps `bytes`; returns their SHA-256 (hex), the key to fetch them by.
    fn put(&self, bytes: &[u8]) -> std::io::Result<String>;
    /// The bytes kept under `sha256`.
    fn get(&self, sha256: &str) -> std::io::Result<Vec<u8>>;
    /// Erases the bytes kept under `sha256` (a missing file is not an error).
    fn remove(&self, sha256: &str) -> std::io::Result<()>;
}

/// Files in a folder (`<root>/<first two hex>/<sha256>`).
#[derive(Debug, Clone)]
pub struct DirFileStore {
    root: PathBuf,
}

impl DirFileStore {
    pub fn new(root: impl Into<PathBuf>) -> DirFileStore {
        DirFileStore { root: root.into() }
    }

    fn path(&self, sha256: &str) -> std::io::Result<PathBuf> {
        if sha256.len() != 64 || !sha256.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "bad file key"));
        }
        Ok(self.root.join(&sha256[..2]).join(sha256))
    }
}

impl FileStore for DirFileStore {
    fn put(&self, bytes: &[u8]) -> std::io::Result<String> {
        let sha = hex::encode(Sha256::digest(bytes));
        let path = self.path(&sha)?;
        if path.exists() {
            return Ok(sha);
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // Written under a temporary name, synced, then renamed: a failure
        // (a full disk) leaves no partial file behind under either name.
        let tmp = path.with_extension("part");
        let written = (|| {
            use std::io::Write;
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &path)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written.map(|()| sha)
    }

    fn get(&self, sha256: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.path(sha256)?)
    }

    fn remove(&self, sha256: &str) -> std::io::Result<()> {
        match std::fs::remove_file(self.path(sha256)?) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }
}
