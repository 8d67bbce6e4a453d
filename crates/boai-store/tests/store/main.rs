//! boai-store's integration tests, one binary (one link) for all of them: each
//! module is the file of the same name beside this one.

// Tests fail loudly: helpers as well as #[test] functions may unwrap.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod books;
mod ledger;
mod members;
mod network;
mod scope;
mod storage;
mod writer;
