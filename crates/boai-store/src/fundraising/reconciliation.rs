//! Bank statements and reconciliation (issue 5). Rules:
//! - an import is all or nothing for the file as parsed by the domain; a
//!   line whose 流水号 is already stored is skipped (importing the same
//!   statement twice adds nothing); debits are kept but never matched;
//! - new credits are proposed against gifts in scope not yet reconciled
//!   (bank transfers and online gifts), by amount, date window and
//!   reference; staff accept a proposal, or create a gift from an unmatched
//!   credit through the normal gift path (same transaction as the line);
//! - every change is audited in its transaction; a line is claimed with a
//!   guarded update before the gift path's own locks.

use super::{gifts_to_view, Gift};
use crate::audit::{append, append_many, AuditChange};
use crate::entities::{bank_layouts, bank_statement_lines, donors, gifts};
use crate::{Page, ScopedStore, StoreError, StoreResult};
use boai_domain::accounts::Permission;
use boai_domain::audit::AuditAction;
use boai_domain::fundraising::reconciliation::{
    builtin_layouts, propose_matches, BankLayout, Candidate, Credit, Statement, MATCH_WINDOW_DAYS,
};
use boai_domain::fundraising::{Channel, DonationForCreate};
use boai_domain::ids::{GiftId, OrgId};
use boai_domain::money::Fen;
use boai_domain::validation::FieldErrors;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

crate::scoped::org_owned!(bank_statement_lines);

/// Where a statement line stands.
pub const UNMATCHED: &str = "unmatched";
pub const PROPOSED: &str = "proposed";
pub const MATCHED: &str = "matched";
pub const CREATED: &str = "created";
pub const DEBIT: &str = "debit";

/// What an import did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StatementReport {
    pub layout: String,
    /// Lines in the file.
    pub lines: usize,
    /// New lines stored.
    pub imported: usize,
    /// Lines already stored (by 流水号), skipped.
    pub duplicates: Vec<String>,
    /// New debits (kept, not matched).
    pub debits: usize,
    /// New credits with a proposed gift: (流水号, certificate number).
    pub proposed: Vec<(String, String)>,
    /// New credits with no gift to match.
    pub unmatched: Vec<String>,
}

/// A statement line as staff see it.
#[derive(Debug, Clone, Serialize)]
pub struct BankLine {
    pub id: Uuid,
    pub reference: String,
    pub date: NaiveDate,
    pub amount: Fen,
    pub counterparty: String,
    pub counterparty_account: Option<String>,
    pub memo: String,
    pub status: String,
    pub gift_id: Option<GiftId>,
    pub proposed_gift_id: Option<GiftId>,
    /// The certificate number of the matched or proposed gift.
    pub certificate_no: Option<String>,
    /// Days since the bank booked it (for unreconciled lines).
    pub age_days: i64,
    pub org_id: OrgId,
}

impl ScopedStore {
    /// The built-in layouts, then those staff saved.
    pub async fn bank_layouts(&self) -> StoreResult<Vec<BankLayout>> {
        let mut out = builtin_layouts();
        for row in bank_layouts::Entity::find()
            .order_by_asc(bank_layouts::Column::Name)
            .all(&self.store.read)
            .await?
        {
            if let Ok(layout) = serde_json::from_str::<BankLayout>(&row.mapping) {
                out.push(layout);
            }
        }
        Ok(out)
    }

    /// Saves a column mapping for a new statement layout.
    pub async fn bank_layout_save(&self, layout: BankLayout) -> StoreResult<BankLayout> {
        self.actor.require(Permission::RecordGifts)?;
        if let Err(msg) = layout.check() {
            let mut errors = FieldErrors::new();
            errors.add("layout", msg);
            return Err(errors.into());
        }
        let now = self.store.now();
        let mapping = serde_json::to_string(&layout).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let txn = self.store.begin_write().await?;
        let id = Uuid::now_v7();
        bank_layouts::Entity::insert(bank_layouts::ActiveModel {
            id: Set(id),
            name: Set(layout.name.trim().to_owned()),
            mapping: Set(mapping),
            created_by: Set(self.actor.username.clone()),
            created_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(|e| StoreError::from(e).conflict_on("name", "已有同名的对账单格式"))?;
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Create,
                entity: "bank_layout",
                entity_id: id.to_string(),
                org_id: self.actor.org_id,
                before: None,
                after: serde_json::to_value(&layout).ok(),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(layout)
    }

    /// Gifts in scope that a credit could settle: bank transfers and online
    /// gifts, not refunded, not matched or proposed yet, dated in the window.
    async fn match_candidates<C: ConnectionTrait>(
        &self,
        conn: &C,
        from: NaiveDate,
        until: NaiveDate,
    ) -> StoreResult<Vec<Candidate<Uuid>>> {
        let taken = sea_orm::sea_query::Query::select()
            .column(bank_statement_lines::Column::GiftId)
            .from(bank_statement_lines::Entity)
            .and_where(Expr::col(bank_statement_lines::Column::GiftId).is_not_null())
            .to_owned();
        let proposed = sea_orm::sea_query::Query::select()
            .column(bank_statement_lines::Column::ProposedGiftId)
            .from(bank_statement_lines::Entity)
            .and_where(Expr::col(bank_statement_lines::Column::ProposedGiftId).is_not_null())
            .to_owned();
        let rows = self
            .select::<gifts::Entity>()
            .filter(gifts::Column::Channel.is_in([
                Channel::BankTransfer.as_str(),
                Channel::Online.as_str(),
                Channel::Wechat.as_str(),
                Channel::Alipay.as_str(),
            ]))
            .filter(gifts::Column::Status.ne("refunded"))
            .filter(gifts::Column::ReceivedOn.gte(from))
            .filter(gifts::Column::ReceivedOn.lte(until))
            .filter(gifts::Column::Id.not_in_subquery(taken))
            .filter(gifts::Column::Id.not_in_subquery(proposed))
            .order_by_asc(gifts::Column::ReceivedOn)
            .limit(5_000)
            .all(conn)
            .await?;
        let donor_ids: Vec<Uuid> = rows.iter().filter_map(|g| g.donor_id).collect();
        let names: HashMap<Uuid, String> = if donor_ids.is_empty() {
            HashMap::new()
        } else {
            donors::Entity::find()
                .filter(donors::Column::Id.is_in(donor_ids))
                .all(conn)
                .await?
                .into_iter()
                .map(|d| (d.id, d.name))
                .collect()
        };
        Ok(rows
            .into_iter()
            .map(|g| {
                let mut references = vec![g.certificate_no.clone()];
                if let Some(name) = g.donor_id.and_then(|d| names.get(&d)) {
                    references.push(name.clone());
                }
                if let Some(note) = g.note.as_deref() {
                    // Online gifts carry their order number in the note.
                    if let Some(no) = note.split_whitespace().find(|w| w.starts_with('G') && w.len() == 33) {
                        references.push(no.to_owned());
                    }
                }
                Candidate {
                    key: g.id,
                    amount: Fen(g.amount_fen - g.refunded_fen),
                    date: g.received_on,
                    references,
                }
            })
            .collect())
    }

    /// Imports a parsed statement: new lines stored, duplicates skipped,
    /// credits proposed against gifts. All in one transaction.
    pub async fn bank_statement_import(&self, statement: Statement) -> StoreResult<StatementReport> {
        self.actor.require(Permission::RecordGifts)?;
        let now = self.store.now();
        let refs: Vec<String> = statement.lines.iter().map(|l| l.reference.clone()).collect();
        let txn = self.store.begin_write().await?;
        let mut existing: HashSet<String> = HashSet::new();
        for chunk in refs.chunks(500) {
            existing.extend(
                bank_statement_lines::Entity::find()
                    .filter(bank_statement_lines::Column::Reference.is_in(chunk.to_vec()))
                    .all(&txn)
                    .await?
                    .into_iter()
                    .map(|l| l.reference),
            );
        }
        let batch = Uuid::now_v7();
        let mut report = StatementReport {
            layout: statement.layout.clone(),
            lines: statement.lines.len(),
            imported: 0,
            duplicates: Vec::new(),
            debits: 0,
            proposed: Vec::new(),
            unmatched: Vec::new(),
        };
        let mut fresh = Vec::new();
        for line in statement.lines {
            if existing.contains(&line.reference) {
                report.duplicates.push(line.reference);
            } else {
                fresh.push((Uuid::now_v7(), line));
            }
        }
        let credits: Vec<Credit<usize>> = fresh
            .iter()
            .enumerate()
            .filter(|(_, (_, l))| l.amount.0 > 0)
            .map(|(i, (_, l))| Credit {
                key: i,
                amount: l.amount,
                date: l.date,
                text: format!("{} {}", l.memo, l.counterparty),
            })
            .collect();
        let mut proposals: HashMap<usize, Uuid> = HashMap::new();
        if let (Some(min), Some(max)) = (
            credits.iter().map(|c| c.date).min(),
            credits.iter().map(|c| c.date).max(),
        ) {
            let window = Duration::days(MATCH_WINDOW_DAYS);
            let candidates = self.match_candidates(&txn, min - window, max + window).await?;
            proposals = propose_matches(&credits, &candidates).into_iter().collect();
        }
        let cert_of: HashMap<Uuid, String> = if proposals.is_empty() {
            HashMap::new()
        } else {
            gifts::Entity::find()
                .filter(gifts::Column::Id.is_in(proposals.values().copied().collect::<Vec<_>>()))
                .all(&txn)
                .await?
                .into_iter()
                .map(|g| (g.id, g.certificate_no))
                .collect()
        };
        let mut rows = Vec::with_capacity(fresh.len());
        let mut changes = Vec::with_capacity(fresh.len());
        for (i, (id, l)) in fresh.iter().enumerate() {
            let proposed = proposals.get(&i).copied();
            let status = if l.amount.0 < 0 {
                report.debits += 1;
                DEBIT
            } else if let Some(g) = proposed {
                report
                    .proposed
                    .push((l.reference.clone(), cert_of.get(&g).cloned().unwrap_or_default()));
                PROPOSED
            } else {
                report.unmatched.push(l.reference.clone());
                UNMATCHED
            };
            rows.push(bank_statement_lines::ActiveModel {
                id: Set(*id),
                org_id: Set(self.actor.org_id.0),
                reference: Set(l.reference.clone()),
                txn_date: Set(l.date),
                amount_fen: Set(l.amount.0),
                counterparty: Set(l.counterparty.clone()),
                counterparty_account: Set(l.counterparty_account.clone()),
                memo: Set(l.memo.clone()),
                layout: Set(statement.layout.chars().take(100).collect()),
                batch_id: Set(batch),
                status: Set(status.to_owned()),
                gift_id: Set(None),
                proposed_gift_id: Set(proposed),
                imported_by: Set(self.actor.username.clone()),
                imported_at: Set(now),
                reconciled_by: Set(None),
                reconciled_at: Set(None),
            });
            changes.push(AuditChange {
                action: AuditAction::Create,
                entity: "bank_statement_line",
                entity_id: id.to_string(),
                org_id: self.actor.org_id,
                before: None,
                after: Some(serde_json::json!({
                    "reference": l.reference, "date": l.date, "amount_fen": l.amount.0,
                    "status": status, "proposed_gift_id": proposed, "batch_id": batch,
                })),
            });
        }
        report.imported = rows.len();
        for chunk in rows.chunks(200) {
            bank_statement_lines::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await?;
        }
        append_many(&txn, &self.actor, now, changes).await?;
        txn.commit().await?;
        Ok(report)
    }

    /// Statement lines in scope: `status` one of the line states, or
    /// `unreconciled` (credits unmatched or only proposed), oldest first.
    pub async fn bank_lines(&self, status: Option<&str>, page: Page) -> StoreResult<(Vec<BankLine>, u64)> {
        self.actor.require(Permission::ViewGifts)?;
        let mut query = self.select::<bank_statement_lines::Entity>();
        match status {
            Some("unreconciled") => {
                query = query.filter(bank_statement_lines::Column::Status.is_in([UNMATCHED, PROPOSED]));
            }
            Some(s) if !s.is_empty() => query = query.filter(bank_statement_lines::Column::Status.eq(s)),
            _ => {}
        }
        let total = query.clone().count(&self.store.read).await?;
        let rows = query
            .order_by_asc(bank_statement_lines::Column::TxnDate)
            .order_by_asc(bank_statement_lines::Column::Reference)
            .offset(page.offset())
            .limit(page.per_page)
            .all(&self.store.read)
            .await?;
        let gift_ids: Vec<Uuid> = rows.iter().filter_map(|r| r.gift_id.or(r.proposed_gift_id)).collect();
        let certs: HashMap<Uuid, String> = if gift_ids.is_empty() {
            HashMap::new()
        } else {
            gifts::Entity::find()
                .filter(gifts::Column::Id.is_in(gift_ids))
                .all(&self.store.read)
                .await?
                .into_iter()
                .map(|g| (g.id, g.certificate_no))
                .collect()
        };
        let today = boai_domain::clock::china_date(self.store.now());
        Ok((
            rows.into_iter()
                .map(|r| BankLine {
                    certificate_no: r.gift_id.or(r.proposed_gift_id).and_then(|g| certs.get(&g).cloned()),
                    id: r.id,
                    age_days: (today - r.txn_date).num_days().max(0),
                    reference: r.reference,
                    date: r.txn_date,
                    amount: Fen(r.amount_fen),
                    counterparty: r.counterparty,
                    counterparty_account: r.counterparty_account,
                    memo: r.memo,
                    status: r.status,
                    gift_id: r.gift_id.map(GiftId),
                    proposed_gift_id: r.proposed_gift_id.map(GiftId),
                    org_id: OrgId(r.org_id),
                })
                .collect(),
            total,
        ))
    }

    /// The sum and count of credits not yet reconciled, in scope.
    pub async fn bank_unreconciled(&self) -> StoreResult<(Fen, u64)> {
        self.actor.require(Permission::ViewGifts)?;
        let rows = self
            .select::<bank_statement_lines::Entity>()
            .filter(bank_statement_lines::Column::Status.is_in([UNMATCHED, PROPOSED]))
            .all(&self.store.read)
            .await?;
        Ok((Fen(rows.iter().map(|r| r.amount_fen).sum()), rows.len() as u64))
    }

    async fn bank_line_row(&self, id: Uuid) -> StoreResult<bank_statement_lines::Model> {
        self.select::<bank_statement_lines::Entity>()
            .filter(bank_statement_lines::Column::Id.eq(id))
            .one(&self.store.read)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Accepts a proposed match.
    pub async fn bank_line_accept(&self, id: Uuid) -> StoreResult<()> {
        self.actor.require(Permission::RecordGifts)?;
        let line = self.bank_line_row(id).await?;
        let Some(gift) = line.proposed_gift_id.filter(|_| line.status == PROPOSED) else {
            let mut errors = FieldErrors::new();
            errors.add("status", "该流水没有待确认的匹配");
            return Err(errors.into());
        };
        let now = self.store.now();
        let txn = self.store.begin_write().await?;
        let done = bank_statement_lines::Entity::update_many()
            .col_expr(bank_statement_lines::Column::Status, Expr::value(MATCHED))
            .col_expr(bank_statement_lines::Column::GiftId, Expr::value(gift))
            .col_expr(
                bank_statement_lines::Column::ReconciledBy,
                Expr::value(self.actor.username.clone()),
            )
            .col_expr(bank_statement_lines::Column::ReconciledAt, Expr::value(now))
            .filter(bank_statement_lines::Column::Id.eq(id))
            .filter(bank_statement_lines::Column::Status.eq(PROPOSED))
            .exec(&txn)
            .await?;
        if done.rows_affected == 0 {
            txn.rollback().await?;
            return Err(StoreError::Conflict("该流水已处理".to_owned()));
        }
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Update,
                entity: "bank_statement_line",
                entity_id: id.to_string(),
                org_id: OrgId(line.org_id),
                before: Some(serde_json::json!({"status": line.status, "proposed_gift_id": gift})),
                after: Some(serde_json::json!({"status": MATCHED, "gift_id": gift})),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Records a gift from an unmatched (or wrongly proposed) credit after
    /// review: the normal gift path, as a bank transfer on the booking date,
    /// for exactly the credited amount, in the line's transaction.
    pub async fn bank_line_create_gift(&self, id: Uuid, mut input: DonationForCreate) -> StoreResult<Gift> {
        self.actor.require(Permission::RecordGifts)?;
        let line = self.bank_line_row(id).await?;
        let mut errors = FieldErrors::new();
        if line.status != UNMATCHED && line.status != PROPOSED {
            errors.add("status", "只有未对账的入账流水可以登记为捐赠");
        }
        if input.amount.0 != line.amount_fen {
            errors.add("amount_fen", "金额须等于该笔入账金额");
        }
        if input.goods.is_some() {
            errors.add("goods", "银行入账不能登记为物资捐赠");
        }
        if let Err(StoreError::NotFound) = self.project_get(input.project_id).await {
            errors.add("project_id", "项目不存在");
        }
        if !errors.is_empty() {
            return Err(errors.into());
        }
        input.channel = Channel::BankTransfer;
        input.received_on = Some(line.txn_date);
        if input.note.is_none() {
            input.note = Some(format!("银行流水 {}", line.reference));
        }
        let now = self.store.now();
        let txn = self.store.begin_write().await?;
        let claimed = bank_statement_lines::Entity::update_many()
            .col_expr(bank_statement_lines::Column::Status, Expr::value(CREATED))
            .col_expr(
                bank_statement_lines::Column::ReconciledBy,
                Expr::value(self.actor.username.clone()),
            )
            .col_expr(bank_statement_lines::Column::ReconciledAt, Expr::value(now))
            .col_expr(
                bank_statement_lines::Column::ProposedGiftId,
                Expr::value(Option::<Uuid>::None),
            )
            .filter(bank_statement_lines::Column::Id.eq(id))
            .filter(
                Condition::any()
                    .add(bank_statement_lines::Column::Status.eq(UNMATCHED))
                    .add(bank_statement_lines::Column::Status.eq(PROPOSED)),
            )
            .exec(&txn)
            .await?;
        if claimed.rows_affected == 0 {
            txn.rollback().await?;
            return Err(StoreError::Conflict("该流水已处理".to_owned()));
        }
        let gift = self.record_gift(&txn, input, now).await?;
        bank_statement_lines::Entity::update_many()
            .col_expr(bank_statement_lines::Column::GiftId, Expr::value(gift.id.0))
            .filter(bank_statement_lines::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Update,
                entity: "bank_statement_line",
                entity_id: id.to_string(),
                org_id: OrgId(line.org_id),
                before: Some(serde_json::json!({"status": line.status})),
                after: Some(serde_json::json!({"status": CREATED, "gift_id": gift.id})),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(gift)
    }

    /// Gifts of a donor-independent view, for matching displays.
    pub async fn bank_line_gift(&self, line: &BankLine) -> StoreResult<Option<Gift>> {
        let Some(id) = line.gift_id.or(line.proposed_gift_id) else {
            return Ok(None);
        };
        let rows = gifts::Entity::find_by_id(id.0).all(&self.store.read).await?;
        Ok(gifts_to_view(&self.store.read, rows).await?.pop())
    }
}

/// The age, in days, of a booking date.
pub fn age_days(date: NaiveDate, now: DateTime<Utc>) -> i64 {
    (boai_domain::clock::china_date(now) - date).num_days().max(0)
}
