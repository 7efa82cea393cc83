//! `Idempotency-Key`: a retried `POST` gets the original answer instead of
//! acting twice.
//!
//! A key belongs to one client (an API key, or one browser session) and to the
//! request it was first used with (method, path and body, as a digest). The first
//! request claims the key before it runs, so a concurrent retry is told to wait
//! rather than run alongside it; a success is kept for [`KEPT_FOR`] and replayed;
//! anything else releases the key, so a corrected request can use it again. A
//! claim carries a random token: only the request holding it may keep its answer
//! or release the key.

use std::time::Duration;

use sea_orm::{
    sea_query::{Expr, OnConflict},
    ColumnTrait as _, EntityTrait as _, QueryFilter as _, Set,
};
use uuid::Uuid;

use crate::{clock, store::entities::idempotency_keys, AppError, AppResult, AppState, ErrorKind};

/// How long an answer is kept for retries.
pub const KEPT_FOR: Duration = Duration::from_secs(24 * 3600);
/// How long past the longest a request may run a claim is still honoured: it
/// covers reading the body before the run and keeping the answer after it.
const CLAIM_MARGIN: Duration = Duration::from_secs(60);
/// `status` of a claimed key whose request has not answered yet.
const IN_PROGRESS: i16 = 0;
/// `status` of a success whose answer held a secret (a new API key, recovery
/// codes): it is not kept, so a retry is refused instead of replayed.
const WITHHELD: i16 = 1;
/// The longest key accepted.
pub const MAX_KEY_LENGTH: usize = 255;

/// A successful answer, kept unless it holds a secret (`body: None`).
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub etag: Option<String>,
    pub body: Option<Vec<u8>>,
}

/// The right to run the request a key was first used with.
pub struct Held {
    principal: String,
    key: String,
    token: String,
}

/// What to do with a request that carries a key.
pub enum Claim {
    /// The key is this request's now: run it, then [`complete`] or [`release`].
    Run(Held),
    /// The same request was answered before: send this again.
    Replay(Answer),
}

/// `400` unless `key` is 1–255 visible ASCII characters.
pub fn check_key(key: &str) -> AppResult<()> {
    if key.is_empty() || key.len() > MAX_KEY_LENGTH || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::new(
            ErrorKind::BadRequest,
            format!("Idempotency-Key must be 1 to {MAX_KEY_LENGTH} visible ASCII characters"),
        ));
    }
    Ok(())
}

/// Claims `key` for `principal`'s request with `fingerprint`, or finds its answer.
/// `409` when the key was used with another request, or its first request may
/// still be running: requests end within `request_timeout`, so a claim older than
/// that (and a margin) was abandoned, and is taken over.
pub async fn claim(
    state: &AppState,
    principal: &str,
    key: &str,
    fingerprint: &str,
    request_timeout: Duration,
) -> AppResult<Claim> {
    let now = clock::now();
    let id = (principal.to_owned(), key.to_owned());
    let held = Held {
        principal: principal.to_owned(),
        key: key.to_owned(),
        token: Uuid::new_v4().simple().to_string(),
    };
    let txn = state.begin().await?;
    // Atomic on both databases: of two concurrent first uses, one inserts.
    let inserted = idempotency_keys::Entity::insert(idempotency_keys::ActiveModel {
        principal: Set(principal.to_owned()),
        key: Set(key.to_owned()),
        fingerprint: Set(fingerprint.to_owned()),
        claim: Set(held.token.clone()),
        status: Set(IN_PROGRESS),
        content_type: Set(None),
        location: Set(None),
        etag: Set(None),
        body: Set(Vec::new()),
        created_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([idempotency_keys::Column::Principal, idempotency_keys::Column::Key])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    if inserted == 1 {
        txn.commit().await?;
        return Ok(Claim::Run(held));
    }
    // Gone since the insert met it: its request failed and released it just now.
    let Some(row) = idempotency_keys::Entity::find_by_id(id.clone()).one(&txn).await? else {
        return Err(still_running());
    };
    let expired = clock::after(row.created_at, KEPT_FOR) <= now;
    let abandoned =
        row.status == IN_PROGRESS && clock::after(row.created_at, request_timeout + CLAIM_MARGIN) <= now;
    if expired || abandoned {
        // Taken over only if nobody else took it over since it was read.
        let taken = idempotency_keys::Entity::update_many()
            .col_expr(idempotency_keys::Column::Fingerprint, Expr::value(fingerprint))
            .col_expr(idempotency_keys::Column::Claim, Expr::value(held.token.clone()))
            .col_expr(idempotency_keys::Column::Status, Expr::value(IN_PROGRESS))
            .col_expr(idempotency_keys::Column::Body, Expr::value(Vec::<u8>::new()))
            .col_expr(idempotency_keys::Column::CreatedAt, Expr::value(now))
            .filter(idempotency_keys::Column::Principal.eq(principal))
            .filter(idempotency_keys::Column::Key.eq(key))
            .filter(idempotency_keys::Column::Claim.eq(row.claim))
            .exec(&txn)
            .await?
            .rows_affected;
        txn.commit().await?;
        return if taken == 1 {
            Ok(Claim::Run(held))
        } else {
            Err(still_running())
        };
    }
    if row.fingerprint != fingerprint {
        return Err(AppError::new(
            ErrorKind::Conflict,
            "this Idempotency-Key was used with a different request",
        ));
    }
    match row.status {
        IN_PROGRESS => Err(still_running()),
        WITHHELD => Err(AppError::new(
            ErrorKind::Conflict,
            "this request already succeeded; its answer held a secret, shown once and not kept",
        )),
        status => Ok(Claim::Replay(Answer {
            status: u16::try_from(status).unwrap_or(200),
            content_type: row.content_type,
            location: row.location,
            etag: row.etag,
            body: Some(row.body),
        })),
    }
}

fn still_running() -> AppError {
    AppError::new(
        ErrorKind::Conflict,
        "a request with this Idempotency-Key is still running; retry shortly",
    )
}

/// Keeps the answer of the request that holds the claim. `false` when the claim
/// was lost (taken over as abandoned): the other request's record stands.
pub async fn complete(state: &AppState, held: &Held, answer: &Answer) -> AppResult<bool> {
    let status = match answer.body {
        Some(_) => i16::try_from(answer.status).unwrap_or(500),
        None => WITHHELD,
    };
    let txn = state.begin().await?;
    let kept = idempotency_keys::Entity::update_many()
        .col_expr(idempotency_keys::Column::Status, Expr::value(status))
        .col_expr(
            idempotency_keys::Column::ContentType,
            Expr::value(answer.content_type.clone()),
        )
        .col_expr(
            idempotency_keys::Column::Location,
            Expr::value(answer.location.clone()),
        )
        .col_expr(idempotency_keys::Column::Etag, Expr::value(answer.etag.clone()))
        .col_expr(
            idempotency_keys::Column::Body,
            Expr::value(answer.body.clone().unwrap_or_default()),
        )
        .filter(held.owns())
        .exec(&txn)
        .await?
        .rows_affected;
    txn.commit().await?;
    Ok(kept == 1)
}

/// Frees the key of a request that did not succeed, if it still holds it.
pub async fn release(state: &AppState, held: &Held) -> AppResult<()> {
    let txn = state.begin().await?;
    idempotency_keys::Entity::delete_many()
        .filter(held.owns())
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

impl Held {
    /// The record, as long as this claim is its own.
    fn owns(&self) -> sea_orm::Condition {
        sea_orm::Condition::all()
            .add(idempotency_keys::Column::Principal.eq(self.principal.as_str()))
            .add(idempotency_keys::Column::Key.eq(self.key.as_str()))
            .add(idempotency_keys::Column::Claim.eq(self.token.as_str()))
            .add(idempotency_keys::Column::Status.eq(IN_PROGRESS))
    }
}

/// Forgets answers older than [`KEPT_FOR`].
pub async fn purge_expired(state: &AppState) -> AppResult<u64> {
    let cutoff = clock::now() - chrono::Duration::from_std(KEPT_FOR).unwrap_or_default();
    let txn = state.begin().await?;
    let deleted = idempotency_keys::Entity::delete_many()
        .filter(idempotency_keys::Column::CreatedAt.lt(cutoff))
        .exec(&txn)
        .await?
        .rows_affected;
    txn.commit().await?;
    Ok(deleted)
}

/// Forgets expired answers every hour until the process ends.
pub fn spawn_purger(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every_hour = tokio::time::interval(Duration::from_secs(3600));
        loop {
            every_hour.tick().await;
            if let Err(e) = purge_expired(&state).await {
                tracing::warn!(error = %e, "idempotency purge failed");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_short_visible_ascii() {
        assert!(check_key("order-42_retry.1").is_ok());
        assert!(check_key(&"k".repeat(MAX_KEY_LENGTH)).is_ok());
        for bad in ["", "has space", "tab\t", "é", &"k".repeat(MAX_KEY_LENGTH + 1)] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
    }
}
