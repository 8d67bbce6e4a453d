//! `/api/v1/orgs`: list, get, create.

use crate::api::{idempotency_claim, idempotency_prior, json_response, ApiJson, ApiPath, ApiQuery, ListOf, Paging};
use crate::auth::{Authorized, ManageOrgs, ViewOrgs};
use crate::ApiError;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use boai_domain::ids::OrgId;
use boai_domain::orgs::{Org, OrgForCreate, OrgInput, OrgLevel};
use boai_store::idempotency::StoredResponse;
use boai_store::orgs::OrgFilter;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// An organisation.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgDto {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    /// `city`, `district` or `unit`.
    pub level: String,
    pub kind: String,
    pub parent_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Org> for OrgDto {
    fn from(o: &Org) -> Self {
        OrgDto {
            id: o.id.0,
            code: o.code.clone(),
            name: o.name.clone(),
            level: o.level.as_str().to_owned(),
            kind: o.kind.as_str().to_owned(),
            parent_id: o.parent_id.map(|p| p.0),
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

/// A new organisation.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OrgCreateBody {
    pub name: Option<String>,
    /// Generated from the parent's code when absent.
    pub code: Option<String>,
    pub parent_id: Option<String>,
    /// `district` or `unit`.
    pub level: Option<String>,
    /// `district`, `county`, `community`, `village`, `school`, `university`,
    /// `enterprise`, `hospital`, `government` or `social_organisation`.
    pub kind: Option<String>,
}

/// Filters of the organisation list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrgQuery {
    /// Matches name or code.
    pub q: Option<String>,
    /// `city`, `district` or `unit`.
    pub level: Option<String>,
    pub parent_id: Option<Uuid>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/orgs", tag = "orgs", params(OrgQuery),
    responses((status = 200, body = ListOf<OrgDto>), (status = 401), (status = 403)),
    security(("bearer" = [])))]
pub async fn list(auth: Authorized<ViewOrgs>, ApiQuery(q): ApiQuery<OrgQuery>) -> Result<Response, ApiError> {
    let filter = OrgFilter {
        q: q.q.clone(),
        level: q.level.as_deref().and_then(OrgLevel::parse),
        parent_id: q.parent_id.map(OrgId),
    };
    let paging = Paging {
        page: q.page,
        per_page: q.per_page,
    };
    let (items, total) = auth.store.orgs_list(&filter, paging.page()).await?;
    Ok(json_response(
        StatusCode::OK,
        &ListOf {
            items: items.iter().map(OrgDto::from).collect(),
            total,
        },
    ))
}

#[utoipa::path(get, path = "/api/v1/orgs/{id}", tag = "orgs",
    params(("id" = Uuid, Path, description = "organisation id")),
    responses((status = 200, body = OrgDto), (status = 401), (status = 404)),
    security(("bearer" = [])))]
pub async fn get(auth: Authorized<ViewOrgs>, ApiPath(id): ApiPath<String>) -> Result<Response, ApiError> {
    let id: OrgId = id.parse().map_err(|_| ApiError::NotFound)?;
    let org = auth.store.org_get(id).await?;
    Ok(json_response(StatusCode::OK, &OrgDto::from(&org)))
}

#[utoipa::path(post, path = "/api/v1/orgs", tag = "orgs", request_body = OrgCreateBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "repeat-safe key")),
    responses((status = 201, body = OrgDto), (status = 401), (status = 403), (status = 422)),
    security(("bearer" = [])))]
pub async fn create(
    auth: Authorized<ManageOrgs>,
    headers: HeaderMap,
    body: ApiJson<OrgCreateBody>,
) -> Result<Response, ApiError> {
    let claim = idempotency_claim(&headers, "POST", "/api/v1/orgs", &body.raw)?;
    if let Some(replayed) = idempotency_prior(&auth.store, claim.as_ref()).await? {
        return Ok(replayed);
    }
    let b = body.value;
    let input = OrgForCreate::parse(&OrgInput {
        name: b.name,
        code: b.code,
        parent_id: b.parent_id,
        level: b.level,
        kind: b.kind,
    })?;
    let render = |org: &Org| StoredResponse {
        status: 201,
        body: serde_json::to_string(&OrgDto::from(org)).unwrap_or_default(),
    };
    let org = auth
        .store
        .org_create(
            input,
            claim
                .as_ref()
                .map(|c| (c, &render as &(dyn Fn(&Org) -> StoredResponse + Sync))),
        )
        .await?;
    Ok(json_response(StatusCode::CREATED, &OrgDto::from(&org)))
}
