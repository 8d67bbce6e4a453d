//! Members and councils: member types (`member_types`, seeded with the
//! defaults), dues per type and year (`dues_rates`), members (`members`: ID
//! numbers and phones encrypted, searched by keyed hash, stored masked),
//! dues payments (`dues_payments`: receipt numbers unique, one payment per
//! member and year), the reminders outbox (`member_reminders`, one per member
//! and year), and the councils (`council_members`, `council_meetings` with
//! their minutes as bytes, like disclosures' attachments).

use super::common::{create_table, fk, index, timestamp, unique_index};
use boai_domain::members::DEFAULT_TYPES;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0006_members"
    }
}
#[derive(DeriveIden)]
enum MemberTypes {
    Table,
    Code,
    Position,
    NameZh,
    Kind,
    Active,
}
#[derive(DeriveIden)]
enum DuesRates {
    Table,
    TypeCode,
    Year,
    AmountFen,
    UpdatedAt,
}
#[derive(DeriveIden)]
enum Members {
    Table,
    Id,
    OrgId,
    MemberNo,
    Kind,
    TypeCode,
    Name,
    IdCardEnc,
    IdCardHash,
    IdCardMasked,
    CreditCode,
    PhoneEnc,
    PhoneMasked,
    JoinedOn,
    Status,
    LapsedOn,
    CreatedAt,
    UpdatedAt,
}
#[derive(DeriveIden)]
enum DuesPayments {
    Table,
    Id,
    MemberId,
    OrgId,
    Year,
    AmountFen,
    ReceiptNo,
    PaidOn,
    RecordedBy,
    CreatedAt,
}
#[derive(DeriveIden)]
enum MemberReminders {
    Table,
    Id,
    MemberId,
    OrgId,
    Year,
    AmountFen,
    Message,
    Status,
    CreatedBy,
    CreatedAt,
}
#[derive(DeriveIden)]
enum CouncilMembers {
    Table,
    Id,
    OrgId,
    Body,
    PersonName,
    Role,
    TermNo,
    TermStart,
    TermEnd,
    CreatedAt,
}
#[derive(DeriveIden)]
enum CouncilMeetings {
    Table,
    Id,
    OrgId,
    Body,
    HeldOn,
    Title,
    MinutesName,
    MinutesMime,
    MinutesBytes,
    CreatedBy,
    CreatedAt,
}
#[derive(DeriveIden)]
enum Orgs {
    Table,
    Id,
}
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_table(
            manager,
            Table::create()
                .table(MemberTypes::Table)
                .col(
                    ColumnDef::new(MemberTypes::Code)
                        .string_len(32)
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(MemberTypes::Position).integer().not_null())
                .col(ColumnDef::new(MemberTypes::NameZh).string_len(50).not_null())
                .col(ColumnDef::new(MemberTypes::Kind).string_len(16).not_null())
                .col(ColumnDef::new(MemberTypes::Active).boolean().not_null().default(true)),
        )
        .await?;
        let mut insert = Query::insert()
            .into_table(MemberTypes::Table)
            .columns([
                MemberTypes::Code,
                MemberTypes::Position,
                MemberTypes::NameZh,
                MemberTypes::Kind,
                MemberTypes::Active,
            ])
            .to_owned();
        for (i, (code, zh, kind)) in DEFAULT_TYPES.iter().enumerate() {
            insert.values_panic([
                (*code).into(),
                <i32 as TryFrom<usize>>::try_from(i + 1).unwrap_or(i32::MAX).into(),
                (*zh).into(),
                kind.as_str().into(),
                true.into(),
            ]);
        }
        manager.exec_stmt(insert).await?;
        create_table(
            manager,
            Table::create()
                .table(DuesRates::Table)
                .col(ColumnDef::new(DuesRates::TypeCode).string_len(32).not_null())
                .col(ColumnDef::new(DuesRates::Year).integer().not_null())
                .col(ColumnDef::new(DuesRates::AmountFen).big_integer().not_null())
                .col(timestamp(DuesRates::UpdatedAt))
                .primary_key(Index::create().col(DuesRates::TypeCode).col(DuesRates::Year))
                .foreign_key(&mut fk(
                    DuesRates::Table,
                    DuesRates::TypeCode,
                    MemberTypes::Table,
                    MemberTypes::Code,
                )),
        )
        .await?;
        create_table(
            manager,
            Table::create()
                .table(Members::Table)
                .col(ColumnDef::new(Members::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(Members::OrgId).uuid().not_null())
                .col(ColumnDef::new(Members::MemberNo).string_len(24).not_null())
                .col(ColumnDef::new(Members::Kind).string_len(16).not_null())
                .col(ColumnDef::new(Members::TypeCode).string_len(32).not_null())
                .col(ColumnDef::new(Members::Name).string_len(100).not_null())
                .col(ColumnDef::new(Members::IdCardEnc).text().null())
                .col(ColumnDef::new(Members::IdCardHash).string_len(64).null())
                .col(ColumnDef::new(Members::IdCardMasked).string_len(32).null())
                .col(ColumnDef::new(Members::CreditCode).string_len(18).null())
                .col(ColumnDef::new(Members::PhoneEnc).text().null())
                .col(ColumnDef::new(Members::PhoneMasked).string_len(32).null())
                .col(ColumnDef::new(Members::JoinedOn).date().not_null())
                .col(ColumnDef::new(Members::Status).string_len(16).not_null())
                .col(ColumnDef::new(Members::LapsedOn).date().null())
                .col(ColumnDef::new(Members::CreatedAt).timestamp_with_time_zone().not_null())
                .col(ColumnDef::new(Members::UpdatedAt).timestamp_with_time_zone().not_null())
                .foreign_key(&mut fk(Members::Table, Members::OrgId, Orgs::Table, Orgs::Id))
                .foreign_key(&mut fk(
                    Members::Table,
                    Members::TypeCode,
                    MemberTypes::Table,
                    MemberTypes::Code,
                )),
        )
        .await?;
        create_table(
            manager,
            Table::create()
                .table(DuesPayments::Table)
                .col(ColumnDef::new(DuesPayments::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(DuesPayments::MemberId).uuid().not_null())
                .col(ColumnDef::new(DuesPayments::OrgId).uuid().not_null())
                .col(ColumnDef::new(DuesPayments::Year).integer().not_null())
                .col(ColumnDef::new(DuesPayments::AmountFen).big_integer().not_null())
                .col(ColumnDef::new(DuesPayments::ReceiptNo).string_len(40).not_null())
                .col(ColumnDef::new(DuesPayments::PaidOn).date().not_null())
                .col(ColumnDef::new(DuesPayments::RecordedBy).string_len(100).not_null())
                .col(timestamp(DuesPayments::CreatedAt))
                .foreign_key(&mut fk(
                    DuesPayments::Table,
                    DuesPayments::MemberId,
                    Members::Table,
                    Members::Id,
                ))
                .foreign_key(&mut fk(DuesPayments::Table, DuesPayments::OrgId, Orgs::Table, Orgs::Id)),
        )
        .await?;
        create_table(
            manager,
            Table::create()
                .table(MemberReminders::Table)
                .col(ColumnDef::new(MemberReminders::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(MemberReminders::MemberId).uuid().not_null())
                .col(ColumnDef::new(MemberReminders::OrgId).uuid().not_null())
                .col(ColumnDef::new(MemberReminders::Year).integer().not_null())
                .col(ColumnDef::new(MemberReminders::AmountFen).big_integer().not_null())
                .col(ColumnDef::new(MemberReminders::Message).string_len(500).not_null())
                .col(ColumnDef::new(MemberReminders::Status).string_len(16).not_null())
                .col(ColumnDef::new(MemberReminders::CreatedBy).string_len(100).not_null())
                .col(timestamp(MemberReminders::CreatedAt))
                .foreign_key(&mut fk(
                    MemberReminders::Table,
                    MemberReminders::MemberId,
                    Members::Table,
                    Members::Id,
                )),
        )
        .await?;
        create_table(
            manager,
            Table::create()
                .table(CouncilMembers::Table)
                .col(ColumnDef::new(CouncilMembers::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(CouncilMembers::OrgId).uuid().not_null())
                .col(ColumnDef::new(CouncilMembers::Body).string_len(16).not_null())
                .col(ColumnDef::new(CouncilMembers::PersonName).string_len(50).not_null())
                .col(ColumnDef::new(CouncilMembers::Role).string_len(20).not_null())
                .col(ColumnDef::new(CouncilMembers::TermNo).integer().not_null())
                .col(ColumnDef::new(CouncilMembers::TermStart).date().not_null())
                .col(ColumnDef::new(CouncilMembers::TermEnd).date().not_null())
                .col(timestamp(CouncilMembers::CreatedAt))
                .foreign_key(&mut fk(
                    CouncilMembers::Table,
                    CouncilMembers::OrgId,
                    Orgs::Table,
                    Orgs::Id,
                )),
        )
        .await?;
        create_table(
            manager,
            Table::create()
                .table(CouncilMeetings::Table)
                .col(ColumnDef::new(CouncilMeetings::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(CouncilMeetings::OrgId).uuid().not_null())
                .col(ColumnDef::new(CouncilMeetings::Body).string_len(16).not_null())
                .col(ColumnDef::new(CouncilMeetings::HeldOn).date().not_null())
                .col(ColumnDef::new(CouncilMeetings::Title).string_len(100).not_null())
                .col(ColumnDef::new(CouncilMeetings::MinutesName).string_len(200).null())
                .col(ColumnDef::new(CouncilMeetings::MinutesMime).string_len(100).null())
                .col(ColumnDef::new(CouncilMeetings::MinutesBytes).blob().null())
                .col(ColumnDef::new(CouncilMeetings::CreatedBy).string_len(100).not_null())
                .col(timestamp(CouncilMeetings::CreatedAt))
                .foreign_key(&mut fk(
                    CouncilMeetings::Table,
                    CouncilMeetings::OrgId,
                    Orgs::Table,
                    Orgs::Id,
                )),
        )
        .await?;
        unique_index(manager, "members_no", Members::Table, [Members::MemberNo]).await?;
        index(manager, "members_org", Members::Table, [Members::OrgId]).await?;
        index(manager, "members_id_card_hash", Members::Table, [Members::IdCardHash]).await?;
        unique_index(
            manager,
            "dues_payments_receipt",
            DuesPayments::Table,
            [DuesPayments::ReceiptNo],
        )
        .await?;
        unique_index(
            manager,
            "dues_payments_member_year",
            DuesPayments::Table,
            [DuesPayments::MemberId, DuesPayments::Year],
        )
        .await?;
        index(manager, "dues_payments_org", DuesPayments::Table, [DuesPayments::OrgId]).await?;
        unique_index(
            manager,
            "member_reminders_member_year",
            MemberReminders::Table,
            [MemberReminders::MemberId, MemberReminders::Year],
        )
        .await?;
        index(
            manager,
            "council_members_org",
            CouncilMembers::Table,
            [CouncilMembers::OrgId],
        )
        .await?;
        index(
            manager,
            "council_meetings_org",
            CouncilMeetings::Table,
            [CouncilMeetings::OrgId],
        )
        .await?;
        Ok(())
    }
}
