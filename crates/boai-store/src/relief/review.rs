//! Review (scoped): a decision by [`boai_domain::relief::review::decide`],
//! the case row updated only if it is still as read; a returned case
//! resubmitted.

use super::*;

impl ScopedStore {
    /// Records a review decision at the case's current step.
    pub async fn relief_review(&self, id: CaseId, input: ReviewInput) -> StoreResult<Case> {
        self.actor.require(Permission::HandleRelief)?;
        let row = self.case_row(id).await?;
        let case = to_case(row.clone())?;
        let programme = self.store.relief_programme_row(case.programme_id).await?;
        let me = self.actor.user_id.ok_or(StoreError::Forbidden)?;
        let my_org = orgs::Entity::find_by_id(self.actor.org_id.0)
            .one(&self.store.read)
            .await?
            .ok_or(StoreError::Forbidden)?;
        let my_level = OrgLevel::parse(&my_org.level).ok_or_else(|| StoreError::Corrupt("org level".into()))?;
        let approvers: Vec<UserId> = relief_reviews::Entity::find()
            .filter(relief_reviews::Column::CaseId.eq(id.0))
            .filter(relief_reviews::Column::Decision.eq(Decision::Approve.as_str()))
            .all(&self.store.read)
            .await?
            .into_iter()
            .filter_map(|r| r.reviewer_id.map(UserId))
            .collect();
        let step = usize::try_from(case.step).unwrap_or(0);
        let reason = input.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
        if reason.is_some_and(|r| r.chars().count() > 500) {
            return Err(invalid("reason", "理由不能超过 500 个字"));
        }
        let outcome = decide(
            &ReviewContext {
                flow: &programme.settings.flow,
                status: case.status,
                step,
                amount: case.amount,
                filed_by: case.filed_by,
                approvers: &approvers,
                reviewer: me,
                reviewer_level: my_level,
            },
            input.decision,
            reason,
        )
        .map_err(|e| match e {
            boai_domain::relief::review::ReviewError::ReasonRequired => invalid("reason", e.to_string()),
            boai_domain::relief::review::ReviewError::WrongLevel(_)
            | boai_domain::relief::review::ReviewError::OwnCase
            | boai_domain::relief::review::ReviewError::ApprovedTwice => invalid("decision", e.to_string()),
            _ => StoreError::Conflict(e.to_string()),
        })?;
        let level = programme
            .settings
            .flow
            .steps
            .get(step)
            .map(|s| s.level.as_str())
            .unwrap_or_default();
        let now = self.store.now();
        let final_decision = outcome.status.decided();
        let public_reason = match input.decision {
            Decision::Approve => None,
            _ => reason.map(str::to_owned),
        };
        let txn = self.store.begin_write().await?;
        let changed = relief_cases::Entity::update_many()
            .col_expr(relief_cases::Column::Status, Expr::value(outcome.status.as_str()))
            .col_expr(
                relief_cases::Column::Step,
                Expr::value(i32::try_from(outcome.step).unwrap_or(0)),
            )
            .col_expr(relief_cases::Column::StepSince, Expr::value(now))
            .col_expr(relief_cases::Column::PublicReason, Expr::value(public_reason.clone()))
            .col_expr(
                relief_cases::Column::DecidedAt,
                Expr::value(if final_decision { Some(now) } else { None }),
            )
            .filter(relief_cases::Column::Id.eq(id.0))
            .filter(relief_cases::Column::Status.eq(case.status.as_str()))
            .filter(relief_cases::Column::Step.eq(case.step))
            .exec(&txn)
            .await?;
        if changed.rows_affected != 1 {
            return Err(StoreError::Conflict("该申请刚被他人处理, 请刷新后再试".to_owned()));
        }
        relief_reviews::Entity::insert(relief_reviews::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            case_id: Set(id.0),
            step: Set(case.step),
            level: Set(level.to_owned()),
            decision: Set(input.decision.as_str().to_owned()),
            reason: Set(reason.map(str::to_owned)),
            reviewer_id: Set(Some(me.0)),
            reviewer_name: Set(self.actor.username.clone()),
            at: Set(now),
        })
        .exec_without_returning(&txn)
        .await?;
        let message = match outcome.status {
            CaseStatus::Approved => Some(format!(
                "【红十字会】您的救助申请 {} 已批准, 救助金额 {}, 将尽快拨付。",
                case.case_no,
                case.amount.display_yuan()
            )),
            CaseStatus::Returned => Some(format!(
                "【红十字会】您的救助申请 {} 需补充材料: {}",
                case.case_no,
                reason.unwrap_or_default()
            )),
            CaseStatus::Rejected => Some(format!(
                "【红十字会】您的救助申请 {} 未获批准, 原因: {}",
                case.case_no,
                reason.unwrap_or_default()
            )),
            _ => None,
        };
        if let Some(m) = message {
            notify(&txn, &self.store, id, &row.phone_enc, m, now).await?;
        }
        let after = Case {
            status: outcome.status,
            step: i32::try_from(outcome.step).unwrap_or(0),
            step_since: now,
            public_reason,
            decided_at: if final_decision { Some(now) } else { None },
            ..case.clone()
        };
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Update,
                entity: "relief_case",
                entity_id: id.to_string(),
                org_id: case.org_id,
                before: Some(case_audit(&case)),
                after: Some(serde_json::json!({
                    "case": case_audit(&after),
                    "review": {"step": case.step, "level": level, "decision": input.decision.as_str(), "reason": reason},
                })),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(after)
    }

    /// Puts a case returned for documents back at its step (the documents
    /// have arrived).
    pub async fn relief_resubmit(&self, id: CaseId) -> StoreResult<Case> {
        self.actor.require(Permission::HandleRelief)?;
        let case = to_case(self.case_row(id).await?)?;
        if case.status != CaseStatus::Returned {
            return Err(StoreError::Conflict("只有退回补充材料的申请可以重新提交".to_owned()));
        }
        let now = self.store.now();
        let txn = self.store.begin_write().await?;
        let changed = relief_cases::Entity::update_many()
            .col_expr(relief_cases::Column::Status, Expr::value(CaseStatus::Pending.as_str()))
            .col_expr(relief_cases::Column::StepSince, Expr::value(now))
            .filter(relief_cases::Column::Id.eq(id.0))
            .filter(relief_cases::Column::Status.eq(CaseStatus::Returned.as_str()))
            .exec(&txn)
            .await?;
        if changed.rows_affected != 1 {
            return Err(StoreError::Conflict("该申请刚被他人处理, 请刷新后再试".to_owned()));
        }
        let after = Case {
            status: CaseStatus::Pending,
            step_since: now,
            ..case.clone()
        };
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Update,
                entity: "relief_case",
                entity_id: id.to_string(),
                org_id: case.org_id,
                before: Some(case_audit(&case)),
                after: Some(case_audit(&after)),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(after)
    }
}
