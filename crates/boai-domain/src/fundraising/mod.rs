//! Gifts and donors as they enter: a raw request becomes a
//! [`DonationForCreate`] or a list of field errors, never half of one.
//! Amounts are integer fen (a fraction or a string is a field error, not a
//! rounding); a gift of goods carries its valuation as its amount; a donor
//! is a person, an organisation, or nobody (anonymous). ID numbers are
//! validated here and never leave this layer unmasked except to be encrypted.

pub mod major_donors;
pub mod payments;
pub mod plan;
pub mod reconciliation;

use crate::funds::{check_amount, MAX_AMOUNT};
use crate::ids::ProjectId;
use crate::money::Fen;
use crate::validation::identity::{CreditCode, IdCardNo, Phone};
use crate::validation::{optional_text, required_text, FieldErrors};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// How a gift arrived (CONTRACT.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Cash,
    Cheque,
    BankTransfer,
    Online,
    Wechat,
    Alipay,
    Goods,
}

impl Channel {
    pub const ALL: [Channel; 7] = [
        Channel::Cash,
        Channel::Cheque,
        Channel::BankTransfer,
        Channel::Online,
        Channel::Wechat,
        Channel::Alipay,
        Channel::Goods,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Cash => "cash",
            Channel::Cheque => "cheque",
            Channel::BankTransfer => "bank_transfer",
            Channel::Online => "online",
            Channel::Wechat => "wechat",
            Channel::Alipay => "alipay",
            Channel::Goods => "goods",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Channel::Cash => "现金",
            Channel::Cheque => "支票",
            Channel::BankTransfer => "银行转账",
            Channel::Online => "网络捐赠",
            Channel::Wechat => "微信",
            Channel::Alipay => "支付宝",
            Channel::Goods => "物资",
        }
    }

    /// Whether staff may record it as received in hand. Online channels are
    /// confirmed only by a verified payment notification.
    pub fn recordable_by_staff(self) -> bool {
        !matches!(self, Channel::Online | Channel::Wechat | Channel::Alipay)
    }
}

/// The raw donor of a request.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DonorInput {
    pub kind: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub id_card_no: Option<String>,
    pub credit_code: Option<String>,
    /// Consent to being named in public lists.
    pub public: Option<bool>,
}

/// A validated donor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DonorForCreate {
    Person {
        name: String,
        phone: Option<Phone>,
        id_card: Option<IdCardNo>,
        public: bool,
    },
    Organisation {
        name: String,
        credit_code: Option<CreditCode>,
        public: bool,
    },
}

impl DonorForCreate {
    pub fn name(&self) -> &str {
        match self {
            DonorForCreate::Person { name, .. } | DonorForCreate::Organisation { name, .. } => name,
        }
    }

    pub fn kind(&self) -> DonorKind {
        match self {
            DonorForCreate::Person { .. } => DonorKind::Person,
            DonorForCreate::Organisation { .. } => DonorKind::Organisation,
        }
    }

    pub fn public(&self) -> bool {
        match self {
            DonorForCreate::Person { public, .. } | DonorForCreate::Organisation { public, .. } => *public,
        }
    }

    fn parse(errors: &mut FieldErrors, input: &DonorInput) -> Option<DonorForCreate> {
        let kind = input.kind.as_deref().map(str::trim).unwrap_or("person");
        match kind {
            "person" => {
                let name = required_text(errors, "donor.name", "捐赠人姓名", input.name.as_deref(), 50);
                let phone = match input.phone.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                    None => None,
                    Some(raw) => match Phone::parse(raw) {
                        Ok(p) => Some(p),
                        Err(e) => {
                            errors.add("donor.phone", e.to_string());
                            None
                        }
                    },
                };
                let id_card = match input.id_card_no.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                    None => None,
                    Some(raw) => match IdCardNo::parse(raw) {
                        Ok(id) => Some(id),
                        Err(e) => {
                            errors.add("donor.id_card_no", e.to_string());
                            None
                        }
                    },
                };
                if input.credit_code.as_deref().is_some_and(|s| !s.trim().is_empty()) {
                    errors.add("donor.credit_code", "个人捐赠人不填统一社会信用代码");
                }
                Some(DonorForCreate::Person {
                    name: name?,
                    phone,
                    id_card,
                    public: input.public.unwrap_or(false),
                })
            }
            "organisation" => {
                let name = required_text(errors, "donor.name", "单位名称", input.name.as_deref(), 100);
                let credit_code = match input.credit_code.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                    None => None,
                    Some(raw) => match CreditCode::parse(raw) {
                        Ok(c) => Some(c),
                        Err(e) => {
                            errors.add("donor.credit_code", e.to_string());
                            None
                        }
                    },
                };
                if input.id_card_no.as_deref().is_some_and(|s| !s.trim().is_empty()) {
                    errors.add("donor.id_card_no", "单位捐赠人不填身份证号码");
                }
                Some(DonorForCreate::Organisation {
                    name: name?,
                    credit_code,
                    public: input.public.unwrap_or(true),
                })
            }
            _ => {
                errors.add("donor.kind", "捐赠人类型应为 person 或 organisation");
                None
            }
        }
    }
}

/// Person or organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DonorKind {
    Person,
    Organisation,
}

impl DonorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DonorKind::Person => "person",
            DonorKind::Organisation => "organisation",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "person" => Some(DonorKind::Person),
            "organisation" => Some(DonorKind::Organisation),
            _ => None,
        }
    }
}

/// The name the public may see: an organisation's name or a consenting
/// person's; otherwise the surname and asterisks; `匿名` for nobody.
pub fn public_name(kind: Option<DonorKind>, name: Option<&str>, public: bool) -> String {
    match (kind, name) {
        (None, _) | (_, None) => "匿名".to_owned(),
        (Some(_), Some(name)) if public => name.to_owned(),
        (Some(DonorKind::Organisation), Some(_)) => "爱心单位".to_owned(),
        (Some(DonorKind::Person), Some(name)) => crate::privacy::mask::person_name(name),
    }
}

/// The raw goods of a gift of goods.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GoodsInput {
    pub item: Option<String>,
    pub quantity: Option<serde_json::Value>,
    pub unit: Option<String>,
    pub value_fen: Option<serde_json::Value>,
    pub lot: Option<String>,
    pub expires_on: Option<String>,
}

/// Validated goods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Goods {
    pub item: String,
    pub quantity: i64,
    pub unit: String,
    pub value: Fen,
    pub lot: Option<String>,
    pub expires_on: Option<NaiveDate>,
}

impl Goods {
    pub fn describe(&self) -> String {
        format!("{} {} {}, 估值 {}", self.item, self.quantity, self.unit, self.value)
    }
}

/// The raw fields of a gift.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DonationInput {
    pub project_id: Option<String>,
    /// Kept raw so that `12.5` or `"100"` is a field error, not a 400.
    pub amount_fen: Option<serde_json::Value>,
    pub channel: Option<String>,
    pub donor: Option<DonorInput>,
    pub goods: Option<GoodsInput>,
    /// The day it was received (default: today).
    pub received_on: Option<String>,
    pub note: Option<String>,
}

/// A validated gift (the project still to be checked as open).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DonationForCreate {
    pub project_id: ProjectId,
    pub amount: Fen,
    pub channel: Channel,
    pub donor: Option<DonorForCreate>,
    pub goods: Option<Goods>,
    pub received_on: Option<NaiveDate>,
    pub note: Option<String>,
}

/// A positive integer number of fen, or a field error.
pub fn parse_fen(errors: &mut FieldErrors, field: &str, raw: Option<&serde_json::Value>) -> Option<Fen> {
    match raw {
        None | Some(serde_json::Value::Null) => {
            errors.add(field, "请填写金额 (单位: 分)");
            None
        }
        Some(serde_json::Value::Number(n)) => match n.as_i64() {
            Some(v) => match check_amount(Fen(v)) {
                Ok(f) => Some(f),
                Err(_) => {
                    errors.add(field, format!("金额须大于 0 且不超过 {} (单位: 分)", MAX_AMOUNT.0));
                    None
                }
            },
            None => {
                errors.add(field, "金额须为整数 (单位: 分)");
                None
            }
        },
        Some(_) => {
            errors.add(field, "金额须为整数 (单位: 分)");
            None
        }
    }
}

/// A date `YYYY-MM-DD`, or a field error.
pub fn parse_date(errors: &mut FieldErrors, field: &str, raw: Option<&str>) -> Option<NaiveDate> {
    let raw = raw.map(str::trim).filter(|s| !s.is_empty())?;
    match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errors.add(field, "日期格式应为 YYYY-MM-DD");
            None
        }
    }
}

/// A project id, or a field error.
pub fn parse_project_id(errors: &mut FieldErrors, field: &str, raw: Option<&str>) -> Option<ProjectId> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => {
            errors.add(field, "请选择项目");
            None
        }
        Some(raw) => match raw.parse::<ProjectId>() {
            Ok(id) => Some(id),
            Err(_) => {
                errors.add(field, "项目不存在");
                None
            }
        },
    }
}

impl DonationForCreate {
    /// Validates every field of a gift that staff record as received.
    pub fn parse(input: &DonationInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let project_id = parse_project_id(&mut errors, "project_id", input.project_id.as_deref());
        let channel = match input.channel.as_deref().map(str::trim) {
            None | Some("") => {
                errors.add("channel", "请选择捐赠方式");
                None
            }
            Some(raw) => match Channel::parse(raw) {
                Some(c) if c.recordable_by_staff() => Some(c),
                Some(_) => {
                    errors.add(
                        "channel",
                        "网络、微信、支付宝捐赠须经支付平台到账通知确认, 不能手工录入",
                    );
                    None
                }
                None => {
                    errors.add("channel", "捐赠方式无效");
                    None
                }
            },
        };
        let goods = match (&input.goods, channel) {
            (Some(g), _) => parse_goods(&mut errors, g),
            (None, Some(Channel::Goods)) => {
                errors.add("goods", "物资捐赠须填写物资信息");
                None
            }
            (None, _) => None,
        };
        if goods.is_some() && channel.is_some_and(|c| c != Channel::Goods) {
            errors.add("channel", "物资捐赠的方式应为 goods");
        }
        let amount = match (&goods, &input.amount_fen) {
            (Some(g), None) => Some(g.value),
            (Some(g), Some(raw)) => {
                let amount = parse_fen(&mut errors, "amount_fen", Some(raw));
                if amount.is_some_and(|a| a != g.value) {
                    errors.add("amount_fen", "物资捐赠的金额应等于物资估值");
                }
                amount
            }
            (None, raw) => parse_fen(&mut errors, "amount_fen", raw.as_ref()),
        };
        let donor = input.donor.as_ref().and_then(|d| DonorForCreate::parse(&mut errors, d));
        let received_on = parse_date(&mut errors, "received_on", input.received_on.as_deref());
        let note = optional_text(&mut errors, "note", "备注", input.note.as_deref(), 500);
        match (project_id, channel, amount) {
            (Some(project_id), Some(channel), Some(amount)) if errors.is_empty() => Ok(DonationForCreate {
                project_id,
                amount,
                channel,
                donor,
                goods,
                received_on,
                note,
            }),
            _ => Err(errors),
        }
    }
}

fn parse_goods(errors: &mut FieldErrors, g: &GoodsInput) -> Option<Goods> {
    let item = required_text(errors, "goods.item", "物资名称", g.item.as_deref(), 100);
    let unit = required_text(errors, "goods.unit", "计量单位", g.unit.as_deref(), 20);
    let quantity = match g.quantity.as_ref().and_then(serde_json::Value::as_i64) {
        Some(q) if (1..=1_000_000_000).contains(&q) => Some(q),
        _ => {
            errors.add("goods.quantity", "数量须为正整数");
            None
        }
    };
    let value = parse_fen(errors, "goods.value_fen", g.value_fen.as_ref());
    let lot = optional_text(errors, "goods.lot", "批号", g.lot.as_deref(), 50);
    let expires_on = parse_date(errors, "goods.expires_on", g.expires_on.as_deref());
    Some(Goods {
        item: item?,
        quantity: quantity?,
        unit: unit?,
        value: value?,
        lot,
        expires_on,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(v: serde_json::Value) -> DonationInput {
        serde_json::from_value(v).unwrap_or_default()
    }

    #[test]
    fn a_plain_bank_transfer() {
        let p = ProjectId::new();
        let d = DonationForCreate::parse(&input(json!({
            "project_id": p.to_string(), "amount_fen": 123456, "channel": "bank_transfer",
            "donor": {"kind": "person", "name": "张三", "phone": "13800138000", "id_card_no": "11010519491231002X"}
        })));
        let d = d.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.amount, Fen(123456));
        assert!(matches!(d.donor, Some(DonorForCreate::Person { ref id_card, .. }) if id_card.is_some()));
    }

    #[test]
    fn bad_amounts_are_field_errors() {
        for bad in [
            json!(0),
            json!(-5),
            json!(12.5),
            json!("100"),
            json!(100_000_000_001i64),
            json!(null),
        ] {
            let e = DonationForCreate::parse(&input(json!({
                "project_id": ProjectId::new().to_string(), "amount_fen": bad, "channel": "cash"
            })))
            .err()
            .unwrap_or_default();
            assert!(e.for_field("amount_fen").is_some(), "{bad}");
        }
    }

    #[test]
    fn bad_identity_numbers_are_field_errors() {
        let e = DonationForCreate::parse(&input(json!({
            "project_id": ProjectId::new().to_string(), "amount_fen": 100, "channel": "cash",
            "donor": {"kind": "person", "name": "李四", "id_card_no": "110105194912310021"}
        })))
        .err()
        .unwrap_or_default();
        assert!(e.for_field("donor.id_card_no").is_some());
        let e = DonationForCreate::parse(&input(json!({
            "project_id": ProjectId::new().to_string(), "amount_fen": 100, "channel": "cash",
            "donor": {"kind": "organisation", "name": "某公司", "credit_code": "91350100M000100Y44"}
        })))
        .err()
        .unwrap_or_default();
        assert!(e.for_field("donor.credit_code").is_some());
    }

    #[test]
    fn online_channels_need_a_payment_notification() {
        let e = DonationForCreate::parse(&input(json!({
            "project_id": ProjectId::new().to_string(), "amount_fen": 100, "channel": "wechat"
        })))
        .err()
        .unwrap_or_default();
        assert!(e.for_field("channel").is_some());
    }

    #[test]
    fn goods_carry_their_valuation() {
        let d = DonationForCreate::parse(&input(json!({
            "project_id": ProjectId::new().to_string(), "channel": "goods",
            "goods": {"item": "医用口罩", "quantity": 10000, "unit": "只", "value_fen": 500000, "lot": "A1", "expires_on": "2028-01-31"}
        })))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.amount, Fen(500000));
        let e = DonationForCreate::parse(&input(
            json!({"project_id": ProjectId::new().to_string(), "channel": "goods"}),
        ))
        .err()
        .unwrap_or_default();
        assert!(e.for_field("goods").is_some());
    }

    #[test]
    fn public_names() {
        assert_eq!(public_name(None, None, false), "匿名");
        assert_eq!(public_name(Some(DonorKind::Person), Some("张三丰"), false), "张**");
        assert_eq!(public_name(Some(DonorKind::Person), Some("张三丰"), true), "张三丰");
        assert_eq!(
            public_name(Some(DonorKind::Organisation), Some("某公司"), true),
            "某公司"
        );
    }
}
