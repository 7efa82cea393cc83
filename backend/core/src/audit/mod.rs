//! The audit trail: per-org, append-only, hash-chained events.
//!
//! Services append an event in the same transaction as the change it records
//! ([`append`]), so a committed change always has its event and a rolled-back
//! one never does. Appends for one org are serialized on the org's chain head
//! row, so `seq` has no gaps or forks, on SQLite and on PostgreSQL, with any
//! number of server instances.

pub mod action;
pub mod chain;
mod checking;
pub mod checkpoint;
pub mod erasure;
pub mod export;
pub mod metadata;
mod pg_reader;
pub mod platform;
pub mod query;
pub mod retention;
mod sqlite_reader;
pub mod verify;
pub mod writer;

/// An event's stored columns, in the order the CSV export and verification read them.
pub const EVENT_COLUMNS: [&str; 16] = [
    "id",
    "seq",
    "occurred_at",
    "actor_type",
    "actor_id",
    "actor_display",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "request_id",
    "ip",
    "user_agent",
    "metadata",
    "prev_hash",
    "hash",
];

pub use action::Action;
pub use metadata::{ComplianceFacts, Facts, Metadata, Reason, StatusPageFacts};
pub use writer::{append, append_for_user, record_denial, start_chain, Record, Source};
