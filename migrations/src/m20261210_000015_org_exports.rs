//! Org exports: a request for everything an org holds, written by a background
//! task into a zip under the data folder and downloadable until it expires.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OrgExports {
    Table,
    Id,
    OrgId,
    RequestedBy,
    /// `queued`, `running`, `completed`, `failed` or `expired`.
    Status,
    /// 0–100.
    Progress,
    Error,
    FileSize,
    FileSha256,
    CreatedAt,
    CompletedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Orgs {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OrgExports::Table)
                    .col(uuid(OrgExports::Id).primary_key())
                    .col(uuid(OrgExports::OrgId))
                    .col(uuid(OrgExports::RequestedBy))
                    .col(string_len(OrgExports::Status, 16))
                    .col(integer(OrgExports::Progress).default(0))
                    .col(text_null(OrgExports::Error))
                    .col(big_integer_null(OrgExports::FileSize))
                    .col(string_len_null(OrgExports::FileSha256, 64))
                    .col(timestamp_with_time_zone(OrgExports::CreatedAt))
                    .col(timestamp_with_time_zone_null(OrgExports::CompletedAt))
                    .col(timestamp_with_time_zone_null(OrgExports::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(OrgExports::Table, OrgExports::OrgId)
                            .to(Orgs::Table, Orgs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("org_exports_by_org")
                    .table(OrgExports::Table)
                    .col(OrgExports::OrgId)
                    .col(OrgExports::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OrgExports::Table).to_owned())
            .await
    }
}
