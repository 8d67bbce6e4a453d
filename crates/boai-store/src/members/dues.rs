//! Dues (scoped): payments (receipt unique, a year paid once), reminders
//! to members in arrears (an outbox row per member and year), lapsing, and
//! the dues figures of a year.

use super::*;

impl ScopedStore {
    /// Records a dues payment. A receipt number already used, or a year
    /// already paid, is refused and nothing changes.
    pub async fn payment_record(
        &self,
        member: MemberId,
        input: PaymentForCreate,
        idempotency: Option<Responder<'_, Payment>>,
    ) -> StoreResult<Payment> {
        self.actor.require(Permission::ManageMembers)?;
        let txn = self.store.begin_write().await?;
        let row = match members::Entity::find_by_id(member.0).one(&txn).await? {
            Some(m) => m,
            None => return Err(StoreError::NotFound),
        };
        self.require_org(&txn, OrgId(row.org_id)).await?;
        let used = dues_payments::Entity::find()
            .filter(dues_payments::Column::ReceiptNo.eq(input.receipt_no.as_str()))
            .one(&txn)
            .await?;
        if used.is_some() {
            return Err(field_error(
                "receipt_no",
                format!("收据号 {} 已经登记过, 不能重复使用", input.receipt_no),
            ));
        }
        let paid = dues_payments::Entity::find()
            .filter(dues_payments::Column::MemberId.eq(member.0))
            .filter(dues_payments::Column::Year.eq(input.year))
            .one(&txn)
            .await?;
        if paid.is_some() {
            return Err(field_error("year", format!("该会员 {} 年度会费已缴", input.year)));
        }
        if input.year < row.joined_on.year() {
            return Err(field_error("year", "缴费年度早于入会年度"));
        }
        let now = self.store.now();
        let payment = dues_payments::Model {
            id: Uuid::now_v7(),
            member_id: member.0,
            org_id: row.org_id,
            year: input.year,
            amount_fen: input.amount.0,
            receipt_no: input.receipt_no.clone(),
            paid_on: input.paid_on,
            recorded_by: self.actor.username.clone(),
            created_at: now,
        };
        dues_payments::Entity::insert(dues_payments::ActiveModel {
            id: Set(payment.id),
            member_id: Set(payment.member_id),
            org_id: Set(payment.org_id),
            year: Set(payment.year),
            amount_fen: Set(payment.amount_fen),
            receipt_no: Set(payment.receipt_no.clone()),
            paid_on: Set(payment.paid_on),
            recorded_by: Set(payment.recorded_by.clone()),
            created_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await?;
        let payment = to_payment(payment);
        if let Some((claim, render)) = idempotency {
            self.idempotency_record(&txn, claim, render(&payment)).await?;
        }
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Create,
                entity: "dues_payment",
                entity_id: payment.id.to_string(),
                org_id: OrgId(row.org_id),
                before: None,
                after: Some(serde_json::json!({
                    "member_id": member.to_string(), "member_no": row.member_no, "year": input.year,
                    "amount_fen": input.amount.0, "receipt_no": input.receipt_no, "paid_on": input.paid_on,
                })),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(payment)
    }

    /// Writes one reminder per member in arrears (active members) into the
    /// outbox, for this year; members already reminded this year are skipped.
    /// Returns how many were written.
    pub async fn reminders_send(&self) -> StoreResult<usize> {
        self.actor.require(Permission::ManageMembers)?;
        let in_arrears = self
            .members_all(&MemberFilter {
                status: Some(MemberStatus::Active),
                arrears_only: true,
                ..MemberFilter::default()
            })
            .await?;
        let year = self.store.dues_year();
        let txn = self.store.begin_write().await?;
        let already: HashSet<Uuid> = self
            .select::<member_reminders::Entity>()
            .filter(member_reminders::Column::Year.eq(year))
            .select_only()
            .column(member_reminders::Column::MemberId)
            .into_tuple::<Uuid>()
            .all(&txn)
            .await?
            .into_iter()
            .collect();
        let now = self.store.now();
        let mut rows = Vec::new();
        let mut changes = Vec::new();
        for m in in_arrears.iter().filter(|m| !already.contains(&m.id.0)) {
            let id = Uuid::now_v7();
            let message = format!(
                "{} 您好: 您的红十字会会费 {} 年度尚未缴纳, 合计 {}。请到{}缴纳。",
                m.name,
                boai_domain::members::years_text(&m.arrears_years),
                Fen(m.arrears_fen).display_yuan(),
                m.unit_name
            );
            changes.push(AuditChange {
                action: AuditAction::Create,
                entity: "member_reminder",
                entity_id: id.to_string(),
                org_id: m.unit_id,
                before: None,
                after: Some(serde_json::json!({
                    "member_id": m.id.to_string(), "year": year, "arrears_years": m.arrears_years,
                    "amount_fen": m.arrears_fen,
                })),
            });
            rows.push(member_reminders::ActiveModel {
                id: Set(id),
                member_id: Set(m.id.0),
                org_id: Set(m.unit_id.0),
                year: Set(year),
                amount_fen: Set(m.arrears_fen),
                message: Set(message.chars().take(500).collect()),
                status: Set("pending".to_owned()),
                created_by: Set(self.actor.username.clone()),
                created_at: Set(now),
            });
        }
        let n = rows.len();
        insert_chunked(&txn, rows).await?;
        append_many(&txn, &self.actor, now, changes).await?;
        txn.commit().await?;
        Ok(n)
    }

    /// The outbox in scope, newest first.
    pub async fn reminders_list(&self, page: Page) -> StoreResult<(Vec<Reminder>, u64)> {
        self.actor.require(Permission::ViewMembers)?;
        use sea_orm::PaginatorTrait;
        let query = self.select::<member_reminders::Entity>();
        let total = query.clone().count(&self.store.read).await?;
        let rows = query
            .order_by_desc(member_reminders::Column::CreatedAt)
            .order_by_asc(member_reminders::Column::Id)
            .offset(page.offset())
            .limit(page.per_page)
            .all(&self.store.read)
            .await?;
        let ids: Vec<Uuid> = rows.iter().map(|r| r.member_id).collect();
        let names: HashMap<Uuid, (String, String)> = members::Entity::find()
            .filter(members::Column::Id.is_in(ids))
            .all(&self.store.read)
            .await?
            .into_iter()
            .map(|m| (m.id, (m.name, m.member_no)))
            .collect();
        Ok((
            rows.into_iter()
                .map(|r| {
                    let (member_name, member_no) = names.get(&r.member_id).cloned().unwrap_or_default();
                    Reminder {
                        id: r.id,
                        member_id: MemberId(r.member_id),
                        member_name,
                        member_no,
                        year: r.year,
                        amount_fen: r.amount_fen,
                        message: r.message,
                        status: r.status,
                        created_by: r.created_by,
                        created_at: r.created_at,
                    }
                })
                .collect(),
            total,
        ))
    }

    /// Marks as lapsed the active members in scope with at least the
    /// configured number of unpaid completed years. Returns how many.
    pub async fn members_lapse(&self) -> StoreResult<usize> {
        self.actor.require(Permission::ManageMembers)?;
        let lapse_after = self.store.members_lapse_after().await?;
        let rates = self.store.dues_rates().await?;
        let year = self.store.dues_year();
        let today = china_date(self.store.now());
        let txn = self.store.begin_write().await?;
        let rows = self
            .select::<members::Entity>()
            .filter(members::Column::Status.eq(MemberStatus::Active.as_str()))
            .all(&txn)
            .await?;
        let mut paid: HashMap<Uuid, HashSet<i32>> = HashMap::new();
        let pairs: Vec<(Uuid, i32)> = self
            .select::<dues_payments::Entity>()
            .select_only()
            .column(dues_payments::Column::MemberId)
            .column(dues_payments::Column::Year)
            .into_tuple()
            .all(&txn)
            .await?;
        for (m, y) in pairs {
            paid.entry(m).or_default().insert(y);
        }
        let empty = HashSet::new();
        let mut lapsing = Vec::new();
        for m in &rows {
            let p = paid.get(&m.id).unwrap_or(&empty);
            if standing(m)?.should_lapse(year, p, &rates, lapse_after) {
                lapsing.push(m);
            }
        }
        let now = self.store.now();
        let ids: Vec<Uuid> = lapsing.iter().map(|m| m.id).collect();
        for chunk in ids.chunks(500) {
            members::Entity::update_many()
                .col_expr(
                    members::Column::Status,
                    sea_orm::sea_query::Expr::value(MemberStatus::Lapsed.as_str()),
                )
                .col_expr(members::Column::LapsedOn, sea_orm::sea_query::Expr::value(today))
                .col_expr(members::Column::UpdatedAt, sea_orm::sea_query::Expr::value(now))
                .filter(members::Column::Id.is_in(chunk.to_vec()))
                .exec(&txn)
                .await?;
        }
        let changes = lapsing
            .iter()
            .map(|m| AuditChange {
                action: AuditAction::Update,
                entity: "member",
                entity_id: m.id.to_string(),
                org_id: OrgId(m.org_id),
                before: Some(serde_json::json!({"status": "active"})),
                after: Some(serde_json::json!({"status": "lapsed", "lapsed_on": today, "lapse_after": lapse_after})),
            })
            .collect();
        append_many(&txn, &self.actor, now, changes).await?;
        txn.commit().await?;
        Ok(ids.len())
    }

    /// Dues of `year` for the members in scope, or under `under` (an
    /// organisation in scope).
    pub async fn dues_summary(&self, year: i32, under: Option<OrgId>) -> StoreResult<DuesSummary> {
        let filter = MemberFilter {
            branch_id: under,
            ..MemberFilter::default()
        };
        self.actor.require(Permission::ViewMembers)?;
        let rows = self.member_rows(&filter).await?;
        let payments: Vec<(Uuid, i32, i64)> = self
            .select::<dues_payments::Entity>()
            .filter(dues_payments::Column::Year.eq(year))
            .select_only()
            .column(dues_payments::Column::MemberId)
            .column(dues_payments::Column::Year)
            .column(dues_payments::Column::AmountFen)
            .into_tuple()
            .all(&self.store.read)
            .await?;
        let in_group: HashSet<Uuid> = rows.iter().map(|m| m.id).collect();
        let paid: HashSet<Uuid> = payments.iter().map(|p| p.0).filter(|m| in_group.contains(m)).collect();
        let rates = self.store.dues_rates().await?;
        let mut s = DuesSummary {
            year,
            ..DuesSummary::default()
        };
        s.collected_fen = payments.iter().filter(|p| in_group.contains(&p.0)).map(|p| p.2).sum();
        for m in &rows {
            if let Some(due) = standing(m)?.due(year, &rates) {
                s.members_due += 1;
                s.expected_fen += due.0;
                if paid.contains(&m.id) {
                    s.members_paid += 1;
                }
            }
        }
        s.in_arrears = s.members_due - s.members_paid;
        Ok(s)
    }
}
