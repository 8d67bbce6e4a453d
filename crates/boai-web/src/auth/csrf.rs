//! CSRF protection for forms. Signed-in forms carry the session's CSRF token
//! in a hidden `csrf` field; the sign-in form (no session yet) uses a
//! double-submit cookie. Tokens are compared in constant time. A form that
//! fails the check changes nothing and is answered 403. File uploads
//! (`multipart/form-data`) are checked the same way by [`CsrfMultipart`].

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

/// One file of a multipart form.
pub struct UploadedFile {
    /// The form field it came in.
    pub field: String,
    /// The name the browser gave it (untrusted; validate before use).
    pub file_name: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for UploadedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadedFile")
            .field("field", &self.field)
            .field("file_name", &self.file_name)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// A `multipart/form-data` form (file uploads) from a signed-in user, read
/// whole (the route's body limit bounds it), its `csrf` field checked against
/// the session before the handler sees anything. A file input left empty is
/// dropped.
#[derive(Debug, Default)]
pub struct CsrfMultipart {
    pub fields: std::collections::HashMap<String, String>,
    pub files: Vec<UploadedFile>,
}

impl CsrfMultipart {
    /// A text field's value ("" when absent).
    pub fn text(&self, name: &str) -> String {
        self.fields.get(name).cloned().unwrap_or_default()
    }

    /// The first file sent in `field`.
    pub fn file(&self, field: &str) -> Option<&UploadedFile> {
        self.files.iter().find(|f| f.field == field)
    }
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge
    } else {
        ApiError::BadRequest(e.body_text())
    }
}

impl FromRequest<AppState> for CsrfMultipart {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let Some(identity) = resolve(&mut parts, state).await? else {
            return Err(PageError::SignIn {
                next: "/dashboard".to_owned(),
            });
        };
        let mut multipart = axum::extract::Multipart::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        let mut form = CsrfMultipart::default();
        while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
            let name = field.name().unwrap_or_default().to_owned();
            match field.file_name().map(str::to_owned) {
                Some(file_name) => {
                    let bytes = field.bytes().await.map_err(multipart_error)?;
                    if !(file_name.is_empty() && bytes.is_empty()) {
                        form.files.push(UploadedFile {
                            field: name,
                            file_name,
                            bytes: bytes.to_vec(),
                        });
                    }
                }
                None => {
                    let text = field.text().await.map_err(multipart_error)?;
                    form.fields.entry(name).or_insert(text);
                }
            }
        }
        let expected = identity.csrf_token();
        let sent = form.fields.get("csrf").map(String::as_str);
        if expected.is_empty() || !sent.is_some_and(|sent| same(sent, expected)) {
            return Err(ApiError::Forbidden("表单已过期或来源不明 (CSRF 校验失败), 请刷新页面后重试").into());
        }
        Ok(form)
    }
}
