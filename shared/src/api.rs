//! Request and response bodies of the HTTP API, shared with the console.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A page of a list: `{"items":[…],"next_cursor":string|null}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// The same page with each item converted (a row to its view).
    pub fn map<U>(self, convert: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(convert).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub is_operator: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[cfg_attr(feature = "openapi", schema(example = "ada@example.com"))]
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub totp: Option<String>,
}

/// `POST /auth/login`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginResponse {
    pub user: UserView,
    pub csrf_token: String,
}

/// `GET /auth/session`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionStatus {
    pub user: UserView,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgRef {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgView {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateOrg {
    #[cfg_attr(feature = "openapi", schema(example = "acme"))]
    pub slug: String,
    #[cfg_attr(feature = "openapi", schema(example = "Acme Corp"))]
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MembershipView {
    pub org: OrgRef,
    pub roles: Vec<String>,
    /// What those roles let me do there (so clients can hide what would be refused).
    #[serde(default)]
    pub permissions: Vec<crate::permissions::Permission>,
}

/// `GET /api/v1/me`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<UserView>,
    /// An API key's org (`type: api_key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<OrgRef>,
    pub memberships: Vec<MembershipView>,
}

/// One of my sessions (`GET /api/v1/me/sessions`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionView {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub current: bool,
}

/// An org member (`GET /api/v1/orgs/{org}/members`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberView {
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
    pub roles: Vec<String>,
    pub joined_at: DateTime<Utc>,
    /// When a time-boxed (auditor) membership ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// For `If-Match` on `PUT …/members/{user_id}/roles` (ETag `"<version>"`).
    pub version: i32,
    /// Whether they have signed in to this org through its SSO.
    #[serde(default)]
    pub sso: bool,
}

/// A member's session as org admins see it (`GET /api/v1/orgs/{org}/sessions`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgSessionView {
    #[serde(flatten)]
    pub session: SessionView,
    pub user_id: Uuid,
    pub email: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateInvitation {
    pub email: String,
    pub roles: Vec<String>,
}

/// An invitation (the token is only ever in the mail).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvitationView {
    pub id: Uuid,
    pub email: String,
    pub roles: Vec<String>,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// `POST /auth/invitations/accept`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    pub token: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub password: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AcceptedInvitation {
    pub org: OrgRef,
    pub user: UserView,
}

/// `PATCH /api/v1/orgs/{org}` (the slug is permanent: links and API paths use it).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateOrg {
    pub name: String,
}

/// `POST /api/v1/me/totp`: scan the URI (or type the secret) into an authenticator app.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpEnrolment {
    pub otpauth_uri: String,
    pub secret: String,
}

/// A one-time code (or a recovery code where accepted).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TotpCode {
    pub code: String,
}

/// `POST /api/v1/me/totp/confirm`: shown once, keep them safe.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

/// A role: built in (read-only) or the org's own.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleView {
    pub name: String,
    pub permissions: Vec<crate::permissions::Permission>,
    pub builtin: bool,
    /// For `If-Match` on `PUT …/roles/{name}` (ETag `"<version>"`).
    pub version: i32,
}

/// `POST /api/v1/orgs/{org}/roles`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateRole {
    pub name: String,
    pub permissions: Vec<String>,
}

/// `PUT /api/v1/orgs/{org}/roles/{name}`: the whole new value.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReplaceRole {
    pub permissions: Vec<String>,
}

/// `PUT /api/v1/orgs/{org}/members/{user_id}/roles`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MemberRoles {
    pub roles: Vec<String>,
    /// Auditor-only memberships may end by themselves: after this time the
    /// membership grants nothing. `null` or absent: no end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// The answer to `PUT /api/v1/orgs/{org}/members/{user_id}/roles`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssignedRoles {
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    pub version: i32,
}

/// An org's SSO settings (`GET /api/v1/orgs/{org}/sso`). The client secret is
/// write-only: only whether one is stored shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SsoSettings {
    pub enabled: bool,
    pub issuer: String,
    pub client_id: String,
    pub client_secret_set: bool,
    pub email_domains: Vec<String>,
    pub jit_provisioning: bool,
    pub default_role: String,
    /// The sign-in redirect URI to register at the IdP.
    pub redirect_uri: String,
    /// For `If-Match` on `PUT` (ETag `"<version>"`); 0 before the first save.
    pub version: i32,
}

/// `PUT /api/v1/orgs/{org}/sso`: the whole new value. `client_secret` absent
/// keeps the stored secret; `null` removes it (a public client, PKCE only).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PutSsoSettings {
    pub enabled: bool,
    pub issuer: String,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "SecretUpdate::is_keep")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub client_secret: SecretUpdate,
    #[serde(default)]
    pub email_domains: Vec<String>,
    #[serde(default)]
    pub jit_provisioning: bool,
    pub default_role: String,
}

/// A write-only secret in an update: keep the stored one, remove it, or set a new one.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum SecretUpdate {
    #[default]
    Keep,
    Remove,
    Set(String),
}

impl SecretUpdate {
    pub fn is_keep(&self) -> bool {
        matches!(self, SecretUpdate::Keep)
    }
}

/// Never prints the secret (updates end up in logs and test failures).
impl std::fmt::Debug for SecretUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SecretUpdate::Keep => "Keep",
            SecretUpdate::Remove => "Remove",
            SecretUpdate::Set(_) => "Set(***)",
        })
    }
}

impl Serialize for SecretUpdate {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            SecretUpdate::Set(secret) => serializer.serialize_str(secret),
            SecretUpdate::Keep | SecretUpdate::Remove => serializer.serialize_none(),
        }
    }
}

impl<'de> Deserialize<'de> for SecretUpdate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Only reached when the member is present; absence is `Keep` (the default).
        Ok(match Option::<String>::deserialize(deserializer)? {
            Some(secret) => SecretUpdate::Set(secret),
            None => SecretUpdate::Remove,
        })
    }
}

/// The answer to "test connection" (`POST /api/v1/orgs/{org}/sso/test`): what
/// the issuer's discovery document says, or why it could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SsoTestRequest {
    pub issuer: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SsoTestResult {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `GET /auth/sso/realm?email=E`: whether that email signs in through its
/// org's SSO (the sign-in page then goes to `/auth/sso/start?email=E`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SsoRealm {
    pub sso: bool,
}

/// One of an org's SSO email domains (`GET /api/v1/orgs/{org}/sso/domains`):
/// `pending` until proven, `verified` once the TXT record (or an operator)
/// proved it, `suspended` when a later check no longer found the record.
/// Only a verified domain routes sign-ins and vouches for emails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SsoDomain {
    #[cfg_attr(feature = "openapi", schema(example = "acme.example"))]
    pub domain: String,
    #[cfg_attr(feature = "openapi", schema(example = "pending"))]
    pub state: String,
    /// Where the TXT record goes: `_attest-challenge.<domain>`.
    #[cfg_attr(feature = "openapi", schema(example = "_attest-challenge.acme.example"))]
    pub txt_name: String,
    /// What it must say: `attest-verification=<random>`.
    pub txt_value: String,
    pub verified_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/orgs/{org}/sso/domains/{domain}/verify`: `dns` looks the TXT
/// record up; `operator` (platform operators only) vouches for the domain.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct VerifySsoDomain {
    #[cfg_attr(feature = "openapi", schema(example = "dns"))]
    pub method: String,
}

/// `POST /api/v1/me/password`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current: String,
    pub new: String,
}

/// `POST /auth/password-reset`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    #[cfg_attr(feature = "openapi", schema(example = "ada@example.com"))]
    pub email: String,
}

/// `POST /auth/password-reset/confirm`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirm {
    pub token: String,
    pub password: String,
}

/// `POST /api/v1/me/identities`: link an organization's IdP identity to my
/// account. The current password (and TOTP code, when on) proves it is me; an
/// account without a password proves it by a sign-in through one of its linked
/// identities in the last ten minutes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LinkIdentity {
    /// The org whose IdP to link (slug or id).
    pub org: String,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub totp: Option<String>,
    #[serde(default)]
    pub return_to: Option<String>,
}

/// Where to send the browser to finish linking at the IdP.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkStarted {
    pub redirect: String,
}

/// An IdP identity linked to my account (`GET /api/v1/me/identities`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkedIdentity {
    pub issuer: String,
    pub org: OrgRef,
    pub created_at: DateTime<Utc>,
    pub last_signed_in_at: DateTime<Utc>,
}

/// `POST /api/v1/orgs/{org}/api-keys`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    #[cfg_attr(feature = "openapi", schema(example = "Nightly evidence sync"))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(example = json!(["org:read", "audit:read"])))]
    pub permissions: Vec<String>,
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/orgs/{org}/api-keys/{id}/rotate`: the old key keeps working for
/// `grace_seconds` more.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RotateApiKey {
    #[cfg_attr(feature = "openapi", schema(example = 3600))]
    pub grace_seconds: u32,
}

/// An API key as listed: never its secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyView {
    pub id: Uuid,
    pub name: String,
    /// `atk_<public id>`: what the key starts with, to recognise it.
    #[cfg_attr(feature = "openapi", schema(example = "atk_5625de8868ee862d"))]
    pub prefix: String,
    pub permissions: Vec<crate::permissions::Permission>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_by: Uuid,
}

/// A key just made (created or rotated): the only answer that holds `key`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub view: ApiKeyView,
    #[cfg_attr(
        feature = "openapi",
        schema(example = "atk_5625de8868ee862d_0f3c9e5b7a1d4c2e8f6a0b9d3e7c1f5a2b8d4e6f0a3c7b9e")
    )]
    pub key: String,
}
