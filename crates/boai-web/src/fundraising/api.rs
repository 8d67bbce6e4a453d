//! `/api/v1/donations` and `/api/v1/donors`.

use crate::api::{idempotency_after_failure, idempotency_claim, json_response, ApiJson, ApiPath, ApiQuery, ListOf};
use crate::auth::{Authorized, RecordGifts, ViewGifts};
use crate::fundraising::certificates::pdf_response;
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use boai_domain::fundraising::{parse_fen, Channel, DonationForCreate, DonationInput};
use boai_domain::ids::{DonorId, GiftId, ProjectId};
use boai_domain::validation::FieldErrors;
use boai_store::fundraising::group_commit::GiftRenderer;
use boai_store::fundraising::{Donor, Gift, GiftFilter};
use boai_store::idempotency::StoredResponse;
use boai_store::Page;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Goods of a gift of goods.
#[derive(Debug, Serialize, ToSchema)]
pub struct GoodsDto {
    pub item: String,
    pub quantity: i64,
    pub unit: String,
    pub value_fen: i64,
    pub lot: Option<String>,
    pub expires_on: Option<NaiveDate>,
}

/// A gift.
#[derive(Debug, Serialize, ToSchema)]
pub struct DonationDto {
    pub id: Uuid,
    /// `confirmed`, `partially_refunded` or `refunded`.
    pub status: String,
    pub certificate_no: String,
    /// The entry's index in the public ledger (null until the ledger records it).
    pub ledger_index: Option<i64>,
    pub project_id: Uuid,
    pub project_name: String,
    pub amount_fen: i64,
    pub refunded_fen: i64,
    pub channel: String,
    pub donor_id: Option<Uuid>,
    /// `person` or `organisation`; null for anonymous gifts.
    pub donor_kind: Option<String>,
    pub donor_name: Option<String>,
    pub public_name: String,
    pub goods: Option<GoodsDto>,
    pub received_on: NaiveDate,
    pub note: Option<String>,
    pub journal_entry_id: Uuid,
    pub org_id: Uuid,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl From<&Gift> for DonationDto {
    fn from(g: &Gift) -> Self {
        DonationDto {
            id: g.id.0,
            status: g.status.as_str().to_owned(),
            certificate_no: g.certificate_no.clone(),
            ledger_index: g.ledger_index,
            project_id: g.project_id.0,
            project_name: g.project_name.clone(),
            amount_fen: g.amount.0,
            refunded_fen: g.refunded.0,
            channel: g.channel.as_str().to_owned(),
            donor_id: g.donor_id.map(|d| d.0),
            donor_kind: g.donor_kind.map(|k| k.as_str().to_owned()),
            donor_name: g.donor_name.clone(),
            public_name: g.public_name.clone(),
            goods: g.goods.as_ref().map(|x| GoodsDto {
                item: x.item.clone(),
                quantity: x.quantity,
                unit: x.unit.clone(),
                value_fen: x.value.0,
                lot: x.lot.clone(),
                expires_on: x.expires_on,
            }),
            received_on: g.received_on,
            note: g.note.clone(),
            journal_entry_id: g.journal_entry_id.0,
            org_id: g.org_id.0,
            created_by: g.created_by.clone(),
            created_at: g.created_at,
        }
    }
}

/// A gift staff have in hand (CONTRACT.md).
#[derive(Debug, Deserialize, ToSchema)]
pub struct DonationBody {
    pub project_id: Option<String>,
    /// Integer fen.
    #[schema(value_type = Option<i64>)]
    pub amount_fen: Option<serde_json::Value>,
    /// `cash`, `cheque`, `bank_transfer` or `goods` (online channels are confirmed by payment notifications).
    pub channel: Option<String>,
    /// `{"kind": "person", "name", "phone", "id_card_no", "public"}` or
    /// `{"kind": "organisation", "name", "credit_code", "public"}`; null for anonymous.
    #[schema(value_type = Option<Object>)]
    pub donor: Option<serde_json::Value>,
    /// `{"item", "quantity", "unit", "value_fen", "lot", "expires_on"}`.
    #[schema(value_type = Option<Object>)]
    pub goods: Option<serde_json::Value>,
    pub received_on: Option<String>,
    pub note: Option<String>,
}

/// Gift filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DonationQuery {
    /// Certificate number or donor name.
    pub q: Option<String>,
    pub project_id: Option<Uuid>,
    pub channel: Option<String>,
    pub donor_id: Option<Uuid>,
    pub from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

impl DonationQuery {
    pub fn filter(&self) -> GiftFilter {
        GiftFilter {
            q: self.q.clone(),
            project_id: self.project_id.map(ProjectId),
            channel: self.channel.as_deref().and_then(Channel::parse),
            donor_id: self.donor_id.map(DonorId),
            from: self.from,
            until: self.until,
        }
    }
}

/// Parses the body into a gift, turning a malformed donor or goods object
/// into field errors.
pub fn donation_input(body: DonationBody) -> Result<DonationForCreate, FieldErrors> {
    let mut errors = FieldErrors::new();
    let donor = match body.donor {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => match serde_json::from_value(v) {
            Ok(d) => Some(d),
            Err(_) => {
                errors.add("donor", "捐赠人格式有误");
                None
            }
        },
    };
    let goods = match body.goods {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => match serde_json::from_value(v) {
            Ok(g) => Some(g),
            Err(_) => {
                errors.add("goods", "物资信息格式有误");
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    DonationForCreate::parse(&DonationInput {
        project_id: body.project_id,
        amount_fen: body.amount_fen,
        channel: body.channel,
        donor,
        goods,
        received_on: body.received_on,
        note: body.note,
    })
}

#[utoipa::path(get, path = "/api/v1/donations", tag = "fundraising", params(DonationQuery),
    responses((status = 200, body = ListOf<DonationDto>), (status = 401), (status = 403)), security(("bearer" = [])))]
pub async fn list(auth: Authorized<ViewGifts>, ApiQuery(q): ApiQuery<DonationQuery>) -> Result<Response, ApiError> {
    let (items, total) = auth
        .store
        .donations_list(&q.filter(), Page::new(q.page, q.per_page))
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &ListOf {
            items: items.iter().map(DonationDto::from).collect(),
            total,
        },
    ))
}

#[utoipa::path(post, path = "/api/v1/donations", tag = "fundraising", request_body = DonationBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "repeat-safe key")),
    responses((status = 201, body = DonationDto), (status = 401), (status = 403), (status = 409), (status = 422)),
    security(("bearer" = [])))]
pub async fn create(
    auth: Authorized<RecordGifts>,
    headers: HeaderMap,
    body: ApiJson<DonationBody>,
) -> Result<Response, ApiError> {
    let claim = idempotency_claim(&headers, "POST", "/api/v1/donations", &body.raw)?;
    fn render(g: &Gift) -> StoredResponse {
        StoredResponse {
            status: 201,
            body: serde_json::to_string(&DonationDto::from(g)).unwrap_or_default(),
        }
    }
    // The key is looked up only if the gift fails: the key's record is
    // written in the gift's transaction, and a repeat fails there.
    let written = match donation_input(body.value) {
        Ok(input) => auth
            .store
            .donation_create(input, claim.clone().map(|c| (c, render as GiftRenderer)))
            .await
            .map_err(ApiError::from),
        Err(e) => Err(ApiError::from(e)),
    };
    match written {
        Ok(gift) => Ok(json_response(StatusCode::CREATED, &DonationDto::from(&gift))),
        Err(failure) => idempotency_after_failure(&auth.store, claim.as_ref(), failure).await,
    }
}

#[utoipa::path(get, path = "/api/v1/donations/{id}", tag = "fundraising", params(("id" = Uuid, Path)),
    responses((status = 200, body = DonationDto), (status = 401), (status = 404)), security(("bearer" = [])))]
pub async fn get(auth: Authorized<ViewGifts>, ApiPath(id): ApiPath<String>) -> Result<Response, ApiError> {
    let id: GiftId = id.parse().map_err(|_| ApiError::NotFound)?;
    Ok(json_response(
        StatusCode::OK,
        &DonationDto::from(&auth.store.donation_get(id).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/donations/{id}/certificate.pdf", tag = "fundraising", params(("id" = Uuid, Path)),
    responses((status = 200, content_type = "application/pdf", description = "the e-certificate"), (status = 401), (status = 404)),
    security(("bearer" = [])))]
pub async fn certificate(
    State(state): State<AppState>,
    auth: Authorized<ViewGifts>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let id: GiftId = id.parse().map_err(|_| ApiError::NotFound)?;
    let gift = auth.store.donation_get(id).await?;
    pdf_response(&state, &gift).await
}

/// A refund of (part of) a gift.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RefundBody {
    #[schema(value_type = Option<i64>)]
    pub amount_fen: Option<serde_json::Value>,
    pub reason: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/donations/{id}/refunds", tag = "fundraising", params(("id" = Uuid, Path)),
    request_body = RefundBody,
    responses((status = 200, body = DonationDto), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn refund(
    auth: Authorized<RecordGifts>,
    ApiPath(id): ApiPath<String>,
    body: ApiJson<RefundBody>,
) -> Result<Response, ApiError> {
    let id: GiftId = id.parse().map_err(|_| ApiError::NotFound)?;
    let mut errors = FieldErrors::new();
    let amount = parse_fen(&mut errors, "amount_fen", body.value.amount_fen.as_ref());
    let Some(amount) = amount else {
        return Err(errors.into());
    };
    let gift = auth
        .store
        .donation_refund(id, amount, body.value.reason.as_deref().unwrap_or_default())
        .await?;
    Ok(json_response(StatusCode::OK, &DonationDto::from(&gift)))
}

/// A donor (identity numbers masked).
#[derive(Debug, Serialize, ToSchema)]
pub struct DonorDto {
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    pub phone_masked: Option<String>,
    pub id_card_masked: Option<String>,
    pub credit_code: Option<String>,
    pub public: bool,
    pub merged_into: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl From<&Donor> for DonorDto {
    fn from(d: &Donor) -> Self {
        DonorDto {
            id: d.id.0,
            kind: d.kind.as_str().to_owned(),
            name: d.name.clone(),
            phone_masked: d.phone_masked.clone(),
            id_card_masked: d.id_card_masked.clone(),
            credit_code: d.credit_code.clone(),
            public: d.public,
            merged_into: d.merged_into.map(|m| m.0),
            created_at: d.created_at,
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DonorQuery {
    /// Name, credit code, or a full ID or phone number (matched by keyed hash).
    pub q: Option<String>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/donors", tag = "fundraising", params(DonorQuery),
    responses((status = 200, body = ListOf<DonorDto>), (status = 401), (status = 403)), security(("bearer" = [])))]
pub async fn donors(auth: Authorized<ViewGifts>, ApiQuery(q): ApiQuery<DonorQuery>) -> Result<Response, ApiError> {
    let (items, total) = auth
        .store
        .donors_list(q.q.as_deref(), Page::new(q.page, q.per_page))
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &ListOf {
            items: items.iter().map(DonorDto::from).collect(),
            total,
        },
    ))
}

/// Merge a duplicate donor into the one kept.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MergeBody {
    pub keep_id: Uuid,
    pub duplicate_id: Uuid,
}

#[utoipa::path(post, path = "/api/v1/donors/merge", tag = "fundraising", request_body = MergeBody,
    responses((status = 200, body = DonorDto), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn merge(auth: Authorized<RecordGifts>, body: ApiJson<MergeBody>) -> Result<Response, ApiError> {
    let kept = auth
        .store
        .donor_merge(DonorId(body.value.keep_id), DonorId(body.value.duplicate_id))
        .await?;
    Ok(json_response(StatusCode::OK, &DonorDto::from(&kept)))
}
