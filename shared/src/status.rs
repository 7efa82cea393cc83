//! The public status page: what operators manage through `/api/v1/status/*`
//! and what the page shows (docs/status-page.md). The enums carry the names of
//! the common hosted status-page API, so its clients read Attest unchanged.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

named! {
    /// A component's state ([`ComponentStatus::severity`] orders them).
    ComponentStatus {
        Operational => "operational": "Operational",
        DegradedPerformance => "degraded_performance": "Degraded performance",
        PartialOutage => "partial_outage": "Partial outage",
        MajorOutage => "major_outage": "Major outage",
        UnderMaintenance => "under_maintenance": "Under maintenance",
    }
}

named! {
    /// How bad an incident is, and the page's indicator: ordered, the worst wins.
    Impact {
        None => "none": "None",
        Minor => "minor": "Minor",
        Major => "major": "Major",
        Critical => "critical": "Critical",
    }
}

named! {
    /// Where an incident stands; `resolved` closes it.
    IncidentStatus {
        Investigating => "investigating": "Investigating",
        Identified => "identified": "Identified",
        Monitoring => "monitoring": "Monitoring",
        Resolved => "resolved": "Resolved",
    }
}

named! {
    /// Where a maintenance stands: it follows its window by itself.
    MaintenanceStatus {
        Scheduled => "scheduled": "Scheduled",
        InProgress => "in_progress": "In progress",
        Completed => "completed": "Completed",
    }
}

impl ComponentStatus {
    /// How much worse than operational: a group shows its worst member.
    pub const fn severity(self) -> u8 {
        match self {
            ComponentStatus::Operational => 0,
            ComponentStatus::UnderMaintenance => 1,
            ComponentStatus::DegradedPerformance => 2,
            ComponentStatus::PartialOutage => 3,
            ComponentStatus::MajorOutage => 4,
        }
    }

    /// What this status alone says about the page (maintenance is planned: `none`).
    pub const fn impact(self) -> Impact {
        match self {
            ComponentStatus::Operational | ComponentStatus::UnderMaintenance => Impact::None,
            ComponentStatus::DegradedPerformance => Impact::Minor,
            ComponentStatus::PartialOutage => Impact::Major,
            ComponentStatus::MajorOutage => Impact::Critical,
        }
    }
}

impl Impact {
    /// The page's headline for this indicator, as hosted status pages word it.
    pub const fn description(self) -> &'static str {
        match self {
            Impact::None => "All Systems Operational",
            Impact::Minor => "Minor Service Outage",
            Impact::Major => "Partial System Outage",
            Impact::Critical => "Major Service Outage",
        }
    }
}

/// `POST /api/v1/status/components`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateComponent {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Components with the same group are shown together under its name.
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default = "operational")]
    pub status: ComponentStatus,
    /// Display order (ascending); new components go last.
    #[serde(default)]
    pub position: Option<i32>,
}

fn operational() -> ComponentStatus {
    ComponentStatus::Operational
}

/// `PATCH /api/v1/status/components/{id}`: the members sent replace the
/// component's; an empty `description` or `group` clears it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateComponent {
    pub name: Option<String>,
    pub description: Option<String>,
    pub group: Option<String>,
    pub status: Option<ComponentStatus>,
    pub position: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComponentView {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub group: Option<String>,
    pub position: i32,
    pub status: ComponentStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/v1/status/incidents`: opens an incident with its first update.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateIncident {
    pub name: String,
    pub impact: Impact,
    pub status: IncidentStatus,
    pub message: String,
    /// The affected components and the status each is set to.
    #[serde(default)]
    pub components: BTreeMap<Uuid, ComponentStatus>,
}

/// `POST /api/v1/status/incidents/{id}/updates`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PostIncidentUpdate {
    pub status: IncidentStatus,
    pub message: String,
    /// Components to set (and add to the incident). When the update resolves the
    /// incident, its components not named here return to `operational`.
    #[serde(default)]
    pub components: Option<BTreeMap<Uuid, ComponentStatus>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AffectedComponent {
    pub id: Uuid,
    pub name: String,
    /// The component's status now.
    pub status: ComponentStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncidentUpdateView {
    pub id: Uuid,
    pub status: IncidentStatus,
    pub message: String,
    /// What this update set each component to.
    pub components: BTreeMap<Uuid, ComponentStatus>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncidentView {
    pub id: Uuid,
    pub name: String,
    pub impact: Impact,
    pub status: IncidentStatus,
    pub components: Vec<AffectedComponent>,
    /// Newest first.
    pub updates: Vec<IncidentUpdateView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/status/maintenances`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateMaintenance {
    pub name: String,
    pub message: String,
    pub scheduled_for: DateTime<Utc>,
    pub scheduled_until: DateTime<Utc>,
    #[serde(default)]
    pub component_ids: Vec<Uuid>,
}

/// `PATCH /api/v1/status/maintenances/{id}`: the members sent replace the maintenance's.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateMaintenance {
    pub name: Option<String>,
    pub message: Option<String>,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub scheduled_until: Option<DateTime<Utc>>,
    pub component_ids: Option<Vec<Uuid>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MaintenanceView {
    pub id: Uuid,
    pub name: String,
    pub message: String,
    /// Derived from the window and the clock, never stored.
    pub status: MaintenanceStatus,
    pub scheduled_for: DateTime<Utc>,
    pub scheduled_until: DateTime<Utc>,
    pub components: Vec<AffectedComponent>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /status/subscriptions`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Subscribe {
    pub email: String,
}

/// Everything the public page shows, at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicPage {
    pub name: String,
    pub url: String,
    pub indicator: Impact,
    /// The headline: the indicator's description, or maintenance when that is all there is.
    pub description: String,
    pub components: Vec<ComponentView>,
    /// Open incidents, newest first.
    pub active_incidents: Vec<IncidentView>,
    /// Resolved incidents, newest first (a bounded recent history).
    pub past_incidents: Vec<IncidentView>,
    /// In progress, then upcoming, soonest first.
    pub maintenances: Vec<MaintenanceView>,
    /// Per component: the last days' uptime, oldest first.
    pub uptime: BTreeMap<Uuid, Vec<UptimeDay>>,
    pub updated_at: DateTime<Utc>,
}

/// One day's bar of a component's uptime.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UptimeDay {
    pub date: chrono::NaiveDate,
    /// 0–100: the share of the day not lost to outages.
    pub percent: f64,
    /// The worst status the component had that day.
    pub worst: ComponentStatus,
}
