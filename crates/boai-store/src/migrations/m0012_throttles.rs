//! Security counters (issue 24):
//! - `throttles`: one row per (kind, key) counting attempts in a window, with
//!   an optional lock — failed sign-ins of unknown user names (so they lock
//!   like known ones), find-my-gift guesses per certificate, and anonymous
//!   junk payment notifications per provider, reason and day;
//! - `payment_rejections.org_id` (the order's organisation, or the city when
//!   no order is known) so the list is scoped like every other, and
//!   `payment_rejections.hits` (unverified notifications are aggregated into
//!   one row per provider, reason and day instead of a row each).

use super::common::{create_table, index, timestamp};
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0012_throttles"
    }
}

#[derive(DeriveIden)]
enum Throttles {
    Table,
    Kind,
    Key,
    WindowStart,
    Hits,
    LockedUntil,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PaymentRejections {
    Table,
    OrgId,
    Hits,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_table(
            manager,
            Table::create()
                .table(Throttles::Table)
                .col(ColumnDef::new(Throttles::Kind).string_len(16).not_null())
                .col(ColumnDef::new(Throttles::Key).string_len(128).not_null())
                .col(timestamp(Throttles::WindowStart))
                .col(ColumnDef::new(Throttles::Hits).big_integer().not_null())
                .col(ColumnDef::new(Throttles::LockedUntil).timestamp_with_time_zone().null())
                .col(timestamp(Throttles::UpdatedAt))
                .primary_key(Index::create().col(Throttles::Kind).col(Throttles::Key)),
        )
        .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(PaymentRejections::Table)
                    .add_column(ColumnDef::new(PaymentRejections::OrgId).uuid().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(PaymentRejections::Table)
                    .add_column(
                        ColumnDef::new(PaymentRejections::Hits)
                            .big_integer()
                            .not_null()
                            .default(1),
                    )
                    .to_owned(),
            )
            .await?;
        // Earlier rows: the order's organisation where the order is known,
        // the city otherwise (standard SQL, the same on both backends).
        let db = manager.get_connection();
        for statement in [
            r#"UPDATE "payment_rejections" SET "org_id" = (SELECT "o"."org_id" FROM "payment_orders" AS "o" WHERE "o"."out_trade_no" = "payment_rejections"."out_trade_no") WHERE "org_id" IS NULL"#,
            r#"UPDATE "payment_rejections" SET "org_id" = (SELECT "r"."id" FROM "orgs" AS "r" WHERE "r"."parent_id" IS NULL ORDER BY "r"."path" LIMIT 1) WHERE "org_id" IS NULL"#,
        ] {
            db.execute_unprepared(statement).await?;
        }
        index(
            manager,
            "payment_rejections_org",
            PaymentRejections::Table,
            [PaymentRejections::OrgId],
        )
        .await?;
        Ok(())
    }
}
