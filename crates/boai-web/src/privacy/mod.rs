//! Personal information requests (PIPL): find what the society holds about a
//! person by 身份证 number or phone, hand it over (JSON through the API, an
//! .xlsx download on the staff page), or anonymise it; and the list of
//! requests recorded.
//!
//! Rules: only `ManagePrivacy` (administrators, city and district staff),
//! checked before the body is read; the store scopes everything to the
//! caller's subtree, records each request and audits it (an export as a
//! personal-data access). ID numbers and phones travel only in request bodies
//! (POST), never in addresses, so they never reach an access log; the request
//! list shows the subject masked. An anonymisation that a retention duty
//! forbids is refused whole (409, every reason in Chinese).

pub mod api;
pub mod pages;

use crate::AppState;
use axum::routing::{get, post};
use axum::Router;

/// The routes of personal-information requests (pages and API).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/privacy", get(pages::index))
        .route("/privacy/export.xlsx", post(pages::export_xlsx))
        .route("/privacy/anonymise", post(pages::anonymise))
        .route("/api/v1/privacy/exports", post(api::export))
        .route("/api/v1/privacy/anonymisations", post(api::anonymise))
        .route("/api/v1/privacy/requests", get(api::requests))
}
