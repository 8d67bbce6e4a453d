//! Projects and funds as staff see them (scoped): list, read, create, open
//! and close; balances, entries and monthly figures.

use super::*;

impl ScopedStore {
    /// Projects the actor may read: those owned in their subtree, and every
    /// project the city owns.
    pub(crate) fn projects_select(&self) -> sea_orm::Select<projects::Entity> {
        self.select_or_city::<projects::Entity>()
    }

    pub async fn projects_list(&self, filter: &ProjectFilter, page: Page) -> StoreResult<(Vec<Project>, u64)> {
        let mut query = self.projects_select();
        if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            query = query.filter(
                Condition::any()
                    .add(projects::Column::Name.contains(q))
                    .add(projects::Column::Code.contains(q)),
            );
        }
        if let Some(status) = filter.status {
            query = query.filter(projects::Column::Status.eq(status.as_str()));
        }
        if let Some(kind) = &filter.kind {
            query = query.filter(projects::Column::Kind.eq(kind.as_str()));
        }
        let total = query.clone().count(&self.store.read).await?;
        let rows = query
            .order_by_asc(projects::Column::Code)
            .offset(page.offset())
            .limit(page.per_page)
            .all(&self.store.read)
            .await?;
        Ok((rows.into_iter().map(to_project).collect::<StoreResult<_>>()?, total))
    }

    pub async fn project_get(&self, id: ProjectId) -> StoreResult<Project> {
        let row = self
            .projects_select()
            .filter(projects::Column::Id.eq(id.0))
            .one(&self.store.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        to_project(row)
    }

    /// Creates a project owned by an organisation in scope.
    pub async fn project_create(&self, input: ProjectForCreate) -> StoreResult<Project> {
        self.actor.require(Permission::ManageProjects)?;
        let mut errors = FieldErrors::new();
        if !(0..=MANAGEMENT_RATE_CAP_BP).contains(&i64::from(input.management_rate_bp)) {
            errors.add(
                "management_rate_bp",
                format!("管理费比例须在 0 至 {MANAGEMENT_RATE_CAP_BP} 个基点之间"),
            );
        }
        let txn = self.store.begin_write().await?;
        if self.org_in_scope(&txn, input.org_id).await?.is_none() {
            errors.add("org_id", "所属组织不存在或不在您的管辖范围内");
        }
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let now = self.store.now();
        let project = insert_project(&txn, &input, now)
            .await
            .map_err(|e| e.conflict_on("code", "该项目代码已被使用"))?;
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Create,
                entity: "project",
                entity_id: project.id.to_string(),
                org_id: project.org_id,
                before: None,
                after: serde_json::to_value(&project).ok(),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(project)
    }

    /// Opens or closes a project.
    pub async fn project_set_status(&self, id: ProjectId, status: ProjectStatus) -> StoreResult<Project> {
        self.actor.require(Permission::ManageProjects)?;
        let before = self.project_get(id).await?;
        if self.org_in_scope(&self.store.read, before.org_id).await?.is_none() {
            return Err(StoreError::Forbidden);
        }
        let now = self.store.now();
        let txn = self.store.begin_write().await?;
        projects::Entity::update_many()
            .col_expr(projects::Column::Status, Expr::value(status.as_str()))
            .col_expr(projects::Column::UpdatedAt, Expr::value(now))
            .filter(projects::Column::Id.eq(id.0))
            .exec(&txn)
            .await?;
        let after = to_project(
            projects::Entity::find_by_id(id.0)
                .one(&txn)
                .await?
                .ok_or(StoreError::NotFound)?,
        )?;
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Update,
                entity: "project",
                entity_id: id.to_string(),
                org_id: after.org_id,
                before: serde_json::to_value(&before).ok(),
                after: serde_json::to_value(&after).ok(),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(after)
    }

    /// The trial balance of the funds in view, from running balances. Each
    /// fund balances by itself, so the sums over any set of funds balance.
    pub async fn trial_balance(&self) -> StoreResult<TrialBalance> {
        let mut tb = TrialBalance::default();
        for b in self.fund_balances().await? {
            tb.debit.0 += b.money.0 + b.goods.0;
            tb.credit.0 += b.net_assets.0;
        }
        Ok(tb)
    }

    /// Balances of every fund in view.
    pub async fn fund_balances(&self) -> StoreResult<Vec<FundBalance>> {
        self.actor.require(Permission::ViewFunds)?;
        let (projects, _) = self
            .projects_list(
                &ProjectFilter::default(),
                Page {
                    page: 1,
                    per_page: u64::MAX / 2,
                },
            )
            .await?;
        let ids: Vec<uuid::Uuid> = projects.iter().map(|p| p.id.0).collect();
        let accounts = accounts::Entity::find()
            .filter(accounts::Column::FundId.is_in(ids))
            .all(&self.store.read)
            .await?;
        let mut by_fund: HashMap<uuid::Uuid, (i64, i64, i64)> = HashMap::new();
        for a in accounts {
            let e = by_fund.entry(a.fund_id).or_default();
            match a.kind.as_str() {
                "money" => e.0 = a.balance_fen,
                "goods" => e.1 = a.balance_fen,
                _ => e.2 = a.balance_fen,
            }
        }
        Ok(projects
            .into_iter()
            .map(|p| {
                let (m, g, n) = by_fund.get(&p.id.0).copied().unwrap_or_default();
                FundBalance {
                    project: p,
                    money: Fen(m),
                    goods: Fen(g),
                    net_assets: Fen(n),
                }
            })
            .collect())
    }

    /// Journal entries of a project, newest first.
    pub async fn project_entries(&self, id: ProjectId, page: Page) -> StoreResult<(Vec<JournalEntry>, u64)> {
        let project = self.project_get(id).await?;
        let query = journal_entries::Entity::find().filter(journal_entries::Column::ProjectId.eq(project.id.0));
        let total = query.clone().count(&self.store.read).await?;
        let rows = query
            .order_by_desc(journal_entries::Column::Seq)
            .offset(page.offset())
            .limit(page.per_page)
            .all(&self.store.read)
            .await?;
        Ok((rows.into_iter().map(to_entry).collect::<StoreResult<_>>()?, total))
    }

    /// Money in and out of a project by month (China time), for its chart:
    /// (month, raised, spent).
    pub async fn project_monthly(&self, id: ProjectId) -> StoreResult<Vec<(String, i64, i64)>> {
        let project = self.project_get(id).await?;
        let rows = journal_entries::Entity::find()
            .filter(journal_entries::Column::ProjectId.eq(project.id.0))
            .order_by_asc(journal_entries::Column::Seq)
            .all(&self.store.read)
            .await?;
        let mut months: std::collections::BTreeMap<String, (i64, i64)> = std::collections::BTreeMap::new();
        let cst = chrono::FixedOffset::east_opt(8 * 3600).ok_or_else(|| StoreError::Corrupt("offset".into()))?;
        for r in rows {
            let month = r.at.with_timezone(&cst).format("%Y-%m").to_string();
            let e = months.entry(month).or_default();
            match EntryKind::parse(&r.kind) {
                Some(EntryKind::Gift) | Some(EntryKind::GoodsIn) | Some(EntryKind::Allocation) => e.0 += r.amount_fen,
                Some(EntryKind::Disbursement) | Some(EntryKind::GoodsOut) | Some(EntryKind::ManagementCost) => {
                    e.1 += r.amount_fen
                }
                _ => {}
            }
        }
        Ok(months.into_iter().map(|(m, (a, b))| (m, a, b)).collect())
    }
}
