//! The audit event as CONTRACT.md fixes it: what the API lists, what exports
//! hold, and exactly what each chain hash covers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One entry of an org's audit chain.
///
/// `hash` is the lowercase hex SHA-256 of the RFC 8785 (JCS) canonical JSON of
/// this object without its `hash` member; `prev_hash` is the previous event's
/// `hash` (64 zeros for an org's first event).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    pub id: Uuid,
    pub seq: i64,
    /// Always in UTC with microseconds, so the text hashed is the text stored.
    #[serde(with = "micros")]
    pub occurred_at: DateTime<Utc>,
    pub actor: AuditActor,
    /// `noun.verb`, e.g. `member.roles_changed`.
    pub action: String,
    pub target: AuditTarget,
    pub outcome: Outcome,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Before/after for changes, and other facts of the action; never secrets.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub metadata: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditActor {
    #[serde(rename = "type")]
    pub kind: ActorKind,
    pub id: Option<Uuid>,
    pub display: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    User,
    ApiKey,
    System,
}

/// What was acted on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditTarget {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl ActorKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::ApiKey => "api_key",
            ActorKind::System => "system",
        }
    }

    pub fn parse(name: &str) -> Option<ActorKind> {
        [ActorKind::User, ActorKind::ApiKey, ActorKind::System]
            .into_iter()
            .find(|k| k.as_str() == name)
    }
}

impl Outcome {
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }

    pub fn parse(name: &str) -> Option<Outcome> {
        [Outcome::Success, Outcome::Failure, Outcome::Denied]
            .into_iter()
            .find(|o| o.as_str() == name)
    }
}

/// `GET /api/v1/orgs/{org}/audit-events/verify`: `{"ok":true,"events":N,"head":{"seq","hash"}}`
/// or `{"ok":false,"first_bad_seq":N}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainVerification {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<ChainHead>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_bad_seq: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
}

/// `GET|PUT /api/v1/orgs/{org}/audit-retention`: how many days the org keeps
/// its events (`null`: every event, forever), and the bounds a `PUT` accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditRetention {
    pub days: Option<i32>,
    pub minimum_days: i32,
    pub maximum_days: i32,
}

/// The body of `PUT /api/v1/orgs/{org}/audit-retention`. `days` must be
/// present: `null` says "keep everything", a missing member says nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetAuditRetention {
    #[serde(deserialize_with = "present")]
    pub days: Option<i32>,
}

/// A nullable member that must not be left out (serde's own `Option` handling
/// would treat a missing member as `null`).
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<i32>, D::Error> {
    Option::<i32>::deserialize(deserializer)
}

/// One signed checkpoint, as `GET …/audit-events/checkpoints` lists it: an
/// Ed25519 signature (hex) over the JCS form of `{org_id, seq, hash, signed_at}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignedCheckpoint {
    pub org_id: Uuid,
    pub seq: i64,
    pub hash: String,
    #[serde(with = "micros")]
    pub signed_at: DateTime<Utc>,
    pub signature: String,
}

/// The response header in which an export announces how many events it holds
/// (the console shows progress against it).
pub const EXPORT_EVENTS_HEADER: &str = "attest-export-events";

/// The genesis `prev_hash`.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// RFC 3339 in UTC with exactly six fractional digits and `Z`.
pub mod micros {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn format(at: &DateTime<Utc>) -> String {
        at.to_rfc3339_opts(SecondsFormat::Micros, true)
    }

    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format(at))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.to_utc())
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_times_are_spelled_as_the_contract_and_the_hash_need() {
        assert_eq!(serde_json::to_string(&ActorKind::ApiKey).unwrap(), "\"api_key\"");
        assert_eq!(Outcome::parse("denied"), Some(Outcome::Denied));
        let at = DateTime::parse_from_rfc3339("2026-11-24T01:02:03.5+01:00")
            .unwrap()
            .to_utc();
        assert_eq!(micros::format(&at), "2026-11-24T00:02:03.500000Z");
        assert_eq!(GENESIS_HASH.len(), 64);
    }
}
