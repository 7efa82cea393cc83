//! The chain hash: SHA-256 over the RFC 8785 (JCS) canonical JSON of an event
//! without its `hash` member.
//!
//! The event's shape is fixed, so its canonical form is written member by
//! member in JCS order, and `metadata` by a small JCS writer for JSON values.
//! Verifying a long chain is mostly this function: going through an
//! intermediate value and serde_jcs made it several times slower. A property
//! test checks the output against serde_jcs.

use std::io::Write as _;

use attest_shared::audit::{micros, AuditEvent};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{crypto, AppError, AppResult};

/// Integers up to 2^53 are exact in JSON's (and JCS's) doubles.
const MAX_EXACT_INTEGER: u64 = 1 << 53;

/// An event's hashed members, borrowed: from an [`AuditEvent`], or straight
/// from a stored row (verification reads rows without building events).
pub struct Members<'a> {
    pub id: Uuid,
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_type: &'a str,
    pub actor_id: Option<Uuid>,
    pub actor_display: &'a str,
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: Option<&'a str>,
    pub outcome: &'a str,
    pub request_id: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub metadata: &'a serde_json::Value,
    pub prev_hash: &'a str,
}

impl<'a> From<&'a AuditEvent> for Members<'a> {
    fn from(event: &'a AuditEvent) -> Self {
        Members {
            id: event.id,
            seq: event.seq,
            occurred_at: event.occurred_at,
            actor_type: event.actor.kind.as_str(),
            actor_id: event.actor.id,
            actor_display: &event.actor.display,
            action: &event.action,
            target_type: &event.target.kind,
            target_id: event.target.id.as_deref(),
            outcome: event.outcome.as_str(),
            request_id: event.request_id.as_deref(),
            ip: event.ip.as_deref(),
            user_agent: event.user_agent.as_deref(),
            metadata: &event.metadata,
            prev_hash: &event.prev_hash,
        }
    }
}

/// The bytes an event's hash covers.
pub fn canonical_bytes(event: &AuditEvent) -> AppResult<Vec<u8>> {
    canonical(&Members::from(event))
}

/// What `event.hash` must be.
pub fn hash(event: &AuditEvent) -> AppResult<String> {
    Ok(crypto::sha256_hex(&canonical(&Members::from(event))?))
}

/// Whether `hash` is the hash of the event given by its members; without
/// allocating, as verification asks it for every event of a chain.
pub fn hash_matches(members: &Members<'_>, hash: &str) -> AppResult<bool> {
    use sha2::Digest as _;
    let mut hex = [0u8; 64];
    hex::encode_to_slice(sha2::Sha256::digest(canonical(members)?), &mut hex).map_err(AppError::internal)?;
    Ok(hex.as_slice() == hash.as_bytes())
}

fn canonical(event: &Members<'_>) -> AppResult<Vec<u8>> {
    let mut out = Canonical(Vec::with_capacity(768));
    // Member names are ASCII, so this order is JCS's UTF-16 order.
    out.raw("{\"action\":").string(event.action);
    out.raw(",\"actor\":{\"display\":").string(event.actor_display);
    out.raw(",\"id\":").uuid(event.actor_id.as_ref());
    out.raw(",\"type\":").string(event.actor_type);
    out.raw("},\"id\":").uuid(Some(&event.id));
    out.raw(",\"ip\":").optional(event.ip);
    out.raw(",\"metadata\":").value(event.metadata)?;
    out.raw(",\"occurred_at\":")
        .string(&micros::format(&event.occurred_at));
    out.raw(",\"outcome\":").string(event.outcome);
    out.raw(",\"prev_hash\":").string(event.prev_hash);
    out.raw(",\"request_id\":").optional(event.request_id);
    out.raw(",\"seq\":")
        .number(&serde_json::Number::from(event.seq))?;
    out.raw(",\"target\":{\"id\":").optional(event.target_id);
    out.raw(",\"type\":").string(event.target_type);
    out.raw("},\"user_agent\":").optional(event.user_agent);
    out.raw("}");
    Ok(out.0)
}

/// JCS output under construction.
struct Canonical(Vec<u8>);

impl Canonical {
    fn raw(&mut self, text: &str) -> &mut Self {
        self.0.extend_from_slice(text.as_bytes());
        self
    }

    /// A JSON string; serde_json escapes exactly as RFC 8785 requires (the
    /// two-character forms, else `\u00xx` in lowercase, for controls, quote
    /// and backslash; everything else as UTF-8).
    fn string(&mut self, text: &str) {
        if text.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
            // Writing into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut self.0, text);
        } else {
            // Nothing to escape, as in most text: copied as it is, which is
            // much of what makes verifying a long chain fast.
            self.0.reserve(text.len() + 2);
            self.0.push(b'"');
            self.0.extend_from_slice(text.as_bytes());
            self.0.push(b'"');
        }
    }

    fn optional(&mut self, text: Option<&str>) {
        match text {
            Some(text) => self.string(text),
            None => {
                self.raw("null");
            }
        }
    }

    /// RFC 8785 for any JSON value: members sorted by their UTF-16 code
    /// units, numbers as ECMAScript prints them.
    fn value(&mut self, value: &serde_json::Value) -> AppResult<&mut Self> {
        use serde_json::Value;
        match value {
            Value::Null => {
                self.raw("null");
            }
            Value::Bool(true) => {
                self.raw("true");
            }
            Value::Bool(false) => {
                self.raw("false");
            }
            Value::Number(number) => {
                self.number(number)?;
            }
            Value::String(text) => self.string(text),
            Value::Array(items) => {
                self.raw("[");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.raw(",");
                    }
                    self.value(item)?;
                }
                self.raw("]");
            }
            Value::Object(members) => {
                let mut members: Vec<(&String, &Value)> = members.iter().collect();
                // serde_json keeps members in UTF-8 order, which is UTF-16 order
                // unless a name has characters from U+E000 up.
                if members
                    .iter()
                    .any(|(name, _)| name.chars().any(|c| c >= '\u{e000}'))
                {
                    members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
                }
                self.raw("{");
                for (i, (name, item)) in members.into_iter().enumerate() {
                    if i > 0 {
                        self.raw(",");
                    }
                    self.string(name);
                    self.raw(":").value(item)?;
                }
                self.raw("}");
            }
        }
        Ok(self)
    }

    /// Integers up to 2^53 as they are; anything else as ECMAScript prints
    /// its double (serde_jcs knows how).
    fn number(&mut self, number: &serde_json::Number) -> AppResult<&mut Self> {
        match number.as_i64() {
            Some(integer) if integer.unsigned_abs() <= MAX_EXACT_INTEGER => {
                write!(self.0, "{integer}").map_err(AppError::internal)?;
            }
            _ => serde_jcs::to_writer(&mut self.0, number).map_err(AppError::internal)?,
        }
        Ok(self)
    }

    fn uuid(&mut self, id: Option<&Uuid>) {
        match id {
            Some(id) => {
                let mut buffer = Uuid::encode_buffer();
                self.raw("\"")
                    .raw(id.hyphenated().encode_lower(&mut buffer))
                    .raw("\"");
            }
            None => {
                self.raw("null");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use attest_shared::audit::{ActorKind, AuditActor, AuditTarget, Outcome, GENESIS_HASH};
    use chrono::DateTime;
    use uuid::Uuid;

    fn event() -> AuditEvent {
        AuditEvent {
            id: Uuid::from_u128(1),
            seq: 1,
            occurred_at: DateTime::from_timestamp(1_800_000_000, 123_456_000).unwrap(),
            actor: AuditActor {
                kind: ActorKind::User,
                id: Some(Uuid::from_u128(2)),
                display: "ada@example.com".into(),
            },
            action: "role.created".into(),
            target: AuditTarget {
                kind: "role".into(),
                id: Some("reviewer".into()),
            },
            outcome: Outcome::Success,
            request_id: Some("r-1".into()),
            ip: None,
            user_agent: Some("curl/8 \"é\"".into()),
            metadata: serde_json::json!({"after": {"permissions": ["org:read"], "name": "reviewer"}}),
            prev_hash: GENESIS_HASH.into(),
            hash: "ignored".into(),
        }
    }

    #[test]
    fn the_canonical_form_sorts_members_drops_the_hash_and_keeps_nulls() {
        let text = String::from_utf8(canonical_bytes(&event()).unwrap()).unwrap();
        assert!(text.starts_with(r#"{"action":"role.created","actor":{"display":"ada@example.com","id":"00000000-0000-0000-0000-000000000002","type":"user"},"id":"#));
        assert!(text
            .contains(r#""ip":null,"metadata":{"after":{"name":"reviewer","permissions":["org:read"]}},"#));
        assert!(text.contains(r#""occurred_at":"2027-01-15T08:00:00.123456Z""#));
        assert!(text.contains(r#""user_agent":"curl/8 \"é\"""#));
        assert!(!text.contains("ignored"));
    }

    #[test]
    fn any_change_to_a_member_changes_the_hash() {
        let original = hash(&event()).unwrap();
        assert_eq!(original.len(), 64);
        let mut changed = event();
        changed.hash = "something else".into();
        assert_eq!(
            hash(&changed).unwrap(),
            original,
            "the hash does not cover itself"
        );
        changed.seq = 2;
        assert_ne!(hash(&changed).unwrap(), original);
    }

    /// The general route: the event as a JSON value, canonicalized by serde_jcs.
    fn reference(event: &AuditEvent) -> Vec<u8> {
        let mut value = serde_json::to_value(event).unwrap();
        value.as_object_mut().unwrap().remove("hash");
        serde_jcs::to_vec(&value).unwrap()
    }

    proptest::proptest! {
        #[test]
        fn the_member_by_member_form_is_exactly_jcs(
            texts in proptest::collection::vec(proptest::option::of(".{0,12}"), 6),
            seq in proptest::num::i64::ANY,
            nanos in 0u32..1_000_000_000,
            actor_id in proptest::option::of(proptest::num::u128::ANY),
            metadata_key in ".{0,6}",
            metadata_number in proptest::num::i64::ANY,
        ) {
            let text = |i: usize| texts[i].clone();
            let mut event = event();
            event.seq = seq;
            event.occurred_at = DateTime::from_timestamp(1_800_000_000, nanos).unwrap();
            event.actor.id = actor_id.map(Uuid::from_u128);
            event.actor.display = text(0).unwrap_or_default();
            event.action = text(1).unwrap_or_default();
            event.target.id = text(2);
            event.ip = text(3);
            event.user_agent = text(4);
            event.request_id = text(5);
            event.metadata = serde_json::json!({
                "before": {metadata_key.clone(): metadata_number, "a\u{1}é": [text(0), null, 1.5e21, -0.25]},
                metadata_key: {"z": true, "\u{e000}": 1, "\u{1f600}": 2, "big": 9_007_199_254_740_993_u64},
            });
            proptest::prop_assert_eq!(
                String::from_utf8(canonical_bytes(&event).unwrap()).unwrap(),
                String::from_utf8(reference(&event)).unwrap()
            );
        }
    }
}
