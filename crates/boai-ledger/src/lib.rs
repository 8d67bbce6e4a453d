//! Boai's public ledger: an append-only Merkle-tree transparency log in the
//! C2SP formats (tlog-tiles with tile height 8, entry bundles, tlog-checkpoint
//! signed as a signed-note with Ed25519, RFC 6962 hashing).
//!
//! Rules:
//! - No I/O. The store keeps entries and hashes; the web layer serves them;
//!   this crate only encodes, hashes, signs and checks.
//! - The `tlog_tiles` and `signed_note` crates do the hashing, proofs and
//!   notes; their types never leave this crate (we expose [`Hash`],
//!   [`NodeId`], [`TilePath`], [`Checkpoint`]).
//! - An entry is canonical JSON (RFC 8785) and carries only what the public
//!   may see: see [`entry::LedgerEntry`] and docs/ledger.md.

pub mod audit;
pub mod digest;
pub mod entry;
pub mod note;
pub mod tiles;
pub mod trace;
pub mod tree;

pub use digest::LedgerDigest;
pub use entry::{commitment, LedgerEntry};
pub use note::{Checkpoint, LedgerSigner, VerifierKey};
pub use tiles::TilePath;
pub use tree::{Hash, NodeId};

/// Tile height: each tile holds 2^8 = 256 hashes or entries.
pub const TILE_HEIGHT: u8 = 8;
/// Entries or hashes in a full tile.
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;

/// What can go wrong in this crate.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LedgerError {
    #[error("malformed: {0}")]
    Malformed(String),
    #[error("proof failed: {0}")]
    Proof(String),
    #[error("signature: {0}")]
    Signature(String),
    #[error("missing hash for {0:?}")]
    MissingHash(NodeId),
}
