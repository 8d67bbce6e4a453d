//! The local sandbox provider: the same protocol as a real one, so the whole
//! online flow runs here end to end. It has its own Ed25519 key pair
//! (derived from the installation's secrets, so it survives restarts), its
//! own payment page (`/sandbox/pay/{order}` with 确认支付), and sends its
//! signed notifications over real HTTP to the notify URL. What it knows of
//! orders lives in memory (a sandbox forgets on restart), pruned: expired
//! unpaid orders go, and at most [`MAX_ORDERS`] are kept. The platform side
//! trusts only its public key, as it would a real provider's certificate.

use super::provider::{
    read_v3_body, v3_acknowledge, verify_signed, CreatedOrder, HeaderNames, NotifyKey, OrderRequest, PaymentProvider,
    ProviderError, RefundCall, RemoteState,
};
use async_trait::async_trait;
use axum::http::HeaderMap;
use axum::response::Response;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use boai_domain::fundraising::payments::{signing_message, Notification, Rejection};
use boai_domain::fundraising::Channel;
use boai_domain::Clock;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signer, SigningKey};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The sandbox's signature headers (WeChat v3's, renamed).
pub const SANDBOX_HEADERS: HeaderNames = HeaderNames {
    timestamp: "Boaipay-Timestamp",
    nonce: "Boaipay-Nonce",
    serial: "Boaipay-Serial",
    signature: "Boaipay-Signature",
};

/// An order as the sandbox holds it.
#[derive(Debug, Clone)]
pub struct SandboxOrder {
    pub out_trade_no: String,
    pub amount_fen: i64,
    pub currency: String,
    pub description: String,
    pub notify_url: String,
    pub return_url: String,
    pub expire_at: DateTime<Utc>,
    pub transaction_id: Option<String>,
}

/// A notification the sandbox sent, as sent (tests replay them).
#[derive(Debug, Clone)]
pub struct SentNotification {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The HTTP status the platform answered (0 when unreachable).
    pub status: u16,
    pub answer: String,
}

/// The most orders the sandbox keeps in memory: beyond it the oldest go.
pub const MAX_ORDERS: usize = 10_000;
/// How long the sandbox remembers a paid order (for refunds) after it would
/// have expired unpaid.
pub const PAID_ORDERS_KEPT_DAYS: i64 = 30;

/// Why the sandbox would not take a payment.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SandboxPayError {
    #[error("订单不存在或已失效")]
    Unknown,
    #[error("订单已过期, 请重新发起捐赠")]
    Expired,
    #[error("该订单已支付")]
    AlreadyPaid,
}

pub struct SandboxProvider {
    key: SigningKey,
    serial: String,
    clock: Arc<dyn Clock>,
    client: reqwest::Client,
    orders: Mutex<HashMap<String, SandboxOrder>>,
    sent: Mutex<Vec<SentNotification>>,
}

impl std::fmt::Debug for SandboxProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SandboxProvider(serial {})", self.serial)
    }
}

impl SandboxProvider {
    /// The sandbox with a key derived from the installation's secrets.
    pub fn new(secrets: &boai_store::secrets::Secrets, clock: Arc<dyn Clock>) -> SandboxProvider {
        let derived = secrets.sign(b"boai-sandbox-provider-ed25519-v1");
        let mut seed = [0u8; 32];
        if let Ok(bytes) = URL_SAFE_NO_PAD.decode(derived) {
            let n = bytes.len().min(32);
            seed[..n].copy_from_slice(&bytes[..n]);
        }
        let key = SigningKey::from_bytes(&seed);
        let serial = hex::encode(&Sha256::digest(key.verifying_key().as_bytes())[..10]).to_uppercase();
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        SandboxProvider {
            key,
            serial,
            clock,
            client,
            orders: Mutex::new(HashMap::new()),
            sent: Mutex::new(Vec::new()),
        }
    }

    /// The key the platform verifies the sandbox's notifications with.
    pub fn platform_key(&self) -> NotifyKey {
        NotifyKey::Ed25519 {
            serial: self.serial.clone(),
            key: self.key.verifying_key(),
        }
    }

    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// Signs a body as the sandbox does: the four headers.
    pub fn signed_headers(&self, body: &str, timestamp: i64, nonce: &str) -> Vec<(String, String)> {
        let ts = timestamp.to_string();
        let sig = self.key.sign(&signing_message(&ts, nonce, body.as_bytes()));
        vec![
            (SANDBOX_HEADERS.timestamp.to_owned(), ts),
            (SANDBOX_HEADERS.nonce.to_owned(), nonce.to_owned()),
            (SANDBOX_HEADERS.serial.to_owned(), self.serial.clone()),
            (SANDBOX_HEADERS.signature.to_owned(), STANDARD.encode(sig.to_bytes())),
        ]
    }

    /// A payment notification body, v3-shaped.
    pub fn payment_body(id: &str, out_trade_no: &str, transaction_id: &str, amount_fen: i64, currency: &str) -> String {
        serde_json::json!({
            "id": id, "event_type": "TRANSACTION.SUCCESS", "resource_type": "plain",
            "resource": {"out_trade_no": out_trade_no, "transaction_id": transaction_id, "trade_state": "SUCCESS",
                         "amount": {"total": amount_fen, "payer_total": amount_fen, "currency": currency}}
        })
        .to_string()
    }

    /// A refund notification body, v3-shaped.
    pub fn refund_body(
        id: &str,
        out_trade_no: &str,
        transaction_id: &str,
        out_refund_no: &str,
        total_fen: i64,
        refund_fen: i64,
    ) -> String {
        serde_json::json!({
            "id": id, "event_type": "REFUND.SUCCESS", "resource_type": "plain",
            "resource": {"out_trade_no": out_trade_no, "transaction_id": transaction_id,
                         "out_refund_no": out_refund_no, "refund_status": "SUCCESS",
                         "amount": {"total": total_fen, "refund": refund_fen, "currency": "CNY"}}
        })
        .to_string()
    }

    /// What the sandbox has sent so far.
    pub fn sent(&self) -> Vec<SentNotification> {
        self.sent.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// How many orders the sandbox holds.
    pub fn order_count(&self) -> usize {
        self.orders.lock().map(|o| o.len()).unwrap_or_default()
    }

    /// Forgets orders that can no longer be paid (expired unpaid), paid ones
    /// past [`PAID_ORDERS_KEPT_DAYS`], and then the oldest beyond
    /// [`MAX_ORDERS`] - 1, leaving room for one more.
    pub fn prune(&self) {
        let now = self.clock.now();
        let Ok(mut orders) = self.orders.lock() else {
            return;
        };
        let kept = chrono::Duration::days(PAID_ORDERS_KEPT_DAYS);
        orders.retain(|_, o| match o.transaction_id {
            None => o.expire_at > now,
            Some(_) => o.expire_at + kept > now,
        });
        if orders.len() >= MAX_ORDERS {
            let mut by_age: Vec<(DateTime<Utc>, String)> =
                orders.values().map(|o| (o.expire_at, o.out_trade_no.clone())).collect();
            by_age.sort();
            let excess = orders.len() + 1 - MAX_ORDERS;
            for (_, no) in by_age.into_iter().take(excess) {
                orders.remove(&no);
            }
        }
    }

    /// An order the payment page shows.
    pub fn order(&self, out_trade_no: &str) -> Option<SandboxOrder> {
        self.orders.lock().ok()?.get(out_trade_no).cloned()
    }

    /// The payer pressed 确认支付: the sandbox takes the money and notifies.
    pub async fn pay(&self, out_trade_no: &str) -> Result<SandboxOrder, SandboxPayError> {
        let now = self.clock.now();
        let order = {
            let mut orders = self.orders.lock().map_err(|_| SandboxPayError::Unknown)?;
            let order = orders.get_mut(out_trade_no).ok_or(SandboxPayError::Unknown)?;
            if order.transaction_id.is_some() {
                return Err(SandboxPayError::AlreadyPaid);
            }
            if order.expire_at <= now {
                return Err(SandboxPayError::Expired);
            }
            order.transaction_id = Some(format!("SBX{}", uuid::Uuid::new_v4().simple()));
            order.clone()
        };
        let body = Self::payment_body(
            &uuid::Uuid::new_v4().to_string(),
            &order.out_trade_no,
            order.transaction_id.as_deref().unwrap_or_default(),
            order.amount_fen,
            &order.currency,
        );
        self.send(&order.notify_url, body).await;
        Ok(order)
    }

    /// Sends a signed notification over HTTP and keeps what happened.
    async fn send(&self, url: &str, body: String) {
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let headers = self.signed_headers(&body, self.clock.now().timestamp(), &nonce);
        let mut request = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .body(body.clone());
        for (k, v) in &headers {
            request = request.header(k.as_str(), v.as_str());
        }
        let (status, answer) = match request.send().await {
            Ok(res) => {
                let status = res.status().as_u16();
                (status, res.text().await.unwrap_or_default())
            }
            Err(e) => {
                tracing::warn!(error = %e, "sandbox notification not delivered");
                (0, String::new())
            }
        };
        if let Ok(mut sent) = self.sent.lock() {
            if sent.len() >= 200 {
                sent.remove(0);
            }
            sent.push(SentNotification {
                url: url.to_owned(),
                headers,
                body,
                status,
                answer,
            });
        }
    }
}

#[async_trait]
impl PaymentProvider for SandboxProvider {
    fn id(&self) -> &'static str {
        "sandbox"
    }

    fn channel(&self) -> Channel {
        Channel::Online
    }

    async fn create_order(&self, order: &OrderRequest) -> Result<CreatedOrder, ProviderError> {
        if order.currency != "CNY" || order.amount_fen <= 0 {
            return Err(ProviderError::Refused("金额或币种无效".to_owned()));
        }
        self.prune();
        let mut orders = self
            .orders
            .lock()
            .map_err(|_| ProviderError::Unavailable("sandbox".to_owned()))?;
        orders.insert(
            order.out_trade_no.clone(),
            SandboxOrder {
                out_trade_no: order.out_trade_no.clone(),
                amount_fen: order.amount_fen,
                currency: order.currency.clone(),
                description: order.description.clone(),
                notify_url: order.notify_url.clone(),
                return_url: order.return_url.clone(),
                expire_at: order.expire_at,
                transaction_id: None,
            },
        );
        Ok(CreatedOrder {
            pay_url: format!("/sandbox/pay/{}", order.out_trade_no),
        })
    }

    async fn query_order(&self, out_trade_no: &str) -> Result<RemoteState, ProviderError> {
        let now = self.clock.now();
        Ok(match self.order(out_trade_no) {
            None => RemoteState::Unknown,
            Some(SandboxOrder {
                transaction_id: Some(t),
                amount_fen,
                ..
            }) => RemoteState::Paid {
                transaction_id: t,
                amount_fen,
            },
            Some(o) if o.expire_at <= now => RemoteState::Closed,
            Some(_) => RemoteState::NotPaid,
        })
    }

    async fn refund(&self, refund: &RefundCall) -> Result<(), ProviderError> {
        let order = self
            .order(&refund.out_trade_no)
            .ok_or_else(|| ProviderError::Refused("订单不存在".to_owned()))?;
        let Some(transaction_id) = order.transaction_id.clone() else {
            return Err(ProviderError::Refused("订单未支付".to_owned()));
        };
        if refund.amount_fen <= 0 || refund.amount_fen > order.amount_fen {
            return Err(ProviderError::Refused("退款金额超过订单金额".to_owned()));
        }
        let body = Self::refund_body(
            &uuid::Uuid::new_v4().to_string(),
            &refund.out_trade_no,
            &transaction_id,
            &refund.out_refund_no,
            order.amount_fen,
            refund.amount_fen,
        );
        self.send(&refund.notify_url, body).await;
        Ok(())
    }

    fn read_notification(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Notification, (Rejection, String)> {
        let sent_at = verify_signed(SANDBOX_HEADERS, &[self.platform_key()], headers, body, now)?;
        read_v3_body(body, sent_at)
    }

    fn acknowledge(&self, outcome: Result<(), Rejection>) -> Response {
        v3_acknowledge(outcome)
    }
}
