//! Scheduled maintenances. Their status is never stored: it follows the
//! window and the clock, so a maintenance starts and completes by itself on
//! every instance at once.

use attest_shared::{
    error::FieldError,
    status::{CreateMaintenance, MaintenanceStatus, MaintenanceView, UpdateMaintenance},
};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _,
    QueryOrder as _, QuerySelect as _, Set,
};
use uuid::Uuid;

use super::{
    commit, components, finish, from_json, incidents::ComponentsById, record_change, require, subscriptions,
    text, to_json,
};
use crate::{
    audit::{Action, Record, StatusPageFacts},
    clock,
    store::entities::status_maintenances,
    Actor, AppError, AppResult, AppState,
};

const NAME_MAX: usize = 200;
const MESSAGE_MAX: usize = 10_000;

/// Where a window stands at `now`.
pub fn status_at(row: &status_maintenances::Model, now: DateTime<Utc>) -> MaintenanceStatus {
    if now < row.scheduled_for.to_utc() {
        MaintenanceStatus::Scheduled
    } else if now < row.scheduled_until.to_utc() {
        MaintenanceStatus::InProgress
    } else {
        MaintenanceStatus::Completed
    }
}

pub fn component_ids(row: &status_maintenances::Model) -> AppResult<Vec<Uuid>> {
    from_json(&row.component_ids)
}

pub fn view(
    row: &status_maintenances::Model,
    components: &ComponentsById,
    now: DateTime<Utc>,
) -> AppResult<MaintenanceView> {
    Ok(MaintenanceView {
        id: row.id,
        name: row.name.clone(),
        message: row.message.clone(),
        status: status_at(row, now),
        scheduled_for: row.scheduled_for.to_utc(),
        scheduled_until: row.scheduled_until.to_utc(),
        components: super::incidents::affected(&component_ids(row)?, components)?,
        created_at: row.created_at.to_utc(),
        updated_at: row.updated_at.to_utc(),
    })
}

/// Maintenances whose window ends after `since`, soonest first.
pub async fn load<C: ConnectionTrait>(
    db: &C,
    since: DateTime<Utc>,
    limit: Option<u64>,
) -> AppResult<Vec<status_maintenances::Model>> {
    Ok(status_maintenances::Entity::find()
        .filter(status_maintenances::Column::ScheduledUntil.gt(since.fixed_offset()))
        .order_by_asc(status_maintenances::Column::ScheduledFor)
        .limit(limit)
        .all(db)
        .await?)
}

pub async fn list(state: &AppState, actor: &Actor) -> AppResult<Vec<MaintenanceView>> {
    require(actor)?;
    let rows = status_maintenances::Entity::find()
        .order_by_desc(status_maintenances::Column::ScheduledFor)
        .limit(super::incidents::RECENT)
        .all(&state.db)
        .await?;
    let components = super::incidents::by_id(&components::all(&state.db).await?);
    let now = Utc::now();
    rows.iter().map(|r| view(r, &components, now)).collect()
}

async fn row<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<status_maintenances::Model> {
    status_maintenances::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(AppError::not_found)
}

pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<MaintenanceView> {
    require(actor)?;
    let row = row(&state.db, id).await?;
    let components = super::incidents::by_id(&components::all(&state.db).await?);
    view(&row, &components, Utc::now())
}

fn facts(row: &status_maintenances::Model) -> StatusPageFacts {
    StatusPageFacts {
        name: Some(row.name.clone()),
        scheduled_for: Some(row.scheduled_for.to_utc()),
        scheduled_until: Some(row.scheduled_until.to_utc()),
        ..StatusPageFacts::default()
    }
}

fn check_window(from: DateTime<Utc>, until: DateTime<Utc>, errors: &mut Vec<FieldError>) {
    if until <= from {
        errors.push(FieldError {
            field: "scheduled_until".into(),
            message: "must be after scheduled_for".into(),
        });
    }
}

fn notice(row: &status_maintenances::Model) -> subscriptions::Notice {
    let window = format!(
        "{} to {} (UTC)",
        row.scheduled_for.to_utc().format("%Y-%m-%d %H:%M"),
        row.scheduled_until.to_utc().format("%Y-%m-%d %H:%M")
    );
    subscriptions::Notice {
        subject: format!("[Scheduled maintenance] {}", row.name),
        text: format!("{}\n\n{window}\n\n{}", row.name, row.message),
    }
}

pub async fn create(state: &AppState, actor: &Actor, body: &CreateMaintenance) -> AppResult<MaintenanceView> {
    require(actor)?;
    let mut errors = Vec::new();
    let name = text("name", &body.name, NAME_MAX, &mut errors);
    let message = text("message", &body.message, MESSAGE_MAX, &mut errors);
    check_window(body.scheduled_for, body.scheduled_until, &mut errors);
    finish(errors)?;
    let txn = state.begin().await?;
    let components = components::existing(&txn, "component_ids", body.component_ids.iter().copied()).await?;
    let now = clock::now();
    let row = status_maintenances::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name),
        message: Set(message),
        scheduled_for: Set(body.scheduled_for.fixed_offset()),
        scheduled_until: Set(body.scheduled_until.fixed_offset()),
        component_ids: Set(to_json(&body.component_ids)?),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let record = Record::of(Action::StatusMaintenanceScheduled, "status_maintenance", row.id);
    record_change(&txn, actor, record, None, Some(facts(&row))).await?;
    subscriptions::notify(&txn, state, &notice(&row)).await?;
    commit(state, txn).await?;
    view(&row, &components, Utc::now())
}

pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    body: &UpdateMaintenance,
) -> AppResult<MaintenanceView> {
    require(actor)?;
    let mut errors = Vec::new();
    let name = body
        .name
        .as_deref()
        .map(|n| text("name", n, NAME_MAX, &mut errors));
    let message = body
        .message
        .as_deref()
        .map(|m| text("message", m, MESSAGE_MAX, &mut errors));
    let txn = state.begin().await?;
    let before = row(&txn, id).await?;
    let from = body.scheduled_for.unwrap_or(before.scheduled_for.to_utc());
    let until = body.scheduled_until.unwrap_or(before.scheduled_until.to_utc());
    check_window(from, until, &mut errors);
    finish(errors)?;
    let named = body.component_ids.iter().flatten().copied();
    let components = components::existing(&txn, "component_ids", named).await?;
    let mut active: status_maintenances::ActiveModel = before.clone().into();
    if let Some(name) = name {
        active.name = Set(name);
    }
    if let Some(message) = message {
        active.message = Set(message);
    }
    active.scheduled_for = Set(from.fixed_offset());
    active.scheduled_until = Set(until.fixed_offset());
    if let Some(ids) = &body.component_ids {
        active.component_ids = Set(to_json(ids)?);
    }
    active.updated_at = Set(clock::now());
    let after = active.update(&txn).await?;
    let record = Record::of(Action::StatusMaintenanceUpdated, "status_maintenance", id);
    record_change(&txn, actor, record, Some(facts(&before)), Some(facts(&after))).await?;
    commit(state, txn).await?;
    view(&after, &components, Utc::now())
}

pub async fn delete(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<()> {
    require(actor)?;
    let txn = state.begin().await?;
    let before = row(&txn, id).await?;
    status_maintenances::Entity::delete_by_id(id).exec(&txn).await?;
    let record = Record::of(Action::StatusMaintenanceDeleted, "status_maintenance", id);
    record_change(&txn, actor, record, Some(facts(&before)), None).await?;
    commit(state, txn).await?;
    Ok(())
}
