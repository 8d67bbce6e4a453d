//! Errors answered to clients. API errors are RFC 9457
//! `application/problem+json` with a stable `type`, a Chinese `title`, and
//! per-field `errors` where input was bad; page errors are an HTML page (or a
//! redirect to sign-in). The full cause chain is logged, never sent.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use boai_domain::validation::FieldErrors;
use boai_store::StoreError;
use serde_json::json;

/// An error answered by the JSON API.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("unauthenticated")]
    Unauthorized,
    #[error("forbidden")]
    Forbidden(&'static str),
    #[error("not found")]
    NotFound,
    #[error("validation failed: {0}")]
    Validation(FieldErrors),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("idempotency key reused with a different request")]
    IdempotencyMismatch,
    #[error("account locked")]
    Locked,
    #[error("rate limited")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("service unavailable")]
    Unavailable(#[source] Option<StoreError>),
    /// The disk (or the database) is full: writes are refused, reads work.
    #[error("insufficient storage")]
    InsufficientStorage(#[source] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", "需要登录或有效的访问令牌"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "无权执行此操作"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not-found", "记录不存在"),
            ApiError::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation", "输入有误"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad-request", "请求格式有误"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict", "与现有记录冲突"),
            ApiError::IdempotencyMismatch => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "幂等键已用于另一个请求",
            ),
            ApiError::Locked => (StatusCode::LOCKED, "account-locked", "账户因多次登录失败已被暂时锁定"),
            ApiError::TooManyRequests { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "请求过于频繁, 请稍后再试",
            ),
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large", "请求体过大"),
            ApiError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "服务暂不可用, 请稍后再试",
            ),
            ApiError::InsufficientStorage(_) => (
                StatusCode::INSUFFICIENT_STORAGE,
                "insufficient-storage",
                "存储空间不足, 暂时无法保存",
            ),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "服务器内部错误"),
        }
    }

    /// Seconds a client should wait before trying again, where that helps.
    fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::TooManyRequests { retry_after_secs } => Some((*retry_after_secs).max(1)),
            ApiError::Unavailable(_) => Some(UNAVAILABLE_RETRY_AFTER_SECS),
            ApiError::InsufficientStorage(_) => Some(FULL_RETRY_AFTER_SECS),
            _ => None,
        }
    }

    fn detail(&self) -> Option<String> {
        match self {
            ApiError::Forbidden(why) => Some((*why).to_owned()),
            ApiError::BadRequest(why) | ApiError::Conflict(why) => Some(why.clone()),
            _ => None,
        }
    }
}

/// Retry-After of a 503: the database is away (a dropped connection, a
/// lock held too long); the pools reconnect by themselves.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;
/// Retry-After of a 507: someone has to free space first.
pub const FULL_RETRY_AFTER_SECS: u64 = 60;

/// The stable `type` URI of a problem.
pub fn problem_type(slug: &str) -> String {
    format!("https://boai.example/problems/{slug}")
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Forbidden => ApiError::Forbidden("您的角色无权执行此操作"),
            StoreError::Invalid(errors) => ApiError::Validation(errors),
            StoreError::Conflict(why) => ApiError::Conflict(why),
            err @ StoreError::Unavailable(_) if err.is_storage_full() => ApiError::InsufficientStorage(err),
            err @ StoreError::Unavailable(_) => ApiError::Unavailable(Some(err)),
            StoreError::Corrupt(why) => ApiError::Internal(why),
        }
    }
}

impl From<FieldErrors> for ApiError {
    fn from(errors: FieldErrors) -> Self {
        ApiError::Validation(errors)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, slug, title) = self.parts();
        if status.is_server_error() {
            tracing::error!(error = ?anyhow::Error::new(self_chain(&self)), "request failed");
        }
        let mut body = json!({
            "type": problem_type(slug),
            "title": title,
            "status": status.as_u16(),
        });
        if let Some(detail) = self.detail() {
            body["detail"] = json!(detail);
        }
        if let ApiError::Validation(errors) = &self {
            body["errors"] = json!(errors);
        }
        let mut response = (status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.retry_after() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// A printable copy of an error and its causes, for logging.
fn self_chain(err: &(dyn std::error::Error + 'static)) -> ErrorChain {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    ErrorChain(parts.join(": "))
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ErrorChain(String);

/// An error answered on a page.
#[derive(Debug)]
pub enum PageError {
    /// Not signed in: go to the sign-in page, then come back.
    SignIn {
        next: String,
    },
    Api(ApiError),
}

impl From<StoreError> for PageError {
    fn from(err: StoreError) -> Self {
        PageError::Api(err.into())
    }
}

impl From<ApiError> for PageError {
    fn from(err: ApiError) -> Self {
        PageError::Api(err)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn { next } => {
                Redirect::to(&format!("/login?next={}", crate::components::list::urlencode(&next))).into_response()
            }
            PageError::Api(err) => {
                let (status, _, title) = err.parts();
                if status.is_server_error() {
                    tracing::error!(error = ?anyhow::Error::new(self_chain(&err)), "page failed");
                }
                let retry = err.retry_after();
                let detail = err.detail().unwrap_or_else(|| title.to_owned());
                // Rendered plainly here; `pages::html_errors` renders it again
                // with the visitor's language and header.
                let page = crate::pages::error_page(crate::i18n::Lang::Zh, status, Some(&detail), "/", None, None);
                let mut response = (status, page).into_response();
                response
                    .extensions_mut()
                    .insert(crate::pages::ErrorShown { detail: Some(detail) });
                if let Some(secs) = retry {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
                }
                response
            }
        }
    }
}
