//! The platform's tables: organisations, users, sessions, API tokens, the
//! audit trail and its head, idempotency records, installation facts.

use super::common::{create_table, fk, index, timestamp};
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0001_platform"
    }
}

#[derive(DeriveIden)]
enum Orgs {
    Table,
    Id,
    Code,
    Name,
    Level,
    Kind,
    ParentId,
    Path,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    DisplayName,
    Role,
    OrgId,
    PasswordHash,
    FailedLogins,
    LockedUntil,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    UserId,
    CsrfToken,
    CreatedAt,
    LastSeenAt,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    UserId,
    Name,
    TokenHash,
    Access,
    CreatedAt,
    ExpiresAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Seq,
    At,
    ActorId,
    ActorName,
    Ip,
    Action,
    Entity,
    EntityId,
    OrgId,
    Before,
    After,
    PrevHash,
    Hash,
}

#[derive(DeriveIden)]
enum AuditHead {
    Table,
    Id,
    Seq,
    Hash,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    UserId,
    Key,
    RequestHash,
    Status,
    Body,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AppMeta {
    Table,
    Key,
    Value,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_table(
            manager,
            Table::create()
                .table(Orgs::Table)
                .col(ColumnDef::new(Orgs::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(Orgs::Code).string_len(32).not_null().unique_key())
                .col(ColumnDef::new(Orgs::Name).string_len(200).not_null())
                .col(ColumnDef::new(Orgs::Level).string_len(16).not_null())
                .col(ColumnDef::new(Orgs::Kind).string_len(32).not_null())
                .col(ColumnDef::new(Orgs::ParentId).uuid().null())
                .col(ColumnDef::new(Orgs::Path).string_len(400).not_null())
                .col(timestamp(Orgs::CreatedAt))
                .col(timestamp(Orgs::UpdatedAt))
                .foreign_key(&mut fk(Orgs::Table, Orgs::ParentId, Orgs::Table, Orgs::Id)),
        )
        .await?;
        index(manager, "orgs_path", Orgs::Table, [Orgs::Path]).await?;
        index(manager, "orgs_parent", Orgs::Table, [Orgs::ParentId]).await?;

        create_table(
            manager,
            Table::create()
                .table(Users::Table)
                .col(ColumnDef::new(Users::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(Users::Username).string_len(32).not_null().unique_key())
                .col(ColumnDef::new(Users::DisplayName).string_len(100).not_null())
                .col(ColumnDef::new(Users::Role).string_len(32).not_null())
                .col(ColumnDef::new(Users::OrgId).uuid().not_null())
                .col(ColumnDef::new(Users::PasswordHash).string_len(200).not_null())
                .col(ColumnDef::new(Users::FailedLogins).integer().not_null().default(0))
                .col(ColumnDef::new(Users::LockedUntil).timestamp_with_time_zone().null())
                .col(ColumnDef::new(Users::Active).boolean().not_null().default(true))
                .col(timestamp(Users::CreatedAt))
                .col(timestamp(Users::UpdatedAt))
                .foreign_key(&mut fk(Users::Table, Users::OrgId, Orgs::Table, Orgs::Id)),
        )
        .await?;
        index(manager, "users_org", Users::Table, [Users::OrgId]).await?;

        create_table(
            manager,
            Table::create()
                .table(Sessions::Table)
                .col(ColumnDef::new(Sessions::Id).string_len(64).not_null().primary_key())
                .col(ColumnDef::new(Sessions::UserId).uuid().not_null())
                .col(ColumnDef::new(Sessions::CsrfToken).string_len(64).not_null())
                .col(timestamp(Sessions::CreatedAt))
                .col(timestamp(Sessions::LastSeenAt))
                .foreign_key(&mut fk(Sessions::Table, Sessions::UserId, Users::Table, Users::Id)),
        )
        .await?;
        index(manager, "sessions_user", Sessions::Table, [Sessions::UserId]).await?;

        create_table(
            manager,
            Table::create()
                .table(ApiTokens::Table)
                .col(ColumnDef::new(ApiTokens::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(ApiTokens::UserId).uuid().not_null())
                .col(ColumnDef::new(ApiTokens::Name).string_len(100).not_null())
                .col(
                    ColumnDef::new(ApiTokens::TokenHash)
                        .string_len(64)
                        .not_null()
                        .unique_key(),
                )
                .col(ColumnDef::new(ApiTokens::Access).string_len(16).not_null())
                .col(timestamp(ApiTokens::CreatedAt))
                .col(timestamp(ApiTokens::ExpiresAt))
                .col(ColumnDef::new(ApiTokens::LastUsedAt).timestamp_with_time_zone().null())
                .col(ColumnDef::new(ApiTokens::RevokedAt).timestamp_with_time_zone().null())
                .foreign_key(&mut fk(ApiTokens::Table, ApiTokens::UserId, Users::Table, Users::Id)),
        )
        .await?;
        index(manager, "api_tokens_user", ApiTokens::Table, [ApiTokens::UserId]).await?;

        create_table(
            manager,
            Table::create()
                .table(AuditLog::Table)
                .col(ColumnDef::new(AuditLog::Seq).big_integer().not_null().primary_key())
                .col(timestamp(AuditLog::At))
                .col(ColumnDef::new(AuditLog::ActorId).uuid().null())
                .col(ColumnDef::new(AuditLog::ActorName).string_len(100).not_null())
                .col(ColumnDef::new(AuditLog::Ip).string_len(64).null())
                .col(ColumnDef::new(AuditLog::Action).string_len(16).not_null())
                .col(ColumnDef::new(AuditLog::Entity).string_len(32).not_null())
                .col(ColumnDef::new(AuditLog::EntityId).string_len(100).not_null())
                .col(ColumnDef::new(AuditLog::OrgId).uuid().null())
                .col(ColumnDef::new(AuditLog::Before).text().null())
                .col(ColumnDef::new(AuditLog::After).text().null())
                .col(ColumnDef::new(AuditLog::PrevHash).string_len(64).not_null())
                .col(ColumnDef::new(AuditLog::Hash).string_len(64).not_null()),
        )
        .await?;
        index(manager, "audit_log_org", AuditLog::Table, [AuditLog::OrgId]).await?;
        index(
            manager,
            "audit_log_entity",
            AuditLog::Table,
            [AuditLog::Entity, AuditLog::EntityId],
        )
        .await?;

        create_table(
            manager,
            Table::create()
                .table(AuditHead::Table)
                .col(ColumnDef::new(AuditHead::Id).integer().not_null().primary_key())
                .col(ColumnDef::new(AuditHead::Seq).big_integer().not_null())
                .col(ColumnDef::new(AuditHead::Hash).string_len(64).not_null()),
        )
        .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(AuditHead::Table)
                    .columns([AuditHead::Id, AuditHead::Seq, AuditHead::Hash])
                    .values_panic([1.into(), 0i64.into(), boai_domain::audit::GENESIS_HASH.into()])
                    .to_owned(),
            )
            .await?;

        create_table(
            manager,
            Table::create()
                .table(IdempotencyKeys::Table)
                .col(ColumnDef::new(IdempotencyKeys::UserId).uuid().not_null())
                .col(ColumnDef::new(IdempotencyKeys::Key).string_len(200).not_null())
                .col(ColumnDef::new(IdempotencyKeys::RequestHash).string_len(64).not_null())
                .col(ColumnDef::new(IdempotencyKeys::Status).integer().not_null())
                .col(ColumnDef::new(IdempotencyKeys::Body).text().not_null())
                .col(timestamp(IdempotencyKeys::CreatedAt))
                .primary_key(Index::create().col(IdempotencyKeys::UserId).col(IdempotencyKeys::Key)),
        )
        .await?;

        create_table(
            manager,
            Table::create()
                .table(AppMeta::Table)
                .col(ColumnDef::new(AppMeta::Key).string_len(64).not_null().primary_key())
                .col(ColumnDef::new(AppMeta::Value).text().not_null()),
        )
        .await?;
        Ok(())
    }
}
