//! The installation's secret keys: one to encrypt personal data at rest
//! (AES-256-GCM, a fresh random nonce per value), one to make keyed hashes for
//! searching it (HMAC-SHA256), one to sign certificate data (HMAC-SHA256).
//! Keys live in `<data dir>/secrets.json` (created once, mode 0600) and are
//! never logged; `Debug` prints nothing of them.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::path::Path;

/// The three keys.
#[derive(Clone, Serialize, Deserialize)]
pub struct Secrets {
    data_key: String,
    hash_key: String,
    signing_key: String,
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
}

impl Secrets {
    /// Fresh random keys (tests, first start).
    pub fn generate() -> Secrets {
        Secrets {
            data_key: random_key(),
            hash_key: random_key(),
            signing_key: random_key(),
        }
    }

    /// Loads `path`, creating it with fresh keys if it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Secrets, SecretsError> {
        let io = |source| SecretsError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| SecretsError::Format {
                path: path.display().to_string(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let secrets = Secrets::generate();
                let json = serde_json::to_vec_pretty(&secrets).map_err(|source| SecretsError::Format {
                    path: path.display().to_string(),
                    source,
                })?;
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(io)?;
                }
                std::fs::write(path, json).map_err(io)?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
                }
                Ok(secrets)
            }
            Err(e) => Err(io(e)),
        }
    }

    /// Encrypts a value: base64 of nonce ‖ ciphertext.
    pub fn encrypt(&self, plain: &str) -> String {
        let cipher = Aes256Gcm::new(&key_bytes(&self.data_key).into());
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        match cipher.encrypt(Nonce::from_slice(&nonce), plain.as_bytes()) {
            Ok(ct) => {
                let mut out = nonce.to_vec();
                out.extend(ct);
                STANDARD.encode(out)
            }
            Err(_) => String::new(),
        }
    }

    /// Decrypts what [`Secrets::encrypt`] made; `None` if it was tampered with.
    pub fn decrypt(&self, sealed: &str) -> Option<String> {
        let bytes = STANDARD.decode(sealed).ok()?;
        if bytes.len() < 12 {
            return None;
        }
        let cipher = Aes256Gcm::new(&key_bytes(&self.data_key).into());
        let plain = cipher.decrypt(Nonce::from_slice(&bytes[..12]), &bytes[12..]).ok()?;
        String::from_utf8(plain).ok()
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
        assert!(!format!("{s:?}").contains(&s.data_key));
    }

    #[test]
    fn load_or_create_keeps_keys() {
        let dir = std::env::temp_dir().join(format!("boai-secrets-{}", uuid::Uuid::new_v4()));
        let path = dir.join("secrets.json");
        let a = Secrets::load_or_create(&path)
            .map(|s| s.keyed_hash("x"))
            .unwrap_or_default();
        let b = Secrets::load_or_create(&path)
            .map(|s| s.keyed_hash("x"))
            .unwrap_or_default();
        assert_eq!(a, b);
        let _ = std::fs::remove_dir_all(dir);
    }
}
