//! Boai's HTTP layer: the router, server-rendered pages, the JSON API and
//! authentication. Handlers are thin: they resolve who is calling (`auth`),
//! turn input into domain types, call the store through a
//! [`ScopedStore`](boai_store::ScopedStore), and render. Pages and API
//! handlers of a module live side by side in a folder named after it.

pub mod api;
mod app;
mod audit;
pub mod auth;
pub mod client_addr;
pub mod components;
mod error;
mod fundraising;
mod funds;
mod health;
pub mod i18n;
mod ledger;
mod members;
mod network;
mod orgs;
mod pages;
mod privacy;
pub mod query;
pub mod rate_limit;
mod relief;
pub mod routes;
mod server;
mod transparency;
mod users;

pub use app::{build_router, serve, AppState, MetricsAccess, WebConfig};
pub use error::{ApiError, PageError};
/// Online giving: providers, the sandbox (tests forge and replay with it).
pub use fundraising::payments;
pub use routes::route_table;

/// The verification address a gift's certificate QR code carries (relative),
/// for tests and tools.
pub fn fundraising_claim_url(state: &AppState, gift: &boai_store::fundraising::Gift) -> String {
    fundraising::certificates::Claim::of(gift).signed(state).url("")
}
