//! The database half of `boai backup` / `boai restore`, in a backend-neutral
//! form: every table as JSON lines of its typed rows (the SeaORM models), so
//! a SQLite backup restores into PostgreSQL and the other way round.
//!
//! Rules:
//! - [`TABLES`] lists every table in creation order, which is foreign-key safe
//!   (a table only references tables made before it); `orgs` rows go parents
//!   first. A table in the database that the list does not know is an error:
//!   a backup never silently leaves data out.
//! - Export reads every table inside ONE read transaction (PostgreSQL
//!   `REPEATABLE READ, READ ONLY`; SQLite a read transaction on a reader,
//!   which in WAL mode sees one snapshot), so the copy is consistent while the
//!   server keeps writing.
//! - Import is ONE write transaction: migration seed rows are cleared, every
//!   file is inserted in table order, the counts are checked against what the
//!   caller expects, and one audit row records the restore. Anything wrong
//!   rolls everything back.
//! - Import only runs on an empty database ([`Store::is_empty_for_restore`]:
//!   no tables, or migrated and never written — no organisation, no audit row).
//! - No PostgreSQL sequence needs resetting: every key is a UUID or a natural
//!   key, and the application's own counters (`sequences`: certificate,
//!   journal, ledger) are rows, restored like any other.

use crate::entities;
use crate::{Store, StoreError, StoreResult};
use futures_util::TryStreamExt;
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, IsolationLevel, Iterable,
    PaginatorTrait, PrimaryKeyToColumn, QueryOrder, Statement, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use std::io::{BufRead, Write};
use std::path::Path;

/// Rows inserted per statement on import.
const BATCH: usize = 200;

/// How many rows one table holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TableRows {
    pub table: String,
    pub rows: u64,
}

macro_rules! tables {
    ($($name:ident),* $(,)?) => {
        /// Every table, in creation (foreign-key safe) order.
        pub const TABLES: &[&str] = &[$(stringify!($name)),*];

        async fn dump_table(
            txn: &DatabaseTransaction,
            table: &str,
            out: &mut (dyn Write + Send),
        ) -> StoreResult<u64> {
            match table {
                $(stringify!($name) => dump::<entities::$name::Entity>(txn, order_of(table), out).await,)*
                other => Err(StoreError::Corrupt(format!("unknown table {other}"))),
            }
        }

        async fn load_table(
            txn: &DatabaseTransaction,
            table: &str,
            input: &mut (dyn BufRead + Send),
            progress: &mut (dyn FnMut(u64) + Send),
        ) -> StoreResult<u64> {
            match table {
                $(stringify!($name) => load::<entities::$name::Entity>(txn, table, input, progress).await,)*
                other => Err(StoreError::Corrupt(format!("unknown table {other}"))),
            }
        }

        async fn clear_table(txn: &DatabaseTransaction, table: &str) -> StoreResult<()> {
            match table {
                $(stringify!($name) => {
                    entities::$name::Entity::delete_many().exec(txn).await?;
                    Ok(())
                })*
                other => Err(StoreError::Corrupt(format!("unknown table {other}"))),
            }
        }
    };
}

tables!(
    orgs,
    users,
    sessions,
    api_tokens,
    audit_log,
    audit_head,
    idempotency_keys,
    app_meta,
    projects,
    accounts,
    journal_entries,
    journal_lines,
    donors,
    gifts,
    sequences,
    ledger_entries,
    ledger_nodes,
    ledger_checkpoints,
    disclosures,
    org_units,
    org_moves,
    wuyou_items,
    wuyou_assessments,
    member_types,
    dues_rates,
    members,
    dues_payments,
    member_reminders,
    council_members,
    council_meetings,
    relief_programmes,
    relief_cases,
    relief_reviews,
    relief_attachments,
    relief_notifications,
    payment_orders,
    payment_notifications,
    payment_rejections,
    payment_refunds,
    bank_statement_lines,
    bank_layouts,
    donor_visits,
    recognition_levels,
    privacy_requests,
    consents,
    throttles,
);

/// Rows of a table whose foreign keys point into the same table come parents first.
fn order_of(table: &str) -> Option<SimpleExpr> {
    (table == "orgs").then(|| Expr::cust("LENGTH(path)"))
}

async fn dump<E>(txn: &DatabaseTransaction, order: Option<SimpleExpr>, out: &mut (dyn Write + Send)) -> StoreResult<u64>
where
    E: EntityTrait,
    E::Model: serde::Serialize + Send + Sync,
{
    let mut query = E::find();
    if let Some(order) = order {
        query = query.order_by_asc(order);
    }
    for key in E::PrimaryKey::iter() {
        query = query.order_by_asc(key.into_column());
    }
    let mut rows = std::pin::pin!(query.stream(txn).await?);
    let mut n = 0u64;
    while let Some(row) = rows.try_next().await? {
        serde_json::to_writer(&mut *out, &row).map_err(|e| StoreError::Corrupt(format!("cannot encode a row: {e}")))?;
        out.write_all(b"\n").map_err(io_error)?;
        n += 1;
    }
    Ok(n)
}

async fn load<E>(
    txn: &DatabaseTransaction,
    table: &str,
    input: &mut (dyn BufRead + Send),
    progress: &mut (dyn FnMut(u64) + Send),
) -> StoreResult<u64>
where
    E: EntityTrait,
    E::Model: serde::de::DeserializeOwned + IntoActiveModel<E::ActiveModel> + Send,
{
    let mut n = 0u64;
    let mut batch: Vec<E::ActiveModel> = Vec::with_capacity(BATCH);
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line).map_err(io_error)? == 0 {
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        let model: E::Model = serde_json::from_str(&line)
            .map_err(|e| StoreError::Corrupt(format!("{table}: row {} cannot be read: {e}", n + 1)))?;
        batch.push(model.into_active_model());
        n += 1;
        if batch.len() == BATCH {
            E::insert_many(std::mem::take(&mut batch))
                .exec_without_returning(txn)
                .await?;
            progress(n);
        }
    }
    if !batch.is_empty() {
        E::insert_many(batch).exec_without_returning(txn).await?;
        progress(n);
    }
    Ok(n)
}

fn io_error(e: std::io::Error) -> StoreError {
    StoreError::Corrupt(format!("backup file: {e}"))
}

impl Store {
    /// The newest migration applied to this database (`None` before any).
    pub async fn schema_version(&self) -> StoreResult<Option<String>> {
        if !self.raw_has_migrations_table().await? {
            return Ok(None);
        }
        let applied = crate::migrations::Migrator::get_applied_migrations(&self.read).await?;
        Ok(applied.last().map(|m| m.name().to_owned()))
    }

    /// The newest migration this build knows.
    pub fn latest_schema_version() -> String {
        crate::migrations::Migrator::migrations()
            .last()
            .map(|m| m.name().to_owned())
            .unwrap_or_default()
    }

    /// The names of the tables in the database (without the migrations' own).
    async fn table_names(&self) -> StoreResult<Vec<String>> {
        let backend = self.read.get_database_backend();
        let sql = match backend {
            sea_orm::DatabaseBackend::Postgres => {
                "SELECT CAST(table_name AS TEXT) AS name FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            }
            _ => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
        };
        let rows = self.read.query_all(Statement::from_string(backend, sql)).await?;
        let mut names = Vec::with_capacity(rows.len());
        for row in rows {
            let name: String = row.try_get("", "name")?;
            if name != "seaql_migrations" {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    async fn raw_has_migrations_table(&self) -> StoreResult<bool> {
        let backend = self.read.get_database_backend();
        let sql = match backend {
            sea_orm::DatabaseBackend::Postgres => {
                "SELECT COUNT(*) AS n FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = 'seaql_migrations'"
            }
            _ => "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'seaql_migrations'",
        };
        let row = self.read.query_one(Statement::from_string(backend, sql)).await?;
        let n: i64 = row.map(|r| r.try_get("", "n")).transpose()?.unwrap_or_default();
        Ok(n > 0)
    }

    /// Whether a restore may write here: no tables at all, or migrated but
    /// never written (no organisation and no audit row).
    pub async fn is_empty_for_restore(&self) -> StoreResult<bool> {
        let tables = self.table_names().await?;
        if tables.is_empty() {
            return Ok(true);
        }
        if !tables.iter().any(|t| t == "orgs") || !tables.iter().any(|t| t == "audit_log") {
            // Tables, but not ours: someone else's database.
            return Ok(false);
        }
        let orgs = entities::orgs::Entity::find().count(&self.read).await?;
        let audit = entities::audit_log::Entity::find().count(&self.read).await?;
        Ok(orgs == 0 && audit == 0)
    }

    /// Writes every table into `dir/<table>.jsonl`, all read in one
    /// transaction (a consistent snapshot). `progress` hears each table done.
    pub async fn export_tables(
        &self,
        dir: &Path,
        progress: &mut (dyn FnMut(&str, u64) + Send),
    ) -> StoreResult<Vec<TableRows>> {
        let unknown: Vec<String> = self
            .table_names()
            .await?
            .into_iter()
            .filter(|t| !TABLES.contains(&t.as_str()))
            .collect();
        if !unknown.is_empty() {
            return Err(StoreError::Corrupt(format!(
                "the backup does not know the table(s) {}; refusing an incomplete copy",
                unknown.join(", ")
            )));
        }
        let txn = match self.backend() {
            crate::Backend::Postgres => {
                self.read
                    .begin_with_config(Some(IsolationLevel::RepeatableRead), Some(AccessMode::ReadOnly))
                    .await?
            }
            crate::Backend::Sqlite => self.read.begin().await?,
        };
        let mut counts = Vec::with_capacity(TABLES.len());
        for table in TABLES {
            let path = dir.join(format!("{table}.jsonl"));
            let file = std::fs::File::create(&path).map_err(io_error)?;
            let mut out = std::io::BufWriter::new(file);
            let rows = dump_table(&txn, table, &mut out).await?;
            let file = out.into_inner().map_err(|e| io_error(e.into_error()))?;
            file.sync_all().map_err(io_error)?;
            progress(table, rows);
            counts.push(TableRows {
                table: (*table).to_owned(),
                rows,
            });
        }
        txn.commit().await?;
        Ok(counts)
    }

    /// Loads `dir/<table>.jsonl` for every table in ONE transaction, after
    /// clearing the rows migrations seeded; fails (and writes nothing) unless
    /// each table's count equals `expected`. Records the restore in the
    /// audit trail, after the restored rows (the chain goes on).
    pub async fn import_tables(
        &self,
        dir: &Path,
        expected: &[TableRows],
        origin: &str,
        progress: &mut (dyn FnMut(&str, u64) + Send),
    ) -> StoreResult<Vec<TableRows>> {
        if !self.is_empty_for_restore().await? {
            return Err(StoreError::Conflict("the database is not empty".to_owned()));
        }
        let txn = self.begin_write().await?;
        for table in TABLES.iter().rev() {
            clear_table(&txn, table).await?;
        }
        let mut counts = Vec::with_capacity(TABLES.len());
        for table in TABLES {
            let path = dir.join(format!("{table}.jsonl"));
            let file = std::fs::File::open(&path).map_err(io_error)?;
            let mut input = std::io::BufReader::new(file);
            let rows = load_table(&txn, table, &mut input, &mut |n| progress(table, n)).await?;
            let want = expected.iter().find(|t| t.table == *table).map(|t| t.rows);
            if want != Some(rows) {
                return Err(StoreError::Corrupt(format!(
                    "{table}: {rows} rows in the file, the manifest says {want:?}"
                )));
            }
            counts.push(TableRows {
                table: (*table).to_owned(),
                rows,
            });
        }
        let city = entities::orgs::Entity::find()
            .order_by_asc(Expr::cust("LENGTH(path)"))
            .one(&txn)
            .await?;
        if let Some(city) = city {
            let org_id = boai_domain::ids::OrgId(city.id);
            let actor = crate::Actor {
                user_id: None,
                username: "system".to_owned(),
                role: boai_domain::accounts::Role::Admin,
                org_id,
                scope: boai_domain::scope::Scope {
                    org_id,
                    path: city.path.clone(),
                },
                ip: None,
            };
            crate::audit::append(
                &txn,
                &actor,
                self.now(),
                crate::audit::AuditChange {
                    action: boai_domain::audit::AuditAction::Create,
                    entity: "restore",
                    entity_id: origin.to_owned(),
                    org_id,
                    before: None,
                    after: Some(serde_json::json!({ "tables": counts.len(),
                        "rows": counts.iter().map(|t| t.rows).sum::<u64>() })),
                },
            )
            .await?;
        }
        txn.commit().await?;
        Ok(counts)
    }
}
