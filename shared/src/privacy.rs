//! `GET /api/v1/me/export`: everything Attest holds about the caller.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    api::{ApiKeyView, LinkedIdentity, OrgRef, SessionView},
    audit::AuditEvent,
};

/// The whole export. `audit_events` comes last: it is streamed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonalData {
    pub exported_at: DateTime<Utc>,
    pub user: PersonalProfile,
    pub memberships: Vec<PersonalMembership>,
    /// Every session, live or ended (each holds an address and a user agent).
    pub sessions: Vec<SessionView>,
    pub identities: Vec<LinkedIdentity>,
    /// The API keys this person created, never their secrets.
    pub api_keys: Vec<ApiKeyView>,
    pub policy_acknowledgments: Vec<PersonalAcknowledgment>,
    /// Every audit event this person performed or that names them, in every org.
    #[serde(default)]
    pub audit_events: Vec<AuditEvent>,
}

/// The account. Secrets are never exported, only whether they exist.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonalProfile {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub is_operator: bool,
    pub has_password: bool,
    pub totp_enabled: bool,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonalMembership {
    pub org: OrgRef,
    pub roles: Vec<String>,
    pub joined_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonalAcknowledgment {
    pub policy_id: Uuid,
    pub org_id: Uuid,
    pub version: i32,
    pub acknowledged_at: DateTime<Utc>,
}
