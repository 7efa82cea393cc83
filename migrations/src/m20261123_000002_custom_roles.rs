//! Custom roles: per-org named sets of permissions, beside the built-in roles.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OrgRoles {
    Table,
    OrgId,
    Name,
    Permissions,
    Version,
    CreatedAt,
    UpdatedAt,
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
                    .table(OrgRoles::Table)
                    .col(uuid(OrgRoles::OrgId))
                    .col(string_len(OrgRoles::Name, 64))
                    // JSON array of permission names.
                    .col(text(OrgRoles::Permissions))
                    .col(integer(OrgRoles::Version).default(1))
                    .col(timestamp_with_time_zone(OrgRoles::CreatedAt))
                    .col(timestamp_with_time_zone(OrgRoles::UpdatedAt))
                    .primary_key(Index::create().col(OrgRoles::OrgId).col(OrgRoles::Name))
                    .foreign_key(
                        ForeignKey::create()
                            .from(OrgRoles::Table, OrgRoles::OrgId)
                            .to(Orgs::Table, Orgs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OrgRoles::Table).to_owned())
            .await
    }
}
