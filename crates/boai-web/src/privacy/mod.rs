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

/// The routes of personal-information requests (pages and API).
pub fn routes() -> Vec<crate::routes::Route> {
    use crate::routes::{get, post, Access::Needs};
    use boai_domain::accounts::Permission as P;
    vec![
        get("/privacy", Needs(P::ManagePrivacy), pages::index),
        post("/privacy/export.xlsx", Needs(P::ManagePrivacy), pages::export_xlsx),
        post("/privacy/anonymise", Needs(P::ManagePrivacy), pages::anonymise),
        post("/api/v1/privacy/exports", Needs(P::ManagePrivacy), api::export),
        post(
            "/api/v1/privacy/anonymisations",
            Needs(P::ManagePrivacy),
            api::anonymise,
        ),
        get("/api/v1/privacy/requests", Needs(P::ManagePrivacy), api::requests),
    ]
}
