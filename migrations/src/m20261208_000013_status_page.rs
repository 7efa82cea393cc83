//! The public status page: components, incidents with their updates,
//! maintenances, and the mail subscribers of the page; `status_page.version`,
//! moved in the transaction of every change, tells each instance when its
//! in-memory rendering is stale. The outbox learns `List-Unsubscribe`.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum StatusComponents {
    Table,
    Id,
    Name,
    Description,
    GroupName,
    Position,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum StatusIncidents {
    Table,
    Id,
    Name,
    Impact,
    Status,
    /// JSON array of the affected components' ids.
    ComponentIds,
    CreatedAt,
    UpdatedAt,
    ResolvedAt,
}

#[derive(DeriveIden)]
enum StatusIncidentUpdates {
    Table,
    Id,
    IncidentId,
    Status,
    Message,
    /// JSON object: component id -> the status this update set.
    Components,
    CreatedAt,
}

#[derive(DeriveIden)]
enum StatusMaintenances {
    Table,
    Id,
    Name,
    Message,
    ScheduledFor,
    ScheduledUntil,
    ComponentIds,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum StatusSubscribers {
    Table,
    Id,
    Email,
    ConfirmTokenHash,
    ConfirmExpiresAt,
    ConfirmedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum StatusPage {
    Table,
    Id,
    Version,
}

#[derive(DeriveIden)]
enum MailOutbox {
    Table,
    ListUnsubscribe,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(StatusComponents::Table)
                    .col(pk_uuid(StatusComponents::Id))
                    .col(string_len(StatusComponents::Name, 100))
                    .col(text_null(StatusComponents::Description))
                    .col(string_len_null(StatusComponents::GroupName, 100))
                    .col(integer(StatusComponents::Position))
                    .col(string_len(StatusComponents::Status, 32))
                    .col(timestamp_with_time_zone(StatusComponents::CreatedAt))
                    .col(timestamp_with_time_zone(StatusComponents::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StatusIncidents::Table)
                    .col(pk_uuid(StatusIncidents::Id))
                    .col(string_len(StatusIncidents::Name, 200))
                    .col(string_len(StatusIncidents::Impact, 16))
                    .col(string_len(StatusIncidents::Status, 16))
                    .col(text(StatusIncidents::ComponentIds))
                    .col(timestamp_with_time_zone(StatusIncidents::CreatedAt))
                    .col(timestamp_with_time_zone(StatusIncidents::UpdatedAt))
                    .col(timestamp_with_time_zone_null(StatusIncidents::ResolvedAt))
                    .to_owned(),
            )
            .await?;
        // The page lists open incidents, then the history newest first.
        manager
            .create_index(
                Index::create()
                    .name("status_incidents_by_time")
                    .table(StatusIncidents::Table)
                    .col(StatusIncidents::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StatusIncidentUpdates::Table)
                    .col(pk_uuid(StatusIncidentUpdates::Id))
                    .col(uuid(StatusIncidentUpdates::IncidentId))
                    .col(string_len(StatusIncidentUpdates::Status, 16))
                    .col(text(StatusIncidentUpdates::Message))
                    .col(text(StatusIncidentUpdates::Components))
                    .col(timestamp_with_time_zone(StatusIncidentUpdates::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(StatusIncidentUpdates::Table, StatusIncidentUpdates::IncidentId)
                            .to(StatusIncidents::Table, StatusIncidents::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("status_incident_updates_of_incident")
                    .table(StatusIncidentUpdates::Table)
                    .col(StatusIncidentUpdates::IncidentId)
                    .col(StatusIncidentUpdates::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StatusMaintenances::Table)
                    .col(pk_uuid(StatusMaintenances::Id))
                    .col(string_len(StatusMaintenances::Name, 200))
                    .col(text(StatusMaintenances::Message))
                    .col(timestamp_with_time_zone(StatusMaintenances::ScheduledFor))
                    .col(timestamp_with_time_zone(StatusMaintenances::ScheduledUntil))
                    .col(text(StatusMaintenances::ComponentIds))
                    .col(timestamp_with_time_zone(StatusMaintenances::CreatedAt))
                    .col(timestamp_with_time_zone(StatusMaintenances::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StatusSubscribers::Table)
                    .col(pk_uuid(StatusSubscribers::Id))
                    .col(string_len_uniq(StatusSubscribers::Email, 320))
                    .col(string_len_null(StatusSubscribers::ConfirmTokenHash, 64))
                    .col(timestamp_with_time_zone_null(StatusSubscribers::ConfirmExpiresAt))
                    .col(timestamp_with_time_zone_null(StatusSubscribers::ConfirmedAt))
                    .col(timestamp_with_time_zone(StatusSubscribers::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("status_subscribers_by_confirm_token")
                    .table(StatusSubscribers::Table)
                    .col(StatusSubscribers::ConfirmTokenHash)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StatusPage::Table)
                    .col(integer(StatusPage::Id).primary_key())
                    .col(big_integer(StatusPage::Version).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(StatusPage::Table)
                    .columns([StatusPage::Id, StatusPage::Version])
                    .values_panic([1.into(), 0.into()])
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(MailOutbox::Table)
                    .add_column(text_null(MailOutbox::ListUnsubscribe))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(MailOutbox::Table)
                    .drop_column(MailOutbox::ListUnsubscribe)
                    .to_owned(),
            )
            .await?;
        for table in [
            StatusPage::Table.into_iden(),
            StatusSubscribers::Table.into_iden(),
            StatusMaintenances::Table.into_iden(),
            StatusIncidentUpdates::Table.into_iden(),
            StatusIncidents::Table.into_iden(),
            StatusComponents::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
