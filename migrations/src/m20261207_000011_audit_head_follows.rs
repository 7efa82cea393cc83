//! An org's chain head takes the hash of each event appended to its chain by
//! a trigger, in the statement that inserts the event: an append is two
//! statements (advance the head's `seq`, insert the event) instead of three,
//! and no code path can leave the head behind its chain.

use sea_orm_migration::{prelude::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const FOLLOW: &str = "UPDATE audit_heads SET hash = NEW.hash WHERE org_id = NEW.org_id";

fn create(backend: DatabaseBackend) -> Vec<String> {
    match backend {
        DatabaseBackend::Postgres => vec![
            format!(
                "CREATE FUNCTION attest_audit_head_follows() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN {FOLLOW}; RETURN NULL; END $$"
            ),
            "CREATE TRIGGER audit_head_follows AFTER INSERT ON audit_events \
             FOR EACH ROW EXECUTE FUNCTION attest_audit_head_follows()"
                .to_owned(),
        ],
        _ => vec![format!(
            "CREATE TRIGGER audit_head_follows AFTER INSERT ON audit_events FOR EACH ROW BEGIN {FOLLOW}; END"
        )],
    }
}

fn drop(backend: DatabaseBackend) -> Vec<String> {
    match backend {
        DatabaseBackend::Postgres => vec![
            "DROP TRIGGER IF EXISTS audit_head_follows ON audit_events".to_owned(),
            "DROP FUNCTION IF EXISTS attest_audit_head_follows()".to_owned(),
        ],
        _ => vec!["DROP TRIGGER IF EXISTS audit_head_follows".to_owned()],
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for statement in create(manager.get_database_backend()) {
            db.execute_unprepared(&statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for statement in drop(manager.get_database_backend()) {
            db.execute_unprepared(&statement).await?;
        }
        Ok(())
    }
}
