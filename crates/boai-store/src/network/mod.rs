//! The grassroots network: units' particulars, moves between branches, the
//! 五有 checklist and assessments, unit imports. Reads go through the actor's
//! subtree like every other module; a move needs both branches in scope.

use crate::audit::{append, append_many, AuditChange};
use crate::entities::{app_meta, org_moves, org_units, orgs, wuyou_assessments, wuyou_items};
use crate::orgs::to_org;
use crate::{ScopedStore, Store, StoreError, StoreResult};
use boai_domain::accounts::Permission;
use boai_domain::audit::AuditAction;
use boai_domain::ids::OrgId;
use boai_domain::network::{score, PassMark, UnitDetails, UnitImportRow, UnitStatus, WuyouItem, WuyouScore};
use boai_domain::orgs::{Org, OrgKind, OrgLevel};
use boai_domain::scope::child_path;
use boai_domain::validation::identity::CreditCode;
use boai_domain::validation::FieldErrors;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

crate::scoped::org_owned!(org_units, wuyou_assessments, org_moves);

/// The `app_meta` key of the city's pass mark.
const PASS_MARK_KEY: &str = "wuyou_pass_mark";

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

pub(crate) fn to_details(m: &org_units::Model) -> StoreResult<UnitDetails> {
    Ok(UnitDetails {
        credit_code: m
            .credit_code
            .as_deref()
            .map(CreditCode::parse)
            .transpose()
            .map_err(corrupt)?,
        address: m.address.clone(),
        phone: m.phone.clone(),
        leader: m.leader.clone(),
        founded_on: m.founded_on,
        status: UnitStatus::parse(&m.status).ok_or_else(|| corrupt(format!("unit status {}", m.status)))?,
    })
}

pub(crate) fn unit_row(org_id: OrgId, d: &UnitDetails, at: DateTime<Utc>) -> org_units::ActiveModel {
    org_units::ActiveModel {
        org_id: Set(org_id.0),
        credit_code: Set(d.credit_code.as_ref().map(|c| c.as_str().to_owned())),
        address: Set(d.address.clone()),
        phone: Set(d.phone.clone()),
        leader: Set(d.leader.clone()),
        founded_on: Set(d.founded_on),
        status: Set(d.status.as_str().to_owned()),
        updated_at: Set(at),
    }
}

pub(crate) fn org_row(org: &Org) -> orgs::ActiveModel {
    orgs::ActiveModel {
        id: Set(org.id.0),
        code: Set(org.code.clone()),
        name: Set(org.name.clone()),
        level: Set(org.level.as_str().to_owned()),
        kind: Set(org.kind.as_str().to_owned()),
        parent_id: Set(org.parent_id.map(|p| p.0)),
        path: Set(org.path.clone()),
        created_at: Set(org.created_at),
        updated_at: Set(org.updated_at),
    }
}

pub use crate::import::{ImportMode, ImportReport, ImportRowReport};
/// Imports insert in chunks as gifts do (one code path for multi-row inserts).
pub(crate) use crate::insert::insert_chunked;

/// One unit with what the lists show of it.
#[derive(Debug, Clone, Serialize)]
pub struct UnitSummary {
    pub id: OrgId,
    pub code: String,
    pub name: String,
    pub kind: OrgKind,
    pub branch_id: Option<OrgId>,
    pub branch_name: Option<String>,
    pub details: UnitDetails,
    /// Codes of the checklist items not met (or never assessed).
    pub missing: Vec<String>,
    pub score: WuyouScore,
}

/// Filters for the unit lists.
#[derive(Debug, Clone, Default)]
pub struct UnitFilter {
    /// Matches name, code or credit code.
    pub q: Option<String>,
    pub branch_id: Option<OrgId>,
    pub kind: Option<OrgKind>,
    pub status: Option<UnitStatus>,
    /// Active units that fall short of the pass mark.
    pub shortfall_only: bool,
}

/// One item's assessment of one unit.
#[derive(Debug, Clone, Serialize)]
pub struct ItemAssessment {
    pub item: WuyouItem,
    pub met: Option<bool>,
    pub evidence: Option<String>,
    pub assessed_on: Option<NaiveDate>,
    pub assessed_by: Option<String>,
}

/// A move of a unit between branches.
#[derive(Debug, Clone, Serialize)]
pub struct UnitMove {
    pub from_org_id: OrgId,
    pub from_name: Option<String>,
    pub to_org_id: OrgId,
    pub to_name: Option<String>,
    pub moved_at: DateTime<Utc>,
    pub moved_by: String,
}

/// One unit in full.
#[derive(Debug, Clone, Serialize)]
pub struct UnitView {
    pub org: Org,
    pub branch: Option<Org>,
    pub details: UnitDetails,
    pub assessments: Vec<ItemAssessment>,
    pub score: WuyouScore,
    pub pass_mark: PassMark,
    pub moves: Vec<UnitMove>,
}

/// An assessment of one item, as submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssessmentInput {
    pub item_code: String,
    pub met: bool,
    pub evidence: Option<String>,
}

impl Store {
    /// The city's checklist, in order.
    pub async fn wuyou_items(&self) -> StoreResult<Vec<WuyouItem>> {
        let rows = wuyou_items::Entity::find()
            .filter(wuyou_items::Column::Active.eq(true))
            .order_by_asc(wuyou_items::Column::Position)
            .all(&self.read)
            .await?;
        Ok(rows
            .into_iter()
            .map(|m| WuyouItem {
                code: m.code,
                name_zh: m.name_zh,
                name_en: m.name_en,
            })
            .collect())
    }

    /// The city's pass mark (every item unless set otherwise).
    pub async fn wuyou_pass_mark(&self) -> StoreResult<PassMark> {
        let row = app_meta::Entity::find_by_id(PASS_MARK_KEY.to_owned())
            .one(&self.read)
            .await?;
        Ok(row.and_then(|r| PassMark::from_setting(&r.value)).unwrap_or_default())
    }
}

impl ScopedStore {
    /// The city's checklist (readable by every signed-in user).
    pub async fn wuyou_checklist(&self) -> StoreResult<Vec<WuyouItem>> {
        self.store.wuyou_items().await
    }

    /// The city's pass mark.
    pub async fn wuyou_mark(&self) -> StoreResult<PassMark> {
        self.store.wuyou_pass_mark().await
    }

    /// Sets the city's pass mark (administrators).
    pub async fn wuyou_set_pass_mark(&self, mark: PassMark) -> StoreResult<()> {
        self.actor.require(Permission::ManageSettings)?;
        let txn = self.store.begin_write().await?;
        let before = app_meta::Entity::find_by_id(PASS_MARK_KEY.to_owned()).one(&txn).await?;
        let value = mark.as_setting();
        match &before {
            Some(_) => {
                app_meta::Entity::update(app_meta::ActiveModel {
                    key: Set(PASS_MARK_KEY.to_owned()),
                    value: Set(value.clone()),
                })
                .exec(&txn)
                .await?;
            }
            None => {
                app_meta::Entity::insert(app_meta::ActiveModel {
                    key: Set(PASS_MARK_KEY.to_owned()),
                    value: Set(value.clone()),
                })
                .exec_without_returning(&txn)
                .await?;
            }
        }
        append(
            &txn,
            &self.actor,
            self.store.now(),
            AuditChange {
                action: AuditAction::Update,
                entity: "setting",
                entity_id: PASS_MARK_KEY.to_owned(),
                org_id: self.actor.org_id,
                before: before.map(|b| serde_json::Value::String(b.value)),
                after: Some(serde_json::Value::String(value)),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Every checklist item, active or not, in order, with whether it is active.
    pub async fn wuyou_all_items(&self) -> StoreResult<Vec<(WuyouItem, bool)>> {
        let rows = wuyou_items::Entity::find()
            .order_by_asc(wuyou_items::Column::Position)
            .all(&self.store.read)
            .await?;
        Ok(rows
            .into_iter()
            .map(|m| {
                (
                    WuyouItem {
                        code: m.code,
                        name_zh: m.name_zh,
                        name_en: m.name_en,
                    },
                    m.active,
                )
            })
            .collect())
    }

    /// Adds a checklist item or changes one (the city's administrators): a
    /// new code goes to the end of the list; an item is never deleted, only
    /// made inactive (its past assessments stay), and one item at least stays
    /// active. Audited.
    pub async fn wuyou_item_save(&self, item: WuyouItem, active: bool) -> StoreResult<()> {
        self.actor.require(Permission::ManageSettings)?;
        let code = item.code.trim().to_owned();
        let name_zh = item.name_zh.trim().to_owned();
        let name_en = item.name_en.trim().to_owned();
        let mut errors = FieldErrors::new();
        if code.is_empty()
            || code.chars().count() > 32
            || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            errors.add("code", "编码应为 1–32 位字母、数字、下划线或连字符");
        }
        if name_zh.is_empty() || name_zh.chars().count() > 60 {
            errors.add("name_zh", "请填写中文名称 (不超过 60 字)");
        }
        if name_en.chars().count() > 100 {
            errors.add("name_en", "英文名称不超过 100 个字符");
        }
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let txn = self.store.begin_write().await?;
        let all = wuyou_items::Entity::find().all(&txn).await?;
        let before = all.iter().find(|m| m.code == code).cloned();
        let others_active = all.iter().filter(|m| m.active && m.code != code).count();
        if !active && others_active == 0 {
            let mut errors = FieldErrors::new();
            errors.add("active", "至少保留一项有效的五有标准");
            return Err(errors.into());
        }
        let model = wuyou_items::ActiveModel {
            code: Set(code.clone()),
            position: Set(before
                .as_ref()
                .map_or_else(|| all.iter().map(|m| m.position).max().unwrap_or(0) + 1, |b| b.position)),
            name_zh: Set(name_zh.clone()),
            name_en: Set(if name_en.is_empty() { code.clone() } else { name_en }),
            active: Set(active),
        };
        match &before {
            Some(_) => {
                wuyou_items::Entity::update(model).exec(&txn).await?;
            }
            None => {
                wuyou_items::Entity::insert(model).exec_without_returning(&txn).await?;
            }
        }
        let after = wuyou_items::Entity::find_by_id(code.clone()).one(&txn).await?;
        let json = |m: &wuyou_items::Model| {
            serde_json::json!({"code": m.code, "position": m.position, "name_zh": m.name_zh,
                "name_en": m.name_en, "active": m.active})
        };
        append(
            &txn,
            &self.actor,
            self.store.now(),
            AuditChange {
                action: if before.is_some() {
                    AuditAction::Update
                } else {
                    AuditAction::Create
                },
                entity: "wuyou_item",
                entity_id: code,
                org_id: self.actor.org_id,
                before: before.as_ref().map(json),
                after: after.as_ref().map(json),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// The units in scope matching the filter, by code, with their 五有 scores.
    pub async fn network_units(&self, filter: &UnitFilter) -> StoreResult<Vec<UnitSummary>> {
        self.actor.require(Permission::ViewOrgs)?;
        let items = self.store.wuyou_items().await?;
        let mark = self.store.wuyou_pass_mark().await?;
        let mut query = self
            .select::<orgs::Entity>()
            .filter(orgs::Column::Level.eq(OrgLevel::Unit.as_str()));
        if let Some(branch) = filter.branch_id {
            query = query.filter(orgs::Column::ParentId.eq(branch.0));
        }
        if let Some(kind) = filter.kind {
            query = query.filter(orgs::Column::Kind.eq(kind.as_str()));
        }
        let units = query.order_by_asc(orgs::Column::Code).all(&self.store.read).await?;
        let details: HashMap<Uuid, org_units::Model> = self
            .select::<org_units::Entity>()
            .all(&self.store.read)
            .await?
            .into_iter()
            .map(|m| (m.org_id, m))
            .collect();
        let met: Vec<(Uuid, String)> = self
            .select::<wuyou_assessments::Entity>()
            .filter(wuyou_assessments::Column::Met.eq(true))
            .select_only()
            .column(wuyou_assessments::Column::OrgId)
            .column(wuyou_assessments::Column::ItemCode)
            .into_tuple()
            .all(&self.store.read)
            .await?;
        let mut met_by_unit: HashMap<Uuid, HashSet<String>> = HashMap::new();
        for (org, item) in met {
            met_by_unit.entry(org).or_default().insert(item);
        }
        let branches: HashMap<Uuid, String> = self
            .select::<orgs::Entity>()
            .filter(orgs::Column::Level.eq(OrgLevel::District.as_str()))
            .all(&self.store.read)
            .await?
            .into_iter()
            .map(|m| (m.id, m.name))
            .collect();
        let q = filter
            .q
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(str::to_lowercase);
        let empty = HashSet::new();
        let mut out = Vec::new();
        for unit in units {
            let details = match details.get(&unit.id) {
                Some(m) => to_details(m)?,
                None => UnitDetails::default(),
            };
            if filter.status.is_some_and(|s| s != details.status) {
                continue;
            }
            if let Some(q) = &q {
                let hit = unit.name.to_lowercase().contains(q)
                    || unit.code.to_lowercase().contains(q)
                    || details
                        .credit_code
                        .as_ref()
                        .is_some_and(|c| c.as_str().to_lowercase().contains(q));
                if !hit {
                    continue;
                }
            }
            let met = met_by_unit.get(&unit.id).unwrap_or(&empty);
            let missing: Vec<String> = items
                .iter()
                .filter(|i| !met.contains(&i.code))
                .map(|i| i.code.clone())
                .collect();
            let score = score(items.len() - missing.len(), items.len(), mark);
            if filter.shortfall_only && (score.passed || details.status != UnitStatus::Active) {
                continue;
            }
            let org = to_org(unit)?;
            out.push(UnitSummary {
                id: org.id,
                branch_name: org.parent_id.and_then(|p| branches.get(&p.0).cloned()),
                branch_id: org.parent_id,
                code: org.code,
                name: org.name,
                kind: org.kind,
                details,
                missing,
                score,
            });
        }
        Ok(out)
    }

    /// One unit in full; `NotFound` when absent, out of scope or not a unit.
    pub async fn network_unit(&self, id: OrgId) -> StoreResult<UnitView> {
        let org = self.org_get(id).await?;
        if org.level != OrgLevel::Unit {
            return Err(StoreError::NotFound);
        }
        let branch = match org.parent_id {
            Some(p) => match self.org_get(p).await {
                Ok(b) => Some(b),
                Err(StoreError::NotFound) => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        let details = match org_units::Entity::find_by_id(id.0).one(&self.store.read).await? {
            Some(m) => to_details(&m)?,
            None => UnitDetails::default(),
        };
        let items = self.store.wuyou_items().await?;
        let mark = self.store.wuyou_pass_mark().await?;
        let rows: HashMap<String, wuyou_assessments::Model> = wuyou_assessments::Entity::find()
            .filter(wuyou_assessments::Column::OrgId.eq(id.0))
            .all(&self.store.read)
            .await?
            .into_iter()
            .map(|m| (m.item_code.clone(), m))
            .collect();
        let assessments: Vec<ItemAssessment> = items
            .into_iter()
            .map(|item| {
                let row = rows.get(&item.code);
                ItemAssessment {
                    met: row.map(|r| r.met),
                    evidence: row.and_then(|r| r.evidence.clone()),
                    assessed_on: row.map(|r| r.assessed_on),
                    assessed_by: row.map(|r| r.assessed_by.clone()),
                    item,
                }
            })
            .collect();
        let met = assessments.iter().filter(|a| a.met == Some(true)).count();
        let score = score(met, assessments.len(), mark);
        let move_rows = org_moves::Entity::find()
            .filter(org_moves::Column::OrgId.eq(id.0))
            .order_by_asc(org_moves::Column::MovedAt)
            .all(&self.store.read)
            .await?;
        let ids: Vec<Uuid> = move_rows.iter().flat_map(|m| [m.from_org_id, m.to_org_id]).collect();
        let names: HashMap<Uuid, String> = orgs::Entity::find()
            .filter(orgs::Column::Id.is_in(ids))
            .all(&self.store.read)
            .await?
            .into_iter()
            .map(|m| (m.id, m.name))
            .collect();
        let moves = move_rows
            .into_iter()
            .map(|m| UnitMove {
                from_org_id: OrgId(m.from_org_id),
                from_name: names.get(&m.from_org_id).cloned(),
                to_org_id: OrgId(m.to_org_id),
                to_name: names.get(&m.to_org_id).cloned(),
                moved_at: m.moved_at,
                moved_by: m.moved_by,
            })
            .collect();
        Ok(UnitView {
            org,
            branch,
            details,
            assessments,
            score,
            pass_mark: mark,
            moves,
        })
    }

    /// Replaces a unit's particulars. Dissolution is final.
    pub async fn unit_update(&self, id: OrgId, details: UnitDetails) -> StoreResult<UnitDetails> {
        self.actor.require(Permission::ManageOrgs)?;
        let txn = self.store.begin_write().await?;
        let org = self.unit_in_scope(&txn, id).await?;
        let before = org_units::Entity::find_by_id(id.0).one(&txn).await?;
        let before_details = before.as_ref().map(to_details).transpose()?;
        let from = before_details.as_ref().map_or(UnitStatus::Active, |d| d.status);
        if !from.may_become(details.status) {
            let mut errors = FieldErrors::new();
            errors.add("status", "已撤销的基层组织不能恢复");
            return Err(errors.into());
        }
        if let Some(code) = &details.credit_code {
            let taken = org_units::Entity::find()
                .filter(org_units::Column::CreditCode.eq(code.as_str()))
                .filter(org_units::Column::OrgId.ne(id.0))
                .one(&txn)
                .await?;
            if taken.is_some() {
                let mut errors = FieldErrors::new();
                errors.add("credit_code", "该统一社会信用代码已被其他组织使用");
                return Err(errors.into());
            }
        }
        let now = self.store.now();
        let row = unit_row(org.id, &details, now);
        if before.is_some() {
            org_units::Entity::update(row).exec(&txn).await?;
        } else {
            org_units::Entity::insert(row).exec_without_returning(&txn).await?;
        }
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Update,
                entity: "org_unit",
                entity_id: org.id.to_string(),
                org_id: org.id,
                before: before_details
                    .map(|d| serde_json::to_value(d).map_err(corrupt))
                    .transpose()?,
                after: Some(serde_json::to_value(&details).map_err(corrupt)?),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(details)
    }

    /// Moves a unit to another branch. Both branches must be in scope; the
    /// unit keeps its records and its history (`org_moves`).
    pub async fn unit_move(&self, id: OrgId, to: OrgId) -> StoreResult<Org> {
        self.actor.require(Permission::ManageOrgs)?;
        let txn = self.store.begin_write().await?;
        let org = self.unit_in_scope(&txn, id).await?;
        let target = self.org_in_scope(&txn, to).await?;
        let target = match target {
            Some(t) if t.level == OrgLevel::District.as_str() => to_org(t)?,
            _ => {
                let mut errors = FieldErrors::new();
                errors.add("to_branch_id", "目标区县不存在或不在您的管辖范围内");
                return Err(errors.into());
            }
        };
        let from = org.parent_id.ok_or(StoreError::NotFound)?;
        if from == target.id {
            let mut errors = FieldErrors::new();
            errors.add("to_branch_id", "该基层组织已属于这个区县");
            return Err(errors.into());
        }
        let status = match org_units::Entity::find_by_id(id.0).one(&txn).await? {
            Some(m) => to_details(&m)?.status,
            None => UnitStatus::Active,
        };
        if !status.may_move() {
            let mut errors = FieldErrors::new();
            errors.add("to_branch_id", "已撤销的基层组织不能划转");
            return Err(errors.into());
        }
        let now = self.store.now();
        let moved = Org {
            parent_id: Some(target.id),
            path: child_path(&target.path, org.id),
            updated_at: now,
            ..org.clone()
        };
        orgs::Entity::update(orgs::ActiveModel {
            id: Set(org.id.0),
            parent_id: Set(Some(target.id.0)),
            path: Set(moved.path.clone()),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec(&txn)
        .await?;
        org_moves::Entity::insert(org_moves::ActiveModel {
            id: Set(Uuid::now_v7()),
            org_id: Set(org.id.0),
            from_org_id: Set(from.0),
            to_org_id: Set(target.id.0),
            moved_at: Set(now),
            moved_by: Set(self.actor.username.clone()),
            moved_by_id: Set(self.actor.user_id.map(|u| u.0)),
        })
        .exec_without_returning(&txn)
        .await?;
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Update,
                entity: "org",
                entity_id: org.id.to_string(),
                org_id: org.id,
                before: Some(serde_json::json!({"parent_id": from.to_string()})),
                after: Some(serde_json::json!({"parent_id": target.id.to_string(), "moved": true})),
            },
        )
        .await?;
        txn.commit().await?;
        // Users of the moved subtree now have another scope.
        self.store.token_cache.forget_all();
        Ok(moved)
    }

    /// Records a unit's assessment of some checklist items (others keep theirs).
    pub async fn wuyou_assess(&self, id: OrgId, input: Vec<AssessmentInput>) -> StoreResult<UnitView> {
        self.actor.require(Permission::ManageOrgs)?;
        let items = self.store.wuyou_items().await?;
        let mut errors = FieldErrors::new();
        for a in &input {
            if !items.iter().any(|i| i.code == a.item_code) {
                errors.add("items", format!("未知的五有项目: {}", a.item_code));
            }
            if a.evidence.as_ref().is_some_and(|e| e.chars().count() > 500) {
                errors.add("items", "佐证说明不能超过 500 个字");
            }
        }
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let txn = self.store.begin_write().await?;
        let org = self.unit_in_scope(&txn, id).await?;
        let now = self.store.now();
        let today = boai_domain::clock::china_date(now);
        wuyou_assessments::Entity::delete_many()
            .filter(wuyou_assessments::Column::OrgId.eq(org.id.0))
            .filter(wuyou_assessments::Column::ItemCode.is_in(input.iter().map(|a| a.item_code.clone())))
            .exec(&txn)
            .await?;
        let rows = input
            .iter()
            .map(|a| wuyou_assessments::ActiveModel {
                org_id: Set(org.id.0),
                item_code: Set(a.item_code.clone()),
                met: Set(a.met),
                evidence: Set(a.evidence.clone().filter(|e| !e.trim().is_empty())),
                assessed_on: Set(today),
                assessed_by: Set(self.actor.username.clone()),
            })
            .collect();
        insert_chunked(&txn, rows).await?;
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Update,
                entity: "wuyou_assessment",
                entity_id: org.id.to_string(),
                org_id: org.id,
                before: None,
                after: Some(serde_json::to_value(&input).map_err(corrupt)?),
            },
        )
        .await?;
        txn.commit().await?;
        self.network_unit(id).await
    }

    /// Imports units, row by row. `rows` are (row number, parsed row or its
    /// problems). In [`ImportMode::AllOrNothing`] nothing is written unless
    /// every row is accepted.
    pub async fn units_import(
        &self,
        rows: Vec<(usize, String, Result<UnitImportRow, Vec<String>>)>,
        mode: ImportMode,
    ) -> StoreResult<ImportReport> {
        self.actor.require(Permission::ManageOrgs)?;
        let txn = self.store.begin_write().await?;
        let branches: HashMap<String, Org> = self
            .select::<orgs::Entity>()
            .filter(orgs::Column::Level.eq(OrgLevel::District.as_str()))
            .all(&txn)
            .await?
            .into_iter()
            .map(|m| to_org(m).map(|o| (o.code.to_uppercase(), o)))
            .collect::<StoreResult<_>>()?;
        let taken = crate::import::taken::<org_units::Entity, _>(&txn, org_units::Column::CreditCode).await?;
        let mut codes = crate::import::taken::<orgs::Entity, _>(&txn, orgs::Column::Code).await?;
        let mut seen_credit: HashSet<String> = HashSet::new();
        let mut next_n: HashMap<OrgId, u64> = HashMap::new();
        let now = self.store.now();
        let mut report = Vec::with_capacity(rows.len());
        let mut new_orgs = Vec::new();
        let mut new_units = Vec::new();
        for (row, name, parsed) in rows {
            let mut problems = Vec::new();
            let mut planned = None;
            match parsed {
                Err(p) => problems = p,
                Ok(r) => {
                    let branch = branches.get(&r.branch_code.to_uppercase());
                    if branch.is_none() {
                        problems.push(format!("所属区县不存在或不在管辖范围内: {}", r.branch_code));
                    }
                    if let Some(code) = &r.details.credit_code {
                        if taken.contains(code.as_str()) {
                            problems.push(format!("统一社会信用代码已被使用: {code}"));
                        } else if !seen_credit.insert(code.as_str().to_owned()) {
                            problems.push(format!("统一社会信用代码在文件中重复: {code}"));
                        }
                    }
                    if let (Some(branch), true) = (branch, problems.is_empty()) {
                        planned = Some((branch.clone(), r));
                    }
                }
            }
            let mut entry = ImportRowReport {
                row,
                name,
                accepted: problems.is_empty(),
                problems,
                org_id: None,
                code: None,
            };
            if let Some((branch, r)) = planned {
                let n = next_n.entry(branch.id).or_insert(1);
                let code = loop {
                    let candidate = format!("{}-{:03}", branch.code, *n);
                    *n += 1;
                    if !codes.contains(&candidate) {
                        break candidate;
                    }
                };
                codes.insert(code.clone());
                let id = OrgId::new();
                let org = Org {
                    id,
                    code: code.clone(),
                    name: r.name,
                    level: OrgLevel::Unit,
                    kind: r.kind,
                    parent_id: Some(branch.id),
                    path: child_path(&branch.path, id),
                    created_at: now,
                    updated_at: now,
                };
                entry.org_id = Some(id);
                entry.code = Some(code);
                new_units.push((id, r.details));
                new_orgs.push(org);
            }
            report.push(entry);
        }
        let report = match ImportReport::decide(mode, report) {
            Ok(report) => report,
            Err(refused) => return Ok(refused),
        };
        let mut changes = Vec::with_capacity(new_orgs.len());
        for (org, (_, details)) in new_orgs.iter().zip(&new_units) {
            let mut after = serde_json::to_value(org).map_err(corrupt)?;
            if let Some(obj) = after.as_object_mut() {
                obj.insert("unit".to_owned(), serde_json::to_value(details).map_err(corrupt)?);
                obj.insert("imported".to_owned(), serde_json::Value::Bool(true));
            }
            changes.push(AuditChange {
                action: AuditAction::Create,
                entity: "org",
                entity_id: org.id.to_string(),
                org_id: org.id,
                before: None,
                after: Some(after),
            });
        }
        insert_chunked(&txn, new_orgs.iter().map(org_row).collect()).await?;
        insert_chunked(&txn, new_units.iter().map(|(id, d)| unit_row(*id, d, now)).collect()).await?;
        append_many(&txn, &self.actor, now, changes).await?;
        txn.commit().await?;
        Ok(report)
    }

    async fn unit_in_scope<C: ConnectionTrait>(&self, conn: &C, id: OrgId) -> StoreResult<Org> {
        match self.org_in_scope(conn, id).await? {
            Some(m) if m.level == OrgLevel::Unit.as_str() => to_org(m),
            _ => Err(StoreError::NotFound),
        }
    }
}
