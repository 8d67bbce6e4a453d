//! boai-web's integration tests, one binary (one link) for all of them: each
//! module is the file of the same name beside this one.

// Tests fail loudly: helpers as well as #[test] functions may unwrap.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod authz;
mod crawl;
mod faults;
mod gifts;
mod giving;
mod http;
mod ledger;
mod members;
mod network;
mod portal;
mod privacy;
mod reconciliation;
mod relief;
mod security_accounts;
mod security_edge;
mod security_public;
mod sessions;
mod staff_pages;
mod transparency;
