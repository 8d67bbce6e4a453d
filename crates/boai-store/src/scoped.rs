//! The one place data scope is enforced. [`ScopedStore`] carries the acting
//! user; every read it offers filters by the user's organisation subtree and
//! every write checks that the record lands inside it. Out-of-scope records
//! are reported as [`StoreError::NotFound`](crate::StoreError::NotFound), never
//! as forbidden, so a probe learns nothing.
//!
//! The predicates: [`ScopedStore::select`] (rows owned in the subtree),
//! `select_or_city` (and the city's: projects), `in_branch` (a filter to one
//! branch within scope), `org_in_scope` / `require_org` (THE check of an
//! organisation a write names) and `orgs_within` (a subtree without an
//! actor). They are the only SQL over organisation paths; the wider reaches
//! are pure functions of [`boai_domain::scope`]. `tests/store/scope.rs`
//! fails when another file of boai-store or boai-web reads scope itself.

use crate::entities::orgs;
use crate::{Store, StoreError, StoreResult};
use boai_domain::accounts::{Permission, Role};
use boai_domain::ids::{OrgId, UserId};
use boai_domain::scope::Scope;
use sea_orm::sea_query::{Alias, Expr, Query, SimpleExpr};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, Select};

/// Who is acting, from where, within which subtree.
#[derive(Debug, Clone)]
pub struct Actor {
    /// `None` for the system itself (migrations, demo seeding).
    pub user_id: Option<UserId>,
    pub username: String,
    pub role: Role,
    pub org_id: OrgId,
    pub scope: Scope,
    pub ip: Option<String>,
}

impl Actor {
    /// Fails with [`StoreError::Forbidden`] unless the role grants `permission`.
    pub fn require(&self, permission: Permission) -> StoreResult<()> {
        if self.role.can(permission) {
            Ok(())
        } else {
            Err(StoreError::Forbidden)
        }
    }
}

/// A page request: 1-based page, at most 100 per page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: u64,
    pub per_page: u64,
}

impl Page {
    pub const MAX_PER_PAGE: u64 = 100;

    /// Clamps the numbers a client sent into range.
    pub fn new(page: Option<u64>, per_page: Option<u64>) -> Page {
        Page {
            page: page.unwrap_or(1).max(1),
            per_page: per_page.unwrap_or(20).clamp(1, Self::MAX_PER_PAGE),
        }
    }

    /// Rows to skip, at most `i64::MAX` (SQL offsets are signed: a larger one
    /// made sea-query's binder panic, found by Schemathesis with `page=2^63-1`).
    pub fn offset(&self) -> u64 {
        (self.page - 1).saturating_mul(self.per_page).min(i64::MAX as u64)
    }
}

impl Default for Page {
    fn default() -> Self {
        Page::new(None, None)
    }
}

/// A table whose rows belong to an organisation.
pub(crate) trait OrgOwned: EntityTrait {
    fn org_column() -> Self::Column;
}

/// [`OrgOwned`] for entities owned through their `org_id` column.
macro_rules! org_owned {
    ($($entity:ident),+ $(,)?) => {
        $(impl $crate::scoped::OrgOwned for $entity::Entity {
            fn org_column() -> Self::Column {
                $entity::Column::OrgId
            }
        })+
    };
}
pub(crate) use org_owned;

/// The store as seen by one actor.
#[derive(Debug, Clone)]
pub struct ScopedStore {
    pub(crate) store: Store,
    pub(crate) actor: Actor,
}

impl Store {
    /// The store as `actor` may see it.
    pub fn scoped(&self, actor: Actor) -> ScopedStore {
        ScopedStore {
            store: self.clone(),
            actor,
        }
    }
}

impl ScopedStore {
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// `E::find()` restricted to the actor's subtree: a correlated `EXISTS`
    /// on the row's organisation (one primary-key look-up per row), not
    /// `org_id IN (subtree)`, which SQLite answers by scanning every
    /// organisation's path with `LIKE` on each query (1–2 ms of the gift
    /// write path at 2,341 organisations; see docs/performance.md).
    pub(crate) fn select<E: OrgOwned>(&self) -> Select<E> {
        E::find().filter(owned_within::<E>(&self.actor.scope.path, false))
    }

    /// `E::find()` restricted to the actor's subtree and the city's own rows
    /// ([`Scope::contains_or_city`] as SQL): projects, which the city owns
    /// for everyone.
    pub(crate) fn select_or_city<E: OrgOwned>(&self) -> Select<E> {
        E::find().filter(owned_within::<E>(&self.actor.scope.path, true))
    }

    /// A filter narrowing an `E` query (already in scope) to the subtree of
    /// `branch` (itself included); a branch that does not exist matches no
    /// row. Reads the branch's path once.
    pub(crate) async fn in_branch<E: OrgOwned>(&self, branch: OrgId) -> StoreResult<SimpleExpr> {
        let path = orgs::Entity::find_by_id(branch.0)
            .one(&self.store.read)
            .await?
            .map(|o| o.path)
            .unwrap_or_else(|| "/-none-/".to_owned());
        Ok(owned_within::<E>(&path, false))
    }

    /// The organisation `id` if it lies in the actor's subtree; `None` when
    /// it does not exist or lies outside (the two are not told apart). THE
    /// check before a write names an organisation: read on `conn`, so inside
    /// the write's transaction when there is one.
    pub(crate) async fn org_in_scope<C: ConnectionTrait>(
        &self,
        conn: &C,
        id: OrgId,
    ) -> StoreResult<Option<orgs::Model>> {
        Ok(self
            .select::<orgs::Entity>()
            .filter(orgs::Column::Id.eq(id.0))
            .one(conn)
            .await?)
    }

    /// [`org_in_scope`](Self::org_in_scope), or [`StoreError::NotFound`].
    pub(crate) async fn require_org<C: ConnectionTrait>(&self, conn: &C, id: OrgId) -> StoreResult<orgs::Model> {
        self.org_in_scope(conn, id).await?.ok_or(StoreError::NotFound)
    }
}

/// `EXISTS` an organisation with the id in `E`'s organisation column whose
/// path starts with `path` (or, with `or_city`, a root organisation): the one
/// SQL form of [`Scope::contains_path`] / [`Scope::contains_or_city`].
fn owned_within<E: OrgOwned>(path: &str, or_city: bool) -> SimpleExpr {
    // Aliased: the outer table may be `orgs` itself, and an unaliased
    // inner `orgs` would shadow it (`orgs.id = orgs.id`, always true).
    let inner = || Alias::new("scope_org");
    let mut reach = Condition::any().add(Expr::col((inner(), orgs::Column::Path)).like(format!("{path}%")));
    if or_city {
        reach = reach.add(Expr::col((inner(), orgs::Column::ParentId)).is_null());
    }
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from_as(orgs::Entity, inner())
            .and_where(Expr::col((inner(), orgs::Column::Id)).equals((E::default(), E::org_column())))
            .cond_where(reach)
            .to_owned(),
    )
}

/// Organisations of the subtree rooted at `path` (itself included), for the
/// reads that have no actor (the public application form's district).
pub(crate) fn orgs_within(path: &str) -> SimpleExpr {
    owned_within::<orgs::Entity>(path, false)
}
