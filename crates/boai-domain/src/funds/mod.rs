//! Double-entry fund accounting.
//!
//! Every fund (the general fund, the management-cost fund, each project) is a
//! self-balancing set of three accounts: `money` and `goods` (assets, debit
//! side) and `net_assets` (credit side). Every movement is one journal entry
//! whose debits equal its credits; each fund stays balanced within the entry,
//! so money never silently crosses from one fund to another. No asset account
//! may go below zero: a designated fund cannot be overdrawn, and neither can
//! any other. Corrections and refunds are new reversing entries, never edits.
//! This module decides the lines; the store applies them with running
//! balances in the same transaction.

use crate::ids::{JournalEntryId, ProjectId};
use crate::money::Fen;
use serde::{Deserialize, Serialize};

crate::typed_id!(
    /// An account: one (fund, kind) pair.
    AccountId
);

/// The three accounts of every fund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// Money held for the fund (asset).
    Money,
    /// Goods held for the fund, at valuation (asset).
    Goods,
    /// What the fund is worth (net assets; credit side).
    NetAssets,
}

impl AccountKind {
    pub const ALL: [AccountKind; 3] = [AccountKind::Money, AccountKind::Goods, AccountKind::NetAssets];

    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Money => "money",
            AccountKind::Goods => "goods",
            AccountKind::NetAssets => "net_assets",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the account's balance grows with debits.
    pub fn debit_normal(self) -> bool {
        !matches!(self, AccountKind::NetAssets)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            AccountKind::Money => "货币资金",
            AccountKind::Goods => "物资",
            AccountKind::NetAssets => "净资产",
        }
    }
}

/// What kind of movement an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A gift of money received.
    Gift,
    /// A gift of goods received.
    GoodsIn,
    /// Undesignated money allocated to a project by a recorded decision.
    Allocation,
    /// Money paid out of a fund (to a beneficiary or supplier).
    Disbursement,
    /// Goods given out of a fund.
    GoodsOut,
    /// Money moved between two undesignated funds.
    Transfer,
    /// The management-cost charge a project's agreement allows.
    ManagementCost,
    /// A reversing entry (refund or correction) of an earlier one.
    Reversal,
}

impl EntryKind {
    pub const ALL: [EntryKind; 8] = [
        EntryKind::Gift,
        EntryKind::GoodsIn,
        EntryKind::Allocation,
        EntryKind::Disbursement,
        EntryKind::GoodsOut,
        EntryKind::Transfer,
        EntryKind::ManagementCost,
        EntryKind::Reversal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Gift => "gift",
            EntryKind::GoodsIn => "goods_in",
            EntryKind::Allocation => "allocation",
            EntryKind::Disbursement => "disbursement",
            EntryKind::GoodsOut => "goods_out",
            EntryKind::Transfer => "transfer",
            EntryKind::ManagementCost => "management_cost",
            EntryKind::Reversal => "reversal",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            EntryKind::Gift => "捐赠收入",
            EntryKind::GoodsIn => "物资入库",
            EntryKind::Allocation => "资金分配",
            EntryKind::Disbursement => "资金拨付",
            EntryKind::GoodsOut => "物资出库",
            EntryKind::Transfer => "基金划转",
            EntryKind::ManagementCost => "管理费",
            EntryKind::Reversal => "冲销",
        }
    }
}

/// One line of an entry: an amount on one side of one fund's account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Line {
    pub fund: ProjectId,
    pub account: AccountKind,
    pub debit: Fen,
    pub credit: Fen,
}

impl Line {
    pub fn debit(fund: ProjectId, account: AccountKind, amount: Fen) -> Line {
        Line {
            fund,
            account,
            debit: amount,
            credit: Fen::ZERO,
        }
    }

    pub fn credit(fund: ProjectId, account: AccountKind, amount: Fen) -> Line {
        Line {
            fund,
            account,
            debit: Fen::ZERO,
            credit: amount,
        }
    }

    /// The change this line makes to its account's (normal-side) balance.
    pub fn balance_delta(&self) -> i64 {
        if self.account.debit_normal() {
            self.debit.0 - self.credit.0
        } else {
            self.credit.0 - self.debit.0
        }
    }

    /// The same line on the other side (for reversals).
    pub fn reversed(&self) -> Line {
        Line {
            fund: self.fund,
            account: self.account,
            debit: self.credit,
            credit: self.debit,
        }
    }
}

/// A broken accounting rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FundsError {
    #[error("金额须为正整数 (分), 且不超过 {max}")]
    Amount { max: Fen },
    #[error("借贷不平衡: 借方 {debit}, 贷方 {credit}")]
    Unbalanced { debit: Fen, credit: Fen },
    #[error("基金内部不平衡")]
    FundUnbalanced,
    #[error("定向捐赠的资金只能用于该项目, 不能划出")]
    DesignatedTransfer,
    #[error("不能在同一基金内划转")]
    SameFund,
    #[error("冲销金额超过原分录金额")]
    ReversalTooLarge,
    #[error("管理费比例超过上限")]
    ManagementRate,
}

/// The largest amount one movement may carry: ¥10 亿.
pub const MAX_AMOUNT: Fen = Fen(100_000_000_000);

/// Checks an amount is positive and sane.
pub fn check_amount(amount: Fen) -> Result<Fen, FundsError> {
    if amount.0 <= 0 || amount > MAX_AMOUNT {
        Err(FundsError::Amount { max: MAX_AMOUNT })
    } else {
        Ok(amount)
    }
}

/// A journal entry, decided but not yet written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPlan {
    pub kind: EntryKind,
    /// The project the entry is about (for a transfer or allocation: the receiving one).
    pub project: ProjectId,
    pub amount: Fen,
    pub lines: Vec<Line>,
    pub reverses: Option<JournalEntryId>,
}

impl EntryPlan {
    fn new(kind: EntryKind, project: ProjectId, amount: Fen, lines: Vec<Line>) -> Result<EntryPlan, FundsError> {
        let plan = EntryPlan {
            kind,
            project,
            amount,
            lines,
            reverses: None,
        };
        plan.check_balanced()?;
        Ok(plan)
    }

    /// Debits equal credits overall and within every fund.
    pub fn check_balanced(&self) -> Result<(), FundsError> {
        let debit: i64 = self.lines.iter().map(|l| l.debit.0).sum();
        let credit: i64 = self.lines.iter().map(|l| l.credit.0).sum();
        if debit != credit {
            return Err(FundsError::Unbalanced {
                debit: Fen(debit),
                credit: Fen(credit),
            });
        }
        let mut funds: Vec<ProjectId> = self.lines.iter().map(|l| l.fund).collect();
        funds.sort();
        funds.dedup();
        for fund in funds {
            let (d, c) = self
                .lines
                .iter()
                .filter(|l| l.fund == fund)
                .fold((0i64, 0i64), |(d, c), l| (d + l.debit.0, c + l.credit.0));
            if d != c {
                return Err(FundsError::FundUnbalanced);
            }
        }
        Ok(())
    }
}

/// A gift of money into a fund.
pub fn gift(fund: ProjectId, amount: Fen) -> Result<EntryPlan, FundsError> {
    let amount = check_amount(amount)?;
    EntryPlan::new(
        EntryKind::Gift,
        fund,
        amount,
        vec![
            Line::debit(fund, AccountKind::Money, amount),
            Line::credit(fund, AccountKind::NetAssets, amount),
        ],
    )
}

/// A gift of goods into a fund, at its valuation.
pub fn goods_in(fund: ProjectId, value: Fen) -> Result<EntryPlan, FundsError> {
    let value = check_amount(value)?;
    EntryPlan::new(
        EntryKind::GoodsIn,
        fund,
        value,
        vec![
            Line::debit(fund, AccountKind::Goods, value),
            Line::credit(fund, AccountKind::NetAssets, value),
        ],
    )
}

/// Money leaving one fund for another: both funds stay balanced.
fn move_money(kind: EntryKind, from: ProjectId, to: ProjectId, amount: Fen) -> Result<EntryPlan, FundsError> {
    let amount = check_amount(amount)?;
    if from == to {
        return Err(FundsError::SameFund);
    }
    EntryPlan::new(
        kind,
        to,
        amount,
        vec![
            Line::debit(from, AccountKind::NetAssets, amount),
            Line::credit(from, AccountKind::Money, amount),
            Line::debit(to, AccountKind::Money, amount),
            Line::credit(to, AccountKind::NetAssets, amount),
        ],
    )
}

/// Undesignated money allocated to a project. `from_designated` refuses
/// money that was given for one project only.
pub fn allocation(from: ProjectId, from_designated: bool, to: ProjectId, amount: Fen) -> Result<EntryPlan, FundsError> {
    if from_designated {
        return Err(FundsError::DesignatedTransfer);
    }
    move_money(EntryKind::Allocation, from, to, amount)
}

/// Money moved between two undesignated funds.
pub fn transfer(
    from: ProjectId,
    from_designated: bool,
    to: ProjectId,
    to_designated: bool,
    amount: Fen,
) -> Result<EntryPlan, FundsError> {
    if from_designated || to_designated {
        return Err(FundsError::DesignatedTransfer);
    }
    move_money(EntryKind::Transfer, from, to, amount)
}

/// The management-cost charge on a project's money, into the cost fund.
pub fn management_cost(project: ProjectId, cost_fund: ProjectId, amount: Fen) -> Result<EntryPlan, FundsError> {
    let mut plan = move_money(EntryKind::ManagementCost, project, cost_fund, amount)?;
    plan.project = project;
    Ok(plan)
}

/// How an entry moves a project's totals: (raised, allocated, spent, refunded),
/// given the change `net_asset_delta` it makes to that project's net assets.
/// The store keeps running totals with it; the ledger auditor recomputes
/// them from public entries with it.
pub fn totals_delta(kind: EntryKind, reverses: Option<EntryKind>, net_asset_delta: i64) -> (i64, i64, i64, i64) {
    let d = net_asset_delta;
    match kind {
        EntryKind::Gift | EntryKind::GoodsIn => (d, 0, 0, 0),
        EntryKind::Allocation | EntryKind::Transfer => (0, d, 0, 0),
        EntryKind::ManagementCost if d < 0 => (0, 0, -d, 0),
        EntryKind::ManagementCost => (0, d, 0, 0),
        EntryKind::Disbursement | EntryKind::GoodsOut => (0, 0, -d, 0),
        EntryKind::Reversal => match reverses {
            Some(EntryKind::Gift) | Some(EntryKind::GoodsIn) => (d, 0, 0, -d),
            Some(original) => totals_delta(original, None, d),
            None => (0, 0, 0, 0),
        },
    }
}

/// The charge for a base amount at `rate_bp` basis points, rounded down to
/// the fen; refused above the city's cap.
pub fn management_charge(base: Fen, rate_bp: i64, cap_bp: i64) -> Result<Fen, FundsError> {
    if !(0..=cap_bp).contains(&rate_bp) {
        return Err(FundsError::ManagementRate);
    }
    Ok(Fen(((base.0 as i128 * rate_bp as i128) / 10_000) as i64))
}

/// Money paid out of a fund.
pub fn disbursement(fund: ProjectId, amount: Fen) -> Result<EntryPlan, FundsError> {
    let amount = check_amount(amount)?;
    EntryPlan::new(
        EntryKind::Disbursement,
        fund,
        amount,
        vec![
            Line::debit(fund, AccountKind::NetAssets, amount),
            Line::credit(fund, AccountKind::Money, amount),
        ],
    )
}

/// Goods given out of a fund, at their valuation.
pub fn goods_out(fund: ProjectId, value: Fen) -> Result<EntryPlan, FundsError> {
    let value = check_amount(value)?;
    EntryPlan::new(
        EntryKind::GoodsOut,
        fund,
        value,
        vec![
            Line::debit(fund, AccountKind::NetAssets, value),
            Line::credit(fund, AccountKind::Goods, value),
        ],
    )
}

/// Reverses `amount` of an earlier entry (whole or in part): its lines on the
/// other side, scaled to `amount` of its `original_amount`.
pub fn reversal(
    original: JournalEntryId,
    original_kind: EntryKind,
    project: ProjectId,
    original_amount: Fen,
    original_lines: &[Line],
    amount: Fen,
) -> Result<EntryPlan, FundsError> {
    let amount = check_amount(amount)?;
    if amount > original_amount || original_kind == EntryKind::Reversal {
        return Err(FundsError::ReversalTooLarge);
    }
    let scale = |f: Fen| -> Fen {
        if amount == original_amount {
            f
        } else {
            Fen(((f.0 as i128 * amount.0 as i128) / original_amount.0 as i128) as i64)
        }
    };
    let lines = original_lines
        .iter()
        .map(|l| {
            let r = l.reversed();
            Line {
                debit: scale(r.debit),
                credit: scale(r.credit),
                ..r
            }
        })
        .collect();
    let mut plan = EntryPlan::new(EntryKind::Reversal, project, amount, lines)?;
    plan.reverses = Some(original);
    Ok(plan)
}

/// Balances of the whole books: the trial balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct TrialBalance {
    pub debit: Fen,
    pub credit: Fen,
}

impl TrialBalance {
    pub fn balanced(&self) -> bool {
        self.debit == self.credit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (ProjectId, ProjectId) {
        (ProjectId::new(), ProjectId::new())
    }

    #[test]
    fn every_plan_balances_within_each_fund() {
        let (a, b) = ids();
        for plan in [
            gift(a, Fen(100)),
            goods_in(a, Fen(100)),
            allocation(a, false, b, Fen(100)),
            disbursement(a, Fen(100)),
            goods_out(a, Fen(100)),
            transfer(a, false, b, false, Fen(100)),
            management_cost(a, b, Fen(100)),
        ] {
            let plan = plan.unwrap_or_else(|e| panic!("{e}"));
            assert!(plan.check_balanced().is_ok(), "{:?}", plan.kind);
        }
    }

    #[test]
    fn amounts_must_be_positive_and_sane() {
        let (a, _) = ids();
        assert!(gift(a, Fen(0)).is_err());
        assert!(gift(a, Fen(-1)).is_err());
        assert!(gift(a, Fen(MAX_AMOUNT.0 + 1)).is_err());
        assert!(gift(a, MAX_AMOUNT).is_ok());
    }

    #[test]
    fn designated_money_never_leaves_its_project() {
        let (a, b) = ids();
        assert_eq!(allocation(a, true, b, Fen(1)), Err(FundsError::DesignatedTransfer));
        assert_eq!(transfer(a, false, b, true, Fen(1)), Err(FundsError::DesignatedTransfer));
        assert_eq!(allocation(a, false, a, Fen(1)), Err(FundsError::SameFund));
    }

    #[test]
    fn reversals_mirror_and_scale() {
        let (a, _) = ids();
        let original = gift(a, Fen(1000)).unwrap_or_else(|e| panic!("{e}"));
        let id = JournalEntryId::new();
        let r =
            reversal(id, EntryKind::Gift, a, Fen(1000), &original.lines, Fen(250)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.reverses, Some(id));
        let money: i64 = r
            .lines
            .iter()
            .filter(|l| l.account == AccountKind::Money)
            .map(Line::balance_delta)
            .sum();
        assert_eq!(money, -250);
        assert!(reversal(id, EntryKind::Gift, a, Fen(1000), &original.lines, Fen(1001)).is_err());
    }

    #[test]
    fn management_charge_is_capped_and_rounds_down() {
        assert_eq!(management_charge(Fen(12_345), 300, 1000), Ok(Fen(370)));
        assert_eq!(management_charge(Fen(12_345), 0, 1000), Ok(Fen(0)));
        assert!(management_charge(Fen(1), 1001, 1000).is_err());
    }
}
