//! Online giving (issue 5): payment orders waiting for a provider's verified
//! notification, the notifications accepted (unique per provider and
//! notification id, so each is processed once), every notification refused
//! with its reason, and refunds asked of a provider; bank statement lines
//! (unique by 流水号) with their match to a gift, saved statement layouts;
//! major donors' visits and the recognition levels (none stored = defaults).

use super::common::{create_table, fk, index, timestamp, unique_index};
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0008_giving"
    }
}

#[derive(DeriveIden)]
enum PaymentOrders {
    Table,
    Id,
    OutTradeNo,
    Provider,
    ProjectId,
    OrgId,
    AmountFen,
    Currency,
    Description,
    DonorKind,
    DonorName,
    DonorPhoneEnc,
    DonorIdCardEnc,
    DonorCreditCode,
    DonorPublic,
    Status,
    ExpiresAt,
    TransactionId,
    PaidAt,
    GiftId,
    RefundedFen,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PaymentNotifications {
    Table,
    Id,
    Provider,
    NotificationId,
    Kind,
    OutTradeNo,
    TransactionId,
    OutRefundNo,
    AmountFen,
    ReceivedAt,
}

#[derive(DeriveIden)]
enum PaymentRejections {
    Table,
    Id,
    Provider,
    NotificationId,
    OutTradeNo,
    Reason,
    Detail,
    ReceivedAt,
}

#[derive(DeriveIden)]
enum PaymentRefunds {
    Table,
    Id,
    OutRefundNo,
    OrderId,
    GiftId,
    OrgId,
    AmountFen,
    Reason,
    Status,
    RequestedBy,
    CreatedAt,
    DoneAt,
}

#[derive(DeriveIden)]
enum BankStatementLines {
    Table,
    Id,
    OrgId,
    Reference,
    TxnDate,
    AmountFen,
    Counterparty,
    CounterpartyAccount,
    Memo,
    Layout,
    BatchId,
    Status,
    GiftId,
    ProposedGiftId,
    ImportedBy,
    ImportedAt,
    ReconciledBy,
    ReconciledAt,
}

#[derive(DeriveIden)]
enum BankLayouts {
    Table,
    Id,
    Name,
    Mapping,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum DonorVisits {
    Table,
    Id,
    DonorId,
    OrgId,
    VisitedOn,
    Visitor,
    Notes,
    FollowUpOn,
    FollowUpDone,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RecognitionLevels {
    Table,
    Id,
    ThresholdFen,
    Title,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Donors {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Orgs {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Gifts {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_table(
            manager,
            Table::create()
                .table(PaymentOrders::Table)
                .col(ColumnDef::new(PaymentOrders::Id).uuid().not_null().primary_key())
                .col(
                    ColumnDef::new(PaymentOrders::OutTradeNo)
                        .string_len(64)
                        .not_null()
                        .unique_key(),
                )
                .col(ColumnDef::new(PaymentOrders::Provider).string_len(32).not_null())
                .col(ColumnDef::new(PaymentOrders::ProjectId).uuid().not_null())
                .col(ColumnDef::new(PaymentOrders::OrgId).uuid().not_null())
                .col(ColumnDef::new(PaymentOrders::AmountFen).big_integer().not_null())
                .col(ColumnDef::new(PaymentOrders::Currency).string_len(3).not_null())
                .col(ColumnDef::new(PaymentOrders::Description).string_len(200).not_null())
                .col(ColumnDef::new(PaymentOrders::DonorKind).string_len(16).null())
                .col(ColumnDef::new(PaymentOrders::DonorName).string_len(100).null())
                .col(ColumnDef::new(PaymentOrders::DonorPhoneEnc).text().null())
                .col(ColumnDef::new(PaymentOrders::DonorIdCardEnc).text().null())
                .col(ColumnDef::new(PaymentOrders::DonorCreditCode).string_len(18).null())
                .col(ColumnDef::new(PaymentOrders::DonorPublic).boolean().not_null())
                .col(ColumnDef::new(PaymentOrders::Status).string_len(16).not_null())
                .col(timestamp(PaymentOrders::ExpiresAt))
                .col(ColumnDef::new(PaymentOrders::TransactionId).string_len(64).null())
                .col(ColumnDef::new(PaymentOrders::PaidAt).timestamp_with_time_zone().null())
                .col(ColumnDef::new(PaymentOrders::GiftId).uuid().null())
                .col(ColumnDef::new(PaymentOrders::RefundedFen).big_integer().not_null())
                .col(timestamp(PaymentOrders::CreatedAt))
                .col(timestamp(PaymentOrders::UpdatedAt))
                .foreign_key(&mut fk(
                    PaymentOrders::Table,
                    PaymentOrders::ProjectId,
                    Projects::Table,
                    Projects::Id,
                ))
                .foreign_key(&mut fk(
                    PaymentOrders::Table,
                    PaymentOrders::OrgId,
                    Orgs::Table,
                    Orgs::Id,
                ))
                .foreign_key(&mut fk(
                    PaymentOrders::Table,
                    PaymentOrders::GiftId,
                    Gifts::Table,
                    Gifts::Id,
                )),
        )
        .await?;
        index(
            manager,
            "payment_orders_status_expires",
            PaymentOrders::Table,
            [PaymentOrders::Status, PaymentOrders::ExpiresAt],
        )
        .await?;
        unique_index(
            manager,
            "payment_orders_provider_txn",
            PaymentOrders::Table,
            [PaymentOrders::Provider, PaymentOrders::TransactionId],
        )
        .await?;
        create_table(
            manager,
            Table::create()
                .table(PaymentNotifications::Table)
                .col(ColumnDef::new(PaymentNotifications::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(PaymentNotifications::Provider).string_len(32).not_null())
                .col(
                    ColumnDef::new(PaymentNotifications::NotificationId)
                        .string_len(64)
                        .not_null(),
                )
                .col(ColumnDef::new(PaymentNotifications::Kind).string_len(16).not_null())
                .col(
                    ColumnDef::new(PaymentNotifications::OutTradeNo)
                        .string_len(64)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(PaymentNotifications::TransactionId)
                        .string_len(64)
                        .null(),
                )
                .col(ColumnDef::new(PaymentNotifications::OutRefundNo).string_len(64).null())
                .col(ColumnDef::new(PaymentNotifications::AmountFen).big_integer().not_null())
                .col(timestamp(PaymentNotifications::ReceivedAt)),
        )
        .await?;
        unique_index(
            manager,
            "payment_notifications_once",
            PaymentNotifications::Table,
            [PaymentNotifications::Provider, PaymentNotifications::NotificationId],
        )
        .await?;
        create_table(
            manager,
            Table::create()
                .table(PaymentRejections::Table)
                .col(ColumnDef::new(PaymentRejections::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(PaymentRejections::Provider).string_len(32).not_null())
                .col(ColumnDef::new(PaymentRejections::NotificationId).string_len(64).null())
                .col(ColumnDef::new(PaymentRejections::OutTradeNo).string_len(64).null())
                .col(ColumnDef::new(PaymentRejections::Reason).string_len(32).not_null())
                .col(ColumnDef::new(PaymentRejections::Detail).string_len(500).not_null())
                .col(timestamp(PaymentRejections::ReceivedAt)),
        )
        .await?;
        index(
            manager,
            "payment_rejections_received",
            PaymentRejections::Table,
            [PaymentRejections::ReceivedAt],
        )
        .await?;
        create_table(
            manager,
            Table::create()
                .table(PaymentRefunds::Table)
                .col(ColumnDef::new(PaymentRefunds::Id).uuid().not_null().primary_key())
                .col(
                    ColumnDef::new(PaymentRefunds::OutRefundNo)
                        .string_len(64)
                        .not_null()
                        .unique_key(),
                )
                .col(ColumnDef::new(PaymentRefunds::OrderId).uuid().not_null())
                .col(ColumnDef::new(PaymentRefunds::GiftId).uuid().not_null())
                .col(ColumnDef::new(PaymentRefunds::OrgId).uuid().not_null())
                .col(ColumnDef::new(PaymentRefunds::AmountFen).big_integer().not_null())
                .col(ColumnDef::new(PaymentRefunds::Reason).string_len(200).not_null())
                .col(ColumnDef::new(PaymentRefunds::Status).string_len(16).not_null())
                .col(ColumnDef::new(PaymentRefunds::RequestedBy).string_len(100).not_null())
                .col(timestamp(PaymentRefunds::CreatedAt))
                .col(ColumnDef::new(PaymentRefunds::DoneAt).timestamp_with_time_zone().null())
                .foreign_key(&mut fk(
                    PaymentRefunds::Table,
                    PaymentRefunds::GiftId,
                    Gifts::Table,
                    Gifts::Id,
                )),
        )
        .await?;
        create_table(
            manager,
            Table::create()
                .table(BankStatementLines::Table)
                .col(ColumnDef::new(BankStatementLines::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(BankStatementLines::OrgId).uuid().not_null())
                .col(
                    ColumnDef::new(BankStatementLines::Reference)
                        .string_len(64)
                        .not_null()
                        .unique_key(),
                )
                .col(ColumnDef::new(BankStatementLines::TxnDate).date().not_null())
                .col(ColumnDef::new(BankStatementLines::AmountFen).big_integer().not_null())
                .col(
                    ColumnDef::new(BankStatementLines::Counterparty)
                        .string_len(100)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(BankStatementLines::CounterpartyAccount)
                        .string_len(40)
                        .null(),
                )
                .col(ColumnDef::new(BankStatementLines::Memo).string_len(200).not_null())
                .col(ColumnDef::new(BankStatementLines::Layout).string_len(100).not_null())
                .col(ColumnDef::new(BankStatementLines::BatchId).uuid().not_null())
                .col(ColumnDef::new(BankStatementLines::Status).string_len(16).not_null())
                .col(ColumnDef::new(BankStatementLines::GiftId).uuid().null())
                .col(ColumnDef::new(BankStatementLines::ProposedGiftId).uuid().null())
                .col(
                    ColumnDef::new(BankStatementLines::ImportedBy)
                        .string_len(100)
                        .not_null(),
                )
                .col(timestamp(BankStatementLines::ImportedAt))
                .col(ColumnDef::new(BankStatementLines::ReconciledBy).string_len(100).null())
                .col(
                    ColumnDef::new(BankStatementLines::ReconciledAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .foreign_key(&mut fk(
                    BankStatementLines::Table,
                    BankStatementLines::OrgId,
                    Orgs::Table,
                    Orgs::Id,
                ))
                .foreign_key(&mut fk(
                    BankStatementLines::Table,
                    BankStatementLines::GiftId,
                    Gifts::Table,
                    Gifts::Id,
                )),
        )
        .await?;
        index(
            manager,
            "bank_statement_lines_status_date",
            BankStatementLines::Table,
            [BankStatementLines::Status, BankStatementLines::TxnDate],
        )
        .await?;
        create_table(
            manager,
            Table::create()
                .table(BankLayouts::Table)
                .col(ColumnDef::new(BankLayouts::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(BankLayouts::Name).string_len(50).not_null().unique_key())
                .col(ColumnDef::new(BankLayouts::Mapping).text().not_null())
                .col(ColumnDef::new(BankLayouts::CreatedBy).string_len(100).not_null())
                .col(timestamp(BankLayouts::CreatedAt)),
        )
        .await?;
        create_table(
            manager,
            Table::create()
                .table(DonorVisits::Table)
                .col(ColumnDef::new(DonorVisits::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(DonorVisits::DonorId).uuid().not_null())
                .col(ColumnDef::new(DonorVisits::OrgId).uuid().not_null())
                .col(ColumnDef::new(DonorVisits::VisitedOn).date().not_null())
                .col(ColumnDef::new(DonorVisits::Visitor).string_len(50).not_null())
                .col(ColumnDef::new(DonorVisits::Notes).text().null())
                .col(ColumnDef::new(DonorVisits::FollowUpOn).date().null())
                .col(ColumnDef::new(DonorVisits::FollowUpDone).boolean().not_null())
                .col(ColumnDef::new(DonorVisits::CreatedBy).string_len(100).not_null())
                .col(timestamp(DonorVisits::CreatedAt))
                .foreign_key(&mut fk(
                    DonorVisits::Table,
                    DonorVisits::DonorId,
                    Donors::Table,
                    Donors::Id,
                ))
                .foreign_key(&mut fk(DonorVisits::Table, DonorVisits::OrgId, Orgs::Table, Orgs::Id)),
        )
        .await?;
        index(
            manager,
            "donor_visits_follow_up",
            DonorVisits::Table,
            [DonorVisits::FollowUpDone, DonorVisits::FollowUpOn],
        )
        .await?;
        create_table(
            manager,
            Table::create()
                .table(RecognitionLevels::Table)
                .col(ColumnDef::new(RecognitionLevels::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(RecognitionLevels::ThresholdFen).big_integer().not_null())
                .col(ColumnDef::new(RecognitionLevels::Title).string_len(30).not_null())
                .col(timestamp(RecognitionLevels::CreatedAt)),
        )
        .await?;
        Ok(())
    }
}
