//! CSRF protection for forms. Signed-in forms carry the session's CSRF token
//! in a hidden `csrf` field; the sign-in form (no session yet) uses a
//! double-submit cookie. Tokens are compared in constant time. A form that
//! fails the check changes nothing and is answered 403.

use crate::auth::{resolve, SESSION_COOKIE};
use crate::{ApiError, AppState, PageError};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

/// Constant-time string comparison.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(serde::Deserialize)]
struct CsrfField {
    csrf: Option<String>,
}

/// A urlencoded form from a signed-in user, its `csrf` field checked against
/// the session.
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let identity = resolve(&mut parts, state).await?;
        let Some(identity) = identity else {
            return Err(PageError::SignIn {
                next: "/dashboard".to_owned(),
            });
        };
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::BadRequest(e.body_text())
                }
            })?;
        let field: CsrfField = serde_urlencoded::from_bytes(&bytes).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let expected = identity.csrf_token();
        if expected.is_empty() || !field.csrf.as_deref().is_some_and(|sent| same(sent, expected)) {
            return Err(ApiError::Forbidden("表单已过期或来源不明 (CSRF 校验失败), 请刷新页面后重试").into());
        }
        let value = serde_urlencoded::from_bytes(&bytes).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        Ok(CsrfForm(value))
    }
}

/// The name of the sign-in form's double-submit cookie.
pub const LOGIN_CSRF_COOKIE: &str = "boai_login_csrf";

/// Whether a cookie name is one of ours that holds a secret.
pub fn is_secret_cookie(name: &str) -> bool {
    name == SESSION_COOKIE || name == LOGIN_CSRF_COOKIE
}
