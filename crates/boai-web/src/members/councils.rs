//! Councils (理事会、执委会、监事会) of the city and the branches: pages with
//! members, terms and meetings, minutes upload (checked by first bytes) and
//! download, and `/api/v1/councils/…`.

use crate::api::{json_response, ApiJson, ApiPath, ListOf};
use crate::auth::csrf::{CsrfForm, CsrfMultipart};
use crate::auth::{Authorized, ManageOrgs, PageUser, ViewOrgs};
use crate::pages::{lang_of, render, Layout};
use crate::{ApiError, PageError};
use askama::Template;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use boai_domain::accounts::Permission;
use boai_domain::ids::OrgId;
use boai_domain::members::{
    CouncilBody, CouncilMemberForCreate, CouncilMemberInput, MeetingForCreate, MeetingId, MeetingInput,
};
use boai_domain::orgs::Org;
use boai_domain::transparency::{parse_file, FileInput};
use boai_domain::validation::FieldErrors;
use boai_store::members::{CouncilMember, CouncilView, Meeting};
use boai_store::transparency::DisclosureFile;
use boai_store::StoreError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// One body's members and meetings, for the page.
pub struct BodySection {
    pub body: CouncilBody,
    pub members: Vec<CouncilMember>,
    pub meetings: Vec<Meeting>,
}

#[derive(Template)]
#[template(path = "councils_index.html")]
struct IndexPage {
    layout: Layout,
    orgs: Vec<Org>,
}

pub async fn index(headers: HeaderMap, user: PageUser<ViewOrgs>) -> Result<Response, PageError> {
    let lang = lang_of(&headers);
    Ok(render(&IndexPage {
        layout: Layout::new(lang, "理事会、执委会与监事会", "/councils", Some(&user.identity)),
        orgs: user.store.council_orgs().await?,
    }))
}

/// The member form's fields, kept to show again.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    person_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    term_no: String,
    #[serde(default)]
    term_start: String,
    #[serde(default)]
    term_end: String,
}

#[derive(Template)]
#[template(path = "council_detail.html")]
struct CouncilPage {
    layout: Layout,
    org: Org,
    sections: Vec<BodySection>,
    bodies: Vec<(&'static str, &'static str, String)>,
    can_manage: bool,
    form: MemberForm,
    errors: FieldErrors,
    meeting_errors: FieldErrors,
}

fn sections(view: &CouncilView) -> Vec<BodySection> {
    CouncilBody::ALL
        .into_iter()
        .map(|body| BodySection {
            body,
            members: view.members.iter().filter(|m| m.body == body).cloned().collect(),
            meetings: view.meetings.iter().filter(|m| m.body == body).cloned().collect(),
        })
        .collect()
}

async fn council_page(
    user: &PageUser<impl crate::auth::Need>,
    headers: &HeaderMap,
    org: OrgId,
    form: MemberForm,
    errors: FieldErrors,
    meeting_errors: FieldErrors,
) -> Result<Response, PageError> {
    let lang = lang_of(headers);
    let view = user.store.council_view(org).await?;
    let failed = !errors.is_empty() || !meeting_errors.is_empty();
    let mut response = render(&CouncilPage {
        layout: Layout::new(lang, view.org.name.clone(), "/councils", Some(&user.identity)),
        sections: sections(&view),
        bodies: CouncilBody::ALL
            .into_iter()
            .map(|b| (b.as_str(), b.label_zh(), b.roles().join("、")))
            .collect(),
        can_manage: user.identity.actor.role.can(Permission::ManageOrgs),
        org: view.org,
        form,
        errors,
        meeting_errors,
    });
    if failed {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

pub async fn page(
    headers: HeaderMap,
    user: PageUser<ViewOrgs>,
    Path(org): Path<String>,
) -> Result<Response, PageError> {
    let org: OrgId = org.parse().map_err(|_| ApiError::NotFound)?;
    council_page(
        &user,
        &headers,
        org,
        MemberForm::default(),
        FieldErrors::new(),
        FieldErrors::new(),
    )
    .await
}

pub async fn add_member(
    headers: HeaderMap,
    user: PageUser<ManageOrgs>,
    Path(org): Path<String>,
    CsrfForm(form): CsrfForm<MemberForm>,
) -> Result<Response, PageError> {
    let org: OrgId = org.parse().map_err(|_| ApiError::NotFound)?;
    let input = CouncilMemberInput {
        body: Some(form.body.clone()),
        person_name: Some(form.person_name.clone()),
        role: Some(form.role.clone()),
        term_no: Some(form.term_no.clone()),
        term_start: Some(form.term_start.clone()),
        term_end: Some(form.term_end.clone()),
    };
    let result = match CouncilMemberForCreate::parse(&input) {
        Ok(m) => user.store.council_member_add(org, m).await.map(|_| ()),
        Err(e) => Err(StoreError::Invalid(e)),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/councils/{org}")).into_response()),
        Err(StoreError::Invalid(errors)) => council_page(&user, &headers, org, form, errors, FieldErrors::new()).await,
        Err(e) => Err(e.into()),
    }
}

pub async fn add_meeting(
    headers: HeaderMap,
    user: PageUser<ManageOrgs>,
    Path(org): Path<String>,
    upload: CsrfMultipart,
) -> Result<Response, PageError> {
    let org: OrgId = org.parse().map_err(|_| ApiError::NotFound)?;
    let input = MeetingInput {
        body: Some(upload.text("body")),
        held_on: Some(upload.text("held_on")),
        title: Some(upload.text("title")),
    };
    let mut errors = match MeetingForCreate::parse(&input, user.store.today()) {
        Ok(_) => FieldErrors::new(),
        Err(e) => e,
    };
    let minutes = upload.file("file").and_then(|f| {
        parse_file(
            &mut errors,
            &FileInput {
                name: f.file_name.clone(),
                bytes: f.bytes.clone(),
            },
        )
    });
    let result = match MeetingForCreate::parse(&input, user.store.today()) {
        Ok(m) if errors.is_empty() => user.store.meeting_add(org, m, minutes).await.map(|_| ()),
        _ => Err(StoreError::Invalid(errors)),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/councils/{org}")).into_response()),
        Err(StoreError::Invalid(errors)) => {
            council_page(&user, &headers, org, MemberForm::default(), FieldErrors::new(), errors).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn minutes(user: PageUser<ViewOrgs>, Path(id): Path<String>) -> Result<Response, PageError> {
    let id: MeetingId = id.parse().map_err(|_| ApiError::NotFound)?;
    let file = user.store.meeting_minutes(id).await?;
    let mut response = crate::transparency::file_response(DisclosureFile {
        name: file.name,
        mime: file.mime,
        bytes: file.bytes,
    })?;
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

/// An organisation that has councils.
#[derive(Debug, Serialize, ToSchema)]
pub struct CouncilOrgDto {
    pub id: Uuid,
    pub name: String,
    /// `city` or `district`.
    pub level: String,
}

#[utoipa::path(get, path = "/api/v1/councils", tag = "councils",
    responses((status = 200, body = ListOf<CouncilOrgDto>), (status = 401)),
    security(("bearer" = [])))]
pub async fn api_orgs(auth: Authorized<ViewOrgs>) -> Result<Response, ApiError> {
    let orgs = auth.store.council_orgs().await?;
    let items: Vec<CouncilOrgDto> = orgs
        .into_iter()
        .map(|o| CouncilOrgDto {
            id: o.id.0,
            name: o.name,
            level: o.level.as_str().to_owned(),
        })
        .collect();
    let total = items.len() as u64;
    Ok(json_response(StatusCode::OK, &ListOf { items, total }))
}

/// A council member.
#[derive(Debug, Serialize, ToSchema)]
pub struct CouncilMemberDto {
    pub id: Uuid,
    /// `council` (理事会), `executive` (执委会) or `supervisory` (监事会).
    pub body: String,
    pub person_name: String,
    pub role: String,
    pub term_no: i32,
    pub term_start: chrono::NaiveDate,
    pub term_end: chrono::NaiveDate,
}

impl From<&CouncilMember> for CouncilMemberDto {
    fn from(m: &CouncilMember) -> Self {
        CouncilMemberDto {
            id: m.id.0,
            body: m.body.as_str().to_owned(),
            person_name: m.person_name.clone(),
            role: m.role.clone(),
            term_no: m.term_no,
            term_start: m.term_start,
            term_end: m.term_end,
        }
    }
}

/// A meeting; `minutes_url` when minutes are on file.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeetingDto {
    pub id: Uuid,
    pub body: String,
    pub held_on: chrono::NaiveDate,
    pub title: String,
    pub minutes_url: Option<String>,
}

/// The councils of one organisation.
#[derive(Debug, Serialize, ToSchema)]
pub struct CouncilDto {
    pub org_id: Uuid,
    pub org_name: String,
    pub members: Vec<CouncilMemberDto>,
    pub meetings: Vec<MeetingDto>,
}

#[utoipa::path(get, path = "/api/v1/councils/{org}", tag = "councils",
    params(("org" = Uuid, Path, description = "the city or a branch")),
    responses((status = 200, body = CouncilDto), (status = 401), (status = 404)),
    security(("bearer" = [])))]
pub async fn api_view(auth: Authorized<ViewOrgs>, ApiPath(org): ApiPath<String>) -> Result<Response, ApiError> {
    let org: OrgId = org.parse().map_err(|_| ApiError::NotFound)?;
    let view = auth.store.council_view(org).await?;
    Ok(json_response(
        StatusCode::OK,
        &CouncilDto {
            org_id: view.org.id.0,
            org_name: view.org.name.clone(),
            members: view.members.iter().map(CouncilMemberDto::from).collect(),
            meetings: view
                .meetings
                .iter()
                .map(|m| MeetingDto {
                    id: m.id.0,
                    body: m.body.as_str().to_owned(),
                    held_on: m.held_on,
                    title: m.title.clone(),
                    minutes_url: m
                        .minutes_name
                        .as_ref()
                        .map(|_| format!("/councils/meetings/{}/minutes", m.id.0)),
                })
                .collect(),
        },
    ))
}

/// A new council member.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CouncilMemberBody {
    /// `council`, `executive` or `supervisory` (or 理事会 / 执委会 / 监事会).
    pub body: Option<String>,
    pub person_name: Option<String>,
    /// e.g. 会长, 副会长, 理事, 监事长.
    pub role: Option<String>,
    pub term_no: Option<i32>,
    /// `YYYY-MM-DD`.
    pub term_start: Option<String>,
    pub term_end: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/councils/{org}/members", tag = "councils", request_body = CouncilMemberBody,
    params(("org" = Uuid, Path, description = "the city or a branch")),
    responses((status = 201, body = CouncilMemberDto), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn api_add_member(
    auth: Authorized<ManageOrgs>,
    ApiPath(org): ApiPath<String>,
    body: ApiJson<CouncilMemberBody>,
) -> Result<Response, ApiError> {
    let org: OrgId = org.parse().map_err(|_| ApiError::NotFound)?;
    let b = body.value;
    let input = CouncilMemberForCreate::parse(&CouncilMemberInput {
        body: b.body,
        person_name: b.person_name,
        role: b.role,
        term_no: b.term_no.map(|n| n.to_string()),
        term_start: b.term_start,
        term_end: b.term_end,
    })?;
    let member = auth.store.council_member_add(org, input).await?;
    Ok(json_response(StatusCode::CREATED, &CouncilMemberDto::from(&member)))
}
