//! Org exports (`POST /api/v1/orgs/{org}/exports`, `GET …/exports/{id}`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

named! {
    /// Where an export stands.
    ExportStatus {
        Queued => "queued": "Queued",
        Running => "running": "Being written",
        Completed => "completed": "Ready to download",
        Failed => "failed": "Failed",
        /// Its download window passed; the file is gone.
        Expired => "expired": "Expired",
    }
}

/// An export as its status route shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgExportView {
    pub id: Uuid,
    pub status: ExportStatus,
    /// 0–100.
    pub progress: i32,
    pub requested_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    /// Until when `download_url` answers.
    pub expires_at: Option<DateTime<Utc>>,
    /// The zip's size and SHA-256, once written.
    pub size: Option<i64>,
    pub sha256: Option<String>,
    /// Where to get the zip, while it is `completed`.
    pub download_url: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}
