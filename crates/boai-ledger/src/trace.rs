//! Where the money went (资金去向): which outflows a gift paid for, worked
//! out from the public ledger entries alone, so anyone holding the entry
//! bundles can recompute every figure the portal shows.
//!
//! # The rule (first in, first out, per fund)
//!
//! Each fund (`project_id`) holds two pools, money and goods. Walk the
//! entries in ledger-index order:
//!
//! - **Arriving** in a pool: a `gift` (money) or `goods_in` (goods) adds a
//!   lot at the back of its fund's pool; so does a reversal of a
//!   `disbursement` (money) or of a `goods_out` (goods): the money or goods
//!   came back, as a new lot that is no donor's.
//! - **Leaving** a pool: a `disbursement` (money) or `goods_out` (goods)
//!   takes its amount from the *front* of its fund's pool, oldest lot first,
//!   splitting a lot when only part of it is needed. The recipient is the
//!   entry's pseudonym (`recipient`).
//! - **Moving**: an entry with `from_project_id` (allocation, transfer,
//!   management cost, or the reversal of one) takes its amount from the
//!   front of the `from_project_id` money pool in the same way, and the
//!   pieces taken join the back of the `project_id` pool *in the same order*,
//!   each still belonging to the gift it came from. So a gift to the general
//!   fund that was allocated to project P and then paid out by P is followed
//!   through the allocation to P's disbursements (and through any further
//!   moves in the same way).
//! - **Refund**: a reversal of a `gift` (`reverses_kind` = `gift`; or of
//!   `goods_in` for goods) takes its amount first from what is left of that
//!   very gift in the fund it was given to (a lot that has not moved), and
//!   only for any shortfall (the gift was already spent) from the front of
//!   the fund's pool like any other outflow.
//!
//! Without refunds this is exactly the overlap of cumulative ranges: in one
//! pool, inflow *i* occupies `[A_i, A_i + amount_i)` of the running total of
//! money arriving and outflow *j* occupies `[B_j, B_j + amount_j)` of the
//! running total of money leaving; inflow *i*'s share of outflow *j* is the
//! length of the overlap of the two ranges. (The books never let a pool go
//! below zero, so an outflow is always covered by inflows before it; should
//! the entries say otherwise, the uncovered part is attributed to no one.)
//! Whatever of a gift has not left its pool is still in that fund
//! ("尚在 X 基金中").
//!
//! The rule is a convention for showing provenance: money is fungible within
//! a fund, and the books attribute nothing to individual gifts. What it
//! guarantees is that every fen of every outflow is attributed to exactly one
//! inflow that preceded it, by a rule anyone can rerun.

use crate::{LedgerEntry, LedgerError};
use serde::Serialize;
use std::collections::{HashMap, VecDeque};

/// Which pool of a fund a gift is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Asset {
    Money,
    Goods,
}

/// A ledger entry a gift's money passed through or ended in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The entry's ledger index.
    pub index: u64,
    pub kind: String,
    /// When it was posted (the entry's `at`).
    pub at: String,
    /// The whole entry's amount (the gift's part is the flow's amount).
    pub amount_fen: i64,
    pub project_id: String,
    pub from_project_id: Option<String>,
    /// The recipient's pseudonym, for money or goods paid out.
    pub recipient: Option<String>,
}

impl Step {
    fn of(index: usize, e: &LedgerEntry) -> Step {
        Step {
            index: index as u64,
            kind: e.kind.clone(),
            at: e.at.clone(),
            amount_fen: e.amount_fen,
            project_id: e.project_id.clone(),
            from_project_id: e.from_project_id.clone(),
            recipient: e.recipient.clone(),
        }
    }
}

/// Where a piece of a gift ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "end")]
pub enum End {
    /// Paid or given out by this entry (`disbursement` or `goods_out`).
    Spent { step: Step },
    /// Returned by this refund; `own` when it refunded this very gift.
    Refunded { step: Step, own: bool },
    /// Not spent yet: still in this fund.
    Remaining { project_id: String },
}

/// One piece of a gift: how much, the moves it went through (in order) and
/// where it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flow {
    pub amount_fen: i64,
    pub moves: Vec<Step>,
    pub end: End,
}

/// Where one gift went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GiftTrace {
    /// The gift's own entry.
    pub gift: Step,
    pub asset: Asset,
    /// Its pieces, in the order they left (what remains comes last).
    pub flows: Vec<Flow>,
}

impl GiftTrace {
    fn sum(&self, pick: impl Fn(&End) -> bool) -> i64 {
        self.flows.iter().filter(|f| pick(&f.end)).map(|f| f.amount_fen).sum()
    }

    /// How much of the gift was paid or given out.
    pub fn spent_fen(&self) -> i64 {
        self.sum(|e| matches!(e, End::Spent { .. }))
    }

    /// How much of it was refunded.
    pub fn refunded_fen(&self) -> i64 {
        self.sum(|e| matches!(e, End::Refunded { .. }))
    }

    /// How much of it is not spent yet.
    pub fn remaining_fen(&self) -> i64 {
        self.sum(|e| matches!(e, End::Remaining { .. }))
    }
}

/// What an entry does to the pools.
enum Effect<'a> {
    In(&'a str, Asset),
    Out(&'a str, Asset),
    Move { from: &'a str, to: &'a str },
    Refund(&'a str, Asset, Option<usize>),
    None,
}

fn effect<'a>(e: &'a LedgerEntry, by_journal: &HashMap<&str, usize>) -> Effect<'a> {
    let fund = e.project_id.as_str();
    if let Some(from) = &e.from_project_id {
        return Effect::Move { from, to: fund };
    }
    match e.kind.as_str() {
        "gift" => Effect::In(fund, Asset::Money),
        "goods_in" => Effect::In(fund, Asset::Goods),
        "goods_out" => Effect::Out(fund, Asset::Goods),
        "disbursement" | "allocation" | "transfer" | "management_cost" => Effect::Out(fund, Asset::Money),
        "reversal" => {
            let original = e.reverses.as_deref().and_then(|j| by_journal.get(j).copied());
            match e.reverses_kind.as_deref() {
                Some("gift") => Effect::Refund(fund, Asset::Money, original),
                Some("goods_in") => Effect::Refund(fund, Asset::Goods, original),
                Some("disbursement") => Effect::In(fund, Asset::Money),
                Some("goods_out") => Effect::In(fund, Asset::Goods),
                _ => Effect::None,
            }
        }
        _ => Effect::None,
    }
}

/// A lot in a pool: an amount that came from one inflow (`origin`, a ledger
/// index). Only the traced gift's lots remember their moves.
#[derive(Debug, Clone)]
struct Lot {
    origin: usize,
    amount: i64,
    moves: Vec<usize>,
}

/// Takes `amount` from the front of `pool`, oldest lot first.
fn take_front(pool: &mut VecDeque<Lot>, mut amount: i64) -> Vec<Lot> {
    let mut taken = Vec::new();
    while amount > 0 {
        let Some(front) = pool.front_mut() else { break };
        if front.amount <= amount {
            amount -= front.amount;
            if let Some(lot) = pool.pop_front() {
                taken.push(lot);
            }
        } else {
            front.amount -= amount;
            taken.push(Lot {
                origin: front.origin,
                amount,
                moves: front.moves.clone(),
            });
            amount = 0;
        }
    }
    taken
}

/// Where the gift (or goods gift) at ledger index `gift_index` went, by the
/// rule in this module's header, over `entries` (the log from index 0, in
/// order).
pub fn trace_gift(entries: &[LedgerEntry], gift_index: u64) -> Result<GiftTrace, LedgerError> {
    let target = usize::try_from(gift_index)
        .ok()
        .filter(|i| *i < entries.len())
        .ok_or_else(|| LedgerError::Malformed(format!("no entry {gift_index}")))?;
    let gift = &entries[target];
    let asset = match gift.kind.as_str() {
        "gift" => Asset::Money,
        "goods_in" => Asset::Goods,
        other => {
            return Err(LedgerError::Malformed(format!(
                "entry {gift_index} is a {other}, not a gift"
            )))
        }
    };
    let by_journal: HashMap<&str, usize> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.journal_id.as_str(), i))
        .collect();
    let mut pools: HashMap<(&str, Asset), VecDeque<Lot>> = HashMap::new();
    // (amount, moves, end entry index, refund?, own refund?)
    let mut ended: Vec<(i64, Vec<usize>, usize, bool, bool)> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let amount = e.amount_fen.max(0);
        match effect(e, &by_journal) {
            Effect::In(fund, asset) => pools.entry((fund, asset)).or_default().push_back(Lot {
                origin: i,
                amount,
                moves: Vec::new(),
            }),
            Effect::Out(fund, asset) => {
                for lot in take_front(pools.entry((fund, asset)).or_default(), amount) {
                    if lot.origin == target {
                        ended.push((lot.amount, lot.moves, i, false, false));
                    }
                }
            }
            Effect::Move { from, to } => {
                let pieces = take_front(pools.entry((from, Asset::Money)).or_default(), amount);
                let dest = pools.entry((to, Asset::Money)).or_default();
                for mut lot in pieces {
                    if lot.origin == target {
                        lot.moves.push(i);
                    }
                    dest.push_back(lot);
                }
            }
            Effect::Refund(fund, asset, original) => {
                let pool = pools.entry((fund, asset)).or_default();
                let mut left = amount;
                if let Some(o) = original {
                    if let Some(pos) = pool.iter().position(|l| l.origin == o && l.moves.is_empty()) {
                        let take = pool[pos].amount.min(left);
                        pool[pos].amount -= take;
                        left -= take;
                        if pool[pos].amount == 0 {
                            pool.remove(pos);
                        }
                        if o == target && take > 0 {
                            ended.push((take, Vec::new(), i, true, true));
                        }
                    }
                }
                for lot in take_front(pool, left) {
                    if lot.origin == target {
                        ended.push((lot.amount, lot.moves, i, true, original == Some(target)));
                    }
                }
            }
            Effect::None => {}
        }
    }
    let mut flows: Vec<Flow> = Vec::new();
    let mut push = |flow: Flow| match flows.iter_mut().find(|f| f.moves == flow.moves && f.end == flow.end) {
        Some(same) => same.amount_fen += flow.amount_fen,
        None => flows.push(flow),
    };
    let steps = |moves: &[usize]| moves.iter().map(|m| Step::of(*m, &entries[*m])).collect::<Vec<_>>();
    for (amount, moves, at, refund, own) in ended {
        let step = Step::of(at, &entries[at]);
        push(Flow {
            amount_fen: amount,
            moves: steps(&moves),
            end: if refund {
                End::Refunded { step, own }
            } else {
                End::Spent { step }
            },
        });
    }
    // What is left, fund by fund in ledger order of the move that brought it.
    let mut left: Vec<(&str, Lot)> = pools
        .iter()
        .flat_map(|((fund, _), pool)| pool.iter().filter(|l| l.origin == target).map(|l| (*fund, l.clone())))
        .collect();
    left.sort_by_key(|(_, l)| l.moves.last().copied().unwrap_or(target));
    for (fund, lot) in left {
        push(Flow {
            amount_fen: lot.amount,
            moves: steps(&lot.moves),
            end: End::Remaining {
                project_id: fund.to_owned(),
            },
        });
    }
    Ok(GiftTrace {
        gift: Step::of(target, gift),
        asset,
        flows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::ENTRY_VERSION;

    /// A tiny ledger builder: each call appends one entry.
    #[derive(Default)]
    struct Log(Vec<LedgerEntry>);

    impl Log {
        fn push(&mut self, kind: &str, amount: i64, project: &str, from: Option<&str>) -> u64 {
            let n = self.0.len();
            self.0.push(LedgerEntry {
                v: ENTRY_VERSION,
                kind: kind.into(),
                amount_fen: amount,
                project_id: project.into(),
                from_project_id: from.map(Into::into),
                journal_id: format!("j{n}"),
                journal_seq: n as i64 + 1,
                at: format!("2026-01-{:02}T00:00:00Z", n + 1),
                donor: (kind == "gift").then(|| "匿名".into()),
                commitment: None,
                recipient: matches!(kind, "disbursement" | "goods_out").then(|| format!("R-{n}")),
                reverses: None,
                reverses_kind: None,
            });
            n as u64
        }
        fn gift(&mut self, amount: i64, project: &str) -> u64 {
            self.push("gift", amount, project, None)
        }
        fn pay(&mut self, amount: i64, project: &str) -> u64 {
            self.push("disbursement", amount, project, None)
        }
        fn refund(&mut self, gift: u64, amount: i64) -> u64 {
            let original = self.0[gift as usize].clone();
            let n = self.push("reversal", amount, &original.project_id, None);
            let e = &mut self.0[n as usize];
            e.reverses = Some(original.journal_id);
            e.reverses_kind = Some(original.kind);
            n
        }
        fn trace(&self, gift: u64) -> GiftTrace {
            trace_gift(&self.0, gift).unwrap()
        }
    }

    fn spent_in(t: &GiftTrace, index: u64) -> i64 {
        t.flows
            .iter()
            .filter(|f| matches!(&f.end, End::Spent { step } if step.index == index))
            .map(|f| f.amount_fen)
            .sum()
    }

    #[test]
    fn a_gift_fully_spent_across_two_disbursements() {
        let mut log = Log::default();
        let g1 = log.gift(100, "P");
        let g2 = log.gift(50, "P");
        let d1 = log.pay(60, "P");
        let d2 = log.pay(60, "P");
        let t1 = log.trace(g1);
        assert_eq!(t1.asset, Asset::Money);
        assert_eq!((spent_in(&t1, d1), spent_in(&t1, d2)), (60, 40));
        assert_eq!((t1.spent_fen(), t1.remaining_fen()), (100, 0));
        let End::Spent { step } = &t1.flows[1].end else {
            panic!("spent")
        };
        assert_eq!(step.recipient.as_deref(), Some("R-3"));
        // The second gift: the overlap of [100,150) with d2's [60,120) is 20.
        let t2 = log.trace(g2);
        assert_eq!((spent_in(&t2, d1), spent_in(&t2, d2), t2.remaining_fen()), (0, 20, 30));
    }

    #[test]
    fn a_gift_partly_spent_remains_in_its_fund() {
        let mut log = Log::default();
        let g = log.gift(100, "P");
        log.gift(500, "Q");
        let d = log.pay(30, "P");
        let t = log.trace(g);
        assert_eq!(spent_in(&t, d), 30);
        assert_eq!(t.flows.len(), 2);
        assert_eq!(
            t.flows[1],
            Flow {
                amount_fen: 70,
                moves: vec![],
                end: End::Remaining { project_id: "P".into() }
            }
        );
    }

    #[test]
    fn a_gift_to_the_general_fund_is_followed_through_an_allocation() {
        let mut log = Log::default();
        let earlier = log.gift(40, "GEN");
        let g = log.gift(100, "GEN");
        log.gift(10, "P"); // P's own gift comes first in P's pool
        let a = log.push("allocation", 120, "P", Some("GEN")); // 40 earlier + 80 of g
        let d = log.pay(60, "P"); // 10 P's own + 40 earlier + 10 of g
        let d2 = log.pay(50, "P"); // 50 of g
        let t = log.trace(g);
        assert_eq!(spent_in(&t, d), 10);
        assert_eq!(spent_in(&t, d2), 50);
        let via: Vec<u64> = t.flows[0].moves.iter().map(|s| s.index).collect();
        assert_eq!(via, vec![a]);
        assert_eq!(t.flows[0].moves[0].from_project_id.as_deref(), Some("GEN"));
        // 20 still in P (it came via the allocation), 20 never left GEN.
        let remaining: Vec<(String, i64, usize)> = t
            .flows
            .iter()
            .filter_map(|f| match &f.end {
                End::Remaining { project_id } => Some((project_id.clone(), f.amount_fen, f.moves.len())),
                _ => None,
            })
            .collect();
        assert_eq!(remaining, vec![("GEN".into(), 20, 0), ("P".into(), 20, 1)]);
        assert_eq!(log.trace(earlier).spent_fen(), 40);
    }

    #[test]
    fn a_refund_comes_from_the_refunded_gift_first() {
        let mut log = Log::default();
        let g1 = log.gift(100, "P");
        let g2 = log.gift(100, "P");
        let d = log.pay(50, "P"); // g1's first 50
        let r2 = log.refund(g2, 100);
        let t2 = log.trace(g2);
        assert_eq!(t2.refunded_fen(), 100);
        assert!(matches!(&t2.flows[0].end, End::Refunded { step, own: true } if step.index == r2));
        let t1 = log.trace(g1);
        assert_eq!((spent_in(&t1, d), t1.refunded_fen(), t1.remaining_fen()), (50, 0, 50));
    }

    #[test]
    fn a_refund_of_a_spent_gift_takes_the_oldest_money() {
        let mut log = Log::default();
        let g1 = log.gift(100, "P");
        let g2 = log.gift(100, "P");
        log.pay(80, "P"); // 80 of g1
        log.refund(g1, 50); // 20 of g1's own, then 30 from the front: g2
        let t1 = log.trace(g1);
        assert_eq!((t1.spent_fen(), t1.refunded_fen(), t1.remaining_fen()), (80, 20, 0));
        let t2 = log.trace(g2);
        assert_eq!((t2.refunded_fen(), t2.remaining_fen()), (30, 70));
        assert!(matches!(&t2.flows[0].end, End::Refunded { own: false, .. }));
    }

    #[test]
    fn goods_follow_goods_out() {
        let mut log = Log::default();
        let money = log.gift(1_000, "P");
        let goods = log.push("goods_in", 300, "P", None);
        let out = log.push("goods_out", 200, "P", None);
        let t = log.trace(goods);
        assert_eq!(t.asset, Asset::Goods);
        assert_eq!((spent_in(&t, out), t.remaining_fen()), (200, 100));
        assert_eq!(log.trace(money).spent_fen(), 0, "goods out never take money");
    }

    #[test]
    fn returned_money_is_nobodys_and_an_overdraft_is_unattributed() {
        let mut log = Log::default();
        let g = log.gift(100, "P");
        let d = log.pay(100, "P");
        let mut back = log.0[d as usize].clone();
        back.kind = "reversal".into();
        back.journal_id = "jr".into();
        back.recipient = None;
        back.reverses = Some(format!("j{d}"));
        back.reverses_kind = Some("disbursement".into());
        log.0.push(back);
        log.pay(150, "P"); // 100 returned + 50 nobody's
        let t = log.trace(g);
        assert_eq!((t.spent_fen(), t.remaining_fen()), (100, 0));
        assert!(trace_gift(&log.0, d).is_err(), "a disbursement is not a gift");
        assert!(trace_gift(&log.0, 99).is_err());
    }

    #[test]
    fn without_refunds_shares_are_overlaps_of_cumulative_ranges() {
        // Gifts 7, 13, 5, 20 and payments 9, 9, 9, 9 into one fund.
        let gifts = [7i64, 13, 5, 20];
        let pays = [9i64, 9, 9, 9];
        let mut log = Log::default();
        let g: Vec<u64> = gifts.iter().map(|a| log.gift(*a, "P")).collect();
        let d: Vec<u64> = pays.iter().map(|a| log.pay(*a, "P")).collect();
        let mut a0 = 0;
        for (gi, ga) in g.iter().zip(gifts) {
            let t = log.trace(*gi);
            let mut b0 = 0;
            for (di, da) in d.iter().zip(pays) {
                let overlap = ((a0 + ga).min(b0 + da) - a0.max(b0)).max(0);
                assert_eq!(spent_in(&t, *di), overlap);
                b0 += da;
            }
            a0 += ga;
        }
    }
}
