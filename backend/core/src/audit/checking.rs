//! Checking a chain's events fast, for verification. A reader
//! ([`sqlite_reader`](super::sqlite_reader), [`pg_reader`](super::pg_reader))
//! copies rows out of the database in batches, each in one buffer, and threads,
//! one per core, recompute every event's hash while the next batches are read.
//!
//! Why not through sea-orm: sqlx spends about half a microsecond on every value
//! it hands over, sixteen per event, which made reading a long chain several
//! times slower than hashing it. A row that cannot be made out here is left
//! undecided ([`Checked::hash_ok`] `None`); the walk reads it again as a
//! model, which decides.

use std::ops::Range;

use attest_shared::audit::{ActorKind, Outcome};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    chain::{self, Members},
    verify::Checked,
    EVENT_COLUMNS,
};
use crate::{AppError, AppResult};

/// The places of `seq`, which a reader hands over as a number, and of
/// `occurred_at`, which it may hand over as a [`Cell::Time`], in the
/// [`EVENT_COLUMNS`] a reader copies.
pub const SEQ: usize = 1;
pub const OCCURRED_AT: usize = 2;

/// Events per batch: small enough to keep every core busy to the end.
pub const BATCH: usize = 1_000;

/// A batch being checked; its events come out of this receiver.
pub type Checking = flume::Receiver<Vec<Checked>>;

/// What a reader hands the walk, batch by batch, in `seq` order.
pub type Batches = flume::Receiver<AppResult<Checking>>;

/// The two ends of a reader's [`Batches`]; a few batches ahead of the walk at most.
pub fn batches() -> (flume::Sender<AppResult<Checking>>, Batches) {
    flume::bounded(4 * cores())
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// One value as the database stored it.
#[derive(Clone, Default)]
pub enum Cell {
    #[default]
    Null,
    /// Text or blob, at this place in the batch's buffer.
    Bytes(Range<usize>),
    /// A time the database handed over as such.
    Time(DateTime<Utc>),
    /// A value of a type the column never holds: the model decides.
    Unreadable,
}

/// Rows copied out of the database: every text and blob in one buffer.
pub struct Batch {
    bytes: Vec<u8>,
    rows: Vec<Row>,
}

struct Row {
    seq: i64,
    cells: [Cell; EVENT_COLUMNS.len()],
}

impl Batch {
    pub fn new() -> Batch {
        Batch {
            bytes: Vec::with_capacity(BATCH * 512),
            rows: Vec::with_capacity(BATCH),
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Keeps a text or blob value in the batch.
    pub fn copy(&mut self, value: &[u8]) -> Cell {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(value);
        Cell::Bytes(start..self.bytes.len())
    }

    /// Adds a row: its `seq` and its values in [`EVENT_COLUMNS`] order (the one
    /// at [`SEQ`] is not read).
    pub fn push(&mut self, seq: i64, cells: [Cell; EVENT_COLUMNS.len()]) {
        self.rows.push(Row { seq, cells });
    }

    fn check(&self) -> Vec<Checked> {
        self.rows
            .iter()
            .map(|row| {
                self.recompute(row).unwrap_or(Checked {
                    seq: row.seq,
                    prev_hash: String::new(),
                    hash: String::new(),
                    hash_ok: None,
                })
            })
            .collect()
    }

    /// The row checked, or `None` if some value is not what the model reads.
    fn recompute(&self, row: &Row) -> Option<Checked> {
        let bytes = |i: usize| match &row.cells[i] {
            Cell::Null => Some(None),
            Cell::Bytes(at) => Some(Some(&self.bytes[at.clone()])),
            Cell::Time(_) | Cell::Unreadable => None,
        };
        let text = |i: usize| match bytes(i)? {
            Some(text) => std::str::from_utf8(text).ok().map(Some),
            None => Some(None),
        };
        let required = |i: usize| text(i).flatten();
        let uuid = |i: usize| match bytes(i)? {
            Some(id) => Uuid::from_slice(id).ok().map(Some),
            None => Some(None),
        };
        let occurred_at = match &row.cells[OCCURRED_AT] {
            Cell::Time(at) => *at,
            _ => DateTime::parse_from_rfc3339(required(OCCURRED_AT)?)
                .ok()?
                .to_utc(),
        };
        // The numbers are places in `EVENT_COLUMNS`.
        let metadata: serde_json::Value = serde_json::from_str(required(13)?).ok()?;
        let members = Members {
            seq: row.seq,
            id: uuid(0)??,
            occurred_at,
            actor_type: ActorKind::parse(required(3)?)?.as_str(),
            actor_id: uuid(4)?,
            actor_display: required(5)?,
            action: required(6)?,
            target_type: required(7)?,
            target_id: text(8)?,
            outcome: Outcome::parse(required(9)?)?.as_str(),
            request_id: text(10)?,
            ip: text(11)?,
            user_agent: text(12)?,
            metadata: &metadata,
            prev_hash: required(14)?,
        };
        let hash = required(15)?;
        Some(Checked {
            seq: row.seq,
            hash_ok: Some(chain::hash_matches(&members, hash).ok()?),
            prev_hash: members.prev_hash.to_owned(),
            hash: hash.to_owned(),
        })
    }
}

/// Threads, one per core, checking batches; they stop when this is dropped.
pub struct Checkers {
    work: flume::Sender<(Batch, flume::Sender<Vec<Checked>>)>,
}

impl Checkers {
    pub fn start() -> Checkers {
        let workers = cores();
        let (work, queue) = flume::bounded::<(Batch, flume::Sender<Vec<Checked>>)>(2 * workers);
        for _ in 0..workers {
            let queue = queue.clone();
            std::thread::spawn(move || {
                for (batch, checked) in queue.iter() {
                    // The walk may have stopped.
                    let _ = checked.send(batch.check());
                }
            });
        }
        Checkers { work }
    }

    /// Hands a batch to the threads, waiting while they are all busy.
    pub fn check(&self, batch: Batch) -> AppResult<Checking> {
        let (checked, checking) = flume::bounded(1);
        self.work
            .send((batch, checked))
            .map_err(|_| AppError::internal("checking audit events failed"))?;
        Ok(checking)
    }

    /// [`check`](Self::check), for a reader on the async runtime.
    pub async fn check_async(&self, batch: Batch) -> AppResult<Checking> {
        let (checked, checking) = flume::bounded(1);
        self.work
            .send_async((batch, checked))
            .await
            .map_err(|_| AppError::internal("checking audit events failed"))?;
        Ok(checking)
    }
}
