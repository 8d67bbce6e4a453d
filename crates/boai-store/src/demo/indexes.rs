//! Secondary indexes built after a bulk load instead of during it.
//!
//! Seeding writes millions of rows into a handful of tables, each with a few
//! non-unique indexes (by organisation, project, donor, account, entity).
//! Keeping them up to date row by row costs a B-tree insert per index and
//! row; building them once at the end sorts each key set once. Rules:
//! - only non-unique indexes are deferred: unique ones (and primary keys)
//!   are constraints the load must be checked against as it goes;
//! - the definitions are read from the database itself (`sqlite_master`,
//!   `pg_indexes`), so what is rebuilt is exactly what the migrations made;
//! - dropping them and recording their definitions in `app_meta` is one
//!   transaction, and so is rebuilding them and removing that record: a
//!   process killed in between leaves the record, and
//!   [`restore_deferred`] (run by every `Store::migrate`) rebuilds them, so
//!   no database is left without its indexes.

use crate::db::Backend;
use crate::entities::app_meta;
use crate::{Store, StoreError, StoreResult};
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, Statement};

/// The `app_meta` key that holds the definitions of deferred indexes.
const DEFERRED_KEY: &str = "deferred_indexes";

/// An index's name and the statement that creates it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IndexDefinition {
    pub name: String,
    pub create: String,
}

/// The non-unique secondary indexes of `tables`, as the database holds them.
pub async fn secondary_indexes(store: &Store, tables: &[&str]) -> StoreResult<Vec<IndexDefinition>> {
    read_secondary_indexes(&store.write, store.backend(), tables).await
}

async fn read_secondary_indexes<C: ConnectionTrait>(
    conn: &C,
    backend: Backend,
    tables: &[&str],
) -> StoreResult<Vec<IndexDefinition>> {
    let list = tables.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ");
    if !tables
        .iter()
        .all(|t| t.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
    {
        return Err(StoreError::Corrupt(format!("not a table name in {list}")));
    }
    let (db, sql) = match backend {
        Backend::Sqlite => (
            sea_orm::DbBackend::Sqlite,
            format!(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
                 AND tbl_name IN ({list}) ORDER BY name"
            ),
        ),
        Backend::Postgres => (
            sea_orm::DbBackend::Postgres,
            format!(
                "SELECT indexname AS name, indexdef AS sql FROM pg_indexes \
                 WHERE schemaname = current_schema() AND tablename IN ({list}) ORDER BY indexname"
            ),
        ),
    };
    let rows = conn.query_all(Statement::from_string(db, sql)).await?;
    let mut out = Vec::new();
    for row in rows {
        let name: String = row.try_get("", "name")?;
        let create: String = row.try_get("", "sql")?;
        // Unique indexes (PostgreSQL lists its primary keys' here too) stay.
        if create.trim_start().to_ascii_uppercase().starts_with("CREATE UNIQUE") {
            continue;
        }
        out.push(IndexDefinition { name, create });
    }
    Ok(out)
}

/// Drops the non-unique secondary indexes of `tables` and records their
/// definitions, in one transaction. Returns what it dropped.
pub async fn defer(store: &Store, tables: &[&str]) -> StoreResult<Vec<IndexDefinition>> {
    let txn = store.begin_write().await?;
    if app_meta::Entity::find_by_id(DEFERRED_KEY.to_owned())
        .one(&txn)
        .await?
        .is_some()
    {
        return Err(StoreError::Corrupt("indexes are already deferred".into()));
    }
    let indexes = read_secondary_indexes(&txn, store.backend(), tables).await?;
    for index in &indexes {
        txn.execute_unprepared(&format!("DROP INDEX \"{}\"", index.name))
            .await?;
    }
    app_meta::Entity::insert(app_meta::ActiveModel {
        key: Set(DEFERRED_KEY.to_owned()),
        value: Set(serde_json::to_string(&indexes).map_err(|e| StoreError::Corrupt(e.to_string()))?),
    })
    .exec_without_returning(&txn)
    .await?;
    txn.commit().await?;
    Ok(indexes)
}

/// Whether indexes are deferred (a seeding is under way, or stopped before
/// it rebuilt them).
pub async fn any_deferred(store: &Store) -> StoreResult<bool> {
    Ok(app_meta::Entity::find_by_id(DEFERRED_KEY.to_owned())
        .one(&store.write)
        .await?
        .is_some())
}

/// Rebuilds the indexes [`defer`] dropped, if any, and forgets them, in one
/// transaction. Returns how many it rebuilt.
pub async fn restore_deferred(store: &Store) -> StoreResult<usize> {
    // Read outside a transaction first: almost always there is nothing to do.
    if !any_deferred(store).await? {
        return Ok(0);
    }
    // SQLite's writer keeps temporary data in memory (`temp_store`, for
    // its statement journals); an index build's sort over millions of keys
    // spills to a temporary file instead.
    if store.backend() == Backend::Sqlite {
        store.write.execute_unprepared("PRAGMA temp_store = FILE").await?;
        store.write.execute_unprepared("PRAGMA threads = 2").await?;
    }
    let rebuilt = rebuild(store).await;
    if store.backend() == Backend::Sqlite {
        store.write.execute_unprepared("PRAGMA temp_store = MEMORY").await?;
        store.write.execute_unprepared("PRAGMA threads = 0").await?;
    }
    rebuilt
}

async fn rebuild(store: &Store) -> StoreResult<usize> {
    let txn = store.begin_write().await?;
    let Some(record) = app_meta::Entity::find_by_id(DEFERRED_KEY.to_owned()).one(&txn).await? else {
        return Ok(0);
    };
    let indexes: Vec<IndexDefinition> = serde_json::from_str(&record.value)
        .map_err(|e| StoreError::Corrupt(format!("deferred index definitions: {e}")))?;
    for index in &indexes {
        let started = std::time::Instant::now();
        txn.execute_unprepared(&index.create).await?;
        tracing::info!(index = %index.name, seconds = started.elapsed().as_secs_f64(), "index built");
    }
    app_meta::Entity::delete_by_id(DEFERRED_KEY.to_owned())
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(indexes.len())
}
