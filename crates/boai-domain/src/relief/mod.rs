//! Humanitarian relief (人道救助): programmes as data (budget, documents,
//! grants, payee, eligibility [`rules`], review [`review`] flow), the
//! validated application, and the figures per programme.
//!
//! Rules: an application names the documents its programme requires, one
//! file each; the grant asked for is at most the programme's maximum (the
//! standard grant when left empty); payment goes to the person (a bank
//! account is required) or to the hospital (its name is required); the age
//! the rule sees comes from the ID number. Money is fen; ID numbers and bank
//! accounts are kept encrypted by the store and shown masked.

pub mod review;
pub mod rules;

use crate::money::{parse_yuan, Fen};
use crate::transparency::{parse_file, Attachment, FileInput};
use crate::validation::identity::{IdCardNo, Phone};
use crate::validation::{optional_text, required_text, FieldErrors};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

crate::typed_id!(
    /// A relief programme.
    ProgrammeId
);
crate::typed_id!(
    /// A relief case (one application).
    CaseId
);

/// At most this many bytes per attachment of an application.
pub const MAX_ATTACHMENT_BYTES: usize = 5 * 1024 * 1024;

/// The hardship statuses an applicant may declare.
pub const HARDSHIP: [&str; 4] = ["低保", "特困", "低收入", "因病致贫"];

/// Who receives the grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Payee {
    Person,
    Hospital,
}

impl Payee {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "person" => Some(Payee::Person),
            "hospital" => Some(Payee::Hospital),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Payee::Person => "person",
            Payee::Hospital => "hospital",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Payee::Person => "拨付给受助人",
            Payee::Hospital => "拨付给医院",
        }
    }
}

/// What staff set for a programme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub yearly_budget: Fen,
    pub documents: Vec<String>,
    pub standard_grant: Fen,
    pub max_grant: Fen,
    pub payee: Payee,
    pub rule: rules::Rule,
    pub flow: review::Flow,
}

impl Settings {
    /// Checks the settings; errors name their field.
    pub fn check(&self) -> Result<(), FieldErrors> {
        let mut errors = match self.rule.check() {
            Ok(()) => FieldErrors::new(),
            Err(e) => e,
        };
        if self.yearly_budget.0 <= 0 {
            errors.add("yearly_budget", "年度预算须大于 0");
        }
        if self.standard_grant.0 <= 0 || self.max_grant.0 < self.standard_grant.0 {
            errors.add("max_grant", "最高救助金额须不低于标准救助金额, 且均大于 0");
        }
        if self.max_grant > self.yearly_budget {
            errors.add("max_grant", "最高救助金额不能超过年度预算");
        }
        if self.documents.len() > 10
            || self
                .documents
                .iter()
                .any(|d| d.trim().is_empty() || d.chars().count() > 30)
        {
            errors.add("documents", "所需材料最多 10 项, 每项 1–30 个字");
        }
        if let Some(p) = self.flow.problem() {
            errors.add("flow", p);
        }
        errors.into_result(())
    }
}

/// An application's raw fields, as they arrived.
#[derive(Debug, Clone, Default)]
pub struct ApplicationInput {
    pub applicant_name: Option<String>,
    pub id_card: Option<String>,
    pub phone: Option<String>,
    /// The district's short name (历下区).
    pub district: Option<String>,
    pub household_size: Option<String>,
    /// Monthly household income in yuan.
    pub household_income: Option<String>,
    pub hardship: Option<String>,
    pub diagnosis: Option<String>,
    pub hospital: Option<String>,
    pub bank_name: Option<String>,
    pub bank_account: Option<String>,
    /// Yuan; empty = the standard grant.
    pub amount: Option<String>,
    /// One per required document, in the programme's order (`None` = missing).
    pub documents: Vec<Option<FileInput>>,
    /// The version of the separate consent to process health information the
    /// applicant ticked ([`crate::privacy::HEALTH_CONSENT_VERSION`]); `None`: not ticked.
    pub health_consent: Option<String>,
}

/// A validated application.
#[derive(Debug, Clone)]
pub struct Application {
    pub applicant_name: String,
    pub id_card: IdCardNo,
    pub phone: Phone,
    pub district: String,
    pub household_size: u32,
    pub household_income: Fen,
    pub hardship: Option<String>,
    pub diagnosis: String,
    pub hospital: Option<String>,
    pub bank_name: Option<String>,
    pub bank_account: Option<String>,
    pub amount: Fen,
    /// (document name, file), in the programme's order.
    pub documents: Vec<(String, Attachment)>,
    /// The version of the separate consent given for the health information
    /// (always present: a diagnosis is required).
    pub health_consent: Option<String>,
}

/// Whole years between `birth` and `today`.
pub fn age_on(birth: NaiveDate, today: NaiveDate) -> u32 {
    let mut years = today.year() - birth.year();
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    u32::try_from(years.max(0)).unwrap_or(0)
}

impl Application {
    /// Validates an application to a programme with these settings;
    /// `districts` are the city's district names.
    pub fn parse(input: &ApplicationInput, settings: &Settings, districts: &[String]) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let applicant_name = required_text(
            &mut e,
            "applicant_name",
            "申请人姓名",
            input.applicant_name.as_deref(),
            50,
        );
        let id_card = match input.id_card.as_deref().map(str::trim) {
            None | Some("") => {
                e.add("id_card", "请填写身份证号");
                None
            }
            Some(raw) => match IdCardNo::parse(raw) {
                Ok(id) => Some(id),
                Err(err) => {
                    e.add("id_card", format!("身份证号无效: {err}"));
                    None
                }
            },
        };
        let phone = match input.phone.as_deref().map(str::trim) {
            None | Some("") => {
                e.add("phone", "请填写联系电话");
                None
            }
            Some(raw) => match Phone::parse(raw) {
                Ok(p) => Some(p),
                Err(_) => {
                    e.add("phone", "手机号码须为 11 位数字, 以 1 开头");
                    None
                }
            },
        };
        let district = match input.district.as_deref().map(str::trim) {
            None | Some("") => {
                e.add("district", "请选择居住区县");
                None
            }
            Some(d) if districts.iter().any(|x| x == d) => Some(d.to_owned()),
            Some(_) => {
                e.add("district", "区县不在本市范围内");
                None
            }
        };
        let household_size = match input.household_size.as_deref().map(str::trim).unwrap_or_default() {
            "" => {
                e.add("household_size", "请填写家庭人口数");
                None
            }
            raw => match raw.parse::<u32>() {
                Ok(n) if (1..=20).contains(&n) => Some(n),
                _ => {
                    e.add("household_size", "家庭人口数须为 1–20");
                    None
                }
            },
        };
        let household_income = match input.household_income.as_deref().map(str::trim).unwrap_or_default() {
            "" => {
                e.add("household_income", "请填写家庭月总收入 (元), 无收入填 0");
                None
            }
            raw => match parse_yuan(raw) {
                Some(f) if f.0 <= 100_000_000 => Some(f),
                _ => {
                    e.add("household_income", "家庭月总收入须为金额 (元), 最多两位小数");
                    None
                }
            },
        };
        let hardship = match input.hardship.as_deref().map(str::trim).unwrap_or_default() {
            "" | "无" => None,
            h if HARDSHIP.contains(&h) => Some(h.to_owned()),
            _ => {
                e.add("hardship", "困难类别无效");
                None
            }
        };
        let diagnosis = required_text(&mut e, "diagnosis", "诊断", input.diagnosis.as_deref(), 100);
        let hospital = optional_text(&mut e, "hospital", "医院", input.hospital.as_deref(), 100);
        if settings.payee == Payee::Hospital && hospital.is_none() && e.for_field("hospital").is_none() {
            e.add("hospital", "本项目救助款拨付给医院, 请填写医院");
        }
        let health_consent =
            if crate::privacy::has_health_information(input.diagnosis.as_deref(), input.hospital.as_deref()) {
                match input.health_consent.as_deref().map(str::trim) {
                    Some(v) if v == crate::privacy::HEALTH_CONSENT_VERSION => Some(v.to_owned()),
                    Some(v) if !v.is_empty() => {
                        e.add("health_consent", "同意书已更新, 请阅读后重新勾选");
                        None
                    }
                    _ => {
                        e.add("health_consent", crate::privacy::HEALTH_CONSENT_MISSING);
                        None
                    }
                }
            } else {
                None
            };
        let bank_name = optional_text(&mut e, "bank_name", "开户银行", input.bank_name.as_deref(), 50);
        let bank_account: Option<String> = input
            .bank_account
            .as_deref()
            .map(|a| a.chars().filter(|c| !c.is_whitespace()).collect::<String>())
            .filter(|a| !a.is_empty());
        let bank_account = match bank_account {
            Some(a) if (12..=30).contains(&a.len()) && a.chars().all(|c| c.is_ascii_digit()) => Some(a),
            Some(_) => {
                e.add("bank_account", "银行账号须为 12–30 位数字");
                None
            }
            None => {
                if settings.payee == Payee::Person {
                    e.add("bank_account", "本项目救助款拨付给个人, 请填写银行账号");
                }
                None
            }
        };
        let amount = match input.amount.as_deref().map(str::trim).unwrap_or_default() {
            "" => Some(settings.standard_grant),
            raw => match parse_yuan(raw) {
                Some(f) if f.0 > 0 && f <= settings.max_grant => Some(f),
                Some(f) if f.0 > 0 => {
                    e.add(
                        "amount",
                        format!("申请金额超过本项目最高救助额 {}", settings.max_grant.display_yuan()),
                    );
                    None
                }
                _ => {
                    e.add("amount", "申请金额须为大于 0 的金额 (元)");
                    None
                }
            },
        };
        let mut documents = Vec::new();
        for (i, name) in settings.documents.iter().enumerate() {
            let field = format!("documents[{i}]");
            match input.documents.get(i).and_then(Option::as_ref) {
                None => e.add(&field, format!("请上传{name}")),
                Some(file) => {
                    let mut fe = FieldErrors::new();
                    if file.bytes.len() > MAX_ATTACHMENT_BYTES {
                        e.add(&field, format!("{name}: 文件不能超过 5 MB"));
                    } else if let Some(a) = parse_file(&mut fe, file) {
                        documents.push((name.clone(), a));
                    } else {
                        for err in fe.0 {
                            e.add(&field, format!("{name}: {}", err.message));
                        }
                    }
                }
            }
        }
        match (
            applicant_name,
            id_card,
            phone,
            district,
            household_size,
            household_income,
            diagnosis,
            amount,
        ) {
            (
                Some(applicant_name),
                Some(id_card),
                Some(phone),
                Some(district),
                Some(size),
                Some(income),
                Some(diagnosis),
                Some(amount),
            ) if e.is_empty() => Ok(Application {
                applicant_name,
                id_card,
                phone,
                district,
                household_size: size,
                household_income: income,
                hardship,
                diagnosis,
                hospital,
                bank_name,
                bank_account,
                amount,
                documents,
                health_consent,
            }),
            _ => Err(e),
        }
    }

    /// Income per head per month (rounded down to the fen).
    pub fn income_per_head(&self) -> Fen {
        Fen(self.household_income.0 / i64::from(self.household_size.max(1)))
    }

    /// The facts the eligibility rule sees.
    pub fn facts(&self, today: NaiveDate, months_since_aid: Option<u32>) -> rules::Facts {
        rules::Facts {
            district: self.district.clone(),
            income_per_head: self.income_per_head(),
            hardship: self.hardship.clone(),
            diagnosis: self.diagnosis.clone(),
            age: age_on(self.id_card.birth_date(), today),
            months_since_aid,
        }
    }
}

/// Whole months from `earlier` to `later` (0 within the first month).
pub fn months_between(earlier: NaiveDate, later: NaiveDate) -> u32 {
    let mut m = (later.year() - earlier.year()) * 12 + later.month() as i32 - earlier.month() as i32;
    if later.day() < earlier.day() {
        m -= 1;
    }
    u32::try_from(m.max(0)).unwrap_or(0)
}

/// What the figures need of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFigure {
    pub status: review::CaseStatus,
    pub district: String,
    /// `YYYY-MM` the case was filed (China time).
    pub month: String,
    /// The person's keyed hash.
    pub person: String,
    pub paid: Fen,
}

/// One line of figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub applications: u64,
    /// Approved (paid or waiting for payment).
    pub approved: u64,
    pub paid: u64,
    pub paid_fen: i64,
    /// Distinct people paid.
    pub people: u64,
}

/// A programme's figures, overall, by district and by month filed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    pub total: Tally,
    pub by_district: BTreeMap<String, Tally>,
    pub by_month: BTreeMap<String, Tally>,
}

fn tally<'a>(cases: impl Iterator<Item = &'a CaseFigure>) -> Tally {
    let mut t = Tally::default();
    let mut people = BTreeSet::new();
    for c in cases {
        t.applications += 1;
        if matches!(c.status, review::CaseStatus::Approved | review::CaseStatus::Paid) {
            t.approved += 1;
        }
        if c.status == review::CaseStatus::Paid {
            t.paid += 1;
            t.paid_fen += c.paid.0;
            people.insert(c.person.as_str());
        }
    }
    t.people = people.len() as u64;
    t
}

/// Counts the figures of a set of cases.
pub fn figures(cases: &[CaseFigure]) -> Figures {
    let districts: BTreeSet<&str> = cases.iter().map(|c| c.district.as_str()).collect();
    let months: BTreeSet<&str> = cases.iter().map(|c| c.month.as_str()).collect();
    Figures {
        total: tally(cases.iter()),
        by_district: districts
            .into_iter()
            .map(|d| (d.to_owned(), tally(cases.iter().filter(|c| c.district == d))))
            .collect(),
        by_month: months
            .into_iter()
            .map(|m| (m.to_owned(), tally(cases.iter().filter(|c| c.month == m))))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::identity::id_card_check_char;

    fn settings() -> Settings {
        Settings {
            yearly_budget: Fen(100_000_000),
            documents: vec!["身份证".into(), "诊断证明".into()],
            standard_grant: Fen(300_000),
            max_grant: Fen(1_000_000),
            payee: Payee::Person,
            rule: rules::Rule::default(),
            flow: review::Flow::default(),
        }
    }

    fn id(birth: &str) -> String {
        let body = format!("370102{birth}123");
        format!("{body}{}", id_card_check_char(&body).unwrap_or('0'))
    }

    fn input() -> ApplicationInput {
        ApplicationInput {
            applicant_name: Some("张三".into()),
            id_card: Some(id("19590312")),
            phone: Some("13800000000".into()),
            district: Some("历下区".into()),
            household_size: Some("3".into()),
            household_income: Some("2400".into()),
            hardship: Some("低保".into()),
            diagnosis: Some("白内障".into()),
            hospital: None,
            bank_name: None,
            bank_account: Some("6222 0000 1111 2222".into()),
            amount: None,
            documents: vec![
                Some(FileInput {
                    name: "id.png".into(),
                    bytes: b"\x89PNG\r\n\x1a\nxx".to_vec(),
                }),
                Some(FileInput {
                    name: "d.pdf".into(),
                    bytes: b"%PDF-1.4 x".to_vec(),
                }),
            ],
            health_consent: Some(crate::privacy::HEALTH_CONSENT_VERSION.into()),
        }
    }

    #[test]
    fn health_information_needs_the_separate_consent() {
        let districts = vec!["历下区".to_owned()];
        let mut i = input();
        i.health_consent = None;
        let e = Application::parse(&i, &settings(), &districts)
            .err()
            .unwrap_or_default();
        assert_eq!(
            e.for_field("health_consent"),
            Some(crate::privacy::HEALTH_CONSENT_MISSING)
        );
        i.health_consent = Some("health-2020-01".into());
        let e = Application::parse(&i, &settings(), &districts)
            .err()
            .unwrap_or_default();
        assert!(e.for_field("health_consent").is_some_and(|m| m.contains("已更新")));
        let a = Application::parse(&input(), &settings(), &districts).ok();
        assert_eq!(
            a.and_then(|a| a.health_consent).as_deref(),
            Some(crate::privacy::HEALTH_CONSENT_VERSION)
        );
    }

    #[test]
    fn a_complete_application_parses() {
        let districts = vec!["历下区".to_owned()];
        let a = Application::parse(&input(), &settings(), &districts);
        let a = a.ok().unwrap_or_else(|| unreachable!());
        assert_eq!(a.amount, Fen(300_000));
        assert_eq!(a.income_per_head(), Fen(80_000));
        assert_eq!(a.bank_account.as_deref(), Some("6222000011112222"));
        let today = NaiveDate::from_ymd_opt(2026, 3, 11).unwrap_or_default();
        assert_eq!(a.facts(today, None).age, 66);
    }

    #[test]
    fn incomplete_and_bad_files_are_named() {
        let districts = vec!["历下区".to_owned()];
        let mut i = input();
        i.applicant_name = None;
        i.amount = Some("20000".into());
        i.documents[0] = None;
        i.documents[1] = Some(FileInput {
            name: "d.pdf".into(),
            bytes: b"GIF89a".to_vec(),
        });
        let e = Application::parse(&i, &settings(), &districts)
            .err()
            .unwrap_or_default();
        assert!(e.for_field("applicant_name").is_some());
        assert!(e.for_field("amount").is_some_and(|m| m.contains("最高")));
        assert_eq!(e.for_field("documents[0]"), Some("请上传身份证"));
        assert_eq!(e.for_field("documents[1]"), Some("诊断证明: 附件内容与文件类型不符"));
    }

    #[test]
    fn figures_count_paid_people_once() {
        let c = |status, d: &str, m: &str, p: &str, paid| CaseFigure {
            status,
            district: d.into(),
            month: m.into(),
            person: p.into(),
            paid: Fen(paid),
        };
        use review::CaseStatus::*;
        let cases = [
            c(Paid, "历下区", "2026-01", "a", 100),
            c(Paid, "历下区", "2026-02", "a", 50),
            c(Approved, "市中区", "2026-02", "b", 0),
            c(Rejected, "市中区", "2026-02", "c", 0),
        ];
        let f = figures(&cases);
        assert_eq!(
            f.total,
            Tally {
                applications: 4,
                approved: 3,
                paid: 2,
                paid_fen: 150,
                people: 1
            }
        );
        assert_eq!(f.by_district["市中区"].applications, 2);
        assert_eq!(f.by_month["2026-02"].paid_fen, 50);
    }

    #[test]
    fn months() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default();
        assert_eq!(months_between(d(2025, 1, 15), d(2025, 7, 14)), 5);
        assert_eq!(months_between(d(2025, 1, 15), d(2025, 7, 15)), 6);
    }
}
