//! `/api/v1/privacy/…`: an export of what is held about a person (JSON,
//! decrypted: it is that person's own data), an anonymisation, and the
//! requests recorded.

use crate::api::{json_response, ApiJson, ApiQuery, ListOf, Paging};
use crate::auth::{Authorized, ManagePrivacy};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use boai_domain::privacy::Subject;
use boai_domain::validation::FieldErrors;
use boai_store::privacy::PrivacyRequest;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Whom a request is about (exactly one of `id_card_no` and `phone`) and who asked.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SubjectBody {
    /// A 身份证 number (found through its keyed hash).
    pub id_card_no: Option<String>,
    /// A mobile phone number.
    pub phone: Option<String>,
    /// Who asked (the person, or who acts for them), 1–100 characters.
    pub requested_by: Option<String>,
}

/// Reads the subject and the requester; field errors together.
pub fn parse_subject(
    id_card_no: Option<&str>,
    phone: Option<&str>,
    requested_by: Option<&str>,
) -> Result<(Subject, String), FieldErrors> {
    let subject = Subject::parse(id_card_no, phone);
    let who = requested_by.map(str::trim).unwrap_or_default();
    let mut errors = subject.as_ref().err().cloned().unwrap_or_default();
    if who.is_empty() || who.chars().count() > 100 {
        errors.add("requested_by", "请填写申请人 (1–100 个字)");
    }
    match subject {
        Ok(s) if errors.is_empty() => Ok((s, who.to_owned())),
        _ => Err(errors),
    }
}

/// A recorded request (the subject masked).
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestDto {
    pub id: Uuid,
    /// `export` or `anonymise`.
    pub kind: String,
    /// `id_card` or `phone`.
    pub subject_kind: String,
    pub subject_masked: String,
    pub requested_by: String,
    pub received_on: chrono::NaiveDate,
    /// `done` or `refused`.
    pub outcome: String,
    /// Counts of what was exported or changed, or `reasons` of a refusal.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub handled_by: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<&PrivacyRequest> for RequestDto {
    fn from(r: &PrivacyRequest) -> Self {
        RequestDto {
            id: r.id,
            kind: r.kind.clone(),
            subject_kind: r.subject_kind.clone(),
            subject_masked: r.subject_masked.clone(),
            requested_by: r.requested_by.clone(),
            received_on: r.received_on,
            outcome: r.outcome.clone(),
            detail: r.detail.clone(),
            handled_by: r.handled_by.clone(),
            created_at: r.created_at,
        }
    }
}

#[utoipa::path(post, path = "/api/v1/privacy/exports", tag = "privacy", request_body = SubjectBody,
    responses((status = 200, content_type = "application/json",
        description = "everything held about the person within the caller's scope, decrypted: `donors` (with `gifts`, `visits`), `members` (with `dues`, `council_seats`), `relief_cases` (as applicant, with `consents`); `request_id` of the recorded request (audited as a personal-data access)"),
        (status = 401), (status = 403), (status = 422)),
    security(("bearer" = [])))]
pub async fn export(auth: Authorized<ManagePrivacy>, body: ApiJson<SubjectBody>) -> Result<Response, ApiError> {
    let b = body.value;
    let (subject, who) = parse_subject(b.id_card_no.as_deref(), b.phone.as_deref(), b.requested_by.as_deref())
        .map_err(ApiError::Validation)?;
    let export = auth.store.privacy_export(&subject, &who).await?;
    Ok(json_response(StatusCode::OK, &export))
}

#[utoipa::path(post, path = "/api/v1/privacy/anonymisations", tag = "privacy", request_body = SubjectBody,
    responses((status = 200, body = RequestDto, description = "names replaced, phones, ID numbers, bank accounts and health details erased; gifts, amounts, journal and ledger entries unchanged"),
        (status = 401), (status = 403), (status = 409, description = "refused as a whole: a record must be kept (an open relief case, unpaid dues); the reasons in `detail`; the refusal is recorded"),
        (status = 422)),
    security(("bearer" = [])))]
pub async fn anonymise(
    State(state): State<AppState>,
    auth: Authorized<ManagePrivacy>,
    body: ApiJson<SubjectBody>,
) -> Result<Response, ApiError> {
    let b = body.value;
    let (subject, who) = parse_subject(b.id_card_no.as_deref(), b.phone.as_deref(), b.requested_by.as_deref())
        .map_err(ApiError::Validation)?;
    let request = auth
        .store
        .privacy_anonymise(&subject, &who, state.relief_files.as_ref())
        .await?;
    Ok(json_response(StatusCode::OK, &RequestDto::from(&request)))
}

/// Paging of the request list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestsQuery {
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/privacy/requests", tag = "privacy", params(RequestsQuery),
    responses((status = 200, body = ListOf<RequestDto>), (status = 401), (status = 403)),
    security(("bearer" = [])))]
pub async fn requests(
    auth: Authorized<ManagePrivacy>,
    ApiQuery(q): ApiQuery<RequestsQuery>,
) -> Result<Response, ApiError> {
    let page = Paging {
        page: q.page,
        per_page: q.per_page,
    }
    .page();
    let (items, total) = auth.store.privacy_requests(page).await?;
    Ok(json_response(
        StatusCode::OK,
        &ListOf {
            items: items.iter().map(RequestDto::from).collect(),
            total,
        },
    ))
}
