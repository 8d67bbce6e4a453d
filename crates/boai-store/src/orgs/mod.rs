//! Organisations, read and written within the actor's subtree. A new
//! organisation's parent must be in scope and one level above it; its path is
//! derived from the parent's. Codes are generated from the parent's code when
//! none is given.

use crate::audit::{append, AuditChange};
use crate::entities::orgs;
use crate::idempotency::Responder;
use crate::scoped::OrgOwned;
use crate::{Page, ScopedStore, StoreError, StoreResult};
use boai_domain::accounts::Permission;
use boai_domain::audit::AuditAction;
use boai_domain::ids::OrgId;
use boai_domain::orgs::{check_parent, Org, OrgForCreate, OrgKind, OrgLevel};
use boai_domain::scope::child_path;
use boai_domain::validation::FieldErrors;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

impl OrgOwned for orgs::Entity {
    fn org_column() -> Self::Column {
        orgs::Column::Id
    }
}

pub(crate) fn to_org(m: orgs::Model) -> StoreResult<Org> {
    Ok(Org {
        id: OrgId(m.id),
        level: OrgLevel::parse(&m.level).ok_or_else(|| StoreError::Corrupt(format!("org level {}", m.level)))?,
        kind: OrgKind::parse(&m.kind).ok_or_else(|| StoreError::Corrupt(format!("org kind {}", m.kind)))?,
        code: m.code,
        name: m.name,
        parent_id: m.parent_id.map(OrgId),
        path: m.path,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// Filters for listing organisations.
#[derive(Debug, Clone, Default)]
pub struct OrgFilter {
    /// Matches name or code.
    pub q: Option<String>,
    pub level: Option<OrgLevel>,
    pub parent_id: Option<OrgId>,
}

impl ScopedStore {
    /// Organisations in scope matching the filter, in tree order.
    pub async fn orgs_list(&self, filter: &OrgFilter, page: Page) -> StoreResult<(Vec<Org>, u64)> {
        self.actor.require(Permission::ViewOrgs)?;
        let mut query = self.select::<orgs::Entity>();
        if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let pattern = format!("%{}%", escape_like(q));
            query = query.filter(
                Condition::any()
                    .add(
                        sea_orm::sea_query::Expr::col(orgs::Column::Name)
                            .like(sea_orm::sea_query::LikeExpr::new(pattern.clone()).escape('\\')),
                    )
                    .add(
                        sea_orm::sea_query::Expr::col(orgs::Column::Code)
                            .like(sea_orm::sea_query::LikeExpr::new(pattern).escape('\\')),
                    ),
            );
        }
        if let Some(level) = filter.level {
            query = query.filter(orgs::Column::Level.eq(level.as_str()));
        }
        if let Some(parent) = filter.parent_id {
            query = query.filter(orgs::Column::ParentId.eq(parent.0));
        }
        let total = query.clone().count(&self.store.read).await?;
        let rows = query
            .order_by_asc(orgs::Column::Level)
            .order_by_asc(orgs::Column::Code)
            .offset(page.offset())
            .limit(page.per_page)
            .all(&self.store.read)
            .await?;
        let items = rows.into_iter().map(to_org).collect::<StoreResult<Vec<_>>>()?;
        Ok((items, total))
    }

    /// Every organisation in scope, parents before children (for the tree).
    pub async fn orgs_tree(&self) -> StoreResult<Vec<Org>> {
        self.actor.require(Permission::ViewOrgs)?;
        let rows = self
            .select::<orgs::Entity>()
            .order_by_asc(orgs::Column::Code)
            .all(&self.store.read)
            .await?;
        rows.into_iter().map(to_org).collect()
    }

    /// One organisation, or `NotFound` when absent or out of scope.
    pub async fn org_get(&self, id: OrgId) -> StoreResult<Org> {
        self.actor.require(Permission::ViewOrgs)?;
        let row = self
            .select::<orgs::Entity>()
            .filter(orgs::Column::Id.eq(id.0))
            .one(&self.store.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        to_org(row)
    }

    /// Creates an organisation under a parent in scope.
    pub async fn org_create(&self, input: OrgForCreate, idempotency: Option<Responder<'_, Org>>) -> StoreResult<Org> {
        self.actor.require(Permission::ManageOrgs)?;
        let txn = self.store.begin_write().await?;
        let parent = match self.org_in_scope(&txn, input.parent_id).await? {
            Some(p) => to_org(p)?,
            _ => {
                let mut errors = FieldErrors::new();
                errors.add("parent_id", "上级组织不存在或不在您的管辖范围内");
                return Err(errors.into());
            }
        };
        check_parent(parent.level, input.level)?;
        let code = match input.code {
            Some(code) => code,
            None => next_child_code(&txn, &parent).await?,
        };
        let now = self.store.now();
        let id = OrgId::new();
        let org = Org {
            id,
            code,
            name: input.name,
            level: input.level,
            kind: input.kind,
            parent_id: Some(parent.id),
            path: child_path(&parent.path, id),
            created_at: now,
            updated_at: now,
        };
        insert_org(&txn, &org)
            .await
            .map_err(|e| e.conflict_on("code", "该代码已被使用"))?;
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Create,
                entity: "org",
                entity_id: org.id.to_string(),
                org_id: org.id,
                before: None,
                after: Some(serde_json::to_value(&org).map_err(|e| StoreError::Corrupt(e.to_string()))?),
            },
        )
        .await?;
        if let Some((claim, render)) = idempotency {
            self.idempotency_record(&txn, claim, render(&org)).await?;
        }
        txn.commit().await?;
        Ok(org)
    }
}

pub(crate) async fn insert_org<C: ConnectionTrait>(conn: &C, org: &Org) -> StoreResult<()> {
    orgs::Entity::insert(orgs::ActiveModel {
        id: Set(org.id.0),
        code: Set(org.code.clone()),
        name: Set(org.name.clone()),
        level: Set(org.level.as_str().to_owned()),
        kind: Set(org.kind.as_str().to_owned()),
        parent_id: Set(org.parent_id.map(|p| p.0)),
        path: Set(org.path.clone()),
        created_at: Set(org.created_at),
        updated_at: Set(org.updated_at),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

async fn next_child_code<C: ConnectionTrait>(conn: &C, parent: &Org) -> StoreResult<String> {
    let siblings = orgs::Entity::find()
        .filter(orgs::Column::ParentId.eq(parent.id.0))
        .count(conn)
        .await?;
    let mut n = siblings + 1;
    loop {
        let code = format!("{}-{:03}", parent.code, n);
        let taken = orgs::Entity::find()
            .filter(orgs::Column::Code.eq(code.as_str()))
            .count(conn)
            .await?;
        if taken == 0 || code.len() > 32 {
            return Ok(code);
        }
        n += 1;
    }
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}
