//! The books as a whole: the trial balance, [`Store::books_check`] (running
//! figures against the journal), the society's name and house funds.

use super::*;

/// What the books check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BooksReport {
    pub entries: u64,
    pub trial_balance: TrialBalance,
    /// Accounts whose running balance differs from the sum of their lines.
    pub mismatched_accounts: Vec<String>,
    /// Entries whose debits differ from their credits.
    pub unbalanced_entries: Vec<String>,
    /// Asset accounts below zero.
    pub overdrawn_accounts: Vec<String>,
}

impl BooksReport {
    pub fn holds(&self) -> bool {
        self.trial_balance.balanced()
            && self.mismatched_accounts.is_empty()
            && self.unbalanced_entries.is_empty()
            && self.overdrawn_accounts.is_empty()
    }
}

fn sum_i64(row: &sea_orm::QueryResult, col: &str) -> StoreResult<i64> {
    Ok(row.try_get::<Option<i64>>("", col)?.unwrap_or(0))
}

impl Store {
    /// The trial balance from running balances (no history summed).
    pub async fn trial_balance(&self) -> StoreResult<TrialBalance> {
        let rows = accounts::Entity::find().all(&self.read).await?;
        let mut tb = TrialBalance::default();
        for a in rows {
            let kind = AccountKind::parse(&a.kind).ok_or_else(|| StoreError::Corrupt("account kind".into()))?;
            if kind.debit_normal() {
                tb.debit.0 += a.balance_fen;
            } else {
                tb.credit.0 += a.balance_fen;
            }
        }
        Ok(tb)
    }

    /// Proves the running figures: every account's balance equals the sum of
    /// its journal lines, every entry balances, no asset account is negative.
    pub async fn books_check(&self) -> StoreResult<BooksReport> {
        let backend = self.read.get_database_backend();
        let sums = self
            .read
            .query_all(Statement::from_string(
                backend,
                "SELECT account_id, CAST(SUM(debit_fen) AS BIGINT) AS d, CAST(SUM(credit_fen) AS BIGINT) AS c \
                 FROM journal_lines GROUP BY account_id",
            ))
            .await?;
        let mut by_account: HashMap<uuid::Uuid, (i64, i64)> = HashMap::new();
        for row in &sums {
            let id: uuid::Uuid = row.try_get("", "account_id")?;
            by_account.insert(id, (sum_i64(row, "d")?, sum_i64(row, "c")?));
        }
        let mut report = BooksReport {
            entries: journal_entries::Entity::find().count(&self.read).await?,
            trial_balance: self.trial_balance().await?,
            mismatched_accounts: Vec::new(),
            unbalanced_entries: Vec::new(),
            overdrawn_accounts: Vec::new(),
        };
        for a in accounts::Entity::find().all(&self.read).await? {
            let kind = AccountKind::parse(&a.kind).ok_or_else(|| StoreError::Corrupt("account kind".into()))?;
            let (d, c) = by_account.get(&a.id).copied().unwrap_or((0, 0));
            let expected = if kind.debit_normal() { d - c } else { c - d };
            let label = format!("{}:{}", a.fund_id, a.kind);
            if expected != a.balance_fen {
                report
                    .mismatched_accounts
                    .push(format!("{label} running {} journal {expected}", a.balance_fen));
            }
            if a.balance_fen < 0 {
                report.overdrawn_accounts.push(label);
            }
        }
        let unbalanced = self
            .read
            .query_all(Statement::from_string(
                backend,
                "SELECT entry_id FROM journal_lines GROUP BY entry_id HAVING SUM(debit_fen) <> SUM(credit_fen)",
            ))
            .await?;
        for row in unbalanced {
            let id: uuid::Uuid = row.try_get("", "entry_id")?;
            report.unbalanced_entries.push(id.to_string());
        }
        Ok(report)
    }

    /// The society's name: the root organisation's.
    pub async fn society_name(&self) -> StoreResult<String> {
        Ok(orgs::Entity::find()
            .filter(orgs::Column::ParentId.is_null())
            .one(&self.read)
            .await?
            .map(|o| o.name)
            .unwrap_or_else(|| "红十字会".to_owned()))
    }

    /// The general fund and the management-cost fund (created on first use).
    pub async fn house_funds(&self) -> StoreResult<(Project, Project)> {
        let general = projects::Entity::find()
            .filter(projects::Column::Kind.eq("general"))
            .one(&self.read)
            .await?;
        let cost = projects::Entity::find()
            .filter(projects::Column::Kind.eq("management"))
            .one(&self.read)
            .await?;
        match (general, cost) {
            (Some(g), Some(c)) => Ok((to_project(g)?, to_project(c)?)),
            _ => Err(StoreError::NotFound),
        }
    }
}
