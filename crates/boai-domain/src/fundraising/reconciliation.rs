//! Bank statements and their reconciliation with gifts, as rules (no I/O):
//! - a statement is a table whose header names one of the [`BankLayout`]s
//!   (two built in, and any mapping staff saved); every line must parse
//!   (date, amount in yuan exactly, a 流水号) or the whole file is refused
//!   with the broken rows named;
//! - a line is keyed by its 流水号, so importing a statement twice adds nothing;
//! - a credit is proposed as the match of a gift not yet reconciled when the
//!   amounts are equal and the dates within [`MATCH_WINDOW_DAYS`]; a reference
//!   (certificate number, order number or donor name in the 摘要/附言 or the
//!   counterparty) wins over date closeness; each gift is matched once.

use crate::money::{parse_yuan, Fen};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// How far apart a credit and a gift's date may be.
pub const MATCH_WINDOW_DAYS: i64 = 7;

/// Where the amount is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AmountColumns {
    /// 借方 (money out) and 贷方 (money in) in two columns.
    DebitCredit { debit: String, credit: String },
    /// One signed column (credits positive).
    Signed { amount: String },
}

/// A statement layout: which header names which field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankLayout {
    pub name: String,
    pub date: String,
    pub amount: AmountColumns,
    pub counterparty: String,
    #[serde(default)]
    pub counterparty_account: Option<String>,
    /// 摘要 / 附言.
    pub memo: String,
    /// 交易流水号 / 流水号.
    pub reference: String,
    #[serde(default)]
    pub balance: Option<String>,
}

impl BankLayout {
    fn required(&self) -> Vec<&str> {
        let mut cols = vec![
            self.date.as_str(),
            self.counterparty.as_str(),
            self.memo.as_str(),
            self.reference.as_str(),
        ];
        match &self.amount {
            AmountColumns::DebitCredit { debit, credit } => {
                cols.push(debit);
                cols.push(credit);
            }
            AmountColumns::Signed { amount } => cols.push(amount),
        }
        cols
    }

    /// Validates a mapping staff want to save.
    pub fn check(&self) -> Result<(), String> {
        if self.name.trim().is_empty() || self.name.chars().count() > 50 {
            return Err("请填写格式名称 (不超过 50 字)".to_owned());
        }
        let cols = self.required();
        if cols.iter().any(|c| c.trim().is_empty()) {
            return Err("日期、金额、对方户名、摘要和流水号的列名都须填写".to_owned());
        }
        let mut seen = std::collections::HashSet::new();
        if !cols.iter().all(|c| seen.insert(c.trim())) {
            return Err("同一列不能对应两个字段".to_owned());
        }
        Ok(())
    }
}

/// The two layouts built in.
pub fn builtin_layouts() -> Vec<BankLayout> {
    vec![
        BankLayout {
            name: "借贷分列 (交易日期/借方发生额/贷方发生额)".to_owned(),
            date: "交易日期".to_owned(),
            amount: AmountColumns::DebitCredit {
                debit: "借方发生额".to_owned(),
                credit: "贷方发生额".to_owned(),
            },
            counterparty: "对方户名".to_owned(),
            counterparty_account: Some("对方账号".to_owned()),
            memo: "摘要".to_owned(),
            reference: "交易流水号".to_owned(),
            balance: Some("余额".to_owned()),
        },
        BankLayout {
            name: "单列金额 (记账日期/交易金额)".to_owned(),
            date: "记账日期".to_owned(),
            amount: AmountColumns::Signed {
                amount: "交易金额".to_owned(),
            },
            counterparty: "对方户名".to_owned(),
            counterparty_account: None,
            memo: "附言".to_owned(),
            reference: "流水号".to_owned(),
            balance: None,
        },
    ]
}

/// One line of a statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementLine {
    /// The row in the file (1-based, the header is row 1).
    pub row: usize,
    pub date: NaiveDate,
    /// Credits positive, debits negative.
    pub amount: Fen,
    pub counterparty: String,
    pub counterparty_account: Option<String>,
    pub memo: String,
    pub reference: String,
}

/// A statement read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub layout: String,
    pub lines: Vec<StatementLine>,
}

/// A date as banks write it: 2026-03-01, 2026/3/1, 20260301, 2026年3月1日 (a
/// time after it is ignored).
pub fn parse_bank_date(raw: &str) -> Option<NaiveDate> {
    let s = raw.trim().split([' ', 'T']).next().unwrap_or_default();
    let s = s.replace(['年', '月', '/', '.'], "-").replace('日', "");
    if s.len() == 8 && s.chars().all(|c| c.is_ascii_digit()) {
        return NaiveDate::parse_from_str(&s, "%Y%m%d").ok();
    }
    NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok()
}

/// A signed yuan amount (`-1,234.50`, `+88`), exactly.
fn parse_signed_yuan(raw: &str) -> Option<Fen> {
    let s = raw.trim();
    if let Some(rest) = s.strip_prefix('-') {
        return parse_yuan(rest).map(|f| Fen(-f.0));
    }
    parse_yuan(s.strip_prefix('+').unwrap_or(s))
}

/// Finds the layout the header names (built-in first, then saved ones).
pub fn detect_layout<'a>(header: &[String], layouts: &'a [BankLayout]) -> Option<&'a BankLayout> {
    let names: Vec<&str> = header.iter().map(|h| h.trim()).collect();
    layouts
        .iter()
        .find(|l| l.required().iter().all(|c| names.contains(&c.trim())))
}

/// Reads a statement table (header row first). Refused whole, with the
/// reason, when no layout fits or any line is broken.
pub fn parse_statement(table: &[Vec<String>], layouts: &[BankLayout]) -> Result<Statement, String> {
    let Some(header) = table.first() else {
        return Err("文件没有表头行".to_owned());
    };
    let Some(layout) = detect_layout(header, layouts) else {
        let names: Vec<String> = layouts.iter().map(|l| l.name.clone()).collect();
        return Err(format!(
            "无法识别的对账单格式: 表头应包含以下任一格式的全部列 ({}); 新格式请先保存列对应关系",
            names.join("; ")
        ));
    };
    let col = |name: &str| header.iter().position(|h| h.trim() == name.trim());
    let idx = |name: &str| col(name).unwrap_or(usize::MAX);
    let (date_i, party_i, memo_i, ref_i) = (
        idx(&layout.date),
        idx(&layout.counterparty),
        idx(&layout.memo),
        idx(&layout.reference),
    );
    let account_i = layout.counterparty_account.as_deref().and_then(col);
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, cells) in table.iter().enumerate().skip(1) {
        let row = i + 1;
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell = |j: usize| cells.get(j).map(|c| c.trim()).unwrap_or_default();
        let mut problems = Vec::new();
        let date = parse_bank_date(cell(date_i));
        if date.is_none() {
            problems.push(format!("日期 “{}” 无法识别", cell(date_i)));
        }
        let amount = match &layout.amount {
            AmountColumns::DebitCredit { debit, credit } => {
                let (d, c) = (cell(idx(debit)), cell(idx(credit)));
                let zero = |s: &str| s.is_empty() || parse_yuan(s) == Some(Fen::ZERO);
                match (zero(d), zero(c)) {
                    (true, false) => parse_yuan(c),
                    (false, true) => parse_yuan(d).map(|f| Fen(-f.0)),
                    _ => None,
                }
            }
            AmountColumns::Signed { amount } => parse_signed_yuan(cell(idx(amount))).filter(|f| f.0 != 0),
        };
        if amount.is_none() {
            problems.push("金额无法识别 (借方或贷方须恰有一项, 最多两位小数)".to_owned());
        }
        let reference = cell(ref_i).to_owned();
        if reference.is_empty() || reference.chars().count() > 64 {
            problems.push("流水号为空或过长".to_owned());
        } else if !seen.insert(reference.clone()) {
            problems.push(format!("流水号 {reference} 在文件中重复"));
        }
        match (date, amount) {
            (Some(date), Some(amount)) if problems.is_empty() => lines.push(StatementLine {
                row,
                date,
                amount,
                counterparty: crate::validation::strip_spoofing(cell(party_i))
                    .chars()
                    .take(100)
                    .collect(),
                counterparty_account: account_i
                    .map(|j| cell(j).chars().take(40).collect())
                    .filter(|s: &String| !s.is_empty()),
                memo: crate::validation::strip_spoofing(cell(memo_i))
                    .chars()
                    .take(200)
                    .collect(),
                reference,
            }),
            _ => errors.push(format!("第 {row} 行: {}", problems.join("; "))),
        }
    }
    if !errors.is_empty() {
        return Err(format!("对账单有错误行, 未导入任何记录: {}", errors.join(" / ")));
    }
    if lines.is_empty() {
        return Err("对账单没有数据行".to_owned());
    }
    Ok(Statement {
        layout: layout.name.clone(),
        lines,
    })
}

/// A gift that may be matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate<K> {
    pub key: K,
    pub amount: Fen,
    pub date: NaiveDate,
    /// Texts that identify it in a bank reference (certificate number,
    /// order number, donor name).
    pub references: Vec<String>,
}

/// A credit line to match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credit<L> {
    pub key: L,
    pub amount: Fen,
    pub date: NaiveDate,
    /// 摘要/附言 and counterparty together.
    pub text: String,
}

/// Proposes at most one gift per credit and one credit per gift: equal
/// amounts, dates within the window; a reference found in the credit's text
/// ranks first, then the closest date.
pub fn propose_matches<L: Clone, K: Clone + PartialEq>(credits: &[Credit<L>], gifts: &[Candidate<K>]) -> Vec<(L, K)> {
    let mut scored = Vec::new();
    for (ci, c) in credits.iter().enumerate() {
        if c.amount.0 <= 0 {
            continue;
        }
        for (gi, g) in gifts.iter().enumerate() {
            let days = (c.date - g.date).num_days().abs();
            if g.amount != c.amount || days > MATCH_WINDOW_DAYS {
                continue;
            }
            let referenced = g
                .references
                .iter()
                .any(|r| !r.is_empty() && c.text.contains(r.as_str()));
            scored.push((!referenced, days, ci, gi));
        }
    }
    scored.sort();
    let mut used_c = vec![false; credits.len()];
    let mut used_g = vec![false; gifts.len()];
    let mut out = Vec::new();
    for (_, _, ci, gi) in scored {
        if used_c[ci] || used_g[gi] {
            continue;
        }
        used_c[ci] = true;
        used_g[gi] = true;
        out.push((credits[ci].key.clone(), gifts[gi].key.clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn both_layouts_read_exactly() {
        let a = vec![
            row(&[
                "交易日期",
                "摘要",
                "借方发生额",
                "贷方发生额",
                "余额",
                "对方户名",
                "对方账号",
                "交易流水号",
            ]),
            row(&["2026-03-01", "捐款", "", "1,234.56", "9", "张三", "6222", "A1"]),
            row(&["2026/03/02", "手续费", "2.00", "", "9", "银行", "", "A2"]),
        ];
        let s = parse_statement(&a, &builtin_layouts()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.lines.len(), 2);
        assert_eq!(s.lines[0].amount, Fen(123_456));
        assert_eq!(s.lines[1].amount, Fen(-200));
        let b = vec![
            row(&["记账日期", "交易金额", "对方户名", "附言", "流水号"]),
            row(&["20260305", "-10.5", "某公司", "退款", "B1"]),
            row(&["2026年3月6日", "500", "李四", "捐赠 JN-2026-0000001", "B2"]),
        ];
        let s = parse_statement(&b, &builtin_layouts()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.lines[0].amount, Fen(-1050));
        assert_eq!(s.lines[1].date, NaiveDate::from_ymd_opt(2026, 3, 6).unwrap_or_default());
    }

    #[test]
    fn wrong_layout_and_broken_rows_are_refused_whole() {
        let wrong = vec![row(&["日期", "金额"]), row(&["2026-03-01", "1"])];
        assert!(parse_statement(&wrong, &builtin_layouts()).is_err_and(|e| e.contains("无法识别")));
        let broken = vec![
            row(&["记账日期", "交易金额", "对方户名", "附言", "流水号"]),
            row(&["2026-03-01", "1.001", "x", "", "B1"]),
            row(&["2026-03-01", "1", "x", "", "B2"]),
        ];
        assert!(parse_statement(&broken, &builtin_layouts()).is_err_and(|e| e.contains("第 2 行")));
    }

    #[test]
    fn matching_prefers_references_then_dates_and_uses_each_once() {
        let d = |day| NaiveDate::from_ymd_opt(2026, 3, day).unwrap_or_default();
        let credits = vec![
            Credit {
                key: 1,
                amount: Fen(100),
                date: d(10),
                text: "张三".into(),
            },
            Credit {
                key: 2,
                amount: Fen(100),
                date: d(10),
                text: "JN-9".into(),
            },
            Credit {
                key: 3,
                amount: Fen(999),
                date: d(10),
                text: String::new(),
            },
        ];
        let gifts = vec![
            Candidate {
                key: "a",
                amount: Fen(100),
                date: d(9),
                references: vec!["JN-9".into()],
            },
            Candidate {
                key: "b",
                amount: Fen(100),
                date: d(5),
                references: vec!["张三".into()],
            },
            Candidate {
                key: "c",
                amount: Fen(999),
                date: d(30),
                references: vec![],
            },
        ];
        assert_eq!(propose_matches(&credits, &gifts), vec![(2, "a"), (1, "b")]);
    }
}
