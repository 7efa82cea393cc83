//! The public status page (docs/status-page.md): operators manage components,
//! incidents and maintenances (audited in the platform chain); the public
//! reads one in-memory [`published::Published`] rendering, rebuilt only when
//! the page changed or a maintenance window opened or closed.

pub mod components;
pub mod feed;
pub mod hosted_api;
pub mod incidents;
pub mod maintenances;
pub mod page;
pub mod published;
pub mod subscriptions;
pub mod uptime;

use sea_orm::{
    sea_query::{Expr, Query},
    ConnectionTrait,
};
use serde::{de::DeserializeOwned, Serialize};

use crate::{
    audit::{self, Facts, Metadata, Record, Source, StatusPageFacts},
    store::{entities::status_page, write::WriteTxn},
    tenancy::orgs::require_operator,
    Actor, AppError, AppResult, AppState,
};

// The page's fields are checked like every other form's.
use crate::{
    store::decode_name as parse,
    validate::{finish, optional_text, text},
};

/// Moves the page's version, in the transaction of a change: every instance
/// then rebuilds its rendering on its next check (see [`published`]).
async fn changed<C: ConnectionTrait>(db: &C) -> AppResult<()> {
    let bump = Query::update()
        .table(status_page::Entity)
        .value(
            status_page::Column::Version,
            Expr::col(status_page::Column::Version).add(1),
        )
        .to_owned();
    db.execute(db.get_database_backend().build(&bump)).await?;
    Ok(())
}

/// Commits a change and drops this instance's rendering, before the request returns.
async fn commit(state: &AppState, txn: WriteTxn) -> AppResult<()> {
    txn.commit().await?;
    state.status.invalidate();
    Ok(())
}

/// Only platform operators manage the page.
fn require(actor: &Actor) -> AppResult<()> {
    require_operator(actor).map_err(|_| {
        AppError::new(
            crate::ErrorKind::Forbidden,
            "only platform operators manage the status page",
        )
    })
}

/// Records an operator's change: moves the page's version and appends the
/// event to the platform chain, in the change's transaction.
async fn record_change<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    record: Record,
    before: Option<StatusPageFacts>,
    after: Option<StatusPageFacts>,
) -> AppResult<()> {
    let facts = |f: StatusPageFacts| Facts {
        status_page: Some(f),
        ..Facts::default()
    };
    let metadata = match (before, after) {
        (Some(before), Some(after)) => Metadata::change(facts(before), facts(after)),
        (None, Some(only)) | (Some(only), None) => Metadata::facts(facts(only)),
        (None, None) => Metadata::default(),
    };
    changed(db).await?;
    audit::platform::append(db, &Source::of(actor), record.with(metadata)).await
}

fn to_json<T: Serialize>(value: &T) -> AppResult<String> {
    serde_json::to_string(value).map_err(AppError::internal)
}

fn from_json<T: DeserializeOwned>(text: &str) -> AppResult<T> {
    serde_json::from_str(text).map_err(AppError::internal)
}
