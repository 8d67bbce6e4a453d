//! Eligibility rules as data: conditions of the form field / operator /
//! value, combined with all / any, stored as JSON and explained in Chinese
//! words ("不符合: 申请人年龄 67 岁, 本项目要求 0–18 岁"). Values are kept
//! as the text staff typed in the rule form (lists separated by `,` or `、`,
//! yuan for money, `a-b` for an age band), checked by [`Rule::check`].

use crate::money::{parse_yuan, Fen};
use crate::validation::FieldErrors;
use serde::{Deserialize, Serialize};

/// How conditions combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Combine {
    /// Every condition must hold.
    All,
    /// At least one condition must hold.
    Any,
}

impl Combine {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "all" => Some(Combine::All),
            "any" => Some(Combine::Any),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Combine::All => "all",
            Combine::Any => "any",
        }
    }
}

/// What a condition looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The district (区县) the applicant lives in: `in` a list of names.
    ResidenceDistrict,
    /// Household income per head per month: `lt` a line in yuan.
    IncomePerHead,
    /// Hardship status (低保, 特困, 低收入…): `in` a list.
    Hardship,
    /// The diagnosis: `in` a list (a listed term contained in the diagnosis).
    Diagnosis,
    /// The applicant's age in whole years (from the ID number): `between` `a-b`.
    Age,
    /// No aid paid by the same programme within N months: `none_within` N.
    RecentAid,
}

impl Field {
    pub const ALL: [Field; 6] = [
        Field::ResidenceDistrict,
        Field::IncomePerHead,
        Field::Hardship,
        Field::Diagnosis,
        Field::Age,
        Field::RecentAid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Field::ResidenceDistrict => "residence_district",
            Field::IncomePerHead => "income_per_head",
            Field::Hardship => "hardship",
            Field::Diagnosis => "diagnosis",
            Field::Age => "age",
            Field::RecentAid => "recent_aid",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Field::ResidenceDistrict => "居住区县",
            Field::IncomePerHead => "家庭月人均收入",
            Field::Hardship => "困难类别",
            Field::Diagnosis => "诊断",
            Field::Age => "年龄",
            Field::RecentAid => "近期受助",
        }
    }

    /// The one operator this field takes.
    pub fn operator(self) -> Op {
        match self {
            Field::ResidenceDistrict | Field::Hardship | Field::Diagnosis => Op::In,
            Field::IncomePerHead => Op::Lt,
            Field::Age => Op::Between,
            Field::RecentAid => Op::NoneWithinMonths,
        }
    }
}

/// How a condition compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    In,
    Lt,
    Between,
    NoneWithinMonths,
}

impl Op {
    pub const ALL: [Op; 4] = [Op::In, Op::Lt, Op::Between, Op::NoneWithinMonths];

    pub fn as_str(self) -> &'static str {
        match self {
            Op::In => "in",
            Op::Lt => "lt",
            Op::Between => "between",
            Op::NoneWithinMonths => "none_within_months",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Op::In => "属于",
            Op::Lt => "低于",
            Op::Between => "介于",
            Op::NoneWithinMonths => "N 个月内未受助",
        }
    }
}

/// One condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    pub field: Field,
    pub op: Op,
    pub value: String,
}

/// A programme's eligibility rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub combine: Combine,
    pub conditions: Vec<Condition>,
}

impl Default for Rule {
    fn default() -> Self {
        Rule {
            combine: Combine::All,
            conditions: Vec::new(),
        }
    }
}

/// What the rule is evaluated against.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Facts {
    /// The district's short name (历下区).
    pub district: String,
    pub income_per_head: Fen,
    /// `None`: no hardship status.
    pub hardship: Option<String>,
    pub diagnosis: String,
    pub age: u32,
    /// Whole months since the same programme last paid this person, if ever.
    pub months_since_aid: Option<u32>,
}

/// The rule's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub eligible: bool,
    /// Why not, in Chinese, one line per failing condition.
    pub reasons: Vec<String>,
}

impl Verdict {
    /// The explanation as one line: `不符合: …; …`.
    pub fn explanation(&self) -> String {
        if self.eligible {
            "符合本项目救助条件".to_owned()
        } else {
            format!("不符合: {}", self.reasons.join("; "))
        }
    }
}

/// A list value: items separated by `,`, `，` or `、`, trimmed, empty dropped.
pub fn list(value: &str) -> Vec<String> {
    value
        .split([',', '，', '、'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An age band `a-b` (also `a–b`, `a~b`).
pub fn band(value: &str) -> Option<(u32, u32)> {
    let (a, b) = value.split_once(['-', '–', '~'])?;
    let (a, b) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (a <= b && b <= 150).then_some((a, b))
}

impl Condition {
    /// Whether the value makes sense for the field and operator.
    fn problem(&self) -> Option<String> {
        let label = self.field.label_zh();
        if self.op != self.field.operator() {
            return Some(format!("「{label}」只能用「{}」比较", self.field.operator().label_zh()));
        }
        match self.field {
            Field::ResidenceDistrict | Field::Hardship | Field::Diagnosis => {
                (list(&self.value).is_empty()).then(|| format!("「{label}」须列出至少一项, 用逗号分隔"))
            }
            Field::IncomePerHead => match parse_yuan(self.value.trim()) {
                Some(f) if f.0 > 0 => None,
                _ => Some(format!("「{label}」须为大于 0 的金额 (元)")),
            },
            Field::Age => band(&self.value)
                .is_none()
                .then(|| format!("「{label}」须写成 最小-最大 (如 0-18)")),
            Field::RecentAid => match self.value.trim().parse::<u32>() {
                Ok(n) if (1..=120).contains(&n) => None,
                _ => Some(format!("「{label}」须为 1–120 的月数")),
            },
        }
    }

    /// `None` when the facts meet the condition, else why not.
    pub fn failure(&self, facts: &Facts) -> Option<String> {
        match self.field {
            Field::ResidenceDistrict => {
                let allowed = list(&self.value);
                (!allowed.contains(&facts.district)).then(|| {
                    format!(
                        "申请人居住在{}, 本项目限 {}",
                        if facts.district.is_empty() {
                            "未填写的区县"
                        } else {
                            &facts.district
                        },
                        allowed.join("、")
                    )
                })
            }
            Field::IncomePerHead => {
                let line = parse_yuan(self.value.trim()).unwrap_or(Fen(0));
                (facts.income_per_head >= line).then(|| {
                    format!(
                        "家庭月人均收入 {}, 本项目要求低于 {}",
                        facts.income_per_head.display_yuan(),
                        line.display_yuan()
                    )
                })
            }
            Field::Hardship => {
                let allowed = list(&self.value);
                let ok = facts.hardship.as_ref().is_some_and(|h| allowed.contains(h));
                (!ok).then(|| {
                    format!(
                        "困难类别为{}, 本项目要求 {}",
                        facts.hardship.as_deref().unwrap_or("无"),
                        allowed.join("、")
                    )
                })
            }
            Field::Diagnosis => {
                let allowed = list(&self.value);
                let ok = allowed.iter().any(|d| facts.diagnosis.contains(d.as_str()));
                (!ok).then(|| {
                    format!(
                        "诊断「{}」不在本项目救助病种 ({}) 之内",
                        facts.diagnosis,
                        allowed.join("、")
                    )
                })
            }
            Field::Age => {
                let (min, max) = band(&self.value).unwrap_or((0, 0));
                (!(min..=max).contains(&facts.age))
                    .then(|| format!("申请人年龄 {} 岁, 本项目要求 {min}–{max} 岁", facts.age))
            }
            Field::RecentAid => {
                let months: u32 = self.value.trim().parse().unwrap_or(0);
                match facts.months_since_aid {
                    Some(m) if m < months => Some(format!(
                        "申请人 {m} 个月前已获本项目救助, 本项目要求间隔 {months} 个月以上"
                    )),
                    _ => None,
                }
            }
        }
    }

    /// The condition in words, for the programme page.
    pub fn describe(&self) -> String {
        match self.field {
            Field::ResidenceDistrict => format!("居住在 {}", list(&self.value).join("、")),
            Field::IncomePerHead => format!(
                "家庭月人均收入低于 {}",
                parse_yuan(self.value.trim()).unwrap_or(Fen(0)).display_yuan()
            ),
            Field::Hardship => format!("困难类别为 {}", list(&self.value).join("、")),
            Field::Diagnosis => format!("诊断属于 {}", list(&self.value).join("、")),
            Field::Age => {
                let (a, b) = band(&self.value).unwrap_or((0, 0));
                format!("年龄 {a}–{b} 岁")
            }
            Field::RecentAid => format!("{} 个月内未获本项目救助", self.value.trim()),
        }
    }
}

impl Rule {
    /// Checks every condition's value; errors are named `conditions[i]`.
    pub fn check(&self) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::new();
        if self.conditions.len() > 20 {
            errors.add("conditions", "条件不能超过 20 条");
        }
        for (i, c) in self.conditions.iter().enumerate() {
            if let Some(p) = c.problem() {
                errors.add(&format!("conditions[{i}]"), p);
            }
        }
        errors.into_result(())
    }

    /// Evaluates the rule. An empty rule admits everyone.
    pub fn evaluate(&self, facts: &Facts) -> Verdict {
        let failures: Vec<String> = self.conditions.iter().filter_map(|c| c.failure(facts)).collect();
        let eligible = match self.combine {
            Combine::All => failures.is_empty(),
            Combine::Any => self.conditions.is_empty() || failures.len() < self.conditions.len(),
        };
        Verdict {
            eligible,
            reasons: if eligible {
                Vec::new()
            } else if self.combine == Combine::Any && failures.len() > 1 {
                vec![format!("以下条件一条也不满足: {}", failures.join("; "))]
            } else {
                failures
            },
        }
    }

    /// The rule in words.
    pub fn describe(&self) -> String {
        if self.conditions.is_empty() {
            return "不限条件".to_owned();
        }
        let parts: Vec<String> = self.conditions.iter().map(Condition::describe).collect();
        match self.combine {
            Combine::All => parts.join(", 且 "),
            Combine::Any => parts.join(", 或 "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cond(field: Field, value: &str) -> Condition {
        Condition {
            field,
            op: field.operator(),
            value: value.to_owned(),
        }
    }

    fn facts() -> Facts {
        Facts {
            district: "历下区".into(),
            income_per_head: Fen(80_000),
            hardship: Some("低保".into()),
            diagnosis: "年龄相关性白内障".into(),
            age: 67,
            months_since_aid: None,
        }
    }

    #[test]
    fn age_band_is_explained_in_words() {
        let rule = Rule {
            combine: Combine::All,
            conditions: vec![cond(Field::Age, "0-18")],
        };
        let v = rule.evaluate(&facts());
        assert!(!v.eligible);
        assert_eq!(v.explanation(), "不符合: 申请人年龄 67 岁, 本项目要求 0–18 岁");
    }

    #[test]
    fn every_field_passes_and_fails() {
        let f = facts();
        let cases = [
            (cond(Field::ResidenceDistrict, "历下区,市中区"), true),
            (cond(Field::ResidenceDistrict, "市中区"), false),
            (cond(Field::IncomePerHead, "1000"), true),
            (cond(Field::IncomePerHead, "800"), false),
            (cond(Field::Hardship, "低保、特困"), true),
            (cond(Field::Hardship, "特困"), false),
            (cond(Field::Diagnosis, "白内障"), true),
            (cond(Field::Diagnosis, "尿毒症,肾衰竭"), false),
            (cond(Field::Age, "60-100"), true),
            (cond(Field::RecentAid, "12"), true),
        ];
        for (c, ok) in cases {
            assert_eq!(c.failure(&f).is_none(), ok, "{c:?}");
        }
        let recent = Facts {
            months_since_aid: Some(5),
            ..facts()
        };
        assert_eq!(
            cond(Field::RecentAid, "12").failure(&recent).as_deref(),
            Some("申请人 5 个月前已获本项目救助, 本项目要求间隔 12 个月以上")
        );
        assert!(cond(Field::RecentAid, "3").failure(&recent).is_none());
    }

    #[test]
    fn bad_values_are_refused_with_the_row_named() {
        let rule = Rule {
            combine: Combine::All,
            conditions: vec![
                cond(Field::Age, "18-0"),
                cond(Field::IncomePerHead, "abc"),
                Condition {
                    field: Field::Age,
                    op: Op::Lt,
                    value: "3".into(),
                },
                cond(Field::Diagnosis, " , "),
                cond(Field::RecentAid, "0"),
            ],
        };
        let errors = rule.check().err().unwrap_or_default();
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "conditions[0]",
                "conditions[1]",
                "conditions[2]",
                "conditions[3]",
                "conditions[4]"
            ]
        );
    }

    #[test]
    fn rules_round_trip_as_json() {
        let rule = Rule {
            combine: Combine::Any,
            conditions: vec![cond(Field::Hardship, "低保"), cond(Field::IncomePerHead, "1500")],
        };
        let json = serde_json::to_string(&rule).unwrap_or_default();
        assert!(json.contains("\"income_per_head\""));
        assert_eq!(serde_json::from_str::<Rule>(&json).ok(), Some(rule));
    }

    fn any_condition() -> impl Strategy<Value = Condition> {
        prop_oneof![
            proptest::sample::select(vec!["历下区", "市中区", "历下区,槐荫区"])
                .prop_map(|v| cond(Field::ResidenceDistrict, v)),
            (1i64..5000).prop_map(|y| cond(Field::IncomePerHead, &y.to_string())),
            proptest::sample::select(vec!["低保", "特困", "低保,低收入"]).prop_map(|v| cond(Field::Hardship, v)),
            proptest::sample::select(vec!["白内障", "尿毒症", "白内障,帕金森"]).prop_map(|v| cond(Field::Diagnosis, v)),
            (0u32..100, 0u32..50).prop_map(|(a, w)| cond(Field::Age, &format!("{a}-{}", a + w))),
            (1u32..36).prop_map(|m| cond(Field::RecentAid, &m.to_string())),
        ]
    }

    fn any_facts() -> impl Strategy<Value = Facts> {
        (
            proptest::sample::select(vec!["历下区", "市中区", "槐荫区"]),
            0i64..600_000,
            proptest::option::of(proptest::sample::select(vec!["低保", "特困", "低收入"])),
            proptest::sample::select(vec!["白内障", "尿毒症", "帕金森病", "高血压"]),
            0u32..110,
            proptest::option::of(0u32..40),
        )
            .prop_map(|(d, i, h, diag, age, m)| Facts {
                district: d.into(),
                income_per_head: Fen(i),
                hardship: h.map(str::to_owned),
                diagnosis: diag.into(),
                age,
                months_since_aid: m,
            })
    }

    proptest! {
        #[test]
        fn all_and_any_agree_with_their_conditions(
            conditions in proptest::collection::vec(any_condition(), 0..6),
            f in any_facts(),
        ) {
            let one = |c: &Condition| Rule { combine: Combine::All, conditions: vec![c.clone()] }.evaluate(&f).eligible;
            let all = Rule { combine: Combine::All, conditions: conditions.clone() };
            let any = Rule { combine: Combine::Any, conditions: conditions.clone() };
            prop_assert!(all.check().is_ok());
            prop_assert_eq!(all.evaluate(&f).eligible, conditions.iter().all(one));
            prop_assert_eq!(any.evaluate(&f).eligible, conditions.is_empty() || conditions.iter().any(one));
            for r in [&all, &any] {
                let v = r.evaluate(&f);
                prop_assert_eq!(v.eligible, v.reasons.is_empty());
            }
        }

        #[test]
        fn age_band_holds_exactly_inside(a in 0u32..100, w in 0u32..50, age in 0u32..160) {
            let c = cond(Field::Age, &format!("{a}-{}", a + w));
            let f = Facts { age, ..Facts::default() };
            prop_assert_eq!(c.failure(&f).is_none(), age >= a && age <= a + w);
        }

        #[test]
        fn income_line_is_strict(line in 1i64..10_000, income in 0i64..2_000_000) {
            let c = cond(Field::IncomePerHead, &line.to_string());
            let f = Facts { income_per_head: Fen(income), ..Facts::default() };
            prop_assert_eq!(c.failure(&f).is_none(), income < line * 100);
        }
    }
}
