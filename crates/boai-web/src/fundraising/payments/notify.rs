//! `POST /api/v1/giving/notify/{provider}`: a provider's asynchronous
//! notification. Verified by the provider implementation, processed exactly
//! once by the store, every refusal recorded with its reason, answered in
//! the provider's form.

use crate::api::ApiPath;
use crate::auth::client_ip;
use crate::auth::pages::RawParts;
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use boai_domain::fundraising::payments::{NotificationKind, Rejection};

/// The answer a provider expects (WeChat Pay v3): `SUCCESS`, or `FAIL` and why.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct NotifyAck {
    /// `SUCCESS` or `FAIL`.
    pub code: String,
    pub message: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/giving/notify/{provider}", tag = "giving",
    params(("provider" = String, Path, description = "the provider (`sandbox`, …)")),
    request_body(content = String, description = "the provider's signed notification (WeChat Pay v3 shaped JSON)"),
    responses((status = 200, body = NotifyAck, description = "`{\"code\":\"SUCCESS\"}`"),
        (status = 400, body = NotifyAck), (status = 401, body = NotifyAck), (status = 404, body = NotifyAck),
        (status = 429, body = NotifyAck, description = "too many unverified notifications from this client"),
        (status = 413, description = "over the body limit: problem+json"),
        (status = 503, body = NotifyAck, description = "not yet recordable: the provider retries")))]
pub async fn notify(
    State(state): State<AppState>,
    RawParts(parts): RawParts,
    ApiPath(provider): ApiPath<String>,
    headers: HeaderMap,
    crate::api::ApiBytes(body): crate::api::ApiBytes,
) -> Response {
    let Some(p) = state.payments.get(&provider) else {
        return (
            StatusCode::NOT_FOUND,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            r#"{"code":"FAIL","message":"未知支付渠道"}"#,
        )
            .into_response();
    };
    let now = state.store.clock().now();
    let notice = match p.read_notification(&headers, &body, now) {
        Ok(n) => n,
        Err((reason, detail)) => {
            // Unverified: anyone may send these. Each client gets the
            // sign-in rate of them; beyond it nothing is written at all (and
            // the store aggregates a day's junk past its daily rows).
            if let Err(secs) = state.junk_limiter.check(client_ip(&parts).as_deref()) {
                tracing::warn!(
                    provider = p.id(),
                    reason = reason.as_str(),
                    "unverified notifications limited"
                );
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [
                        (axum::http::header::CONTENT_TYPE, "application/json".to_owned()),
                        (axum::http::header::RETRY_AFTER, secs.to_string()),
                    ],
                    r#"{"code":"FAIL","message":"请求过于频繁"}"#,
                )
                    .into_response();
            }
            // The body is unverified: keep only what names it, for the record.
            let peek: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
            let id = peek.as_ref().and_then(|v| v["id"].as_str()).map(str::to_owned);
            let order = peek
                .as_ref()
                .and_then(|v| v["resource"]["out_trade_no"].as_str())
                .map(str::to_owned);
            return refuse(&state, p.as_ref(), id.as_deref(), order.as_deref(), reason, &detail).await;
        }
    };
    let outcome = match notice.kind {
        NotificationKind::Payment => state.store.payment_confirm(p.id(), p.channel(), &notice).await,
        NotificationKind::Refund => state.store.payment_refund_apply(p.id(), &notice).await,
    };
    match outcome {
        Ok(Ok(gift)) => {
            tracing::info!(provider = p.id(), out_trade_no = %notice.out_trade_no, certificate = %gift.certificate_no,
                kind = notice.kind.as_str(), "payment notification processed");
            p.acknowledge(Ok(()))
        }
        Ok(Err(reason)) => {
            let detail = format!(
                "{} {} 金额 {} {}",
                notice.kind.as_str(),
                notice.transaction_id,
                notice.amount.0,
                notice.currency
            );
            refuse(
                &state,
                p.as_ref(),
                Some(&notice.id),
                Some(&notice.out_trade_no),
                reason,
                &detail,
            )
            .await
        }
        Err(e) => {
            tracing::error!(error = %e, provider = p.id(), "payment notification failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                r#"{"code":"FAIL","message":"系统繁忙"}"#,
            )
                .into_response()
        }
    }
}

async fn refuse(
    state: &AppState,
    provider: &dyn super::PaymentProvider,
    notification_id: Option<&str>,
    out_trade_no: Option<&str>,
    reason: Rejection,
    detail: &str,
) -> Response {
    tracing::warn!(
        provider = provider.id(),
        reason = reason.as_str(),
        "payment notification refused"
    );
    if let Err(e) = state
        .store
        .payment_reject(provider.id(), notification_id, out_trade_no, reason, detail)
        .await
    {
        tracing::error!(error = %e, "recording a refused notification failed");
    }
    provider.acknowledge(Err(reason))
}
