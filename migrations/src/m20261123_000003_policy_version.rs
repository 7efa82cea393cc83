//! Policy versions: every change to who holds which role in an org bumps
//! `orgs.policy_version`, so each server instance knows, from the org row it reads
//! anyway, whether its in-memory authorization decisions are still current.
//!
//! The bump is done by triggers, not by the services: a change made by any code
//! path (or by hand in SQL) cannot forget it. Memberships also gain a `version`
//! for `If-Match` on `PUT …/members/{user_id}/roles`.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Orgs {
    Table,
    PolicyVersion,
}

#[derive(DeriveIden)]
enum Memberships {
    Table,
    Version,
}

/// The tables whose rows make up an org's authorization policy.
const POLICY_TABLES: [&str; 3] = ["memberships", "membership_roles", "org_roles"];

fn sqlite_triggers() -> Vec<String> {
    let mut statements = Vec::new();
    for table in POLICY_TABLES {
        for (event, rows) in [
            ("INSERT", "NEW.org_id"),
            ("UPDATE", "OLD.org_id, NEW.org_id"),
            ("DELETE", "OLD.org_id"),
        ] {
            statements.push(format!(
                "CREATE TRIGGER {table}_bump_policy_{event} AFTER {event} ON {table} FOR EACH ROW \
                 BEGIN UPDATE orgs SET policy_version = policy_version + 1 WHERE id IN ({rows}); END",
                event = event.to_lowercase()
            ));
        }
    }
    statements
}

fn postgres_triggers() -> Vec<String> {
    let mut statements = vec![r#"
        CREATE FUNCTION attest_bump_policy_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP <> 'INSERT' THEN
                UPDATE orgs SET policy_version = policy_version + 1 WHERE id = OLD.org_id;
            END IF;
            IF TG_OP <> 'DELETE' THEN
                UPDATE orgs SET policy_version = policy_version + 1 WHERE id = NEW.org_id;
            END IF;
            RETURN NULL;
        END $$"#
        .to_owned()];
    for table in POLICY_TABLES {
        statements.push(format!(
            "CREATE TRIGGER {table}_bump_policy AFTER INSERT OR UPDATE OR DELETE ON {table} \
             FOR EACH ROW EXECUTE FUNCTION attest_bump_policy_version()"
        ));
    }
    statements
}

fn drop_triggers(backend: DatabaseBackend) -> Vec<String> {
    match backend {
        DatabaseBackend::Postgres => {
            let mut statements: Vec<String> = POLICY_TABLES
                .iter()
                .map(|t| format!("DROP TRIGGER IF EXISTS {t}_bump_policy ON {t}"))
                .collect();
            statements.push("DROP FUNCTION IF EXISTS attest_bump_policy_version()".to_owned());
            statements
        }
        _ => POLICY_TABLES
            .iter()
            .flat_map(|t| {
                ["insert", "update", "delete"]
                    .map(|event| format!("DROP TRIGGER IF EXISTS {t}_bump_policy_{event}"))
            })
            .collect(),
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Orgs::Table)
                    .add_column(big_integer(Orgs::PolicyVersion).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Memberships::Table)
                    .add_column(integer(Memberships::Version).default(1))
                    .to_owned(),
            )
            .await?;
        let statements = match manager.get_database_backend() {
            DatabaseBackend::Postgres => postgres_triggers(),
            _ => sqlite_triggers(),
        };
        let db = manager.get_connection();
        for statement in statements {
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
            .alter_table(
                Table::alter()
                    .table(Memberships::Table)
                    .drop_column(Memberships::Version)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Orgs::Table)
                    .drop_column(Orgs::PolicyVersion)
                    .to_owned(),
            )
            .await
    }
}
