//! The OpenAPI 3.1 document of every JSON endpoint, generated from the
//! handlers' annotations (a test checks every `/api/v1` route is in it).
//!
//! Error answers are documented once, here ([`ProblemResponses`]): every
//! response of status 400 or more is an RFC 9457 [`Problem`] in
//! `application/problem+json` (unless the handler documented its own
//! content), and each operation lists the errors it can give whatever its
//! handler says: 400 (a malformed query, path or body), 401 and 403 (when it
//! needs a token), 404 (when its path or body names a record), 409, 413 and
//! 422 (when it takes a body), 423 and 429 (sign-in), 429 (public look-ups).
//! `scripts/schemathesis.sh` checks the running server against this document.

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::content::Content;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{Modify, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    info(title = "Boai 博爱 API", description = "红十字会综合服务平台 JSON API. Money is integer fen; ids are UUID strings; errors are RFC 9457 problem+json."),
    paths(
        crate::auth::api::token,
        crate::auth::api::tokens_list,
        crate::auth::api::token_revoke,
        crate::auth::api::me,
        crate::auth::api::password_change,
        crate::orgs::api::list,
        crate::orgs::api::get,
        crate::orgs::api::create,
        crate::users::list,
        crate::users::create,
        crate::users::set_role,
        crate::users::set_password,
        crate::audit::list,
        crate::funds::api::projects_list,
        crate::funds::api::project_get,
        crate::funds::api::project_create,
        crate::funds::api::trial_balance,
        crate::funds::api::balances,
        crate::funds::api::allocate,
        crate::funds::api::disburse,
        crate::funds::api::goods_out,
        crate::funds::api::transfer,
        crate::funds::api::management_cost,
        crate::funds::api::reverse,
        crate::fundraising::api::list,
        crate::fundraising::api::create,
        crate::fundraising::api::get,
        crate::fundraising::api::certificate,
        crate::fundraising::api::refund,
        crate::fundraising::api::donors,
        crate::fundraising::api::merge,
        crate::ledger::checkpoint,
        crate::ledger::key,
        crate::ledger::tile,
        crate::ledger::proof,
        crate::ledger::totals,
        crate::transparency::portal::trace,
        crate::transparency::api::list,
        crate::transparency::api::create,
        crate::transparency::api::deadlines,
        crate::network::api::units,
        crate::network::api::unit,
        crate::network::api::update,
        crate::network::api::move_unit,
        crate::network::api::assess,
        crate::network::api::compliance,
        crate::network::api::checklist,
        crate::network::api::checklist_item_save,
        crate::network::api::import,
        crate::fundraising::payments::api::create,
        crate::fundraising::payments::api::get,
        crate::fundraising::payments::api::list,
        crate::fundraising::payments::api::rejections,
        crate::fundraising::payments::api::refund,
        crate::fundraising::payments::notify::notify,
        crate::fundraising::reconciliation::api_import,
        crate::fundraising::reconciliation::api_lines,
        crate::fundraising::reconciliation::api_accept,
        crate::fundraising::reconciliation::api_gift,
        crate::fundraising::reconciliation::api_layouts,
        crate::fundraising::reconciliation::api_layout_save,
        crate::fundraising::major_donors::api_totals,
        crate::fundraising::major_donors::api_donor,
        crate::fundraising::major_donors::api_visit,
        crate::fundraising::major_donors::api_reminders,
        crate::fundraising::major_donors::api_levels,
        crate::fundraising::major_donors::api_levels_set,
        crate::fundraising::major_donors::api_statement,
        crate::fundraising::dashboard::api,
        crate::relief::api::programmes,
        crate::relief::api::programme_update,
        crate::relief::api::cases,
        crate::relief::api::create,
        crate::relief::api::case,
        crate::relief::api::review,
        crate::relief::api::resubmit,
        crate::relief::api::pay,
        crate::relief::api::stats,
        crate::relief::api::status,
        crate::relief::api::aided,
        crate::members::api::list,
        crate::members::api::create,
        crate::members::api::get,
        crate::members::api::pay,
        crate::members::api::arrears,
        crate::members::api::dues,
        crate::members::api::set_rate,
        crate::members::api::reminders,
        crate::members::api::send_reminders,
        crate::members::api::lapse,
        crate::members::api::import,
        crate::privacy::api::export,
        crate::privacy::api::anonymise,
        crate::privacy::api::requests,
        crate::members::councils::api_orgs,
        crate::members::councils::api_view,
        crate::members::councils::api_add_member,
    ),
    components(schemas(Problem, ProblemFieldError)),
    modifiers(&BearerAuth, &ProblemResponses),
    tags((name = "auth"), (name = "orgs"), (name = "users"), (name = "audit"), (name = "fundraising"), (name = "funds"), (name = "ledger"), (name = "transparency"), (name = "network"), (name = "giving"), (name = "relief"), (name = "members"), (name = "councils"), (name = "privacy"))
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// An error answer (RFC 9457 `application/problem+json`).
#[derive(serde::Serialize, ToSchema)]
pub struct Problem {
    /// A stable URI naming the kind of problem.
    #[serde(rename = "type")]
    #[schema(example = "https://boai.example/problems/validation")]
    pub type_: String,
    /// A short Chinese title.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Per-field errors, where input was bad.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ProblemFieldError>>,
}

/// One broken rule on one input field.
#[derive(serde::Serialize, ToSchema)]
pub struct ProblemFieldError {
    pub field: String,
    pub message: String,
}

const PROBLEM_JSON: &str = "application/problem+json";

/// Documents the error answers of every operation (see the module header).
struct ProblemResponses;

impl ProblemResponses {
    fn status_text(status: u16) -> &'static str {
        match status {
            400 => "请求格式有误",
            401 => "需要登录或有效的访问令牌",
            403 => "无权执行此操作",
            404 => "记录不存在",
            409 => "与现有记录冲突",
            413 => "请求体过大",
            422 => "输入有误",
            423 => "账户已被暂时锁定",
            429 => "请求过于频繁 (Retry-After)",
            _ => "错误",
        }
    }

    fn operation(path: &str, op: &mut Operation) {
        let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
        let mut wanted: Vec<u16> = vec![400];
        if secured {
            wanted.extend([401, 403]);
        } else {
            wanted.push(429);
        }
        // A record named in the path, or by id in the body, may be outside the scope.
        if path.contains('{') || op.request_body.is_some() {
            wanted.push(404);
        }
        if op.request_body.is_some() {
            wanted.extend([409, 413, 422]);
        }
        if path == "/api/v1/auth/token" {
            wanted.extend([401, 422, 423, 429]);
        }
        let problem = || Content::new(Some(RefOr::Ref(Ref::from_schema_name("Problem"))));
        for status in wanted {
            let key = status.to_string();
            op.responses.responses.entry(key).or_insert_with(|| {
                RefOr::T(
                    ResponseBuilder::new()
                        .description(Self::status_text(status))
                        .content(PROBLEM_JSON, problem())
                        .build(),
                )
            });
        }
        for (status, response) in op.responses.responses.iter_mut() {
            let is_error = status.parse::<u16>().is_ok_and(|s| s >= 400);
            if let (true, RefOr::T(response)) = (is_error, response) {
                if response.content.is_empty() {
                    response.content.insert(PROBLEM_JSON.to_owned(), problem());
                }
                if response.description.is_empty() {
                    response.description = Self::status_text(status.parse().unwrap_or(0)).to_owned();
                }
            }
        }
    }
}

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
                &mut item.head,
                &mut item.options,
                &mut item.trace,
            ]
            .into_iter()
            .flatten()
            {
                Self::operation(path, op);
            }
        }
    }
}

pub async fn openapi_json() -> impl IntoResponse {
    let body = ApiDoc::openapi().to_json().unwrap_or_else(|_| "{}".to_owned());
    ([(header::CONTENT_TYPE, "application/json")], body)
}
