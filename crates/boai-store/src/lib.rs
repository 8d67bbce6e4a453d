//! Boai's database layer: one code path on SQLite and PostgreSQL.
//!
//! Rules:
//! - Every query made on behalf of a user goes through [`ScopedStore`], which
//!   adds the user's organisation subtree to it; there is no other way for the
//!   web layer to read or write scoped records.
//! - Every change writes its audit row in the same transaction.
//! - On SQLite, writes go through a one-connection pool (one writer, no
//!   `SQLITE_BUSY` upgrades), reads through a pool of readers; on PostgreSQL
//!   both are the same pool.

pub mod accounts;
pub mod audit;
pub mod backup;
mod db;
pub mod demo;
mod draws;
mod entities;
mod error;
pub mod fundraising;
pub mod funds;
pub mod idempotency;
pub mod import;
mod insert;
mod journal;
pub mod ledger;
pub mod members;
pub mod migrations;
pub mod network;
pub mod orgs;
pub mod privacy;
pub mod relief;
mod scoped;
pub mod secrets;
mod sequences;
pub mod throttle;
pub mod transparency;

pub use db::{create_scratch_database, drop_scratch_database, Backend, Store};
pub use error::StoreError;
pub use scoped::{Actor, Page, ScopedStore};

/// The result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;
