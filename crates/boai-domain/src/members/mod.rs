//! Members (会员) and dues (会费), and the councils (理事会、执委会、监事会).
//!
//! Rules:
//! - A member is an individual (身份证 number required, validated with its check
//!   digit) or a group (统一社会信用代码 optional, validated when given), and
//!   joins through a grassroots unit. Its member type (data the city
//!   configures) decides the dues: an amount in fen per type and year.
//! - A year is *due* for a member from the year they joined up to the current
//!   year, for every year that has a dues rate above zero for their type; a
//!   lapsed member owes nothing from the year they lapsed on.
//!   A due year without a payment is in arrears. One payment per member and
//!   year; receipt numbers are unique.
//! - A member lapses when at least `lapse_after` *completed* years (before the
//!   current one) are in arrears (default 2). Lapsing is final for the dues
//!   computation of later years and is audited.
//! - Councils are data: each body (理事会、执委会、监事会) of the city or a
//!   branch has members (name, role, term number, term start and end) and
//!   meetings (date, title) with minutes as a file (type checked by its first
//!   bytes, as disclosures' attachments are).

use crate::money::Fen;
use crate::network::parse_date;
use crate::validation::identity::{CreditCode, IdCardNo};
use crate::validation::{required_text, FieldErrors};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap, HashSet};

crate::typed_id!(
    /// A member (会员).
    MemberId
);
crate::typed_id!(
    /// A council member (理事、监事…).
    CouncilMemberId
);
crate::typed_id!(
    /// A council meeting.
    MeetingId
);

/// Individual or group member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberKind {
    Individual,
    Group,
}

impl MemberKind {
    pub const ALL: [MemberKind; 2] = [MemberKind::Individual, MemberKind::Group];

    pub fn as_str(self) -> &'static str {
        match self {
            MemberKind::Individual => "individual",
            MemberKind::Group => "group",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            MemberKind::Individual => "个人会员",
            MemberKind::Group => "团体会员",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s || k.label_zh() == s || k.label_zh().trim_end_matches("会员") == s)
    }
}

/// Whether a member is in good standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    Active,
    Lapsed,
}

impl MemberStatus {
    pub const ALL: [MemberStatus; 2] = [MemberStatus::Active, MemberStatus::Lapsed];

    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Active => "active",
            MemberStatus::Lapsed => "lapsed",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            MemberStatus::Active => "有效",
            MemberStatus::Lapsed => "已失效",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL.into_iter().find(|k| k.as_str() == s || k.label_zh() == s)
    }
}

/// A member type the city configures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberType {
    pub code: String,
    pub name_zh: String,
    pub kind: MemberKind,
}

/// The default member types: code, 中文, kind.
pub const DEFAULT_TYPES: [(&str, &str, MemberKind); 3] = [
    ("ordinary", "普通会员", MemberKind::Individual),
    ("youth", "青少年会员", MemberKind::Individual),
    ("group", "团体会员", MemberKind::Group),
];

/// Unpaid completed years after which a member lapses, unless configured.
pub const DEFAULT_LAPSE_AFTER: u32 = 2;

/// Dues rates: (type code, year) → amount.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DuesRates(pub HashMap<(String, i32), Fen>);

impl DuesRates {
    pub fn get(&self, type_code: &str, year: i32) -> Option<Fen> {
        self.0.get(&(type_code.to_owned(), year)).copied()
    }
}

/// What the dues computation needs of one member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuesStanding<'a> {
    pub type_code: &'a str,
    pub joined_on: NaiveDate,
    pub status: MemberStatus,
    pub lapsed_on: Option<NaiveDate>,
}

impl DuesStanding<'_> {
    /// Whether `year` is due: joined by then, not lapsed in or before it, a rate above zero.
    pub fn due(&self, year: i32, rates: &DuesRates) -> Option<Fen> {
        if year < self.joined_on.year() {
            return None;
        }
        if self.status == MemberStatus::Lapsed && self.lapsed_on.is_some_and(|d| year >= d.year()) {
            return None;
        }
        rates.get(self.type_code, year).filter(|f| f.0 > 0)
    }

    /// The due years up to `current_year` with no payment, oldest first.
    pub fn arrears(&self, current_year: i32, paid: &HashSet<i32>, rates: &DuesRates) -> Vec<i32> {
        let first = rates
            .0
            .keys()
            .map(|(_, y)| *y)
            .min()
            .unwrap_or(current_year)
            .max(self.joined_on.year());
        (first..=current_year)
            .filter(|y| self.due(*y, rates).is_some() && !paid.contains(y))
            .collect()
    }

    /// Whether an active member should now lapse: at least `lapse_after`
    /// completed years in arrears.
    pub fn should_lapse(&self, current_year: i32, paid: &HashSet<i32>, rates: &DuesRates, lapse_after: u32) -> bool {
        self.status == MemberStatus::Active
            && lapse_after > 0
            && self
                .arrears(current_year, paid, rates)
                .iter()
                .filter(|y| **y < current_year)
                .count()
                >= usize::try_from(lapse_after).unwrap_or(usize::MAX)
    }
}

/// Dues of a group of members for one year.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DuesSummary {
    pub year: i32,
    /// Members for whom the year is due.
    pub members_due: u64,
    /// Of those, members who paid it.
    pub members_paid: u64,
    pub expected_fen: i64,
    /// Paid for this year (by any member).
    pub collected_fen: i64,
    /// Members for whom the year is due and who have not paid it.
    pub in_arrears: u64,
}

impl DuesSummary {
    /// Paid share of members due, in tenths of a percent.
    pub fn permille(&self) -> Option<u64> {
        (self.members_due > 0).then(|| (self.members_paid * 1000 + self.members_due / 2) / self.members_due)
    }

    pub fn rate_text(&self) -> String {
        match self.permille() {
            Some(p) => format!("{}.{}%", p / 10, p % 10),
            None => "—".to_owned(),
        }
    }
}

/// A member as typed (form, API or import row).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MemberInput {
    pub name: Option<String>,
    pub type_code: Option<String>,
    pub id_card_no: Option<String>,
    pub credit_code: Option<String>,
    pub phone: Option<String>,
    /// `YYYY-MM-DD`; default today.
    pub joined_on: Option<String>,
}

/// A validated new member (the unit still to be checked in scope).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberForCreate {
    pub name: String,
    pub member_type: MemberType,
    pub id_card: Option<IdCardNo>,
    pub credit_code: Option<CreditCode>,
    pub phone: Option<String>,
    pub joined_on: NaiveDate,
}

impl MemberForCreate {
    /// Validates every field against the city's member types.
    pub fn parse(input: &MemberInput, types: &[MemberType], today: NaiveDate) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = required_text(&mut errors, "name", "姓名或名称", input.name.as_deref(), 100);
        let member_type = match input.type_code.as_deref().map(str::trim) {
            None | Some("") => {
                errors.add("type_code", "请选择会员类型");
                None
            }
            Some(raw) => {
                let found = types.iter().find(|t| t.code == raw || t.name_zh == raw).cloned();
                if found.is_none() {
                    errors.add("type_code", format!("会员类型无效: {raw}"));
                }
                found
            }
        };
        let id_card = match input.id_card_no.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => match IdCardNo::parse(raw) {
                Ok(c) => Some(c),
                Err(e) => {
                    errors.add("id_card_no", e.to_string());
                    None
                }
            },
        };
        let credit_code = match input.credit_code.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => match CreditCode::parse(raw) {
                Ok(c) => Some(c),
                Err(e) => {
                    errors.add("credit_code", e.to_string());
                    None
                }
            },
        };
        if let Some(t) = &member_type {
            let id_given = input.id_card_no.as_deref().is_some_and(|s| !s.trim().is_empty());
            if t.kind == MemberKind::Individual && !id_given {
                errors.add("id_card_no", "个人会员须填写身份证号码");
            }
            if t.kind == MemberKind::Group && id_given {
                errors.add("id_card_no", "团体会员不填写身份证号码");
            }
        }
        let phone = match input.phone.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => match crate::network::parse_contact_phone(raw) {
                Some(p) => Some(p),
                None => {
                    errors.add("phone", "联系电话格式不正确");
                    None
                }
            },
        };
        let joined_on = match input.joined_on.as_deref().map(str::trim) {
            None | Some("") => Some(today),
            Some(raw) => match parse_date(raw) {
                Some(d) if d <= today => Some(d),
                Some(_) => {
                    errors.add("joined_on", "入会日期不能晚于今天");
                    None
                }
                None => {
                    errors.add("joined_on", "入会日期格式应为 2024-03-01");
                    None
                }
            },
        };
        match (name, member_type, joined_on) {
            (Some(name), Some(member_type), Some(joined_on)) if errors.is_empty() => Ok(MemberForCreate {
                name,
                member_type,
                id_card,
                credit_code,
                phone,
                joined_on,
            }),
            _ => Err(errors),
        }
    }
}

/// A receipt number: 1–40 of letters, digits and `-`, upper-cased.
pub fn parse_receipt_no(raw: &str) -> Option<String> {
    let s = raw.trim().to_ascii_uppercase();
    let ok = !s.is_empty() && s.len() <= 40 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    ok.then_some(s)
}

/// A dues payment as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PaymentInput {
    pub year: Option<String>,
    /// Yuan as typed (`60`, `60.00`), or use `amount_fen`.
    pub amount: Option<String>,
    pub amount_fen: Option<i64>,
    pub receipt_no: Option<String>,
    /// `YYYY-MM-DD`; default today.
    pub paid_on: Option<String>,
}

/// A validated payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentForCreate {
    pub year: i32,
    pub amount: Fen,
    pub receipt_no: String,
    pub paid_on: NaiveDate,
}

impl PaymentForCreate {
    pub fn parse(input: &PaymentInput, today: NaiveDate) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let year = match input.year.as_deref().map(str::trim).and_then(|y| y.parse::<i32>().ok()) {
            Some(y) if (2000..=today.year() + 1).contains(&y) => Some(y),
            _ => {
                errors.add("year", "请填写会费年度 (如 2026)");
                None
            }
        };
        let amount = match (input.amount_fen, input.amount.as_deref().map(str::trim)) {
            (Some(f), _) => Some(Fen(f)),
            (None, Some(raw)) if !raw.is_empty() => crate::money::parse_yuan(raw),
            _ => None,
        };
        let amount = match amount {
            Some(a) if a.0 > 0 && a.0 <= 100_000_000 => Some(a),
            _ => {
                errors.add("amount", "金额应为大于 0 的元数, 最多两位小数");
                None
            }
        };
        let receipt_no = match input.receipt_no.as_deref().and_then(parse_receipt_no) {
            Some(r) => Some(r),
            None => {
                errors.add("receipt_no", "请填写收据号 (字母、数字或连字符, 不超过 40 位)");
                None
            }
        };
        let paid_on = match input.paid_on.as_deref().map(str::trim) {
            None | Some("") => Some(today),
            Some(raw) => match parse_date(raw) {
                Some(d) if d <= today => Some(d),
                _ => {
                    errors.add("paid_on", "缴费日期格式应为 2026-03-01, 且不晚于今天");
                    None
                }
            },
        };
        match (year, amount, receipt_no, paid_on) {
            (Some(year), Some(amount), Some(receipt_no), Some(paid_on)) if errors.is_empty() => Ok(PaymentForCreate {
                year,
                amount,
                receipt_no,
                paid_on,
            }),
            _ => Err(errors),
        }
    }
}

/// The columns of a member import, in template order: (key, 中文 header).
pub const IMPORT_COLUMNS: [(&str, &str); 7] = [
    ("name", "姓名或名称"),
    ("unit_code", "所属基层组织代码"),
    ("type_code", "会员类型"),
    ("id_card_no", "身份证号码"),
    ("credit_code", "统一社会信用代码"),
    ("phone", "联系电话"),
    ("joined_on", "入会日期"),
];

/// Import columns that must be present and non-empty.
pub const IMPORT_REQUIRED: [&str; 3] = ["name", "unit_code", "type_code"];

/// One validated import row (the unit and duplicates still to be checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberImportRow {
    pub unit_code: String,
    pub member: MemberForCreate,
}

/// Validates one import row given as (column key, cell text) pairs. Cells
/// that look like formulas are refused, never evaluated.
pub fn parse_import_row(
    cells: &[(&str, String)],
    types: &[MemberType],
    today: NaiveDate,
) -> Result<MemberImportRow, Vec<String>> {
    let get = |key: &str| {
        cells
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    fn header(key: &str) -> &str {
        IMPORT_COLUMNS.iter().find(|(k, _)| *k == key).map_or(key, |(_, h)| *h)
    }
    let mut problems = Vec::new();
    for (key, value) in cells {
        if value.trim_start().starts_with('=') {
            problems.push(format!("{}: 不接受公式", header(key)));
        }
    }
    for key in IMPORT_REQUIRED {
        if get(key).is_none() {
            problems.push(format!("缺少{}", header(key)));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let input = MemberInput {
        name: get("name"),
        type_code: get("type_code"),
        id_card_no: get("id_card_no"),
        credit_code: get("credit_code"),
        phone: get("phone"),
        joined_on: get("joined_on"),
    };
    match (MemberForCreate::parse(&input, types, today), get("unit_code")) {
        (Ok(member), Some(unit_code)) => Ok(MemberImportRow { unit_code, member }),
        (Err(errors), _) => Err(errors.0.into_iter().map(|e| e.message).collect()),
        (Ok(_), None) => Err(vec![format!("缺少{}", header("unit_code"))]),
    }
}

/// A council body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CouncilBody {
    /// 理事会
    Council,
    /// 执行委员会
    Executive,
    /// 监事会
    Supervisory,
}

impl CouncilBody {
    pub const ALL: [CouncilBody; 3] = [CouncilBody::Council, CouncilBody::Executive, CouncilBody::Supervisory];

    pub fn as_str(self) -> &'static str {
        match self {
            CouncilBody::Council => "council",
            CouncilBody::Executive => "executive",
            CouncilBody::Supervisory => "supervisory",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            CouncilBody::Council => "理事会",
            CouncilBody::Executive => "执委会",
            CouncilBody::Supervisory => "监事会",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL.into_iter().find(|k| k.as_str() == s || k.label_zh() == s)
    }

    /// The roles a member of this body may hold.
    pub fn roles(self) -> &'static [&'static str] {
        match self {
            CouncilBody::Council => &["会长", "副会长", "秘书长", "常务理事", "理事"],
            CouncilBody::Executive => &["会长", "常务副会长", "副会长", "秘书长", "执行委员"],
            CouncilBody::Supervisory => &["监事长", "副监事长", "监事"],
        }
    }
}

/// A council member as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CouncilMemberInput {
    pub body: Option<String>,
    pub person_name: Option<String>,
    pub role: Option<String>,
    pub term_no: Option<String>,
    pub term_start: Option<String>,
    pub term_end: Option<String>,
}

/// A validated council member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CouncilMemberForCreate {
    pub body: CouncilBody,
    pub person_name: String,
    pub role: String,
    pub term_no: i32,
    pub term_start: NaiveDate,
    pub term_end: NaiveDate,
}

fn required_date(errors: &mut FieldErrors, field: &str, label: &str, raw: Option<&str>) -> Option<NaiveDate> {
    match raw.map(str::trim) {
        None | Some("") => {
            errors.add(field, format!("请填写{label}"));
            None
        }
        Some(raw) => parse_date(raw).or_else(|| {
            errors.add(field, format!("{label}格式应为 2024-03-01"));
            None
        }),
    }
}

impl CouncilMemberForCreate {
    pub fn parse(input: &CouncilMemberInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let body = input.body.as_deref().and_then(CouncilBody::parse);
        if body.is_none() {
            errors.add("body", "请选择理事会、执委会或监事会");
        }
        let person_name = required_text(&mut errors, "person_name", "姓名", input.person_name.as_deref(), 50);
        let role = required_text(&mut errors, "role", "职务", input.role.as_deref(), 20);
        if let (Some(b), Some(r)) = (body, &role) {
            if !b.roles().contains(&r.as_str()) {
                errors.add("role", format!("{}的职务应为: {}", b.label_zh(), b.roles().join("、")));
            }
        }
        let term_no = match input
            .term_no
            .as_deref()
            .map(str::trim)
            .and_then(|t| t.parse::<i32>().ok())
        {
            Some(n) if (1..=100).contains(&n) => Some(n),
            _ => {
                errors.add("term_no", "届次应为 1–100 的整数");
                None
            }
        };
        let term_start = required_date(&mut errors, "term_start", "任期开始日期", input.term_start.as_deref());
        let term_end = required_date(&mut errors, "term_end", "任期结束日期", input.term_end.as_deref());
        if let (Some(s), Some(e)) = (term_start, term_end) {
            if e <= s {
                errors.add("term_end", "任期结束日期应晚于开始日期");
            }
        }
        match (body, person_name, role, term_no, term_start, term_end) {
            (Some(body), Some(person_name), Some(role), Some(term_no), Some(term_start), Some(term_end))
                if errors.is_empty() =>
            {
                Ok(CouncilMemberForCreate {
                    body,
                    person_name,
                    role,
                    term_no,
                    term_start,
                    term_end,
                })
            }
            _ => Err(errors),
        }
    }
}

/// A meeting as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MeetingInput {
    pub body: Option<String>,
    pub held_on: Option<String>,
    pub title: Option<String>,
}

/// A validated meeting (minutes validated separately as an attachment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MeetingForCreate {
    pub body: CouncilBody,
    pub held_on: NaiveDate,
    pub title: String,
}

impl MeetingForCreate {
    pub fn parse(input: &MeetingInput, today: NaiveDate) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let body = input.body.as_deref().and_then(CouncilBody::parse);
        if body.is_none() {
            errors.add("body", "请选择理事会、执委会或监事会");
        }
        let held_on = required_date(&mut errors, "held_on", "会议日期", input.held_on.as_deref());
        if held_on.is_some_and(|d| d > today) {
            errors.add("held_on", "会议日期不能晚于今天");
        }
        let title = required_text(&mut errors, "title", "会议名称", input.title.as_deref(), 100);
        match (body, held_on, title) {
            (Some(body), Some(held_on), Some(title)) if errors.is_empty() => {
                Ok(MeetingForCreate { body, held_on, title })
            }
            _ => Err(errors),
        }
    }
}

/// Years as a short text: `2024、2025`.
pub fn years_text(years: &[i32]) -> String {
    years.iter().map(i32::to_string).collect::<Vec<_>>().join("、")
}

/// The distinct years of a rate table, newest first.
pub fn rate_years(rates: &DuesRates) -> Vec<i32> {
    let set: BTreeSet<i32> = rates.0.keys().map(|(_, y)| *y).collect();
    set.into_iter().rev().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::identity::id_card_check_char;

    fn id(body: &str) -> String {
        format!("{body}{}", id_card_check_char(body).unwrap_or('0'))
    }

    fn types() -> Vec<MemberType> {
        DEFAULT_TYPES
            .iter()
            .map(|(c, n, k)| MemberType {
                code: (*c).to_owned(),
                name_zh: (*n).to_owned(),
                kind: *k,
            })
            .collect()
    }

    fn rates() -> DuesRates {
        let mut r = DuesRates::default();
        for y in 2024..=2026 {
            r.0.insert(("ordinary".to_owned(), y), Fen(5_000));
            r.0.insert(("youth".to_owned(), y), Fen(0));
        }
        r
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    #[test]
    fn arrears_and_lapsing() {
        let m = DuesStanding {
            type_code: "ordinary",
            joined_on: d(2023, 5, 1),
            status: MemberStatus::Active,
            lapsed_on: None,
        };
        let paid: HashSet<i32> = [2024].into_iter().collect();
        assert_eq!(m.arrears(2026, &paid, &rates()), vec![2025, 2026]);
        assert!(!m.should_lapse(2026, &paid, &rates(), 2));
        assert!(m.should_lapse(2026, &HashSet::new(), &rates(), 2));
        let youth = DuesStanding {
            type_code: "youth",
            ..m.clone()
        };
        assert!(youth.arrears(2026, &HashSet::new(), &rates()).is_empty());
        let lapsed = DuesStanding {
            status: MemberStatus::Lapsed,
            lapsed_on: Some(d(2025, 2, 1)),
            ..m
        };
        assert_eq!(lapsed.arrears(2026, &HashSet::new(), &rates()), vec![2024]);
        assert!(!lapsed.should_lapse(2026, &HashSet::new(), &rates(), 1));
    }

    #[test]
    fn members_need_the_right_identity() {
        let today = d(2026, 11, 1);
        let good = MemberForCreate::parse(
            &MemberInput {
                name: Some("张三".into()),
                type_code: Some("普通会员".into()),
                id_card_no: Some(id("37010219800101123")),
                ..MemberInput::default()
            },
            &types(),
            today,
        );
        assert!(good.is_ok_and(|m| m.joined_on == today && m.id_card.is_some()));
        let mut bad_id = id("37010219800101123");
        let last = bad_id.pop().unwrap_or('0');
        bad_id.push(if last == '1' { '2' } else { '1' });
        let errors = MemberForCreate::parse(
            &MemberInput {
                name: Some("李四".into()),
                type_code: Some("ordinary".into()),
                id_card_no: Some(bad_id),
                ..MemberInput::default()
            },
            &types(),
            today,
        )
        .err()
        .unwrap_or_default();
        assert_eq!(errors.for_field("id_card_no"), Some("身份证号码校验位不正确"));
        let errors = MemberForCreate::parse(
            &MemberInput {
                name: Some("王五".into()),
                type_code: Some("ordinary".into()),
                ..MemberInput::default()
            },
            &types(),
            today,
        )
        .err()
        .unwrap_or_default();
        assert!(errors.for_field("id_card_no").is_some());
    }

    #[test]
    fn payments_and_receipts() {
        let today = d(2026, 11, 1);
        let ok = PaymentForCreate::parse(
            &PaymentInput {
                year: Some("2026".into()),
                amount: Some("50".into()),
                receipt_no: Some(" hf-2026-001 ".into()),
                ..PaymentInput::default()
            },
            today,
        );
        assert!(ok.is_ok_and(|p| p.amount == Fen(5_000) && p.receipt_no == "HF-2026-001"));
        let errors = PaymentForCreate::parse(&PaymentInput::default(), today)
            .err()
            .unwrap_or_default();
        for f in ["year", "amount", "receipt_no"] {
            assert!(errors.for_field(f).is_some(), "{f}");
        }
    }

    #[test]
    fn import_rows_report_problems() {
        let today = d(2026, 11, 1);
        let row = |pairs: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
            pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
        };
        let good = parse_import_row(
            &row(&[
                ("name", "张三"),
                ("unit_code", "JN-LX-001"),
                ("type_code", "普通会员"),
                ("id_card_no", &id("37010219800101123")),
            ]),
            &types(),
            today,
        );
        assert!(good.is_ok());
        let bad = parse_import_row(&row(&[("name", "=1+1"), ("unit_code", "")]), &types(), today)
            .err()
            .unwrap_or_default();
        assert!(bad.iter().any(|p| p.contains("公式")), "{bad:?}");
        assert!(bad.iter().any(|p| p.contains("所属基层组织代码")), "{bad:?}");
    }

    #[test]
    fn council_roles_belong_to_their_body() {
        let ok = CouncilMemberForCreate::parse(&CouncilMemberInput {
            body: Some("监事会".into()),
            person_name: Some("赵六".into()),
            role: Some("监事长".into()),
            term_no: Some("5".into()),
            term_start: Some("2023-06-01".into()),
            term_end: Some("2028-05-31".into()),
        });
        assert!(ok.is_ok());
        let errors = CouncilMemberForCreate::parse(&CouncilMemberInput {
            body: Some("council".into()),
            person_name: Some("赵六".into()),
            role: Some("监事长".into()),
            term_no: Some("0".into()),
            term_start: Some("2023-06-01".into()),
            term_end: Some("2023-01-01".into()),
        })
        .err()
        .unwrap_or_default();
        for f in ["role", "term_no", "term_end"] {
            assert!(errors.for_field(f).is_some(), "{f}");
        }
    }
}
