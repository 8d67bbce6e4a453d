//! On SQLite, `ledger_nodes` becomes a `WITHOUT ROWID` table: its rows are
//! stored in `(level, idx)` order in the primary key's own B-tree, so a hash
//! tile (256 consecutive nodes of one level) is one contiguous range read
//! instead of 256 look-ups from the key index into the table, and each new
//! node is one B-tree insert instead of two. PostgreSQL keeps its table and
//! primary-key index as they are.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0011_ledger_nodes_clustered"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() != DatabaseBackend::Sqlite {
            return Ok(());
        }
        for statement in [
            r#"CREATE TABLE "ledger_nodes_clustered" ("level" smallint NOT NULL, "idx" bigint NOT NULL, "hash" blob NOT NULL, PRIMARY KEY ("level", "idx")) WITHOUT ROWID"#,
            r#"INSERT INTO "ledger_nodes_clustered" ("level", "idx", "hash") SELECT "level", "idx", "hash" FROM "ledger_nodes" ORDER BY "level", "idx""#,
            r#"DROP TABLE "ledger_nodes""#,
            r#"ALTER TABLE "ledger_nodes_clustered" RENAME TO "ledger_nodes""#,
        ] {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }
}
