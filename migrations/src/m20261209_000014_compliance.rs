//! The compliance program: frameworks and their requirements (a tree), the
//! org's controls mapped to requirements and tagged, evidence linked to
//! controls (a file's bytes live in the blob store, addressed by SHA-256),
//! and policies with their frozen versions and the members' acknowledgments.
//!
//! Every row carries `org_id`; the link tables carry it too, so each list a
//! filter or the readiness computation reads is one indexed range of one org.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Orgs {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Frameworks {
    Table,
    Id,
    OrgId,
    Name,
    Source,
    RequirementCount,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Requirements {
    Table,
    Id,
    OrgId,
    FrameworkId,
    /// The catalog's own id (`ac-2.1`); `ref` in the API.
    Reference,
    Title,
    Description,
    ParentId,
    /// Catalog order.
    Position,
}

#[derive(DeriveIden)]
enum Controls {
    Table,
    Id,
    OrgId,
    Title,
    Description,
    Status,
    Justification,
    OwnerId,
    ReviewEveryDays,
    NextReviewAt,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ControlRequirements {
    Table,
    ControlId,
    RequirementId,
    /// The requirement's framework: filters and readiness read by it.
    FrameworkId,
    OrgId,
}

#[derive(DeriveIden)]
enum ControlTags {
    Table,
    ControlId,
    Tag,
    OrgId,
}

#[derive(DeriveIden)]
enum Evidence {
    Table,
    Id,
    OrgId,
    Kind,
    Title,
    Note,
    Url,
    FileName,
    FileSize,
    FileSha256,
    FileContentType,
    /// JSON: what a platform check found, and the chain head it ran at.
    PlatformCheck,
    CollectedAt,
    ValidUntil,
    ReviewState,
    ReviewerId,
    ReviewedAt,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum EvidenceControls {
    Table,
    EvidenceId,
    ControlId,
    OrgId,
}

#[derive(DeriveIden)]
enum Policies {
    Table,
    Id,
    OrgId,
    Title,
    Body,
    Status,
    CurrentVersion,
    /// Whether `body` differs from the current version's (or nothing is published).
    UnpublishedChanges,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PolicyVersions {
    Table,
    PolicyId,
    Number,
    OrgId,
    Body,
    PublishedAt,
    PublishedBy,
}

#[derive(DeriveIden)]
enum PolicyAcknowledgments {
    Table,
    PolicyId,
    Version,
    UserId,
    OrgId,
    AcknowledgedAt,
}

/// `from` references `to`; deleting the referenced row does `on_delete`.
fn reference<T, C, U, D>(from: (T, C), to: (U, D), on_delete: ForeignKeyAction) -> ForeignKeyCreateStatement
where
    T: IntoTableRef + 'static,
    C: IntoIden + 'static,
    U: IntoTableRef + 'static,
    D: IntoIden + 'static,
{
    ForeignKey::create()
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(on_delete)
        .to_owned()
}

fn belongs_to_org(
    table: impl IntoTableRef + 'static,
    column: impl IntoIden + 'static,
) -> ForeignKeyCreateStatement {
    reference(
        (table, column),
        (Orgs::Table, Orgs::Id),
        ForeignKeyAction::Cascade,
    )
}

fn index(name: &str, table: impl IntoIden + 'static, columns: &[&'static str]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(Alias::new(*column));
    }
    index.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Frameworks::Table)
                    .col(pk_uuid(Frameworks::Id))
                    .col(uuid(Frameworks::OrgId))
                    .col(string_len(Frameworks::Name, 200))
                    .col(string_len(Frameworks::Source, 16))
                    .col(integer(Frameworks::RequirementCount))
                    .col(timestamp_with_time_zone(Frameworks::CreatedAt))
                    .foreign_key(&mut belongs_to_org(Frameworks::Table, Frameworks::OrgId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Requirements::Table)
                    .col(pk_uuid(Requirements::Id))
                    .col(uuid(Requirements::OrgId))
                    .col(uuid(Requirements::FrameworkId))
                    .col(string_len(Requirements::Reference, 128))
                    .col(text(Requirements::Title))
                    .col(text_null(Requirements::Description))
                    .col(uuid_null(Requirements::ParentId))
                    .col(integer(Requirements::Position))
                    .foreign_key(&mut reference(
                        (Requirements::Table, Requirements::FrameworkId),
                        (Frameworks::Table, Frameworks::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Controls::Table)
                    .col(pk_uuid(Controls::Id))
                    .col(uuid(Controls::OrgId))
                    .col(string_len(Controls::Title, 300))
                    .col(text_null(Controls::Description))
                    .col(string_len(Controls::Status, 16))
                    .col(text_null(Controls::Justification))
                    .col(uuid_null(Controls::OwnerId))
                    .col(integer_null(Controls::ReviewEveryDays))
                    .col(timestamp_with_time_zone_null(Controls::NextReviewAt))
                    .col(integer(Controls::Version).default(1))
                    .col(timestamp_with_time_zone(Controls::CreatedAt))
                    .col(timestamp_with_time_zone(Controls::UpdatedAt))
                    .foreign_key(&mut belongs_to_org(Controls::Table, Controls::OrgId))
                    .foreign_key(&mut reference(
                        (Controls::Table, Controls::OwnerId),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ControlRequirements::Table)
                    .col(uuid(ControlRequirements::ControlId))
                    .col(uuid(ControlRequirements::RequirementId))
                    .col(uuid(ControlRequirements::FrameworkId))
                    .col(uuid(ControlRequirements::OrgId))
                    .primary_key(
                        Index::create()
                            .col(ControlRequirements::ControlId)
                            .col(ControlRequirements::RequirementId),
                    )
                    .foreign_key(&mut reference(
                        (ControlRequirements::Table, ControlRequirements::ControlId),
                        (Controls::Table, Controls::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut reference(
                        (ControlRequirements::Table, ControlRequirements::RequirementId),
                        (Requirements::Table, Requirements::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ControlTags::Table)
                    .col(uuid(ControlTags::ControlId))
                    .col(string_len(ControlTags::Tag, 64))
                    .col(uuid(ControlTags::OrgId))
                    .primary_key(Index::create().col(ControlTags::ControlId).col(ControlTags::Tag))
                    .foreign_key(&mut reference(
                        (ControlTags::Table, ControlTags::ControlId),
                        (Controls::Table, Controls::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Evidence::Table)
                    .col(pk_uuid(Evidence::Id))
                    .col(uuid(Evidence::OrgId))
                    .col(string_len(Evidence::Kind, 8))
                    .col(string_len(Evidence::Title, 300))
                    .col(text_null(Evidence::Note))
                    .col(text_null(Evidence::Url))
                    .col(string_len_null(Evidence::FileName, 255))
                    .col(big_integer_null(Evidence::FileSize))
                    .col(string_len_null(Evidence::FileSha256, 64))
                    .col(string_len_null(Evidence::FileContentType, 128))
                    .col(text_null(Evidence::PlatformCheck))
                    .col(timestamp_with_time_zone(Evidence::CollectedAt))
                    .col(timestamp_with_time_zone_null(Evidence::ValidUntil))
                    .col(string_len(Evidence::ReviewState, 16))
                    .col(uuid_null(Evidence::ReviewerId))
                    .col(timestamp_with_time_zone_null(Evidence::ReviewedAt))
                    .col(integer(Evidence::Version).default(1))
                    .col(timestamp_with_time_zone(Evidence::CreatedAt))
                    .col(timestamp_with_time_zone(Evidence::UpdatedAt))
                    .foreign_key(&mut belongs_to_org(Evidence::Table, Evidence::OrgId))
                    .foreign_key(&mut reference(
                        (Evidence::Table, Evidence::ReviewerId),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(EvidenceControls::Table)
                    .col(uuid(EvidenceControls::EvidenceId))
                    .col(uuid(EvidenceControls::ControlId))
                    .col(uuid(EvidenceControls::OrgId))
                    .primary_key(
                        Index::create()
                            .col(EvidenceControls::EvidenceId)
                            .col(EvidenceControls::ControlId),
                    )
                    .foreign_key(&mut reference(
                        (EvidenceControls::Table, EvidenceControls::EvidenceId),
                        (Evidence::Table, Evidence::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut reference(
                        (EvidenceControls::Table, EvidenceControls::ControlId),
                        (Controls::Table, Controls::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Policies::Table)
                    .col(pk_uuid(Policies::Id))
                    .col(uuid(Policies::OrgId))
                    .col(string_len(Policies::Title, 300))
                    .col(text(Policies::Body))
                    .col(string_len(Policies::Status, 16))
                    .col(integer_null(Policies::CurrentVersion))
                    .col(boolean(Policies::UnpublishedChanges))
                    .col(integer(Policies::Version).default(1))
                    .col(timestamp_with_time_zone(Policies::CreatedAt))
                    .col(timestamp_with_time_zone(Policies::UpdatedAt))
                    .foreign_key(&mut belongs_to_org(Policies::Table, Policies::OrgId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PolicyVersions::Table)
                    .col(uuid(PolicyVersions::PolicyId))
                    .col(integer(PolicyVersions::Number))
                    .col(uuid(PolicyVersions::OrgId))
                    .col(text(PolicyVersions::Body))
                    .col(timestamp_with_time_zone(PolicyVersions::PublishedAt))
                    .col(uuid(PolicyVersions::PublishedBy))
                    .primary_key(
                        Index::create()
                            .col(PolicyVersions::PolicyId)
                            .col(PolicyVersions::Number),
                    )
                    .foreign_key(&mut reference(
                        (PolicyVersions::Table, PolicyVersions::PolicyId),
                        (Policies::Table, Policies::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PolicyAcknowledgments::Table)
                    .col(uuid(PolicyAcknowledgments::PolicyId))
                    .col(integer(PolicyAcknowledgments::Version))
                    .col(uuid(PolicyAcknowledgments::UserId))
                    .col(uuid(PolicyAcknowledgments::OrgId))
                    .col(timestamp_with_time_zone(PolicyAcknowledgments::AcknowledgedAt))
                    .primary_key(
                        Index::create()
                            .col(PolicyAcknowledgments::PolicyId)
                            .col(PolicyAcknowledgments::Version)
                            .col(PolicyAcknowledgments::UserId),
                    )
                    .foreign_key(&mut reference(
                        (PolicyAcknowledgments::Table, PolicyAcknowledgments::PolicyId),
                        (Policies::Table, Policies::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut reference(
                        (PolicyAcknowledgments::Table, PolicyAcknowledgments::UserId),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        for index in [
            index("frameworks_of_org", Frameworks::Table, &["org_id", "id"]),
            index(
                "requirements_of_framework",
                Requirements::Table,
                &["framework_id", "position"],
            ),
            index(
                "requirements_by_ref",
                Requirements::Table,
                &["framework_id", "reference"],
            )
            .unique()
            .to_owned(),
            index("controls_of_org", Controls::Table, &["org_id", "id"]),
            index("controls_by_status", Controls::Table, &["org_id", "status", "id"]),
            index(
                "controls_by_owner",
                Controls::Table,
                &["org_id", "owner_id", "id"],
            ),
            index(
                "control_requirements_by_framework",
                ControlRequirements::Table,
                &["framework_id", "control_id"],
            ),
            index(
                "control_requirements_by_requirement",
                ControlRequirements::Table,
                &["requirement_id"],
            ),
            index(
                "control_tags_by_tag",
                ControlTags::Table,
                &["org_id", "tag", "control_id"],
            ),
            index("evidence_of_org", Evidence::Table, &["org_id", "id"]),
            index("evidence_by_blob", Evidence::Table, &["org_id", "file_sha256"]),
            index(
                "evidence_controls_by_control",
                EvidenceControls::Table,
                &["control_id"],
            ),
            index("policies_of_org", Policies::Table, &["org_id", "id"]),
        ] {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            PolicyAcknowledgments::Table.into_iden(),
            PolicyVersions::Table.into_iden(),
            Policies::Table.into_iden(),
            EvidenceControls::Table.into_iden(),
            Evidence::Table.into_iden(),
            ControlTags::Table.into_iden(),
            ControlRequirements::Table.into_iden(),
            Controls::Table.into_iden(),
            Requirements::Table.into_iden(),
            Frameworks::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
