//! Assembling the application: state, router, middleware (security headers,
//! metrics, body limit, tracing, panic → 500) and serving with graceful
//! shutdown. Built from a config and a listener so tests can run many apps
//! side by side on port 0.

use crate::auth;
use crate::components::certificate::CertificateFont;
use crate::rate_limit::ClientLimiter;
use crate::{
    api, audit, fundraising, funds, health, ledger, members, network, orgs, pages, privacy, relief, transparency, users,
};
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post, put};
use axum::Router;
use boai_store::accounts::{LockoutPolicy, SessionPolicy};
use boai_store::Store;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::{DefaultOnFailure, TraceLayer};

/// What the web layer is configured with.
#[derive(Debug, Clone)]
pub struct WebConfig {
    pub session_idle_minutes: i64,
    pub session_absolute_hours: i64,
    pub lockout_threshold: i32,
    pub lockout_minutes: i64,
    pub login_rate_per_minute: u32,
    pub token_days: i64,
    pub secure_cookies: bool,
    pub max_body_bytes: usize,
    /// The address the public reaches this server at (for QR codes).
    pub public_url: String,
    /// A CJK font for certificates; `None` searches Debian's usual paths.
    pub certificate_font: Option<std::path::PathBuf>,
    /// The ledger's signing key; `None` makes a throwaway one (tests only).
    pub ledger_signer: Option<Arc<boai_ledger::LedgerSigner>>,
    /// Where the signer keeps the newest checkpoint (the data folder).
    pub ledger_witness: Option<std::path::PathBuf>,
    /// How often projects must disclose (信息公开 deadlines).
    pub disclosure_rules: boai_domain::transparency::DisclosureRules,
    /// Where relief applications' attachments are kept (the data folder's
    /// `relief-files`); `None` uses a fresh temporary folder (tests).
    pub relief_files: Option<std::path::PathBuf>,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            lockout_threshold: 5,
            lockout_minutes: 15,
            login_rate_per_minute: 60,
            token_days: 90,
            secure_cookies: false,
            max_body_bytes: 2 * 1024 * 1024,
            public_url: "http://127.0.0.1:8080".to_owned(),
            certificate_font: None,
            ledger_signer: None,
            ledger_witness: None,
            disclosure_rules: boai_domain::transparency::DisclosureRules::default(),
            relief_files: None,
        }
    }
}

impl WebConfig {
    pub fn session_policy(&self) -> SessionPolicy {
        SessionPolicy {
            idle: chrono::Duration::minutes(self.session_idle_minutes),
            absolute: chrono::Duration::hours(self.session_absolute_hours),
        }
    }

    pub fn lockout_policy(&self) -> LockoutPolicy {
        LockoutPolicy {
            threshold: self.lockout_threshold.clamp(1, 10),
            duration: chrono::Duration::minutes(self.lockout_minutes),
        }
    }

    pub fn token_lifetime(&self) -> chrono::Duration {
        chrono::Duration::days(self.token_days)
    }
}

/// Shared state of one running app.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub store: Store,
    pub config: WebConfig,
    /// Set once migrations and demo seeding are done.
    pub ready: AtomicBool,
    pub login_limiter: ClientLimiter,
    /// Public look-ups (find my gift), per client, at the sign-in rate.
    pub lookup_limiter: ClientLimiter,
    pub metrics: PrometheusHandle,
    /// The certificate font, loaded on first use (it is large).
    pub certificate_font: OnceLock<Result<Arc<CertificateFont>, String>>,
    /// Signs ledger checkpoints.
    pub ledger_signer: Arc<boai_ledger::LedgerSigner>,
    /// Payment providers (online giving).
    pub payments: crate::fundraising::payments::Providers,
    /// Relief attachments' bytes.
    pub relief_files: Arc<dyn boai_store::relief::files::FileStore>,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(store: Store, config: WebConfig) -> AppState {
        let ledger_signer = config.ledger_signer.clone().unwrap_or_else(|| {
            match boai_ledger::LedgerSigner::generate("boai.example/jinan") {
                Ok((_, signer)) => Arc::new(signer),
                Err(e) => unreachable!("a valid constant key name: {e}"),
            }
        });
        let relief_files = Arc::new(boai_store::relief::files::DirFileStore::new(
            config.relief_files.clone().unwrap_or_else(|| {
                std::env::temp_dir().join(format!("boai-relief-files-{}", uuid::Uuid::new_v4().simple()))
            }),
        ));
        AppState(Arc::new(Inner {
            payments: crate::fundraising::payments::Providers::new(&store),
            relief_files,
            ledger_signer,
            login_limiter: ClientLimiter::per_minute(config.login_rate_per_minute),
            lookup_limiter: ClientLimiter::per_minute(config.login_rate_per_minute),
            store,
            config,
            ready: AtomicBool::new(false),
            metrics: metrics_handle(),
            certificate_font: OnceLock::new(),
        }))
    }

    /// The certificate font, loading it once.
    pub fn certificate_font(&self) -> Result<Arc<CertificateFont>, String> {
        self.certificate_font
            .get_or_init(|| {
                CertificateFont::load(self.config.certificate_font.as_deref())
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .clone()
    }

    /// Marks the app ready for `/healthz`.
    pub fn set_ready(&self) {
        self.ready.store(true, std::sync::atomic::Ordering::Release);
    }
}

/// One process-wide Prometheus recorder (metrics macros are global).
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                   object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

async fn track_metrics(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().to_string();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "path" => path.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "path" => path)
        .record(start.elapsed().as_secs_f64());
    response
}

/// The whole router.
pub fn build_router(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    Router::new()
        .route("/", get(pages::home))
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(health::metrics))
        .route("/static/app.css", get(pages::stylesheet))
        .route("/static/ledger-proof.js", get(transparency::portal::proof_script))
        .route("/lang/{lang}", get(pages::set_lang))
        .route("/login", get(auth::pages::login_form).post(auth::pages::login_submit))
        .route("/logout", post(auth::pages::logout))
        .route("/dashboard", get(pages::dashboard))
        .route("/m/{module}", get(pages::module_placeholder))
        .route("/orgs", get(orgs::pages::tree).post(orgs::pages::create))
        .route("/orgs/list", get(orgs::pages::list))
        .route("/orgs/new", get(orgs::pages::new_form))
        .route("/orgs/{id}", get(orgs::pages::detail))
        .route("/users", get(users::page))
        .route("/audit", get(audit::page))
        .route(
            "/account/tokens",
            get(auth::pages::tokens).post(auth::pages::token_create),
        )
        .route("/account/tokens/{id}/revoke", post(auth::pages::token_revoke))
        .route("/api/openapi.json", get(api::openapi::openapi_json))
        .route("/api/v1/auth/token", post(auth::api::token))
        .route("/api/v1/auth/tokens", get(auth::api::tokens_list))
        .route("/api/v1/auth/tokens/{id}", delete(auth::api::token_revoke))
        .route("/api/v1/me", get(auth::api::me))
        .route("/api/v1/orgs", get(orgs::api::list).post(orgs::api::create))
        .route("/api/v1/orgs/{id}", get(orgs::api::get))
        .route("/api/v1/users", get(users::list).post(users::create))
        .route("/api/v1/audit", get(audit::list))
        .route(
            "/api/v1/projects",
            get(funds::api::projects_list).post(funds::api::project_create),
        )
        .route("/api/v1/projects/{id}", get(funds::api::project_get))
        .route("/api/v1/funds/trial-balance", get(funds::api::trial_balance))
        .route("/api/v1/funds/balances", get(funds::api::balances))
        .route("/api/v1/funds/allocations", post(funds::api::allocate))
        .route("/api/v1/funds/disbursements", post(funds::api::disburse))
        .route("/api/v1/funds/goods-out", post(funds::api::goods_out))
        .route("/api/v1/funds/transfers", post(funds::api::transfer))
        .route("/api/v1/funds/management-costs", post(funds::api::management_cost))
        .route("/api/v1/funds/entries/{id}/reversals", post(funds::api::reverse))
        .route(
            "/api/v1/donations",
            get(fundraising::api::list).post(fundraising::api::create),
        )
        .route("/api/v1/donations/{id}", get(fundraising::api::get))
        .route(
            "/api/v1/donations/{id}/certificate.pdf",
            get(fundraising::api::certificate),
        )
        .route("/api/v1/donations/{id}/refunds", post(fundraising::api::refund))
        .route("/api/v1/donors", get(fundraising::api::donors))
        .route("/api/v1/donors/merge", post(fundraising::api::merge))
        .route("/certificates/verify", get(fundraising::pages::verify))
        .route("/fundraising", get(fundraising::pages::gifts))
        .route("/fundraising/new", get(fundraising::pages::new_form))
        .route("/fundraising/gifts", post(fundraising::pages::create))
        .route("/fundraising/export", get(fundraising::pages::export))
        .route("/fundraising/gifts/{id}", get(fundraising::pages::gift))
        .route("/fundraising/gifts/{id}/refunds", post(fundraising::pages::refund))
        .route(
            "/fundraising/gifts/{id}/certificate.pdf",
            get(fundraising::pages::certificate),
        )
        .route("/fundraising/donors", get(fundraising::pages::donors))
        .route("/funds", get(funds::pages::overview))
        .route("/funds/projects/{id}", get(funds::pages::project))
        .route("/ledger/checkpoint", get(ledger::checkpoint))
        .route("/ledger/key", get(ledger::key))
        .route("/ledger/tile/{*path}", get(ledger::tile))
        .route("/api/v1/ledger/proofs/{index}", get(ledger::proof))
        .route("/api/v1/ledger/trace/{index}", get(transparency::portal::trace))
        .route("/transparency/totals.json", get(ledger::totals))
        .route("/transparency", get(transparency::portal::index))
        .route(
            "/transparency/find",
            get(transparency::portal::find).post(transparency::portal::find_post),
        )
        .route("/transparency/verify", get(transparency::portal::verify))
        .route(
            "/transparency/disclosures",
            post(transparency::pages::create)
                .layer(DefaultBodyLimit::max(transparency::UPLOAD_BODY_LIMIT))
                .get(transparency::pages::list),
        )
        .route("/transparency/disclosures/new", get(transparency::pages::new_form))
        .route("/transparency/disclosures/{id}", get(transparency::pages::detail))
        .route("/transparency/disclosures/{id}/file", get(transparency::pages::file))
        .route("/transparency/deadlines", get(transparency::pages::deadlines))
        .route(
            "/api/v1/transparency/disclosures",
            post(transparency::api::create)
                .layer(DefaultBodyLimit::max(transparency::UPLOAD_BODY_LIMIT))
                .get(transparency::api::list),
        )
        .route("/api/v1/transparency/deadlines", get(transparency::api::deadlines))
        .merge(fundraising::payments::routes())
        .merge(fundraising::reconciliation::routes())
        .merge(fundraising::major_donors::routes())
        .merge(fundraising::dashboard::routes())
        .route("/network", get(network::pages::dashboard))
        .route("/network/units", get(network::pages::units))
        .route("/network/units/{id}", get(network::pages::unit))
        .route("/network/units/{id}/move", post(network::pages::move_unit))
        .route("/network/units/{id}/wuyou", post(network::pages::assess))
        .route("/network/units/{id}/edit", post(network::pages::edit_unit))
        .route("/network/pass-mark", post(network::pages::set_pass_mark))
        .route(
            "/network/import",
            post(network::pages::import_submit)
                .layer(DefaultBodyLimit::max(network::IMPORT_BODY_LIMIT))
                .get(network::pages::import_form),
        )
        .route("/network/import/template.xlsx", get(network::pages::import_template))
        .route("/api/v1/network/units", get(network::api::units))
        .route(
            "/api/v1/network/units/import",
            post(network::api::import).layer(DefaultBodyLimit::max(network::IMPORT_BODY_LIMIT)),
        )
        .route(
            "/api/v1/network/units/{id}",
            get(network::api::unit).put(network::api::update),
        )
        .route("/api/v1/network/units/{id}/move", post(network::api::move_unit))
        .route("/api/v1/network/units/{id}/wuyou", put(network::api::assess))
        .route("/api/v1/network/compliance", get(network::api::compliance))
        .route("/api/v1/network/checklist", get(network::api::checklist))
        .route(
            "/api/v1/network/checklist/{code}",
            put(network::api::checklist_item_save),
        )
        .route("/network/checklist", post(network::pages::save_checklist_item))
        .merge(relief::routes())
        .merge(members::routes())
        .merge(privacy::routes())
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn(track_metrics))
        .layer(middleware::from_fn(security_headers))
        // Server errors are logged once, with their cause chain, where they
        // become a response (ApiError); the trace layer only notes them at
        // debug level, so a starting server's 503 /healthz is not an ERROR.
        // The span names the path only: a query string may hold a searched ID
        // number or phone (`?q=…`), which must never reach a log.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    tracing::debug_span!("request", method = %request.method(), path = %request.uri().path())
                })
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        )
        .layer(CatchPanicLayer::new())
        .with_state(state)
}

async fn fallback(request: Request) -> Response {
    use axum::response::IntoResponse;
    if request.uri().path().starts_with("/api/") {
        crate::ApiError::NotFound.into_response()
    } else {
        crate::PageError::Api(crate::ApiError::NotFound).into_response()
    }
}

/// Serves until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let signer = tokio::spawn(crate::ledger::signer::run(state.clone()));
    if let Ok(addr) = listener.local_addr() {
        state.payments.set_local_addr(addr);
    }
    let sweeper = tokio::spawn(crate::fundraising::payments::sweep(state.clone()));
    let app = build_router(state);
    let served = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await;
    signer.abort();
    sweeper.abort();
    served
}
