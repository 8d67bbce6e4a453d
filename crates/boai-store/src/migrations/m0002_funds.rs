//! Gifts and funds: projects (funds) with running totals, accounts with
//! running balances, the journal, donors with encrypted identity numbers,
//! gifts, and named sequences.

use super::common::{create_table, fk, index, timestamp, unique_index};
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0002_funds"
    }
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
    Code,
    Name,
    Kind,
    Designated,
    Status,
    TargetFen,
    StartsOn,
    EndsOn,
    OrgId,
    ManagementRateBp,
    RaisedFen,
    AllocatedFen,
    SpentFen,
    RefundedFen,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    FundId,
    Kind,
    BalanceFen,
}

#[derive(DeriveIden)]
enum JournalEntries {
    Table,
    Id,
    Seq,
    At,
    Kind,
    ProjectId,
    AmountFen,
    ReversesId,
    GiftId,
    Counterparty,
    Memo,
    DecisionRef,
    OrgId,
    CreatedBy,
    LedgerIndex,
}

#[derive(DeriveIden)]
enum JournalLines {
    Table,
    EntryId,
    LineNo,
    AccountId,
    DebitFen,
    CreditFen,
}

#[derive(DeriveIden)]
enum Donors {
    Table,
    Id,
    Kind,
    Name,
    PhoneEnc,
    PhoneHash,
    PhoneMasked,
    IdCardEnc,
    IdCardHash,
    IdCardMasked,
    CreditCode,
    Public,
    MergedInto,
    OrgId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Gifts {
    Table,
    Id,
    CertificateNo,
    DonorId,
    ProjectId,
    OrgId,
    Channel,
    AmountFen,
    Status,
    RefundedFen,
    GoodsItem,
    GoodsQuantity,
    GoodsUnit,
    GoodsLot,
    GoodsExpiresOn,
    ReceivedOn,
    Note,
    JournalEntryId,
    LedgerIndex,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Sequences {
    Table,
    Name,
    Value,
}

#[derive(DeriveIden)]
enum Orgs {
    Table,
    Id,
}

fn money(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).big_integer().not_null().default(0).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_table(
            manager,
            Table::create()
                .table(Projects::Table)
                .col(ColumnDef::new(Projects::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(Projects::Code).string_len(32).not_null().unique_key())
                .col(ColumnDef::new(Projects::Name).string_len(200).not_null())
                .col(ColumnDef::new(Projects::Kind).string_len(32).not_null())
                .col(ColumnDef::new(Projects::Designated).boolean().not_null())
                .col(ColumnDef::new(Projects::Status).string_len(16).not_null())
                .col(ColumnDef::new(Projects::TargetFen).big_integer().null())
                .col(ColumnDef::new(Projects::StartsOn).date().null())
                .col(ColumnDef::new(Projects::EndsOn).date().null())
                .col(ColumnDef::new(Projects::OrgId).uuid().not_null())
                .col(
                    ColumnDef::new(Projects::ManagementRateBp)
                        .integer()
                        .not_null()
                        .default(0),
                )
                .col(money(Projects::RaisedFen))
                .col(money(Projects::AllocatedFen))
                .col(money(Projects::SpentFen))
                .col(money(Projects::RefundedFen))
                .col(timestamp(Projects::CreatedAt))
                .col(timestamp(Projects::UpdatedAt))
                .foreign_key(&mut fk(Projects::Table, Projects::OrgId, Orgs::Table, Orgs::Id)),
        )
        .await?;
        index(manager, "projects_org", Projects::Table, [Projects::OrgId]).await?;

        create_table(
            manager,
            Table::create()
                .table(Accounts::Table)
                .col(ColumnDef::new(Accounts::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(Accounts::FundId).uuid().not_null())
                .col(ColumnDef::new(Accounts::Kind).string_len(16).not_null())
                .col(money(Accounts::BalanceFen))
                .foreign_key(&mut fk(
                    Accounts::Table,
                    Accounts::FundId,
                    Projects::Table,
                    Projects::Id,
                )),
        )
        .await?;
        unique_index(
            manager,
            "accounts_fund_kind",
            Accounts::Table,
            [Accounts::FundId, Accounts::Kind],
        )
        .await?;

        create_table(
            manager,
            Table::create()
                .table(JournalEntries::Table)
                .col(ColumnDef::new(JournalEntries::Id).uuid().not_null().primary_key())
                .col(
                    ColumnDef::new(JournalEntries::Seq)
                        .big_integer()
                        .not_null()
                        .unique_key(),
                )
                .col(timestamp(JournalEntries::At))
                .col(ColumnDef::new(JournalEntries::Kind).string_len(32).not_null())
                .col(ColumnDef::new(JournalEntries::ProjectId).uuid().not_null())
                .col(ColumnDef::new(JournalEntries::AmountFen).big_integer().not_null())
                .col(ColumnDef::new(JournalEntries::ReversesId).uuid().null())
                .col(ColumnDef::new(JournalEntries::GiftId).uuid().null())
                .col(ColumnDef::new(JournalEntries::Counterparty).string_len(200).null())
                .col(ColumnDef::new(JournalEntries::Memo).string_len(500).null())
                .col(ColumnDef::new(JournalEntries::DecisionRef).string_len(200).null())
                .col(ColumnDef::new(JournalEntries::OrgId).uuid().not_null())
                .col(ColumnDef::new(JournalEntries::CreatedBy).string_len(100).not_null())
                .col(ColumnDef::new(JournalEntries::LedgerIndex).big_integer().null())
                .foreign_key(&mut fk(
                    JournalEntries::Table,
                    JournalEntries::ProjectId,
                    Projects::Table,
                    Projects::Id,
                )),
        )
        .await?;
        index(
            manager,
            "journal_project_at",
            JournalEntries::Table,
            [JournalEntries::ProjectId, JournalEntries::At],
        )
        .await?;
        index(
            manager,
            "journal_reverses",
            JournalEntries::Table,
            [JournalEntries::ReversesId],
        )
        .await?;

        create_table(
            manager,
            Table::create()
                .table(JournalLines::Table)
                .col(ColumnDef::new(JournalLines::EntryId).uuid().not_null())
                .col(ColumnDef::new(JournalLines::LineNo).integer().not_null())
                .col(ColumnDef::new(JournalLines::AccountId).uuid().not_null())
                .col(money(JournalLines::DebitFen))
                .col(money(JournalLines::CreditFen))
                .primary_key(Index::create().col(JournalLines::EntryId).col(JournalLines::LineNo))
                .foreign_key(&mut fk(
                    JournalLines::Table,
                    JournalLines::EntryId,
                    JournalEntries::Table,
                    JournalEntries::Id,
                ))
                .foreign_key(&mut fk(
                    JournalLines::Table,
                    JournalLines::AccountId,
                    Accounts::Table,
                    Accounts::Id,
                )),
        )
        .await?;
        index(
            manager,
            "journal_lines_account",
            JournalLines::Table,
            [JournalLines::AccountId],
        )
        .await?;

        create_table(
            manager,
            Table::create()
                .table(Donors::Table)
                .col(ColumnDef::new(Donors::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(Donors::Kind).string_len(16).not_null())
                .col(ColumnDef::new(Donors::Name).string_len(100).not_null())
                .col(ColumnDef::new(Donors::PhoneEnc).string_len(200).null())
                .col(ColumnDef::new(Donors::PhoneHash).string_len(64).null())
                .col(ColumnDef::new(Donors::PhoneMasked).string_len(20).null())
                .col(ColumnDef::new(Donors::IdCardEnc).string_len(200).null())
                .col(ColumnDef::new(Donors::IdCardHash).string_len(64).null())
                .col(ColumnDef::new(Donors::IdCardMasked).string_len(20).null())
                .col(ColumnDef::new(Donors::CreditCode).string_len(18).null())
                .col(ColumnDef::new(Donors::Public).boolean().not_null())
                .col(ColumnDef::new(Donors::MergedInto).uuid().null())
                .col(ColumnDef::new(Donors::OrgId).uuid().not_null())
                .col(timestamp(Donors::CreatedAt))
                .col(timestamp(Donors::UpdatedAt)),
        )
        .await?;
        index(manager, "donors_id_card", Donors::Table, [Donors::IdCardHash]).await?;
        index(manager, "donors_phone", Donors::Table, [Donors::PhoneHash]).await?;
        index(manager, "donors_credit_code", Donors::Table, [Donors::CreditCode]).await?;
        index(manager, "donors_org", Donors::Table, [Donors::OrgId]).await?;

        create_table(
            manager,
            Table::create()
                .table(Gifts::Table)
                .col(ColumnDef::new(Gifts::Id).uuid().not_null().primary_key())
                .col(
                    ColumnDef::new(Gifts::CertificateNo)
                        .string_len(32)
                        .not_null()
                        .unique_key(),
                )
                .col(ColumnDef::new(Gifts::DonorId).uuid().null())
                .col(ColumnDef::new(Gifts::ProjectId).uuid().not_null())
                .col(ColumnDef::new(Gifts::OrgId).uuid().not_null())
                .col(ColumnDef::new(Gifts::Channel).string_len(16).not_null())
                .col(ColumnDef::new(Gifts::AmountFen).big_integer().not_null())
                .col(ColumnDef::new(Gifts::Status).string_len(24).not_null())
                .col(money(Gifts::RefundedFen))
                .col(ColumnDef::new(Gifts::GoodsItem).string_len(100).null())
                .col(ColumnDef::new(Gifts::GoodsQuantity).big_integer().null())
                .col(ColumnDef::new(Gifts::GoodsUnit).string_len(20).null())
                .col(ColumnDef::new(Gifts::GoodsLot).string_len(50).null())
                .col(ColumnDef::new(Gifts::GoodsExpiresOn).date().null())
                .col(ColumnDef::new(Gifts::ReceivedOn).date().not_null())
                .col(ColumnDef::new(Gifts::Note).string_len(500).null())
                .col(ColumnDef::new(Gifts::JournalEntryId).uuid().not_null())
                .col(ColumnDef::new(Gifts::LedgerIndex).big_integer().null())
                .col(ColumnDef::new(Gifts::CreatedBy).string_len(100).not_null())
                .col(timestamp(Gifts::CreatedAt))
                .foreign_key(&mut fk(Gifts::Table, Gifts::ProjectId, Projects::Table, Projects::Id))
                .foreign_key(&mut fk(Gifts::Table, Gifts::DonorId, Donors::Table, Donors::Id)),
        )
        .await?;
        index(manager, "gifts_org", Gifts::Table, [Gifts::OrgId]).await?;
        index(
            manager,
            "gifts_project_received",
            Gifts::Table,
            [Gifts::ProjectId, Gifts::ReceivedOn],
        )
        .await?;
        index(manager, "gifts_donor", Gifts::Table, [Gifts::DonorId]).await?;

        create_table(
            manager,
            Table::create()
                .table(Sequences::Table)
                .col(ColumnDef::new(Sequences::Name).string_len(64).not_null().primary_key())
                .col(ColumnDef::new(Sequences::Value).big_integer().not_null()),
        )
        .await?;
        for name in ["journal", "certificate"] {
            manager
                .exec_stmt(
                    Query::insert()
                        .into_table(Sequences::Table)
                        .columns([Sequences::Name, Sequences::Value])
                        .values_panic([name.into(), 0i64.into()])
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
