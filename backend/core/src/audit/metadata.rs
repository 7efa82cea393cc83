//! What an event may record besides its fixed members.
//!
//! Metadata is a closed set of typed fields, not a free-form map: there is no
//! field a password, token, key or client secret could go into, so no code path
//! can put one in the trail by accident. Adding a field means adding it here,
//! where review sees it (and the test below refuses secret-sounding names).

use attest_shared::{audit::micros, permissions::Permission};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Facts about a resource: what it looked like before or after a change, or
/// what an action concerned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Facts {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<Permission>>,
    #[serde(skip_serializing_if = "Option::is_none", with = "optional_micros")]
    pub expires_at: Option<DateTime<Utc>>,
    /// An audit retention in days; `null` keeps every event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<Option<i32>>,
    /// SSO settings: every member but the client secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Whether the SSO client has a (write-only) secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidential: Option<bool>,
    /// A new SSO client secret was stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_replaced: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_domains: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jit_provisioning: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_role: Option<String>,
    /// An SSO email domain, and how it was proven (`dns` or `operator`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification_method: Option<String>,
    /// A feature flag's definition (its variants' values are the org's own
    /// configuration, never credentials).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flag: Option<attest_shared::flags::FlagDefinition>,
    /// A status page component, incident or maintenance, as an operator set it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_page: Option<StatusPageFacts>,
    /// A framework, control, piece of evidence or policy of the org's compliance program.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compliance: Option<ComplianceFacts>,
}

/// What a compliance change concerned. A policy's text is recorded by its
/// SHA-256 (the versions keep the text); an evidence URL without its query
/// and fragment, where a pre-signed link carries its credential.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ComplianceFacts {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A framework's source (`oscal`, `csv`, `starter`) and size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requirement_count: Option<i32>,
    /// A control's or a policy's status, or an evidence's review state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<uuid::Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requirement_ids: Option<Vec<uuid::Uuid>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_every_days: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none", with = "optional_micros")]
    pub next_review_at: Option<DateTime<Utc>>,
    /// Evidence: its kind, link, file and validity, and the controls it supports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_size: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control_ids: Option<Vec<uuid::Uuid>>,
    #[serde(skip_serializing_if = "Option::is_none", with = "optional_micros")]
    pub collected_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none", with = "optional_micros")]
    pub valid_until: Option<DateTime<Utc>>,
    /// A policy version: its number, and the SHA-256 of its text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_version: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_sha256: Option<String>,
}

/// What a status page change concerned (the page is public: nothing here is secret).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatusPageFacts {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// A component's or an incident's status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact: Option<String>,
    /// The component statuses an incident update set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub components: Option<std::collections::BTreeMap<uuid::Uuid, attest_shared::status::ComponentStatus>>,
    #[serde(skip_serializing_if = "Option::is_none", with = "optional_micros")]
    pub scheduled_for: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none", with = "optional_micros")]
    pub scheduled_until: Option<DateTime<Utc>>,
}

/// Why an action failed or was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    InvalidCredentials,
    AccountLocked,
    AccountDisabled,
    TotpRequired,
    TotpInvalid,
    MissingPermission,
    // SSO sign-in refusals.
    /// The callback's `state` names no live flow of this browser (forged, replayed).
    StateInvalid,
    FlowExpired,
    SsoDisabled,
    /// The IdP answered with an error instead of a code.
    IdpError,
    IdpUnavailable,
    /// RFC 9207 `iss` of the response is not the org's issuer (mix-up).
    IssuerMismatch,
    CodeExchangeFailed,
    IdTokenInvalid,
    IdTokenSignature,
    IdTokenExpired,
    IdTokenAudience,
    IdTokenIssuer,
    IdTokenNonce,
    IdTokenIssueTime,
    EmailUnverified,
    /// The email is outside the org's verified domains, so its IdP cannot vouch for it.
    DomainNotClaimed,
    /// An account with the IdP's email exists but is not linked to this IdP, and
    /// it belongs to other orgs (or is an operator): never attached silently.
    AccountExists,
    /// Linking: the IdP's identity is already linked to another account.
    IdentityLinkedElsewhere,
    /// A DNS-proven SSO domain's challenge record is gone.
    DomainRecordMissing,
    NotAMember,
    MembershipRemoved,
    MembershipExpired,
}

impl Reason {
    /// The reason's name, as metadata and the sign-in page's `sso_error` spell it.
    pub fn code(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

/// An event's metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Metadata {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Facts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Facts>,
    #[serde(flatten)]
    pub facts: Facts,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    /// The permission a denied request lacked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission: Option<Permission>,
    /// The route a denied request asked for, as its template (`PUT /api/v1/orgs/{org}/…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// Side effects: sessions a change revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sessions_revoked: Option<u64>,
    /// Exports and retention: how many events, up to which `seq`, in which format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub up_to_seq: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// How a member signed in: `password` or `sso`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// An SSO sign-in that made the user a member: `provisioning` or `invitation`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub joined_via: Option<String>,
    /// A rotation: the key that replaces the target, and how long the target
    /// keeps working.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub successor: Option<uuid::Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grace_seconds: Option<u32>,
}

impl Metadata {
    /// A change from `before` to `after`.
    pub fn change(before: Facts, after: Facts) -> Metadata {
        Metadata {
            before: Some(before),
            after: Some(after),
            ..Metadata::default()
        }
    }

    /// Facts about what the action concerned.
    pub fn facts(facts: Facts) -> Metadata {
        Metadata {
            facts,
            ..Metadata::default()
        }
    }

    pub fn reason(reason: Reason) -> Metadata {
        Metadata {
            reason: Some(reason),
            ..Metadata::default()
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_else(|_| serde_json::json!({}))
    }
}

mod optional_micros {
    use super::*;
    use serde::Serializer;

    pub fn serialize<S: Serializer>(at: &Option<DateTime<Utc>>, serializer: S) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => micros::serialize(at, serializer),
            None => serializer.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_field_can_hold_a_secret() {
        let full = Metadata {
            before: Some(Facts::default()),
            after: Some(Facts::default()),
            facts: Facts {
                name: Some(String::new()),
                slug: Some(String::new()),
                email: Some(String::new()),
                roles: Some(vec![]),
                permissions: Some(vec![]),
                expires_at: Some(Utc::now()),
                retention_days: Some(None),
                enabled: Some(true),
                issuer: Some(String::new()),
                client_id: Some(String::new()),
                confidential: Some(true),
                credential_replaced: Some(true),
                email_domains: Some(vec![]),
                jit_provisioning: Some(true),
                default_role: Some(String::new()),
                domain: Some(String::new()),
                verification_method: Some(String::new()),
                flag: Some(attest_shared::flags::FlagDefinition::default()),
                status_page: Some(StatusPageFacts {
                    name: Some(String::new()),
                    group: Some(String::new()),
                    status: Some(String::new()),
                    impact: Some(String::new()),
                    components: Some(Default::default()),
                    scheduled_for: Some(Utc::now()),
                    scheduled_until: Some(Utc::now()),
                }),
                compliance: Some(ComplianceFacts::default()),
            },
            reason: Some(Reason::TotpInvalid),
            permission: Some(Permission::OrgRead),
            route: Some(String::new()),
            sessions_revoked: Some(0),
            events: Some(0),
            up_to_seq: Some(0),
            format: Some(String::new()),
            method: Some(String::new()),
            joined_via: Some(String::new()),
            successor: Some(uuid::Uuid::nil()),
            grace_seconds: Some(0),
        };
        let json = full.to_json();
        let names: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(names.len(), 33, "every field is listed here: {names:?}");
        for name in names {
            for secret in ["password", "secret", "token", "key", "code", "hash", "cookie"] {
                assert!(
                    !name.contains(secret),
                    "metadata field `{name}` sounds like a secret"
                );
            }
        }
    }

    #[test]
    fn empty_parts_are_left_out() {
        let meta = Metadata::change(
            Facts {
                name: Some("Old".into()),
                ..Facts::default()
            },
            Facts {
                name: Some("New".into()),
                ..Facts::default()
            },
        );
        assert_eq!(
            meta.to_json(),
            serde_json::json!({"before": {"name": "Old"}, "after": {"name": "New"}})
        );
    }
}
