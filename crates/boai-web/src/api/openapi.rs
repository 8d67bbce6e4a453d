//! The OpenAPI 3.1 document of every JSON endpoint, generated from the
//! handlers' annotations (a test checks every `/api/v1` route is in it).

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Boai 博爱 API", description = "红十字会综合服务平台 JSON API. Money is integer fen; ids are UUID strings; errors are RFC 9457 problem+json."),
    paths(
        crate::auth::api::token,
        crate::auth::api::tokens_list,
        crate::auth::api::token_revoke,
        crate::auth::api::me,
        crate::orgs::api::list,
        crate::orgs::api::get,
        crate::orgs::api::create,
        crate::users::list,
        crate::users::create,
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
    modifiers(&BearerAuth),
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

pub async fn openapi_json() -> impl IntoResponse {
    let body = ApiDoc::openapi().to_json().unwrap_or_else(|_| "{}".to_owned());
    ([(header::CONTENT_TYPE, "application/json")], body)
}
