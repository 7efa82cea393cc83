//! The page in the shape of the widely used hosted status-page API (v2):
//! `summary.json` and friends, so the monitoring tools customers run already
//! read Attest unchanged. Field names and enums are that API's.

use std::collections::HashMap;

use attest_shared::status::{
    AffectedComponent, ComponentStatus, ComponentView, IncidentView, MaintenanceStatus, MaintenanceView,
    PublicPage,
};
use serde_json::{json, Value};
use uuid::Uuid;

/// The JSON documents of `/api/v2/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Summary,
    Status,
    Components,
    Incidents,
    UnresolvedIncidents,
    ScheduledMaintenances,
    UpcomingMaintenances,
    ActiveMaintenances,
}

impl Endpoint {
    pub const ALL: [Endpoint; 8] = [
        Endpoint::Summary,
        Endpoint::Status,
        Endpoint::Components,
        Endpoint::Incidents,
        Endpoint::UnresolvedIncidents,
        Endpoint::ScheduledMaintenances,
        Endpoint::UpcomingMaintenances,
        Endpoint::ActiveMaintenances,
    ];

    pub const fn path(self) -> &'static str {
        match self {
            Endpoint::Summary => "/api/v2/summary.json",
            Endpoint::Status => "/api/v2/status.json",
            Endpoint::Components => "/api/v2/components.json",
            Endpoint::Incidents => "/api/v2/incidents.json",
            Endpoint::UnresolvedIncidents => "/api/v2/incidents/unresolved.json",
            Endpoint::ScheduledMaintenances => "/api/v2/scheduled-maintenances.json",
            Endpoint::UpcomingMaintenances => "/api/v2/scheduled-maintenances/upcoming.json",
            Endpoint::ActiveMaintenances => "/api/v2/scheduled-maintenances/active.json",
        }
    }
}

/// Renders every endpoint's document of `page`.
pub fn render(page: &PublicPage) -> HashMap<Endpoint, Value> {
    let doc = Document::new(page);
    let open = || {
        page.maintenances
            .iter()
            .filter(|m| m.status != MaintenanceStatus::Completed)
    };
    let having = |status| page.maintenances.iter().filter(move |m| m.status == status);
    let mut all_maintenances: Vec<&MaintenanceView> = page.maintenances.iter().collect();
    all_maintenances.sort_by_key(|m| std::cmp::Reverse(m.scheduled_for));
    let incidents: Vec<&IncidentView> = page.active_incidents.iter().chain(&page.past_incidents).collect();
    Endpoint::ALL
        .into_iter()
        .map(|endpoint| {
            let mut body = serde_json::Map::new();
            body.insert("page".into(), doc.page.clone());
            match endpoint {
                Endpoint::Summary => {
                    body.insert("components".into(), doc.components.clone());
                    body.insert("incidents".into(), doc.incidents(&page.active_incidents));
                    body.insert("scheduled_maintenances".into(), doc.maintenances(open()));
                    body.insert("status".into(), doc.status.clone());
                }
                Endpoint::Status => {
                    body.insert("status".into(), doc.status.clone());
                }
                Endpoint::Components => {
                    body.insert("components".into(), doc.components.clone());
                }
                Endpoint::Incidents => {
                    body.insert("incidents".into(), doc.incidents(incidents.iter().copied()));
                }
                Endpoint::UnresolvedIncidents => {
                    body.insert("incidents".into(), doc.incidents(&page.active_incidents));
                }
                Endpoint::ScheduledMaintenances => {
                    body.insert(
                        "scheduled_maintenances".into(),
                        doc.maintenances(all_maintenances.iter().copied()),
                    );
                }
                Endpoint::UpcomingMaintenances => {
                    body.insert(
                        "scheduled_maintenances".into(),
                        doc.maintenances(having(MaintenanceStatus::Scheduled)),
                    );
                }
                Endpoint::ActiveMaintenances => {
                    body.insert(
                        "scheduled_maintenances".into(),
                        doc.maintenances(having(MaintenanceStatus::InProgress)),
                    );
                }
            }
            (endpoint, Value::Object(body))
        })
        .collect()
}

/// The pieces every document shares, rendered once.
struct Document<'a> {
    page_id: String,
    url: &'a str,
    page: Value,
    status: Value,
    components: Value,
    /// Each component as it appears in an incident's `components`.
    component_objects: HashMap<Uuid, Value>,
}

/// A group's id: stable for its name, on every instance.
pub fn group_id(name: &str) -> Uuid {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(format!("status-group:{name}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::new_v8(bytes)
}

impl<'a> Document<'a> {
    fn new(page: &'a PublicPage) -> Self {
        let page_id = crate::crypto::sha256_hex(page.url.as_bytes())[..12].to_owned();
        let mut components = Vec::new();
        let mut component_objects = HashMap::new();
        let mut groups: Vec<(&str, Vec<&ComponentView>)> = Vec::new();
        for c in &page.components {
            if let Some(group) = c.group.as_deref() {
                match groups.iter_mut().find(|(name, _)| *name == group) {
                    Some((_, members)) => members.push(c),
                    None => groups.push((group, vec![c])),
                }
            }
        }
        let mut emitted_groups = Vec::new();
        for c in &page.components {
            if let Some(group) = c.group.as_deref() {
                if !emitted_groups.contains(&group) {
                    emitted_groups.push(group);
                    if let Some((_, members)) = groups.iter().find(|(name, _)| *name == group) {
                        components.push(group_object(&page_id, group, members));
                    }
                }
            }
            let object = component_object(&page_id, c);
            component_objects.insert(c.id, object.clone());
            components.push(object);
        }
        Document {
            page: json!({
                "id": page_id,
                "name": page.name,
                "url": page.url,
                "time_zone": "Etc/UTC",
                "updated_at": page.updated_at,
            }),
            status: json!({"indicator": page.indicator.as_str(), "description": page.description}),
            components: Value::Array(components),
            component_objects,
            page_id,
            url: &page.url,
        }
    }

    fn affected(&self, components: &[AffectedComponent]) -> Value {
        components
            .iter()
            .filter_map(|c| self.component_objects.get(&c.id).cloned())
            .collect()
    }

    fn incidents<'i>(&self, incidents: impl IntoIterator<Item = &'i IncidentView>) -> Value {
        incidents.into_iter().map(|i| self.incident(i)).collect()
    }

    fn incident(&self, incident: &IncidentView) -> Value {
        // Updates are stored newest first; `old_status` needs them in order.
        let mut last: HashMap<Uuid, ComponentStatus> = HashMap::new();
        let names: HashMap<Uuid, &str> = incident
            .components
            .iter()
            .map(|c| (c.id, c.name.as_str()))
            .collect();
        let mut updates: Vec<Value> = incident
            .updates
            .iter()
            .rev()
            .map(|u| {
                let affected: Vec<Value> = u
                    .components
                    .iter()
                    .map(|(id, new)| {
                        let old = last.insert(*id, *new).unwrap_or(ComponentStatus::Operational);
                        json!({
                            "code": id,
                            "name": names.get(id).copied().unwrap_or_default(),
                            "old_status": old.as_str(),
                            "new_status": new.as_str(),
                        })
                    })
                    .collect();
                json!({
                    "id": u.id,
                    "status": u.status.as_str(),
                    "body": u.message,
                    "incident_id": incident.id,
                    "created_at": u.created_at,
                    "updated_at": u.created_at,
                    "display_at": u.created_at,
                    "affected_components": if affected.is_empty() { Value::Null } else { Value::Array(affected) },
                    "deliver_notifications": true,
                    "custom_tweet": null,
                    "tweet_id": null,
                })
            })
            .collect();
        updates.reverse();
        let monitoring_at = incident
            .updates
            .iter()
            .rev()
            .find(|u| u.status == attest_shared::status::IncidentStatus::Monitoring)
            .map(|u| u.created_at);
        json!({
            "id": incident.id,
            "name": incident.name,
            "status": incident.status.as_str(),
            "created_at": incident.created_at,
            "updated_at": incident.updated_at,
            "monitoring_at": monitoring_at,
            "resolved_at": incident.resolved_at,
            "impact": incident.impact.as_str(),
            "shortlink": format!("{}/status", self.url),
            "started_at": incident.created_at,
            "page_id": self.page_id,
            "incident_updates": updates,
            "components": self.affected(&incident.components),
        })
    }

    fn maintenances<'m>(&self, maintenances: impl IntoIterator<Item = &'m MaintenanceView>) -> Value {
        maintenances.into_iter().map(|m| self.maintenance(m)).collect()
    }

    fn maintenance(&self, m: &MaintenanceView) -> Value {
        let resolved_at = (m.status == MaintenanceStatus::Completed).then_some(m.scheduled_until);
        json!({
            "id": m.id,
            "name": m.name,
            "status": m.status.as_str(),
            "created_at": m.created_at,
            "updated_at": m.updated_at,
            "monitoring_at": null,
            "resolved_at": resolved_at,
            "impact": "maintenance",
            "shortlink": format!("{}/status", self.url),
            "started_at": m.scheduled_for,
            "page_id": self.page_id,
            "incident_updates": [{
                "id": m.id,
                "status": m.status.as_str(),
                "body": m.message,
                "incident_id": m.id,
                "created_at": m.created_at,
                "updated_at": m.updated_at,
                "display_at": m.created_at,
                "affected_components": null,
                "deliver_notifications": true,
                "custom_tweet": null,
                "tweet_id": null,
            }],
            "components": self.affected(&m.components),
            "scheduled_for": m.scheduled_for,
            "scheduled_until": m.scheduled_until,
        })
    }
}

fn component_object(page_id: &str, c: &ComponentView) -> Value {
    json!({
        "id": c.id,
        "name": c.name,
        "status": c.status.as_str(),
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "position": c.position,
        "description": c.description,
        "showcase": true,
        "start_date": null,
        "group_id": c.group.as_deref().map(group_id),
        "page_id": page_id,
        "group": false,
        "only_show_if_degraded": false,
    })
}

fn group_object(page_id: &str, name: &str, members: &[&ComponentView]) -> Value {
    let worst = members
        .iter()
        .map(|c| c.status)
        .max_by_key(|s| s.severity())
        .unwrap_or(ComponentStatus::Operational);
    json!({
        "id": group_id(name),
        "name": name,
        "status": worst.as_str(),
        "created_at": members.iter().map(|c| c.created_at).min(),
        "updated_at": members.iter().map(|c| c.updated_at).max(),
        "position": members.iter().map(|c| c.position).min().unwrap_or_default(),
        "description": null,
        "showcase": false,
        "start_date": null,
        "group_id": null,
        "page_id": page_id,
        "group": true,
        "only_show_if_degraded": false,
        "components": members.iter().map(|c| c.id).collect::<Vec<_>>(),
    })
}
