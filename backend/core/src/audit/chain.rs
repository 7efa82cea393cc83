//! The chain hash: SHA-256 over the RFC 8785 (JCS) canonical JSON of an event
//! without its `hash` member.

use attest_shared::audit::AuditEvent;

use crate::{crypto, AppError, AppResult};

/// The bytes an event's hash covers.
pub fn canonical_bytes(event: &AuditEvent) -> AppResult<Vec<u8>> {
    let mut value = serde_json::to_value(event).map_err(AppError::internal)?;
    if let Some(object) = value.as_object_mut() {
        object.remove("hash");
    }
    serde_jcs::to_vec(&value).map_err(AppError::internal)
}

/// What `event.hash` must be.
pub fn hash(event: &AuditEvent) -> AppResult<String> {
    Ok(crypto::sha256_hex(&canonical_bytes(event)?))
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
}
