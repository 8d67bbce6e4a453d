//! `/healthz` (ready: database reachable, migrations applied, demo seeding
//! finished — 503 before) and `/metrics` (Prometheus text, as configured).

use crate::auth::MaybeCaller;
use crate::{AppState, MetricsAccess};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use boai_domain::accounts::Permission;
use std::sync::atomic::Ordering;

pub async fn healthz(State(state): State<AppState>) -> Response {
    let ready = state.ready.load(Ordering::Acquire);
    let db = state.store.ping().await.is_ok();
    let migrated = db && state.store.migrations_current().await.unwrap_or(false);
    let ok = ready && db && migrated;
    let body = serde_json::json!({
        "status": if ok { "ok" } else { "starting" },
        "database": db,
        "migrations": migrated,
        "ready": ready,
        "backend": state.store.backend().as_str(),
    });
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// `/metrics`, as the setting `metrics` allows: to anyone, to a signed-in
/// administrator (session or API token), or to nobody; everyone else gets
/// the 404 any unknown path gets.
pub async fn metrics(State(state): State<AppState>, MaybeCaller(caller): MaybeCaller) -> Response {
    let allowed = match state.config.metrics {
        MetricsAccess::Public => true,
        MetricsAccess::Admin => caller.is_some_and(|c| c.actor.role.can(Permission::ManageSettings)),
        MetricsAccess::Off => false,
    };
    if !allowed {
        return crate::ApiError::NotFound.into_response();
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}
