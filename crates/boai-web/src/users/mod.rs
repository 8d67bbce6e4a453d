//! User accounts: `/api/v1/users` and the users page. Only admins create
//! accounts and change their roles (audited); supervisors may list them;
//! everyone sees only their subtree.

use crate::api::{idempotency_claim, idempotency_prior, json_response, ApiJson, ApiQuery, ListOf};
use crate::auth::{Authorized, ManageUsers, PageUser, ViewUsers};
use crate::components::export::{Cell, Sheet};
use crate::components::list::{export_href, fetch_all, xlsx_download, CellView, ListQuery, ListView, Pager};
use crate::i18n::t;
use crate::pages::{china_time, lang_of, render, Layout};
use crate::query::PageQuery;
use crate::{ApiError, PageError};
use askama::Template;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use boai_domain::accounts::{Role, User, UserForCreate, UserInput};
use boai_store::accounts::UserFilter;
use boai_store::idempotency::StoredResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// A user account.
#[derive(Serialize, ToSchema)]
pub struct UserDto {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub org_id: Uuid,
    pub active: bool,
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<&User> for UserDto {
    fn from(u: &User) -> Self {
        UserDto {
            id: u.id.0,
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            role: u.role.as_str().to_owned(),
            org_id: u.org_id.0,
            active: u.active,
            locked_until: u.locked_until,
            created_at: u.created_at,
        }
    }
}

/// A new account.
#[derive(Deserialize, ToSchema)]
pub struct UserCreateBody {
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub role: Option<String>,
    pub org_id: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    pub q: Option<String>,
    pub role: Option<String>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(UserQuery),
    responses((status = 200, body = ListOf<UserDto>), (status = 401), (status = 403)), security(("bearer" = [])))]
pub async fn list(auth: Authorized<ViewUsers>, ApiQuery(q): ApiQuery<UserQuery>) -> Result<Response, ApiError> {
    let filter = UserFilter {
        q: q.q,
        role: q.role.as_deref().and_then(Role::parse),
    };
    let (items, total) = auth
        .store
        .users_list(&filter, boai_store::Page::new(q.page, q.per_page))
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &ListOf {
            items: items.iter().map(UserDto::from).collect(),
            total,
        },
    ))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = UserCreateBody,
    responses((status = 201, body = UserDto), (status = 401), (status = 403), (status = 422)), security(("bearer" = [])))]
pub async fn create(
    auth: Authorized<ManageUsers>,
    headers: HeaderMap,
    body: ApiJson<UserCreateBody>,
) -> Result<Response, ApiError> {
    let claim = idempotency_claim(&headers, "POST", "/api/v1/users", &body.raw)?;
    if let Some(replayed) = idempotency_prior(&auth.store, claim.as_ref()).await? {
        return Ok(replayed);
    }
    let b = body.value;
    let input = UserForCreate::parse(&UserInput {
        username: b.username,
        display_name: b.display_name,
        role: b.role,
        org_id: b.org_id,
        password: b.password,
    })?;
    let render = |u: &User| StoredResponse {
        status: 201,
        body: serde_json::to_string(&UserDto::from(u)).unwrap_or_default(),
    };
    let user = auth
        .store
        .user_create(
            input,
            claim
                .as_ref()
                .map(|c| (c, &render as &(dyn Fn(&User) -> StoredResponse + Sync))),
        )
        .await?;
    Ok(json_response(StatusCode::CREATED, &UserDto::from(&user)))
}

/// A new role for an account.
#[derive(Deserialize, ToSchema)]
pub struct RoleChange {
    pub role: Option<String>,
}

/// `PUT /api/v1/users/{id}/role`: gives an account in scope another role
/// (administrators; audited with before and after; 404 outside the scope).
#[utoipa::path(put, path = "/api/v1/users/{id}/role", tag = "users", params(("id" = Uuid, Path)),
    request_body = RoleChange,
    responses((status = 200, body = UserDto), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn set_role(
    auth: Authorized<ManageUsers>,
    Path(id): Path<String>,
    body: ApiJson<RoleChange>,
) -> Result<Response, ApiError> {
    let id: boai_domain::ids::UserId = id.parse().map_err(|_| ApiError::NotFound)?;
    let Some(role) = body.value.role.as_deref().map(str::trim).and_then(Role::parse) else {
        let mut errors = boai_domain::validation::FieldErrors::new();
        errors.add("role", "请选择有效的角色");
        return Err(errors.into());
    };
    let user = auth.store.user_set_role(id, role).await?;
    Ok(json_response(StatusCode::OK, &UserDto::from(&user)))
}

/// A new password for an account (a reset by an administrator).
#[derive(Deserialize, ToSchema)]
pub struct PasswordSet {
    pub password: Option<String>,
}

/// `POST /api/v1/users/{id}/password`: sets a new password for an account in
/// scope (administrators) under the password rules; the account's sessions
/// end and its API tokens are revoked at once; its lock is cleared.
#[utoipa::path(post, path = "/api/v1/users/{id}/password", tag = "users", params(("id" = Uuid, Path)),
    request_body = PasswordSet,
    responses((status = 200, body = UserDto), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn set_password(
    auth: Authorized<ManageUsers>,
    Path(id): Path<String>,
    body: ApiJson<PasswordSet>,
) -> Result<Response, ApiError> {
    let id: boai_domain::ids::UserId = id.parse().map_err(|_| ApiError::NotFound)?;
    let password = body.value.password.unwrap_or_default();
    let user = auth.store.user_set_password(id, &password).await?;
    Ok(json_response(StatusCode::OK, &UserDto::from(&user)))
}

#[derive(Template)]
#[template(path = "users_list.html")]
struct UsersPage {
    layout: Layout,
    q: String,
    list: ListView,
}

pub async fn page(
    headers: HeaderMap,
    user: PageUser<ViewUsers>,
    PageQuery(q): PageQuery<ListQuery>,
) -> Result<Response, PageError> {
    let lang = lang_of(&headers);
    let page = q.page();
    let filter = UserFilter {
        q: q.q.clone(),
        role: None,
    };
    let params = [("q", q.q().to_owned())];
    let columns: Vec<String> = ["auth.username", "users.display_name", "users.role", "audit.at"]
        .iter()
        .map(|k| t(lang, k).to_owned())
        .collect();
    if q.wants_xlsx() {
        let all = fetch_all(|p| user.store.users_list(&filter, p), 100_000).await?;
        let rows = all
            .iter()
            .map(|u| {
                vec![
                    Cell::Text(u.username.clone()),
                    Cell::Text(u.display_name.clone()),
                    Cell::Text(u.role.label_zh().to_owned()),
                    Cell::DateTime(u.created_at),
                ]
            })
            .collect();
        return Ok(xlsx_download(
            "用户",
            &Sheet {
                name: t(lang, "users.title").to_owned(),
                columns,
                rows,
            },
        )?);
    }
    let (items, total) = user.store.users_list(&filter, page).await?;
    let rows = items
        .iter()
        .map(|u| {
            vec![
                CellView::text(&u.username),
                CellView::text(&u.display_name),
                CellView::text(u.role.label_zh()),
                CellView::text(china_time(u.created_at)),
            ]
        })
        .collect();
    Ok(render(&UsersPage {
        layout: Layout::new(lang, t(lang, "users.title"), "/users", Some(&user.identity)),
        q: q.q().to_owned(),
        list: ListView {
            columns,
            rows,
            pager: Pager::new("/users", &params, page, total),
            export_href: export_href("/users", &params),
        },
    }))
}
