//! The audit trail: per-org, append-only, hash-chained events.
//!
//! Services append an event in the same transaction as the change it records
//! ([`append`]), so a committed change always has its event and a rolled-back
//! one never does. Appends for one org are serialized on the org's chain head
//! row, so `seq` has no gaps or forks, on SQLite and on PostgreSQL, with any
//! number of server instances.

pub mod action;
pub mod chain;
pub mod checkpoint;
pub mod erasure;
pub mod export;
pub mod metadata;
pub mod packed;
pub mod query;
pub mod retention;
pub mod verify;
pub mod writer;

pub use action::Action;
pub use metadata::{Facts, Metadata, Reason};
pub use writer::{append, append_for_user, record_denial, start_chain, Record, Source};
