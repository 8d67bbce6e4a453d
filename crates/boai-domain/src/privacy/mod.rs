//! Personal information (个人信息保护法, PIPL): what a person may ask of the
//! society and the rules that answer them, with no I/O.
//!
//! Rules:
//! - A person is found by their 身份证 number (through its keyed hash, never
//!   the number itself) or by their mobile phone: [`Subject::parse`].
//! - An export holds only the records found for that number, within the
//!   caller's scope; it is audited as an access to personal data.
//! - Anonymisation replaces names and erases phones, ID numbers, addresses and
//!   bank accounts; amounts, projects, journal and ledger entries stay as they
//!   are (the ledger holds only commitments and pseudonyms). It is refused as a
//!   whole, with every reason, while a record is under a duty to keep it
//!   ([`Retention`]): a relief case still open, a member with unpaid dues.
//! - Sensitive personal information (health data in relief applications)
//!   needs a separate, explicit consent: [`HEALTH_CONSENT_VERSION`] and its
//!   text are recorded with the time it was given.
//! - Masking of every kind lives in [`mask`].

pub mod mask;

use crate::validation::identity::{IdCardNo, Phone};
use crate::validation::FieldErrors;
use serde::{Deserialize, Serialize};

/// The version of the separate consent to process health information.
pub const HEALTH_CONSENT_VERSION: &str = "health-2026-11";

/// The consent's text, as the form shows it (its version is [`HEALTH_CONSENT_VERSION`]).
pub const HEALTH_CONSENT_TEXT: &str = "本人同意红十字会为审核和实施人道救助, 处理本申请中的诊断、就医等健康信息 (敏感个人信息); 这些信息仅用于本次救助, 不公开, 按规定期限保存。";

/// The error shown when health information comes without that consent.
pub const HEALTH_CONSENT_MISSING: &str = "填写诊断等健康信息须单独勾选同意处理敏感个人信息";

/// What a name becomes after anonymisation.
pub const ANONYMISED_NAME: &str = "已匿名化";

/// Whom a request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    IdCard(IdCardNo),
    Phone(Phone),
}

impl Subject {
    /// Reads `id_card_no` or `phone` (exactly one); errors name the field.
    pub fn parse(id_card_no: Option<&str>, phone: Option<&str>) -> Result<Subject, FieldErrors> {
        let id = id_card_no.map(str::trim).filter(|s| !s.is_empty());
        let phone = phone.map(str::trim).filter(|s| !s.is_empty());
        let mut e = FieldErrors::new();
        let subject = match (id, phone) {
            (Some(_), Some(_)) => {
                e.add("id_card_no", "身份证号与手机号只填一项");
                None
            }
            (None, None) => {
                e.add("id_card_no", "请填写身份证号或手机号");
                None
            }
            (Some(raw), None) => match IdCardNo::parse(raw) {
                Ok(id) => Some(Subject::IdCard(id)),
                Err(err) => {
                    e.add("id_card_no", format!("身份证号无效: {err}"));
                    None
                }
            },
            (None, Some(raw)) => match Phone::parse(raw) {
                Ok(p) => Some(Subject::Phone(p)),
                Err(_) => {
                    e.add("phone", "手机号码须为 11 位数字, 以 1 开头");
                    None
                }
            },
        };
        match subject {
            Some(s) if e.is_empty() => Ok(s),
            _ => Err(e),
        }
    }

    /// The masked form, for the request record and the audit trail.
    pub fn masked(&self) -> String {
        match self {
            Subject::IdCard(id) => id.masked(),
            Subject::Phone(p) => p.masked(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Subject::IdCard(_) => "id_card",
            Subject::Phone(_) => "phone",
        }
    }
}

/// What a person asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// 查阅复制: a copy of what the society holds.
    Export,
    /// 删除/匿名化.
    Anonymise,
}

impl RequestKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Export => "export",
            RequestKind::Anonymise => "anonymise",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "export" => Some(RequestKind::Export),
            "anonymise" => Some(RequestKind::Anonymise),
            _ => None,
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            RequestKind::Export => "查阅复制",
            RequestKind::Anonymise => "删除(匿名化)",
        }
    }
}

/// A duty to keep a record that stops anonymisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Retention {
    /// A relief case still being reviewed or waiting for payment.
    OpenReliefCase { case_no: String, status: String },
    /// A member owing dues.
    UnpaidDues { member_no: String, years: u32 },
}

impl Retention {
    /// The reason, in Chinese.
    pub fn reason_zh(&self) -> String {
        match self {
            Retention::OpenReliefCase { case_no, status } => {
                format!("救助个案 {case_no} 尚未办结 ({status}), 须保留申请人信息")
            }
            Retention::UnpaidDues { member_no, years } => {
                format!("会员 {member_no} 尚欠 {years} 年会费, 须保留会员信息")
            }
        }
    }
}

/// Relief case statuses that are settled (no duty to keep the applicant's details for the case).
pub fn relief_case_settled(status: &str) -> bool {
    use crate::relief::review::CaseStatus;
    matches!(CaseStatus::parse(status), Some(CaseStatus::Paid | CaseStatus::Rejected))
}

/// Whether an application carries health information (a diagnosis or a
/// hospital), which needs the separate consent.
pub fn has_health_information(diagnosis: Option<&str>, hospital: Option<&str>) -> bool {
    [diagnosis, hospital]
        .into_iter()
        .any(|v| v.is_some_and(|s| !s.trim().is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_is_an_id_number_or_a_phone() {
        assert!(matches!(
            Subject::parse(Some("11010519491231002X"), None),
            Ok(Subject::IdCard(_))
        ));
        assert!(matches!(
            Subject::parse(None, Some("138 0013 8000")),
            Ok(Subject::Phone(_))
        ));
        assert!(Subject::parse(None, None).is_err());
        assert!(Subject::parse(Some("11010519491231002X"), Some("13800138000")).is_err());
        let bad = Subject::parse(Some("110105194912310021"), None);
        assert!(bad.is_err_and(|e| e.for_field("id_card_no").is_some()));
        let masked = Subject::parse(Some("11010519491231002X"), None).map(|s| s.masked());
        assert_eq!(masked.ok().as_deref(), Some("110***********002X"));
    }

    #[test]
    fn retention_reasons_are_chinese() {
        let r = Retention::UnpaidDues {
            member_no: "JN-1".to_owned(),
            years: 2,
        };
        assert!(r.reason_zh().contains("2 年会费"));
        assert!(relief_case_settled("paid"));
        assert!(!relief_case_settled("reviewing"));
    }

    #[test]
    fn health_information_is_a_diagnosis_or_a_hospital() {
        assert!(has_health_information(Some("白内障"), None));
        assert!(has_health_information(None, Some("省立医院")));
        assert!(!has_health_information(Some("  "), None));
    }
}
