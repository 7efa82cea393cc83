//! Organization SSO: each org's OpenID provider, the email domains it claims,
//! the IdP identities linked to users, and sign-in flows in progress.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SsoConfigs {
    Table,
    OrgId,
    Enabled,
    Issuer,
    ClientId,
    ClientSecret,
    JitProvisioning,
    DefaultRole,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SsoDomains {
    Table,
    Domain,
    OrgId,
}

#[derive(DeriveIden)]
enum UserIdentities {
    Table,
    Issuer,
    Subject,
    UserId,
    OrgId,
    CreatedAt,
    LastSignedInAt,
}

#[derive(DeriveIden)]
enum SsoFlows {
    Table,
    Id,
    CookieHash,
    OrgId,
    State,
    Nonce,
    PkceVerifier,
    ReturnTo,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    IdpIssuer,
    IdpSid,
}

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

fn org_key(table: impl IntoIden + 'static) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, Alias::new("org_id"))
        .to(Orgs::Table, Orgs::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SsoConfigs::Table)
                    .col(uuid(SsoConfigs::OrgId).primary_key())
                    .col(boolean(SsoConfigs::Enabled).default(false))
                    .col(string_len(SsoConfigs::Issuer, 2048))
                    .col(string_len(SsoConfigs::ClientId, 512))
                    // Sealed with a key derived from ATTEST_SECRET_KEY; never returned.
                    .col(text_null(SsoConfigs::ClientSecret))
                    .col(boolean(SsoConfigs::JitProvisioning).default(false))
                    .col(string_len(SsoConfigs::DefaultRole, 64))
                    .col(integer(SsoConfigs::Version).default(1))
                    .col(timestamp_with_time_zone(SsoConfigs::CreatedAt))
                    .col(timestamp_with_time_zone(SsoConfigs::UpdatedAt))
                    .foreign_key(&mut org_key(SsoConfigs::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SsoDomains::Table)
                    // Lowercased; a domain belongs to one org at most.
                    .col(string_len(SsoDomains::Domain, 253).primary_key())
                    .col(uuid(SsoDomains::OrgId))
                    .foreign_key(&mut org_key(SsoDomains::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("sso_domains_org")
                    .table(SsoDomains::Table)
                    .col(SsoDomains::OrgId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UserIdentities::Table)
                    .col(string_len(UserIdentities::Issuer, 2048))
                    .col(string_len(UserIdentities::Subject, 255))
                    .col(uuid(UserIdentities::UserId))
                    .col(uuid(UserIdentities::OrgId))
                    .col(timestamp_with_time_zone(UserIdentities::CreatedAt))
                    .col(timestamp_with_time_zone(UserIdentities::LastSignedInAt))
                    // An identity is its issuer and subject, never its email.
                    .primary_key(
                        Index::create()
                            .col(UserIdentities::Issuer)
                            .col(UserIdentities::Subject),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(UserIdentities::Table, UserIdentities::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(&mut org_key(UserIdentities::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("user_identities_org_user")
                    .table(UserIdentities::Table)
                    .col(UserIdentities::OrgId)
                    .col(UserIdentities::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SsoFlows::Table)
                    .col(pk_uuid(SsoFlows::Id))
                    // SHA-256 of the pre-auth cookie's token.
                    .col(string_len_uniq(SsoFlows::CookieHash, 64))
                    .col(uuid(SsoFlows::OrgId))
                    .col(string_len(SsoFlows::State, 64))
                    .col(string_len(SsoFlows::Nonce, 64))
                    // Sealed with a key derived from ATTEST_SECRET_KEY.
                    .col(text(SsoFlows::PkceVerifier))
                    .col(text(SsoFlows::ReturnTo))
                    .col(timestamp_with_time_zone(SsoFlows::ExpiresAt))
                    .foreign_key(&mut org_key(SsoFlows::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("sessions_idp")
                    .table(Sessions::Table)
                    .col(Sessions::IdpIssuer)
                    .col(Sessions::IdpSid)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("sessions_idp")
                    .table(Sessions::Table)
                    .to_owned(),
            )
            .await?;
        for table in [
            SsoFlows::Table.into_iden(),
            UserIdentities::Table.into_iden(),
            SsoDomains::Table.into_iden(),
            SsoConfigs::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
