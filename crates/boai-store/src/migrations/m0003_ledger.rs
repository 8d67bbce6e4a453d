//! The public ledger: entries (canonical JSON bytes) by log index, the
//! Merkle tree's stored nodes, signed checkpoints, the `ledger` sequence that
//! hands out log indexes, and each gift's commitment salt.

use super::common::{create_table, timestamp, unique_index};
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0003_ledger"
    }
}

#[derive(DeriveIden)]
enum LedgerEntries {
    Table,
    Idx,
    JournalId,
    Body,
}

#[derive(DeriveIden)]
enum LedgerNodes {
    Table,
    Level,
    Idx,
    Hash,
}

#[derive(DeriveIden)]
enum LedgerCheckpoints {
    Table,
    Size,
    Root,
    Note,
    SignedAt,
}

#[derive(DeriveIden)]
enum Gifts {
    Table,
    CommitmentSalt,
}

#[derive(DeriveIden)]
enum JournalEntries {
    Table,
    LedgerIndex,
}

#[derive(DeriveIden)]
enum Sequences {
    Table,
    Name,
    Value,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_table(
            manager,
            Table::create()
                .table(LedgerEntries::Table)
                .col(
                    ColumnDef::new(LedgerEntries::Idx)
                        .big_integer()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(LedgerEntries::JournalId).uuid().not_null().unique_key())
                .col(ColumnDef::new(LedgerEntries::Body).binary().not_null()),
        )
        .await?;
        create_table(
            manager,
            Table::create()
                .table(LedgerNodes::Table)
                .col(ColumnDef::new(LedgerNodes::Level).small_integer().not_null())
                .col(ColumnDef::new(LedgerNodes::Idx).big_integer().not_null())
                .col(ColumnDef::new(LedgerNodes::Hash).binary().not_null())
                .primary_key(Index::create().col(LedgerNodes::Level).col(LedgerNodes::Idx)),
        )
        .await?;
        create_table(
            manager,
            Table::create()
                .table(LedgerCheckpoints::Table)
                .col(
                    ColumnDef::new(LedgerCheckpoints::Size)
                        .big_integer()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(LedgerCheckpoints::Root).binary().not_null())
                .col(ColumnDef::new(LedgerCheckpoints::Note).text().not_null())
                .col(timestamp(LedgerCheckpoints::SignedAt)),
        )
        .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Gifts::Table)
                    .add_column(ColumnDef::new(Gifts::CommitmentSalt).string_len(64).null())
                    .to_owned(),
            )
            .await?;
        unique_index(
            manager,
            "journal_entries_ledger_index",
            JournalEntries::Table,
            [JournalEntries::LedgerIndex],
        )
        .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(Sequences::Table)
                    .columns([Sequences::Name, Sequences::Value])
                    .values_panic(["ledger".into(), 0i64.into()])
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
