//! Assembling the application: state, router, middleware (security headers,
//! metrics, body limit, tracing, panic → 500) and serving with graceful
//! shutdown. Built from a config and a listener so tests can run many apps
//! side by side on port 0.

use crate::components::certificate::CertificateFont;
use crate::rate_limit::ClientLimiter;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use boai_store::accounts::{LockoutPolicy, SessionPolicy};
use boai_store::Store;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
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
    /// Served over HTTPS: `Secure` cookies and `Strict-Transport-Security`.
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
    /// A client must send a request's headers within this (else the connection closes).
    pub header_read_timeout: std::time::Duration,
    /// A request's whole body must arrive within this of its start (else 408).
    pub body_read_timeout: std::time::Duration,
    /// A connection on which nothing moves while no request is being
    /// handled is closed after this.
    pub idle_timeout: std::time::Duration,
    /// Connections one client address may hold open at once (more are closed
    /// unanswered); a trusted proxy's are not limited.
    pub max_connections_per_ip: usize,
    /// Reverse proxies whose `X-Forwarded-For` names the client (rate limits,
    /// audit addresses); none by default.
    pub trusted_proxies: crate::client_addr::TrustedProxies,
    /// The sandbox payment provider (`/sandbox/…`, notifications from
    /// `sandbox`): confirms gifts without money, so only for the demo and
    /// tests. Off, those paths answer 404 and the public giving form says
    /// online giving is not open.
    pub sandbox_payments: bool,
    /// Who may read `/metrics`.
    pub metrics: MetricsAccess,
}

/// Who may read `/metrics` (the setting `metrics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricsAccess {
    /// Anyone (only where the listener is not reachable from outside).
    Public,
    /// A signed-in administrator (session or API token); 404 to anyone else.
    Admin,
    /// Nobody: 404.
    Off,
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
            header_read_timeout: std::time::Duration::from_secs(10),
            body_read_timeout: std::time::Duration::from_secs(60),
            idle_timeout: std::time::Duration::from_secs(60),
            max_connections_per_ip: 256,
            trusted_proxies: crate::client_addr::TrustedProxies::default(),
            // The defaults are the demo's and the tests': `boai serve` sets
            // both from its settings, whose defaults are off and admin.
            sandbox_payments: true,
            metrics: MetricsAccess::Public,
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
    /// Unverified payment notifications, per client, at the sign-in rate
    /// (verified ones are never limited).
    pub junk_limiter: ClientLimiter,
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
            payments: crate::fundraising::payments::Providers::new(&store, config.sandbox_payments),
            relief_files,
            ledger_signer,
            login_limiter: ClientLimiter::per_minute(config.login_rate_per_minute),
            lookup_limiter: ClientLimiter::per_minute(config.login_rate_per_minute),
            junk_limiter: ClientLimiter::per_minute(config.login_rate_per_minute),
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

/// HSTS, sent only when the config says Boai is served over HTTPS
/// (`secure_cookies`): one year, subdomains included.
const HSTS: &str = "max-age=31536000; includeSubDomains";

async fn security_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // Answers that may hold personal data are never stored by a browser or
    // a proxy: every JSON API answer and anything answered to a caller who
    // presented credentials (unless the handler chose a caching policy).
    let private = request.uri().path().starts_with("/api/v1/")
        || request.headers().contains_key(header::AUTHORIZATION)
        || crate::auth::cookie_present(request.headers(), crate::auth::SESSION_COOKIE);
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if state.config.secure_cookies {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if (is_html || private) && !headers.contains_key(header::CACHE_CONTROL) {
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

/// The whole router: the route table ([`crate::routes`]) and the middleware.
pub fn build_router(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    crate::routes::router()
        .fallback(fallback)
        .layer(middleware::from_fn_with_state(state.clone(), crate::pages::html_errors))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn(track_metrics))
        .layer(middleware::from_fn_with_state(state.clone(), security_headers))
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
    let throttles = tokio::spawn(prune_throttles(state.clone()));
    let rules = crate::server::ConnectionRules {
        header_read_timeout: state.config.header_read_timeout,
        idle_timeout: state.config.idle_timeout,
        max_per_address: state.config.max_connections_per_ip.max(1),
        trusted_proxies: state.config.trusted_proxies.clone(),
    };
    let body_timeout = state.config.body_read_timeout;
    let app = crate::server::with_body_deadline(build_router(state), body_timeout);
    let served = crate::server::serve(listener, app, rules, shutdown).await;
    signer.abort();
    sweeper.abort();
    throttles.abort();
    served
}

/// Forgets security counters (failed sign-ins of unknown names, find-my-gift
/// guesses, junk notifications) untouched for two days, once an hour.
async fn prune_throttles(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tick.tick().await;
        if let Err(e) = state.store.throttles_prune(chrono::Duration::days(2)).await {
            tracing::warn!(error = %e, "pruning security counters failed");
        }
    }
}
