//! Money and goods moved between and out of funds (scoped): allocations,
//! disbursements, goods out, transfers, management costs, reversals — each
//! one planned entry through [`post`].

use super::*;

impl ScopedStore {
    async fn fund_for_move(&self, id: ProjectId, field: &str) -> StoreResult<Project> {
        match self.project_get(id).await {
            Ok(p) => Ok(p),
            Err(StoreError::NotFound) => {
                let mut errors = FieldErrors::new();
                errors.add(field, "项目不存在");
                Err(errors.into())
            }
            Err(e) => Err(e),
        }
    }

    /// Allocates undesignated money to a project by a recorded decision.
    pub async fn allocate(
        &self,
        from: ProjectId,
        to: ProjectId,
        amount: Fen,
        decision_ref: &str,
    ) -> StoreResult<JournalEntry> {
        self.actor.require(Permission::ManageFunds)?;
        let source = self.fund_for_move(from, "from_project_id").await?;
        let target = self.fund_for_move(to, "project_id").await?;
        let mut errors = FieldErrors::new();
        let decision =
            boai_domain::validation::required_text(&mut errors, "decision_ref", "决策依据", Some(decision_ref), 200);
        if target.status == ProjectStatus::Closed {
            errors.add("project_id", "项目已结束");
        }
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let plan = funds::allocation(source.id, source.designated, target.id, amount)
            .map_err(|e| funds_error(e, "from_project_id"))?;
        self.post_one(
            &plan,
            EntryMeta {
                decision_ref: decision,
                ..EntryMeta::default()
            },
        )
        .await
    }

    /// The name the public ledger gives a payee or recipient: a stable
    /// pseudonym (keyed hash), never the name itself.
    fn recipient_pseudonym(&self, name: &str) -> String {
        let hash = self.store.secrets.keyed_hash(&format!("recipient:{}", name.trim()));
        format!("受助方-{}", &hash[..10])
    }

    /// Pays money out of a fund.
    pub async fn disburse(
        &self,
        project: ProjectId,
        amount: Fen,
        payee: &str,
        memo: Option<String>,
    ) -> StoreResult<JournalEntry> {
        self.actor.require(Permission::ManageFunds)?;
        let fund = self.fund_for_move(project, "project_id").await?;
        let mut errors = FieldErrors::new();
        let payee = boai_domain::validation::required_text(&mut errors, "payee", "收款方", Some(payee), 200);
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let plan = funds::disbursement(fund.id, amount).map_err(|e| funds_error(e, "amount_fen"))?;
        self.post_one(
            &plan,
            EntryMeta {
                public_recipient: payee.as_deref().map(|p| self.recipient_pseudonym(p)),
                counterparty: payee,
                memo,
                ..EntryMeta::default()
            },
        )
        .await
    }

    /// Gives goods out of a fund, at valuation.
    pub async fn goods_out(
        &self,
        project: ProjectId,
        value: Fen,
        recipient: &str,
        memo: Option<String>,
    ) -> StoreResult<JournalEntry> {
        self.actor.require(Permission::ManageFunds)?;
        let fund = self.fund_for_move(project, "project_id").await?;
        let plan = funds::goods_out(fund.id, value).map_err(|e| funds_error(e, "value_fen"))?;
        self.post_one(
            &plan,
            EntryMeta {
                public_recipient: Some(self.recipient_pseudonym(recipient)),
                counterparty: Some(recipient.to_owned()),
                memo,
                ..EntryMeta::default()
            },
        )
        .await
    }

    /// Moves money between two undesignated funds.
    pub async fn transfer(
        &self,
        from: ProjectId,
        to: ProjectId,
        amount: Fen,
        decision_ref: &str,
    ) -> StoreResult<JournalEntry> {
        self.actor.require(Permission::ManageFunds)?;
        let source = self.fund_for_move(from, "from_project_id").await?;
        let target = self.fund_for_move(to, "project_id").await?;
        let plan = funds::transfer(source.id, source.designated, target.id, target.designated, amount)
            .map_err(|e| funds_error(e, "project_id"))?;
        self.post_one(
            &plan,
            EntryMeta {
                decision_ref: Some(decision_ref.to_owned()),
                ..EntryMeta::default()
            },
        )
        .await
    }

    /// Charges a project's management cost on a base amount at its rate.
    pub async fn charge_management_cost(&self, project: ProjectId, base: Fen) -> StoreResult<Option<JournalEntry>> {
        self.actor.require(Permission::ManageFunds)?;
        let fund = self.fund_for_move(project, "project_id").await?;
        let charge = funds::management_charge(base, i64::from(fund.management_rate_bp), MANAGEMENT_RATE_CAP_BP)
            .map_err(|e| funds_error(e, "management_rate_bp"))?;
        if charge == Fen::ZERO {
            return Ok(None);
        }
        let (_, cost_fund) = self.store.house_funds().await?;
        let plan = funds::management_cost(fund.id, cost_fund.id, charge).map_err(|e| funds_error(e, "amount_fen"))?;
        self.post_one(
            &plan,
            EntryMeta {
                memo: Some(format!("管理费 {} 基点", fund.management_rate_bp)),
                ..EntryMeta::default()
            },
        )
        .await
        .map(Some)
    }

    /// Reverses (part of) a non-gift entry: a correction.
    pub async fn reverse_entry(&self, entry: JournalEntryId, amount: Fen, reason: &str) -> StoreResult<JournalEntry> {
        self.actor.require(Permission::ManageFunds)?;
        // Read and check before the transaction: holding a writer while
        // waiting for a reader could exhaust a shared pool.
        let original = journal_entries::Entity::find_by_id(entry.0)
            .one(&self.store.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        let original = to_entry(original)?;
        self.project_get(original.project_id).await?;
        let txn = self.store.begin_write().await?;
        if original.gift_id.is_some() {
            let mut errors = FieldErrors::new();
            errors.add("entry_id", "捐赠收入请通过退款冲销");
            return Err(errors.into());
        }
        let already = reversed_amount(&txn, entry).await?;
        let remaining = Fen(original.amount.0 - already);
        if amount > remaining {
            return Err(funds_error(FundsError::ReversalTooLarge, "amount_fen"));
        }
        let lines = entry_lines(&txn, entry).await?;
        let plan = funds::reversal(
            entry,
            original.kind,
            original.project_id,
            original.amount,
            &lines,
            amount,
        )
        .map_err(|e| funds_error(e, "amount_fen"))?;
        let meta = EntryMeta {
            memo: Some(reason.to_owned()),
            reverses_kind: Some(original.kind),
            ..EntryMeta::default()
        };
        let posted = post(&txn, &self.actor, self.actor.org_id, self.store.now(), &plan, &meta).await?;
        txn.commit().await?;
        Ok(posted)
    }

    /// The general and management-cost funds.
    pub async fn store_house_funds(&self) -> StoreResult<(Project, Project)> {
        self.store.house_funds().await
    }

    async fn post_one(&self, plan: &EntryPlan, meta: EntryMeta) -> StoreResult<JournalEntry> {
        let txn = self.store.begin_write().await?;
        let entry = post(&txn, &self.actor, self.actor.org_id, self.store.now(), plan, &meta).await?;
        txn.commit().await?;
        Ok(entry)
    }
}
