//! Re-encrypting personal data under the current data key (`boai secrets
//! rotate`), while the server keeps running.
//!
//! Rules: every encrypted column is listed in [`ENCRYPTED_COLUMNS`] (a new
//! one must be added here); rows are visited in batches in id order; a value
//! is rewritten only if it still holds what was read (`WHERE id = ? AND col =
//! old`), so a concurrent change is never overwritten (the next pass sees the
//! new value); a value no known key opens stops the rotation (nothing may be
//! lost by retiring its key). One audit row records each pass that changed
//! anything, with counts only.

use crate::audit::{append, AuditChange};
use crate::entities::orgs;
use crate::{Actor, Store, StoreError, StoreResult};
use boai_domain::accounts::Role;
use boai_domain::audit::AuditAction;
use boai_domain::ids::OrgId;
use boai_domain::scope::Scope;
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Value};
use uuid::Uuid;

/// Every column holding a value sealed by [`super::Secrets::encrypt`]: (table, column).
pub const ENCRYPTED_COLUMNS: [(&str, &str); 10] = [
    ("donors", "phone_enc"),
    ("donors", "id_card_enc"),
    ("members", "id_card_enc"),
    ("members", "phone_enc"),
    ("relief_cases", "id_enc"),
    ("relief_cases", "phone_enc"),
    ("relief_cases", "bank_account_enc"),
    ("relief_notifications", "recipient_enc"),
    ("payment_orders", "donor_phone_enc"),
    ("payment_orders", "donor_id_card_enc"),
];

/// Rows per batch (each batch is one short write transaction).
pub const BATCH: u64 = 200;

/// What one pass over one column found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnPass {
    pub table: &'static str,
    pub column: &'static str,
    /// Values seen.
    pub values: u64,
    /// Values rewritten under the current key.
    pub rewritten: u64,
    /// Values that changed between reading and rewriting (left for the next pass).
    pub raced: u64,
}

/// How many values each key id seals, per column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyCensus {
    /// (table, column, key id, count)
    pub counts: Vec<(&'static str, &'static str, u32, u64)>,
}

impl KeyCensus {
    /// How many values are sealed with a key other than `current`.
    pub fn not_under(&self, current: u32) -> u64 {
        self.counts.iter().filter(|c| c.2 != current).map(|c| c.3).sum()
    }
}

async fn read_batch(
    store: &Store,
    table: &'static str,
    column: &'static str,
    after: Option<Uuid>,
) -> StoreResult<Vec<(Uuid, String)>> {
    let mut q = Query::select();
    q.column(Alias::new("id"))
        .column(Alias::new(column))
        .from(Alias::new(table))
        .and_where(Expr::col(Alias::new(column)).is_not_null())
        .order_by(Alias::new("id"), sea_orm::Order::Asc)
        .limit(BATCH);
    if let Some(after) = after {
        q.and_where(Expr::col(Alias::new("id")).gt(after));
    }
    let backend = store.read.get_database_backend();
    let rows = store.read.query_all(backend.build(&q)).await?;
    rows.into_iter()
        .map(|r| Ok((r.try_get::<Uuid>("", "id")?, r.try_get::<String>("", column)?)))
        .collect()
}

impl Store {
    /// Counts the values of every encrypted column by the key that seals them
    /// (a value whose key id cannot be read counts under key 0).
    pub async fn key_census(&self) -> StoreResult<KeyCensus> {
        let mut census = KeyCensus::default();
        for (table, column) in ENCRYPTED_COLUMNS {
            let mut by_key = std::collections::BTreeMap::<u32, u64>::new();
            let mut after = None;
            loop {
                let batch = read_batch(self, table, column, after).await?;
                let Some(last) = batch.last() else { break };
                after = Some(last.0);
                for (_, sealed) in &batch {
                    let id = super::sealed_key_id(sealed).map(|(id, _)| id).unwrap_or(0);
                    *by_key.entry(id).or_default() += 1;
                }
            }
            census
                .counts
                .extend(by_key.into_iter().map(|(k, n)| (table, column, k, n)));
        }
        Ok(census)
    }

    /// One pass over every encrypted column: each value not sealed with the
    /// current key is opened and sealed again with it. `progress` hears
    /// (table, column, values seen so far) after every batch.
    pub async fn reencrypt_pass(&self, mut progress: impl FnMut(&str, &str, u64)) -> StoreResult<Vec<ColumnPass>> {
        let secrets = self.secrets.clone();
        let mut passes = Vec::new();
        for (table, column) in ENCRYPTED_COLUMNS {
            let mut pass = ColumnPass {
                table,
                column,
                ..ColumnPass::default()
            };
            let mut after = None;
            loop {
                let batch = read_batch(self, table, column, after).await?;
                let Some(last) = batch.last() else { break };
                after = Some(last.0);
                pass.values += batch.len() as u64;
                let stale: Vec<&(Uuid, String)> = batch.iter().filter(|(_, v)| !secrets.is_current(v)).collect();
                if !stale.is_empty() {
                    let mut rewritten = Vec::with_capacity(stale.len());
                    for (id, old) in stale {
                        let plain = secrets.decrypt(old).ok_or_else(|| {
                            StoreError::Corrupt(format!(
                                "{table}.{column} of row {id} opens with no known key; rotation stopped"
                            ))
                        })?;
                        rewritten.push((*id, old.clone(), secrets.encrypt(&plain)));
                    }
                    let txn = self.begin_write().await?;
                    let backend = txn.get_database_backend();
                    for (id, old, new) in rewritten {
                        let q = Query::update()
                            .table(Alias::new(table))
                            .value(Alias::new(column), Value::from(new))
                            .and_where(Expr::col(Alias::new("id")).eq(id))
                            .and_where(Expr::col(Alias::new(column)).eq(old))
                            .to_owned();
                        let done = txn.execute(backend.build(&q)).await?.rows_affected();
                        if done == 1 {
                            pass.rewritten += 1;
                        } else {
                            pass.raced += 1;
                        }
                    }
                    txn.commit().await?;
                }
                progress(table, column, pass.values);
            }
            passes.push(pass);
        }
        let total: u64 = passes.iter().map(|p| p.rewritten).sum();
        if total > 0 {
            self.audit_rotation(&passes).await?;
        }
        Ok(passes)
    }

    /// One audit row for a pass that rewrote values: counts per column and the key id.
    async fn audit_rotation(&self, passes: &[ColumnPass]) -> StoreResult<()> {
        let root = orgs::Entity::find()
            .filter(orgs::Column::ParentId.is_null())
            .one(&self.read)
            .await?
            .ok_or_else(|| StoreError::Corrupt("no root organisation".to_owned()))?;
        let city = OrgId(root.id);
        let actor = Actor {
            user_id: None,
            username: "system".to_owned(),
            role: Role::Admin,
            org_id: city,
            scope: Scope {
                org_id: city,
                path: root.path.clone(),
            },
            ip: None,
        };
        let counts: serde_json::Map<String, serde_json::Value> = passes
            .iter()
            .filter(|p| p.rewritten > 0)
            .map(|p| (format!("{}.{}", p.table, p.column), p.rewritten.into()))
            .collect();
        let txn = self.begin_write().await?;
        append(
            &txn,
            &actor,
            self.now(),
            AuditChange {
                action: AuditAction::Update,
                entity: "data_key",
                entity_id: self.secrets.current_key_id().to_string(),
                org_id: city,
                before: None,
                after: Some(serde_json::json!({ "reencrypted": counts })),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }
}
