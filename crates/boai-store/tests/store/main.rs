//! boai-store's integration tests, one binary (one link) for all of them: each
//! module is the file of the same name beside this one.

mod books;
mod ledger;
mod members;
mod network;
mod storage;
mod writer;
