//! Posting: [`post`] writes one planned entry (entry, lines, guarded running
//! balances, project totals, public ledger entry, audit); [`entry_lines`]
//! and [`reversed_amount`] read a posted one back.

use super::*;

/// Writes a planned entry with its lines, balances and totals. Fails (and
/// the caller's transaction must roll back) if an account would go below zero.
pub(crate) async fn post<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    org_id: OrgId,
    at: DateTime<Utc>,
    plan: &EntryPlan,
    meta: &EntryMeta,
) -> StoreResult<JournalEntry> {
    plan.check_balanced().map_err(|e| funds_error(e, "amount_fen"))?;
    let seq = next_in_sequence(conn, "journal").await?;
    let ledger_index = crate::ledger::next_index(conn).await?;
    let id = JournalEntryId::new();
    let mut funds_touched: Vec<ProjectId> = plan.lines.iter().map(|l| l.fund).collect();
    funds_touched.sort();
    funds_touched.dedup();
    let account_rows = accounts::Entity::find()
        .filter(accounts::Column::FundId.is_in(funds_touched.iter().map(|f| f.0)))
        .all(conn)
        .await?;
    let account_of: HashMap<(uuid::Uuid, String), uuid::Uuid> =
        account_rows.into_iter().map(|a| ((a.fund_id, a.kind), a.id)).collect();
    let entry = JournalEntry {
        id,
        seq,
        at,
        kind: plan.kind,
        project_id: plan.project,
        amount: plan.amount,
        reverses_id: plan.reverses,
        gift_id: meta.gift_id,
        counterparty: meta.counterparty.clone(),
        memo: meta.memo.clone(),
        decision_ref: meta.decision_ref.clone(),
        ledger_index: Some(ledger_index as i64),
    };
    journal_entries::Entity::insert(entry_row(&entry, org_id, &actor.username))
        .exec_without_returning(conn)
        .await?;
    // Balances are moved in account-id order (lines are written in plan
    // order), so concurrent entries over the same funds lock rows in one
    // order and cannot deadlock.
    let mut moves: Vec<(uuid::Uuid, i64, String)> = Vec::new();
    for line in &plan.lines {
        let account = *account_of
            .get(&(line.fund.0, line.account.as_str().to_owned()))
            .ok_or_else(|| {
                StoreError::Corrupt(format!("fund {} has no {} account", line.fund, line.account.as_str()))
            })?;
        moves.push((account, line.balance_delta(), line.fund.to_string()));
    }
    moves.sort_by_key(|m| m.0);
    for (account, delta, fund) in &moves {
        let moved = accounts::Entity::update_many()
            .col_expr(
                accounts::Column::BalanceFen,
                Expr::col(accounts::Column::BalanceFen).add(*delta),
            )
            .filter(accounts::Column::Id.eq(*account))
            .filter(Expr::expr(Expr::col(accounts::Column::BalanceFen).add(*delta)).gte(0))
            .exec(conn)
            .await?;
        if moved.rows_affected == 0 {
            let fund: uuid::Uuid = fund.parse().map_err(|_| StoreError::Corrupt("fund id".into()))?;
            let name = projects::Entity::find_by_id(fund)
                .one(conn)
                .await?
                .map(|p| p.name)
                .unwrap_or_default();
            return Err(overdrawn(&name));
        }
    }
    for (n, line) in plan.lines.iter().enumerate() {
        let account = *account_of
            .get(&(line.fund.0, line.account.as_str().to_owned()))
            .ok_or_else(|| StoreError::Corrupt("account vanished".into()))?;
        journal_lines::Entity::insert(line_row(id, n, account, line))
            .exec_without_returning(conn)
            .await?;
    }
    for fund in funds_touched {
        let net: i64 = plan
            .lines
            .iter()
            .filter(|l| l.fund == fund && l.account == AccountKind::NetAssets)
            .map(Line::balance_delta)
            .sum();
        let (raised, allocated, spent, refunded) = funds::totals_delta(plan.kind, meta.reverses_kind, net);
        if (raised, allocated, spent, refunded) == (0, 0, 0, 0) {
            continue;
        }
        projects::Entity::update_many()
            .col_expr(
                projects::Column::RaisedFen,
                Expr::col(projects::Column::RaisedFen).add(raised),
            )
            .col_expr(
                projects::Column::AllocatedFen,
                Expr::col(projects::Column::AllocatedFen).add(allocated),
            )
            .col_expr(
                projects::Column::SpentFen,
                Expr::col(projects::Column::SpentFen).add(spent),
            )
            .col_expr(
                projects::Column::RefundedFen,
                Expr::col(projects::Column::RefundedFen).add(refunded),
            )
            .col_expr(projects::Column::UpdatedAt, Expr::value(at))
            .filter(projects::Column::Id.eq(fund.0))
            .exec(conn)
            .await?;
    }
    let public = ledger_entry_for(&entry, &net_deltas(&plan.lines), meta)
        .to_canonical()
        .map_err(|e| StoreError::Corrupt(format!("ledger entry: {e}")))?;
    crate::ledger::append(conn, ledger_index, id.0, &public).await?;
    if meta.gift_id.is_some() && plan.kind != EntryKind::Reversal {
        // A new gift's entry is audited with the gift itself (one row).
        return Ok(entry);
    }
    append(
        conn,
        actor,
        at,
        AuditChange {
            action: AuditAction::Create,
            entity: "journal_entry",
            entity_id: id.to_string(),
            org_id,
            before: None,
            after: Some(serde_json::json!({
                "seq": entry.seq, "kind": entry.kind, "project_id": entry.project_id,
                "amount_fen": entry.amount.0, "reverses_id": entry.reverses_id,
                "lines": plan.lines.iter().map(|l| serde_json::json!({
                    "fund": l.fund, "account": l.account, "debit_fen": l.debit.0, "credit_fen": l.credit.0
                })).collect::<Vec<_>>(),
                "counterparty": entry.counterparty, "memo": entry.memo, "decision_ref": entry.decision_ref,
            })),
        },
    )
    .await?;
    Ok(entry)
}

/// The lines of a posted entry, as plan lines.
pub(crate) async fn entry_lines<C: ConnectionTrait>(conn: &C, entry: JournalEntryId) -> StoreResult<Vec<Line>> {
    let lines = journal_lines::Entity::find()
        .filter(journal_lines::Column::EntryId.eq(entry.0))
        .order_by_asc(journal_lines::Column::LineNo)
        .all(conn)
        .await?;
    let ids: Vec<uuid::Uuid> = lines.iter().map(|l| l.account_id).collect();
    let accounts: HashMap<uuid::Uuid, accounts::Model> = accounts::Entity::find()
        .filter(accounts::Column::Id.is_in(ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    lines
        .into_iter()
        .map(|l| {
            let a = accounts
                .get(&l.account_id)
                .ok_or_else(|| StoreError::Corrupt("line without account".into()))?;
            Ok(Line {
                fund: ProjectId(a.fund_id),
                account: AccountKind::parse(&a.kind).ok_or_else(|| StoreError::Corrupt("account kind".into()))?,
                debit: Fen(l.debit_fen),
                credit: Fen(l.credit_fen),
            })
        })
        .collect()
}

/// How much of an entry earlier reversals already took back.
pub(crate) async fn reversed_amount<C: ConnectionTrait>(conn: &C, entry: JournalEntryId) -> StoreResult<i64> {
    let rows = journal_entries::Entity::find()
        .filter(journal_entries::Column::ReversesId.eq(entry.0))
        .all(conn)
        .await?;
    Ok(rows.iter().map(|r| r.amount_fen).sum())
}
