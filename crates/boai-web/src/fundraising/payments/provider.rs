//! The payment-provider interface, shaped after WeChat Pay API v3 and
//! Alipay: create an order, let the payer pay on the provider's side, read
//! the provider's signed asynchronous notification, query an order, refund.
//! A new provider is one more implementation of [`PaymentProvider`].
//!
//! A notification is trusted only when its signature over
//! `timestamp\nnonce\nbody\n` verifies with the key configured for the
//! provider (and the serial names that key), and its timestamp is fresh.

use async_trait::async_trait;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use boai_domain::fundraising::payments::{fresh, signing_message, Notification, Rejection};
use boai_domain::fundraising::Channel;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Verifier, VerifyingKey};

/// What we ask a provider to collect.
#[derive(Debug, Clone)]
pub struct OrderRequest {
    pub out_trade_no: String,
    pub amount_fen: i64,
    pub currency: String,
    pub description: String,
    pub notify_url: String,
    /// Where the payer's browser returns to (H5 / page payments).
    pub return_url: String,
    pub expire_at: DateTime<Utc>,
}

/// Where to send the payer.
#[derive(Debug, Clone)]
pub struct CreatedOrder {
    pub pay_url: String,
}

/// An order as the provider sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteState {
    NotPaid,
    Paid { transaction_id: String, amount_fen: i64 },
    Closed,
    Unknown,
}

/// A refund we ask a provider for.
#[derive(Debug, Clone)]
pub struct RefundCall {
    pub out_trade_no: String,
    pub transaction_id: Option<String>,
    pub out_refund_no: String,
    pub amount_fen: i64,
    pub total_fen: i64,
    pub reason: String,
    pub notify_url: String,
}

/// A provider call that failed.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("支付平台拒绝: {0}")]
    Refused(String),
    #[error("支付平台暂不可用: {0}")]
    Unavailable(String),
}

/// One payment provider.
#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// The provider's name in URLs and records (`sandbox`, `wechat`, `alipay`).
    fn id(&self) -> &'static str;
    /// The channel gifts through it are recorded with.
    fn channel(&self) -> Channel;
    /// Opens an order with the provider.
    async fn create_order(&self, order: &OrderRequest) -> Result<CreatedOrder, ProviderError>;
    /// Asks the provider how an order stands.
    async fn query_order(&self, out_trade_no: &str) -> Result<RemoteState, ProviderError>;
    /// Asks for a refund; its result arrives as a notification.
    async fn refund(&self, refund: &RefundCall) -> Result<(), ProviderError>;
    /// Verifies a notification (signature, key serial, freshness) and reads it.
    fn read_notification(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Notification, (Rejection, String)>;
    /// The answer the provider expects.
    fn acknowledge(&self, outcome: Result<(), Rejection>) -> Response;
}

/// The names of the four signature headers of a provider.
#[derive(Debug, Clone, Copy)]
pub struct HeaderNames {
    pub timestamp: &'static str,
    pub nonce: &'static str,
    pub serial: &'static str,
    pub signature: &'static str,
}

/// WeChat Pay API v3's.
pub const WECHATPAY_HEADERS: HeaderNames = HeaderNames {
    timestamp: "Wechatpay-Timestamp",
    nonce: "Wechatpay-Nonce",
    serial: "Wechatpay-Serial",
    signature: "Wechatpay-Signature",
};

/// A key a provider's notifications are verified with.
#[derive(Debug, Clone)]
pub enum NotifyKey {
    /// Ed25519 (the sandbox).
    Ed25519 { serial: String, key: VerifyingKey },
}

impl NotifyKey {
    fn serial(&self) -> &str {
        match self {
            NotifyKey::Ed25519 { serial, .. } => serial,
        }
    }

    fn verify(&self, message: &[u8], signature_b64: &str) -> bool {
        match self {
            NotifyKey::Ed25519 { key, .. } => {
                let Ok(bytes) = STANDARD.decode(signature_b64.trim()) else {
                    return false;
                };
                let Ok(sig) = Signature::from_slice(&bytes) else {
                    return false;
                };
                key.verify(message, &sig).is_ok()
            }
        }
    }
}

/// Checks the signature headers of a notification: present, the serial of
/// a configured key, a signature that verifies, a fresh timestamp.
pub fn verify_signed(
    names: HeaderNames,
    keys: &[NotifyKey],
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, (Rejection, String)> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (Some(ts), Some(nonce), Some(serial), Some(sig)) = (
        get(names.timestamp),
        get(names.nonce),
        get(names.serial),
        get(names.signature),
    ) else {
        return Err((Rejection::MissingHeaders, "签名头不全".to_owned()));
    };
    let Some(key) = keys.iter().find(|k| k.serial() == serial) else {
        return Err((
            Rejection::UnknownSerial,
            format!("serial {}", serial.chars().take(40).collect::<String>()),
        ));
    };
    if !key.verify(&signing_message(&ts, &nonce, body), &sig) {
        return Err((Rejection::BadSignature, "签名与报文不符".to_owned()));
    }
    let at = fresh(&ts, now).map_err(|r| (r, format!("timestamp {ts}")))?;
    Ok(at)
}

pub use boai_domain::fundraising::payments::{read_v3_body, V3Amount, V3Body, V3Resource};

/// The v3 answer: 200/204 for success, 4xx/5xx with
/// `{"code": "FAIL", "message": …}` otherwise (the provider then retries).
pub fn v3_acknowledge(outcome: Result<(), Rejection>) -> Response {
    let json = |status: StatusCode, code: &str, message: &str| {
        (
            status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            serde_json::json!({"code": code, "message": message}).to_string(),
        )
            .into_response()
    };
    match outcome {
        Ok(()) => json(StatusCode::OK, "SUCCESS", "成功"),
        Err(r) if r.acknowledged() => json(StatusCode::OK, "SUCCESS", r.label_zh()),
        Err(
            r @ (Rejection::MissingHeaders | Rejection::BadSignature | Rejection::UnknownSerial | Rejection::Stale),
        ) => json(StatusCode::UNAUTHORIZED, "FAIL", r.label_zh()),
        Err(r @ Rejection::UnknownOrder) => json(StatusCode::NOT_FOUND, "FAIL", r.label_zh()),
        Err(r @ (Rejection::OutOfOrder | Rejection::NotRecordable)) => {
            json(StatusCode::SERVICE_UNAVAILABLE, "FAIL", r.label_zh())
        }
        Err(r) => json(StatusCode::BAD_REQUEST, "FAIL", r.label_zh()),
    }
}
