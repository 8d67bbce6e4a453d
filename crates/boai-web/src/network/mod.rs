//! The grassroots network: the city dashboard (units by district and type,
//! 五有 compliance), unit lists with Excel export, the unit page (particulars,
//! 五有 checklist, moves between branches), unit imports from .xlsx or .csv
//! (UTF-8 or GBK) with a row-by-row report, and `/api/v1/network/…`.
//!
//! An import file is read whole and checked before anything is written:
//! at most [`IMPORT_MAX_BYTES`] and `boai_import::IMPORT_MAX_ROWS` rows, the first sheet
//! only, a header row naming known columns (all required ones present), no
//! formulas and no merged cells. Anything else is a clear error and changes
//! nothing.

pub mod api;
pub mod pages;

use boai_domain::network::IMPORT_COLUMNS;
use boai_domain::orgs::OrgKind;
use boai_store::network::UnitSummary;

// The readers live in `boai-import` (pure, fuzzed); members and bank
// statements use them through here or directly.
pub use boai_import::{read_import, read_table, rows_from_table, IMPORT_MAX_BYTES};

/// The body limit of the import routes (a multipart form adds a little).
pub const IMPORT_BODY_LIMIT: usize = IMPORT_MAX_BYTES + 64 * 1024;

/// The import template: the header row and one example row.
pub fn template_sheet() -> crate::components::export::Sheet {
    use crate::components::export::{Cell, Sheet};
    Sheet {
        name: "基层组织导入".to_owned(),
        columns: IMPORT_COLUMNS.iter().map(|(_, zh)| (*zh).to_owned()).collect(),
        rows: vec![[
            "示例社区红十字服务站",
            "JN-LX",
            "社区",
            "",
            "历下区示例路 1 号",
            "0531-86000000",
            "张三",
            "2020-05-08",
            "正常",
        ]
        .iter()
        .map(|s| Cell::Text((*s).to_owned()))
        .collect()],
    }
}

/// The names of the unit kinds, in list order.
pub fn unit_kinds() -> Vec<OrgKind> {
    OrgKind::ALL
        .into_iter()
        .filter(|k| k.level() == boai_domain::orgs::OrgLevel::Unit)
        .collect()
}

/// Item names of a unit's missing items.
pub fn missing_names(unit: &UnitSummary, items: &[boai_domain::network::WuyouItem]) -> String {
    unit.missing
        .iter()
        .filter_map(|code| items.iter().find(|i| &i.code == code).map(|i| i.name_zh.clone()))
        .collect::<Vec<_>>()
        .join("、")
}
