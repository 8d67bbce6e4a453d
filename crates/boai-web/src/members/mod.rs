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
pub fn routes() -> Vec<crate::routes::Route> {
    use crate::routes::{get, post, put, Access::Needs};
    use boai_domain::accounts::Permission as P;
    vec![
        get("/members", Needs(P::ViewMembers), pages::list),
        post("/members", Needs(P::ManageMembers), pages::create),
        get("/members/new", Needs(P::ManageMembers), pages::new_form),
        get("/members/dues", Needs(P::ViewMembers), pages::dues),
        post("/members/dues", Needs(P::ManageDues), pages::dues_save),
        get("/members/arrears", Needs(P::ViewMembers), pages::arrears),
        post("/members/reminders", Needs(P::ManageMembers), pages::send_reminders),
        post("/members/lapse", Needs(P::ManageMembers), pages::lapse),
        post("/members/import", Needs(P::ManageMembers), pages::import_submit).body_limit(IMPORT_BODY_LIMIT),
        get("/members/import", Needs(P::ManageMembers), pages::import_form),
        get(
            "/members/import/template.xlsx",
            Needs(P::ViewMembers),
            pages::import_template,
        ),
        get("/members/{id}", Needs(P::ViewMembers), pages::detail),
        post("/members/{id}/payments", Needs(P::ManageMembers), pages::pay),
        get("/councils", Needs(P::ViewOrgs), councils::index),
        get("/councils/{org}", Needs(P::ViewOrgs), councils::page),
        post("/councils/{org}/members", Needs(P::ManageOrgs), councils::add_member),
        post("/councils/{org}/meetings", Needs(P::ManageOrgs), councils::add_meeting)
            .body_limit(crate::transparency::UPLOAD_BODY_LIMIT),
        get("/councils/meetings/{id}/minutes", Needs(P::ViewOrgs), councils::minutes),
        get("/api/v1/members", Needs(P::ViewMembers), api::list),
        post("/api/v1/members", Needs(P::ManageMembers), api::create),
        get("/api/v1/members/arrears", Needs(P::ViewMembers), api::arrears),
        get("/api/v1/members/dues", Needs(P::ViewMembers), api::dues),
        put("/api/v1/members/dues-rates", Needs(P::ManageDues), api::set_rate),
        get("/api/v1/members/reminders", Needs(P::ViewMembers), api::reminders),
        post(
            "/api/v1/members/reminders",
            Needs(P::ManageMembers),
            api::send_reminders,
        ),
        post("/api/v1/members/lapse", Needs(P::ManageMembers), api::lapse),
        post("/api/v1/members/import", Needs(P::ManageMembers), api::import).body_limit(IMPORT_BODY_LIMIT),
        get("/api/v1/members/{id}", Needs(P::ViewMembers), api::get),
        post("/api/v1/members/{id}/payments", Needs(P::ManageMembers), api::pay),
        get("/api/v1/councils", Needs(P::ViewOrgs), councils::api_orgs),
        get("/api/v1/councils/{org}", Needs(P::ViewOrgs), councils::api_view),
        post(
            "/api/v1/councils/{org}/members",
            Needs(P::ManageOrgs),
            councils::api_add_member,
        ),
    ]
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
