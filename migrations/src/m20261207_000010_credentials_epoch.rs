//! `credentials_epoch`: one counter that every change able to end or narrow a
//! credential moves forward, in the transaction making the change.
//!
//! Server instances keep verified sessions and API keys in memory, each tagged
//! with the epoch it was verified under, and read the counter once per request: an
//! entry from another epoch is verified again from the database. A revocation
//! committed before a request starts is thus seen by it on every instance.
//!
//! As with policy versions, triggers do the bump, so no code path (nor a hand-
//! written SQL fix) can forget it. What moves the epoch: a key's revocation,
//! rotation, expiry or permissions; a session's revocation or end; a user's
//! account (disabled, operator, credentials, name, email), not their failed-login
//! counters; any change to an org row (which every role and membership change
//! reaches through `policy_version`); any SSO setting. Sign-ins and the
//! throttled activity stamps (`last_seen_at`, `last_used_at`) do not.
//!
//! On PostgreSQL the bumps are deferred constraint triggers: they run at commit,
//! so the counter's row is locked only for the instant of the commit and never
//! while a transaction still takes other locks (no lock-order deadlocks).

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CredentialsEpoch {
    Table,
    Id,
    Epoch,
}

/// (trigger name, table, the event that moves the epoch)
pub(crate) type Bump = (&'static str, &'static str, &'static str);

const BUMPS: [Bump; 9] = [
    (
        "api_keys_bump_epoch_update",
        "api_keys",
        "UPDATE OF revoked_at, expires_at, rotated_to, permissions, secret_hash",
    ),
    ("api_keys_bump_epoch_delete", "api_keys", "DELETE"),
    ("sessions_bump_epoch_update", "sessions", "UPDATE OF revoked_at, expires_at"),
    ("sessions_bump_epoch_delete", "sessions", "DELETE"),
    (
        "users_bump_epoch_update",
        "users",
        "UPDATE OF email, name, password_hash, is_operator, disabled_at, totp_secret, totp_enabled_at, totp_recovery_codes",
    ),
    ("users_bump_epoch_delete", "users", "DELETE"),
    ("orgs_bump_epoch", "orgs", "UPDATE OR DELETE"),
    ("sso_configs_bump_epoch", "sso_configs", "INSERT OR UPDATE OR DELETE"),
    // A domain's state decides which IdP speaks for which emails.
    ("sso_domains_bump_epoch", "sso_domains", "INSERT OR UPDATE OR DELETE"),
];

const BUMP: &str = "UPDATE credentials_epoch SET epoch = epoch + 1 WHERE id = 1";

fn create_triggers(backend: DatabaseBackend) -> Vec<String> {
    let mut statements = Vec::new();
    if backend == DatabaseBackend::Postgres {
        statements.push(format!(
            "CREATE FUNCTION attest_bump_credentials_epoch() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN {BUMP}; RETURN NULL; END $$"
        ));
    }
    statements.extend(bump_triggers(backend, &BUMPS));
    statements
}

/// The triggers that make each of `bumps` move the epoch (on PostgreSQL, through
/// the function the first of these migrations creates).
pub(crate) fn bump_triggers(backend: DatabaseBackend, bumps: &[Bump]) -> Vec<String> {
    match backend {
        DatabaseBackend::Postgres => bumps
            .iter()
            .map(|(name, table, event)| {
                format!(
                    "CREATE CONSTRAINT TRIGGER {name} AFTER {event} ON {table} \
                     DEFERRABLE INITIALLY DEFERRED FOR EACH ROW \
                     EXECUTE FUNCTION attest_bump_credentials_epoch()"
                )
            })
            .collect(),
        // SQLite takes one event per trigger: `INSERT OR UPDATE` becomes one trigger each.
        _ => bumps
            .iter()
            .flat_map(|(name, table, events)| {
                let several = events.contains(" OR ");
                events.split(" OR ").map(move |event| {
                    let suffix = match event.split_whitespace().next() {
                        Some(verb) if several => format!("_{}", verb.to_lowercase()),
                        _ => String::new(),
                    };
                    format!(
                        "CREATE TRIGGER {name}{suffix} AFTER {event} ON {table} FOR EACH ROW BEGIN {BUMP}; END"
                    )
                })
            })
            .collect(),
    }
}

fn drop_triggers(backend: DatabaseBackend) -> Vec<String> {
    let mut statements = drop_bump_triggers(backend, &BUMPS);
    if backend == DatabaseBackend::Postgres {
        statements.push("DROP FUNCTION IF EXISTS attest_bump_credentials_epoch()".to_owned());
    }
    statements
}

/// Drops what [`bump_triggers`] creates.
pub(crate) fn drop_bump_triggers(backend: DatabaseBackend, bumps: &[Bump]) -> Vec<String> {
    match backend {
        DatabaseBackend::Postgres => bumps
            .iter()
            .map(|(name, table, _)| format!("DROP TRIGGER IF EXISTS {name} ON {table}"))
            .collect(),
        _ => bump_triggers(backend, bumps)
            .iter()
            .filter_map(|create| create.split_whitespace().nth(2))
            .map(|name| format!("DROP TRIGGER IF EXISTS {name}"))
            .collect(),
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CredentialsEpoch::Table)
                    .col(small_integer(CredentialsEpoch::Id).primary_key())
                    .col(big_integer(CredentialsEpoch::Epoch).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(CredentialsEpoch::Table)
                    .columns([CredentialsEpoch::Id, CredentialsEpoch::Epoch])
                    .values_panic([1.into(), 0.into()])
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
            .drop_table(Table::drop().table(CredentialsEpoch::Table).to_owned())
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_gets_one_trigger_per_event_and_drops_each() {
        let created = create_triggers(DatabaseBackend::Sqlite);
        assert!(created.contains(
            &"CREATE TRIGGER orgs_bump_epoch_delete AFTER DELETE ON orgs FOR EACH ROW BEGIN \
              UPDATE credentials_epoch SET epoch = epoch + 1 WHERE id = 1; END"
                .to_owned()
        ));
        let dropped = drop_triggers(DatabaseBackend::Sqlite);
        assert_eq!(created.len(), dropped.len());
        assert!(dropped.contains(&"DROP TRIGGER IF EXISTS sessions_bump_epoch_update".to_owned()));
    }
}
