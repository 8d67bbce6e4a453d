//! Organisations: the JSON API (`/api/v1/orgs`) and the pages (tree browser,
//! list with export, detail, new-organisation form). Both call the same
//! domain validation and the same scoped store functions.

pub mod api;
pub mod pages;
