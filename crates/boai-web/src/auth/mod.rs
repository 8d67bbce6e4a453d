//! Who is calling, decided before anything else about the request.
//!
//! - API callers present `Authorization: Bearer <token>`; pages use the
//!   `boai_session` cookie (HttpOnly, SameSite=Lax). A cookie-authenticated
//!   unsafe API request must also carry `X-CSRF-Token`.
//! - [`Authorized<P>`] is a request-parts extractor: put it before the body
//!   extractor and the caller is answered 401 (no or bad credentials) or 403
//!   (role lacks `P`, read-only token used to write) before the body is read.
//! - The resolved identity is cached in the request's extensions, so later
//!   extractors (CSRF forms) do not hit the database again.
//! - Secrets (cookies, tokens) are random 32 bytes; only their SHA-256 is
//!   stored.

pub mod api;
pub mod csrf;
pub mod pages;

use crate::{ApiError, AppState, PageError};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, Method};
use base64::Engine;
use boai_domain::accounts::Permission;
use boai_store::accounts::TokenAccess;
use boai_store::{Actor, ScopedStore};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::marker::PhantomData;
use std::net::SocketAddr;

pub const SESSION_COOKIE: &str = "boai_session";

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum Via {
    Session { csrf_token: String, display_name: String },
    Token { access: TokenAccess },
}

/// A signed-in caller.
#[derive(Debug, Clone)]
pub struct Identity {
    pub actor: Actor,
    pub via: Via,
}

impl Identity {
    pub fn csrf_token(&self) -> &str {
        match &self.via {
            Via::Session { csrf_token, .. } => csrf_token,
            Via::Token { .. } => "",
        }
    }

    pub fn display_name(&self) -> &str {
        match &self.via {
            Via::Session { display_name, .. } => display_name,
            Via::Token { .. } => &self.actor.username,
        }
    }
}

/// A fresh random secret, URL-safe base64.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a secret.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The client's address, when the server knows it: the TCP peer, or behind
/// a trusted proxy the address it forwards ([`crate::client_addr`]).
pub fn client_ip(parts: &Parts) -> Option<String> {
    if let Some(crate::client_addr::ClientIp(ip)) = parts.extensions.get() {
        return Some(ip.to_string());
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
}

/// Whether the request carries a cookie named `name`.
pub fn cookie_present(headers: &axum::http::HeaderMap, name: &str) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .any(|(k, _)| k == name)
}

/// The value of a cookie in the request.
pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

#[derive(Clone)]
struct Resolved(Option<Identity>);

/// Resolves (once per request) who is calling. `Err` only when the database
/// fails; bad credentials resolve to `None`.
pub async fn resolve(parts: &mut Parts, state: &AppState) -> Result<Option<Identity>, ApiError> {
    if let Some(Resolved(found)) = parts.extensions.get::<Resolved>() {
        return Ok(found.clone());
    }
    let ip = client_ip(parts);
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .map(str::to_owned);
    let found = if let Some(token) = bearer {
        state
            .store
            .token_resolve(&secret_hash(&token), ip)
            .await?
            .map(|(actor, access)| Identity {
                actor,
                via: Via::Token { access },
            })
    } else if let Some(secret) = cookie(parts, SESSION_COOKIE) {
        state
            .store
            .session_resolve(&secret_hash(&secret), ip, state.config.session_policy())
            .await?
            .map(|s| Identity {
                actor: s.actor,
                via: Via::Session {
                    csrf_token: s.csrf_token,
                    display_name: s.display_name,
                },
            })
    } else {
        None
    };
    parts.extensions.insert(Resolved(found.clone()));
    Ok(found)
}

/// A caller who may or may not be signed in.
pub struct MaybeCaller(pub Option<Identity>);

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(MaybeCaller(resolve(parts, state).await?))
    }
}

/// A permission a route needs.
pub trait Need: Send + Sync + 'static {
    const PERMISSION: Permission;
}

macro_rules! need {
    ($($name:ident),*) => {$(
        #[doc = concat!("Requires `Permission::", stringify!($name), "`.")]
        pub struct $name;
        impl Need for $name {
            const PERMISSION: Permission = Permission::$name;
        }
    )*};
}
need!(
    ViewOrgs,
    ManageOrgs,
    ViewUsers,
    ManageUsers,
    ManageSettings,
    ViewAudit,
    RecordGifts,
    ManageFunds,
    ManageProjects,
    ViewFunds,
    ViewGifts,
    ViewRelief,
    HandleRelief,
    ViewMembers,
    ManageMembers,
    ManageDues,
    ManagePrivacy
);

/// Any signed-in caller (no particular permission).
pub struct SignedIn;
impl Need for SignedIn {
    const PERMISSION: Permission = Permission::ViewOrgs;
}

/// An API caller allowed `N`, checked before the body is read.
pub struct Authorized<N: Need> {
    pub identity: Identity,
    pub store: ScopedStore,
    _need: PhantomData<N>,
}

impl<N: Need> FromRequestParts<AppState> for Authorized<N> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let identity = resolve(parts, state).await?.ok_or(ApiError::Unauthorized)?;
        let unsafe_method = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        match &identity.via {
            Via::Token {
                access: TokenAccess::Read,
            } if unsafe_method => {
                return Err(ApiError::Forbidden("只读令牌不能修改数据"));
            }
            Via::Session { csrf_token, .. } if unsafe_method => {
                let sent = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
                if !sent.is_some_and(|sent| csrf::same(sent, csrf_token)) {
                    return Err(ApiError::Forbidden("缺少或错误的 CSRF 令牌"));
                }
            }
            _ => {}
        }
        if !identity.actor.role.can(N::PERMISSION) {
            return Err(ApiError::Forbidden("您的角色无权执行此操作"));
        }
        let store = state.store.scoped(identity.actor.clone());
        Ok(Authorized {
            identity,
            store,
            _need: PhantomData,
        })
    }
}

/// A page visitor allowed `N`: not signed in → the sign-in page; lacking the
/// permission → 403 page.
pub struct PageUser<N: Need> {
    pub identity: Identity,
    pub store: ScopedStore,
    _need: PhantomData<N>,
}

impl<N: Need> FromRequestParts<AppState> for PageUser<N> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(identity) = resolve(parts, state).await? else {
            let next = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default();
            return Err(PageError::SignIn { next });
        };
        if !identity.actor.role.can(N::PERMISSION) {
            return Err(ApiError::Forbidden("您的角色无权访问此页面").into());
        }
        let store = state.store.scoped(identity.actor.clone());
        Ok(PageUser {
            identity,
            store,
            _need: PhantomData,
        })
    }
}
