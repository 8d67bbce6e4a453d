//! The sign-in page, sign-out, and the page where users manage their API
//! tokens. Signing in starts a new session (a fresh cookie, so a planted one
//! is worthless); the sign-in form is protected by a double-submit cookie.

use crate::auth::csrf::{same, CsrfForm, LOGIN_CSRF_COOKIE};
use crate::auth::{client_ip, cookie, new_secret, secret_hash, PageUser, SignedIn, SESSION_COOKIE};
use crate::i18n::{t, Lang};
use crate::pages::{lang_of, render, safe_next, Layout};
use crate::query::PageQuery;
use crate::{ApiError, AppState, PageError};
use askama::Template;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use boai_domain::ids::ApiTokenId;
use boai_store::accounts::{ApiToken, LoginOutcome, TokenAccess};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    csrf: String,
    next: String,
    username: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// The request parts a handler needs for rate limits and cookies.
pub struct RawParts(pub Parts);

impl<S: Send + Sync> FromRequestParts<S> for RawParts {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RawParts(parts.clone()))
    }
}

fn cookie_header(state: &AppState, name: &str, value: &str, max_age: Option<i64>) -> Option<HeaderValue> {
    let secure = if state.config.secure_cookies { "; Secure" } else { "" };
    let age = max_age.map(|s| format!("; Max-Age={s}")).unwrap_or_default();
    HeaderValue::from_str(&format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax{secure}{age}")).ok()
}

fn login_page(
    state: &AppState,
    lang: Lang,
    next: &str,
    username: &str,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let csrf = new_secret();
    let mut response = render(&LoginPage {
        layout: Layout::new(lang, t(lang, "auth.login"), "/login", None),
        csrf: csrf.clone(),
        next: next.to_owned(),
        username: username.to_owned(),
        error,
    });
    *response.status_mut() = status;
    if let Some(c) = cookie_header(state, LOGIN_CSRF_COOKIE, &csrf, Some(3600)) {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

pub async fn login_form(
    State(state): State<AppState>,
    RawParts(parts): RawParts,
    PageQuery(q): PageQuery<LoginQuery>,
) -> Result<Response, PageError> {
    state
        .login_limiter
        .check(client_ip(&parts).as_deref())
        .map_err(|secs| ApiError::TooManyRequests { retry_after_secs: secs })?;
    let lang = Lang::from_parts(&parts);
    Ok(login_page(
        &state,
        lang,
        &safe_next(q.next.as_deref()),
        "",
        None,
        StatusCode::OK,
    ))
}

#[derive(Deserialize)]
pub struct LoginForm {
    csrf: Option<String>,
    next: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

pub async fn login_submit(
    State(state): State<AppState>,
    RawParts(parts): RawParts,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let ip = client_ip(&parts);
    state
        .login_limiter
        .check(ip.as_deref())
        .map_err(|secs| ApiError::TooManyRequests { retry_after_secs: secs })?;
    let lang = Lang::from_parts(&parts);
    let next = safe_next(form.next.as_deref());
    let username = form.username.unwrap_or_default();
    let expected = cookie(&parts, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if expected.is_empty() || !form.csrf.as_deref().is_some_and(|sent| same(sent, &expected)) {
        return Ok(login_page(
            &state,
            lang,
            &next,
            &username,
            Some(t(lang, "auth.expired").to_owned()),
            StatusCode::FORBIDDEN,
        ));
    }
    let password = form.password.unwrap_or_default();
    if username.chars().count() > 64 || password.chars().count() > 256 {
        return Ok(login_page(
            &state,
            lang,
            &next,
            "",
            Some(t(lang, "auth.bad_credentials").to_owned()),
            StatusCode::OK,
        ));
    }
    match state
        .store
        .sign_in(&username, &password, ip, state.config.lockout_policy())
        .await?
    {
        LoginOutcome::BadCredentials => Ok(login_page(
            &state,
            lang,
            &next,
            &username,
            Some(t(lang, "auth.bad_credentials").to_owned()),
            StatusCode::OK,
        )),
        LoginOutcome::Locked { .. } => Ok(login_page(
            &state,
            lang,
            &next,
            &username,
            Some(t(lang, "auth.locked").to_owned()),
            StatusCode::LOCKED,
        )),
        LoginOutcome::Success(actor) => {
            if let Some(old) = cookie(&parts, SESSION_COOKIE) {
                state.store.session_end(&secret_hash(&old)).await?;
            }
            let secret = new_secret();
            let user_id = actor
                .user_id
                .ok_or(ApiError::Internal("sign-in without a user".to_owned()))?;
            state
                .store
                .session_start(&secret_hash(&secret), user_id, &new_secret())
                .await?;
            let mut response = Redirect::to(&next).into_response();
            if let Some(c) = cookie_header(&state, SESSION_COOKIE, &secret, None) {
                response.headers_mut().append(header::SET_COOKIE, c);
            }
            if let Some(c) = cookie_header(&state, LOGIN_CSRF_COOKIE, "", Some(0)) {
                response.headers_mut().append(header::SET_COOKIE, c);
            }
            Ok(response)
        }
    }
}

#[derive(Deserialize)]
pub struct Empty {}

pub async fn logout(
    State(state): State<AppState>,
    RawParts(parts): RawParts,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    if let Some(secret) = cookie(&parts, SESSION_COOKIE) {
        state.store.session_end(&secret_hash(&secret)).await?;
    }
    let mut response = Redirect::to("/").into_response();
    if let Some(c) = cookie_header(&state, SESSION_COOKIE, "", Some(0)) {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(response)
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    layout: Layout,
    tokens: Vec<TokenRow>,
    new_secret: Option<String>,
    error: Option<String>,
}

struct TokenRow {
    id: String,
    name: String,
    access: &'static str,
    created: String,
    expires: String,
    status: &'static str,
    revocable: bool,
}

fn token_rows(tokens: Vec<ApiToken>, now: chrono::DateTime<chrono::Utc>) -> Vec<TokenRow> {
    tokens
        .into_iter()
        .map(|tk| {
            let status = if tk.revoked_at.is_some() {
                "已撤销"
            } else if tk.expires_at <= now {
                "已过期"
            } else {
                "有效"
            };
            TokenRow {
                id: tk.id.to_string(),
                name: tk.name,
                access: if tk.access == TokenAccess::Read {
                    "只读"
                } else {
                    "读写"
                },
                created: crate::pages::china_time(tk.created_at),
                expires: crate::pages::china_time(tk.expires_at),
                revocable: status == "有效",
                status,
            }
        })
        .collect()
}

async fn tokens_page(
    state: &AppState,
    headers: &HeaderMap,
    user: &PageUser<SignedIn>,
    new_secret: Option<String>,
    error: Option<String>,
) -> Result<Response, PageError> {
    let lang = lang_of(headers);
    let tokens = user.store.tokens_list().await?;
    Ok(render(&TokensPage {
        layout: Layout::new(lang, t(lang, "tokens.title"), "/account/tokens", Some(&user.identity)),
        tokens: token_rows(tokens, state.store.clock().now()),
        new_secret,
        error,
    }))
}

pub async fn tokens(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: PageUser<SignedIn>,
) -> Result<Response, PageError> {
    tokens_page(&state, &headers, &user, None, None).await
}

#[derive(Deserialize)]
pub struct TokenForm {
    name: Option<String>,
    access: Option<String>,
}

pub async fn token_create(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: PageUser<SignedIn>,
    CsrfForm(form): CsrfForm<TokenForm>,
) -> Result<Response, PageError> {
    let mut errors = boai_domain::validation::FieldErrors::new();
    let name = boai_domain::validation::required_text(&mut errors, "name", "名称", form.name.as_deref(), 100);
    let Some(name) = name else {
        return tokens_page(
            &state,
            &headers,
            &user,
            None,
            errors.for_field("name").map(str::to_owned),
        )
        .await;
    };
    let access = if form.access.as_deref() == Some("write") {
        TokenAccess::Write
    } else {
        TokenAccess::Read
    };
    let secret = format!("boai_{}", new_secret());
    state
        .store
        .token_issue(
            &user.identity.actor,
            &secret_hash(&secret),
            &name,
            access,
            state.config.token_lifetime(),
        )
        .await?;
    tokens_page(&state, &headers, &user, Some(secret), None).await
}

pub async fn token_revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: PageUser<SignedIn>,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    let id: ApiTokenId = id.parse().map_err(|_| ApiError::NotFound)?;
    user.store.token_revoke(id).await?;
    tokens_page(&state, &headers, &user, None, None).await
}
