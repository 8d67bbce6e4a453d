//! An index on `gifts.journal_entry_id`: `boai ledger check` walks the
//! ledger a page at a time and fetches the gifts of that page's journal
//! entries by it (without it, every page would scan all gifts).

use super::common::index;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0010_gift_journal_index"
    }
}

#[derive(DeriveIden)]
enum Gifts {
    Table,
    JournalEntryId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        index(manager, "gifts_journal_entry", Gifts::Table, [Gifts::JournalEntryId]).await
    }
}
