//! Donors and gifts. A gift staff record is confirmed at once: in one
//! transaction the donor is found or created (by keyed hash of the ID number,
//! the credit code, or name and phone), a certificate number is taken, the
//! gift's journal entry, public ledger entry, gift row, audit rows and any
//! idempotency record are written — by the one gift writer ([`bulk`]; a
//! caller's own transaction gets it through [`ScopedStore::record_gift`], a
//! batch of one). Refunds are reversing entries. ID numbers and phones are
//! stored encrypted, searched by keyed hash, shown masked.

pub mod bulk;
pub mod group_commit;

use crate::audit::{append, AuditChange};
use crate::entities::{donors, gifts, projects};
use crate::funds::{entry_lines, funds_error, post, reversed_amount, EntryMeta};
use crate::idempotency::IdempotencyClaim;
use crate::{Page, ScopedStore, StoreError, StoreResult};
use boai_domain::accounts::Permission;
use boai_domain::audit::AuditAction;
pub mod dashboard;
pub mod major_donors;
pub mod payments;
pub mod reconciliation;

use boai_domain::fundraising::{public_name, Channel, DonationForCreate, DonorForCreate, DonorKind, Goods};
use boai_domain::funds::{self, EntryKind, FundsError};
use boai_domain::ids::{DonorId, GiftId, JournalEntryId, OrgId, ProjectId};
use boai_domain::money::Fen;
use boai_domain::validation::FieldErrors;
use chrono::{DateTime, NaiveDate, Utc};
use group_commit::GiftRenderer;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde::Serialize;
use std::collections::HashMap;

crate::scoped::org_owned!(gifts, donors);

/// Where a gift stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GiftStatus {
    Confirmed,
    PartiallyRefunded,
    Refunded,
}

impl GiftStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            GiftStatus::Confirmed => "confirmed",
            GiftStatus::PartiallyRefunded => "partially_refunded",
            GiftStatus::Refunded => "refunded",
        }
    }

    fn parse(s: &str) -> GiftStatus {
        match s {
            "refunded" => GiftStatus::Refunded,
            "partially_refunded" => GiftStatus::PartiallyRefunded,
            _ => GiftStatus::Confirmed,
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            GiftStatus::Confirmed => "已确认",
            GiftStatus::PartiallyRefunded => "部分退款",
            GiftStatus::Refunded => "已退款",
        }
    }
}

/// A gift as staff see it.
#[derive(Debug, Clone, Serialize)]
pub struct Gift {
    pub id: GiftId,
    pub certificate_no: String,
    pub donor_id: Option<DonorId>,
    pub donor_kind: Option<DonorKind>,
    /// The donor's name (staff only).
    pub donor_name: Option<String>,
    /// The name the public may see (`匿名` for anonymous gifts).
    pub public_name: String,
    pub project_id: ProjectId,
    pub project_name: String,
    pub org_id: OrgId,
    pub channel: Channel,
    pub amount: Fen,
    pub status: GiftStatus,
    pub refunded: Fen,
    pub goods: Option<Goods>,
    pub received_on: NaiveDate,
    pub note: Option<String>,
    pub journal_entry_id: JournalEntryId,
    pub ledger_index: Option<i64>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// A donor as staff see it: identity numbers masked.
#[derive(Debug, Clone, Serialize)]
pub struct Donor {
    pub id: DonorId,
    pub kind: DonorKind,
    pub name: String,
    pub phone_masked: Option<String>,
    pub id_card_masked: Option<String>,
    pub credit_code: Option<String>,
    pub public: bool,
    pub merged_into: Option<DonorId>,
    pub org_id: OrgId,
    pub created_at: DateTime<Utc>,
}

fn to_donor(m: donors::Model) -> Donor {
    Donor {
        id: DonorId(m.id),
        kind: DonorKind::parse(&m.kind).unwrap_or(DonorKind::Person),
        name: m.name,
        phone_masked: m.phone_masked,
        id_card_masked: m.id_card_masked,
        credit_code: m.credit_code,
        public: m.public,
        merged_into: m.merged_into.map(DonorId),
        org_id: OrgId(m.org_id),
        created_at: m.created_at,
    }
}

/// Filters for listing gifts.
#[derive(Debug, Clone, Default)]
pub struct GiftFilter {
    /// Certificate number or donor name.
    pub q: Option<String>,
    pub project_id: Option<ProjectId>,
    pub channel: Option<Channel>,
    pub donor_id: Option<DonorId>,
    pub from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
}

async fn gifts_to_view<C: ConnectionTrait>(conn: &C, rows: Vec<gifts::Model>) -> StoreResult<Vec<Gift>> {
    let donor_ids: Vec<uuid::Uuid> = rows.iter().filter_map(|g| g.donor_id).collect();
    let project_ids: Vec<uuid::Uuid> = rows.iter().map(|g| g.project_id).collect();
    let donors: HashMap<uuid::Uuid, donors::Model> = if donor_ids.is_empty() {
        HashMap::new()
    } else {
        donors::Entity::find()
            .filter(donors::Column::Id.is_in(donor_ids))
            .all(conn)
            .await?
            .into_iter()
            .map(|d| (d.id, d))
            .collect()
    };
    let projects: HashMap<uuid::Uuid, String> = projects::Entity::find()
        .filter(projects::Column::Id.is_in(project_ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    Ok(rows
        .into_iter()
        .map(|g| {
            let donor = g.donor_id.and_then(|id| donors.get(&id));
            let kind = donor.and_then(|d| DonorKind::parse(&d.kind));
            let goods = match (&g.goods_item, g.goods_quantity, &g.goods_unit) {
                (Some(item), Some(quantity), Some(unit)) => Some(Goods {
                    item: item.clone(),
                    quantity,
                    unit: unit.clone(),
                    value: Fen(g.amount_fen),
                    lot: g.goods_lot.clone(),
                    expires_on: g.goods_expires_on,
                }),
                _ => None,
            };
            Gift {
                id: GiftId(g.id),
                certificate_no: g.certificate_no,
                donor_id: g.donor_id.map(DonorId),
                donor_kind: kind,
                donor_name: donor.map(|d| d.name.clone()),
                public_name: public_name(kind, donor.map(|d| d.name.as_str()), donor.is_some_and(|d| d.public)),
                project_name: projects.get(&g.project_id).cloned().unwrap_or_default(),
                project_id: ProjectId(g.project_id),
                org_id: OrgId(g.org_id),
                channel: Channel::parse(&g.channel).unwrap_or(Channel::Cash),
                amount: Fen(g.amount_fen),
                status: GiftStatus::parse(&g.status),
                refunded: Fen(g.refunded_fen),
                goods,
                received_on: g.received_on,
                note: g.note,
                journal_entry_id: JournalEntryId(g.journal_entry_id),
                ledger_index: g.ledger_index,
                created_by: g.created_by,
                created_at: g.created_at,
            }
        })
        .collect())
}

impl ScopedStore {
    /// Finds the donor this input names, or creates one.
    /// Finds or creates the donor; a new donor's audit change is returned for
    /// the caller to append last (the audit head is always the last lock a
    /// transaction takes, so writers never deadlock).
    async fn find_or_create_donor<C: ConnectionTrait>(
        &self,
        conn: &C,
        input: &DonorForCreate,
        now: DateTime<Utc>,
    ) -> StoreResult<(DonorId, Option<AuditChange<'static>>)> {
        let secrets = &self.store.secrets;
        let mut existing = None;
        match input {
            DonorForCreate::Person {
                name, phone, id_card, ..
            } => {
                if let Some(id) = id_card {
                    existing = donors::Entity::find()
                        .filter(donors::Column::IdCardHash.eq(secrets.keyed_hash(id.as_str())))
                        .filter(donors::Column::MergedInto.is_null())
                        .one(conn)
                        .await?;
                } else if let Some(phone) = phone {
                    existing = donors::Entity::find()
                        .filter(donors::Column::PhoneHash.eq(secrets.keyed_hash(phone.as_str())))
                        .filter(donors::Column::Name.eq(name.as_str()))
                        .filter(donors::Column::MergedInto.is_null())
                        .one(conn)
                        .await?;
                }
            }
            DonorForCreate::Organisation {
                credit_code: Some(code),
                ..
            } => {
                existing = donors::Entity::find()
                    .filter(donors::Column::CreditCode.eq(code.as_str()))
                    .filter(donors::Column::MergedInto.is_null())
                    .one(conn)
                    .await?;
            }
            DonorForCreate::Organisation { .. } => {}
        }
        if let Some(found) = existing {
            return Ok((DonorId(found.id), None));
        }
        let id = DonorId(self.store.draws.id(crate::draws::Drawn::Donor, now));
        let (phone, id_card, credit_code) = match input {
            DonorForCreate::Person { phone, id_card, .. } => (phone.as_ref(), id_card.as_ref(), None),
            DonorForCreate::Organisation { credit_code, .. } => (None, None, credit_code.as_ref()),
        };
        donors::Entity::insert(donors::ActiveModel {
            id: Set(id.0),
            kind: Set(input.kind().as_str().to_owned()),
            name: Set(input.name().to_owned()),
            phone_enc: Set(phone.map(|p| secrets.encrypt(p.as_str()))),
            phone_hash: Set(phone.map(|p| secrets.keyed_hash(p.as_str()))),
            phone_masked: Set(phone.map(|p| p.masked())),
            id_card_enc: Set(id_card.map(|c| secrets.encrypt(c.as_str()))),
            id_card_hash: Set(id_card.map(|c| secrets.keyed_hash(c.as_str()))),
            id_card_masked: Set(id_card.map(|c| c.masked())),
            credit_code: Set(credit_code.map(|c| c.as_str().to_owned())),
            public: Set(input.public()),
            merged_into: Set(None),
            org_id: Set(self.actor.org_id.0),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec_without_returning(conn)
        .await?;
        let donor = donors::Entity::find_by_id(id.0)
            .one(conn)
            .await?
            .map(to_donor)
            .ok_or(StoreError::NotFound)?;
        let change = AuditChange {
            action: AuditAction::Create,
            entity: "donor",
            entity_id: id.to_string(),
            org_id: self.actor.org_id,
            before: None,
            after: serde_json::to_value(&donor).ok(),
        };
        Ok((id, Some(change)))
    }

    /// Records a gift in hand: confirmed at once, journalled, audited. The
    /// gift is written by the store's group-commit writer together with the
    /// gifts arriving at the same time (see [`group_commit`]); this returns
    /// once its transaction is durable.
    pub async fn donation_create(
        &self,
        input: DonationForCreate,
        idempotency: Option<(IdempotencyClaim, GiftRenderer)>,
    ) -> StoreResult<Gift> {
        self.actor.require(Permission::RecordGifts)?;
        // The project's existence, state and visibility to this actor are
        // checked by the writer, inside the batch's transaction.
        let queue = self
            .store
            .gift_queue
            .get_or_init(|| async { group_commit::start() })
            .await;
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = group_commit::GiftJob {
            scoped: self.clone(),
            input,
            idempotency,
            reply,
        };
        let gone = || StoreError::Unavailable(sea_orm::DbErr::Custom("gift writer stopped".to_owned()));
        queue.send(job).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    /// Writes one gift inside the caller's transaction (a payment's, a bank
    /// credit's, a group-commit savepoint's), its entry dated `at`: the gift
    /// writer ([`bulk`]) with a batch of one, so every gift's rows are made
    /// in one place whichever way it comes in.
    pub(crate) async fn record_gift<C: ConnectionTrait>(
        &self,
        txn: &C,
        input: DonationForCreate,
        at: DateTime<Utc>,
    ) -> StoreResult<Gift> {
        let mut writer = bulk::BulkGiftWriter::on(&self.store, txn, false).await?;
        let batch = [bulk::BulkGift {
            at,
            actor: self.actor.clone(),
            input,
        }];
        writer
            .write_in(&self.store, txn, &batch)
            .await?
            .pop()
            .ok_or_else(|| StoreError::Corrupt("the gift writer wrote nothing".into()))
    }

    /// [`ScopedStore::record_gift`] in a write transaction of its own: the
    /// path payments and bank credits take, without their own rows (tests
    /// hold it to the group-commit writer's bytes).
    #[doc(hidden)]
    pub async fn record_gift_alone(&self, input: DonationForCreate, at: DateTime<Utc>) -> StoreResult<Gift> {
        self.actor.require(Permission::RecordGifts)?;
        let txn = self.store.begin_write().await?;
        let gift = self.record_gift(&txn, input, at).await?;
        txn.commit().await?;
        Ok(gift)
    }

    /// Gifts in scope, newest first.
    pub async fn donations_list(&self, filter: &GiftFilter, page: Page) -> StoreResult<(Vec<Gift>, u64)> {
        self.actor.require(Permission::ViewGifts)?;
        let mut query = self.select::<gifts::Entity>();
        if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let donor_ids = sea_orm::sea_query::Query::select()
                .column(donors::Column::Id)
                .from(donors::Entity)
                .and_where(Expr::col(donors::Column::Name).like(format!("%{}%", q.replace(['%', '_'], ""))))
                .to_owned();
            query = query.filter(
                Condition::any()
                    .add(gifts::Column::CertificateNo.eq(q))
                    .add(gifts::Column::DonorId.in_subquery(donor_ids)),
            );
        }
        if let Some(p) = filter.project_id {
            query = query.filter(gifts::Column::ProjectId.eq(p.0));
        }
        if let Some(c) = filter.channel {
            query = query.filter(gifts::Column::Channel.eq(c.as_str()));
        }
        if let Some(d) = filter.donor_id {
            query = query.filter(gifts::Column::DonorId.eq(d.0));
        }
        if let Some(from) = filter.from {
            query = query.filter(gifts::Column::ReceivedOn.gte(from));
        }
        if let Some(until) = filter.until {
            query = query.filter(gifts::Column::ReceivedOn.lte(until));
        }
        let total = query.clone().count(&self.store.read).await?;
        let rows = query
            .order_by_desc(gifts::Column::CreatedAt)
            .order_by_desc(gifts::Column::Id)
            .offset(page.offset())
            .limit(page.per_page)
            .all(&self.store.read)
            .await?;
        Ok((gifts_to_view(&self.store.read, rows).await?, total))
    }

    /// One gift in scope.
    pub async fn donation_get(&self, id: GiftId) -> StoreResult<Gift> {
        self.actor.require(Permission::ViewGifts)?;
        let row = self
            .select::<gifts::Entity>()
            .filter(gifts::Column::Id.eq(id.0))
            .one(&self.store.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        gifts_to_view(&self.store.read, vec![row])
            .await?
            .pop()
            .ok_or(StoreError::NotFound)
    }

    /// Refunds (part of) a gift with a reversing entry.
    pub async fn donation_refund(&self, id: GiftId, amount: Fen, reason: &str) -> StoreResult<Gift> {
        self.actor.require(Permission::RecordGifts)?;
        let before = self.donation_get(id).await?;
        let mut errors = FieldErrors::new();
        let reason = boai_domain::validation::required_text(&mut errors, "reason", "退款原因", Some(reason), 200);
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let now = self.store.now();
        let txn = self.store.begin_write().await?;
        let after = self.refund_in(&txn, &before, amount, reason, now).await?;
        txn.commit().await?;
        Ok(after)
    }

    /// Refunds (part of) a gift inside the caller's transaction: the
    /// reversing entry, the gift's status and its audit row.
    pub(crate) async fn refund_in<C: ConnectionTrait>(
        &self,
        txn: &C,
        before: &Gift,
        amount: Fen,
        reason: Option<String>,
        now: DateTime<Utc>,
    ) -> StoreResult<Gift> {
        let id = before.id;
        let already = reversed_amount(txn, before.journal_entry_id).await?;
        if amount.0 <= 0 || amount.0 > before.amount.0 - already {
            return Err(funds_error(FundsError::ReversalTooLarge, "amount_fen"));
        }
        let lines = entry_lines(txn, before.journal_entry_id).await?;
        let original_kind = if before.goods.is_some() {
            EntryKind::GoodsIn
        } else {
            EntryKind::Gift
        };
        let plan = funds::reversal(
            before.journal_entry_id,
            original_kind,
            before.project_id,
            before.amount,
            &lines,
            amount,
        )
        .map_err(|e| funds_error(e, "amount_fen"))?;
        let meta = EntryMeta {
            gift_id: Some(id.0),
            memo: reason,
            reverses_kind: Some(original_kind),
            ..EntryMeta::default()
        };
        post(txn, &self.actor, before.org_id, now, &plan, &meta).await?;
        let refunded = already + amount.0;
        let status = if refunded >= before.amount.0 {
            GiftStatus::Refunded
        } else {
            GiftStatus::PartiallyRefunded
        };
        gifts::Entity::update_many()
            .col_expr(gifts::Column::RefundedFen, Expr::value(refunded))
            .col_expr(gifts::Column::Status, Expr::value(status.as_str()))
            .filter(gifts::Column::Id.eq(id.0))
            .exec(txn)
            .await?;
        let row = gifts::Entity::find_by_id(id.0)
            .one(txn)
            .await?
            .ok_or(StoreError::NotFound)?;
        let after = gifts_to_view(txn, vec![row]).await?.pop().ok_or(StoreError::NotFound)?;
        append(
            txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Update,
                entity: "gift",
                entity_id: id.to_string(),
                org_id: after.org_id,
                before: Some(gift_audit(before)),
                after: Some(gift_audit(&after)),
            },
        )
        .await?;
        Ok(after)
    }

    /// Donors in scope (merged ones included, marked).
    pub async fn donors_list(&self, q: Option<&str>, page: Page) -> StoreResult<(Vec<Donor>, u64)> {
        self.actor.require(Permission::ViewGifts)?;
        let mut query = self.select::<donors::Entity>();
        if let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) {
            let by_hash = self.store.secrets.keyed_hash(q);
            query = query.filter(
                Condition::any()
                    .add(donors::Column::Name.contains(q))
                    .add(donors::Column::CreditCode.eq(q.to_uppercase()))
                    .add(donors::Column::IdCardHash.eq(by_hash.clone()))
                    .add(donors::Column::PhoneHash.eq(by_hash)),
            );
        }
        let total = query.clone().count(&self.store.read).await?;
        let rows = query
            .order_by_asc(donors::Column::Name)
            .offset(page.offset())
            .limit(page.per_page)
            .all(&self.store.read)
            .await?;
        Ok((rows.into_iter().map(to_donor).collect(), total))
    }

    /// One donor in scope.
    pub async fn donor_get(&self, id: DonorId) -> StoreResult<Donor> {
        self.actor.require(Permission::ViewGifts)?;
        if let Some(donor) = self
            .select::<donors::Entity>()
            .filter(donors::Column::Id.eq(id.0))
            .one(&self.store.read)
            .await?
        {
            return Ok(to_donor(donor));
        }
        // A donor registered elsewhere (often at the city) is visible to
        // whoever sees one of their gifts: a district's major-donor list
        // ranks donors by the gifts in its scope and links to them.
        let gave_here = self
            .select::<gifts::Entity>()
            .filter(gifts::Column::DonorId.eq(id.0))
            .one(&self.store.read)
            .await?
            .is_some();
        if !gave_here {
            return Err(StoreError::NotFound);
        }
        donors::Entity::find_by_id(id.0)
            .one(&self.store.read)
            .await?
            .map(to_donor)
            .ok_or(StoreError::NotFound)
    }

    /// Merges a duplicate donor into the one kept: the duplicate's gifts move
    /// over, the duplicate is marked merged (never deleted), both audited.
    pub async fn donor_merge(&self, keep: DonorId, duplicate: DonorId) -> StoreResult<Donor> {
        self.actor.require(Permission::RecordGifts)?;
        if keep == duplicate {
            let mut errors = FieldErrors::new();
            errors.add("duplicate_id", "不能与自身合并");
            return Err(errors.into());
        }
        let kept = self.donor_get(keep).await?;
        let dup = self.donor_get(duplicate).await?;
        if kept.merged_into.is_some() || dup.merged_into.is_some() {
            let mut errors = FieldErrors::new();
            errors.add("duplicate_id", "已合并的捐赠人不能再合并");
            return Err(errors.into());
        }
        let now = self.store.now();
        let txn = self.store.begin_write().await?;
        let moved = gifts::Entity::update_many()
            .col_expr(gifts::Column::DonorId, Expr::value(keep.0))
            .filter(gifts::Column::DonorId.eq(duplicate.0))
            .exec(&txn)
            .await?;
        donors::Entity::update_many()
            .col_expr(donors::Column::MergedInto, Expr::value(keep.0))
            .col_expr(donors::Column::UpdatedAt, Expr::value(now))
            .filter(donors::Column::Id.eq(duplicate.0))
            .exec(&txn)
            .await?;
        let after = donors::Entity::find_by_id(duplicate.0)
            .one(&txn)
            .await?
            .map(to_donor)
            .ok_or(StoreError::NotFound)?;
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Update,
                entity: "donor",
                entity_id: duplicate.to_string(),
                org_id: dup.org_id,
                before: serde_json::to_value(&dup).ok(),
                after: Some(
                    serde_json::json!({"merged_into": keep, "gifts_moved": moved.rows_affected, "donor": after}),
                ),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(kept)
    }
}

impl crate::Store {
    /// A gift by certificate number, for the public verification page (the
    /// caller shows only public fields).
    pub async fn certificate_lookup(&self, certificate_no: &str) -> StoreResult<Option<Gift>> {
        let Some(row) = gifts::Entity::find()
            .filter(gifts::Column::CertificateNo.eq(certificate_no))
            .one(&self.read)
            .await?
        else {
            return Ok(None);
        };
        Ok(gifts_to_view(&self.read, vec![row]).await?.pop())
    }
}

/// What the audit trail keeps of a gift: no identity numbers.
fn gift_audit(g: &Gift) -> serde_json::Value {
    serde_json::json!({
        "certificate_no": g.certificate_no, "donor_id": g.donor_id, "project_id": g.project_id,
        "channel": g.channel, "amount_fen": g.amount.0, "status": g.status, "refunded_fen": g.refunded.0,
        "goods": g.goods, "received_on": g.received_on, "journal_entry_id": g.journal_entry_id,
    })
}
