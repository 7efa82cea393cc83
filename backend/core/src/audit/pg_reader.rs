//! Verification's reader for PostgreSQL: the org's events copied out by one
//! `COPY … TO STDOUT (FORMAT binary)`, so from one snapshot, with every value
//! in PostgreSQL's binary form: no text to build on the server, length-prefixed
//! fields to split here.
//!
//! The format (PostgreSQL's `COPY` documentation, "Binary Format"): a signature
//! and header, then per row a 16-bit field count and per field a 32-bit length
//! (-1 for NULL) and the bytes; a field count of -1 ends the data. All numbers
//! are big-endian; `bigint` is 8 bytes, `uuid` 16, `timestamptz` 8 (microseconds
//! since 2000-01-01 UTC), text its UTF-8 bytes.

use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use sea_orm::sqlx::{postgres::PgPoolCopyExt as _, PgPool};
use uuid::Uuid;

use super::{
    checking::{self, Batch, Batches, Cell, Checkers, Checking, BATCH, OCCURRED_AT, SEQ},
    EVENT_COLUMNS,
};
use crate::{AppError, AppResult};

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";
/// Seconds from the Unix epoch to PostgreSQL's, 2000-01-01.
const POSTGRES_EPOCH: i64 = 946_684_800;

/// The org's events, checked, in `seq` order. When the walk stops early the
/// copy is still read to its end, so the connection goes back to the pool clean.
pub fn stream(pool: PgPool, org_id: Uuid) -> Batches {
    let (batches, receiver) = checking::batches();
    tokio::spawn(async move {
        if let Err(error) = read(&pool, org_id, &batches).await {
            // Nobody to tell when the walk has stopped.
            let _ = batches.send_async(Err(error)).await;
        }
    });
    receiver
}

async fn read(pool: &PgPool, org_id: Uuid, batches: &flume::Sender<AppResult<Checking>>) -> AppResult<()> {
    // A UUID prints as hex and hyphens only: nothing to escape.
    let statement = format!(
        "COPY (SELECT {} FROM audit_events WHERE org_id = '{org_id}' ORDER BY seq) \
         TO STDOUT (FORMAT binary)",
        EVENT_COLUMNS.join(", ")
    );
    let mut copy = pool.copy_out_raw(&statement).await.map_err(AppError::internal)?;
    let checkers = Checkers::start();
    let mut rows = CopyRows::default();
    let mut batch = Batch::new();
    let mut walking = true;
    while let Some(chunk) = copy.next().await {
        let chunk = chunk.map_err(AppError::internal)?;
        if !walking {
            continue;
        }
        rows.feed(&chunk);
        while rows.next_into(&mut batch)? {
            if batch.len() == BATCH {
                let full = std::mem::replace(&mut batch, Batch::new());
                walking = batches.send_async(checkers.check_async(full).await).await.is_ok();
                if !walking {
                    break;
                }
            }
        }
    }
    if walking && !batch.is_empty() {
        // The walk may have stopped.
        let _ = batches.send_async(checkers.check_async(batch).await).await;
    }
    Ok(())
}

/// Binary `COPY` data as it arrives, split into rows.
#[derive(Default)]
struct CopyRows {
    buffer: Vec<u8>,
    /// Where the next row starts in `buffer`.
    at: usize,
    past_header: bool,
    ended: bool,
}

impl CopyRows {
    fn feed(&mut self, chunk: &[u8]) {
        self.buffer.drain(..self.at);
        self.at = 0;
        self.buffer.extend_from_slice(chunk);
    }

    /// Moves the next whole row into `batch`; false when more data is needed
    /// or the data has ended.
    fn next_into(&mut self, batch: &mut Batch) -> AppResult<bool> {
        let malformed = || AppError::internal("malformed COPY data");
        if self.ended {
            return Ok(false);
        }
        let mut cursor = Cursor {
            bytes: &self.buffer,
            at: self.at,
        };
        if !self.past_header {
            let Some(signature) = cursor.take(SIGNATURE.len()) else {
                return Ok(false);
            };
            if signature != SIGNATURE {
                return Err(malformed());
            }
            let (Some(_flags), Some(extension)) = (cursor.int(), cursor.int()) else {
                return Ok(false);
            };
            let extension = usize::try_from(extension).map_err(|_| malformed())?;
            if cursor.take(extension).is_none() {
                return Ok(false);
            }
            self.past_header = true;
            self.at = cursor.at;
        }
        let Some(fields) = cursor.short() else {
            return Ok(false);
        };
        if fields == -1 {
            self.ended = true;
            return Ok(false);
        }
        if usize::try_from(fields).ok() != Some(EVENT_COLUMNS.len()) {
            return Err(malformed());
        }
        let mut values: [Option<&[u8]>; EVENT_COLUMNS.len()] = [None; EVENT_COLUMNS.len()];
        for value in &mut values {
            let Some(length) = cursor.int() else {
                return Ok(false);
            };
            if length >= 0 {
                let length = usize::try_from(length).map_err(|_| malformed())?;
                let Some(bytes) = cursor.take(length) else {
                    return Ok(false);
                };
                *value = Some(bytes);
            }
        }
        let seq = values[SEQ]
            .and_then(|bytes| bytes.try_into().ok())
            .map(i64::from_be_bytes)
            .ok_or_else(malformed)?;
        let mut cells: [Cell; EVENT_COLUMNS.len()] = Default::default();
        for (i, (cell, value)) in cells.iter_mut().zip(values).enumerate() {
            *cell = match value {
                None => Cell::Null,
                Some(_) if i == SEQ => Cell::Null,
                Some(micros) if i == OCCURRED_AT => time(micros),
                Some(bytes) => batch.copy(bytes),
            };
        }
        batch.push(seq, cells);
        self.at = cursor.at;
        Ok(true)
    }
}

/// A `timestamptz` in binary form.
fn time(micros: &[u8]) -> Cell {
    micros
        .try_into()
        .ok()
        .map(i64::from_be_bytes)
        .and_then(|micros| micros.checked_add(POSTGRES_EPOCH * 1_000_000))
        .and_then(DateTime::<Utc>::from_timestamp_micros)
        .map_or(Cell::Unreadable, Cell::Time)
}

/// Reading through a buffer; `None` where it ends too soon.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, length: usize) -> Option<&'a [u8]> {
        let taken = self.bytes.get(self.at..self.at.checked_add(length)?)?;
        self.at += length;
        Some(taken)
    }

    fn short(&mut self) -> Option<i16> {
        Some(i16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }

    fn int(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Binary `COPY` data for rows of `(seq, micros, actor_id)`, the other
    /// columns text.
    fn copy_data(rows: &[(i64, i64, Option<[u8; 16]>)]) -> Vec<u8> {
        let mut data = SIGNATURE.to_vec();
        data.extend_from_slice(&0_i32.to_be_bytes());
        // A header extension, to be skipped.
        data.extend_from_slice(&3_i32.to_be_bytes());
        data.extend_from_slice(b"ext");
        for (seq, micros, actor_id) in rows {
            data.extend_from_slice(&16_i16.to_be_bytes());
            for (i, column) in EVENT_COLUMNS.iter().enumerate() {
                let value: Option<Vec<u8>> = match i {
                    SEQ => Some(seq.to_be_bytes().to_vec()),
                    OCCURRED_AT => Some(micros.to_be_bytes().to_vec()),
                    4 => actor_id.map(|id| id.to_vec()),
                    _ => Some(column.as_bytes().to_vec()),
                };
                match value {
                    Some(bytes) => {
                        data.extend_from_slice(&i32::try_from(bytes.len()).unwrap().to_be_bytes());
                        data.extend_from_slice(&bytes);
                    }
                    None => data.extend_from_slice(&(-1_i32).to_be_bytes()),
                }
            }
        }
        data.extend_from_slice(&(-1_i16).to_be_bytes());
        data
    }

    #[test]
    fn rows_split_however_the_data_arrives() {
        let rows = [(1, 0, Some([7; 16])), (2, 1_000_001, None), (3, i64::MAX, None)];
        let data = copy_data(&rows);
        for chunk in [1, 5, 64, data.len()] {
            let (mut copy, mut batch, mut split) = (CopyRows::default(), Batch::new(), 0);
            for piece in data.chunks(chunk) {
                copy.feed(piece);
                while copy.next_into(&mut batch).unwrap() {
                    split += 1;
                }
            }
            assert_eq!(
                (split, batch.len(), copy.ended),
                (3, 3, true),
                "chunks of {chunk}"
            );
        }
        let at = |micros: i64| match time(&micros.to_be_bytes()) {
            Cell::Time(at) => Some(at.to_rfc3339()),
            _ => None,
        };
        assert_eq!(at(1_000_001).as_deref(), Some("2000-01-01T00:00:01.000001+00:00"));
        // PostgreSQL's `infinity`: not a time the model reads either.
        assert_eq!(at(i64::MAX), None);
    }

    #[test]
    fn data_that_is_not_binary_copy_is_refused() {
        let mut copy = CopyRows::default();
        copy.feed(b"1\t2\t3\n and more text than a signature");
        assert!(copy.next_into(&mut Batch::new()).is_err());

        let mut data = copy_data(&[(1, 0, None)]);
        // A row of 2 fields where 16 belong.
        data[SIGNATURE.len() + 11..SIGNATURE.len() + 13].copy_from_slice(&2_i16.to_be_bytes());
        let mut copy = CopyRows::default();
        copy.feed(&data);
        assert!(copy.next_into(&mut Batch::new()).is_err());
    }
}
