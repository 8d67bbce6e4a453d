//! Named number sequences (certificate, journal, ledger, relief case, …):
//! one row per name in `sequences`, taken one at a time inside a
//! transaction ([`next_in_sequence`]), reserved a batch at a time by the
//! gift writer ([`reserve_in_sequences`]), or set outright by a seeding
//! writer that owns them ([`set_sequence`]).

use crate::entities::sequences;
use crate::{StoreError, StoreResult};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

/// Takes the next value of a named sequence inside the transaction.
pub(crate) async fn next_in_sequence<C: ConnectionTrait>(conn: &C, name: &str) -> StoreResult<i64> {
    sequences::Entity::update_many()
        .col_expr(sequences::Column::Value, Expr::col(sequences::Column::Value).add(1))
        .filter(sequences::Column::Name.eq(name))
        .exec_with_returning(conn)
        .await?
        .pop()
        .map(|s| s.value)
        .ok_or_else(|| StoreError::Corrupt(format!("sequence {name} missing")))
}

/// Takes `n` numbers of each named sequence at once, in one statement;
/// answers the first number taken of each, in the order of `names`.
pub(crate) async fn reserve_in_sequences<C: ConnectionTrait, const K: usize>(
    conn: &C,
    names: [&str; K],
    n: usize,
) -> StoreResult<[i64; K]> {
    // An `i32` like `next_in_sequence`'s `1`: the statement text is the same,
    // and PostgreSQL keeps the parameter type of the first one prepared.
    let n = i32::try_from(n).map_err(|_| StoreError::Corrupt("batch too large".into()))?;
    let taken = sequences::Entity::update_many()
        .col_expr(sequences::Column::Value, Expr::col(sequences::Column::Value).add(n))
        .filter(sequences::Column::Name.is_in(names))
        .exec_with_returning(conn)
        .await?;
    let mut first = [0; K];
    for (slot, name) in first.iter_mut().zip(names) {
        let last = taken
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.value)
            .ok_or_else(|| StoreError::Corrupt(format!("sequence {name} missing")))?;
        *slot = last - i64::from(n) + 1;
    }
    Ok(first)
}

/// Sets a sequence's last number taken (a seeding writer owns it).
pub(crate) fn set_sequence(backend: sea_orm::DbBackend, name: &str, last: i64) -> sea_orm::Statement {
    use sea_orm::QueryTrait;
    sequences::Entity::update_many()
        .col_expr(sequences::Column::Value, Expr::value(last))
        .filter(sequences::Column::Name.eq(name))
        .build(backend)
}
