//! The grassroots network: each unit's particulars (`org_units`, one row per
//! organisation at level `unit`), the history of units moved between
//! branches (`org_moves`), the city's 五有 checklist (`wuyou_items`, seeded
//! here with the seven default items) and each unit's assessment of each item
//! (`wuyou_assessments`).

use super::common::{create_table, fk, index, timestamp, unique_index};
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0005_network"
    }
}

#[derive(DeriveIden)]
enum OrgUnits {
    Table,
    OrgId,
    CreditCode,
    Address,
    Phone,
    Leader,
    FoundedOn,
    Status,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OrgMoves {
    Table,
    Id,
    OrgId,
    FromOrgId,
    ToOrgId,
    MovedAt,
    MovedBy,
    MovedById,
}

#[derive(DeriveIden)]
enum WuyouItems {
    Table,
    Code,
    Position,
    NameZh,
    NameEn,
    Active,
}

#[derive(DeriveIden)]
enum WuyouAssessments {
    Table,
    OrgId,
    ItemCode,
    Met,
    Evidence,
    AssessedOn,
    AssessedBy,
}

#[derive(DeriveIden)]
enum Orgs {
    Table,
    Id,
}

/// The default checklist: code, 中文, English.
pub const DEFAULT_ITEMS: [(&str, &str, &str); 7] = [
    ("leader", "有热心红十字事业的负责人", "A committed leader"),
    ("members", "有稳定的会员和志愿者队伍", "Members and volunteers"),
    ("rules", "有规章制度", "Written rules"),
    ("venue", "有活动场所或服务点", "A venue or service point"),
    ("activities", "有经常性的红十字活动", "Regular activities"),
    ("funding", "有经费", "Funding"),
    ("records", "有工作记录", "Kept records"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_table(
            manager,
            Table::create()
                .table(OrgUnits::Table)
                .col(ColumnDef::new(OrgUnits::OrgId).uuid().not_null().primary_key())
                .col(ColumnDef::new(OrgUnits::CreditCode).string_len(18).null())
                .col(ColumnDef::new(OrgUnits::Address).string_len(200).null())
                .col(ColumnDef::new(OrgUnits::Phone).string_len(32).null())
                .col(ColumnDef::new(OrgUnits::Leader).string_len(50).null())
                .col(ColumnDef::new(OrgUnits::FoundedOn).date().null())
                .col(ColumnDef::new(OrgUnits::Status).string_len(16).not_null())
                .col(timestamp(OrgUnits::UpdatedAt))
                .foreign_key(&mut fk(OrgUnits::Table, OrgUnits::OrgId, Orgs::Table, Orgs::Id)),
        )
        .await?;
        unique_index(
            manager,
            "org_units_credit_code",
            OrgUnits::Table,
            [OrgUnits::CreditCode],
        )
        .await?;
        create_table(
            manager,
            Table::create()
                .table(OrgMoves::Table)
                .col(ColumnDef::new(OrgMoves::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(OrgMoves::OrgId).uuid().not_null())
                .col(ColumnDef::new(OrgMoves::FromOrgId).uuid().not_null())
                .col(ColumnDef::new(OrgMoves::ToOrgId).uuid().not_null())
                .col(ColumnDef::new(OrgMoves::MovedAt).timestamp_with_time_zone().not_null())
                .col(ColumnDef::new(OrgMoves::MovedBy).string_len(100).not_null())
                .col(ColumnDef::new(OrgMoves::MovedById).uuid().null())
                .foreign_key(&mut fk(OrgMoves::Table, OrgMoves::OrgId, Orgs::Table, Orgs::Id))
                .foreign_key(&mut fk(OrgMoves::Table, OrgMoves::FromOrgId, Orgs::Table, Orgs::Id))
                .foreign_key(&mut fk(OrgMoves::Table, OrgMoves::ToOrgId, Orgs::Table, Orgs::Id)),
        )
        .await?;
        index(manager, "org_moves_org", OrgMoves::Table, [OrgMoves::OrgId]).await?;
        create_table(
            manager,
            Table::create()
                .table(WuyouItems::Table)
                .col(ColumnDef::new(WuyouItems::Code).string_len(32).not_null().primary_key())
                .col(ColumnDef::new(WuyouItems::Position).integer().not_null())
                .col(ColumnDef::new(WuyouItems::NameZh).string_len(100).not_null())
                .col(ColumnDef::new(WuyouItems::NameEn).string_len(100).not_null())
                .col(ColumnDef::new(WuyouItems::Active).boolean().not_null().default(true)),
        )
        .await?;
        let mut insert = Query::insert()
            .into_table(WuyouItems::Table)
            .columns([
                WuyouItems::Code,
                WuyouItems::Position,
                WuyouItems::NameZh,
                WuyouItems::NameEn,
                WuyouItems::Active,
            ])
            .to_owned();
        for (i, (code, zh, en)) in DEFAULT_ITEMS.iter().enumerate() {
            insert.values_panic([
                (*code).into(),
                <i32 as TryFrom<usize>>::try_from(i + 1).unwrap_or(i32::MAX).into(),
                (*zh).into(),
                (*en).into(),
                true.into(),
            ]);
        }
        manager.exec_stmt(insert).await?;
        create_table(
            manager,
            Table::create()
                .table(WuyouAssessments::Table)
                .col(ColumnDef::new(WuyouAssessments::OrgId).uuid().not_null())
                .col(ColumnDef::new(WuyouAssessments::ItemCode).string_len(32).not_null())
                .col(ColumnDef::new(WuyouAssessments::Met).boolean().not_null())
                .col(ColumnDef::new(WuyouAssessments::Evidence).string_len(500).null())
                .col(ColumnDef::new(WuyouAssessments::AssessedOn).date().not_null())
                .col(ColumnDef::new(WuyouAssessments::AssessedBy).string_len(100).not_null())
                .primary_key(
                    Index::create()
                        .col(WuyouAssessments::OrgId)
                        .col(WuyouAssessments::ItemCode),
                )
                .foreign_key(&mut fk(
                    WuyouAssessments::Table,
                    WuyouAssessments::OrgId,
                    Orgs::Table,
                    Orgs::Id,
                ))
                .foreign_key(&mut fk(
                    WuyouAssessments::Table,
                    WuyouAssessments::ItemCode,
                    WuyouItems::Table,
                    WuyouItems::Code,
                )),
        )
        .await?;
        Ok(())
    }
}
