//! Multi-row inserts: every bulk write (gifts, audit rows, keys, imports)
//! goes through [`insert_chunked`] / [`insert_statements`], which write
//! SeaQuery's `insert_many` statements without its builder and in chunks
//! that stay under both backends' parameter limits.

use crate::StoreResult;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait};
use std::collections::HashMap;

/// Bound parameters per multi-row insert: under SQLite's 32,766 and
/// PostgreSQL's 65,535.
const PARAMS_PER_INSERT: usize = 30_000;

/// Up to this many rows go in one insert of exactly their number; more are
/// split in chunks of a power of two.
pub(crate) const EXACT_INSERT_ROWS: usize = 64;

/// Inserts rows in chunks that stay under the parameter limit (see
/// [`insert_statements`]).
pub(crate) async fn insert_chunked<C, A>(conn: &C, rows: Vec<A>) -> StoreResult<()>
where
    C: ConnectionTrait,
    A: sea_orm::ActiveModelTrait,
    <A::Entity as EntityTrait>::Model: sea_orm::IntoActiveModel<A>,
{
    for statement in insert_statements(conn.get_database_backend(), rows) {
        conn.execute(statement).await?;
    }
    Ok(())
}

/// Multi-row inserts of `rows` that stay under the parameter limit: up to
/// [`EXACT_INSERT_ROWS`] in one statement (a group-commit batch is one
/// insert per table), beyond that chunks of a power of two, so that the
/// connection's statement cache (one prepared statement per distinct text)
/// holds a bounded number of sizes.
///
/// The statements are those SeaQuery builds (`insert_many`: the columns
/// any row sets, a typed NULL where a row leaves one unset), written
/// without it: each value is moved out of its row once (SeaQuery clones
/// every value twice on the way) and the text for a table, its columns and
/// a number of rows is written once and kept ([`insert_text`]). A column
/// that saves through an expression, and a backend other than SQLite and
/// PostgreSQL, go through SeaQuery.
pub(crate) fn insert_statements<A>(backend: sea_orm::DbBackend, rows: Vec<A>) -> Vec<sea_orm::Statement>
where
    A: sea_orm::ActiveModelTrait,
    <A::Entity as EntityTrait>::Model: sea_orm::IntoActiveModel<A>,
{
    use sea_orm::sea_query::SimpleExpr;
    use sea_orm::{ActiveValue, IdenStatic, Iterable};
    let all: Vec<<A::Entity as EntityTrait>::Column> = <A::Entity as EntityTrait>::Column::iter().collect();
    let plain = all
        .iter()
        .all(|c| matches!(c.save_as(Expr::val(sea_orm::Value::Int(None))), SimpleExpr::Value(_)));
    if rows.is_empty() || !plain || !matches!(backend, sea_orm::DbBackend::Sqlite | sea_orm::DbBackend::Postgres) {
        let columns = all.len();
        return insert_statements_built(backend, rows, columns);
    }
    let n = rows.len();
    let mut taken: Vec<Option<sea_orm::Value>> = Vec::with_capacity(n * all.len());
    let mut nulls: Vec<Option<sea_orm::Value>> = vec![None; all.len()];
    for mut row in rows {
        for (i, c) in all.iter().enumerate() {
            match row.take(*c) {
                ActiveValue::Set(v) | ActiveValue::Unchanged(v) => {
                    if nulls[i].is_none() {
                        nulls[i] = Some(v.as_null());
                    }
                    taken.push(Some(v));
                }
                ActiveValue::NotSet => taken.push(None),
            }
        }
    }
    let used: Vec<usize> = (0..all.len()).filter(|i| nulls[*i].is_some()).collect();
    let names: Vec<String> = used.iter().map(|i| all[*i].as_str().to_owned()).collect();
    let table = <A::Entity as Default>::default();
    let table = sea_orm::EntityName::table_name(&table);
    let mut values = taken.into_iter();
    insert_chunks(n, used.len())
        .into_iter()
        .map(|take| {
            let mut bound = Vec::with_capacity(take * used.len());
            for _ in 0..take {
                let mut next = 0;
                for (i, value) in values.by_ref().take(all.len()).enumerate() {
                    if used.get(next) == Some(&i) {
                        next += 1;
                        bound.push(value.or_else(|| nulls[i].clone()).unwrap_or(sea_orm::Value::Int(None)));
                    }
                }
            }
            let sql = insert_text(backend, table, &names, take);
            sea_orm::Statement::from_sql_and_values(backend, sql.as_str(), bound)
        })
        .collect()
}

/// How many rows each insert of `rows` rows of `columns` columns takes (see
/// [`insert_statements`]).
fn insert_chunks(rows: usize, columns: usize) -> Vec<usize> {
    let limit = (PARAMS_PER_INSERT / columns.max(1)).max(1);
    let per = 1usize << (usize::BITS - 1 - limit.leading_zeros());
    let mut left = rows;
    let mut out = Vec::new();
    while left > 0 {
        let take = if left <= EXACT_INSERT_ROWS.min(limit) {
            left
        } else if left >= per {
            per
        } else {
            1usize << (usize::BITS - 1 - left.leading_zeros())
        };
        out.push(take);
        left -= take;
    }
    out
}

/// [`insert_statements`] through SeaQuery's builder (and the oracle its
/// tests hold the direct statements to).
fn insert_statements_built<A>(backend: sea_orm::DbBackend, rows: Vec<A>, columns: usize) -> Vec<sea_orm::Statement>
where
    A: sea_orm::ActiveModelTrait,
    <A::Entity as EntityTrait>::Model: sea_orm::IntoActiveModel<A>,
{
    use sea_orm::QueryTrait;
    let mut rows = rows.into_iter();
    insert_chunks(rows.len(), columns)
        .into_iter()
        .map(|take| {
            let chunk: Vec<A> = rows.by_ref().take(take).collect();
            <A::Entity as EntityTrait>::insert_many(chunk).build(backend)
        })
        .collect()
}

/// The text of an insert of `rows` rows into `table`'s `columns`, as
/// SeaQuery writes it; made once per backend, table, columns and number of
/// rows, then kept (a bounded set: see [`insert_statements`]).
fn insert_text(backend: sea_orm::DbBackend, table: &str, columns: &[String], rows: usize) -> std::sync::Arc<String> {
    use std::fmt::Write;
    use std::sync::{Arc, Mutex, OnceLock};
    type Key = (bool, String, Vec<String>, usize);
    static TEXTS: OnceLock<Mutex<HashMap<Key, Arc<String>>>> = OnceLock::new();
    let postgres = backend == sea_orm::DbBackend::Postgres;
    let key = (postgres, table.to_owned(), columns.to_vec(), rows);
    let texts = TEXTS.get_or_init(Default::default);
    if let Some(text) = texts.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return text.clone();
    }
    let mut sql = format!("INSERT INTO \"{table}\" (");
    for (i, c) in columns.iter().enumerate() {
        let _ = write!(sql, "{}\"{c}\"", if i == 0 { "" } else { ", " });
    }
    sql.push_str(") VALUES ");
    let mut n = 0;
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for i in 0..columns.len() {
            n += 1;
            if i > 0 {
                sql.push_str(", ");
            }
            if postgres {
                let _ = write!(sql, "${n}");
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
    let text = Arc::new(sql);
    texts
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, text.clone());
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::entities::{gifts, ledger_nodes};
    use chrono::{DateTime, Utc};
    use sea_orm::ActiveValue::NotSet;
    use sea_orm::ActiveValue::Set;

    fn gift_row(i: usize) -> gifts::ActiveModel {
        let at = DateTime::<Utc>::from_timestamp(1_790_000_000 + i as i64, 0).unwrap();
        gifts::ActiveModel {
            id: Set(uuid::Uuid::from_u128(i as u128 + 1)),
            certificate_no: Set(format!("JN-2026-{i:07}")),
            donor_id: Set(i.is_multiple_of(3).then(|| uuid::Uuid::from_u128(7))),
            project_id: Set(uuid::Uuid::from_u128(9)),
            org_id: Set(uuid::Uuid::from_u128(10)),
            channel: Set("bank".into()),
            amount_fen: Set(100 + i as i64),
            status: Set("confirmed".into()),
            refunded_fen: Set(0),
            goods_item: Set(i.is_multiple_of(5).then(|| "大米".to_owned())),
            goods_quantity: Set(i.is_multiple_of(5).then_some(3)),
            goods_unit: Set(None),
            goods_lot: Set(None),
            goods_expires_on: Set(i.is_multiple_of(7).then(|| at.date_naive())),
            received_on: Set(at.date_naive()),
            // Left unset in some rows: SeaQuery binds a typed NULL there.
            note: if i % 4 == 1 {
                NotSet
            } else {
                Set(Some(format!("备注 {i}")))
            },
            journal_entry_id: Set(uuid::Uuid::from_u128(i as u128 + 1_000_000)),
            ledger_index: Set(Some(i as i64)),
            commitment_salt: Set(Some("00ff".into())),
            created_by: Set("admin".into()),
            created_at: Set(at),
        }
    }

    fn node_row(i: usize) -> ledger_nodes::ActiveModel {
        ledger_nodes::ActiveModel {
            level: Set((i % 3) as i16),
            idx: Set(i as i64),
            hash: Set(vec![i as u8; 32]),
        }
    }

    /// The direct statements are, text and values, what SeaQuery builds —
    /// for every chunking (one row, a few, exactly the limit for one
    /// statement, just over it, several powers of two) on both backends.
    #[test]
    fn direct_inserts_are_the_statements_sea_query_builds() {
        for backend in [sea_orm::DbBackend::Sqlite, sea_orm::DbBackend::Postgres] {
            for n in [1, 3, EXACT_INSERT_ROWS, EXACT_INSERT_ROWS + 1, 1_500, 3_333] {
                let direct = insert_statements(backend, (0..n).map(gift_row).collect());
                let built = insert_statements_built(backend, (0..n).map(gift_row).collect(), 21);
                assert_eq!(direct, built, "{backend:?}, {n} gifts");
                let direct = insert_statements(backend, (0..n).map(node_row).collect());
                let built = insert_statements_built(backend, (0..n).map(node_row).collect(), 3);
                assert_eq!(direct, built, "{backend:?}, {n} nodes");
            }
            // The kept text serves a second call of the same size.
            let again = insert_statements(backend, (0..3).map(node_row).collect());
            assert_eq!(
                again,
                insert_statements_built(backend, (0..3).map(node_row).collect(), 3)
            );
            assert!(insert_statements::<gifts::ActiveModel>(backend, Vec::new()).is_empty());
        }
    }

    #[test]
    fn chunks_cover_every_row_and_stay_under_the_parameter_limit() {
        for columns in [3, 5, 13, 21] {
            for rows in [0, 1, 64, 65, 1_000, 4_097, 20_000] {
                let chunks = insert_chunks(rows, columns);
                assert_eq!(chunks.iter().sum::<usize>(), rows);
                assert!(chunks.iter().all(|c| c * columns <= PARAMS_PER_INSERT));
                assert!(chunks.iter().all(|c| *c <= EXACT_INSERT_ROWS || c.is_power_of_two()));
            }
        }
    }
}
