//! Disclosures (信息公开): announcements and progress reports of projects,
//! yearly work and finance reports and audit reports, each with an optional
//! attachment kept in the row (at most 10 MB; lists never read it).

use super::common::{create_table, fk, index, timestamp};
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0004_transparency"
    }
}

#[derive(DeriveIden)]
enum Disclosures {
    Table,
    Id,
    OrgId,
    ProjectId,
    Kind,
    Title,
    Body,
    PublishedOn,
    FileName,
    FileMime,
    FileBytes,
    CreatedBy,
    CreatedAt,
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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_table(
            manager,
            Table::create()
                .table(Disclosures::Table)
                .col(ColumnDef::new(Disclosures::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(Disclosures::OrgId).uuid().not_null())
                .col(ColumnDef::new(Disclosures::ProjectId).uuid().null())
                .col(ColumnDef::new(Disclosures::Kind).string_len(32).not_null())
                .col(ColumnDef::new(Disclosures::Title).string_len(200).not_null())
                .col(ColumnDef::new(Disclosures::Body).text().null())
                .col(ColumnDef::new(Disclosures::PublishedOn).date().not_null())
                .col(ColumnDef::new(Disclosures::FileName).string_len(200).null())
                .col(ColumnDef::new(Disclosures::FileMime).string_len(100).null())
                .col(ColumnDef::new(Disclosures::FileBytes).blob().null())
                .col(ColumnDef::new(Disclosures::CreatedBy).string_len(100).not_null())
                .col(timestamp(Disclosures::CreatedAt))
                .foreign_key(&mut fk(Disclosures::Table, Disclosures::OrgId, Orgs::Table, Orgs::Id))
                .foreign_key(&mut fk(
                    Disclosures::Table,
                    Disclosures::ProjectId,
                    Projects::Table,
                    Projects::Id,
                )),
        )
        .await?;
        index(
            manager,
            "disclosures_published",
            Disclosures::Table,
            [Disclosures::PublishedOn],
        )
        .await?;
        index(
            manager,
            "disclosures_project_published",
            Disclosures::Table,
            [Disclosures::ProjectId, Disclosures::PublishedOn],
        )
        .await?;
        index(manager, "disclosures_org", Disclosures::Table, [Disclosures::OrgId]).await?;
        Ok(())
    }
}
