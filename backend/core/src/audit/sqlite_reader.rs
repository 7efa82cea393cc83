//! Verification's reader for a SQLite file: a read-only connection of its own
//! (rusqlite, on the same libsqlite3 as sqlx) copies the org's events out in
//! one statement, so from one snapshot, on a blocking thread, where a value
//! costs tens of nanoseconds. An in-memory database, which no second
//! connection can open, is read as models instead.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use rusqlite::{types::ValueRef, Connection, OpenFlags};
use uuid::Uuid;

use super::{
    checking::{self, Batch, Batches, Cell, Checkers, Checking, BATCH, SEQ},
    EVENT_COLUMNS,
};
use crate::{AppError, AppResult};

/// The org's events, checked, in `seq` order. Reading stops when the
/// receiver is dropped (the walk found the chain broken).
pub fn stream(path: PathBuf, org_id: Uuid) -> Batches {
    let (batches, receiver) = checking::batches();
    tokio::task::spawn_blocking(move || {
        if let Err(error) = read(&path, org_id, &batches) {
            // Nobody to tell when the walk has stopped.
            let _ = batches.send(Err(error));
        }
    });
    receiver
}

fn read(path: &Path, org_id: Uuid, batches: &flume::Sender<AppResult<Checking>>) -> AppResult<()> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(AppError::internal)?;
    connection
        .busy_timeout(Duration::from_secs(10))
        .map_err(AppError::internal)?;
    let query = format!(
        "SELECT {} FROM audit_events WHERE org_id = ?1 ORDER BY seq",
        EVENT_COLUMNS.join(", ")
    );
    let mut statement = connection.prepare(&query).map_err(AppError::internal)?;
    let mut rows = statement
        .query([org_id.as_bytes().as_slice()])
        .map_err(AppError::internal)?;
    let checkers = Checkers::start();
    loop {
        let batch = next_batch(&mut rows)?;
        if batch.is_empty() || batches.send(checkers.check(batch)).is_err() {
            return Ok(());
        }
    }
}

fn next_batch(rows: &mut rusqlite::Rows<'_>) -> AppResult<Batch> {
    let mut batch = Batch::new();
    while batch.len() < BATCH {
        let Some(row) = rows.next().map_err(AppError::internal)? else {
            break;
        };
        let mut cells: [Cell; EVENT_COLUMNS.len()] = Default::default();
        for (i, cell) in cells.iter_mut().enumerate().filter(|(i, _)| *i != SEQ) {
            *cell = match row.get_ref(i).map_err(AppError::internal)? {
                ValueRef::Null => Cell::Null,
                ValueRef::Text(value) | ValueRef::Blob(value) => batch.copy(value),
                ValueRef::Integer(_) | ValueRef::Real(_) => Cell::Unreadable,
            };
        }
        let seq = row.get(SEQ).map_err(AppError::internal)?;
        batch.push(seq, cells);
    }
    Ok(batch)
}
