//! API conventions in one place (CONTRACT.md): the JSON body extractor that
//! answers problem+json for malformed or oversize bodies, the list envelope
//! `{"items", "total"}` with clamped paging, idempotency keys for writes that
//! create records, and the OpenAPI document generated from the handlers.
//! Query strings and path segments of API handlers are read with [`ApiQuery`]
//! and [`ApiPath`], so a malformed one is a 400 problem+json like a malformed
//! body (axum's own extractors answer text/plain).

pub mod openapi;

use crate::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use boai_store::idempotency::{IdempotencyClaim, Prior, StoredResponse};
use boai_store::{Page, ScopedStore};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A JSON request body, with its raw bytes kept for idempotency hashing.
pub struct ApiJson<T> {
    pub value: T,
    pub raw: Bytes,
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json") || v.contains("+json"));
        let raw = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest(e.body_text())
            }
        })?;
        if !is_json {
            return Err(ApiError::BadRequest(
                "请求体须为 JSON (Content-Type: application/json)".to_owned(),
            ));
        }
        let value = serde_json::from_slice(&raw).map_err(|e| ApiError::BadRequest(format!("JSON 格式有误: {e}")))?;
        Ok(ApiJson { value, raw })
    }
}

/// A raw request body (file imports) whose failures are problem+json too:
/// 413 over the route's limit, 400 when it cannot be read.
pub struct ApiBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(req, state).await.map(ApiBytes).map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest(e.body_text())
            }
        })
    }
}

/// Query-string parameters of an API handler; malformed → 400 problem+json.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let _ = state;
        crate::query::read_as_sent(parts)
            .map(ApiQuery)
            .map_err(|why| ApiError::BadRequest(format!("查询参数有误: {why}")))
    }
}

/// Path segments of an API handler; malformed (e.g. not a UUID) → 400 problem+json.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e| ApiError::BadRequest(e.body_text()))
    }
}

/// The list envelope.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListOf<T: ToSchema> {
    pub items: Vec<T>,
    pub total: u64,
}

/// Paging parameters of every list endpoint.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// 1-based page number.
    #[serde(default, deserialize_with = "crate::query::opt_u64")]
    pub page: Option<u64>,
    /// Items per page, at most 100 (larger values are clamped).
    #[serde(default, deserialize_with = "crate::query::opt_u64")]
    pub per_page: Option<u64>,
}

impl Paging {
    pub fn page(&self) -> Page {
        Page::new(self.page, self.per_page)
    }
}

/// The `Idempotency-Key` of a request, hashed with what it asks.
pub fn idempotency_claim(
    headers: &HeaderMap,
    method: &str,
    path: &str,
    body: &[u8],
) -> Result<Option<IdempotencyClaim>, ApiError> {
    let Some(key) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = key
        .to_str()
        .map_err(|_| ApiError::BadRequest("Idempotency-Key 须为可见 ASCII 字符".to_owned()))?;
    if key.is_empty() || key.len() > 200 {
        return Err(ApiError::BadRequest("Idempotency-Key 长度须为 1–200".to_owned()));
    }
    Ok(Some(IdempotencyClaim::new(key, method, path, body)))
}

/// What to do with a request that carries a claim.
pub async fn idempotency_prior(
    store: &ScopedStore,
    claim: Option<&IdempotencyClaim>,
) -> Result<Option<Response>, ApiError> {
    let Some(claim) = claim else { return Ok(None) };
    match store.idempotency_prior(claim).await? {
        Prior::None => Ok(None),
        Prior::Replay(stored) => Ok(Some(replay(stored))),
        Prior::Mismatch => Err(ApiError::IdempotencyMismatch),
    }
}

/// For a write that looks its key up only when it fails (the gift path:
/// most requests are first requests, and the key's insert in the write's
/// own transaction catches a repeat): a failure under a key that an earlier
/// request already used is that request's stored answer (or, for a
/// different body, the mismatch), not the failure.
pub async fn idempotency_after_failure(
    store: &ScopedStore,
    claim: Option<&IdempotencyClaim>,
    failure: ApiError,
) -> Result<Response, ApiError> {
    match idempotency_prior(store, claim).await? {
        Some(replayed) => Ok(replayed),
        None => Err(failure),
    }
}

/// The stored first answer, sent again.
pub fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = (status, stored.body).into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    response
        .headers_mut()
        .insert("idempotent-replayed", axum::http::HeaderValue::from_static("true"));
    response
}

/// A JSON answer with a status.
pub fn json_response<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_string(value) {
        Ok(body) => {
            let mut response = (status, body).into_response();
            response.headers_mut().insert(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            );
            response
        }
        Err(e) => ApiError::Internal(e.to_string()).into_response(),
    }
}
