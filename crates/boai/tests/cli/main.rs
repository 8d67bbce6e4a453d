//! boai's integration tests, one binary (one link) for all of them: each
//! module is the file of the same name beside this one.

// Tests fail loudly: helpers as well as #[test] functions may unwrap.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod backup;
mod cli;
mod durability;
mod log_scan;
mod plain_serve;
mod rotation;
mod support;
mod verify;
