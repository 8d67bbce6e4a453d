//! Payment notifications: the input is `timestamp\nnonce\nbody` as a provider
//! sends them (headers and body). Checks `signing_message`, `fresh`,
//! `read_v3_body` and `check_payment`.
//! Properties: never panics; the signed message splits back into exactly the
//! timestamp, nonce and body it was made of; a fresh timestamp is within the
//! tolerance; a read notification has an id of 1..=64 bytes, its kind matches
//! its event type, it passes `check_payment` against an order of its own amount
//! and currency and fails against any other amount or currency.
#![no_main]

use boai_domain::fundraising::payments::{
    check_payment, fresh, read_v3_body, signing_message, NotificationKind, OrderTerms, Rejection,
    NOTIFY_TOLERANCE_SECS,
};
use boai_domain::money::Fen;
use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&b| b == b'\n');
    let ts = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let nonce = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let body = parts.next().unwrap_or_default();

    let message = signing_message(&ts, &nonce, body);
    assert_eq!(message.len(), ts.len() + nonce.len() + body.len() + 3);
    assert_eq!(message.last(), Some(&b'\n'));
    let mut split = message[..message.len() - 1].splitn(3, |&b| b == b'\n');
    assert_eq!(split.next(), Some(ts.as_bytes()));
    assert_eq!(split.next(), Some(nonce.as_bytes()));
    assert_eq!(split.next(), Some(body));

    let now = DateTime::<Utc>::from_timestamp(1_780_000_000, 0).expect("now");
    let sent_at = match fresh(&ts, now) {
        Ok(at) => {
            assert!((now - at).num_seconds().abs() <= NOTIFY_TOLERANCE_SECS);
            at
        }
        Err(r) => {
            assert!(matches!(r, Rejection::MissingHeaders | Rejection::Stale));
            now
        }
    };

    let Ok(notice) = read_v3_body(body, sent_at) else { return };
    assert!(!notice.id.is_empty() && notice.id.len() <= 64);
    assert!(notice.out_trade_no.len() <= 64 && notice.transaction_id.len() <= 64);
    assert_eq!(notice.sent_at, sent_at);
    // Fields the reader does not use are skipped unchecked (an invalid
    // `\u` escape there is not seen); the event type is checked where the
    // whole body is valid JSON.
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else { return };
    let event = v["event_type"].as_str().unwrap_or_default();
    match notice.kind {
        NotificationKind::Payment => assert_eq!(event, "TRANSACTION.SUCCESS"),
        NotificationKind::Refund => assert_eq!(event, "REFUND.SUCCESS"),
    }
    let own = OrderTerms { amount: notice.amount, currency: notice.currency.clone() };
    assert_eq!(check_payment(&own, &notice), Ok(()));
    if let Some(other) = notice.amount.0.checked_add(1) {
        let order = OrderTerms { amount: Fen(other), currency: notice.currency.clone() };
        assert_eq!(check_payment(&order, &notice), Err(Rejection::AmountMismatch));
    }
    let order = OrderTerms { amount: notice.amount, currency: format!("{}X", notice.currency) };
    assert_eq!(check_payment(&order, &notice), Err(Rejection::CurrencyMismatch));
});
