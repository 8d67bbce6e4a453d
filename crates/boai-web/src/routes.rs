//! The route table: THE one place a route enters the router.
//!
//! Rules:
//! - Every route is one [`Route`]: method, path pattern, declared [`Access`]
//!   and handler (and an optional body limit). [`router`] builds the axum
//!   router from [`table`] and nothing else; `tests/authz.rs` walks
//!   [`route_table`] and checks every route against its declared access for
//!   every role, inside and outside the caller's subtree, with and without
//!   the CSRF token — so a route cannot be added without being checked, and
//!   no other code calls `Router::route` (the test greps for it).
//! - The declared access is a promise, not a mechanism: the handler's own
//!   extractor (`Authorized<P>` / `PageUser<P>`, or none for public routes)
//!   enforces it, and the matrix test fails when the two disagree.
//! - [`Access::Public`] routes answer without sign-in; the test lists them
//!   explicitly as well, so making a route public takes two deliberate edits.
//!
//! Adding a route: write the handler with its extractor, then add one line
//! to [`table`] (or to the owning module's `routes()`, which returns
//! `Vec<Route>` and is appended in `table`), e.g.
//! `get("/privacy/requests", Needs(P::ViewUsers), privacy::pages::list)`.
//! If its path has a parameter the authz test has not seen before, give the
//! test sample ids for it (`samples()` in `tests/authz.rs`).

use crate::AppState;
use crate::{
    api, audit, auth, fundraising, funds, health, ledger, members, network, orgs, pages, privacy, relief, transparency,
    users,
};
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::MethodRouter;
use axum::Router;
pub use boai_domain::accounts::Permission;
use boai_domain::accounts::Permission as P;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without signing in.
    Public,
    /// Any signed-in user.
    SignedIn,
    /// A signed-in user whose role has the permission; the data scope is
    /// applied by the store on top.
    Needs(Permission),
}
pub use Access::*;

/// What the table says about one route (no handler), for tests and tools.
#[derive(Debug, Clone)]
pub struct RouteInfo {
    pub method: Method,
    /// The axum path pattern, e.g. `/api/v1/orgs/{id}`.
    pub path: &'static str,
    pub access: Access,
    /// A body limit other than the app's 2 MiB (uploads).
    pub body_limit: Option<usize>,
}

impl RouteInfo {
    /// JSON API routes answer problem+json; the rest are pages and files.
    pub fn is_api(&self) -> bool {
        self.path.starts_with("/api/")
    }
}

/// One entry of the table.
pub struct Route {
    pub info: RouteInfo,
    handler: MethodRouter<AppState>,
}

impl Route {
    fn new(method: Method, path: &'static str, access: Access, handler: MethodRouter<AppState>) -> Route {
        Route {
            info: RouteInfo {
                method,
                path,
                access,
                body_limit: None,
            },
            handler,
        }
    }

    /// Allows bodies up to `bytes` on this route (file uploads).
    pub fn body_limit(mut self, bytes: usize) -> Route {
        self.info.body_limit = Some(bytes);
        self.handler = self.handler.layer(DefaultBodyLimit::max(bytes));
        self
    }
}

/// A `GET` route.
pub fn get<H: Handler<T, AppState>, T: 'static>(path: &'static str, access: Access, handler: H) -> Route {
    Route::new(Method::GET, path, access, axum::routing::get(handler))
}

/// A `POST` route.
pub fn post<H: Handler<T, AppState>, T: 'static>(path: &'static str, access: Access, handler: H) -> Route {
    Route::new(Method::POST, path, access, axum::routing::post(handler))
}

/// A `PUT` route.
pub fn put<H: Handler<T, AppState>, T: 'static>(path: &'static str, access: Access, handler: H) -> Route {
    Route::new(Method::PUT, path, access, axum::routing::put(handler))
}

/// A `DELETE` route.
pub fn delete<H: Handler<T, AppState>, T: 'static>(path: &'static str, access: Access, handler: H) -> Route {
    Route::new(Method::DELETE, path, access, axum::routing::delete(handler))
}

/// Every route the server answers.
pub fn table() -> Vec<Route> {
    let mut table = vec![
        get("/", Public, pages::home),
        get("/healthz", Public, health::healthz),
        get("/metrics", Public, health::metrics),
        get("/static/app.css", Public, pages::stylesheet),
        get("/static/ledger-proof.js", Public, transparency::portal::proof_script),
        get("/lang/{lang}", Public, pages::set_lang),
        get("/login", Public, auth::pages::login_form),
        post("/login", Public, auth::pages::login_submit),
        post("/logout", SignedIn, auth::pages::logout),
        get("/dashboard", SignedIn, pages::dashboard),
        get("/m/{module}", Public, pages::module_placeholder),
        get("/orgs", Needs(P::ViewOrgs), orgs::pages::tree),
        post("/orgs", Needs(P::ManageOrgs), orgs::pages::create),
        get("/orgs/list", Needs(P::ViewOrgs), orgs::pages::list),
        get("/orgs/new", Needs(P::ManageOrgs), orgs::pages::new_form),
        get("/orgs/{id}", Needs(P::ViewOrgs), orgs::pages::detail),
        get("/users", Needs(P::ViewUsers), users::page),
        get("/audit", Needs(P::ViewAudit), audit::page),
        get("/account/tokens", SignedIn, auth::pages::tokens),
        post("/account/tokens", SignedIn, auth::pages::token_create),
        post("/account/tokens/{id}/revoke", SignedIn, auth::pages::token_revoke),
        get("/api/openapi.json", Public, api::openapi::openapi_json),
        post("/api/v1/auth/token", Public, auth::api::token),
        get("/api/v1/auth/tokens", SignedIn, auth::api::tokens_list),
        delete("/api/v1/auth/tokens/{id}", SignedIn, auth::api::token_revoke),
        get("/api/v1/me", SignedIn, auth::api::me),
        post("/api/v1/me/password", SignedIn, auth::api::password_change),
        get("/api/v1/orgs", Needs(P::ViewOrgs), orgs::api::list),
        post("/api/v1/orgs", Needs(P::ManageOrgs), orgs::api::create),
        get("/api/v1/orgs/{id}", Needs(P::ViewOrgs), orgs::api::get),
        get("/api/v1/users", Needs(P::ViewUsers), users::list),
        post("/api/v1/users", Needs(P::ManageUsers), users::create),
        put("/api/v1/users/{id}/role", Needs(P::ManageUsers), users::set_role),
        post(
            "/api/v1/users/{id}/password",
            Needs(P::ManageUsers),
            users::set_password,
        ),
        get("/api/v1/audit", Needs(P::ViewAudit), audit::list),
        get("/api/v1/projects", SignedIn, funds::api::projects_list),
        post("/api/v1/projects", Needs(P::ManageProjects), funds::api::project_create),
        get("/api/v1/projects/{id}", SignedIn, funds::api::project_get),
        get(
            "/api/v1/funds/trial-balance",
            Needs(P::ViewFunds),
            funds::api::trial_balance,
        ),
        get("/api/v1/funds/balances", Needs(P::ViewFunds), funds::api::balances),
        post("/api/v1/funds/allocations", Needs(P::ManageFunds), funds::api::allocate),
        post(
            "/api/v1/funds/disbursements",
            Needs(P::ManageFunds),
            funds::api::disburse,
        ),
        post("/api/v1/funds/goods-out", Needs(P::ManageFunds), funds::api::goods_out),
        post("/api/v1/funds/transfers", Needs(P::ManageFunds), funds::api::transfer),
        post(
            "/api/v1/funds/management-costs",
            Needs(P::ManageFunds),
            funds::api::management_cost,
        ),
        post(
            "/api/v1/funds/entries/{id}/reversals",
            Needs(P::ManageFunds),
            funds::api::reverse,
        ),
        get("/api/v1/donations", Needs(P::ViewGifts), fundraising::api::list),
        post("/api/v1/donations", Needs(P::RecordGifts), fundraising::api::create),
        get("/api/v1/donations/{id}", Needs(P::ViewGifts), fundraising::api::get),
        get(
            "/api/v1/donations/{id}/certificate.pdf",
            Needs(P::ViewGifts),
            fundraising::api::certificate,
        ),
        post(
            "/api/v1/donations/{id}/refunds",
            Needs(P::RecordGifts),
            fundraising::api::refund,
        ),
        get("/api/v1/donors", Needs(P::ViewGifts), fundraising::api::donors),
        post("/api/v1/donors/merge", Needs(P::RecordGifts), fundraising::api::merge),
        get("/certificates/verify", Public, fundraising::pages::verify),
        get("/fundraising", Needs(P::ViewGifts), fundraising::pages::gifts),
        get("/fundraising/new", Needs(P::RecordGifts), fundraising::pages::new_form),
        post("/fundraising/gifts", Needs(P::RecordGifts), fundraising::pages::create),
        get("/fundraising/export", Needs(P::ViewGifts), fundraising::pages::export),
        get("/fundraising/gifts/{id}", Needs(P::ViewGifts), fundraising::pages::gift),
        post(
            "/fundraising/gifts/{id}/refunds",
            Needs(P::RecordGifts),
            fundraising::pages::refund,
        ),
        get(
            "/fundraising/gifts/{id}/certificate.pdf",
            Needs(P::ViewGifts),
            fundraising::pages::certificate,
        ),
        get("/fundraising/donors", Needs(P::ViewGifts), fundraising::pages::donors),
        get("/funds", Needs(P::ViewFunds), funds::pages::overview),
        get("/funds/projects/{id}", SignedIn, funds::pages::project),
        get("/ledger/checkpoint", Public, ledger::checkpoint),
        get("/ledger/key", Public, ledger::key),
        get("/ledger/tile/{*path}", Public, ledger::tile),
        get("/api/v1/ledger/proofs/{index}", Public, ledger::proof),
        get("/api/v1/ledger/trace/{index}", Public, transparency::portal::trace),
        get("/transparency/totals.json", Public, ledger::totals),
        get("/transparency", Public, transparency::portal::index),
        get("/transparency/find", Public, transparency::portal::find),
        post("/transparency/find", Public, transparency::portal::find_post),
        get("/transparency/verify", Public, transparency::portal::verify),
        post(
            "/transparency/disclosures",
            Needs(P::ManageProjects),
            transparency::pages::create,
        )
        .body_limit(transparency::UPLOAD_BODY_LIMIT),
        get("/transparency/disclosures", Public, transparency::pages::list),
        get(
            "/transparency/disclosures/new",
            Needs(P::ManageProjects),
            transparency::pages::new_form,
        ),
        get("/transparency/disclosures/{id}", Public, transparency::pages::detail),
        get("/transparency/disclosures/{id}/file", Public, transparency::pages::file),
        get(
            "/transparency/deadlines",
            Needs(P::ViewFunds),
            transparency::pages::deadlines,
        ),
        post(
            "/api/v1/transparency/disclosures",
            Needs(P::ManageProjects),
            transparency::api::create,
        )
        .body_limit(transparency::UPLOAD_BODY_LIMIT),
        get("/api/v1/transparency/disclosures", Public, transparency::api::list),
        get(
            "/api/v1/transparency/deadlines",
            Needs(P::ViewFunds),
            transparency::api::deadlines,
        ),
        get("/network", Needs(P::ViewOrgs), network::pages::dashboard),
        get("/network/units", Needs(P::ViewOrgs), network::pages::units),
        get("/network/units/{id}", Needs(P::ViewOrgs), network::pages::unit),
        post(
            "/network/units/{id}/move",
            Needs(P::ManageOrgs),
            network::pages::move_unit,
        ),
        post(
            "/network/units/{id}/wuyou",
            Needs(P::ManageOrgs),
            network::pages::assess,
        ),
        post(
            "/network/units/{id}/edit",
            Needs(P::ManageOrgs),
            network::pages::edit_unit,
        ),
        post(
            "/network/pass-mark",
            Needs(P::ManageSettings),
            network::pages::set_pass_mark,
        ),
        post("/network/import", Needs(P::ManageOrgs), network::pages::import_submit)
            .body_limit(network::IMPORT_BODY_LIMIT),
        get("/network/import", Needs(P::ManageOrgs), network::pages::import_form),
        get(
            "/network/import/template.xlsx",
            Needs(P::ViewOrgs),
            network::pages::import_template,
        ),
        get("/api/v1/network/units", Needs(P::ViewOrgs), network::api::units),
        post(
            "/api/v1/network/units/import",
            Needs(P::ManageOrgs),
            network::api::import,
        )
        .body_limit(network::IMPORT_BODY_LIMIT),
        get("/api/v1/network/units/{id}", Needs(P::ViewOrgs), network::api::unit),
        put("/api/v1/network/units/{id}", Needs(P::ManageOrgs), network::api::update),
        post(
            "/api/v1/network/units/{id}/move",
            Needs(P::ManageOrgs),
            network::api::move_unit,
        ),
        put(
            "/api/v1/network/units/{id}/wuyou",
            Needs(P::ManageOrgs),
            network::api::assess,
        ),
        get(
            "/api/v1/network/compliance",
            Needs(P::ViewOrgs),
            network::api::compliance,
        ),
        get("/api/v1/network/checklist", Needs(P::ViewOrgs), network::api::checklist),
        put(
            "/api/v1/network/checklist/{code}",
            Needs(P::ManageSettings),
            network::api::checklist_item_save,
        ),
        post(
            "/network/checklist",
            Needs(P::ManageSettings),
            network::pages::save_checklist_item,
        ),
    ];
    table.extend(fundraising::payments::routes());
    table.extend(fundraising::reconciliation::routes());
    table.extend(fundraising::major_donors::routes());
    table.extend(fundraising::dashboard::routes());
    table.extend(relief::routes());
    table.extend(members::routes());
    table.extend(privacy::routes());
    table
}

/// The table without its handlers: what the authz test iterates.
pub fn route_table() -> Vec<RouteInfo> {
    table().into_iter().map(|r| r.info).collect()
}

/// The router of every route in [`table`]. Two entries with the same method
/// and path panic at start (axum refuses the overlap).
pub fn router() -> Router<AppState> {
    table().into_iter().fold(Router::new(), |router, route| {
        router.route(route.info.path, route.handler)
    })
}
