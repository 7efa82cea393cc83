//! Feature flags: each org's flags, and `orgs.flags_version`, which triggers
//! bump on every change to a flag's definition.
//!
//! Instances evaluate flags from an in-memory snapshot per org, rebuilt when the
//! org row they read (cached under the credentials epoch, which any org row
//! change moves) shows a newer `flags_version`: a change made on any instance is
//! served by every instance on its next evaluation, with no query on the hot
//! path. The evaluation stamp (`last_evaluated_at`) is not part of the
//! definition and moves nothing.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Flags {
    Table,
    OrgId,
    Key,
    Kind,
    Enabled,
    Definition,
    Version,
    CreatedAt,
    UpdatedAt,
    LastEvaluatedAt,
}

#[derive(DeriveIden)]
enum Orgs {
    Table,
    Id,
    FlagsVersion,
}

/// The columns whose change is a change of what the flag serves.
const DEFINITION: &str = "kind, enabled, definition, version";

fn create_triggers(backend: DatabaseBackend) -> Vec<String> {
    match backend {
        DatabaseBackend::Postgres => vec![
            r#"CREATE FUNCTION attest_bump_flags_version() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE orgs SET flags_version = flags_version + 1
                WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.org_id ELSE NEW.org_id END;
                RETURN NULL;
            END $$"#
                .to_owned(),
            format!(
                "CREATE TRIGGER flags_bump_version AFTER INSERT OR DELETE OR UPDATE OF {DEFINITION} \
                 ON flags FOR EACH ROW EXECUTE FUNCTION attest_bump_flags_version()"
            ),
        ],
        _ => [
            ("insert", "INSERT".to_owned(), "NEW"),
            ("update", format!("UPDATE OF {DEFINITION}"), "NEW"),
            ("delete", "DELETE".to_owned(), "OLD"),
        ]
        .into_iter()
        .map(|(name, event, row)| {
            format!(
                "CREATE TRIGGER flags_bump_version_{name} AFTER {event} ON flags FOR EACH ROW \
                 BEGIN UPDATE orgs SET flags_version = flags_version + 1 WHERE id = {row}.org_id; END"
            )
        })
        .collect(),
    }
}

fn drop_triggers(backend: DatabaseBackend) -> Vec<String> {
    match backend {
        DatabaseBackend::Postgres => vec![
            "DROP TRIGGER IF EXISTS flags_bump_version ON flags".to_owned(),
            "DROP FUNCTION IF EXISTS attest_bump_flags_version()".to_owned(),
        ],
        _ => ["insert", "update", "delete"]
            .map(|name| format!("DROP TRIGGER IF EXISTS flags_bump_version_{name}"))
            .to_vec(),
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Orgs::Table)
                    .add_column(big_integer(Orgs::FlagsVersion).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Flags::Table)
                    .col(uuid(Flags::OrgId))
                    .col(string_len(Flags::Key, 128))
                    .col(string_len(Flags::Kind, 16))
                    .col(boolean(Flags::Enabled))
                    // JSON: description, variants, default and off variants, rules, rollout.
                    .col(text(Flags::Definition))
                    .col(integer(Flags::Version).default(1))
                    .col(timestamp_with_time_zone(Flags::CreatedAt))
                    .col(timestamp_with_time_zone(Flags::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Flags::LastEvaluatedAt))
                    .primary_key(Index::create().col(Flags::OrgId).col(Flags::Key))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Flags::Table, Flags::OrgId)
                            .to(Orgs::Table, Orgs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        for statement in create_triggers(manager.get_database_backend()) {
            db.execute_unprepared(&statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for statement in drop_triggers(manager.get_database_backend()) {
            db.execute_unprepared(&statement).await?;
        }
        manager
            .drop_table(Table::drop().table(Flags::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Orgs::Table)
                    .drop_column(Orgs::FlagsVersion)
                    .to_owned(),
            )
            .await
    }
}
