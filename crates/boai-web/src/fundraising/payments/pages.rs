//! The public giving pages (中文, phone first, no sign-in):
//! - `/give`: pick a project or the general fund, a suggested amount or a
//!   typed one (yuan, parsed exactly), give as a person, an organisation or
//!   anonymously → an order → the provider's payment page;
//! - `/give/orders/{no}`: 确认中 (refreshing itself) until the verified
//!   notification arrived, then the confirmation with the certificate to
//!   download and how to find the gift again (`/transparency/find`);
//! - `/sandbox/pay/{no}`: the sandbox provider's own payment page (确认支付).

use super::api::{checked_key, current_order, start_order, OrderKeyQuery};
use crate::auth::pages::RawParts;
use crate::auth::{client_ip, MaybeCaller};
use crate::fundraising::certificates::pdf_response;
use crate::i18n::Lang;
use crate::pages::{china_time, render, Layout};
use crate::{ApiError, AppState, PageError};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use boai_domain::fundraising::payments::{GiftOrderForCreate, GiveInput, OrderStatus, SUGGESTED_YUAN};
use boai_domain::validation::FieldErrors;
use boai_store::fundraising::payments::{GivingProject, PaymentOrder};
use boai_store::fundraising::Gift;

/// The Chinese label of a stored rejection reason.
pub fn reason_zh(reason: &str) -> &'static str {
    use boai_domain::fundraising::payments::Rejection::*;
    [
        MissingHeaders,
        BadSignature,
        UnknownSerial,
        Stale,
        Malformed,
        UnknownOrder,
        AmountMismatch,
        CurrencyMismatch,
        Duplicate,
        OutOfOrder,
        NotRecordable,
    ]
    .into_iter()
    .find(|r| r.as_str() == reason)
    .map(|r| r.label_zh())
    .unwrap_or("其他")
}

/// The form as typed (echoed back on errors, never the ID number).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct GiveForm {
    #[serde(default)]
    pub project_id: String,
    #[serde(default)]
    pub preset: String,
    #[serde(default)]
    pub amount: String,
    #[serde(default)]
    pub donor_kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub id_card_no: String,
    #[serde(default)]
    pub credit_code: String,
    #[serde(default)]
    pub public: String,
}

#[derive(Template)]
#[template(path = "give.html")]
struct GivePage {
    layout: Layout,
    projects: Vec<GivingProject>,
    suggested: Vec<i64>,
    form: GiveForm,
    errors: FieldErrors,
}

async fn give_page(
    state: &AppState,
    lang: Lang,
    caller: Option<&crate::auth::Identity>,
    mut form: GiveForm,
    errors: FieldErrors,
) -> Result<Response, PageError> {
    let projects = state.store.giving_projects().await?;
    if form.donor_kind.is_empty() {
        form.donor_kind = "person".to_owned();
    }
    if form.preset.is_empty() && form.amount.is_empty() {
        form.preset = "100".to_owned();
    }
    form.id_card_no.clear();
    let failed = !errors.is_empty();
    let mut response = render(&GivePage {
        layout: Layout::new(lang, "在线捐赠", "/give", caller),
        projects,
        suggested: SUGGESTED_YUAN.to_vec(),
        form,
        errors,
    });
    if failed {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

/// `GET /give`.
pub async fn give_form(
    State(state): State<AppState>,
    RawParts(parts): RawParts,
    MaybeCaller(caller): MaybeCaller,
    crate::query::PageQuery(q): crate::query::PageQuery<ProjectQuery>,
) -> Result<Response, PageError> {
    let form = GiveForm {
        project_id: q.project.unwrap_or_default(),
        ..GiveForm::default()
    };
    give_page(
        &state,
        Lang::from_parts(&parts),
        caller.as_ref(),
        form,
        FieldErrors::new(),
    )
    .await
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct ProjectQuery {
    pub project: Option<String>,
}

/// `POST /give`: validate, open the order, send the payer to pay.
pub async fn give_submit(
    State(state): State<AppState>,
    RawParts(parts): RawParts,
    MaybeCaller(caller): MaybeCaller,
    Form(form): Form<GiveForm>,
) -> Result<Response, PageError> {
    state
        .lookup_limiter
        .check(client_ip(&parts).as_deref())
        .map_err(|secs| ApiError::TooManyRequests { retry_after_secs: secs })?;
    let lang = Lang::from_parts(&parts);
    let non_empty = |s: &str| Some(s.to_owned()).filter(|s| !s.trim().is_empty());
    let input = GiveInput {
        project_id: non_empty(&form.project_id),
        preset: non_empty(&form.preset),
        amount: non_empty(&form.amount),
        donor_kind: non_empty(&form.donor_kind),
        name: non_empty(&form.name),
        phone: non_empty(&form.phone),
        id_card_no: non_empty(&form.id_card_no),
        credit_code: non_empty(&form.credit_code),
        public: non_empty(&form.public),
    };
    let order = match GiftOrderForCreate::parse(&input) {
        Ok(o) => o,
        Err(errors) => return give_page(&state, lang, caller.as_ref(), form, errors).await,
    };
    match start_order(&state, order).await {
        Ok((_, pay_url)) => Ok(Redirect::to(&pay_url).into_response()),
        Err(ApiError::Validation(errors)) => give_page(&state, lang, caller.as_ref(), form, errors).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "give_order.html")]
struct OrderPage {
    layout: Layout,
    /// The order's key, when the visitor came with it (the payer's return
    /// link): only then is the certificate offered.
    key: Option<String>,
    order: PaymentOrder,
    project_name: String,
    gift: Option<Gift>,
    expires: String,
}

/// `GET /give/orders/{no}`: 确认中 until the notification, then the confirmation.
pub async fn order_page(
    State(state): State<AppState>,
    RawParts(parts): RawParts,
    MaybeCaller(caller): MaybeCaller,
    Path(no): Path<String>,
    crate::query::PageQuery(q): crate::query::PageQuery<OrderKeyQuery>,
) -> Result<Response, PageError> {
    let order = current_order(&state, &no).await?;
    let key = checked_key(&state, &order.out_trade_no, q.k.as_deref()).map(str::to_owned);
    let gift = state.store.payment_order_gift(&order).await?;
    let project_name = match &gift {
        Some(g) => g.project_name.clone(),
        None => order.description.trim_start_matches("捐赠-").to_owned(),
    };
    let pending = order.status == OrderStatus::Pending;
    let mut response = render(&OrderPage {
        layout: Layout::new(Lang::from_parts(&parts), "捐赠结果", "/give", caller.as_ref()),
        key,
        expires: china_time(order.expires_at),
        order,
        project_name,
        gift,
    });
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if pending {
        headers.insert(
            axum::http::HeaderName::from_static("refresh"),
            HeaderValue::from_static("2"),
        );
    }
    Ok(response)
}

/// `GET /give/orders/{no}/certificate.pdf?k=…`: the payer's certificate,
/// only with the order's key (an order number alone is 404).
pub async fn order_certificate(
    State(state): State<AppState>,
    Path(no): Path<String>,
    crate::query::PageQuery(q): crate::query::PageQuery<OrderKeyQuery>,
) -> Result<Response, ApiError> {
    let order = current_order(&state, &no).await?;
    if checked_key(&state, &order.out_trade_no, q.k.as_deref()).is_none() {
        return Err(ApiError::NotFound);
    }
    let gift = state
        .store
        .payment_order_gift(&order)
        .await?
        .ok_or(ApiError::NotFound)?;
    pdf_response(&state, &gift).await
}

#[derive(Template)]
#[template(path = "sandbox_pay.html")]
struct SandboxPage {
    layout: Layout,
    order: Option<super::sandbox::SandboxOrder>,
    amount: String,
    error: Option<String>,
}

/// `GET /sandbox/pay/{no}`: the sandbox's payment page.
pub async fn sandbox_page(
    State(state): State<AppState>,
    RawParts(parts): RawParts,
    Path(no): Path<String>,
) -> Result<Response, PageError> {
    if !state.payments.sandbox_on() {
        return Err(ApiError::NotFound.into());
    }
    let order = state.payments.sandbox().order(&no);
    let now = state.store.clock().now();
    let error = match &order {
        None => Some("订单不存在或已失效".to_owned()),
        Some(o) if o.transaction_id.is_some() => Some("该订单已支付".to_owned()),
        Some(o) if o.expire_at <= now => Some("订单已过期, 请重新发起捐赠".to_owned()),
        Some(_) => None,
    };
    let status = if order.is_none() {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::OK
    };
    let mut response = render(&SandboxPage {
        layout: Layout::new(Lang::from_parts(&parts), "沙箱支付", "/sandbox", None),
        amount: order
            .as_ref()
            .map(|o| boai_domain::money::Fen(o.amount_fen).display_yuan())
            .unwrap_or_default(),
        order,
        error,
    });
    *response.status_mut() = status;
    Ok(response)
}

/// `POST /sandbox/pay/{no}`: 确认支付 — the sandbox notifies, then returns
/// the payer to the platform.
pub async fn sandbox_pay(
    State(state): State<AppState>,
    RawParts(parts): RawParts,
    Path(no): Path<String>,
) -> Result<Response, PageError> {
    if !state.payments.sandbox_on() {
        return Err(ApiError::NotFound.into());
    }
    match state.payments.sandbox().pay(&no).await {
        Ok(order) => Ok(Redirect::to(&order.return_url).into_response()),
        Err(e) => {
            let order = state.payments.sandbox().order(&no);
            let mut response = render(&SandboxPage {
                layout: Layout::new(Lang::from_parts(&parts), "沙箱支付", "/sandbox", None),
                amount: order
                    .as_ref()
                    .map(|o| boai_domain::money::Fen(o.amount_fen).display_yuan())
                    .unwrap_or_default(),
                order,
                error: Some(e.to_string()),
            });
            *response.status_mut() = StatusCode::CONFLICT;
            Ok(response)
        }
    }
}
