//! Funds and projects: the JSON API (`/api/v1/projects`, `/api/v1/funds/…`)
//! and the pages (fund balances and trial balance; a project's raised /
//! allocated / spent with a chart over time). Every figure shown is a running
//! balance kept by the journal, never a sum computed for the page.

pub mod api;
pub mod pages;
