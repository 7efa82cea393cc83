//! Reading a chain fast, for verification: the database hands over a whole
//! page of events as one text, each event a JSON array (`json_array` in
//! SQLite, `json_build_array` in PostgreSQL) and the page their
//! comma-joined list, split and parsed here on the hashing threads.
//!
//! Why: the SQLite driver spends about half a microsecond on every value of
//! every row it hands over; sixteen columns per event made reading a million
//! events take several times longer than hashing them. The database's JSON
//! functions escape every value, so nothing stored can be misread; an event
//! that does not unpack is re-read the ordinary way, and so is a page the
//! database cannot pack (metadata that is not JSON).

use std::borrow::Cow;

use attest_shared::audit::{ActorKind, Outcome};
use chrono::DateTime;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::value::RawValue;
use uuid::Uuid;

use super::chain::{self, Members};
use crate::{AppError, AppResult};

/// The packed columns, in order.
const COLUMNS: [&str; 16] = [
    "seq",
    "id",
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

/// The query for one page: `org_id`, the `seq` to start after, the page size.
fn query(backend: DbBackend) -> String {
    let postgres = backend == DbBackend::Postgres;
    let fields: Vec<String> = COLUMNS
        .iter()
        .map(|column| match (postgres, *column) {
            // UUIDs are 16-byte blobs in SQLite, `uuid` in PostgreSQL (which, like
            // timestamps, PostgreSQL's JSON writes as RFC 3339 text by itself;
            // `to_char` would cost more than all the rest of the packing).
            (false, "id" | "actor_id") => format!("lower(hex({column}))"),
            // Embedded as JSON, so it is parsed once, with the row.
            (false, "metadata") => "json(metadata)".to_owned(),
            (true, "metadata") => "metadata::json".to_owned(),
            _ => (*column).to_owned(),
        })
        .collect();
    let (event, page, parameters) = if postgres {
        (
            format!("json_build_array({})", fields.join(", ")),
            "string_agg(event::text, ',' ORDER BY seq)",
            ["$1", "$2", "$3"],
        )
    } else {
        (
            format!("json_array({})", fields.join(", ")),
            "group_concat(event, ',' ORDER BY seq)",
            ["?", "?", "?"],
        )
    };
    format!(
        "SELECT max(seq), {page} FROM (SELECT seq, {event} AS event FROM audit_events \
         WHERE org_id = {} AND seq > {} ORDER BY seq LIMIT {}) AS page",
        parameters[0], parameters[1], parameters[2]
    )
}

/// A page of packed events: the last `seq` in it and the JSON array.
pub struct Page {
    pub last_seq: i64,
    json: String,
}

impl Page {
    /// The page's events, each still packed (JSON array text).
    pub fn events(&self) -> AppResult<Vec<&RawValue>> {
        serde_json::from_str(&self.json).map_err(AppError::internal)
    }
}

/// The next `limit` events of the org's chain after `after`; `None` at the end.
pub async fn page<C: ConnectionTrait>(
    db: &C,
    org_id: Uuid,
    after: i64,
    limit: u64,
) -> AppResult<Option<Page>> {
    let backend = db.get_database_backend();
    let statement = Statement::from_sql_and_values(
        backend,
        query(backend),
        [
            org_id.into(),
            after.into(),
            i64::try_from(limit).unwrap_or(i64::MAX).into(),
        ],
    );
    let Some(row) = db.query_one(statement).await? else {
        return Ok(None);
    };
    let last_seq: Option<i64> = row.try_get_by_index(0)?;
    let json: Option<String> = row.try_get_by_index(1)?;
    Ok(match (last_seq, json) {
        // The events joined by commas: an array once bracketed.
        (Some(last_seq), Some(events)) => Some(Page {
            last_seq,
            json: format!("[{events}]"),
        }),
        _ => None,
    })
}

/// A packed event, split, with its hash recomputed.
pub struct Unpacked {
    pub seq: i64,
    pub prev_hash: String,
    pub hash: String,
    pub recomputed: String,
}

/// A packed event as the database writes it; text borrowed where it has no escapes.
#[derive(serde::Deserialize)]
struct Row<'a>(
    i64,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Option<Cow<'a, str>>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Option<Cow<'a, str>>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Option<Cow<'a, str>>,
    #[serde(borrow)] Option<Cow<'a, str>>,
    #[serde(borrow)] Option<Cow<'a, str>>,
    serde_json::Value,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
);

/// Splits a packed event and recomputes its hash. `Err` carries the event's
/// `seq` (when it can be read) if it does not unpack or a member does not
/// parse: then the row is read the ordinary way, which decides.
pub fn unpack(packed: &str) -> Result<Unpacked, Option<i64>> {
    let seq_of = || {
        serde_json::from_str::<Vec<serde_json::Value>>(packed)
            .ok()
            .and_then(|fields| fields.first().and_then(serde_json::Value::as_i64))
    };
    split(packed).ok_or_else(seq_of)
}

fn split(packed: &str) -> Option<Unpacked> {
    let Row(
        seq,
        id,
        occurred_at,
        actor_type,
        actor_id,
        actor_display,
        action,
        target_type,
        target_id,
        outcome,
        request_id,
        ip,
        user_agent,
        metadata,
        prev_hash,
        hash,
    ) = serde_json::from_str(packed).ok()?;
    // SQLite's `hex` of a NULL is an empty string.
    let actor_id = match actor_id.filter(|id| !id.is_empty()) {
        Some(id) => Some(Uuid::try_parse(&id).ok()?),
        None => None,
    };
    let members = Members {
        id: Uuid::try_parse(&id).ok()?,
        seq,
        occurred_at: DateTime::parse_from_rfc3339(&occurred_at).ok()?.to_utc(),
        actor_type: ActorKind::parse(&actor_type)?.as_str(),
        actor_id,
        actor_display: &actor_display,
        action: &action,
        target_type: &target_type,
        target_id: target_id.as_deref(),
        outcome: Outcome::parse(&outcome)?.as_str(),
        request_id: request_id.as_deref(),
        ip: ip.as_deref(),
        user_agent: user_agent.as_deref(),
        metadata: &metadata,
        prev_hash: &prev_hash,
    };
    let recomputed = chain::hash_of(&members).ok()?;
    Some(Unpacked {
        seq,
        prev_hash: prev_hash.into_owned(),
        hash: hash.into_owned(),
        recomputed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_as_postgresql_packs_it_unpacks() {
        let row = r#"[1, "01a241e6-2542-73af-a839-fca14daa19be", "2026-12-03T16:32:11.586892+00:00", "user", "00000000-0000-0000-0000-000000000001", "ada@example.com", "member.roles_changed", "user", "00000000-0000-0000-0000-000000000001", "success", "5f0c6a4e-3b7d-4c1e-9a2f-8d6b0e1f2a3c", "203.0.113.7", "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0", {"after":{"roles":["admin","contributor"]},"before":{"roles":["auditor","contributor"]}}, "0000000000000000000000000000000000000000000000000000000000000000", "aab76365835b92230e66930b700fd1b5693ab314d4119c2bb07af82d7eb12e72"]"#;
        let unpacked = unpack(row).ok().unwrap();
        assert_eq!(unpacked.seq, 1);
    }

    #[test]
    fn both_dialects_pack_every_hashed_column() {
        for backend in [DbBackend::Sqlite, DbBackend::Postgres] {
            let sql = query(backend);
            for column in COLUMNS {
                assert!(sql.contains(column), "{backend:?} {column}");
            }
        }
    }

    #[test]
    fn a_packed_event_hashes_like_the_event() {
        let event = attest_shared::audit::AuditEvent {
            id: Uuid::from_u128(7),
            seq: 3,
            occurred_at: DateTime::from_timestamp(1_800_000_000, 5_000).unwrap(),
            actor: attest_shared::audit::AuditActor {
                kind: ActorKind::User,
                id: None,
                display: "ada@example.com".into(),
            },
            action: "role.created".into(),
            target: attest_shared::audit::AuditTarget {
                kind: "role".into(),
                id: Some("r\"1".into()),
            },
            outcome: Outcome::Success,
            request_id: None,
            ip: Some("203.0.113.7".into()),
            user_agent: None,
            metadata: serde_json::json!({"after": {"name": "é"}}),
            prev_hash: "0".repeat(64),
            hash: String::new(),
        };
        let hash = chain::hash(&event).unwrap();
        let packed = serde_json::json!([
            3,
            "00000000000000000000000000000007",
            "2027-01-15T08:00:00.000005+00:00",
            "user",
            "",
            "ada@example.com",
            "role.created",
            "role",
            "r\"1",
            "success",
            null,
            "203.0.113.7",
            null,
            {"after": {"name": "é"}},
            "0".repeat(64),
            hash,
        ])
        .to_string();
        let unpacked = unpack(&packed).ok().unwrap();
        assert_eq!((unpacked.seq, unpacked.recomputed.as_str()), (3, hash.as_str()));
        assert_eq!(unpacked.hash, hash);
        assert_eq!(unpack("[4,2]").err(), Some(Some(4)));
        assert_eq!(unpack("nonsense").err(), Some(None));
    }
}
