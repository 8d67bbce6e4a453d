//! Online giving (issue 5): the payment-provider interface
//! ([`provider::PaymentProvider`]), the local sandbox provider, the
//! notification endpoint (`POST /api/v1/giving/notify/{provider}`), the
//! public giving pages (`/give`, no sign-in, phone first) and the staff API
//! for orders, refused notifications and refunds.
//!
//! Rules: an online gift is confirmed only by a notification whose
//! signature verifies with the provider's configured key, whose timestamp
//! is fresh and whose amount and currency are the order's; it is processed
//! exactly once (the store claims the order row); every refused
//! notification is recorded with its reason and changes no money record;
//! the answer is in the provider's form. Unpaid orders expire (a background
//! sweep on the store's clock, and on look-up).

pub mod api;
pub mod notify;
pub mod pages;
pub mod provider;
pub mod sandbox;

use crate::AppState;
use boai_store::Store;
pub use provider::PaymentProvider;
pub use sandbox::SandboxProvider;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

/// The providers configured, by id.
pub struct Providers {
    sandbox: Arc<SandboxProvider>,
    by_id: HashMap<&'static str, Arc<dyn PaymentProvider>>,
    /// The address this server listens on (the sandbox notifies it there).
    local: OnceLock<SocketAddr>,
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.by_id.keys()).finish()
    }
}

impl Providers {
    /// The sandbox (its key derived from the store's secrets) when
    /// `sandbox` is on: it confirms gifts without money, so only the demo and
    /// tests turn it on. A real provider is registered here with its
    /// configured keys.
    pub fn new(store: &Store, sandbox_on: bool) -> Providers {
        let sandbox = Arc::new(SandboxProvider::new(store.secrets(), store.clock().clone()));
        let mut by_id: HashMap<&'static str, Arc<dyn PaymentProvider>> = HashMap::new();
        if sandbox_on {
            by_id.insert(sandbox.id(), sandbox.clone());
        }
        Providers {
            sandbox,
            by_id,
            local: OnceLock::new(),
        }
    }

    pub fn get(&self, id: &str) -> Option<Arc<dyn PaymentProvider>> {
        self.by_id.get(id).cloned()
    }

    /// The provider the public giving pages use: none when no provider is
    /// configured (online giving is then not open).
    pub fn default_provider(&self) -> Option<Arc<dyn PaymentProvider>> {
        self.get("sandbox")
    }

    /// The sandbox itself (its pages, and tests that forge or replay);
    /// whether it is on is [`Providers::sandbox_on`].
    pub fn sandbox(&self) -> &Arc<SandboxProvider> {
        &self.sandbox
    }

    /// Whether the sandbox is configured (its pages answer 404 otherwise).
    pub fn sandbox_on(&self) -> bool {
        self.by_id.contains_key("sandbox")
    }

    /// Called once the listener is bound.
    pub fn set_local_addr(&self, addr: SocketAddr) {
        let _ = self.local.set(addr);
    }

    /// Where a provider posts its notifications: the sandbox reaches this
    /// server directly; a real provider the public address.
    pub fn notify_url(&self, state: &AppState, provider: &str) -> String {
        let base = match (provider, self.local.get()) {
            ("sandbox", Some(addr)) => format!("http://{addr}"),
            _ => state.config.public_url.trim_end_matches('/').to_owned(),
        };
        format!("{base}/api/v1/giving/notify/{provider}")
    }
}

/// Expires unpaid orders once a minute (on the store's clock), and prunes
/// the sandbox's memory of orders.
pub async fn sweep(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        state.payments.sandbox().prune();
        if let Err(e) = state.store.payment_orders_expire().await {
            tracing::warn!(error = %e, "expiring payment orders failed");
        }
    }
}

/// The routes of online giving (merged into the app's router).
pub fn routes() -> Vec<crate::routes::Route> {
    use crate::routes::{
        get, post,
        Access::{Needs, Public},
    };
    use boai_domain::accounts::Permission as P;
    vec![
        get("/give", Public, pages::give_form),
        post("/give", Public, pages::give_submit),
        get("/give/orders/{no}", Public, pages::order_page),
        get("/give/orders/{no}/certificate.pdf", Public, pages::order_certificate),
        get("/sandbox/pay/{no}", Public, pages::sandbox_page),
        post("/sandbox/pay/{no}", Public, pages::sandbox_pay),
        get("/api/v1/giving/orders", Needs(P::ViewGifts), api::list),
        post("/api/v1/giving/orders", Public, api::create),
        get("/api/v1/giving/orders/{no}", Public, api::get),
        post("/api/v1/giving/orders/{no}/refunds", Needs(P::RecordGifts), api::refund),
        get("/api/v1/giving/rejections", Needs(P::ViewGifts), api::rejections),
        post("/api/v1/giving/notify/{provider}", Public, notify::notify),
    ]
}
