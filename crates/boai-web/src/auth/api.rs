//! `/api/v1/auth/…`: issue a token for a username and password, list and
//! revoke one's own tokens, and `/api/v1/me`.

use crate::api::{json_response, ApiJson, ApiPath};
use crate::auth::pages::RawParts;
use crate::auth::{client_ip, new_secret, secret_hash, Authorized, SignedIn};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use boai_domain::ids::ApiTokenId;
use boai_store::accounts::{ApiToken, LoginOutcome, TokenAccess};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Credentials for a new API token.
#[derive(Deserialize, ToSchema)]
pub struct TokenRequest {
    pub username: String,
    pub password: String,
    /// A label for the token list (default `api`).
    pub name: Option<String>,
    /// `read` (GET only) or `write` (default).
    pub access: Option<String>,
}

/// A new token: the secret is shown only here.
#[derive(Serialize, ToSchema)]
pub struct TokenIssued {
    pub token: String,
    pub id: Uuid,
    pub access: String,
    pub expires_at: DateTime<Utc>,
}

/// An API token, as listed.
#[derive(Serialize, ToSchema)]
pub struct TokenDto {
    pub id: Uuid,
    pub name: String,
    pub access: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiToken> for TokenDto {
    fn from(t: ApiToken) -> Self {
        TokenDto {
            id: t.id.0,
            name: t.name,
            access: t.access.as_str().to_owned(),
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
        }
    }
}

#[utoipa::path(post, path = "/api/v1/auth/token", tag = "auth", request_body = TokenRequest,
    responses((status = 200, body = TokenIssued), (status = 401), (status = 423), (status = 429)))]
pub async fn token(
    State(state): State<AppState>,
    RawParts(parts): RawParts,
    body: ApiJson<TokenRequest>,
) -> Result<Response, ApiError> {
    let ip = client_ip(&parts);
    state
        .login_limiter
        .check(ip.as_deref())
        .map_err(|secs| ApiError::TooManyRequests { retry_after_secs: secs })?;
    let req = body.value;
    let access = match req.access.as_deref() {
        None | Some("write") => TokenAccess::Write,
        Some("read") => TokenAccess::Read,
        Some(_) => {
            let mut errors = boai_domain::validation::FieldErrors::new();
            errors.add("access", "权限应为 read 或 write");
            return Err(errors.into());
        }
    };
    let mut errors = boai_domain::validation::FieldErrors::new();
    let name = boai_domain::validation::optional_text(&mut errors, "name", "名称", req.name.as_deref(), 100)
        .unwrap_or_else(|| "api".to_owned());
    if !errors.is_empty() {
        return Err(errors.into());
    }
    if req.username.chars().count() > 64 || req.password.chars().count() > 256 {
        return Err(ApiError::Unauthorized);
    }
    match state
        .store
        .sign_in(&req.username, &req.password, ip, state.config.lockout_policy())
        .await?
    {
        LoginOutcome::BadCredentials => Err(ApiError::Unauthorized),
        LoginOutcome::Locked { .. } => Err(ApiError::Locked),
        LoginOutcome::Success(actor) => {
            let secret = format!("boai_{}", new_secret());
            let issued = state
                .store
                .token_issue(
                    &actor,
                    &secret_hash(&secret),
                    &name,
                    access,
                    state.config.token_lifetime(),
                )
                .await?;
            Ok(json_response(
                StatusCode::OK,
                &TokenIssued {
                    token: secret,
                    id: issued.id.0,
                    access: access.as_str().to_owned(),
                    expires_at: issued.expires_at,
                },
            ))
        }
    }
}

#[utoipa::path(get, path = "/api/v1/auth/tokens", tag = "auth",
    responses((status = 200, body = Vec<TokenDto>), (status = 401)), security(("bearer" = [])))]
pub async fn tokens_list(auth: Authorized<SignedIn>) -> Result<Response, ApiError> {
    let tokens: Vec<TokenDto> = auth
        .store
        .tokens_list()
        .await?
        .into_iter()
        .map(TokenDto::from)
        .collect();
    let total = tokens.len() as u64;
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({ "items": tokens, "total": total }),
    ))
}

#[utoipa::path(delete, path = "/api/v1/auth/tokens/{id}", tag = "auth",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = TokenDto), (status = 401), (status = 404)), security(("bearer" = [])))]
pub async fn token_revoke(auth: Authorized<SignedIn>, ApiPath(id): ApiPath<String>) -> Result<Response, ApiError> {
    let id: ApiTokenId = id.parse().map_err(|_| ApiError::NotFound)?;
    let token = auth.store.token_revoke(id).await?;
    Ok(json_response(StatusCode::OK, &TokenDto::from(token)))
}

/// The caller.
#[derive(Serialize, ToSchema)]
pub struct Me {
    pub user_id: Option<Uuid>,
    pub username: String,
    pub role: String,
    pub org_id: Uuid,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses((status = 200, body = Me), (status = 401)), security(("bearer" = [])))]
pub async fn me(auth: Authorized<SignedIn>) -> Result<Response, ApiError> {
    let a = &auth.identity.actor;
    Ok(json_response(
        StatusCode::OK,
        &Me {
            user_id: a.user_id.map(|u| u.0),
            username: a.username.clone(),
            role: a.role.as_str().to_owned(),
            org_id: a.org_id.0,
        },
    ))
}

/// A password change: the current password and the new one.
#[derive(Deserialize, ToSchema)]
pub struct PasswordChange {
    pub current_password: Option<String>,
    pub new_password: Option<String>,
}

/// `POST /api/v1/me/password`: changes the caller's own password under the
/// password rules (8–128 characters, two of letters / digits / symbols, not
/// containing the username); every browser session of the account ends.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "auth", request_body = PasswordChange,
    responses((status = 204, description = "changed; sign in again in the browser"), (status = 401), (status = 403),
        (status = 422, description = "current password wrong or new password against the rules")),
    security(("bearer" = [])))]
pub async fn password_change(auth: Authorized<SignedIn>, body: ApiJson<PasswordChange>) -> Result<Response, ApiError> {
    let b = body.value;
    auth.store
        .password_change(
            b.current_password.as_deref().unwrap_or_default(),
            b.new_password.as_deref().unwrap_or_default(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
