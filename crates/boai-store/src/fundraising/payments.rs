//! Online gifts through payment providers (issue 5). Rules:
//! - an order is written when the public asks to give; it holds the donor's
//!   particulars (phone and ID number encrypted) until payment, and expires
//!   unpaid after [`ORDER_LIFETIME_MINUTES`];
//! - a verified notification confirms it exactly once: the order row is
//!   claimed with a guarded update (`pending`/`expired` → `paid`), which
//!   serialises concurrent duplicates (the row lock on PostgreSQL, the single
//!   writer on SQLite); the notification id is unique per provider; then the
//!   gift is recorded through the normal gift path ([`ScopedStore::record_gift`]:
//!   donor, certificate number, journal, public ledger entry, audit) in the
//!   same transaction;
//! - every refused notification is a `payment_rejections` row with its reason,
//!   written in a transaction of its own that touches no money record, owned
//!   by the order's organisation (the city when no order is known or the
//!   notification is unverified) and listed by scope; unverified ones (no or
//!   a bad signature, an unknown key, stale) get a row each only up to
//!   [`JUNK_ROWS_PER_DAY`] per provider and day, and are then counted in one
//!   row per provider, reason and day (`hits`);
//! - a refund is asked of the provider first (`payment_refunds`, pending) and
//!   applied through the gift-refund path when its notification arrives; a
//!   refund over what remains of the gift is refused.
//!
//! Lock order: the order row (or refund row) first, then the gift path's own.

use super::{gifts_to_view, Gift};
use crate::audit::{append, append_many, AuditChange};
use crate::entities::{
    gifts, orgs, payment_notifications, payment_orders, payment_refunds, payment_rejections, projects,
};
use crate::funds::ProjectStatus;
use crate::{Actor, Page, ScopedStore, Store, StoreError, StoreResult};
use boai_domain::accounts::{Permission, Role};
use boai_domain::audit::AuditAction;
use boai_domain::fundraising::payments::{
    check_payment, check_refund, GiftOrderForCreate, Notification, OrderStatus, OrderTerms, Rejection, CURRENCY,
    ORDER_LIFETIME_MINUTES,
};
use boai_domain::fundraising::{Channel, DonationForCreate, DonorForCreate, DonorKind};
use boai_domain::ids::{GiftId, OrgId, ProjectId};
use boai_domain::money::Fen;
use boai_domain::scope::Scope;
use boai_domain::validation::identity::{CreditCode, IdCardNo, Phone};
use boai_domain::validation::FieldErrors;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;
use uuid::Uuid;

crate::scoped::org_owned!(payment_rejections);

/// Unverified notifications recorded one row each, per provider and day;
/// beyond, they are counted (see the module's rules).
pub const JUNK_ROWS_PER_DAY: i64 = 100;

/// Whether a refusal came before the notification was verified (anyone can
/// send one of those).
fn unverified(reason: Rejection) -> bool {
    matches!(
        reason,
        Rejection::MissingHeaders | Rejection::BadSignature | Rejection::UnknownSerial | Rejection::Stale
    )
}

crate::scoped::org_owned!(payment_orders);

/// A project the public may give to.
#[derive(Debug, Clone, Serialize)]
pub struct GivingProject {
    pub id: ProjectId,
    pub code: String,
    pub name: String,
    /// `general` for the general fund.
    pub kind: String,
    pub raised: Fen,
    pub target: Option<Fen>,
}

/// An online order.
#[derive(Debug, Clone, Serialize)]
pub struct PaymentOrder {
    pub id: Uuid,
    pub out_trade_no: String,
    pub provider: String,
    pub project_id: ProjectId,
    pub org_id: OrgId,
    pub amount: Fen,
    pub currency: String,
    pub description: String,
    pub donor_kind: Option<DonorKind>,
    /// Staff only (the public pages show the public name).
    pub donor_name: Option<String>,
    pub status: OrderStatus,
    pub expires_at: DateTime<Utc>,
    pub transaction_id: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
    pub gift_id: Option<GiftId>,
    pub refunded: Fen,
    pub created_at: DateTime<Utc>,
}

fn to_order(m: payment_orders::Model) -> PaymentOrder {
    PaymentOrder {
        id: m.id,
        out_trade_no: m.out_trade_no,
        provider: m.provider,
        project_id: ProjectId(m.project_id),
        org_id: OrgId(m.org_id),
        amount: Fen(m.amount_fen),
        currency: m.currency,
        description: m.description,
        donor_kind: m.donor_kind.as_deref().and_then(DonorKind::parse),
        donor_name: m.donor_name,
        status: OrderStatus::parse(&m.status).unwrap_or(OrderStatus::Pending),
        expires_at: m.expires_at,
        transaction_id: m.transaction_id,
        paid_at: m.paid_at,
        gift_id: m.gift_id.map(GiftId),
        refunded: Fen(m.refunded_fen),
        created_at: m.created_at,
    }
}

fn order_audit(o: &PaymentOrder) -> serde_json::Value {
    serde_json::json!({
        "out_trade_no": o.out_trade_no, "provider": o.provider, "project_id": o.project_id,
        "amount_fen": o.amount.0, "currency": o.currency, "status": o.status, "donor_kind": o.donor_kind,
        "expires_at": o.expires_at, "transaction_id": o.transaction_id, "gift_id": o.gift_id,
        "refunded_fen": o.refunded.0,
    })
}

/// A refused notification.
#[derive(Debug, Clone, Serialize)]
pub struct RejectedNotification {
    pub id: Uuid,
    pub provider: String,
    pub notification_id: Option<String>,
    pub out_trade_no: Option<String>,
    pub reason: String,
    pub detail: String,
    pub received_at: DateTime<Utc>,
    /// How many notifications the row stands for (1, or a day's count of
    /// unverified ones past the daily rows).
    pub hits: i64,
}

fn to_rejection(r: payment_rejections::Model) -> RejectedNotification {
    RejectedNotification {
        id: r.id,
        provider: r.provider,
        notification_id: r.notification_id,
        out_trade_no: r.out_trade_no,
        reason: r.reason,
        detail: r.detail,
        received_at: r.received_at,
        hits: r.hits,
    }
}

/// A refund asked of a provider.
#[derive(Debug, Clone, Serialize)]
pub struct RefundRequest {
    pub id: Uuid,
    pub out_refund_no: String,
    pub out_trade_no: String,
    pub transaction_id: Option<String>,
    pub provider: String,
    pub gift_id: GiftId,
    pub amount: Fen,
    pub order_amount: Fen,
    pub reason: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
}

/// The actor a provider's notification acts as: the system, on behalf of
/// the order's organisation (its audit rows name the provider).
async fn provider_actor<C: ConnectionTrait>(conn: &C, provider: &str, org: OrgId) -> StoreResult<Actor> {
    let root = orgs::Entity::find()
        .filter(orgs::Column::ParentId.is_null())
        .one(conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(Actor {
        user_id: None,
        username: format!("payment:{provider}"),
        role: Role::Finance,
        org_id: org,
        scope: Scope {
            org_id: OrgId(root.id),
            path: root.path,
        },
        ip: None,
    })
}

/// A random order or refund number (unguessable: it is also the payer's
/// link to their order).
fn trade_no(prefix: &str) -> String {
    format!("{prefix}{}", Uuid::new_v4().simple())
}

impl Store {
    /// The projects the public may give to: open ones, the general fund first.
    pub async fn giving_projects(&self) -> StoreResult<Vec<GivingProject>> {
        let rows = projects::Entity::find()
            .filter(projects::Column::Status.eq(ProjectStatus::Open.as_str()))
            .filter(projects::Column::Kind.ne("management"))
            .order_by_asc(projects::Column::Code)
            .all(&self.read)
            .await?;
        let mut out: Vec<GivingProject> = rows
            .into_iter()
            .map(|p| GivingProject {
                id: ProjectId(p.id),
                code: p.code,
                name: p.name,
                kind: p.kind,
                raised: Fen(p.raised_fen),
                target: p.target_fen.map(Fen),
            })
            .collect();
        out.sort_by_key(|p| p.kind != "general");
        Ok(out)
    }

    /// Writes an order for a public gift, waiting for payment.
    pub async fn payment_order_create(&self, provider: &str, input: GiftOrderForCreate) -> StoreResult<PaymentOrder> {
        let project = match input.project_id {
            Some(id) => projects::Entity::find_by_id(id.0).one(&self.read).await?,
            None => {
                projects::Entity::find()
                    .filter(projects::Column::Kind.eq("general"))
                    .one(&self.read)
                    .await?
            }
        };
        let project = match project {
            Some(p) if p.status == ProjectStatus::Open.as_str() && p.kind != "management" => p,
            _ => {
                let mut errors = FieldErrors::new();
                errors.add("project_id", "该项目未在募集中, 请选择其他项目");
                return Err(errors.into());
            }
        };
        let now = self.now();
        let secrets = &self.secrets;
        let (kind, name, phone, id_card, credit, public) = match &input.donor {
            None => (None, None, None, None, None, false),
            Some(DonorForCreate::Person {
                name,
                phone,
                id_card,
                public,
            }) => (
                Some("person"),
                Some(name.clone()),
                phone.as_ref().map(|p| secrets.encrypt(p.as_str())),
                id_card.as_ref().map(|c| secrets.encrypt(c.as_str())),
                None,
                *public,
            ),
            Some(DonorForCreate::Organisation {
                name,
                credit_code,
                public,
            }) => (
                Some("organisation"),
                Some(name.clone()),
                None,
                None,
                credit_code.as_ref().map(|c| c.as_str().to_owned()),
                *public,
            ),
        };
        let row = payment_orders::Model {
            id: Uuid::now_v7(),
            out_trade_no: trade_no("G"),
            provider: provider.to_owned(),
            project_id: project.id,
            org_id: project.org_id,
            amount_fen: input.amount.0,
            currency: CURRENCY.to_owned(),
            description: format!("捐赠-{}", project.name).chars().take(100).collect(),
            donor_kind: kind.map(str::to_owned),
            donor_name: name,
            donor_phone_enc: phone,
            donor_id_card_enc: id_card,
            donor_credit_code: credit,
            donor_public: public,
            status: OrderStatus::Pending.as_str().to_owned(),
            expires_at: now + Duration::minutes(ORDER_LIFETIME_MINUTES),
            transaction_id: None,
            paid_at: None,
            gift_id: None,
            refunded_fen: 0,
            created_at: now,
            updated_at: now,
        };
        let order = to_order(row.clone());
        let txn = self.begin_write().await?;
        payment_orders::Entity::insert(payment_orders::ActiveModel::from(row))
            .exec_without_returning(&txn)
            .await?;
        let actor = Actor {
            username: "public".to_owned(),
            ..provider_actor(&txn, provider, order.org_id).await?
        };
        append(
            &txn,
            &actor,
            now,
            AuditChange {
                action: AuditAction::Create,
                entity: "payment_order",
                entity_id: order.out_trade_no.clone(),
                org_id: order.org_id,
                before: None,
                after: Some(order_audit(&order)),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(order)
    }

    /// An order by its number (the payer's link; answers only public facts
    /// through the web layer).
    pub async fn payment_order(&self, out_trade_no: &str) -> StoreResult<Option<PaymentOrder>> {
        Ok(payment_orders::Entity::find()
            .filter(payment_orders::Column::OutTradeNo.eq(out_trade_no))
            .one(&self.read)
            .await?
            .map(to_order))
    }

    /// The gift a paid order became (public facts only are shown by callers).
    pub async fn payment_order_gift(&self, order: &PaymentOrder) -> StoreResult<Option<Gift>> {
        let Some(id) = order.gift_id else {
            return Ok(None);
        };
        let rows = gifts::Entity::find_by_id(id.0).all(&self.read).await?;
        Ok(gifts_to_view(&self.read, rows).await?.pop())
    }

    /// Records a refused notification (its own transaction; no money
    /// record), owned by the order's organisation when the notification was
    /// verified and names a known order, by the city otherwise. Unverified
    /// ones past [`JUNK_ROWS_PER_DAY`] for the provider that day only add to
    /// one counting row per provider, reason and day.
    pub async fn payment_reject(
        &self,
        provider: &str,
        notification_id: Option<&str>,
        out_trade_no: Option<&str>,
        reason: Rejection,
        detail: &str,
    ) -> StoreResult<()> {
        use crate::throttle::{count, Counted, ThrottleKind};
        let clip = |s: &str, n: usize| s.chars().take(n).collect::<String>();
        let now = self.now();
        let root = orgs::Entity::find()
            .filter(orgs::Column::ParentId.is_null())
            .one(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?
            .id;
        if unverified(reason) {
            let day = now.date_naive().to_string();
            let key = format!("{}:{day}", clip(provider, 32));
            let hits = match count(&self.write, ThrottleKind::NotifyJunk.as_str(), &key, now, None).await? {
                Counted::Hit { hits, .. } => hits,
                Counted::Locked { .. } => i64::MAX,
            };
            if hits > JUNK_ROWS_PER_DAY {
                let id = Uuid::new_v5(
                    &Uuid::NAMESPACE_OID,
                    format!("boai-junk-notifications:{key}:{}", reason.as_str()).as_bytes(),
                );
                payment_rejections::Entity::insert(payment_rejections::ActiveModel {
                    id: Set(id),
                    provider: Set(clip(provider, 32)),
                    notification_id: Set(None),
                    out_trade_no: Set(None),
                    reason: Set(reason.as_str().to_owned()),
                    detail: Set(format!(
                        "当日第 {JUNK_ROWS_PER_DAY} 条之后的未验证通知, 按原因合计 (hits)"
                    )),
                    received_at: Set(now),
                    org_id: Set(Some(root)),
                    hits: Set(1),
                })
                .on_conflict(
                    sea_orm::sea_query::OnConflict::column(payment_rejections::Column::Id)
                        .value(
                            payment_rejections::Column::Hits,
                            Expr::col((payment_rejections::Entity, payment_rejections::Column::Hits)).add(1i64),
                        )
                        .value(payment_rejections::Column::ReceivedAt, Expr::value(now))
                        .to_owned(),
                )
                .exec_without_returning(&self.write)
                .await?;
                return Ok(());
            }
        }
        let org_id = match out_trade_no.filter(|_| !unverified(reason)) {
            Some(no) => payment_orders::Entity::find()
                .filter(payment_orders::Column::OutTradeNo.eq(no))
                .one(&self.read)
                .await?
                .map_or(root, |o| o.org_id),
            None => root,
        };
        payment_rejections::Entity::insert(payment_rejections::ActiveModel {
            id: Set(Uuid::now_v7()),
            provider: Set(clip(provider, 32)),
            notification_id: Set(notification_id.map(|s| clip(s, 64))),
            out_trade_no: Set(out_trade_no.map(|s| clip(s, 64))),
            reason: Set(reason.as_str().to_owned()),
            detail: Set(clip(detail, 500)),
            received_at: Set(now),
            org_id: Set(Some(org_id)),
            hits: Set(1),
        })
        .exec_without_returning(&self.write)
        .await?;
        Ok(())
    }

    /// Confirms an order from a verified payment notice, exactly once, and
    /// records the gift through the normal gift path. `Ok(Err(_))` is a
    /// refusal for the caller to record.
    pub async fn payment_confirm(
        &self,
        provider: &str,
        channel: Channel,
        notice: &Notification,
    ) -> StoreResult<Result<Gift, Rejection>> {
        let Some(row) = payment_orders::Entity::find()
            .filter(payment_orders::Column::OutTradeNo.eq(&notice.out_trade_no))
            .filter(payment_orders::Column::Provider.eq(provider))
            .one(&self.read)
            .await?
        else {
            return Ok(Err(Rejection::UnknownOrder));
        };
        let terms = OrderTerms {
            amount: Fen(row.amount_fen),
            currency: row.currency.clone(),
        };
        if let Err(r) = check_payment(&terms, notice) {
            return Ok(Err(r));
        }
        if row.status == OrderStatus::Paid.as_str() {
            return Ok(Err(Rejection::Duplicate));
        }
        let donor = self.order_donor(&row)?;
        let now = self.now();
        let txn = self.begin_write().await?;
        // The claim: only one transaction moves the order to paid.
        let claimed = payment_orders::Entity::update_many()
            .col_expr(payment_orders::Column::Status, Expr::value(OrderStatus::Paid.as_str()))
            .col_expr(
                payment_orders::Column::TransactionId,
                Expr::value(notice.transaction_id.clone()),
            )
            .col_expr(payment_orders::Column::PaidAt, Expr::value(now))
            .col_expr(payment_orders::Column::UpdatedAt, Expr::value(now))
            .filter(payment_orders::Column::Id.eq(row.id))
            .filter(
                payment_orders::Column::Status.is_in([OrderStatus::Pending.as_str(), OrderStatus::Expired.as_str()]),
            )
            .exec(&txn)
            .await?;
        if claimed.rows_affected == 0 {
            txn.rollback().await?;
            return Ok(Err(Rejection::Duplicate));
        }
        match self.notification_insert(&txn, provider, notice).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                txn.rollback().await?;
                return Ok(Err(Rejection::Duplicate));
            }
            Err(e) => return Err(e),
        }
        let actor = provider_actor(&txn, provider, OrgId(row.org_id)).await?;
        let scoped = self.scoped(actor);
        let input = DonationForCreate {
            project_id: ProjectId(row.project_id),
            amount: Fen(row.amount_fen),
            channel,
            donor,
            goods: None,
            received_on: None,
            note: Some(format!(
                "网络捐赠 订单 {} 交易 {}",
                row.out_trade_no, notice.transaction_id
            )),
        };
        let gift = match scoped.record_gift(&txn, input, now).await {
            Ok(g) => g,
            Err(StoreError::Invalid(_)) | Err(StoreError::NotFound) => {
                txn.rollback().await?;
                return Ok(Err(Rejection::NotRecordable));
            }
            Err(e) => return Err(e),
        };
        payment_orders::Entity::update_many()
            .col_expr(payment_orders::Column::GiftId, Expr::value(gift.id.0))
            .filter(payment_orders::Column::Id.eq(row.id))
            .exec(&txn)
            .await?;
        let before = to_order(row.clone());
        let after = PaymentOrder {
            status: OrderStatus::Paid,
            transaction_id: Some(notice.transaction_id.clone()),
            paid_at: Some(now),
            gift_id: Some(gift.id),
            ..before.clone()
        };
        append(
            &txn,
            &scoped.actor,
            now,
            AuditChange {
                action: AuditAction::Update,
                entity: "payment_order",
                entity_id: row.out_trade_no.clone(),
                org_id: before.org_id,
                before: Some(order_audit(&before)),
                after: Some(order_audit(&after)),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(Ok(gift))
    }

    async fn notification_insert<C: ConnectionTrait>(
        &self,
        conn: &C,
        provider: &str,
        notice: &Notification,
    ) -> StoreResult<()> {
        payment_notifications::Entity::insert(payment_notifications::ActiveModel {
            id: Set(Uuid::now_v7()),
            provider: Set(provider.to_owned()),
            notification_id: Set(notice.id.chars().take(64).collect()),
            kind: Set(notice.kind.as_str().to_owned()),
            out_trade_no: Set(notice.out_trade_no.clone()),
            transaction_id: Set(Some(notice.transaction_id.clone())),
            out_refund_no: Set(notice.out_refund_no.clone()),
            amount_fen: Set(notice.amount.0),
            received_at: Set(self.now()),
        })
        .exec_without_returning(conn)
        .await?;
        Ok(())
    }

    /// The donor an order names, decrypted and validated again.
    fn order_donor(&self, row: &payment_orders::Model) -> StoreResult<Option<DonorForCreate>> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("payment order {}: {what}", row.out_trade_no));
        let Some(name) = row.donor_name.clone() else {
            return Ok(None);
        };
        match row.donor_kind.as_deref() {
            Some("organisation") => Ok(Some(DonorForCreate::Organisation {
                name,
                credit_code: match row.donor_credit_code.as_deref() {
                    Some(c) => Some(CreditCode::parse(c).map_err(|_| corrupt("credit code"))?),
                    None => None,
                },
                public: row.donor_public,
            })),
            _ => {
                let phone = match row.donor_phone_enc.as_deref() {
                    Some(enc) => {
                        let plain = self.secrets.decrypt(enc).ok_or_else(|| corrupt("phone"))?;
                        Some(Phone::parse(&plain).map_err(|_| corrupt("phone"))?)
                    }
                    None => None,
                };
                let id_card = match row.donor_id_card_enc.as_deref() {
                    Some(enc) => {
                        let plain = self.secrets.decrypt(enc).ok_or_else(|| corrupt("id card"))?;
                        Some(IdCardNo::parse(&plain).map_err(|_| corrupt("id card"))?)
                    }
                    None => None,
                };
                Ok(Some(DonorForCreate::Person {
                    name,
                    phone,
                    id_card,
                    public: row.donor_public,
                }))
            }
        }
    }

    /// Applies a verified refund notice through the gift-refund path,
    /// exactly once.
    pub async fn payment_refund_apply(
        &self,
        provider: &str,
        notice: &Notification,
    ) -> StoreResult<Result<Gift, Rejection>> {
        let Some(order) = payment_orders::Entity::find()
            .filter(payment_orders::Column::OutTradeNo.eq(&notice.out_trade_no))
            .filter(payment_orders::Column::Provider.eq(provider))
            .one(&self.read)
            .await?
        else {
            return Ok(Err(Rejection::UnknownOrder));
        };
        if order.status != OrderStatus::Paid.as_str() {
            return Ok(Err(Rejection::OutOfOrder));
        }
        let Some(refund) = payment_refunds::Entity::find()
            .filter(payment_refunds::Column::OutRefundNo.eq(notice.out_refund_no.clone().unwrap_or_default()))
            .filter(payment_refunds::Column::OrderId.eq(order.id))
            .one(&self.read)
            .await?
        else {
            return Ok(Err(Rejection::OutOfOrder));
        };
        if notice.currency != order.currency {
            return Ok(Err(Rejection::CurrencyMismatch));
        }
        if notice.amount.0 != refund.amount_fen {
            return Ok(Err(Rejection::AmountMismatch));
        }
        if refund.status != "pending" {
            return Ok(Err(Rejection::Duplicate));
        }
        let now = self.now();
        let txn = self.begin_write().await?;
        let claimed = payment_refunds::Entity::update_many()
            .col_expr(payment_refunds::Column::Status, Expr::value("succeeded"))
            .col_expr(payment_refunds::Column::DoneAt, Expr::value(now))
            .filter(payment_refunds::Column::Id.eq(refund.id))
            .filter(payment_refunds::Column::Status.eq("pending"))
            .exec(&txn)
            .await?;
        if claimed.rows_affected == 0 {
            txn.rollback().await?;
            return Ok(Err(Rejection::Duplicate));
        }
        match self.notification_insert(&txn, provider, notice).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                txn.rollback().await?;
                return Ok(Err(Rejection::Duplicate));
            }
            Err(e) => return Err(e),
        }
        payment_orders::Entity::update_many()
            .col_expr(
                payment_orders::Column::RefundedFen,
                Expr::col(payment_orders::Column::RefundedFen).add(refund.amount_fen),
            )
            .col_expr(payment_orders::Column::UpdatedAt, Expr::value(now))
            .filter(payment_orders::Column::Id.eq(order.id))
            .exec(&txn)
            .await?;
        let actor = provider_actor(&txn, provider, OrgId(order.org_id)).await?;
        let scoped = self.scoped(actor);
        let rows = gifts::Entity::find_by_id(refund.gift_id).all(&txn).await?;
        let before = gifts_to_view(&txn, rows).await?.pop().ok_or(StoreError::NotFound)?;
        let gift = match scoped
            .refund_in(&txn, &before, Fen(refund.amount_fen), Some(refund.reason.clone()), now)
            .await
        {
            Ok(g) => g,
            Err(StoreError::Invalid(_)) => {
                txn.rollback().await?;
                return Ok(Err(Rejection::NotRecordable));
            }
            Err(e) => return Err(e),
        };
        txn.commit().await?;
        Ok(Ok(gift))
    }

    /// Expires the unpaid orders whose time is up (the background sweep and
    /// look-ups call it). Returns how many expired.
    pub async fn payment_orders_expire(&self) -> StoreResult<u64> {
        let now = self.now();
        let due: Vec<payment_orders::Model> = payment_orders::Entity::find()
            .filter(payment_orders::Column::Status.eq(OrderStatus::Pending.as_str()))
            .filter(payment_orders::Column::ExpiresAt.lte(now))
            .order_by_asc(payment_orders::Column::ExpiresAt)
            .limit(500)
            .all(&self.read)
            .await?;
        if due.is_empty() {
            return Ok(0);
        }
        let txn = self.begin_write().await?;
        let ids: Vec<Uuid> = due.iter().map(|o| o.id).collect();
        let done = payment_orders::Entity::update_many()
            .col_expr(
                payment_orders::Column::Status,
                Expr::value(OrderStatus::Expired.as_str()),
            )
            .col_expr(payment_orders::Column::UpdatedAt, Expr::value(now))
            .filter(payment_orders::Column::Id.is_in(ids.clone()))
            .filter(payment_orders::Column::Status.eq(OrderStatus::Pending.as_str()))
            .exec(&txn)
            .await?;
        // Only those still pending in this transaction changed.
        let expired: Vec<payment_orders::Model> = payment_orders::Entity::find()
            .filter(payment_orders::Column::Id.is_in(ids))
            .filter(payment_orders::Column::Status.eq(OrderStatus::Expired.as_str()))
            .filter(payment_orders::Column::UpdatedAt.eq(now))
            .all(&txn)
            .await?;
        let actor = Actor {
            username: "system".to_owned(),
            ..provider_actor(&txn, "system", OrgId(due[0].org_id)).await?
        };
        let changes = expired
            .into_iter()
            .map(|m| {
                let after = to_order(m);
                let before = PaymentOrder {
                    status: OrderStatus::Pending,
                    ..after.clone()
                };
                AuditChange {
                    action: AuditAction::Update,
                    entity: "payment_order",
                    entity_id: after.out_trade_no.clone(),
                    org_id: after.org_id,
                    before: Some(order_audit(&before)),
                    after: Some(order_audit(&after)),
                }
            })
            .collect();
        append_many(&txn, &actor, now, changes).await?;
        txn.commit().await?;
        Ok(done.rows_affected)
    }
}

impl ScopedStore {
    /// Online orders in scope, newest first.
    pub async fn payment_orders_list(
        &self,
        status: Option<OrderStatus>,
        page: Page,
    ) -> StoreResult<(Vec<PaymentOrder>, u64)> {
        self.actor.require(Permission::ViewGifts)?;
        let mut query = self.select::<payment_orders::Entity>();
        if let Some(s) = status {
            query = query.filter(payment_orders::Column::Status.eq(s.as_str()));
        }
        let total = query.clone().count(&self.store.read).await?;
        let rows = query
            .order_by_desc(payment_orders::Column::CreatedAt)
            .order_by_desc(payment_orders::Column::Id)
            .offset(page.offset())
            .limit(page.per_page)
            .all(&self.store.read)
            .await?;
        Ok((rows.into_iter().map(to_order).collect(), total))
    }

    /// One order in scope.
    pub async fn payment_order_get(&self, out_trade_no: &str) -> StoreResult<PaymentOrder> {
        self.actor.require(Permission::ViewGifts)?;
        self.select::<payment_orders::Entity>()
            .filter(payment_orders::Column::OutTradeNo.eq(out_trade_no))
            .one(&self.store.read)
            .await?
            .map(to_order)
            .ok_or(StoreError::NotFound)
    }

    /// Notifications refused, newest first (staff who see gifts), in scope:
    /// those of orders of the caller's subtree; the unverified ones and
    /// those naming no known order belong to the city.
    pub async fn payment_rejections_list(&self, page: Page) -> StoreResult<(Vec<RejectedNotification>, u64)> {
        self.actor.require(Permission::ViewGifts)?;
        let query = self.select::<payment_rejections::Entity>();
        let total = query.clone().count(&self.store.read).await?;
        let rows = query
            .order_by_desc(payment_rejections::Column::ReceivedAt)
            .order_by_desc(payment_rejections::Column::Id)
            .offset(page.offset())
            .limit(page.per_page)
            .all(&self.store.read)
            .await?;
        Ok((rows.into_iter().map(to_rejection).collect(), total))
    }

    /// Asks for a refund of an online gift: refused when it would exceed
    /// what remains of the gift (refunds already done or still pending
    /// counted). The web layer then asks the provider.
    pub async fn payment_refund_request(
        &self,
        out_trade_no: &str,
        amount: Fen,
        reason: &str,
    ) -> StoreResult<RefundRequest> {
        self.actor.require(Permission::RecordGifts)?;
        let order = self.payment_order_get(out_trade_no).await?;
        let mut errors = FieldErrors::new();
        let reason = boai_domain::validation::required_text(&mut errors, "reason", "退款原因", Some(reason), 200);
        let Some(gift_id) = order.gift_id.filter(|_| order.status == OrderStatus::Paid) else {
            errors.add("out_trade_no", "订单尚未支付, 不能退款");
            return Err(errors.into());
        };
        let gift = self.donation_get(gift_id).await?;
        let now = self.store.now();
        let txn = self.store.begin_write().await?;
        // Lock the order row first, then count what is already promised.
        payment_orders::Entity::update_many()
            .col_expr(payment_orders::Column::UpdatedAt, Expr::value(now))
            .filter(payment_orders::Column::Id.eq(order.id))
            .exec(&txn)
            .await?;
        let pending: i64 = payment_refunds::Entity::find()
            .filter(payment_refunds::Column::OrderId.eq(order.id))
            .filter(payment_refunds::Column::Status.eq("pending"))
            .all(&txn)
            .await?
            .iter()
            .map(|r| r.amount_fen)
            .sum();
        if let Err(msg) = check_refund(gift.amount, Fen(gift.refunded.0 + pending), amount) {
            errors.add("amount_fen", msg);
        }
        let Some(reason) = reason.filter(|_| errors.is_empty()) else {
            txn.rollback().await?;
            return Err(errors.into());
        };
        let request = RefundRequest {
            id: Uuid::now_v7(),
            out_refund_no: trade_no("R"),
            out_trade_no: order.out_trade_no.clone(),
            transaction_id: order.transaction_id.clone(),
            provider: order.provider.clone(),
            gift_id,
            amount,
            order_amount: order.amount,
            reason,
            status: "pending".to_owned(),
            created_at: now,
        };
        payment_refunds::Entity::insert(payment_refunds::ActiveModel {
            id: Set(request.id),
            out_refund_no: Set(request.out_refund_no.clone()),
            order_id: Set(order.id),
            gift_id: Set(gift_id.0),
            org_id: Set(order.org_id.0),
            amount_fen: Set(amount.0),
            reason: Set(request.reason.clone()),
            status: Set("pending".to_owned()),
            requested_by: Set(self.actor.username.clone()),
            created_at: Set(now),
            done_at: Set(None),
        })
        .exec_without_returning(&txn)
        .await?;
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Create,
                entity: "payment_refund",
                entity_id: request.out_refund_no.clone(),
                org_id: order.org_id,
                before: None,
                after: serde_json::to_value(&request).ok(),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(request)
    }
}
