//! The compliance program of an org: frameworks and their requirements,
//! the org's controls, evidence and policies (docs/compliance.md).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

named! {
    /// Where a control stands; `not_applicable` needs a justification.
    ControlStatus {
        NotStarted => "not_started": "Not started",
        InProgress => "in_progress": "In progress",
        Implemented => "implemented": "Implemented",
        NotApplicable => "not_applicable": "Not applicable",
    }
}

named! {
    /// How a control is doing, derived from its status, evidence and review date.
    ControlHealth {
        /// Not implemented yet (`not_started`, `in_progress`).
        Grey => "grey": "Not implemented",
        /// Implemented with current evidence (or not applicable), review not overdue.
        Green => "green": "Current",
        /// Implemented, but every piece of evidence has expired or the review is overdue.
        Amber => "amber": "Needs attention",
        /// Implemented without any evidence.
        Red => "red": "No evidence",
    }
}

named! {
    /// What a piece of evidence is.
    EvidenceKind {
        Note => "note": "Note",
        Url => "url": "Link",
        File => "file": "File",
    }
}

named! {
    /// Where a reviewer left a piece of evidence.
    ReviewState {
        Pending => "pending": "Awaiting review",
        Accepted => "accepted": "Accepted",
        Rejected => "rejected": "Rejected",
    }
}

named! {
    /// A policy is a draft until its first version is published.
    PolicyStatus {
        Draft => "draft": "Draft",
        Published => "published": "Published",
    }
}

named! {
    /// Where a framework's requirements came from.
    FrameworkSource {
        Oscal => "oscal": "OSCAL catalog",
        Csv => "csv": "CSV",
        Starter => "starter": "Attest starter catalog",
    }
}

named! {
    /// A check Attest computes from its own state, stored as evidence.
    PlatformCheck {
        SsoEnforced => "sso_enforced": "SSO enforced for all members",
        MfaOrSso => "mfa_or_sso": "Every member has MFA or SSO",
        ApiKeyAge => "api_key_age": "No API key older than the allowed age",
        AuditChainVerifies => "audit_chain_verifies": "The audit chain verifies",
        OwnersHaveMfa => "owners_have_mfa": "No owner without MFA",
    }
}

/// `POST …/evidence/checks`: run a platform check now and keep its result as evidence.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RunCheck {
    pub check: PlatformCheck,
    #[serde(default)]
    pub control_ids: Vec<Uuid>,
    /// `api_key_age`: the oldest a live key may be (90 days when absent).
    #[serde(default)]
    pub max_age_days: Option<u32>,
    /// How long a passing result stays valid evidence (30 days when absent);
    /// a failing result is never current evidence.
    #[serde(default)]
    pub valid_days: Option<u32>,
}

/// The audit chain head a check was computed at: ties the result to the trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainPosition {
    pub seq: i64,
    pub hash: String,
}

/// What a platform check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckResult {
    pub check: PlatformCheck,
    pub passed: bool,
    pub summary: String,
    /// The members (or API keys) that fail it.
    pub failing: Vec<Uuid>,
    /// The org's chain head when the check ran (none for an empty chain).
    pub audit_head: Option<ChainPosition>,
}

/// A framework the org is measured against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FrameworkView {
    pub id: Uuid,
    pub name: String,
    pub source: FrameworkSource,
    pub requirement_count: i32,
    pub created_at: DateTime<Utc>,
}

/// One requirement of a framework; `ref` is the catalog's own id (`ac-2.1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequirementView {
    pub id: Uuid,
    #[serde(rename = "ref")]
    pub reference: String,
    pub title: String,
    pub description: Option<String>,
    /// The requirement this one refines (an OSCAL enhancement's control).
    pub parent_id: Option<Uuid>,
}

/// `GET …/frameworks/{id}/readiness`: the share of requirements covered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Readiness {
    pub framework_id: Uuid,
    pub requirements: u64,
    pub covered: u64,
    /// `100·covered/requirements`, one decimal; `0` without requirements.
    pub percent: f64,
    /// Per requirement, with `?format=json` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<RequirementReadiness>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequirementReadiness {
    pub requirement_id: Uuid,
    #[serde(rename = "ref")]
    pub reference: String,
    pub title: String,
    pub covered: bool,
    /// The controls mapped to it.
    pub control_ids: Vec<Uuid>,
}

/// A control of the org.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ControlView {
    pub id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub status: ControlStatus,
    pub justification: Option<String>,
    pub owner_id: Option<Uuid>,
    pub tags: Vec<String>,
    pub requirement_ids: Vec<Uuid>,
    pub review_every_days: Option<i32>,
    pub next_review_at: Option<DateTime<Utc>>,
    pub health: ControlHealth,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST …/controls`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateControl {
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    /// `not_started` when absent.
    #[serde(default)]
    pub status: Option<ControlStatus>,
    #[serde(default)]
    pub justification: Option<String>,
    /// A member of the org.
    #[serde(default)]
    pub owner_id: Option<Uuid>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Requirements of the org's frameworks this control meets.
    #[serde(default)]
    pub requirement_ids: Vec<Uuid>,
    #[serde(default)]
    pub review_every_days: Option<i32>,
    /// When absent and `review_every_days` is set: that many days from now.
    #[serde(default)]
    pub next_review_at: Option<DateTime<Utc>>,
}

/// `PATCH …/controls/{id}`: the members sent replace the control's; `null`
/// clears an optional one.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateControl {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default, with = "crate::nullable")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub description: Option<Option<String>>,
    #[serde(default)]
    pub status: Option<ControlStatus>,
    #[serde(default, with = "crate::nullable")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub justification: Option<Option<String>>,
    #[serde(default, with = "crate::nullable")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Uuid>))]
    pub owner_id: Option<Option<Uuid>>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub requirement_ids: Option<Vec<Uuid>>,
    #[serde(default, with = "crate::nullable")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i32>))]
    pub review_every_days: Option<Option<i32>>,
    #[serde(default, with = "crate::nullable")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<DateTime<Utc>>))]
    pub next_review_at: Option<Option<DateTime<Utc>>>,
}

/// An uploaded evidence file (its bytes at `…/evidence/{id}/file`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EvidenceFile {
    pub name: String,
    pub size: i64,
    /// Lowercase hex SHA-256 of the bytes.
    pub sha256: String,
    /// Sniffed from the bytes, never taken from the uploader.
    pub content_type: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EvidenceView {
    pub id: Uuid,
    pub control_ids: Vec<Uuid>,
    pub kind: EvidenceKind,
    pub title: String,
    pub note: Option<String>,
    pub url: Option<String>,
    pub file: Option<EvidenceFile>,
    /// Set for evidence a platform check produced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<CheckResult>,
    pub collected_at: DateTime<Utc>,
    /// May lie in the past: such evidence no longer counts.
    pub valid_until: Option<DateTime<Utc>>,
    pub review_state: ReviewState,
    pub reviewer_id: Option<Uuid>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST …/evidence` as JSON (a note or a URL), or the `metadata` part of a
/// multipart upload (a file).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateEvidence {
    /// `file` for an upload; otherwise `url` when a `url` is sent, else `note`.
    #[serde(default)]
    pub kind: Option<EvidenceKind>,
    pub title: String,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub control_ids: Vec<Uuid>,
    /// Now when absent.
    #[serde(default)]
    pub collected_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub valid_until: Option<DateTime<Utc>>,
}

/// `PATCH …/evidence/{id}`; setting `review_state` records the caller as reviewer.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateEvidence {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default, with = "crate::nullable")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub note: Option<Option<String>>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub control_ids: Option<Vec<Uuid>>,
    #[serde(default)]
    pub collected_at: Option<DateTime<Utc>>,
    #[serde(default, with = "crate::nullable")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<DateTime<Utc>>))]
    pub valid_until: Option<Option<DateTime<Utc>>>,
    #[serde(default)]
    pub review_state: Option<ReviewState>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyView {
    pub id: Uuid,
    pub title: String,
    /// Markdown: the working text, published as the next version.
    pub body: String,
    pub status: PolicyStatus,
    pub current_version: Option<i32>,
    /// Whether `body` differs from the current published version.
    pub unpublished_changes: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST …/policies`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreatePolicy {
    pub title: String,
    #[serde(default)]
    pub body: String,
}

/// `PATCH …/policies/{id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdatePolicy {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
}

/// A published version of a policy: frozen, read-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyVersionView {
    pub number: i32,
    pub body: String,
    pub published_at: DateTime<Utc>,
    /// The member who approved it by publishing (for an API key: its creator).
    pub published_by: Uuid,
}

/// A member's acknowledgment of having read a version of a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AcknowledgmentView {
    pub user_id: Uuid,
    pub version: i32,
    pub acknowledged_at: DateTime<Utc>,
}

/// `POST …/policies/{id}/acknowledgments` takes `{}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Acknowledge {}
