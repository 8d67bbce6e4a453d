//! Payment and figures (scoped): the cases approved and not yet paid, one
//! disbursement per case through [`crate::funds::post`] (within the fund's
//! balance and the programme's budget for the year), the programme's figures.

use super::*;

impl ScopedStore {
    /// Approved cases in scope waiting for payment, with what the bank needs.
    pub async fn relief_payable(&self, programme: Option<ProgrammeId>) -> StoreResult<Vec<PayableCase>> {
        self.actor.require(Permission::ManageFunds)?;
        let (cases, _) = self
            .relief_cases(
                &CaseFilter {
                    programme_id: programme,
                    status: Some(CaseStatus::Approved),
                    overdue: false,
                },
                Page {
                    page: 1,
                    per_page: 10_000,
                },
            )
            .await?;
        let programmes: HashMap<uuid::Uuid, Programme> = self
            .store
            .relief_programmes_public()
            .await?
            .into_iter()
            .map(|p| (p.id.0, p))
            .collect();
        let mut out = Vec::with_capacity(cases.len());
        for case in cases {
            let row = self.case_row(case.id).await?;
            let p = programmes
                .get(&case.programme_id.0)
                .ok_or_else(|| StoreError::Corrupt("case without programme".into()))?;
            let payee = match p.settings.payee {
                Payee::Person => case.applicant_name.clone(),
                Payee::Hospital => case.hospital.clone().unwrap_or_default(),
            };
            out.push(PayableCase {
                programme: p.name.clone(),
                payee,
                bank_name: case.bank_name.clone(),
                bank_account: match p.settings.payee {
                    Payee::Person => row
                        .bank_account_enc
                        .as_deref()
                        .and_then(|a| self.store.secrets.decrypt(a)),
                    Payee::Hospital => None,
                },
                case,
            });
        }
        Ok(out)
    }

    /// Pays approved cases (all or none): each a disbursement from its
    /// programme's fund, with the case's pseudonym on the public ledger.
    pub async fn relief_pay(&self, ids: &[CaseId]) -> StoreResult<Vec<Case>> {
        self.actor.require(Permission::ManageFunds)?;
        if ids.is_empty() || ids.len() > 500 {
            return Err(invalid("case_ids", "请选择 1–500 个待拨付的案件"));
        }
        let mut cases = Vec::with_capacity(ids.len());
        for id in ids {
            let case = to_case(self.case_row(*id).await?)?;
            if case.status != CaseStatus::Approved {
                return Err(StoreError::Conflict(format!(
                    "案件 {} 当前状态为「{}」, 只有已批准的案件可以拨付",
                    case.case_no,
                    case.status.label_zh()
                )));
            }
            cases.push(case);
        }
        let programmes: HashMap<uuid::Uuid, Programme> = self
            .store
            .relief_programmes_public()
            .await?
            .into_iter()
            .map(|p| (p.id.0, p))
            .collect();
        let now = self.store.now();
        let year = china_date(now).year();
        // Paid so far this year, per programme, and what this batch adds.
        let mut used: HashMap<uuid::Uuid, i64> = HashMap::new();
        for p in programmes.keys() {
            let paid: Vec<(i64, Option<DateTime<Utc>>)> = relief_cases::Entity::find()
                .select_only()
                .column(relief_cases::Column::AmountFen)
                .column(relief_cases::Column::PaidAt)
                .filter(relief_cases::Column::ProgrammeId.eq(*p))
                .filter(relief_cases::Column::Status.eq(CaseStatus::Paid.as_str()))
                .into_tuple()
                .all(&self.store.read)
                .await?;
            let sum = paid
                .into_iter()
                .filter(|(_, at)| at.is_some_and(|at| china_date(at).year() == year))
                .map(|(a, _)| a)
                .sum();
            used.insert(*p, sum);
        }
        for case in &cases {
            let p = programmes
                .get(&case.programme_id.0)
                .ok_or_else(|| StoreError::Corrupt("case without programme".into()))?;
            let u = used.entry(p.id.0).or_default();
            *u += case.amount.0;
            if *u > p.settings.yearly_budget.0 {
                let left = p.settings.yearly_budget.0 - (*u - case.amount.0);
                return Err(invalid(
                    "amount_fen",
                    format!(
                        "案件 {} 的救助金额 {} 超出「{}」{year} 年度剩余预算 {}",
                        case.case_no,
                        case.amount.display_yuan(),
                        p.name,
                        Fen(left.max(0)).display_yuan()
                    ),
                ));
            }
        }
        let txn = self.store.begin_write().await?;
        let mut out = Vec::with_capacity(cases.len());
        for case in cases {
            let p = &programmes[&case.programme_id.0];
            // The case row first (lock order: case, then the books, then the audit head).
            let claimed = relief_cases::Entity::update_many()
                .col_expr(relief_cases::Column::Status, Expr::value(CaseStatus::Paid.as_str()))
                .col_expr(relief_cases::Column::PaidAt, Expr::value(now))
                .filter(relief_cases::Column::Id.eq(case.id.0))
                .filter(relief_cases::Column::Status.eq(CaseStatus::Approved.as_str()))
                .exec(&txn)
                .await?;
            if claimed.rows_affected != 1 {
                return Err(StoreError::Conflict(format!(
                    "案件 {} 刚被他人处理, 请刷新后再试",
                    case.case_no
                )));
            }
            let plan = funds::disbursement(p.project_id, case.amount)
                .map_err(|e| crate::funds::funds_error(e, "amount_fen"))?;
            let payee = match p.settings.payee {
                Payee::Person => case.applicant_name.clone(),
                Payee::Hospital => case.hospital.clone().unwrap_or_default(),
            };
            let entry = post(
                &txn,
                &self.actor,
                p.org_id,
                now,
                &plan,
                &EntryMeta {
                    counterparty: Some(payee),
                    memo: Some(format!("{} 救助款 {}", p.name, case.case_no)),
                    decision_ref: Some(format!("救助审批 {}", case.case_no)),
                    public_recipient: Some(case.pseudonym.clone()),
                    ..EntryMeta::default()
                },
            )
            .await?;
            relief_cases::Entity::update_many()
                .col_expr(relief_cases::Column::JournalEntryId, Expr::value(entry.id.0))
                .col_expr(relief_cases::Column::LedgerIndex, Expr::value(entry.ledger_index))
                .filter(relief_cases::Column::Id.eq(case.id.0))
                .exec(&txn)
                .await?;
            let phone_enc = relief_cases::Entity::find_by_id(case.id.0)
                .one(&txn)
                .await?
                .map(|r| r.phone_enc)
                .unwrap_or_default();
            notify(
                &txn,
                &self.store,
                case.id,
                &phone_enc,
                format!(
                    "【红十字会】您的救助申请 {} 的救助款 {} 已拨付。",
                    case.case_no,
                    case.amount.display_yuan()
                ),
                now,
            )
            .await?;
            let after = Case {
                status: CaseStatus::Paid,
                paid_at: Some(now),
                journal_entry_id: Some(entry.id.0),
                ledger_index: entry.ledger_index,
                ..case.clone()
            };
            append(
                &txn,
                &self.actor,
                now,
                AuditChange {
                    action: AuditAction::Update,
                    entity: "relief_case",
                    entity_id: case.id.to_string(),
                    org_id: case.org_id,
                    before: Some(case_audit(&case)),
                    after: Some(case_audit(&after)),
                },
            )
            .await?;
            out.push(after);
        }
        txn.commit().await?;
        Ok(out)
    }

    /// A programme's figures over the cases in scope.
    pub async fn relief_figures(&self, programme: Option<ProgrammeId>) -> StoreResult<Figures> {
        self.actor.require(Permission::ViewRelief)?;
        let mut query = self.select::<relief_cases::Entity>();
        if let Some(p) = programme {
            query = query.filter(relief_cases::Column::ProgrammeId.eq(p.0));
        }
        let rows: Vec<(String, String, DateTime<Utc>, String, i64)> = query
            .select_only()
            .column(relief_cases::Column::Status)
            .column(relief_cases::Column::District)
            .column(relief_cases::Column::CreatedAt)
            .column(relief_cases::Column::IdHash)
            .column(relief_cases::Column::AmountFen)
            .into_tuple()
            .all(&self.store.read)
            .await?;
        let cases: Vec<CaseFigure> = rows
            .into_iter()
            .map(|(status, district, at, person, amount)| {
                let status = CaseStatus::parse(&status).ok_or_else(|| StoreError::Corrupt("case status".into()))?;
                Ok(CaseFigure {
                    paid: if status == CaseStatus::Paid {
                        Fen(amount)
                    } else {
                        Fen(0)
                    },
                    status,
                    district,
                    month: china_date(at).format("%Y-%m").to_string(),
                    person,
                })
            })
            .collect::<StoreResult<_>>()?;
        Ok(figures(&cases))
    }
}
