//! Members (会员) and dues, and the councils: member list with filters and
//! export, member page (ID number masked, dues history, payment form), dues
//! settings, arrears with reminders to the outbox and lapsing, member import
//! (.xlsx / .csv UTF-8 or GBK, through the network import's reader), council
//! pages with meeting minutes (upload checked by first bytes as disclosures
//! are), and `/api/v1/members/…`, `/api/v1/councils/…`.
//!
//! Rules: roles are checked before the body is read (`Authorized` /
//! `PageUser`); everything is scoped by the store; full ID numbers never
//! leave the store (pages and JSON carry the masked form only).

pub mod api;
pub mod councils;
pub mod pages;

use crate::components::export::{Cell, Sheet};
use crate::network::{read_table, rows_from_table, IMPORT_BODY_LIMIT};
use crate::AppState;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use axum::Router;
use boai_domain::members::{parse_import_row, MemberType, IMPORT_COLUMNS, IMPORT_REQUIRED};
use boai_store::members::MemberImportRows;
use chrono::NaiveDate;

/// Reads a member import file into validated rows (see `network::read_table`).
pub fn read_member_import(bytes: &[u8], types: &[MemberType], today: NaiveDate) -> Result<MemberImportRows, String> {
    rows_from_table(read_table(bytes)?, &IMPORT_COLUMNS, &IMPORT_REQUIRED, |cells| {
        parse_import_row(cells, types, today)
    })
}

/// The member import template: the header row and two example rows.
pub fn template_sheet() -> Sheet {
    Sheet {
        name: "会员导入".to_owned(),
        columns: IMPORT_COLUMNS.iter().map(|(_, zh)| (*zh).to_owned()).collect(),
        rows: vec![
            [
                "张三",
                "JN-LX-001",
                "普通会员",
                "11010519491231002X",
                "",
                "13800138000",
                "2024-03-01",
            ]
            .iter()
            .map(|s| Cell::Text((*s).to_owned()))
            .collect(),
            [
                "示例公司",
                "JN-LX-004",
                "团体会员",
                "",
                "",
                "0531-86000000",
                "2024-03-01",
            ]
            .iter()
            .map(|s| Cell::Text((*s).to_owned()))
            .collect(),
        ],
    }
}

/// The routes of members and councils.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/members", get(pages::list).post(pages::create))
        .route("/members/new", get(pages::new_form))
        .route("/members/dues", get(pages::dues).post(pages::dues_save))
        .route("/members/arrears", get(pages::arrears))
        .route("/members/reminders", post(pages::send_reminders))
        .route("/members/lapse", post(pages::lapse))
        .route(
            "/members/import",
            post(pages::import_submit)
                .layer(DefaultBodyLimit::max(IMPORT_BODY_LIMIT))
                .get(pages::import_form),
        )
        .route("/members/import/template.xlsx", get(pages::import_template))
        .route("/members/{id}", get(pages::detail))
        .route("/members/{id}/payments", post(pages::pay))
        .route("/councils", get(councils::index))
        .route("/councils/{org}", get(councils::page))
        .route("/councils/{org}/members", post(councils::add_member))
        .route(
            "/councils/{org}/meetings",
            post(councils::add_meeting).layer(DefaultBodyLimit::max(crate::transparency::UPLOAD_BODY_LIMIT)),
        )
        .route("/councils/meetings/{id}/minutes", get(councils::minutes))
        .route("/api/v1/members", get(api::list).post(api::create))
        .route("/api/v1/members/arrears", get(api::arrears))
        .route("/api/v1/members/dues", get(api::dues))
        .route("/api/v1/members/dues-rates", put(api::set_rate))
        .route(
            "/api/v1/members/reminders",
            get(api::reminders).post(api::send_reminders),
        )
        .route("/api/v1/members/lapse", post(api::lapse))
        .route(
            "/api/v1/members/import",
            post(api::import).layer(DefaultBodyLimit::max(IMPORT_BODY_LIMIT)),
        )
        .route("/api/v1/members/{id}", get(api::get))
        .route("/api/v1/members/{id}/payments", post(api::pay))
        .route("/api/v1/councils", get(councils::api_orgs))
        .route("/api/v1/councils/{org}", get(councils::api_view))
        .route("/api/v1/councils/{org}/members", post(councils::api_add_member))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_import_reads_gbk_and_reports_rows() {
        let types: Vec<MemberType> = boai_domain::members::DEFAULT_TYPES
            .iter()
            .map(|(c, n, k)| MemberType {
                code: (*c).to_owned(),
                name_zh: (*n).to_owned(),
                kind: *k,
            })
            .collect();
        let (gbk, _, _) = encoding_rs::GBK.encode(
            "姓名或名称,所属基层组织代码,会员类型,身份证号码\n张三,JN-LX-001,普通会员,11010519491231002X\n李四,JN-LX-001,普通会员,110105194912310021\n",
        );
        let today = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap_or_default();
        let rows = read_member_import(&gbk, &types, today).unwrap_or_default();
        assert_eq!(rows.len(), 2);
        assert!(rows[0].2.is_ok());
        assert_eq!(rows[1].0, 3);
        assert!(rows[1]
            .2
            .as_ref()
            .is_err_and(|p| p.iter().any(|m| m.contains("校验位"))));
        assert!(read_member_import("名称,颜色\n".as_bytes(), &types, today).is_err());
    }
}
