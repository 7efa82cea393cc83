//! Schema migrations, as the CLI and start-up use them.

use attest_migrations::{Migrator, MigratorTrait};
use sea_orm::{DatabaseConnection, DbErr};

/// One migration and whether it is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationState {
    pub name: String,
    pub applied: bool,
}

/// Applies every pending migration.
pub async fn up(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Rolls back the last `steps` applied migrations; more steps than are applied
/// simply roll everything back.
pub async fn down(db: &DatabaseConnection, steps: u32) -> Result<u32, DbErr> {
    let applied = u32::try_from(Migrator::get_applied_migrations(db).await?.len()).unwrap_or(u32::MAX);
    let steps = steps.min(applied);
    if steps > 0 {
        Migrator::down(db, Some(steps)).await?;
    }
    Ok(steps)
}

/// Every known migration in order, with its state.
pub async fn status(db: &DatabaseConnection) -> Result<Vec<MigrationState>, DbErr> {
    let applied: Vec<String> = Migrator::get_applied_migrations(db)
        .await?
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    Ok(Migrator::migrations()
        .iter()
        .map(|m| MigrationState {
            name: m.name().to_owned(),
            applied: applied.iter().any(|a| a == m.name()),
        })
        .collect())
}

/// The names of every migration this build knows, oldest first.
pub fn known() -> Vec<String> {
    Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect()
}

/// How many known migrations are not yet applied.
pub async fn pending_count(db: &DatabaseConnection) -> Result<usize, DbErr> {
    Ok(Migrator::get_pending_migrations(db).await?.len())
}
