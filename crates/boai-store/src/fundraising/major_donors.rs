//! Major donors (issue 5): each donor's giving history and totals (net of
//! refunds, merged duplicates' gifts included since merging moves them),
//! recognition levels by cumulative giving (stored; the defaults when none
//! are), visits with follow-up reminders, and a year's gifts for the yearly
//! statement. Reads are scoped; every change is audited in its transaction.

use super::{gifts_to_view, Donor, Gift};
use crate::audit::{append, AuditChange};
use crate::entities::{donor_visits, donors, gifts, recognition_levels};
use crate::{Page, ScopedStore, StoreError, StoreResult};
use boai_domain::accounts::Permission;
use boai_domain::audit::AuditAction;
use boai_domain::clock::china_date;
use boai_domain::fundraising::major_donors::{
    check_levels, default_levels, level_for, RecognitionLevel, VisitForCreate,
};
use boai_domain::ids::DonorId;
use boai_domain::money::Fen;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use std::collections::HashMap;
use uuid::Uuid;

crate::scoped::org_owned!(donor_visits);

/// A donor's giving in sum.
#[derive(Debug, Clone, Serialize)]
pub struct DonorTotals {
    pub donor: Donor,
    /// Net of refunds.
    pub total: Fen,
    pub gifts: i64,
    pub first: Option<NaiveDate>,
    pub last: Option<NaiveDate>,
    /// The recognition title reached, if any.
    pub level: Option<String>,
}

/// A visit.
#[derive(Debug, Clone, Serialize)]
pub struct Visit {
    pub id: Uuid,
    pub donor_id: DonorId,
    pub donor_name: String,
    pub visited_on: NaiveDate,
    pub visitor: String,
    pub notes: Option<String>,
    pub follow_up_on: Option<NaiveDate>,
    pub follow_up_done: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// One donor's page: totals, history, visits.
#[derive(Debug, Clone, Serialize)]
pub struct DonorGiving {
    pub totals: DonorTotals,
    pub history: Vec<Gift>,
    pub visits: Vec<Visit>,
    /// The next level and what is missing to reach it.
    pub next_level: Option<(String, Fen)>,
}

/// (donor, net total, gifts, first, last) as the database sums them.
type TotalsRow = (Option<Uuid>, i64, i64, Option<NaiveDate>, Option<NaiveDate>);

impl ScopedStore {
    // `today()` (China time, the store's clock) is defined with the members.

    /// The recognition levels (the defaults until some are stored).
    pub async fn recognition_levels(&self) -> StoreResult<Vec<RecognitionLevel>> {
        let rows = recognition_levels::Entity::find()
            .order_by_asc(recognition_levels::Column::ThresholdFen)
            .all(&self.store.read)
            .await?;
        if rows.is_empty() {
            return Ok(default_levels());
        }
        Ok(rows
            .into_iter()
            .map(|r| RecognitionLevel {
                threshold_fen: r.threshold_fen,
                title: r.title,
            })
            .collect())
    }

    /// Replaces the recognition levels (city staff and finance).
    pub async fn recognition_levels_set(&self, levels: Vec<RecognitionLevel>) -> StoreResult<Vec<RecognitionLevel>> {
        self.actor.require(Permission::RecordGifts)?;
        let levels = check_levels(levels)?;
        let before = self.recognition_levels().await?;
        let now = self.store.now();
        let txn = self.store.begin_write().await?;
        recognition_levels::Entity::delete_many().exec(&txn).await?;
        recognition_levels::Entity::insert_many(levels.iter().map(|l| recognition_levels::ActiveModel {
            id: Set(Uuid::now_v7()),
            threshold_fen: Set(l.threshold_fen),
            title: Set(l.title.clone()),
            created_at: Set(now),
        }))
        .exec_without_returning(&txn)
        .await?;
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Update,
                entity: "recognition_levels",
                entity_id: "levels".to_owned(),
                org_id: self.actor.org_id,
                before: serde_json::to_value(&before).ok(),
                after: serde_json::to_value(&levels).ok(),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(levels)
    }

    /// Cumulative giving per donor in scope, largest first; `at_least`
    /// filters (the lowest level's threshold lists the major donors).
    pub async fn donor_totals(&self, at_least: Fen, page: Page) -> StoreResult<(Vec<DonorTotals>, u64)> {
        self.actor.require(Permission::ViewGifts)?;
        let net = Expr::cust("CAST(SUM(amount_fen - refunded_fen) AS BIGINT)");
        let base = self
            .select::<gifts::Entity>()
            .filter(gifts::Column::DonorId.is_not_null())
            .select_only()
            .column(gifts::Column::DonorId)
            .group_by(gifts::Column::DonorId);
        let mut all: Vec<TotalsRow> = base
            .expr_as(net, "total")
            .expr_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "n")
            .expr_as(Expr::col(gifts::Column::ReceivedOn).min(), "first")
            .expr_as(Expr::col(gifts::Column::ReceivedOn).max(), "last")
            .into_tuple()
            .all(&self.store.read)
            .await?;
        all.retain(|row| row.1 >= at_least.0);
        all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let total = all.len() as u64;
        let window: Vec<_> = all
            .into_iter()
            .skip(page.offset() as usize)
            .take(page.per_page as usize)
            .collect();
        let ids: Vec<Uuid> = window.iter().filter_map(|w| w.0).collect();
        let donors: HashMap<Uuid, Donor> = donors::Entity::find()
            .filter(donors::Column::Id.is_in(ids))
            .all(&self.store.read)
            .await?
            .into_iter()
            .map(|d| (d.id, super::to_donor(d)))
            .collect();
        let levels = self.recognition_levels().await?;
        Ok((
            window
                .into_iter()
                .filter_map(|(id, sum, n, first, last)| {
                    Some(DonorTotals {
                        donor: donors.get(&id?)?.clone(),
                        total: Fen(sum),
                        gifts: n,
                        first,
                        last,
                        level: level_for(Fen(sum), &levels).map(|l| l.title.clone()),
                    })
                })
                .collect(),
            total,
        ))
    }

    /// One donor's giving history, totals, level and visits.
    pub async fn donor_giving(&self, id: DonorId) -> StoreResult<DonorGiving> {
        let donor = self.donor_get(id).await?;
        let rows = self
            .select::<gifts::Entity>()
            .filter(gifts::Column::DonorId.eq(id.0))
            .order_by_desc(gifts::Column::ReceivedOn)
            .order_by_desc(gifts::Column::CreatedAt)
            .limit(1_000)
            .all(&self.store.read)
            .await?;
        let history = gifts_to_view(&self.store.read, rows).await?;
        let total = Fen(history.iter().map(|g| g.amount.0 - g.refunded.0).sum());
        let levels = self.recognition_levels().await?;
        let next_level = levels
            .iter()
            .filter(|l| l.threshold_fen > total.0)
            .min_by_key(|l| l.threshold_fen)
            .map(|l| (l.title.clone(), Fen(l.threshold_fen - total.0)));
        let totals = DonorTotals {
            total,
            gifts: history.len() as i64,
            first: history.iter().map(|g| g.received_on).min(),
            last: history.iter().map(|g| g.received_on).max(),
            level: level_for(total, &levels).map(|l| l.title.clone()),
            donor: donor.clone(),
        };
        let visits = self
            .select::<donor_visits::Entity>()
            .filter(donor_visits::Column::DonorId.eq(id.0))
            .order_by_desc(donor_visits::Column::VisitedOn)
            .all(&self.store.read)
            .await?
            .into_iter()
            .map(|v| to_visit(v, &donor.name))
            .collect();
        Ok(DonorGiving {
            totals,
            history,
            visits,
            next_level,
        })
    }

    /// Records a visit to a donor in scope.
    pub async fn donor_visit_add(&self, id: DonorId, visit: VisitForCreate) -> StoreResult<Visit> {
        self.actor.require(Permission::RecordGifts)?;
        let donor = self.donor_get(id).await?;
        let now = self.store.now();
        let row = donor_visits::Model {
            id: Uuid::now_v7(),
            donor_id: id.0,
            org_id: self.actor.org_id.0,
            visited_on: visit.visited_on,
            visitor: visit.visitor,
            notes: visit.notes,
            follow_up_on: visit.follow_up_on,
            follow_up_done: false,
            created_by: self.actor.username.clone(),
            created_at: now,
        };
        let out = to_visit(row.clone(), &donor.name);
        let txn = self.store.begin_write().await?;
        donor_visits::Entity::insert(donor_visits::ActiveModel::from(row))
            .exec_without_returning(&txn)
            .await?;
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Create,
                entity: "donor_visit",
                entity_id: out.id.to_string(),
                org_id: self.actor.org_id,
                before: None,
                after: serde_json::to_value(&out).ok(),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(out)
    }

    /// Follow-ups due today or earlier and not done: the reminders.
    pub async fn visit_reminders(&self) -> StoreResult<Vec<Visit>> {
        self.actor.require(Permission::ViewGifts)?;
        let today = china_date(self.store.now());
        let rows = self
            .select::<donor_visits::Entity>()
            .filter(donor_visits::Column::FollowUpDone.eq(false))
            .filter(donor_visits::Column::FollowUpOn.lte(today))
            .order_by_asc(donor_visits::Column::FollowUpOn)
            .limit(200)
            .all(&self.store.read)
            .await?;
        let ids: Vec<Uuid> = rows.iter().map(|r| r.donor_id).collect();
        let names: HashMap<Uuid, String> = donors::Entity::find()
            .filter(donors::Column::Id.is_in(ids))
            .all(&self.store.read)
            .await?
            .into_iter()
            .map(|d| (d.id, d.name))
            .collect();
        Ok(rows
            .into_iter()
            .map(|v| {
                let name = names.get(&v.donor_id).cloned().unwrap_or_default();
                to_visit(v, &name)
            })
            .collect())
    }

    /// Marks a follow-up done.
    pub async fn visit_follow_up_done(&self, id: Uuid) -> StoreResult<()> {
        self.actor.require(Permission::RecordGifts)?;
        let row = self
            .select::<donor_visits::Entity>()
            .filter(donor_visits::Column::Id.eq(id))
            .one(&self.store.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        let now = self.store.now();
        let txn = self.store.begin_write().await?;
        donor_visits::Entity::update_many()
            .col_expr(donor_visits::Column::FollowUpDone, Expr::value(true))
            .filter(donor_visits::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Update,
                entity: "donor_visit",
                entity_id: id.to_string(),
                org_id: boai_domain::ids::OrgId(row.org_id),
                before: Some(serde_json::json!({"follow_up_done": row.follow_up_done})),
                after: Some(serde_json::json!({"follow_up_done": true})),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// A donor's gifts received in a calendar year, oldest first.
    pub async fn donor_year_gifts(&self, id: DonorId, year: i32) -> StoreResult<(Donor, Vec<Gift>)> {
        let donor = self.donor_get(id).await?;
        let (Some(from), Some(until)) = (
            NaiveDate::from_ymd_opt(year, 1, 1),
            NaiveDate::from_ymd_opt(year, 12, 31),
        ) else {
            return Err(StoreError::NotFound);
        };
        let rows = self
            .select::<gifts::Entity>()
            .filter(gifts::Column::DonorId.eq(id.0))
            .filter(gifts::Column::ReceivedOn.gte(from))
            .filter(gifts::Column::ReceivedOn.lte(until))
            .order_by_asc(gifts::Column::ReceivedOn)
            .order_by_asc(gifts::Column::CreatedAt)
            .all(&self.store.read)
            .await?;
        Ok((donor, gifts_to_view(&self.store.read, rows).await?))
    }

    /// How many donors in scope have given at least `at_least`.
    pub async fn major_donor_count(&self, at_least: Fen) -> StoreResult<u64> {
        Ok(self.donor_totals(at_least, Page::new(Some(1), Some(1))).await?.1)
    }
}

fn to_visit(v: donor_visits::Model, donor_name: &str) -> Visit {
    Visit {
        id: v.id,
        donor_id: DonorId(v.donor_id),
        donor_name: donor_name.to_owned(),
        visited_on: v.visited_on,
        visitor: v.visitor,
        notes: v.notes,
        follow_up_on: v.follow_up_on,
        follow_up_done: v.follow_up_done,
        created_by: v.created_by,
        created_at: v.created_at,
    }
}
