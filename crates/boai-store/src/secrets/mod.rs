//! The installation's secret keys: data keys to encrypt personal data at rest
//! (AES-256-GCM, a fresh random nonce per value), one to make keyed hashes for
//! searching it (HMAC-SHA256), one to sign certificate data (HMAC-SHA256).
//! Keys live in `<data dir>/secrets.json` (created once, mode 0600, replaced
//! atomically) and are never logged; `Debug` prints nothing of them.
//!
//! Rules of the data keys (key rotation, docs/decisions/0009-key-rotation.md):
//! - Data keys are numbered; one is current and seals every new value. A value
//!   sealed with key 1 is plain base64 of nonce ‖ ciphertext (the format from
//!   before rotation existed); with key N ≥ 2 it is `kN:` + the same base64
//!   (`:` never occurs in base64, so the two cannot be confused).
//! - The old file format (`data_key`, `hash_key`, `signing_key`) reads as key 1.
//! - A store loaded from a file keeps reading the file when it changes: before
//!   sealing it looks again at most once a second, and a value sealed with a
//!   key it does not know makes it look at once. So a running server starts
//!   sealing with a new key within a second of `boai secrets rotate` writing
//!   it, and reads both keys meanwhile.
//! - The hash key and the signing key are not rotated (see the decision).

pub mod rotate;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

/// How often a store loaded from a file looks whether it changed.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// One numbered data key, as the file holds it.
#[derive(Clone, Serialize, Deserialize)]
struct DataKeyEntry {
    id: u32,
    key: String,
}

/// The file: the old form (`data_key`) or the numbered one (`data_keys`).
#[derive(Clone, Serialize, Deserialize)]
struct SecretsFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    data_key: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    data_keys: Vec<DataKeyEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    current_data_key: Option<u32>,
    hash_key: String,
    signing_key: String,
}

/// The data keys in use: id → key, and the one that seals.
#[derive(Clone)]
struct Ring {
    keys: BTreeMap<u32, [u8; 32]>,
    current: u32,
}

impl SecretsFile {
    fn ring(&self) -> Ring {
        let mut keys = BTreeMap::new();
        if let Some(k) = &self.data_key {
            keys.insert(1, key_bytes(k));
        }
        for e in &self.data_keys {
            keys.insert(e.id, key_bytes(&e.key));
        }
        let current = self
            .current_data_key
            .filter(|c| keys.contains_key(c))
            .or_else(|| keys.keys().next_back().copied())
            .unwrap_or(1);
        Ring { keys, current }
    }
}

/// Where a store's keys came from, to notice when the file changes.
struct Source {
    path: PathBuf,
    /// When the file was last looked at, and its modification time and length then.
    seen: Mutex<(Instant, Option<(SystemTime, u64)>)>,
}

/// The keys.
#[derive(Clone)]
pub struct Secrets {
    ring: Arc<RwLock<Ring>>,
    hash_key: String,
    signing_key: String,
    source: Option<Arc<Source>>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(..)")
    }
}

fn random_key() -> String {
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    STANDARD.encode(key)
}

fn key_bytes(b64: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    if let Ok(bytes) = STANDARD.decode(b64) {
        let n = bytes.len().min(32);
        out[..n].copy_from_slice(&bytes[..n]);
    }
    out
}

/// Why secrets could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("cannot read or write {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path} is not a valid secrets file: {source}")]
    Format { path: String, source: serde_json::Error },
    #[error("{0}")]
    Rotation(String),
}

/// The key id a sealed value names (1 for the unprefixed form) and its base64.
pub fn sealed_key_id(sealed: &str) -> Option<(u32, &str)> {
    match sealed.strip_prefix('k').and_then(|rest| rest.split_once(':')) {
        Some((id, b64)) => id.parse().ok().filter(|id| *id >= 2).map(|id| (id, b64)),
        None if !sealed.contains(':') => Some((1, sealed)),
        None => None,
    }
}

fn file_stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

fn read_file(path: &Path) -> Result<SecretsFile, SecretsError> {
    let bytes = std::fs::read(path).map_err(|source| SecretsError::Io {
        path: path.display().to_string(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| SecretsError::Format {
        path: path.display().to_string(),
        source,
    })
}

/// Writes the file atomically (a temporary file, mode 0600, renamed over it).
fn write_file(path: &Path, file: &SecretsFile) -> Result<(), SecretsError> {
    let io = |source| SecretsError::Io {
        path: path.display().to_string(),
        source,
    };
    let json = serde_json::to_vec_pretty(file).map_err(|source| SecretsError::Format {
        path: path.display().to_string(),
        source,
    })?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let tmp = path.with_extension(format!("json.tmp-{}", std::process::id()));
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(&tmp).map_err(io)?;
        f.write_all(&json).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(())
}

impl Secrets {
    /// Fresh random keys (tests, first start).
    pub fn generate() -> Secrets {
        Secrets::from_file(&SecretsFile {
            data_key: Some(random_key()),
            data_keys: Vec::new(),
            current_data_key: None,
            hash_key: random_key(),
            signing_key: random_key(),
        })
    }

    fn from_file(file: &SecretsFile) -> Secrets {
        Secrets {
            ring: Arc::new(RwLock::new(file.ring())),
            hash_key: file.hash_key.clone(),
            signing_key: file.signing_key.clone(),
            source: None,
        }
    }

    /// Loads `path`, creating it with fresh keys if it does not exist. The
    /// store keeps following the file's data keys (see the module's rules).
    pub fn load_or_create(path: &Path) -> Result<Secrets, SecretsError> {
        let file = match read_file(path) {
            Ok(file) => file,
            Err(SecretsError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                let file = SecretsFile {
                    data_key: Some(random_key()),
                    data_keys: Vec::new(),
                    current_data_key: None,
                    hash_key: random_key(),
                    signing_key: random_key(),
                };
                write_file(path, &file)?;
                file
            }
            Err(e) => return Err(e),
        };
        let mut secrets = Secrets::from_file(&file);
        secrets.source = Some(Arc::new(Source {
            path: path.to_owned(),
            seen: Mutex::new((Instant::now(), file_stamp(path))),
        }));
        Ok(secrets)
    }

    /// Looks at the file again if it was not looked at for a second (or at
    /// once when `force`), and takes its data keys if it changed. The hash and
    /// signing keys never change while running.
    fn refresh(&self, force: bool) {
        let Some(source) = &self.source else { return };
        let Ok(mut seen) = source.seen.lock() else { return };
        if !force && seen.0.elapsed() < RELOAD_INTERVAL {
            return;
        }
        seen.0 = Instant::now();
        let stamp = file_stamp(&source.path);
        if !force && stamp == seen.1 {
            return;
        }
        match read_file(&source.path) {
            Ok(file) if file.hash_key == self.hash_key => {
                let ring = file.ring();
                if let Ok(mut current) = self.ring.write() {
                    let changed = current.current != ring.current || current.keys.len() != ring.keys.len();
                    *current = ring;
                    if changed {
                        tracing::info!(
                            current_key = current.current,
                            keys = current.keys.len(),
                            "personal-data keys reloaded"
                        );
                    }
                }
                seen.1 = stamp;
            }
            Ok(_) => tracing::error!("secrets file changed its hash key; keeping the keys in use"),
            Err(e) => tracing::warn!(error = %e, "cannot reload the secrets file; keeping the keys in use"),
        }
    }

    /// The id of the key that seals new values.
    pub fn current_key_id(&self) -> u32 {
        self.refresh(false);
        self.ring.read().map(|r| r.current).unwrap_or(1)
    }

    /// The ids of the data keys known.
    pub fn key_ids(&self) -> Vec<u32> {
        self.ring
            .read()
            .map(|r| r.keys.keys().copied().collect())
            .unwrap_or_default()
    }

    /// Encrypts a value with the current key: base64 of nonce ‖ ciphertext,
    /// prefixed `kN:` for a key N ≥ 2.
    pub fn encrypt(&self, plain: &str) -> String {
        self.refresh(false);
        let Ok(ring) = self.ring.read() else {
            return String::new();
        };
        let Some(key) = ring.keys.get(&ring.current) else {
            return String::new();
        };
        let cipher = Aes256Gcm::new(&(*key).into());
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        match cipher.encrypt(Nonce::from_slice(&nonce), plain.as_bytes()) {
            Ok(ct) => {
                let mut out = nonce.to_vec();
                out.extend(ct);
                let b64 = STANDARD.encode(out);
                if ring.current == 1 {
                    b64
                } else {
                    format!("k{}:{b64}", ring.current)
                }
            }
            Err(_) => String::new(),
        }
    }

    /// Decrypts what [`Secrets::encrypt`] made with any key still known;
    /// `None` if it was tampered with or its key is unknown.
    pub fn decrypt(&self, sealed: &str) -> Option<String> {
        let (id, b64) = sealed_key_id(sealed)?;
        let known = self.ring.read().ok()?.keys.contains_key(&id);
        if !known {
            self.refresh(true);
        }
        let key = *self.ring.read().ok()?.keys.get(&id)?;
        let bytes = STANDARD.decode(b64).ok()?;
        if bytes.len() < 12 {
            return None;
        }
        let cipher = Aes256Gcm::new(&key.into());
        let plain = cipher.decrypt(Nonce::from_slice(&bytes[..12]), &bytes[12..]).ok()?;
        String::from_utf8(plain).ok()
    }

    /// Whether a sealed value is sealed with the current key.
    pub fn is_current(&self, sealed: &str) -> bool {
        let current = self.ring.read().map(|r| r.current).unwrap_or(1);
        sealed_key_id(sealed).is_some_and(|(id, _)| id == current)
    }

    /// Starts a rotation in the file at `path`: a new data key becomes current
    /// (the old ones stay, for reading). If a rotation was left unfinished
    /// (more than one data key), its newest key stays current and no key is
    /// added. Returns the current key's id and the ids of the older keys.
    pub fn begin_rotation(path: &Path) -> Result<(u32, Vec<u32>), SecretsError> {
        let mut file = read_file(path)?;
        let ring = file.ring();
        if ring.keys.len() > 1 && ring.keys.keys().next_back() == Some(&ring.current) {
            let old = ring.keys.keys().copied().filter(|k| *k != ring.current).collect();
            return Ok((ring.current, old));
        }
        let mut entries: Vec<DataKeyEntry> = file.data_keys.clone();
        if let Some(k) = file.data_key.take() {
            entries.insert(0, DataKeyEntry { id: 1, key: k });
        }
        let next = entries.iter().map(|e| e.id).max().unwrap_or(1) + 1;
        let old = entries.iter().map(|e| e.id).collect();
        entries.push(DataKeyEntry {
            id: next,
            key: random_key(),
        });
        file.data_keys = entries;
        file.current_data_key = Some(next);
        write_file(path, &file)?;
        Ok((next, old))
    }

    /// Ends a rotation: every data key but the current one is removed from
    /// the file at `path`. Returns the ids removed.
    pub fn retire_old_keys(path: &Path) -> Result<Vec<u32>, SecretsError> {
        let mut file = read_file(path)?;
        let ring = file.ring();
        let mut entries: Vec<DataKeyEntry> = file.data_keys.clone();
        if let Some(k) = file.data_key.take() {
            entries.insert(0, DataKeyEntry { id: 1, key: k });
        }
        let retired: Vec<u32> = entries.iter().map(|e| e.id).filter(|id| *id != ring.current).collect();
        entries.retain(|e| e.id == ring.current);
        if entries.is_empty() {
            return Err(SecretsError::Rotation(
                "the current data key is missing from the file".to_owned(),
            ));
        }
        file.data_keys = entries;
        file.current_data_key = Some(ring.current);
        write_file(path, &file)?;
        Ok(retired)
    }

    fn hmac(key: &str, data: &[u8]) -> Vec<u8> {
        match <Hmac<Sha256> as Mac>::new_from_slice(&key_bytes(key)) {
            Ok(mut mac) => {
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
            Err(_) => Vec::new(),
        }
    }

    /// The keyed hash a value is searched by (hex).
    pub fn keyed_hash(&self, value: &str) -> String {
        hex::encode(Self::hmac(&self.hash_key, value.as_bytes()))
    }

    /// A signature over data (URL-safe base64).
    pub fn sign(&self, data: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(Self::hmac(&self.signing_key, data))
    }

    /// Whether `signature` signs `data`, compared in constant time.
    pub fn verify(&self, data: &[u8], signature: &str) -> bool {
        let Ok(sig) = URL_SAFE_NO_PAD.decode(signature) else {
            return false;
        };
        match <Hmac<Sha256> as Mac>::new_from_slice(&key_bytes(&self.signing_key)) {
            Ok(mut mac) => {
                mac.update(data);
                mac.verify_slice(&sig).is_ok()
            }
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encryption_round_trips_with_fresh_nonces() {
        let s = Secrets::generate();
        let a = s.encrypt("11010519491231002X");
        let b = s.encrypt("11010519491231002X");
        assert_ne!(a, b);
        assert!(!a.contains("1949"));
        assert!(!a.contains(':'), "key 1 keeps the format from before rotation");
        assert_eq!(s.decrypt(&a).as_deref(), Some("11010519491231002X"));
        assert_eq!(Secrets::generate().decrypt(&a), None, "another key cannot read it");
    }

    #[test]
    fn hashes_are_keyed_and_stable() {
        let s = Secrets::generate();
        assert_eq!(s.keyed_hash("x"), s.keyed_hash("x"));
        assert_ne!(s.keyed_hash("x"), Secrets::generate().keyed_hash("x"));
    }

    #[test]
    fn signatures_verify_only_unaltered_data() {
        let s = Secrets::generate();
        let sig = s.sign(b"JN-2026-0000001|123456");
        assert!(s.verify(b"JN-2026-0000001|123456", &sig));
        assert!(!s.verify(b"JN-2026-0000001|923456", &sig));
        let ring = s.ring.read().map(|r| r.keys.clone()).unwrap_or_default();
        let key = ring.get(&1).map(|k| STANDARD.encode(k)).unwrap_or_default();
        assert!(!format!("{s:?}").contains(&key));
    }

    fn temp_path() -> (PathBuf, PathBuf) {
        let dir = std::env::temp_dir().join(format!("boai-secrets-{}", uuid::Uuid::new_v4()));
        (dir.join("secrets.json"), dir)
    }

    #[test]
    fn load_or_create_keeps_keys() {
        let (path, dir) = temp_path();
        let a = Secrets::load_or_create(&path)
            .map(|s| s.keyed_hash("x"))
            .unwrap_or_default();
        let b = Secrets::load_or_create(&path)
            .map(|s| s.keyed_hash("x"))
            .unwrap_or_default();
        assert_eq!(a, b);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn sealed_values_name_their_key() {
        assert_eq!(sealed_key_id("AAAA"), Some((1, "AAAA")));
        assert_eq!(sealed_key_id("k2:AAAA"), Some((2, "AAAA")));
        assert_eq!(sealed_key_id("k1:AAAA"), None, "key 1 is never written with a prefix");
        assert_eq!(sealed_key_id("kx:AAAA"), None);
        // Base64 may start with `k`: without a colon it is key 1.
        assert_eq!(sealed_key_id("k2AAAA"), Some((1, "k2AAAA")));
    }

    #[test]
    fn rotation_in_the_file_is_followed_by_a_running_store() -> Result<(), SecretsError> {
        let (path, dir) = temp_path();
        let server = Secrets::load_or_create(&path)?;
        let old = server.encrypt("13800138000");
        let hash = server.keyed_hash("13800138000");
        let (current, older) = Secrets::begin_rotation(&path)?;
        assert_eq!((current, older), (2, vec![1]));
        // Resuming an unfinished rotation adds no key.
        assert_eq!(Secrets::begin_rotation(&path)?, (2, vec![1]));
        // The rotating process reads the file fresh.
        let rotator = Secrets::load_or_create(&path)?;
        let new = rotator.encrypt("13800138000");
        assert!(new.starts_with("k2:"));
        // The running store meets a key it does not know: it reloads at once.
        assert_eq!(server.decrypt(&new).as_deref(), Some("13800138000"));
        assert_eq!(server.decrypt(&old).as_deref(), Some("13800138000"));
        assert_eq!(rotator.decrypt(&old).as_deref(), Some("13800138000"));
        assert!(server.encrypt("x").starts_with("k2:"), "writes use the new key");
        assert_eq!(server.keyed_hash("13800138000"), hash, "the hash key is not rotated");
        assert_eq!(Secrets::retire_old_keys(&path)?, vec![1]);
        let after = Secrets::load_or_create(&path)?;
        assert_eq!(after.key_ids(), vec![2]);
        assert_eq!(after.decrypt(&old), None, "the retired key is gone");
        assert_eq!(after.decrypt(&new).as_deref(), Some("13800138000"));
        // A second rotation goes on numbering.
        assert_eq!(Secrets::begin_rotation(&path)?, (3, vec![2]));
        let _ = std::fs::remove_dir_all(dir);
        Ok(())
    }

    #[test]
    fn the_old_file_format_reads_as_key_one() -> Result<(), SecretsError> {
        let (path, dir) = temp_path();
        let legacy = serde_json::json!({
            "data_key": random_key(), "hash_key": random_key(), "signing_key": random_key()
        });
        std::fs::create_dir_all(&dir).map_err(|source| SecretsError::Io {
            path: String::new(),
            source,
        })?;
        std::fs::write(&path, legacy.to_string()).map_err(|source| SecretsError::Io {
            path: String::new(),
            source,
        })?;
        let s = Secrets::load_or_create(&path)?;
        assert_eq!(s.key_ids(), vec![1]);
        assert_eq!(s.current_key_id(), 1);
        let sealed = s.encrypt("x");
        assert!(!sealed.contains(':'));
        let _ = std::fs::remove_dir_all(dir);
        Ok(())
    }
}
