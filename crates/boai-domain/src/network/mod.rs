//! The grassroots network (基层组织网络): each unit's particulars and status,
//! the 五有 assessment and its score, and the rows of a unit import.
//!
//! Rules:
//! - A unit is `active`, `suspended` or `dissolved`. Active and suspended may
//!   turn into each other; dissolution is final (a dissolved unit is neither
//!   reactivated nor moved to another branch).
//! - The 五有 checklist is data (the city's items). A unit's score is the
//!   number of items it meets; an item never assessed counts as not met. It
//!   passes when the score reaches the city's pass mark, by default every
//!   item ([`PassMark::All`]); a city may lower it to "at least n".
//! - Compliance counts active units only: suspended and dissolved units are
//!   neither passing nor failing.

use crate::orgs::{OrgKind, OrgLevel};
use crate::validation::identity::CreditCode;
use crate::validation::{optional_text, FieldErrors};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Whether a unit is working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitStatus {
    Active,
    Suspended,
    Dissolved,
}

impl UnitStatus {
    pub const ALL: [UnitStatus; 3] = [UnitStatus::Active, UnitStatus::Suspended, UnitStatus::Dissolved];

    pub fn as_str(self) -> &'static str {
        match self {
            UnitStatus::Active => "active",
            UnitStatus::Suspended => "suspended",
            UnitStatus::Dissolved => "dissolved",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL.into_iter().find(|k| k.as_str() == s || k.label_zh() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            UnitStatus::Active => "正常",
            UnitStatus::Suspended => "暂停",
            UnitStatus::Dissolved => "撤销",
        }
    }

    /// Whether a unit in this status may change to `to`.
    pub fn may_become(self, to: UnitStatus) -> bool {
        self == to || self != UnitStatus::Dissolved
    }

    /// Whether a unit in this status may move to another branch.
    pub fn may_move(self) -> bool {
        self != UnitStatus::Dissolved
    }
}

/// A unit's particulars as typed by a user (or read from an import row).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UnitInput {
    pub credit_code: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub leader: Option<String>,
    pub founded_on: Option<String>,
    pub status: Option<String>,
}

/// A unit's validated particulars.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitDetails {
    pub credit_code: Option<CreditCode>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub leader: Option<String>,
    pub founded_on: Option<NaiveDate>,
    pub status: UnitStatus,
}

impl Default for UnitDetails {
    fn default() -> Self {
        UnitDetails {
            credit_code: None,
            address: None,
            phone: None,
            leader: None,
            founded_on: None,
            status: UnitStatus::Active,
        }
    }
}

/// A contact phone: a mobile or a landline (`0531-86012345`), 7–20 of digits,
/// `-`, spaces and a leading `+`. Stored as typed, trimmed.
pub fn parse_contact_phone(raw: &str) -> Option<String> {
    let s = raw.trim();
    let digits = s.chars().filter(char::is_ascii_digit).count();
    let ok = s
        .chars()
        .enumerate()
        .all(|(i, c)| c.is_ascii_digit() || c == '-' || c == ' ' || (c == '+' && i == 0));
    (ok && (7..=20).contains(&digits) && s.chars().count() <= 32).then(|| s.to_owned())
}

/// A date typed as `2019-05-04`, `2019/5/4` or `2019.5.4`.
pub fn parse_date(raw: &str) -> Option<NaiveDate> {
    let s = raw.trim().replace(['/', '.'], "-");
    NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok()
}

impl UnitDetails {
    /// Validates every field, collecting all broken rules.
    pub fn parse(input: &UnitInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let credit_code = match input.credit_code.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => match CreditCode::parse(raw) {
                Ok(code) => Some(code),
                Err(e) => {
                    errors.add("credit_code", e.to_string());
                    None
                }
            },
        };
        let address = optional_text(&mut errors, "address", "地址", input.address.as_deref(), 200);
        let phone = match input.phone.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => match parse_contact_phone(raw) {
                Some(p) => Some(p),
                None => {
                    errors.add("phone", "联系电话格式不正确");
                    None
                }
            },
        };
        let leader = optional_text(&mut errors, "leader", "负责人", input.leader.as_deref(), 50);
        let founded_on = match input.founded_on.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => match parse_date(raw) {
                Some(d) => Some(d),
                None => {
                    errors.add("founded_on", "成立日期格式应为 2019-05-04");
                    None
                }
            },
        };
        let status = match input.status.as_deref().map(str::trim) {
            None | Some("") => UnitStatus::Active,
            Some(raw) => UnitStatus::parse(raw).unwrap_or_else(|| {
                errors.add("status", "状态应为 active、suspended 或 dissolved");
                UnitStatus::Active
            }),
        };
        if errors.is_empty() {
            Ok(UnitDetails {
                credit_code,
                address,
                phone,
                leader,
                founded_on,
                status,
            })
        } else {
            Err(errors)
        }
    }
}

/// One item of the city's 五有 checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WuyouItem {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}

/// When a unit passes its 五有 assessment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "rule", content = "n")]
pub enum PassMark {
    /// Every item of the checklist met (the default).
    #[default]
    All,
    /// At least this many items met (capped at the number of items).
    AtLeast(u32),
}

impl PassMark {
    /// The setting's text form: `all` or `at_least:6`.
    pub fn as_setting(self) -> String {
        match self {
            PassMark::All => "all".to_owned(),
            PassMark::AtLeast(n) => format!("at_least:{n}"),
        }
    }

    pub fn from_setting(s: &str) -> Option<PassMark> {
        match s.trim() {
            "all" => Some(PassMark::All),
            other => other
                .strip_prefix("at_least:")
                .and_then(|n| n.parse().ok())
                .filter(|n| *n > 0)
                .map(PassMark::AtLeast),
        }
    }

    /// Items needed out of `total`.
    pub fn needed(self, total: usize) -> usize {
        match self {
            PassMark::All => total,
            PassMark::AtLeast(n) => usize::try_from(n).unwrap_or(usize::MAX).min(total),
        }
    }

    pub fn label_zh(self, total: usize) -> String {
        match self {
            PassMark::All => format!("{total} 项全部达到"),
            PassMark::AtLeast(_) => format!("至少 {} / {total} 项", self.needed(total)),
        }
    }
}

/// A unit's 五有 score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WuyouScore {
    pub met: usize,
    pub total: usize,
    pub passed: bool,
}

/// Scores `met` of `total` items against the pass mark. An empty checklist
/// passes nobody.
pub fn score(met: usize, total: usize, mark: PassMark) -> WuyouScore {
    let met = met.min(total);
    WuyouScore {
        met,
        total,
        passed: total > 0 && met >= mark.needed(total),
    }
}

/// Compliance of a group of units: active units, how many pass, the rate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Compliance {
    pub active: u64,
    pub passed: u64,
}

impl Compliance {
    pub fn add(&mut self, status: UnitStatus, passed: bool) {
        if status == UnitStatus::Active {
            self.active += 1;
            if passed {
                self.passed += 1;
            }
        }
    }

    /// The pass rate in tenths of a percent (0–1000), `None` without active units.
    pub fn permille(&self) -> Option<u64> {
        (self.active > 0).then(|| (self.passed * 1000 + self.active / 2) / self.active)
    }

    /// `78.5%`, or `—`.
    pub fn rate_text(&self) -> String {
        match self.permille() {
            Some(p) => format!("{}.{}%", p / 10, p % 10),
            None => "—".to_owned(),
        }
    }
}

/// The columns of a unit import, in template order: (key, 中文 header).
pub const IMPORT_COLUMNS: [(&str, &str); 9] = [
    ("name", "名称"),
    ("branch_code", "所属区县代码"),
    ("kind", "类型"),
    ("credit_code", "统一社会信用代码"),
    ("address", "地址"),
    ("phone", "联系电话"),
    ("leader", "负责人"),
    ("founded_on", "成立日期"),
    ("status", "状态"),
];

/// Import columns that must be present and non-empty.
pub const IMPORT_REQUIRED: [&str; 3] = ["name", "branch_code", "kind"];

/// The unit kinds an import accepts, by code or Chinese label.
pub fn parse_unit_kind(raw: &str) -> Option<OrgKind> {
    let raw = raw.trim();
    OrgKind::ALL
        .into_iter()
        .filter(|k| k.level() == OrgLevel::Unit)
        .find(|k| k.as_str() == raw || k.label_zh() == raw)
}

/// One validated import row (the branch still to be resolved by the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitImportRow {
    pub name: String,
    pub branch_code: String,
    pub kind: OrgKind,
    pub details: UnitDetails,
}

/// Validates one import row given as (column key, cell text) pairs. Cells that
/// look like formulas are refused, never evaluated.
pub fn parse_import_row(cells: &[(&str, String)]) -> Result<UnitImportRow, Vec<String>> {
    let get = |key: &str| {
        cells
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let mut problems = Vec::new();
    for (key, value) in cells {
        if value.trim_start().starts_with('=') {
            let header = IMPORT_COLUMNS.iter().find(|(k, _)| k == key).map_or(*key, |(_, h)| *h);
            problems.push(format!("{header}: 不接受公式"));
        }
    }
    for key in IMPORT_REQUIRED {
        if get(key).is_none() {
            let header = IMPORT_COLUMNS.iter().find(|(k, _)| *k == key).map_or(key, |(_, h)| *h);
            problems.push(format!("缺少{header}"));
        }
    }
    let name = get("name");
    if name.as_ref().is_some_and(|n| n.chars().count() > 100) {
        problems.push("名称不能超过 100 个字".to_owned());
    }
    let kind = get("kind").and_then(|k| {
        let parsed = parse_unit_kind(&k);
        if parsed.is_none() {
            problems.push(format!("类型无效: {k}"));
        }
        parsed
    });
    let input = UnitInput {
        credit_code: get("credit_code"),
        address: get("address"),
        phone: get("phone"),
        leader: get("leader"),
        founded_on: get("founded_on"),
        status: get("status"),
    };
    let details = match UnitDetails::parse(&input) {
        Ok(d) => Some(d),
        Err(errors) => {
            problems.extend(errors.0.into_iter().map(|e| e.message));
            None
        }
    };
    match (name, get("branch_code"), kind, details) {
        (Some(name), Some(branch_code), Some(kind), Some(details)) if problems.is_empty() => Ok(UnitImportRow {
            name,
            branch_code,
            kind,
            details,
        }),
        _ => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::identity::credit_code_check_char;

    fn code() -> String {
        let body = "91370102MA3C12345";
        format!("{body}{}", credit_code_check_char(body).unwrap_or('0'))
    }

    #[test]
    fn dissolution_is_final() {
        assert!(UnitStatus::Active.may_become(UnitStatus::Suspended));
        assert!(UnitStatus::Suspended.may_become(UnitStatus::Active));
        assert!(UnitStatus::Active.may_become(UnitStatus::Dissolved));
        assert!(!UnitStatus::Dissolved.may_become(UnitStatus::Active));
        assert!(UnitStatus::Dissolved.may_become(UnitStatus::Dissolved));
        assert!(!UnitStatus::Dissolved.may_move());
        assert!(UnitStatus::Suspended.may_move());
        assert_eq!(UnitStatus::parse("撤销"), Some(UnitStatus::Dissolved));
    }

    #[test]
    fn all_items_is_the_default_pass_mark() {
        assert_eq!(PassMark::default(), PassMark::All);
        assert!(score(7, 7, PassMark::All).passed);
        assert!(!score(6, 7, PassMark::All).passed);
        assert!(score(6, 7, PassMark::AtLeast(6)).passed);
        assert!(!score(5, 7, PassMark::AtLeast(6)).passed);
        // A mark above the checklist means every item.
        assert!(score(7, 7, PassMark::AtLeast(9)).passed);
        assert!(!score(0, 0, PassMark::All).passed);
        assert_eq!(score(9, 7, PassMark::All).met, 7);
    }

    #[test]
    fn pass_mark_setting_round_trips() {
        for mark in [PassMark::All, PassMark::AtLeast(6)] {
            assert_eq!(PassMark::from_setting(&mark.as_setting()), Some(mark));
        }
        assert_eq!(PassMark::from_setting("at_least:0"), None);
        assert_eq!(PassMark::from_setting("most"), None);
    }

    #[test]
    fn compliance_counts_active_units_only() {
        let mut c = Compliance::default();
        c.add(UnitStatus::Active, true);
        c.add(UnitStatus::Active, true);
        c.add(UnitStatus::Active, false);
        c.add(UnitStatus::Suspended, false);
        c.add(UnitStatus::Dissolved, true);
        assert_eq!(c, Compliance { active: 3, passed: 2 });
        assert_eq!(c.permille(), Some(667));
        assert_eq!(c.rate_text(), "66.7%");
        assert_eq!(Compliance::default().rate_text(), "—");
    }

    #[test]
    fn details_collect_every_error() {
        let mut bad_code = code();
        bad_code.pop();
        bad_code.push(if code().ends_with('1') { '2' } else { '1' });
        let errors = UnitDetails::parse(&UnitInput {
            credit_code: Some(bad_code),
            phone: Some("call me".into()),
            founded_on: Some("yesterday".into()),
            status: Some("closed".into()),
            ..UnitInput::default()
        })
        .err()
        .unwrap_or_default();
        for field in ["credit_code", "phone", "founded_on", "status"] {
            assert!(errors.for_field(field).is_some(), "{field}");
        }
        let ok = UnitDetails::parse(&UnitInput {
            credit_code: Some(code().to_lowercase()),
            phone: Some("0531-86012345".into()),
            founded_on: Some("2019/5/4".into()),
            ..UnitInput::default()
        });
        assert!(ok.as_ref().is_ok_and(|d| d.status == UnitStatus::Active
            && d.founded_on == NaiveDate::from_ymd_opt(2019, 5, 4)
            && d.credit_code.as_ref().map(CreditCode::as_str) == Some(code().as_str())));
    }

    #[test]
    fn import_rows_report_every_problem() {
        let row = |pairs: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
            pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
        };
        let good = parse_import_row(&row(&[
            ("name", "燕山街道社区红十字服务站"),
            ("branch_code", "JN-LX"),
            ("kind", "社区"),
            ("credit_code", &code()),
        ]));
        assert!(good.is_ok_and(|r| r.kind == OrgKind::Community));
        let bad = parse_import_row(&row(&[
            ("name", "=HYPERLINK(\"http://x\")"),
            ("branch_code", ""),
            ("kind", "county"),
        ]))
        .err()
        .unwrap_or_default();
        assert!(bad.iter().any(|p| p.contains("公式")), "{bad:?}");
        assert!(bad.iter().any(|p| p.contains("所属区县代码")), "{bad:?}");
        assert!(bad.iter().any(|p| p.contains("类型无效")), "{bad:?}");
    }
}
