//! Personal information (issue 9): the requests people make about their data
//! (export, anonymisation) with who asked, when, what was done and by whom;
//! and the separate consents to sensitive personal information (health data
//! in relief applications), with the consent text's version, the text itself
//! and the time it was given.

use super::common::{create_table, fk, index, timestamp};
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0009_privacy"
    }
}

#[derive(DeriveIden)]
enum PrivacyRequests {
    Table,
    Id,
    OrgId,
    Kind,
    SubjectKind,
    SubjectMasked,
    RequestedBy,
    ReceivedOn,
    Outcome,
    Detail,
    HandledBy,
    HandledByName,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Consents {
    Table,
    Id,
    OrgId,
    Subject,
    SubjectId,
    Purpose,
    Version,
    Text,
    Channel,
    GivenAt,
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
                .table(PrivacyRequests::Table)
                .col(ColumnDef::new(PrivacyRequests::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(PrivacyRequests::OrgId).uuid().not_null())
                .col(ColumnDef::new(PrivacyRequests::Kind).string_len(16).not_null())
                .col(ColumnDef::new(PrivacyRequests::SubjectKind).string_len(16).not_null())
                .col(ColumnDef::new(PrivacyRequests::SubjectMasked).string_len(32).not_null())
                .col(ColumnDef::new(PrivacyRequests::RequestedBy).string_len(100).not_null())
                .col(ColumnDef::new(PrivacyRequests::ReceivedOn).date().not_null())
                .col(ColumnDef::new(PrivacyRequests::Outcome).string_len(16).not_null())
                .col(ColumnDef::new(PrivacyRequests::Detail).text().not_null())
                .col(ColumnDef::new(PrivacyRequests::HandledBy).uuid().null())
                .col(
                    ColumnDef::new(PrivacyRequests::HandledByName)
                        .string_len(100)
                        .not_null(),
                )
                .col(timestamp(PrivacyRequests::CreatedAt))
                .foreign_key(&mut fk(
                    PrivacyRequests::Table,
                    PrivacyRequests::OrgId,
                    Orgs::Table,
                    Orgs::Id,
                )),
        )
        .await?;
        index(
            manager,
            "privacy_requests_org_created",
            PrivacyRequests::Table,
            [PrivacyRequests::OrgId, PrivacyRequests::CreatedAt],
        )
        .await?;
        create_table(
            manager,
            Table::create()
                .table(Consents::Table)
                .col(ColumnDef::new(Consents::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(Consents::OrgId).uuid().not_null())
                .col(ColumnDef::new(Consents::Subject).string_len(32).not_null())
                .col(ColumnDef::new(Consents::SubjectId).uuid().not_null())
                .col(ColumnDef::new(Consents::Purpose).string_len(32).not_null())
                .col(ColumnDef::new(Consents::Version).string_len(32).not_null())
                .col(ColumnDef::new(Consents::Text).text().not_null())
                .col(ColumnDef::new(Consents::Channel).string_len(16).not_null())
                .col(timestamp(Consents::GivenAt))
                .foreign_key(&mut fk(Consents::Table, Consents::OrgId, Orgs::Table, Orgs::Id)),
        )
        .await?;
        index(
            manager,
            "consents_subject",
            Consents::Table,
            [Consents::Subject, Consents::SubjectId],
        )
        .await?;
        Ok(())
    }
}
