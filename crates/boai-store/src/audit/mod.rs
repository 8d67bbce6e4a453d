//! The audit trail: append-only, hash-chained. [`append`] runs inside the
//! transaction of the change it records and takes the chain's head row with an
//! UPDATE first, which serialises concurrent writers on PostgreSQL as the
//! single writer connection does on SQLite. Rows are never updated or deleted
//! by the application; [`Store::verify_audit`] proves that.

use crate::entities::{audit_head, audit_log};
use crate::scoped::ScopedStore;
use crate::{Actor, Page, Store, StoreError, StoreResult};
use boai_domain::accounts::Permission;
use boai_domain::audit::{chain_hash, AuditAction, AuditFields, ChainBreak, ChainVerifier};
use boai_domain::ids::OrgId;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;
use uuid::Uuid;

crate::scoped::org_owned!(audit_log);

/// A change to record.
#[derive(Debug, Clone)]
pub struct AuditChange<'a> {
    pub action: AuditAction,
    pub entity: &'a str,
    pub entity_id: String,
    pub org_id: OrgId,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// Appends one row to the chain, inside the caller's transaction.
pub(crate) async fn append<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    at: DateTime<Utc>,
    change: AuditChange<'_>,
) -> StoreResult<i64> {
    let head = audit_head::Entity::update_many()
        .col_expr(audit_head::Column::Seq, Expr::col(audit_head::Column::Seq).add(1))
        .filter(audit_head::Column::Id.eq(1))
        .exec_with_returning(conn)
        .await?
        .pop()
        .ok_or_else(|| StoreError::Corrupt("audit head row is missing".to_owned()))?;
    let actor_id = actor.user_id.map(|id| id.to_string());
    let org_id = change.org_id.to_string();
    let before = change.before.map(|v| v.to_string());
    let after = change.after.map(|v| v.to_string());
    let fields = AuditFields {
        seq: head.seq,
        at,
        actor_id: actor_id.as_deref(),
        actor_name: &actor.username,
        ip: actor.ip.as_deref(),
        action: change.action.as_str(),
        entity: change.entity,
        entity_id: &change.entity_id,
        org_id: Some(&org_id),
        before: before.as_deref(),
        after: after.as_deref(),
    };
    let hash = chain_hash(&head.hash, &fields);
    audit_log::Entity::insert(audit_log::ActiveModel {
        seq: Set(head.seq),
        at: Set(at),
        actor_id: Set(actor.user_id.map(|id| id.0)),
        actor_name: Set(actor.username.clone()),
        ip: Set(actor.ip.clone()),
        action: Set(change.action.as_str().to_owned()),
        entity: Set(change.entity.to_owned()),
        entity_id: Set(change.entity_id.clone()),
        org_id: Set(Some(change.org_id.0)),
        before: Set(before.clone()),
        after: Set(after.clone()),
        prev_hash: Set(head.hash.clone()),
        hash: Set(hash.clone()),
    })
    .exec_without_returning(conn)
    .await?;
    audit_head::Entity::update_many()
        .col_expr(audit_head::Column::Hash, Expr::value(hash))
        .filter(audit_head::Column::Id.eq(1))
        .exec(conn)
        .await?;
    Ok(head.seq)
}

/// Appends many rows to the chain at once (demo seeding, imports), inside the
/// caller's transaction: the head is taken once for all of them and the rows
/// are written in multi-row inserts. The chain is the same as that of as many
/// [`append`] calls.
pub(crate) async fn append_many<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    at: DateTime<Utc>,
    changes: Vec<AuditChange<'_>>,
) -> StoreResult<()> {
    append_many_by(conn, changes.into_iter().map(|c| (actor, at, c)).collect()).await
}

/// [`append_many`] with an actor and a time per row (bulk gift writing: each
/// row is by whoever recorded its gift, dated when it was received).
pub(crate) async fn append_many_by<C: ConnectionTrait>(
    conn: &C,
    changes: Vec<(&Actor, DateTime<Utc>, AuditChange<'_>)>,
) -> StoreResult<()> {
    if changes.is_empty() {
        return Ok(());
    }
    // An `i32` like `append`'s `1`: PostgreSQL types the parameter from it.
    let n = i32::try_from(changes.len()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let head = audit_head::Entity::update_many()
        .col_expr(audit_head::Column::Seq, Expr::col(audit_head::Column::Seq).add(n))
        .filter(audit_head::Column::Id.eq(1))
        .exec_with_returning(conn)
        .await?
        .pop()
        .ok_or_else(|| StoreError::Corrupt("audit head row is missing".to_owned()))?;
    let (rows, prev) = chain_rows(head.seq - i64::from(n) + 1, head.hash, changes);
    crate::insert::insert_chunked(conn, rows).await?;
    audit_head::Entity::update_many()
        .col_expr(audit_head::Column::Hash, Expr::value(prev))
        .filter(audit_head::Column::Id.eq(1))
        .exec(conn)
        .await?;
    Ok(())
}

/// The audit rows for `changes`, numbered from `first_seq` and chained
/// from `prev` (the head's hash); answers them with the last row's hash.
/// Pure: whoever calls it owns the head (it took the numbers, or it is the
/// only writer).
pub(crate) fn chain_rows<'a>(
    first_seq: i64,
    mut prev: String,
    changes: impl IntoIterator<Item = (&'a Actor, DateTime<Utc>, AuditChange<'a>)>,
) -> (Vec<audit_log::ActiveModel>, String) {
    let changes = changes.into_iter();
    let mut rows = Vec::with_capacity(changes.size_hint().0);
    for (seq, (actor, at, change)) in (first_seq..).zip(changes) {
        let actor_id = actor.user_id.map(|id| id.to_string());
        let org_id = change.org_id.to_string();
        let before = change.before.map(|v| v.to_string());
        let after = change.after.map(|v| v.to_string());
        let fields = AuditFields {
            seq,
            at,
            actor_id: actor_id.as_deref(),
            actor_name: &actor.username,
            ip: actor.ip.as_deref(),
            action: change.action.as_str(),
            entity: change.entity,
            entity_id: &change.entity_id,
            org_id: Some(&org_id),
            before: before.as_deref(),
            after: after.as_deref(),
        };
        let hash = chain_hash(&prev, &fields);
        rows.push(audit_log::ActiveModel {
            seq: Set(seq),
            at: Set(at),
            actor_id: Set(actor.user_id.map(|id| id.0)),
            actor_name: Set(actor.username.clone()),
            ip: Set(actor.ip.clone()),
            action: Set(change.action.as_str().to_owned()),
            entity: Set(change.entity.to_owned()),
            entity_id: Set(change.entity_id),
            org_id: Set(Some(change.org_id.0)),
            before: Set(before),
            after: Set(after),
            prev_hash: Set(prev),
            hash: Set(hash.clone()),
        });
        prev = hash;
    }
    (rows, prev)
}

/// One audit row as shown to supervisors.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AuditRecord {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor_name: String,
    pub ip: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub org_id: Option<Uuid>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub hash: String,
}

impl From<audit_log::Model> for AuditRecord {
    fn from(m: audit_log::Model) -> Self {
        let parse = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
        AuditRecord {
            seq: m.seq,
            at: m.at,
            actor_id: m.actor_id,
            actor_name: m.actor_name,
            ip: m.ip,
            action: m.action,
            entity: m.entity,
            entity_id: m.entity_id,
            org_id: m.org_id,
            before: parse(m.before),
            after: parse(m.after),
            hash: m.hash,
        }
    }
}

/// Filters for browsing the trail.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub actor_name: Option<String>,
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl ScopedStore {
    /// The audit rows of the actor's subtree, newest first.
    pub async fn audit_list(&self, filter: &AuditFilter, page: Page) -> StoreResult<(Vec<AuditRecord>, u64)> {
        self.actor.require(Permission::ViewAudit)?;
        let mut query = self.select::<audit_log::Entity>();
        if let Some(entity) = &filter.entity {
            query = query.filter(audit_log::Column::Entity.eq(entity.as_str()));
        }
        if let Some(id) = &filter.entity_id {
            query = query.filter(audit_log::Column::EntityId.eq(id.as_str()));
        }
        if let Some(actor) = &filter.actor_name {
            query = query.filter(audit_log::Column::ActorName.eq(actor.as_str()));
        }
        if let Some(action) = &filter.action {
            query = query.filter(audit_log::Column::Action.eq(action.as_str()));
        }
        if let Some(from) = filter.from {
            query = query.filter(audit_log::Column::At.gte(from));
        }
        if let Some(until) = filter.until {
            query = query.filter(audit_log::Column::At.lt(until));
        }
        let total = query.clone().count(&self.store.read).await?;
        let rows = query
            .order_by_desc(audit_log::Column::Seq)
            .offset(page.offset())
            .limit(page.per_page)
            .all(&self.store.read)
            .await?;
        Ok((rows.into_iter().map(AuditRecord::from).collect(), total))
    }
}

/// The outcome of checking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditVerdict {
    Intact { rows: i64 },
    Broken(ChainBreak),
}

impl Store {
    /// Walks the whole chain in order, in batches, and checks every link.
    pub async fn verify_audit(&self, mut progress: impl FnMut(i64, i64)) -> StoreResult<AuditVerdict> {
        let head = audit_head::Entity::find_by_id(1)
            .one(&self.read)
            .await?
            .ok_or_else(|| StoreError::Corrupt("audit head row is missing".to_owned()))?;
        let mut verifier = ChainVerifier::default();
        let mut after_seq = 0i64;
        loop {
            let batch = audit_log::Entity::find()
                .filter(audit_log::Column::Seq.gt(after_seq))
                .order_by_asc(audit_log::Column::Seq)
                .limit(1000)
                .all(&self.read)
                .await?;
            let Some(last) = batch.last() else { break };
            after_seq = last.seq;
            for row in &batch {
                let actor_id = row.actor_id.map(|id| id.to_string());
                let org_id = row.org_id.map(|id| id.to_string());
                let fields = AuditFields {
                    seq: row.seq,
                    at: row.at,
                    actor_id: actor_id.as_deref(),
                    actor_name: &row.actor_name,
                    ip: row.ip.as_deref(),
                    action: &row.action,
                    entity: &row.entity,
                    entity_id: &row.entity_id,
                    org_id: org_id.as_deref(),
                    before: row.before.as_deref(),
                    after: row.after.as_deref(),
                };
                if let Err(broken) = verifier.push(&fields, &row.prev_hash, &row.hash) {
                    return Ok(AuditVerdict::Broken(broken));
                }
            }
            progress(after_seq, head.seq);
        }
        match verifier.finish(head.seq, &head.hash) {
            Ok(rows) => Ok(AuditVerdict::Intact { rows }),
            Err(broken) => Ok(AuditVerdict::Broken(broken)),
        }
    }
}
