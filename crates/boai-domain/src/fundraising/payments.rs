//! Online giving through payment providers, as rules (no I/O):
//! - a public gift form becomes a [`GiftOrderForCreate`] (amount typed in yuan,
//!   parsed exactly; a person, an organisation or nobody, identity numbers
//!   validated) or field errors;
//! - an order waits for the provider's notification and is confirmed only by
//!   one that is signed, fresh ([`NOTIFY_TOLERANCE_SECS`]), for a known order,
//!   with the order's amount and currency ([`check_payment`]); anything else is
//!   a [`Rejection`] that changes no money record;
//! - what a provider signs is `timestamp\nnonce\nbody\n` ([`signing_message`],
//!   as WeChat Pay API v3 does); a verified body is read by [`read_v3_body`]
//!   (WeChat-v3 shape; ids at most 64 bytes; fuzzed in `fuzz/`);
//! - an order never paid expires at its `expires_at`.

use super::{DonorForCreate, DonorInput};
use crate::ids::ProjectId;
use crate::money::{parse_yuan, Fen};
use crate::validation::FieldErrors;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How far a notification's timestamp may be from our clock.
pub const NOTIFY_TOLERANCE_SECS: i64 = 300;
/// How long an order waits for payment.
pub const ORDER_LIFETIME_MINUTES: i64 = 30;
/// The only currency we take.
pub const CURRENCY: &str = "CNY";
/// The largest online gift (¥1,000,000).
pub const MAX_ONLINE_FEN: i64 = 100_000_000;
/// Suggested amounts on the giving page, in yuan.
pub const SUGGESTED_YUAN: [i64; 4] = [20, 50, 100, 500];

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Waiting for the payer.
    Pending,
    /// Confirmed by a verified notification; the gift is recorded.
    Paid,
    /// Never paid in time.
    Expired,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Paid => "paid",
            OrderStatus::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [OrderStatus::Pending, OrderStatus::Paid, OrderStatus::Expired]
            .into_iter()
            .find(|o| o.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            OrderStatus::Pending => "待支付",
            OrderStatus::Paid => "已到账",
            OrderStatus::Expired => "已过期",
        }
    }
}

/// What a notification says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    Payment,
    Refund,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Payment => "payment",
            NotificationKind::Refund => "refund",
        }
    }
}

/// A notification after its signature was checked and its body read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The provider's unique id of this notification.
    pub id: String,
    pub kind: NotificationKind,
    pub out_trade_no: String,
    pub transaction_id: String,
    /// For a refund: our refund number.
    pub out_refund_no: Option<String>,
    pub amount: Fen,
    pub currency: String,
    /// When the provider sent it (the signed timestamp).
    pub sent_at: DateTime<Utc>,
}

/// Why a notification was refused or ignored. Each is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rejection {
    /// Signature headers missing or malformed.
    MissingHeaders,
    /// The signature does not verify with the provider's key.
    BadSignature,
    /// The signing key's serial is not the one configured.
    UnknownSerial,
    /// The timestamp is too far from our clock.
    Stale,
    /// The body is not a notification we understand.
    Malformed,
    /// No order with that number (for this provider).
    UnknownOrder,
    /// The amount differs from the order's.
    AmountMismatch,
    /// The currency differs from the order's.
    CurrencyMismatch,
    /// Already processed (the same notification again, or the order was
    /// already confirmed by another one).
    Duplicate,
    /// A refund notice for an order not (yet) paid, or an unknown refund.
    OutOfOrder,
    /// The gift could not be recorded (the project closed meanwhile).
    NotRecordable,
}

impl Rejection {
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::MissingHeaders => "missing_headers",
            Rejection::BadSignature => "bad_signature",
            Rejection::UnknownSerial => "unknown_serial",
            Rejection::Stale => "stale",
            Rejection::Malformed => "malformed",
            Rejection::UnknownOrder => "unknown_order",
            Rejection::AmountMismatch => "amount_mismatch",
            Rejection::CurrencyMismatch => "currency_mismatch",
            Rejection::Duplicate => "duplicate",
            Rejection::OutOfOrder => "out_of_order",
            Rejection::NotRecordable => "not_recordable",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Rejection::MissingHeaders => "缺少签名信息",
            Rejection::BadSignature => "签名验证失败",
            Rejection::UnknownSerial => "证书序列号不符",
            Rejection::Stale => "时间戳过期",
            Rejection::Malformed => "报文格式有误",
            Rejection::UnknownOrder => "订单不存在",
            Rejection::AmountMismatch => "金额与订单不符",
            Rejection::CurrencyMismatch => "币种与订单不符",
            Rejection::Duplicate => "重复通知 (已处理)",
            Rejection::OutOfOrder => "通知顺序不符 (订单尚未支付)",
            Rejection::NotRecordable => "无法入账",
        }
    }

    /// Whether the provider should stop resending: a duplicate has been
    /// handled; everything else is answered as a failure.
    pub fn acknowledged(self) -> bool {
        matches!(self, Rejection::Duplicate)
    }
}

/// What a provider signs: `timestamp\nnonce\nbody\n`.
pub fn signing_message(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(timestamp.len() + nonce.len() + body.len() + 3);
    out.extend_from_slice(timestamp.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(nonce.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(body);
    out.push(b'\n');
    out
}

/// Whether a signed timestamp (Unix seconds) is close enough to `now`.
pub fn fresh(timestamp: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, Rejection> {
    let secs: i64 = timestamp.trim().parse().map_err(|_| Rejection::MissingHeaders)?;
    let at = DateTime::<Utc>::from_timestamp(secs, 0).ok_or(Rejection::MissingHeaders)?;
    if (now - at).num_seconds().abs() > NOTIFY_TOLERANCE_SECS {
        return Err(Rejection::Stale);
    }
    Ok(at)
}

/// The order facts a payment notice is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderTerms {
    pub amount: Fen,
    pub currency: String,
}

/// Checks a payment notice against its order.
pub fn check_payment(order: &OrderTerms, notice: &Notification) -> Result<(), Rejection> {
    if notice.currency != order.currency {
        return Err(Rejection::CurrencyMismatch);
    }
    if notice.amount != order.amount {
        return Err(Rejection::AmountMismatch);
    }
    Ok(())
}

/// A WeChat-v3-shaped notification body (the resource in the clear; a
/// WeChat implementation decrypts `resource.ciphertext` into this first).
#[derive(Debug, Deserialize)]
pub struct V3Body {
    pub id: String,
    pub event_type: String,
    pub resource: V3Resource,
}

#[derive(Debug, Deserialize)]
pub struct V3Resource {
    pub out_trade_no: String,
    pub transaction_id: String,
    #[serde(default)]
    pub out_refund_no: Option<String>,
    #[serde(default)]
    pub trade_state: Option<String>,
    #[serde(default)]
    pub refund_status: Option<String>,
    pub amount: V3Amount,
}

#[derive(Debug, Deserialize)]
pub struct V3Amount {
    /// Payments: the order total; refunds: the refund.
    pub total: i64,
    #[serde(default)]
    pub refund: Option<i64>,
    pub currency: String,
}

/// Reads a v3-shaped body into a [`Notification`].
pub fn read_v3_body(body: &[u8], sent_at: DateTime<Utc>) -> Result<Notification, (Rejection, String)> {
    // Read as a whole value first: every string is decoded, so an invalid
    // escape anywhere (also in a field we do not use) refuses the body.
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| (Rejection::Malformed, format!("JSON: {e}")))?;
    let parsed: V3Body = serde_json::from_value(value).map_err(|e| (Rejection::Malformed, format!("JSON: {e}")))?;
    let r = parsed.resource;
    let kind = match parsed.event_type.as_str() {
        "TRANSACTION.SUCCESS" if r.trade_state.as_deref().unwrap_or("SUCCESS") == "SUCCESS" => {
            NotificationKind::Payment
        }
        "REFUND.SUCCESS" if r.refund_status.as_deref().unwrap_or("SUCCESS") == "SUCCESS" => NotificationKind::Refund,
        other => return Err((Rejection::Malformed, format!("event_type {other}"))),
    };
    let amount = match kind {
        NotificationKind::Payment => r.amount.total,
        NotificationKind::Refund => r.amount.refund.unwrap_or(r.amount.total),
    };
    if parsed.id.is_empty() || parsed.id.len() > 64 || r.out_trade_no.len() > 64 || r.transaction_id.len() > 64 {
        return Err((Rejection::Malformed, "id 长度".to_owned()));
    }
    Ok(Notification {
        id: parsed.id,
        kind,
        out_trade_no: r.out_trade_no,
        transaction_id: r.transaction_id,
        out_refund_no: r.out_refund_no,
        amount: Fen(amount),
        currency: r.amount.currency,
        sent_at,
    })
}

/// A refund may not exceed what remains of the gift.
pub fn check_refund(gift_amount: Fen, already_refunded: Fen, asked: Fen) -> Result<(), &'static str> {
    if asked.0 <= 0 {
        return Err("退款金额须大于 0");
    }
    if asked.0 > gift_amount.0 - already_refunded.0 {
        return Err("退款金额超过该笔捐赠可退余额");
    }
    Ok(())
}

/// The raw public gift form.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GiveInput {
    /// A project id, or empty for the general fund.
    pub project_id: Option<String>,
    /// A suggested amount chosen (yuan).
    pub preset: Option<String>,
    /// A typed amount (yuan), which wins over the preset.
    pub amount: Option<String>,
    /// `person`, `organisation` or `anonymous`.
    pub donor_kind: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub id_card_no: Option<String>,
    pub credit_code: Option<String>,
    /// Consent to be named in public lists (`on`).
    pub public: Option<String>,
}

/// A validated online gift, before payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GiftOrderForCreate {
    /// `None` = the general fund.
    pub project_id: Option<ProjectId>,
    pub amount: Fen,
    pub donor: Option<DonorForCreate>,
}

impl GiftOrderForCreate {
    /// Validates the public form. Field names are the form's.
    pub fn parse(input: &GiveInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let project_id = match input.project_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None | Some("general") => None,
            Some(raw) => match raw.parse::<ProjectId>() {
                Ok(id) => Some(id),
                Err(_) => {
                    errors.add("project_id", "请选择捐赠项目");
                    None
                }
            },
        };
        let typed = input.amount.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let raw = typed.or(input.preset.as_deref().map(str::trim).filter(|s| !s.is_empty()));
        let amount = match raw {
            None => {
                errors.add("amount", "请选择或填写捐赠金额");
                None
            }
            Some(raw) => match parse_yuan(raw) {
                Some(f) if f.0 > 0 && f.0 <= MAX_ONLINE_FEN => Some(f),
                Some(_) => {
                    errors.add("amount", "金额须大于 0 元且不超过 1,000,000 元");
                    None
                }
                None => {
                    errors.add("amount", "金额格式有误, 例如 100 或 88.50 (最多两位小数)");
                    None
                }
            },
        };
        let kind = input.donor_kind.as_deref().map(str::trim).unwrap_or("person");
        let donor = match kind {
            "anonymous" => None,
            "person" | "organisation" => {
                let raw = DonorInput {
                    kind: Some(kind.to_owned()),
                    name: input.name.clone(),
                    phone: if kind == "person" { input.phone.clone() } else { None },
                    id_card_no: if kind == "person" {
                        input.id_card_no.clone()
                    } else {
                        None
                    },
                    credit_code: if kind == "organisation" {
                        input.credit_code.clone()
                    } else {
                        None
                    },
                    public: Some(input.public.as_deref().is_some_and(|p| !p.is_empty() && p != "false")),
                };
                let mut donor_errors = FieldErrors::new();
                let donor = DonorForCreate::parse(&mut donor_errors, &raw);
                for e in donor_errors.0.iter() {
                    errors.add(e.field.trim_start_matches("donor."), e.message.clone());
                }
                donor
            }
            _ => {
                errors.add("donor_kind", "请选择以个人、单位或匿名方式捐赠");
                None
            }
        };
        match amount {
            Some(amount) if errors.is_empty() => Ok(GiftOrderForCreate {
                project_id,
                amount,
                donor,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(amount: i64, currency: &str) -> Notification {
        Notification {
            id: "n1".into(),
            kind: NotificationKind::Payment,
            out_trade_no: "o".into(),
            transaction_id: "t".into(),
            out_refund_no: None,
            amount: Fen(amount),
            currency: currency.into(),
            sent_at: Utc::now(),
        }
    }

    #[test]
    fn payment_must_match_the_order() {
        let order = OrderTerms {
            amount: Fen(10_000),
            currency: "CNY".into(),
        };
        assert_eq!(check_payment(&order, &notice(10_000, "CNY")), Ok(()));
        assert_eq!(check_payment(&order, &notice(1, "CNY")), Err(Rejection::AmountMismatch));
        assert_eq!(
            check_payment(&order, &notice(10_000, "USD")),
            Err(Rejection::CurrencyMismatch)
        );
    }

    #[test]
    fn a_body_with_an_invalid_escape_anywhere_is_refused() {
        let good = br#"{"id":"N1","event_type":"TRANSACTION.SUCCESS","extra":"x",
            "resource":{"out_trade_no":"JZ1","transaction_id":"T1","amount":{"total":100,"currency":"CNY"}}}"#;
        assert!(read_v3_body(good, Utc::now()).is_ok());
        let bad = String::from_utf8_lossy(good).replace(r#""extra":"x""#, r#""extra":"\ud800""#);
        assert!(matches!(
            read_v3_body(bad.as_bytes(), Utc::now()),
            Err((Rejection::Malformed, _))
        ));
    }

    #[test]
    fn timestamps_must_be_fresh() {
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        assert!(fresh("1800000000", now).is_ok());
        assert!(fresh("1800000299", now).is_ok());
        assert_eq!(fresh("1799999000", now), Err(Rejection::Stale));
        assert_eq!(fresh("abc", now), Err(Rejection::MissingHeaders));
    }

    #[test]
    fn signing_message_is_wechat_v3_shaped() {
        assert_eq!(signing_message("1", "n", b"{}"), b"1\nn\n{}\n".to_vec());
    }

    #[test]
    fn refund_cannot_exceed_the_gift() {
        assert!(check_refund(Fen(100), Fen(0), Fen(100)).is_ok());
        assert!(check_refund(Fen(100), Fen(40), Fen(61)).is_err());
        assert!(check_refund(Fen(100), Fen(0), Fen(0)).is_err());
    }

    #[test]
    fn the_form_parses_yuan_exactly_and_validates_donors() {
        let ok = GiftOrderForCreate::parse(&GiveInput {
            preset: Some("50".into()),
            amount: Some("88.50".into()),
            donor_kind: Some("person".into()),
            name: Some("李四".into()),
            phone: Some("13800138000".into()),
            ..GiveInput::default()
        });
        assert_eq!(ok.map(|o| o.amount), Ok(Fen(8850)));
        let anon = GiftOrderForCreate::parse(&GiveInput {
            preset: Some("50".into()),
            donor_kind: Some("anonymous".into()),
            ..GiveInput::default()
        });
        assert!(anon.is_ok_and(|o| o.donor.is_none() && o.amount == Fen(5000)));
        let bad = GiftOrderForCreate::parse(&GiveInput {
            amount: Some("1.005".into()),
            donor_kind: Some("person".into()),
            name: Some("李四".into()),
            phone: Some("123".into()),
            ..GiveInput::default()
        });
        let fields: Vec<String> = bad
            .err()
            .map(|e| e.0.iter().map(|f| f.field.clone()).collect())
            .unwrap_or_default();
        assert!(
            fields.contains(&"amount".to_owned()) && fields.contains(&"phone".to_owned()),
            "{fields:?}"
        );
        let org = GiftOrderForCreate::parse(&GiveInput {
            amount: Some("1000".into()),
            donor_kind: Some("organisation".into()),
            name: Some("某公司".into()),
            credit_code: Some("91350100M000100Y4X".into()),
            ..GiveInput::default()
        });
        assert!(org.is_err());
    }
}
