//! What `/readyz` checks: the database answers and its schema is current.

use std::time::Duration;

use sea_orm::DatabaseConnection;

use super::migrations;

/// The outcome of one readiness check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    Ok,
    Failed(&'static str),
}

/// Every check by name, in a stable order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    pub checks: Vec<(&'static str, Check)>,
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.checks.iter().all(|(_, c)| *c == Check::Ok)
    }

    pub fn failing(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.checks
            .iter()
            .filter(|(_, c)| *c != Check::Ok)
            .map(|(name, _)| *name)
    }
}

/// Checks the database within `budget`, so a hung connection cannot hang the probe.
pub async fn check(db: &DatabaseConnection, budget: Duration) -> Readiness {
    let database = match tokio::time::timeout(budget, db.ping()).await {
        Ok(Ok(())) => Check::Ok,
        Ok(Err(_)) | Err(_) => Check::Failed("unreachable"),
    };
    let schema = if database != Check::Ok {
        Check::Failed("unknown")
    } else {
        match tokio::time::timeout(budget, migrations::pending_count(db)).await {
            Ok(Ok(0)) => Check::Ok,
            Ok(Ok(_)) => Check::Failed("pending"),
            Ok(Err(_)) | Err(_) => Check::Failed("unknown"),
        }
    };
    Readiness {
        checks: vec![("database", database), ("migrations", schema)],
    }
}
