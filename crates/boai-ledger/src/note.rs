//! Keys and checkpoints. A checkpoint is a C2SP tlog-checkpoint (origin,
//! size, base64 root) wrapped in a C2SP signed-note signed with the society's
//! Ed25519 key; the key's name is the log's origin. Keys use Go's note text
//! forms: `PRIVATE+KEY+<name>+<hash>+<base64>` and `<name>+<hash>+<base64>`.

use crate::{Hash, LedgerError};
use signed_note::{Note, StandardSigner, StandardVerifier, VerifierList};

/// A verified checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

/// The society's signing key.
pub struct LedgerSigner {
    signer: StandardSigner,
    name: String,
    verifier_key: String,
}

impl std::fmt::Debug for LedgerSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerSigner")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl LedgerSigner {
    /// Makes a new key named `name` (the log's origin, e.g. `boai.example/jinan`).
    /// Returns the private key text to keep, and the signer.
    pub fn generate(name: &str) -> Result<(String, LedgerSigner), LedgerError> {
        if !signed_note::is_key_name_valid(name) {
            return Err(LedgerError::Malformed(format!(
                "key name {name:?} may not contain spaces or '+'"
            )));
        }
        let (skey, _) = signed_note::generate_key(&mut rand::rngs::OsRng, name);
        let signer = LedgerSigner::from_text(&skey)?;
        Ok((skey, signer))
    }

    /// Loads a private key text.
    pub fn from_text(skey: &str) -> Result<LedgerSigner, LedgerError> {
        let skey = skey.trim();
        let signer = StandardSigner::new(skey).map_err(|e| LedgerError::Signature(format!("signing key: {e}")))?;
        let name = skey.split('+').nth(2).unwrap_or_default().to_owned();
        let key = skey.splitn(5, '+').nth(4).unwrap_or_default();
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(key)
            .map_err(|_| LedgerError::Signature("signing key is not base64".into()))?;
        let seed: [u8; 32] = bytes
            .get(1..)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| LedgerError::Signature("signing key has the wrong length".into()))?;
        let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
        let verifier_key = signed_note::new_ed25519_verifier_key(&name, &public);
        Ok(LedgerSigner {
            signer,
            name,
            verifier_key,
        })
    }

    /// The log's origin (the key's name).
    pub fn origin(&self) -> &str {
        &self.name
    }

    /// The verifier key text, `<name>+<hash>+<base64>`.
    pub fn verifier_key(&self) -> &str {
        &self.verifier_key
    }

    /// Signs the checkpoint of a tree of `size` leaves with root `root`.
    pub fn sign(&self, size: u64, root: Hash) -> Result<String, LedgerError> {
        let checkpoint = tlog_tiles::Checkpoint::new(&self.name, size, tlog_tiles::Hash(root.0), "")
            .map_err(|e| LedgerError::Malformed(e.to_string()))?;
        let mut note = Note::new(&checkpoint.to_bytes(), &[]).map_err(|e| LedgerError::Signature(e.to_string()))?;
        note.add_sigs(&[&self.signer])
            .map_err(|e| LedgerError::Signature(e.to_string()))?;
        String::from_utf8(note.to_bytes()).map_err(|e| LedgerError::Malformed(e.to_string()))
    }
}

/// A verifier key, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    text: String,
    name: String,
}

impl VerifierKey {
    pub fn parse(text: &str) -> Result<VerifierKey, LedgerError> {
        let text = text.trim();
        StandardVerifier::new(text).map_err(|e| LedgerError::Signature(format!("verifier key: {e}")))?;
        // Split on the first two '+' only: base64 may contain '+'.
        let name = text.split_once('+').map(|(n, _)| n).unwrap_or_default().to_owned();
        Ok(VerifierKey {
            text: text.to_owned(),
            name,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Verifies a signed checkpoint and parses it; its origin must be the key's name.
    pub fn open(&self, signed: &[u8]) -> Result<Checkpoint, LedgerError> {
        let verifier =
            StandardVerifier::new(&self.text).map_err(|e| LedgerError::Signature(format!("verifier key: {e}")))?;
        let note = Note::from_bytes(signed).map_err(|e| LedgerError::Signature(format!("checkpoint note: {e}")))?;
        note.verify(&VerifierList::new(vec![Box::new(verifier)]))
            .map_err(|e| LedgerError::Signature(format!("checkpoint signature: {e}")))?;
        let checkpoint = tlog_tiles::Checkpoint::from_bytes(note.text())
            .map_err(|e| LedgerError::Malformed(format!("checkpoint: {e}")))?;
        if checkpoint.origin() != self.name {
            return Err(LedgerError::Signature(format!(
                "checkpoint origin {} is not the key's name {}",
                checkpoint.origin(),
                self.name
            )));
        }
        Ok(Checkpoint {
            origin: checkpoint.origin().to_owned(),
            size: checkpoint.size(),
            root: Hash(checkpoint.hash().0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::leaf_hash;

    #[test]
    fn signs_and_opens_checkpoints() {
        let (skey, signer) = LedgerSigner::generate("boai.example/jinan").unwrap();
        assert!(skey.starts_with("PRIVATE+KEY+boai.example/jinan+"));
        let again = LedgerSigner::from_text(&skey).unwrap();
        assert_eq!(again.verifier_key(), signer.verifier_key());
        let root = leaf_hash(b"x");
        let note = signer.sign(42, root).unwrap();
        let text = note.split("\n\n").next().unwrap();
        assert_eq!(text, format!("boai.example/jinan\n42\n{}", root.to_base64()));
        assert!(note.contains("\n\n— boai.example/jinan "));
        let key = VerifierKey::parse(signer.verifier_key()).unwrap();
        assert_eq!(key.name(), "boai.example/jinan");
        let cp = key.open(note.as_bytes()).unwrap();
        assert_eq!((cp.size, cp.root), (42, root));
    }

    #[test]
    fn altered_checkpoints_and_other_keys_are_refused() {
        let (_, signer) = LedgerSigner::generate("boai.example/jinan").unwrap();
        let (_, other) = LedgerSigner::generate("boai.example/jinan").unwrap();
        let note = signer.sign(42, leaf_hash(b"x")).unwrap();
        let key = VerifierKey::parse(signer.verifier_key()).unwrap();
        let altered = note.replacen("\n42\n", "\n43\n", 1);
        assert!(key.open(altered.as_bytes()).is_err());
        let other_key = VerifierKey::parse(other.verifier_key()).unwrap();
        assert!(other_key.open(note.as_bytes()).is_err());
        assert!(VerifierKey::parse("nonsense").is_err());
        assert!(LedgerSigner::generate("has space").is_err());
    }
}
