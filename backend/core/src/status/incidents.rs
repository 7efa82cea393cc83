//! Incidents: opened, updated and resolved by operators, each step a
//! timestamped update that may set the affected components' statuses.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use attest_shared::status::{
    AffectedComponent, ComponentStatus, CreateIncident, Impact, IncidentStatus, IncidentUpdateView,
    IncidentView, PostIncidentUpdate,
};
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, Condition, ConnectionTrait, EntityTrait as _, QueryFilter as _,
    QueryOrder as _, QuerySelect as _, Set,
};
use uuid::Uuid;

use super::{
    commit, components, finish, from_json, parse, record_change, require, subscriptions, text, to_json,
};
use crate::{
    audit::{Action, Record, StatusPageFacts},
    clock,
    store::entities::{status_components, status_incident_updates, status_incidents},
    Actor, AppError, AppResult, AppState,
};

const NAME_MAX: usize = 200;
const MESSAGE_MAX: usize = 10_000;
/// The admin list and the hosted API's `incidents.json` show this many.
pub const RECENT: u64 = 50;

/// An incident with its updates, newest first.
pub type Stored = (status_incidents::Model, Vec<status_incident_updates::Model>);

/// The components by id, to name and show the affected ones.
pub type ComponentsById = HashMap<Uuid, status_components::Model>;

pub fn by_id(components: &[status_components::Model]) -> ComponentsById {
    components.iter().map(|c| (c.id, c.clone())).collect()
}

pub fn view((incident, updates): &Stored, components: &ComponentsById) -> AppResult<IncidentView> {
    let ids: Vec<Uuid> = from_json(&incident.component_ids)?;
    Ok(IncidentView {
        id: incident.id,
        name: incident.name.clone(),
        impact: parse(&incident.impact, Impact::parse)?,
        status: parse(&incident.status, IncidentStatus::parse)?,
        components: affected(&ids, components)?,
        updates: updates
            .iter()
            .map(|u| {
                Ok(IncidentUpdateView {
                    id: u.id,
                    status: parse(&u.status, IncidentStatus::parse)?,
                    message: u.message.clone(),
                    components: from_json(&u.components)?,
                    created_at: u.created_at.to_utc(),
                })
            })
            .collect::<AppResult<_>>()?,
        created_at: incident.created_at.to_utc(),
        updated_at: incident.updated_at.to_utc(),
        resolved_at: incident.resolved_at.map(|t| t.to_utc()),
    })
}

/// The named components that still exist, with their status now.
pub fn affected(ids: &[Uuid], components: &ComponentsById) -> AppResult<Vec<AffectedComponent>> {
    ids.iter()
        .filter_map(|id| components.get(id))
        .map(|c| {
            Ok(AffectedComponent {
                id: c.id,
                name: c.name.clone(),
                status: parse(&c.status, ComponentStatus::parse)?,
            })
        })
        .collect()
}

/// Incidents that are open or were opened after `since`, newest first, with their updates.
pub async fn load<C: ConnectionTrait>(
    db: &C,
    since: chrono::DateTime<chrono::FixedOffset>,
    limit: Option<u64>,
) -> AppResult<Vec<Stored>> {
    let incidents = status_incidents::Entity::find()
        .filter(
            Condition::any()
                .add(status_incidents::Column::ResolvedAt.is_null())
                .add(status_incidents::Column::CreatedAt.gte(since)),
        )
        .order_by_desc(status_incidents::Column::CreatedAt)
        .limit(limit)
        .all(db)
        .await?;
    with_updates(db, incidents).await
}

async fn with_updates<C: ConnectionTrait>(
    db: &C,
    incidents: Vec<status_incidents::Model>,
) -> AppResult<Vec<Stored>> {
    let mut updates: HashMap<Uuid, Vec<status_incident_updates::Model>> = HashMap::new();
    let ids: Vec<Uuid> = incidents.iter().map(|i| i.id).collect();
    for chunk in ids.chunks(500) {
        let rows = status_incident_updates::Entity::find()
            .filter(status_incident_updates::Column::IncidentId.is_in(chunk.iter().copied()))
            .order_by_desc(status_incident_updates::Column::CreatedAt)
            .all(db)
            .await?;
        for row in rows {
            updates.entry(row.incident_id).or_default().push(row);
        }
    }
    Ok(incidents
        .into_iter()
        .map(|i| {
            let u = updates.remove(&i.id).unwrap_or_default();
            (i, u)
        })
        .collect())
}

pub async fn list(state: &AppState, actor: &Actor) -> AppResult<Vec<IncidentView>> {
    require(actor)?;
    let incidents = status_incidents::Entity::find()
        .order_by_desc(status_incidents::Column::CreatedAt)
        .limit(RECENT)
        .all(&state.db)
        .await?;
    let stored = with_updates(&state.db, incidents).await?;
    let components = by_id(&components::all(&state.db).await?);
    stored.iter().map(|s| view(s, &components)).collect()
}

async fn stored<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<Stored> {
    let incident = status_incidents::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(AppError::not_found)?;
    let mut all = with_updates(db, vec![incident]).await?;
    all.pop().ok_or_else(AppError::not_found)
}

pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<IncidentView> {
    require(actor)?;
    let stored = stored(&state.db, id).await?;
    view(&stored, &by_id(&components::all(&state.db).await?))
}

fn facts(incident: &status_incidents::Model, set: &BTreeMap<Uuid, ComponentStatus>) -> StatusPageFacts {
    StatusPageFacts {
        name: Some(incident.name.clone()),
        status: Some(incident.status.clone()),
        impact: Some(incident.impact.clone()),
        components: Some(set.clone()),
        ..StatusPageFacts::default()
    }
}

pub async fn create(state: &AppState, actor: &Actor, body: &CreateIncident) -> AppResult<IncidentView> {
    require(actor)?;
    let mut errors = Vec::new();
    let name = text("name", &body.name, NAME_MAX, &mut errors);
    let message = text("message", &body.message, MESSAGE_MAX, &mut errors);
    finish(errors)?;
    let txn = state.begin().await?;
    components::existing(&txn, "components", body.components.keys().copied()).await?;
    let now = clock::now();
    let ids: Vec<Uuid> = body.components.keys().copied().collect();
    let incident = status_incidents::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name),
        impact: Set(body.impact.as_str().to_owned()),
        status: Set(body.status.as_str().to_owned()),
        component_ids: Set(to_json(&ids)?),
        created_at: Set(now),
        updated_at: Set(now),
        resolved_at: Set((body.status == IncidentStatus::Resolved).then_some(now)),
    }
    .insert(&txn)
    .await?;
    insert_update(&txn, incident.id, body.status, &message, &body.components, now).await?;
    components::set_statuses(&txn, &body.components).await?;
    let record = Record::of(Action::StatusIncidentCreated, "status_incident", incident.id);
    record_change(
        &txn,
        actor,
        record,
        None,
        Some(facts(&incident, &body.components)),
    )
    .await?;
    subscriptions::notify(&txn, state, &notice(body.status, &incident.name, &message)).await?;
    let stored = stored(&txn, incident.id).await?;
    let components = by_id(&components::all(&txn).await?);
    commit(state, txn).await?;
    view(&stored, &components)
}

/// What subscribers are mailed about a step of an incident.
fn notice(status: IncidentStatus, name: &str, message: &str) -> subscriptions::Notice {
    subscriptions::Notice {
        subject: format!("[{}] {name}", status.label()),
        text: format!("{name}\n\n{}: {message}", status.label()),
    }
}

async fn insert_update<C: ConnectionTrait>(
    db: &C,
    incident_id: Uuid,
    status: IncidentStatus,
    message: &str,
    set: &BTreeMap<Uuid, ComponentStatus>,
    now: chrono::DateTime<chrono::FixedOffset>,
) -> AppResult<()> {
    status_incident_updates::ActiveModel {
        id: Set(Uuid::now_v7()),
        incident_id: Set(incident_id),
        status: Set(status.as_str().to_owned()),
        message: Set(message.to_owned()),
        components: Set(to_json(set)?),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Posts an update. Resolving returns the incident's components not named in
/// the update to `operational`; the update records every status it set.
pub async fn post_update(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    body: &PostIncidentUpdate,
) -> AppResult<IncidentView> {
    require(actor)?;
    let mut errors = Vec::new();
    let message = text("message", &body.message, MESSAGE_MAX, &mut errors);
    finish(errors)?;
    let txn = state.begin().await?;
    let (before, _) = stored(&txn, id).await?;
    let named = body.components.clone().unwrap_or_default();
    let known = components::existing(&txn, "components", named.keys().copied()).await?;
    let mut ids: BTreeSet<Uuid> = from_json::<Vec<Uuid>>(&before.component_ids)?
        .into_iter()
        .collect();
    let mut set = named.clone();
    let resolving = body.status == IncidentStatus::Resolved;
    if resolving {
        for component in ids.iter().filter(|c| known.contains_key(c)) {
            set.entry(*component).or_insert(ComponentStatus::Operational);
        }
    }
    ids.extend(named.keys().copied());
    let now = clock::now();
    let mut active: status_incidents::ActiveModel = before.clone().into();
    active.status = Set(body.status.as_str().to_owned());
    active.component_ids = Set(to_json(&ids)?);
    active.updated_at = Set(now);
    active.resolved_at = Set(if resolving {
        before.resolved_at.or(Some(now))
    } else {
        None
    });
    let after = active.update(&txn).await?;
    insert_update(&txn, id, body.status, &message, &set, now).await?;
    components::set_statuses(&txn, &set).await?;
    let action = if resolving && before.resolved_at.is_none() {
        Action::StatusIncidentResolved
    } else {
        Action::StatusIncidentUpdated
    };
    let record = Record::of(action, "status_incident", id);
    record_change(
        &txn,
        actor,
        record,
        Some(facts(&before, &BTreeMap::new())),
        Some(facts(&after, &set)),
    )
    .await?;
    subscriptions::notify(&txn, state, &notice(body.status, &after.name, &message)).await?;
    let stored = stored(&txn, id).await?;
    let components = by_id(&components::all(&txn).await?);
    commit(state, txn).await?;
    view(&stored, &components)
}
