//! Bank statements (对账): import .xlsx or .csv (UTF-8 or GBK, read with the
//! network import's helpers) in a built-in or saved layout, matches proposed
//! for staff to accept, gifts recorded from unmatched credits, and what
//! remains unreconciled with its age. Pages under `/fundraising/bank`, API
//! under `/api/v1/giving/bank/…`. A file that does not fit a layout, or has a
//! broken row, is refused whole; lines already imported are skipped.

use crate::api::{json_response, ApiJson, ApiPath, ApiQuery, ListOf};
use crate::auth::csrf::{CsrfForm, CsrfMultipart};
use crate::auth::{Authorized, PageUser, RecordGifts, ViewGifts};
use crate::fundraising::api::{donation_input, DonationBody, DonationDto};
use crate::pages::{lang_of, render, Layout};
use crate::{ApiError, PageError};
use askama::Template;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use boai_domain::fundraising::reconciliation::BankLayout;
use boai_domain::validation::FieldErrors;
use boai_store::fundraising::reconciliation::{BankLine, StatementReport};
use boai_store::{Page, ScopedStore};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub use boai_import::read_statement;

async fn import(store: &ScopedStore, bytes: &[u8]) -> Result<StatementReport, ApiError> {
    let layouts = store.bank_layouts().await?;
    let statement = read_statement(bytes, &layouts).map_err(|message| {
        let mut errors = FieldErrors::new();
        errors.add("file", message);
        ApiError::Validation(errors)
    })?;
    Ok(store.bank_statement_import(statement).await?)
}

/// The routes (merged into the app's router).
pub fn routes() -> Vec<crate::routes::Route> {
    use crate::routes::{get, post, Access::Needs};
    use boai_domain::accounts::Permission as P;
    vec![
        post("/fundraising/bank", Needs(P::RecordGifts), upload).body_limit(crate::network::IMPORT_BODY_LIMIT),
        get("/fundraising/bank", Needs(P::ViewGifts), page),
        post(
            "/fundraising/bank/lines/{id}/accept",
            Needs(P::RecordGifts),
            accept_form,
        ),
        post("/api/v1/giving/bank/statements", Needs(P::RecordGifts), api_import)
            .body_limit(crate::network::IMPORT_BODY_LIMIT),
        get("/api/v1/giving/bank/lines", Needs(P::ViewGifts), api_lines),
        post(
            "/api/v1/giving/bank/lines/{id}/accept",
            Needs(P::RecordGifts),
            api_accept,
        ),
        post("/api/v1/giving/bank/lines/{id}/gift", Needs(P::RecordGifts), api_gift),
        get("/api/v1/giving/bank/layouts", Needs(P::ViewGifts), api_layouts),
        post("/api/v1/giving/bank/layouts", Needs(P::RecordGifts), api_layout_save),
    ]
}

/// A statement line.
#[derive(Debug, Serialize, ToSchema)]
pub struct BankLineDto {
    pub id: uuid::Uuid,
    /// The bank's 流水号.
    pub reference: String,
    pub date: chrono::NaiveDate,
    /// Credits positive, debits negative.
    pub amount_fen: i64,
    pub counterparty: String,
    pub memo: String,
    /// `unmatched`, `proposed`, `matched`, `created` or `debit`.
    pub status: String,
    pub gift_id: Option<uuid::Uuid>,
    pub proposed_gift_id: Option<uuid::Uuid>,
    pub certificate_no: Option<String>,
    pub age_days: i64,
}

fn line_dto(l: &BankLine) -> BankLineDto {
    BankLineDto {
        id: l.id,
        reference: l.reference.clone(),
        date: l.date,
        amount_fen: l.amount.0,
        counterparty: l.counterparty.clone(),
        memo: l.memo.clone(),
        status: l.status.clone(),
        gift_id: l.gift_id.map(|g| g.0),
        proposed_gift_id: l.proposed_gift_id.map(|g| g.0),
        certificate_no: l.certificate_no.clone(),
        age_days: l.age_days,
    }
}

#[utoipa::path(post, path = "/api/v1/giving/bank/statements", tag = "giving",
    request_body(content = Vec<u8>, description = ".xlsx or .csv (UTF-8 or GBK) bank statement"),
    responses((status = 200, description = "imported, duplicates skipped, matches proposed"), (status = 401), (status = 403),
        (status = 413), (status = 422, description = "wrong layout or a broken row: nothing imported")),
    security(("bearer" = [])))]
pub async fn api_import(
    auth: Authorized<RecordGifts>,
    crate::api::ApiBytes(body): crate::api::ApiBytes,
) -> Result<Response, ApiError> {
    let report = import(&auth.store, &body).await?;
    Ok(json_response(StatusCode::OK, &report))
}

/// Line filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LineQuery {
    /// A line status, or `unreconciled`.
    pub status: Option<String>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/giving/bank/lines", tag = "giving", params(LineQuery),
    responses((status = 200, body = ListOf<BankLineDto>), (status = 401), (status = 403)), security(("bearer" = [])))]
pub async fn api_lines(auth: Authorized<ViewGifts>, ApiQuery(q): ApiQuery<LineQuery>) -> Result<Response, ApiError> {
    let (items, total) = auth
        .store
        .bank_lines(q.status.as_deref(), Page::new(q.page, q.per_page))
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &ListOf {
            items: items.iter().map(line_dto).collect(),
            total,
        },
    ))
}

#[utoipa::path(post, path = "/api/v1/giving/bank/lines/{id}/accept", tag = "giving",
    params(("id" = uuid::Uuid, Path, description = "the line")),
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)),
    security(("bearer" = [])))]
pub async fn api_accept(auth: Authorized<RecordGifts>, ApiPath(id): ApiPath<uuid::Uuid>) -> Result<Response, ApiError> {
    auth.store.bank_line_accept(id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(post, path = "/api/v1/giving/bank/lines/{id}/gift", tag = "giving", request_body = DonationBody,
    params(("id" = uuid::Uuid, Path, description = "the line")),
    responses((status = 201, body = DonationDto), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)),
    security(("bearer" = [])))]
pub async fn api_gift(
    auth: Authorized<RecordGifts>,
    ApiPath(id): ApiPath<uuid::Uuid>,
    body: ApiJson<DonationBody>,
) -> Result<Response, ApiError> {
    let mut body = body.value;
    body.channel = Some("bank_transfer".to_owned());
    let input = donation_input(body)?;
    let gift = auth.store.bank_line_create_gift(id, input).await?;
    Ok(json_response(StatusCode::CREATED, &DonationDto::from(&gift)))
}

#[utoipa::path(get, path = "/api/v1/giving/bank/layouts", tag = "giving",
    responses((status = 200, description = "built-in and saved layouts"), (status = 401), (status = 403)), security(("bearer" = [])))]
pub async fn api_layouts(auth: Authorized<ViewGifts>) -> Result<Response, ApiError> {
    let layouts = auth.store.bank_layouts().await?;
    Ok(json_response(StatusCode::OK, &layouts))
}

#[utoipa::path(post, path = "/api/v1/giving/bank/layouts", tag = "giving",
    request_body(content = Object, description = "`{name, date, amount: {kind: debit_credit, debit, credit} | {kind: signed, amount}, counterparty, memo, reference}`"),
    responses((status = 201), (status = 401), (status = 403), (status = 422)), security(("bearer" = [])))]
pub async fn api_layout_save(
    auth: Authorized<RecordGifts>,
    crate::api::ApiBytes(body): crate::api::ApiBytes,
) -> Result<Response, ApiError> {
    let layout: BankLayout = serde_json::from_slice(&body).map_err(|e| {
        let mut errors = FieldErrors::new();
        errors.add("layout", format!("格式定义有误: {e}"));
        ApiError::Validation(errors)
    })?;
    let saved = auth.store.bank_layout_save(layout).await?;
    Ok(json_response(StatusCode::CREATED, &saved))
}

#[derive(Template)]
#[template(path = "bank.html")]
struct BankPage {
    layout: Layout,
    csrf: String,
    layouts: Vec<BankLayout>,
    lines: Vec<BankLine>,
    total: u64,
    unreconciled: String,
    unreconciled_count: u64,
    error: String,
    report: Option<StatementReport>,
}

async fn bank_page<N: crate::auth::Need>(
    headers: &HeaderMap,
    user: &PageUser<N>,
    error: String,
    report: Option<StatementReport>,
) -> Result<Response, PageError> {
    let (lines, total) = user
        .store
        .bank_lines(Some("unreconciled"), Page::new(None, Some(100)))
        .await?;
    let (sum, count) = user.store.bank_unreconciled().await?;
    let failed = !error.is_empty();
    let mut response = render(&BankPage {
        layout: Layout::new(lang_of(headers), "银行对账", "/fundraising/bank", Some(&user.identity)),
        csrf: user.identity.csrf_token().to_owned(),
        layouts: user.store.bank_layouts().await?,
        lines,
        total,
        unreconciled: sum.display_yuan(),
        unreconciled_count: count,
        error,
        report,
    });
    if failed {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

/// `GET /fundraising/bank`.
pub async fn page(headers: HeaderMap, user: PageUser<ViewGifts>) -> Result<Response, PageError> {
    bank_page(&headers, &user, String::new(), None).await
}

/// `POST /fundraising/bank`: upload a statement.
pub async fn upload(
    headers: HeaderMap,
    user: PageUser<RecordGifts>,
    upload: CsrfMultipart,
) -> Result<Response, PageError> {
    let Some(file) = upload.file("file") else {
        return bank_page(&headers, &user, "请选择对账单文件".to_owned(), None).await;
    };
    match import(&user.store, &file.bytes).await {
        Ok(report) => bank_page(&headers, &user, String::new(), Some(report)).await,
        Err(ApiError::Validation(errors)) => bank_page(&headers, &user, errors.to_string(), None).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct AcceptForm {}

/// `POST /fundraising/bank/lines/{id}/accept`.
pub async fn accept_form(
    user: PageUser<RecordGifts>,
    Path(id): Path<uuid::Uuid>,
    CsrfForm(_): CsrfForm<AcceptForm>,
) -> Result<Response, PageError> {
    user.store.bank_line_accept(id).await?;
    Ok(Redirect::to("/fundraising/bank").into_response())
}
