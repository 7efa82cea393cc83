//! SSO domains are proven before they count, identities are linked on purpose,
//! and passwords can be reset.
//!
//! - `sso_domains` becomes one claim per (org, domain) with a state: `pending`
//!   until the org proves the domain (a DNS TXT record, or an operator vouching),
//!   then `verified`; `suspended` when a later check no longer finds the record.
//!   Several orgs may claim a domain while it is pending; only one may hold it
//!   verified (a partial unique index). Claims from before this step were never
//!   proven: they become `pending`, with a fresh challenge.
//! - `sso_flows.link_user_id`: a flow started from the account page links the
//!   IdP's identity to that (re-authenticated) user instead of signing in.
//! - Identities linked before this step were linked on an unproven domain's
//!   word. Those of accounts that belong to another org too (or are operators)
//!   are removed: their owners link them again with their own credentials.
//!   (`down` cannot bring them back.)
//! - `password_resets`: single-use reset tokens, stored as SHA-256 only.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SsoDomains {
    Table,
    OrgId,
    Domain,
    State,
    TxtToken,
    CreatedAt,
    VerifiedAt,
    VerifiedMethod,
    CheckedAt,
}

/// The table as it stood before this step, while its rows are copied.
#[derive(DeriveIden)]
enum SsoDomainsUnproven {
    Table,
}

#[derive(DeriveIden)]
enum SsoFlows {
    Table,
    LinkUserId,
}

#[derive(DeriveIden)]
enum PasswordResets {
    Table,
    Id,
    UserId,
    TokenHash,
    CreatedAt,
    ExpiresAt,
    UsedAt,
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

/// One statement per call: the same SQL on SQLite and PostgreSQL unless noted.
async fn run(manager: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    manager.get_connection().execute_unprepared(sql).await.map(|_| ())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Copied aside and rebuilt (SQLite cannot change a primary key in place).
        run(
            manager,
            "CREATE TABLE sso_domains_unproven AS SELECT org_id, domain FROM sso_domains",
        )
        .await?;
        manager
            .drop_table(Table::drop().table(SsoDomains::Table).to_owned())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SsoDomains::Table)
                    .col(uuid(SsoDomains::OrgId))
                    // Lowercased.
                    .col(string_len(SsoDomains::Domain, 253))
                    .col(string_len(SsoDomains::State, 16).default("pending"))
                    // The random half of `attest-verification=<token>`.
                    .col(string_len(SsoDomains::TxtToken, 64))
                    .col(timestamp_with_time_zone(SsoDomains::CreatedAt))
                    .col(timestamp_with_time_zone_null(SsoDomains::VerifiedAt))
                    // `dns` or `operator`.
                    .col(string_len_null(SsoDomains::VerifiedMethod, 16))
                    // The last scheduled re-check of a DNS-proven domain.
                    .col(timestamp_with_time_zone_null(SsoDomains::CheckedAt))
                    .primary_key(Index::create().col(SsoDomains::OrgId).col(SsoDomains::Domain))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SsoDomains::Table, SsoDomains::OrgId)
                            .to(Orgs::Table, Orgs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("sso_domains_domain")
                    .table(SsoDomains::Table)
                    .col(SsoDomains::Domain)
                    .to_owned(),
            )
            .await?;
        // One org at most holds a domain verified.
        run(
            manager,
            "CREATE UNIQUE INDEX sso_domains_verified ON sso_domains (domain) WHERE state = 'verified'",
        )
        .await?;
        let copy = match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                "INSERT INTO sso_domains (org_id, domain, state, txt_token, created_at) \
                 SELECT org_id, domain, 'pending', md5(gen_random_uuid()::text), CURRENT_TIMESTAMP \
                 FROM sso_domains_unproven"
            }
            _ => {
                "INSERT INTO sso_domains (org_id, domain, state, txt_token, created_at) \
                 SELECT org_id, domain, 'pending', lower(hex(randomblob(16))), \
                 strftime('%Y-%m-%dT%H:%M:%SZ', 'now') FROM sso_domains_unproven"
            }
        };
        run(manager, copy).await?;
        manager
            .drop_table(Table::drop().table(SsoDomainsUnproven::Table).to_owned())
            .await?;
        run(
            manager,
            "DELETE FROM user_identities WHERE EXISTS (SELECT 1 FROM memberships m \
             WHERE m.user_id = user_identities.user_id AND m.org_id <> user_identities.org_id) \
             OR EXISTS (SELECT 1 FROM users u WHERE u.id = user_identities.user_id AND u.is_operator)",
        )
        .await?;

        manager
            .alter_table(
                Table::alter()
                    .table(SsoFlows::Table)
                    .add_column(uuid_null(SsoFlows::LinkUserId))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PasswordResets::Table)
                    .col(pk_uuid(PasswordResets::Id))
                    .col(uuid(PasswordResets::UserId))
                    // SHA-256 of the token mailed; the token itself is never stored.
                    .col(string_len_uniq(PasswordResets::TokenHash, 64))
                    .col(timestamp_with_time_zone(PasswordResets::CreatedAt))
                    .col(timestamp_with_time_zone(PasswordResets::ExpiresAt))
                    .col(timestamp_with_time_zone_null(PasswordResets::UsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PasswordResets::Table, PasswordResets::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("password_resets_user")
                    .table(PasswordResets::Table)
                    .col(PasswordResets::UserId)
                    .col(PasswordResets::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PasswordResets::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(SsoFlows::Table)
                    .drop_column(SsoFlows::LinkUserId)
                    .to_owned(),
            )
            .await?;
        // Back to one org per domain: a verified claim wins, then any other.
        run(
            manager,
            "CREATE TABLE sso_domains_unproven AS SELECT org_id, domain, state FROM sso_domains",
        )
        .await?;
        manager
            .drop_table(Table::drop().table(SsoDomains::Table).to_owned())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SsoDomains::Table)
                    .col(string_len(SsoDomains::Domain, 253).primary_key())
                    .col(uuid(SsoDomains::OrgId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SsoDomains::Table, SsoDomains::OrgId)
                            .to(Orgs::Table, Orgs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
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
        run(
            manager,
            "INSERT INTO sso_domains (domain, org_id) SELECT domain, org_id FROM sso_domains_unproven \
             WHERE state = 'verified'",
        )
        .await?;
        run(
            manager,
            "INSERT INTO sso_domains (domain, org_id) SELECT domain, org_id FROM sso_domains_unproven \
             WHERE state <> 'verified' ON CONFLICT DO NOTHING",
        )
        .await?;
        manager
            .drop_table(Table::drop().table(SsoDomainsUnproven::Table).to_owned())
            .await
    }
}
