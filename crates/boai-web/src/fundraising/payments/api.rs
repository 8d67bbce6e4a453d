//! The giving JSON API:
//! - `POST /api/v1/giving/orders` (public, rate-limited): a gift to pay
//!   online → the order number and where to pay;
//! - `GET /api/v1/giving/orders/{no}` (public; the number is the payer's
//!   unguessable link): how the order stands, and once paid the gift's
//!   certificate number and ledger index;
//! - `GET /api/v1/giving/orders` (staff, scoped), `GET /api/v1/giving/rejections`
//!   (staff), `POST /api/v1/giving/orders/{no}/refunds` (finance/city staff).

use super::provider::{OrderRequest, RefundCall};
use crate::api::{json_response, ApiJson, ApiPath, ApiQuery, ListOf, Paging};
use crate::auth::pages::RawParts;
use crate::auth::{client_ip, Authorized, RecordGifts, ViewGifts};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use boai_domain::fundraising::payments::{GiftOrderForCreate, GiveInput, OrderStatus};
use boai_domain::money::Fen;
use boai_domain::validation::FieldErrors;
use boai_store::fundraising::payments::{PaymentOrder, RejectedNotification};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// An online order.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderDto {
    pub out_trade_no: String,
    pub provider: String,
    /// `pending`, `paid` or `expired`.
    pub status: String,
    pub amount_fen: i64,
    pub currency: String,
    pub description: String,
    pub project_id: uuid::Uuid,
    pub expires_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub refunded_fen: i64,
    /// Where the payer pays (while pending).
    pub pay_url: Option<String>,
    /// The confirmed gift (once paid).
    pub gift: Option<OrderGiftDto>,
    /// Staff only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub donor_name: Option<String>,
    /// The payer's key to this order (only in the answer that creates it):
    /// `GET /give/orders/{no}?k=…` and `GET /api/v1/giving/orders/{no}?k=…`
    /// then give the certificate's link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_key: Option<String>,
}

/// The key that, with an order number, opens the order's certificate: a
/// signature of the number with the installation's secret (nothing stored).
pub fn order_key(state: &AppState, out_trade_no: &str) -> String {
    state
        .store
        .secrets()
        .sign(format!("give-order-link\n{out_trade_no}").as_bytes())
}

/// The key shown with an order number, if it is the order's own.
pub fn checked_key<'k>(state: &AppState, out_trade_no: &str, key: Option<&'k str>) -> Option<&'k str> {
    key.filter(|k| {
        state
            .store
            .secrets()
            .verify(format!("give-order-link\n{out_trade_no}").as_bytes(), k)
    })
}

/// `?k=`: the order's key.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderKeyQuery {
    /// The order's key (from the answer that created it, or the return link).
    pub k: Option<String>,
}

/// The gift an order became.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderGiftDto {
    pub id: uuid::Uuid,
    pub certificate_no: String,
    pub ledger_index: Option<i64>,
    pub status: String,
    pub public_name: String,
    /// The certificate PDF for the payer: given only to a caller who shows
    /// the order's key (`?k=`, from `order_key` or the return link); an
    /// order number alone never opens a certificate.
    pub certificate_url: Option<String>,
    /// Where to find the gift again (with name or phone tail).
    pub find_url: String,
}

/// An order as answered; `key` is the order's key when the caller showed
/// it (checked), which alone adds the certificate's link.
pub fn order_dto(
    order: &PaymentOrder,
    gift: Option<&boai_store::fundraising::Gift>,
    staff: bool,
    key: Option<&str>,
) -> OrderDto {
    OrderDto {
        out_trade_no: order.out_trade_no.clone(),
        provider: order.provider.clone(),
        status: order.status.as_str().to_owned(),
        amount_fen: order.amount.0,
        currency: order.currency.clone(),
        description: order.description.clone(),
        project_id: order.project_id.0,
        expires_at: order.expires_at,
        paid_at: order.paid_at,
        refunded_fen: order.refunded.0,
        pay_url: (order.status == OrderStatus::Pending && order.provider == "sandbox")
            .then(|| format!("/sandbox/pay/{}", order.out_trade_no)),
        gift: gift.map(|g| OrderGiftDto {
            id: g.id.0,
            certificate_no: g.certificate_no.clone(),
            ledger_index: g.ledger_index,
            status: g.status.as_str().to_owned(),
            public_name: g.public_name.clone(),
            certificate_url: key.map(|k| {
                format!(
                    "/give/orders/{}/certificate.pdf?k={}",
                    order.out_trade_no,
                    crate::components::list::urlencode(k)
                )
            }),
            find_url: format!(
                "/transparency/find?cert={}",
                crate::components::list::urlencode(&g.certificate_no)
            ),
        }),
        transaction_id: if staff { order.transaction_id.clone() } else { None },
        donor_name: if staff { order.donor_name.clone() } else { None },
        order_key: None,
    }
}

/// Opens an order with the default provider; the public pages and API share it.
pub async fn start_order(state: &AppState, input: GiftOrderForCreate) -> Result<(PaymentOrder, String), ApiError> {
    let Some(provider) = state.payments.default_provider() else {
        let mut errors = boai_domain::validation::FieldErrors::new();
        errors.add("amount", "网上捐赠暂未开通, 请通过银行转账或到红十字会现场捐赠");
        return Err(ApiError::Validation(errors));
    };
    let order = state.store.payment_order_create(provider.id(), input).await?;
    let created = provider
        .create_order(&OrderRequest {
            out_trade_no: order.out_trade_no.clone(),
            amount_fen: order.amount.0,
            currency: order.currency.clone(),
            description: order.description.clone(),
            notify_url: state.payments.notify_url(state, provider.id()),
            return_url: format!(
                "/give/orders/{}?k={}",
                order.out_trade_no,
                crate::components::list::urlencode(&order_key(state, &order.out_trade_no))
            ),
            expire_at: order.expires_at,
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((order, created.pay_url))
}

/// Looks an order up, expiring it first when its time is up.
pub async fn current_order(state: &AppState, no: &str) -> Result<PaymentOrder, ApiError> {
    let mut order = state.store.payment_order(no).await?.ok_or(ApiError::NotFound)?;
    if order.status == OrderStatus::Pending && order.expires_at <= state.store.clock().now() {
        state.store.payment_orders_expire().await?;
        order = state.store.payment_order(no).await?.ok_or(ApiError::NotFound)?;
    }
    Ok(order)
}

/// A public gift to pay online.
#[derive(Debug, Deserialize, ToSchema)]
pub struct GiveBody {
    /// A project id; empty or `general` for the general fund.
    pub project_id: Option<String>,
    /// Yuan, as typed (`88.50`).
    pub amount: Option<String>,
    /// `person`, `organisation` or `anonymous`.
    pub donor_kind: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub id_card_no: Option<String>,
    pub credit_code: Option<String>,
    pub public: Option<bool>,
}

#[utoipa::path(post, path = "/api/v1/giving/orders", tag = "giving", request_body = GiveBody,
    responses((status = 201, body = OrderDto), (status = 422), (status = 429)))]
pub async fn create(
    State(state): State<AppState>,
    RawParts(parts): RawParts,
    body: ApiJson<GiveBody>,
) -> Result<Response, ApiError> {
    state
        .lookup_limiter
        .check(client_ip(&parts).as_deref())
        .map_err(|secs| ApiError::TooManyRequests { retry_after_secs: secs })?;
    let b = body.value;
    let input = GiftOrderForCreate::parse(&GiveInput {
        project_id: b.project_id,
        preset: None,
        amount: b.amount,
        donor_kind: b.donor_kind,
        name: b.name,
        phone: b.phone,
        id_card_no: b.id_card_no,
        credit_code: b.credit_code,
        public: b.public.map(|p| p.to_string()),
    })?;
    let (order, pay_url) = start_order(&state, input).await?;
    let mut dto = order_dto(&order, None, false, None);
    dto.pay_url = Some(pay_url);
    dto.order_key = Some(order_key(&state, &order.out_trade_no));
    Ok(json_response(StatusCode::CREATED, &dto))
}

#[utoipa::path(get, path = "/api/v1/giving/orders/{no}", tag = "giving",
    params(("no" = String, Path, description = "the order number (out_trade_no)"), OrderKeyQuery),
    responses((status = 200, body = OrderDto), (status = 404)))]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(no): ApiPath<String>,
    ApiQuery(q): ApiQuery<OrderKeyQuery>,
) -> Result<Response, ApiError> {
    let order = current_order(&state, &no).await?;
    let gift = state.store.payment_order_gift(&order).await?;
    let key = checked_key(&state, &order.out_trade_no, q.k.as_deref());
    Ok(json_response(
        StatusCode::OK,
        &order_dto(&order, gift.as_ref(), false, key),
    ))
}

/// Order filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderQuery {
    /// `pending`, `paid` or `expired`.
    pub status: Option<String>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/giving/orders", tag = "giving", params(OrderQuery),
    responses((status = 200, body = ListOf<OrderDto>), (status = 401), (status = 403)), security(("bearer" = [])))]
pub async fn list(auth: Authorized<ViewGifts>, ApiQuery(q): ApiQuery<OrderQuery>) -> Result<Response, ApiError> {
    let status = q.status.as_deref().and_then(OrderStatus::parse);
    let (items, total) = auth
        .store
        .payment_orders_list(status, boai_store::Page::new(q.page, q.per_page))
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &ListOf {
            items: items.iter().map(|o| order_dto(o, None, true, None)).collect(),
            total,
        },
    ))
}

/// A refused notification.
#[derive(Debug, Serialize, ToSchema)]
pub struct RejectionDto {
    pub id: uuid::Uuid,
    pub provider: String,
    pub notification_id: Option<String>,
    pub out_trade_no: Option<String>,
    /// e.g. `bad_signature`, `stale`, `unknown_order`, `amount_mismatch`, `duplicate`.
    pub reason: String,
    pub reason_zh: String,
    pub detail: String,
    pub received_at: DateTime<Utc>,
    /// How many notifications the entry stands for (unverified ones past
    /// the day's rows are counted in one entry per provider and reason).
    pub hits: i64,
}

fn rejection_dto(r: &RejectedNotification) -> RejectionDto {
    RejectionDto {
        id: r.id,
        provider: r.provider.clone(),
        notification_id: r.notification_id.clone(),
        out_trade_no: r.out_trade_no.clone(),
        reason_zh: super::pages::reason_zh(&r.reason).to_owned(),
        reason: r.reason.clone(),
        detail: r.detail.clone(),
        received_at: r.received_at,
        hits: r.hits,
    }
}

#[utoipa::path(get, path = "/api/v1/giving/rejections", tag = "giving", params(Paging),
    responses((status = 200, body = ListOf<RejectionDto>), (status = 401), (status = 403)), security(("bearer" = [])))]
pub async fn rejections(auth: Authorized<ViewGifts>, ApiQuery(q): ApiQuery<Paging>) -> Result<Response, ApiError> {
    let (items, total) = auth.store.payment_rejections_list(q.page()).await?;
    Ok(json_response(
        StatusCode::OK,
        &ListOf {
            items: items.iter().map(rejection_dto).collect(),
            total,
        },
    ))
}

/// A refund of an online gift.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RefundBody {
    #[schema(value_type = Option<i64>)]
    pub amount_fen: Option<serde_json::Value>,
    pub reason: Option<String>,
}

/// A refund asked of the provider.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefundDto {
    pub out_refund_no: String,
    pub out_trade_no: String,
    pub amount_fen: i64,
    /// `pending` until the provider's refund notification arrives.
    pub status: String,
}

#[utoipa::path(post, path = "/api/v1/giving/orders/{no}/refunds", tag = "giving", request_body = RefundBody,
    params(("no" = String, Path, description = "the order number")),
    responses((status = 202, body = RefundDto), (status = 401), (status = 403), (status = 404), (status = 422), (status = 502)),
    security(("bearer" = [])))]
pub async fn refund(
    State(state): State<AppState>,
    auth: Authorized<RecordGifts>,
    ApiPath(no): ApiPath<String>,
    body: ApiJson<RefundBody>,
) -> Result<Response, ApiError> {
    let mut errors = FieldErrors::new();
    let amount = boai_domain::fundraising::parse_fen(&mut errors, "amount_fen", body.value.amount_fen.as_ref());
    let Some(amount) = amount.filter(|_| errors.is_empty()) else {
        return Err(errors.into());
    };
    let request = auth
        .store
        .payment_refund_request(&no, Fen(amount.0), body.value.reason.as_deref().unwrap_or_default())
        .await?;
    let provider = state.payments.get(&request.provider).ok_or(ApiError::NotFound)?;
    provider
        .refund(&RefundCall {
            out_trade_no: request.out_trade_no.clone(),
            transaction_id: request.transaction_id.clone(),
            out_refund_no: request.out_refund_no.clone(),
            amount_fen: request.amount.0,
            total_fen: request.order_amount.0,
            reason: request.reason.clone(),
            notify_url: state.payments.notify_url(&state, provider.id()),
        })
        .await
        .map_err(|e| ApiError::Conflict(e.to_string()))?;
    Ok(json_response(
        StatusCode::ACCEPTED,
        &RefundDto {
            out_refund_no: request.out_refund_no,
            out_trade_no: request.out_trade_no,
            amount_fen: request.amount.0,
            status: request.status,
        },
    ))
}
