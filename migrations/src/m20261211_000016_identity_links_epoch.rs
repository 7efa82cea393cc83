//! An org's SSO links move the credentials epoch too.
//!
//! The members page says of each member whether they have signed in through the
//! org's SSO (a `user_identities` row). Every other thing the page shows already
//! moves the epoch (memberships and roles through the org's `policy_version`,
//! names and emails through `users`), so with this the page can be kept in memory
//! under the epoch it was read in (`tenancy::members`). A link is made at a
//! user's first SSO sign-in to an org and removed by unlinking or erasure; the
//! stamp written at each later sign-in (`last_signed_in_at`) does not move it.

use sea_orm_migration::prelude::*;

use crate::m20261207_000010_credentials_epoch::{bump_triggers, drop_bump_triggers, Bump};

#[derive(DeriveMigrationName)]
pub struct Migration;

const BUMPS: [Bump; 1] = [(
    "user_identities_bump_epoch",
    "user_identities",
    "INSERT OR DELETE OR UPDATE OF user_id, org_id",
)];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for statement in bump_triggers(manager.get_database_backend(), &BUMPS) {
            db.execute_unprepared(&statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for statement in drop_bump_triggers(manager.get_database_backend(), &BUMPS) {
            db.execute_unprepared(&statement).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use sea_orm_migration::sea_orm::DatabaseBackend;

    use super::*;

    #[test]
    fn sqlite_gets_a_trigger_per_event_postgres_one_for_all() {
        let sqlite = bump_triggers(DatabaseBackend::Sqlite, &BUMPS);
        assert_eq!(sqlite.len(), 3);
        assert_eq!(
            sqlite[2],
            "CREATE TRIGGER user_identities_bump_epoch_update AFTER UPDATE OF user_id, org_id \
             ON user_identities FOR EACH ROW BEGIN \
             UPDATE credentials_epoch SET epoch = epoch + 1 WHERE id = 1; END"
        );
        assert_eq!(bump_triggers(DatabaseBackend::Postgres, &BUMPS).len(), 1);
    }
}
