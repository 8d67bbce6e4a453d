//! `/api/v1/transparency/disclosures` (public list; publishing with an
//! optional base64 attachment) and `/api/v1/transparency/deadlines` (staff,
//! scoped).

use crate::api::{idempotency_claim, idempotency_prior, json_response, ApiJson, ApiQuery, ListOf};
use crate::auth::{Authorized, ManageProjects, ViewFunds};
use crate::transparency::file_url;
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine;
use boai_domain::ids::ProjectId;
use boai_domain::transparency::{DisclosureForCreate, DisclosureInput, DisclosureKind, FileInput};
use boai_domain::validation::FieldErrors;
use boai_store::idempotency::StoredResponse;
use boai_store::transparency::{Disclosure, DisclosureFilter, ProjectDeadline};
use boai_store::Page;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// An attachment of a disclosure.
#[derive(Debug, Serialize, ToSchema)]
pub struct DisclosureFileDto {
    pub name: String,
    pub mime: String,
    /// Bytes.
    pub size: i64,
    /// Where to download it (public).
    pub url: String,
}

/// A published disclosure.
#[derive(Debug, Serialize, ToSchema)]
pub struct DisclosureDto {
    pub id: Uuid,
    /// `project_announcement`, `progress_report`, `work_report`, `finance_report` or `audit_report`.
    pub kind: String,
    /// The kind in Chinese.
    pub kind_label: String,
    pub title: String,
    pub body: Option<String>,
    pub published_on: NaiveDate,
    pub project_id: Option<Uuid>,
    pub project_name: Option<String>,
    /// The publishing organisation (the project's, or the society's).
    pub org_id: Uuid,
    pub org_name: String,
    pub file: Option<DisclosureFileDto>,
    pub created_at: DateTime<Utc>,
}

impl From<&Disclosure> for DisclosureDto {
    fn from(d: &Disclosure) -> Self {
        DisclosureDto {
            id: d.id.0,
            kind: d.kind.as_str().to_owned(),
            kind_label: d.kind.label_zh().to_owned(),
            title: d.title.clone(),
            body: d.body.clone(),
            published_on: d.published_on,
            project_id: d.project_id.map(|p| p.0),
            project_name: d.project_name.clone(),
            org_id: d.org_id.0,
            org_name: d.org_name.clone(),
            file: d.file.as_ref().map(|f| DisclosureFileDto {
                name: f.name.clone(),
                mime: f.mime.clone(),
                size: f.size,
                url: file_url(d.id),
            }),
            created_at: d.created_at,
        }
    }
}

/// Disclosure filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DisclosureQuery {
    /// One of the kinds (unknown kinds are ignored).
    pub kind: Option<String>,
    pub project_id: Option<Uuid>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

impl DisclosureQuery {
    pub fn filter(&self) -> DisclosureFilter {
        DisclosureFilter {
            kind: self.kind.as_deref().and_then(DisclosureKind::parse),
            project_id: self.project_id.map(ProjectId),
        }
    }
}

/// An attachment sent in JSON.
#[derive(Debug, Deserialize, ToSchema)]
pub struct FileBody {
    /// The file name; its extension decides the type (.pdf, .xlsx, .docx, .png, .jpg, .gif, .webp).
    pub name: Option<String>,
    /// The file's bytes, standard base64; at most 10 MB decoded.
    pub content_base64: Option<String>,
}

/// A new disclosure.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DisclosureBody {
    /// `project_announcement`, `progress_report` (both need `project_id`), `work_report`, `finance_report` or `audit_report`.
    pub kind: Option<String>,
    pub title: Option<String>,
    /// Text; required unless a file is attached.
    pub body: Option<String>,
    /// `YYYY-MM-DD`, not later than today (default today, China time).
    pub published_on: Option<String>,
    /// A project owned within the caller's scope; optional for yearly and audit reports.
    pub project_id: Option<String>,
    /// `{"name", "content_base64"}`.
    #[schema(value_type = Option<FileBody>)]
    pub file: Option<serde_json::Value>,
}

/// Turns the body into a disclosure, a malformed file object or bad base64
/// into field errors.
pub fn disclosure_input(body: DisclosureBody, today: NaiveDate) -> Result<DisclosureForCreate, FieldErrors> {
    let mut errors = FieldErrors::new();
    let file = match body.file {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => match serde_json::from_value::<FileBody>(v) {
            Ok(f) => {
                let bytes = f
                    .content_base64
                    .as_deref()
                    .map(|s| base64::engine::general_purpose::STANDARD.decode(s.trim()));
                match bytes {
                    Some(Ok(bytes)) => Some(FileInput {
                        name: f.name.unwrap_or_default(),
                        bytes,
                    }),
                    Some(Err(_)) => {
                        errors.add("file", "附件内容须为 base64 编码");
                        None
                    }
                    None => {
                        errors.add("file", "请提供附件内容 (content_base64)");
                        None
                    }
                }
            }
            Err(_) => {
                errors.add("file", "附件格式有误, 应为 {\"name\", \"content_base64\"}");
                None
            }
        },
    };
    let had_file_error = !errors.is_empty();
    let parsed = DisclosureForCreate::parse(
        &DisclosureInput {
            kind: body.kind,
            title: body.title,
            body: body.body,
            published_on: body.published_on,
            project_id: body.project_id,
            file,
        },
        today,
    );
    match parsed {
        Ok(d) if errors.is_empty() => Ok(d),
        Ok(_) => Err(errors),
        Err(more) => {
            // A refused file already explains why there is none.
            errors
                .0
                .extend(more.0.into_iter().filter(|e| !(had_file_error && e.field == "body")));
            Err(errors)
        }
    }
}

#[utoipa::path(get, path = "/api/v1/transparency/disclosures", tag = "transparency", params(DisclosureQuery),
    responses((status = 200, body = ListOf<DisclosureDto>)))]
pub async fn list(State(state): State<AppState>, ApiQuery(q): ApiQuery<DisclosureQuery>) -> Result<Response, ApiError> {
    let (items, total) = state
        .store
        .public_disclosures(&q.filter(), Page::new(q.page, q.per_page))
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &ListOf {
            items: items.iter().map(DisclosureDto::from).collect(),
            total,
        },
    ))
}

#[utoipa::path(post, path = "/api/v1/transparency/disclosures", tag = "transparency", request_body = DisclosureBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "repeat-safe key")),
    responses((status = 201, body = DisclosureDto), (status = 401), (status = 403), (status = 409), (status = 413), (status = 422)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    auth: Authorized<ManageProjects>,
    headers: HeaderMap,
    body: ApiJson<DisclosureBody>,
) -> Result<Response, ApiError> {
    let claim = idempotency_claim(&headers, "POST", "/api/v1/transparency/disclosures", &body.raw)?;
    if let Some(replayed) = idempotency_prior(&auth.store, claim.as_ref()).await? {
        return Ok(replayed);
    }
    let input = disclosure_input(body.value, state.store.china_today())?;
    let render = |d: &Disclosure| StoredResponse {
        status: 201,
        body: serde_json::to_string(&DisclosureDto::from(d)).unwrap_or_default(),
    };
    let disclosure = auth
        .store
        .disclosure_create(
            input,
            claim
                .as_ref()
                .map(|c| (c, &render as &(dyn Fn(&Disclosure) -> StoredResponse + Sync))),
        )
        .await?;
    Ok(json_response(StatusCode::CREATED, &DisclosureDto::from(&disclosure)))
}

/// One project's disclosure deadline.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadlineDto {
    pub project_id: Uuid,
    pub project_code: String,
    pub project_name: String,
    pub org_id: Uuid,
    /// `open` or `closed`.
    pub status: String,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    /// The publication date of its latest disclosure.
    pub last_disclosed_on: Option<NaiveDate>,
    /// `ongoing` (open: every few months), `after_end` (closed: the final one) or `done`.
    pub basis: String,
    /// The last day the next disclosure may be published (null when nothing is due).
    pub due_on: Option<NaiveDate>,
    pub overdue: bool,
    pub overdue_days: i64,
    pub days_left: i64,
}

impl From<&ProjectDeadline> for DeadlineDto {
    fn from(d: &ProjectDeadline) -> Self {
        DeadlineDto {
            project_id: d.project_id.0,
            project_code: d.project_code.clone(),
            project_name: d.project_name.clone(),
            org_id: d.org_id.0,
            status: d.status.as_str().to_owned(),
            starts_on: d.starts_on,
            ends_on: d.ends_on,
            last_disclosed_on: d.last_disclosed_on,
            basis: serde_json::to_value(d.deadline.basis)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            due_on: d.deadline.due_on,
            overdue: d.deadline.overdue(),
            overdue_days: d.deadline.overdue_days,
            days_left: d.deadline.days_left,
        }
    }
}

/// Deadline list paging.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeadlineQuery {
    /// Only the overdue ones.
    pub overdue: Option<bool>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/transparency/deadlines", tag = "transparency", params(DeadlineQuery),
    responses((status = 200, body = ListOf<DeadlineDto>), (status = 401), (status = 403)), security(("bearer" = [])))]
pub async fn deadlines(
    State(state): State<AppState>,
    auth: Authorized<ViewFunds>,
    ApiQuery(q): ApiQuery<DeadlineQuery>,
) -> Result<Response, ApiError> {
    let all = auth
        .store
        .disclosure_deadlines(&state.config.disclosure_rules, state.store.china_today())
        .await?;
    let all: Vec<&ProjectDeadline> = all
        .iter()
        .filter(|d| q.overdue.is_none_or(|only| d.deadline.overdue() == only))
        .collect();
    let page = Page::new(q.page, q.per_page);
    let items = all
        .iter()
        .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
        .take(usize::try_from(page.per_page).unwrap_or(usize::MAX))
        .map(|d| DeadlineDto::from(*d))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &ListOf {
            items,
            total: all.len() as u64,
        },
    ))
}
