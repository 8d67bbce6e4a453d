//! Builders the migrations share (tables' timestamps, foreign keys,
//! indexes). Each builds exactly the statement the migrations once spelled
//! out in full, so a fresh database's schema is the same: compare `.schema`
//! (SQLite) and `pg_dump -s` (PostgreSQL) of a freshly migrated database
//! before and after any change here.

use sea_orm_migration::prelude::*;

/// A `TIMESTAMP WITH TIME ZONE NOT NULL` column.
pub(super) fn timestamp(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().not_null().to_owned()
}

/// A foreign key from `table`'s `col` to `to`'s `to_col`.
pub(super) fn fk(
    table: impl IntoIden + 'static,
    col: impl IntoIden,
    to: impl IntoIden + 'static,
    to_col: impl IntoIden,
) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(table, col).to(to, to_col).to_owned()
}

/// Creates the index `name` on `table`'s `cols`, in that order.
pub(super) async fn index<C: IntoIndexColumn>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden + 'static,
    cols: impl IntoIterator<Item = C>,
) -> Result<(), DbErr> {
    manager.create_index(index_statement(name, table, cols)).await
}

/// Creates the unique index `name` on `table`'s `cols`, in that order.
pub(super) async fn unique_index<C: IntoIndexColumn>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden + 'static,
    cols: impl IntoIterator<Item = C>,
) -> Result<(), DbErr> {
    manager
        .create_index(index_statement(name, table, cols).unique().to_owned())
        .await
}

fn index_statement<C: IntoIndexColumn>(
    name: &str,
    table: impl IntoIden + 'static,
    cols: impl IntoIterator<Item = C>,
) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for col in cols {
        stmt.col(col);
    }
    stmt.to_owned()
}

/// Creates `table`.
pub(super) async fn create_table(manager: &SchemaManager<'_>, table: &mut TableCreateStatement) -> Result<(), DbErr> {
    manager.create_table(table.to_owned()).await
}
