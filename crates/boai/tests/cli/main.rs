//! boai's integration tests, one binary (one link) for all of them: each
//! module is the file of the same name beside this one.

mod backup;
mod cli;
mod durability;
mod log_scan;
mod rotation;
mod support;
mod verify;
