//! Humanitarian relief (人道救助): programmes (one per relief project, their
//! settings — budget, documents, grants, payee, eligibility rule, review
//! flow — as JSON), cases (applications; ID number, phone and bank account
//! encrypted with a keyed hash of the ID number), the review steps, the
//! attachments' metadata (bytes live in the data folder), and the
//! notification outbox. Adds the `relief_case` sequence (case numbers).

use super::common::{create_table, fk, index, timestamp};
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0007_relief"
    }
}

#[derive(DeriveIden)]
enum ReliefProgrammes {
    Table,
    Id,
    ProjectId,
    OrgId,
    Code,
    Name,
    Settings,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ReliefCases {
    Table,
    Id,
    CaseNo,
    Pseudonym,
    ProgrammeId,
    OrgId,
    District,
    Channel,
    ApplicantName,
    IdEnc,
    IdHash,
    IdMasked,
    PhoneEnc,
    PhoneMasked,
    HouseholdSize,
    HouseholdIncomeFen,
    Hardship,
    Diagnosis,
    Hospital,
    BankName,
    BankAccountEnc,
    BankAccountMasked,
    AmountFen,
    Status,
    Step,
    StepSince,
    PublicReason,
    Eligibility,
    LookupHash,
    FiledBy,
    FiledByName,
    CreatedAt,
    DecidedAt,
    PaidAt,
    JournalEntryId,
    LedgerIndex,
}

#[derive(DeriveIden)]
enum ReliefReviews {
    Table,
    Id,
    CaseId,
    Step,
    Level,
    Decision,
    Reason,
    ReviewerId,
    ReviewerName,
    At,
}

#[derive(DeriveIden)]
enum ReliefAttachments {
    Table,
    Id,
    CaseId,
    Document,
    FileName,
    Mime,
    Size,
    Sha256,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ReliefNotifications {
    Table,
    Id,
    CaseId,
    Channel,
    RecipientEnc,
    Body,
    CreatedAt,
    SentAt,
}

#[derive(DeriveIden)]
enum Orgs {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
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
                .table(ReliefProgrammes::Table)
                .col(ColumnDef::new(ReliefProgrammes::Id).uuid().not_null().primary_key())
                .col(
                    ColumnDef::new(ReliefProgrammes::ProjectId)
                        .uuid()
                        .not_null()
                        .unique_key(),
                )
                .col(ColumnDef::new(ReliefProgrammes::OrgId).uuid().not_null())
                .col(
                    ColumnDef::new(ReliefProgrammes::Code)
                        .string_len(32)
                        .not_null()
                        .unique_key(),
                )
                .col(ColumnDef::new(ReliefProgrammes::Name).string_len(200).not_null())
                .col(ColumnDef::new(ReliefProgrammes::Settings).text().not_null())
                .col(timestamp(ReliefProgrammes::UpdatedAt))
                .foreign_key(&mut fk(
                    ReliefProgrammes::Table,
                    ReliefProgrammes::ProjectId,
                    Projects::Table,
                    Projects::Id,
                ))
                .foreign_key(&mut fk(
                    ReliefProgrammes::Table,
                    ReliefProgrammes::OrgId,
                    Orgs::Table,
                    Orgs::Id,
                )),
        )
        .await?;
        use ReliefCases as C;
        create_table(
            manager,
            Table::create()
                .table(C::Table)
                .col(ColumnDef::new(C::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(C::CaseNo).string_len(32).not_null().unique_key())
                .col(ColumnDef::new(C::Pseudonym).string_len(64).not_null())
                .col(ColumnDef::new(C::ProgrammeId).uuid().not_null())
                .col(ColumnDef::new(C::OrgId).uuid().not_null())
                .col(ColumnDef::new(C::District).string_len(50).not_null())
                .col(ColumnDef::new(C::Channel).string_len(16).not_null())
                .col(ColumnDef::new(C::ApplicantName).string_len(100).not_null())
                .col(ColumnDef::new(C::IdEnc).text().not_null())
                .col(ColumnDef::new(C::IdHash).string_len(64).not_null())
                .col(ColumnDef::new(C::IdMasked).string_len(32).not_null())
                .col(ColumnDef::new(C::PhoneEnc).text().not_null())
                .col(ColumnDef::new(C::PhoneMasked).string_len(32).not_null())
                .col(ColumnDef::new(C::HouseholdSize).integer().not_null())
                .col(ColumnDef::new(C::HouseholdIncomeFen).big_integer().not_null())
                .col(ColumnDef::new(C::Hardship).string_len(32).null())
                .col(ColumnDef::new(C::Diagnosis).string_len(200).not_null())
                .col(ColumnDef::new(C::Hospital).string_len(200).null())
                .col(ColumnDef::new(C::BankName).string_len(100).null())
                .col(ColumnDef::new(C::BankAccountEnc).text().null())
                .col(ColumnDef::new(C::BankAccountMasked).string_len(32).null())
                .col(ColumnDef::new(C::AmountFen).big_integer().not_null())
                .col(ColumnDef::new(C::Status).string_len(16).not_null())
                .col(ColumnDef::new(C::Step).integer().not_null())
                .col(ColumnDef::new(C::StepSince).timestamp_with_time_zone().not_null())
                .col(ColumnDef::new(C::PublicReason).text().null())
                .col(ColumnDef::new(C::Eligibility).text().not_null())
                .col(ColumnDef::new(C::LookupHash).string_len(64).not_null())
                .col(ColumnDef::new(C::FiledBy).uuid().null())
                .col(ColumnDef::new(C::FiledByName).string_len(100).not_null())
                .col(ColumnDef::new(C::CreatedAt).timestamp_with_time_zone().not_null())
                .col(ColumnDef::new(C::DecidedAt).timestamp_with_time_zone().null())
                .col(ColumnDef::new(C::PaidAt).timestamp_with_time_zone().null())
                .col(ColumnDef::new(C::JournalEntryId).uuid().null())
                .col(ColumnDef::new(C::LedgerIndex).big_integer().null())
                .foreign_key(&mut fk(
                    C::Table,
                    C::ProgrammeId,
                    ReliefProgrammes::Table,
                    ReliefProgrammes::Id,
                ))
                .foreign_key(ForeignKey::create().from(C::Table, C::OrgId).to(Orgs::Table, Orgs::Id)),
        )
        .await?;
        for (name, cols) in [
            ("relief_cases_programme", vec![C::ProgrammeId, C::CreatedAt]),
            ("relief_cases_person", vec![C::IdHash, C::ProgrammeId]),
            ("relief_cases_org", vec![C::OrgId]),
            ("relief_cases_status", vec![C::Status]),
            ("relief_cases_ledger", vec![C::LedgerIndex]),
        ] {
            index(manager, name, C::Table, cols).await?;
        }
        create_table(
            manager,
            Table::create()
                .table(ReliefReviews::Table)
                .col(ColumnDef::new(ReliefReviews::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(ReliefReviews::CaseId).uuid().not_null())
                .col(ColumnDef::new(ReliefReviews::Step).integer().not_null())
                .col(ColumnDef::new(ReliefReviews::Level).string_len(16).not_null())
                .col(ColumnDef::new(ReliefReviews::Decision).string_len(16).not_null())
                .col(ColumnDef::new(ReliefReviews::Reason).text().null())
                .col(ColumnDef::new(ReliefReviews::ReviewerId).uuid().null())
                .col(ColumnDef::new(ReliefReviews::ReviewerName).string_len(100).not_null())
                .col(ColumnDef::new(ReliefReviews::At).timestamp_with_time_zone().not_null())
                .foreign_key(&mut fk(ReliefReviews::Table, ReliefReviews::CaseId, C::Table, C::Id)),
        )
        .await?;
        index(
            manager,
            "relief_reviews_case",
            ReliefReviews::Table,
            [ReliefReviews::CaseId],
        )
        .await?;
        create_table(
            manager,
            Table::create()
                .table(ReliefAttachments::Table)
                .col(ColumnDef::new(ReliefAttachments::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(ReliefAttachments::CaseId).uuid().not_null())
                .col(ColumnDef::new(ReliefAttachments::Document).string_len(50).not_null())
                .col(ColumnDef::new(ReliefAttachments::FileName).string_len(200).not_null())
                .col(ColumnDef::new(ReliefAttachments::Mime).string_len(100).not_null())
                .col(ColumnDef::new(ReliefAttachments::Size).big_integer().not_null())
                .col(ColumnDef::new(ReliefAttachments::Sha256).string_len(64).not_null())
                .col(timestamp(ReliefAttachments::CreatedAt))
                .foreign_key(&mut fk(
                    ReliefAttachments::Table,
                    ReliefAttachments::CaseId,
                    C::Table,
                    C::Id,
                )),
        )
        .await?;
        index(
            manager,
            "relief_attachments_case",
            ReliefAttachments::Table,
            [ReliefAttachments::CaseId],
        )
        .await?;
        create_table(
            manager,
            Table::create()
                .table(ReliefNotifications::Table)
                .col(ColumnDef::new(ReliefNotifications::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(ReliefNotifications::CaseId).uuid().not_null())
                .col(ColumnDef::new(ReliefNotifications::Channel).string_len(16).not_null())
                .col(ColumnDef::new(ReliefNotifications::RecipientEnc).text().not_null())
                .col(ColumnDef::new(ReliefNotifications::Body).text().not_null())
                .col(timestamp(ReliefNotifications::CreatedAt))
                .col(
                    ColumnDef::new(ReliefNotifications::SentAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .foreign_key(&mut fk(
                    ReliefNotifications::Table,
                    ReliefNotifications::CaseId,
                    C::Table,
                    C::Id,
                )),
        )
        .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(Sequences::Table)
                    .columns([Sequences::Name, Sequences::Value])
                    .values_panic(["relief_case".into(), 0i64.into()])
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
