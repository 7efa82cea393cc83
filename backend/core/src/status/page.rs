//! What the public page shows at an instant, derived, never typed in: the
//! indicator is the worst of the open incidents' impact and the components'
//! statuses; a component in an open maintenance window shows
//! `under_maintenance` unless something worse is going on.

use std::collections::BTreeMap;

use attest_shared::status::{ComponentStatus, Impact, IncidentStatus, MaintenanceStatus, PublicPage};
use chrono::{DateTime, Duration, Utc};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::{components, from_json, incidents, maintenances, uptime};
use crate::AppResult;

/// Resolved incidents the page lists under "Past incidents".
pub const HISTORY: usize = 20;

/// The page's indicator.
pub fn indicator(
    open_impacts: impl IntoIterator<Item = Impact>,
    statuses: impl IntoIterator<Item = ComponentStatus>,
) -> Impact {
    let incidents = open_impacts.into_iter().max().unwrap_or(Impact::None);
    let components = statuses
        .into_iter()
        .map(ComponentStatus::impact)
        .max()
        .unwrap_or(Impact::None);
    incidents.max(components)
}

/// The page's headline.
pub fn description(indicator: Impact, in_maintenance: bool) -> &'static str {
    match (indicator, in_maintenance) {
        (Impact::None, true) => "Service Under Maintenance",
        (indicator, _) => indicator.description(),
    }
}

/// What a component shows: maintenance covers an operational component only.
pub fn shown(stored: ComponentStatus, in_maintenance: bool) -> ComponentStatus {
    match (stored, in_maintenance) {
        (ComponentStatus::Operational, true) => ComponentStatus::UnderMaintenance,
        (stored, _) => stored,
    }
}

/// The page at `now`, and the instant it next changes by itself (a maintenance
/// window opening or closing), if any.
pub async fn build<C: ConnectionTrait>(
    db: &C,
    name: &str,
    url: &str,
    now: DateTime<Utc>,
) -> AppResult<(PublicPage, Option<DateTime<Utc>>)> {
    let since = now - Duration::days(i64::from(uptime::DAYS));
    let component_rows = components::all(db).await?;
    let by_id = incidents::by_id(&component_rows);
    let stored_incidents = incidents::load(db, since.fixed_offset(), None).await?;
    let maintenance_rows = maintenances::load(db, since, None).await?;

    let mut in_maintenance = std::collections::BTreeSet::new();
    let mut next_change: Option<DateTime<Utc>> = None;
    let mut maintenances = Vec::new();
    for row in &maintenance_rows {
        let status = maintenances::status_at(row, now);
        if status == MaintenanceStatus::InProgress {
            in_maintenance.extend(maintenances::component_ids(row)?);
        }
        for boundary in [row.scheduled_for.to_utc(), row.scheduled_until.to_utc()] {
            if boundary > now && next_change.is_none_or(|n| boundary < n) {
                next_change = Some(boundary);
            }
        }
        maintenances.push(maintenances::view(row, &by_id, now)?);
    }

    let mut components = Vec::with_capacity(component_rows.len());
    for row in &component_rows {
        let mut view = components::view(row)?;
        view.status = shown(view.status, in_maintenance.contains(&row.id));
        components.push(view);
    }

    let mut history: BTreeMap<Uuid, Vec<(DateTime<Utc>, ComponentStatus)>> = BTreeMap::new();
    let mut active_incidents = Vec::new();
    let mut past_incidents = Vec::new();
    for stored in &stored_incidents {
        for update in &stored.1 {
            let set: BTreeMap<Uuid, ComponentStatus> = from_json(&update.components)?;
            for (component, status) in set {
                history
                    .entry(component)
                    .or_default()
                    .push((update.created_at.to_utc(), status));
            }
        }
        let view = incidents::view(stored, &by_id)?;
        if view.status == IncidentStatus::Resolved {
            if past_incidents.len() < HISTORY {
                past_incidents.push(view);
            }
        } else {
            active_incidents.push(view);
        }
    }
    let uptime = components
        .iter()
        .map(|c| {
            let changes = history.get(&c.id).map(Vec::as_slice).unwrap_or_default();
            (c.id, uptime::bars(changes, now, uptime::DAYS))
        })
        .collect();

    let indicator = indicator(
        active_incidents.iter().map(|i| i.impact),
        components.iter().map(|c| c.status),
    );
    let page = PublicPage {
        name: name.to_owned(),
        url: url.to_owned(),
        indicator,
        description: description(indicator, !in_maintenance.is_empty()).to_owned(),
        updated_at: latest_change(&components, &stored_incidents, &maintenance_rows).unwrap_or(now),
        components,
        active_incidents,
        past_incidents,
        maintenances,
        uptime,
    };
    Ok((page, next_change))
}

fn latest_change(
    components: &[attest_shared::status::ComponentView],
    incidents: &[incidents::Stored],
    maintenances: &[crate::store::entities::status_maintenances::Model],
) -> Option<DateTime<Utc>> {
    let components = components.iter().map(|c| c.updated_at);
    let incidents = incidents.iter().map(|(i, _)| i.updated_at.to_utc());
    let maintenances = maintenances.iter().map(|m| m.updated_at.to_utc());
    components.chain(incidents).chain(maintenances).max()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ComponentStatus::*;

    #[test]
    fn the_indicator_is_the_worst_open_impact_or_component_status() {
        let cases: &[(&[Impact], &[ComponentStatus], Impact)] = &[
            (&[], &[], Impact::None),
            (&[], &[Operational, Operational], Impact::None),
            (&[], &[UnderMaintenance], Impact::None),
            (&[], &[DegradedPerformance], Impact::Minor),
            (&[], &[Operational, PartialOutage], Impact::Major),
            (&[], &[DegradedPerformance, MajorOutage], Impact::Critical),
            (&[Impact::None], &[Operational], Impact::None),
            (&[Impact::Minor], &[Operational], Impact::Minor),
            (
                &[Impact::Minor, Impact::Critical],
                &[Operational],
                Impact::Critical,
            ),
            (&[Impact::Major], &[DegradedPerformance], Impact::Major),
            (&[Impact::Minor], &[MajorOutage], Impact::Critical),
            (&[Impact::None], &[PartialOutage, UnderMaintenance], Impact::Major),
        ];
        for (impacts, statuses, want) in cases {
            assert_eq!(
                indicator(impacts.iter().copied(), statuses.iter().copied()),
                *want,
                "{impacts:?} {statuses:?}"
            );
        }
    }

    #[test]
    fn maintenance_shows_only_when_nothing_worse_does() {
        assert_eq!(description(Impact::None, false), "All Systems Operational");
        assert_eq!(description(Impact::None, true), "Service Under Maintenance");
        assert_eq!(description(Impact::Minor, true), "Minor Service Outage");
        assert_eq!(description(Impact::Critical, false), "Major Service Outage");
        assert_eq!(shown(Operational, true), UnderMaintenance);
        assert_eq!(shown(MajorOutage, true), MajorOutage);
        assert_eq!(shown(Operational, false), Operational);
    }
}
