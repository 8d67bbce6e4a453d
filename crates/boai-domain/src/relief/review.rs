//! The review flow of a programme: an ordered list of steps (grassroots
//! unit → district branch → city), each with a deadline in days and an
//! optional amount up to which its approval is final (so small grants stop
//! early and large ones go all the way up). The rules of one decision:
//! the reviewer works at the step's level, never reviews a case they filed,
//! never approves twice in one chain, and nothing happens after a final
//! decision (rejected, approved, paid); a case returned for documents waits
//! for them before anyone decides again.

use crate::ids::UserId;
use crate::money::Fen;
use crate::orgs::OrgLevel;
use serde::{Deserialize, Serialize};

/// One step of a flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub level: OrgLevel,
    /// Days the step may take before the case shows as overdue.
    pub deadline_days: u32,
    /// Approval here is final for grants up to this amount (fen).
    pub final_up_to_fen: Option<i64>,
}

/// A programme's review flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    pub steps: Vec<Step>,
}

impl Default for Flow {
    /// Unit (final up to ¥3,000) → district (final up to ¥10,000) → city.
    fn default() -> Self {
        Flow {
            steps: vec![
                Step {
                    level: OrgLevel::Unit,
                    deadline_days: 5,
                    final_up_to_fen: Some(300_000),
                },
                Step {
                    level: OrgLevel::District,
                    deadline_days: 7,
                    final_up_to_fen: Some(1_000_000),
                },
                Step {
                    level: OrgLevel::City,
                    deadline_days: 10,
                    final_up_to_fen: None,
                },
            ],
        }
    }
}

impl Flow {
    /// How many steps a grant of `amount` goes through (at least one).
    pub fn steps_needed(&self, amount: Fen) -> usize {
        self.steps
            .iter()
            .position(|s| s.final_up_to_fen.is_some_and(|x| amount.0 <= x))
            .map_or(self.steps.len(), |i| i + 1)
            .max(1)
    }

    /// Whether the flow is usable: 1–3 steps, levels going up, deadlines 1–90 days.
    pub fn problem(&self) -> Option<&'static str> {
        if self.steps.is_empty() || self.steps.len() > 3 {
            return Some("审核流程须有 1–3 级");
        }
        let rank = |l: OrgLevel| match l {
            OrgLevel::Unit => 0,
            OrgLevel::District => 1,
            OrgLevel::City => 2,
        };
        if self.steps.windows(2).any(|w| rank(w[0].level) >= rank(w[1].level)) {
            return Some("审核层级须自下而上");
        }
        if self.steps.iter().any(|s| !(1..=90).contains(&s.deadline_days)) {
            return Some("每级审核时限须为 1–90 天");
        }
        None
    }
}

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Waiting for the review at its current step.
    Pending,
    /// Returned for more documents.
    Returned,
    Rejected,
    /// Approved at its last needed step; waiting for payment.
    Approved,
    Paid,
}

impl CaseStatus {
    pub const ALL: [CaseStatus; 5] = [
        CaseStatus::Pending,
        CaseStatus::Returned,
        CaseStatus::Rejected,
        CaseStatus::Approved,
        CaseStatus::Paid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Pending => "pending",
            CaseStatus::Returned => "returned",
            CaseStatus::Rejected => "rejected",
            CaseStatus::Approved => "approved",
            CaseStatus::Paid => "paid",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            CaseStatus::Pending => "审核中",
            CaseStatus::Returned => "退回补充材料",
            CaseStatus::Rejected => "未通过",
            CaseStatus::Approved => "已批准, 待拨付",
            CaseStatus::Paid => "已拨付",
        }
    }

    /// Whether a final decision has been made.
    pub fn decided(self) -> bool {
        matches!(self, CaseStatus::Rejected | CaseStatus::Approved | CaseStatus::Paid)
    }
}

/// A reviewer's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    /// Return for more documents.
    Return,
    Reject,
}

impl Decision {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "approve" => Some(Decision::Approve),
            "return" => Some(Decision::Return),
            "reject" => Some(Decision::Reject),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Return => "return",
            Decision::Reject => "reject",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Decision::Approve => "同意",
            Decision::Return => "退回补充材料",
            Decision::Reject => "不同意",
        }
    }
}

/// Everything a decision depends on.
#[derive(Debug, Clone)]
pub struct ReviewContext<'a> {
    pub flow: &'a Flow,
    pub status: CaseStatus,
    /// 0-based index of the step the case waits at.
    pub step: usize,
    pub amount: Fen,
    pub filed_by: Option<UserId>,
    /// Who approved earlier steps of this chain.
    pub approvers: &'a [UserId],
    pub reviewer: UserId,
    pub reviewer_level: OrgLevel,
}

/// Why a decision is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    #[error("该申请已有最终决定 ({0}), 不能再审核")]
    Decided(&'static str),
    #[error("该申请已退回补充材料, 须待补齐后再审核")]
    AwaitingDocuments,
    #[error("当前审核步骤为{0}审核, 您不在该层级")]
    WrongLevel(&'static str),
    #[error("不能审核自己经办提交的申请")]
    OwnCase,
    #[error("同一审核链中您已同意过一次, 不能重复审批")]
    ApprovedTwice,
    #[error("退回或不同意时须填写理由 (申请人可见)")]
    ReasonRequired,
}

/// What a decision leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub status: CaseStatus,
    /// The step the case waits at afterwards.
    pub step: usize,
}

pub fn level_label(level: OrgLevel) -> &'static str {
    match level {
        OrgLevel::Unit => "基层单位",
        OrgLevel::District => "区县红十字会",
        OrgLevel::City => "市红十字会",
    }
}

/// Decides one review step.
pub fn decide(ctx: &ReviewContext<'_>, decision: Decision, reason: Option<&str>) -> Result<Outcome, ReviewError> {
    if ctx.status.decided() {
        return Err(ReviewError::Decided(ctx.status.label_zh()));
    }
    if ctx.status == CaseStatus::Returned {
        return Err(ReviewError::AwaitingDocuments);
    }
    let Some(step) = ctx.flow.steps.get(ctx.step) else {
        return Err(ReviewError::Decided(CaseStatus::Approved.label_zh()));
    };
    if step.level != ctx.reviewer_level {
        return Err(ReviewError::WrongLevel(level_label(step.level)));
    }
    if ctx.filed_by == Some(ctx.reviewer) {
        return Err(ReviewError::OwnCase);
    }
    let has_reason = reason.is_some_and(|r| !r.trim().is_empty());
    match decision {
        Decision::Approve => {
            if ctx.approvers.contains(&ctx.reviewer) {
                return Err(ReviewError::ApprovedTwice);
            }
            if ctx.step + 1 >= ctx.flow.steps_needed(ctx.amount) {
                Ok(Outcome {
                    status: CaseStatus::Approved,
                    step: ctx.step,
                })
            } else {
                Ok(Outcome {
                    status: CaseStatus::Pending,
                    step: ctx.step + 1,
                })
            }
        }
        Decision::Return if has_reason => Ok(Outcome {
            status: CaseStatus::Returned,
            step: ctx.step,
        }),
        Decision::Reject if has_reason => Ok(Outcome {
            status: CaseStatus::Rejected,
            step: ctx.step,
        }),
        _ => Err(ReviewError::ReasonRequired),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx<'a>(
        flow: &'a Flow,
        step: usize,
        amount: i64,
        level: OrgLevel,
        approvers: &'a [UserId],
    ) -> ReviewContext<'a> {
        ReviewContext {
            flow,
            status: CaseStatus::Pending,
            step,
            amount: Fen(amount),
            filed_by: None,
            approvers,
            reviewer: UserId(uuid::Uuid::from_u128(9)),
            reviewer_level: level,
        }
    }

    #[test]
    fn thresholds_decide_how_far_up() {
        let flow = Flow::default();
        assert_eq!(flow.steps_needed(Fen(200_000)), 1);
        assert_eq!(flow.steps_needed(Fen(300_000)), 1);
        assert_eq!(flow.steps_needed(Fen(500_000)), 2);
        assert_eq!(flow.steps_needed(Fen(5_000_000)), 3);
        let small = decide(&ctx(&flow, 0, 100_000, OrgLevel::Unit, &[]), Decision::Approve, None);
        assert_eq!(small.map(|o| o.status), Ok(CaseStatus::Approved));
        let big = decide(&ctx(&flow, 0, 5_000_000, OrgLevel::Unit, &[]), Decision::Approve, None);
        assert_eq!(
            big,
            Ok(Outcome {
                status: CaseStatus::Pending,
                step: 1
            })
        );
    }

    #[test]
    fn refusals() {
        let flow = Flow::default();
        let me = UserId(uuid::Uuid::from_u128(9));
        assert_eq!(
            decide(&ctx(&flow, 1, 5_000_000, OrgLevel::Unit, &[]), Decision::Approve, None),
            Err(ReviewError::WrongLevel("区县红十字会"))
        );
        let twice = [me];
        assert_eq!(
            decide(
                &ctx(&flow, 2, 5_000_000, OrgLevel::City, &twice),
                Decision::Approve,
                None
            ),
            Err(ReviewError::ApprovedTwice)
        );
        let mut own = ctx(&flow, 0, 100, OrgLevel::Unit, &[]);
        own.filed_by = Some(me);
        assert_eq!(decide(&own, Decision::Approve, None), Err(ReviewError::OwnCase));
        assert_eq!(
            decide(&ctx(&flow, 0, 100, OrgLevel::Unit, &[]), Decision::Reject, Some("  ")),
            Err(ReviewError::ReasonRequired)
        );
        let mut done = ctx(&flow, 0, 100, OrgLevel::Unit, &[]);
        done.status = CaseStatus::Rejected;
        assert!(matches!(
            decide(&done, Decision::Approve, None),
            Err(ReviewError::Decided(_))
        ));
        done.status = CaseStatus::Returned;
        assert_eq!(
            decide(&done, Decision::Approve, None),
            Err(ReviewError::AwaitingDocuments)
        );
    }

    #[test]
    fn flows_must_go_up() {
        let mut flow = Flow::default();
        assert_eq!(flow.problem(), None);
        flow.steps.swap(0, 1);
        assert!(flow.problem().is_some());
    }
}
