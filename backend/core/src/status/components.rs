//! The page's components: what the public sees the status of.

use attest_shared::status::{ComponentStatus, ComponentView, CreateComponent, UpdateComponent};
use sea_orm::{
    ActiveModelTrait as _, ConnectionTrait, EntityTrait as _, QueryOrder as _, QuerySelect as _, Set,
};
use uuid::Uuid;

use super::{commit, finish, optional_text, parse, record_change, require, text};
use crate::{
    audit::{Action, Record, StatusPageFacts},
    clock,
    store::entities::status_components,
    Actor, AppError, AppResult, AppState,
};

const NAME_MAX: usize = 100;
const DESCRIPTION_MAX: usize = 1000;

pub fn view(row: &status_components::Model) -> AppResult<ComponentView> {
    Ok(ComponentView {
        id: row.id,
        name: row.name.clone(),
        description: row.description.clone(),
        group: row.group_name.clone(),
        position: row.position,
        status: parse(&row.status, ComponentStatus::parse)?,
        created_at: row.created_at.to_utc(),
        updated_at: row.updated_at.to_utc(),
    })
}

fn facts(row: &status_components::Model) -> StatusPageFacts {
    StatusPageFacts {
        name: Some(row.name.clone()),
        group: row.group_name.clone(),
        status: Some(row.status.clone()),
        ..StatusPageFacts::default()
    }
}

/// Every component, in display order.
pub async fn all<C: ConnectionTrait>(db: &C) -> AppResult<Vec<status_components::Model>> {
    Ok(status_components::Entity::find()
        .order_by_asc(status_components::Column::Position)
        .order_by_asc(status_components::Column::CreatedAt)
        .all(db)
        .await?)
}

pub async fn list(state: &AppState, actor: &Actor) -> AppResult<Vec<ComponentView>> {
    require(actor)?;
    all(&state.db).await?.iter().map(view).collect()
}

async fn row<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<status_components::Model> {
    status_components::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(AppError::not_found)
}

pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<ComponentView> {
    require(actor)?;
    view(&row(&state.db, id).await?)
}

pub async fn create(state: &AppState, actor: &Actor, body: &CreateComponent) -> AppResult<ComponentView> {
    require(actor)?;
    let mut errors = Vec::new();
    let name = text("name", &body.name, NAME_MAX, &mut errors);
    let description = optional_text(
        "description",
        body.description.as_deref(),
        DESCRIPTION_MAX,
        &mut errors,
    );
    let group = optional_text("group", body.group.as_deref(), NAME_MAX, &mut errors);
    finish(errors)?;
    let txn = state.begin().await?;
    let position = match body.position {
        Some(position) => position,
        None => last_position(&txn).await?.saturating_add(1),
    };
    let now = clock::now();
    let row = status_components::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name),
        description: Set(description),
        group_name: Set(group),
        position: Set(position),
        status: Set(body.status.as_str().to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let record = Record::of(Action::StatusComponentCreated, "status_component", row.id);
    record_change(&txn, actor, record, None, Some(facts(&row))).await?;
    commit(state, txn).await?;
    view(&row)
}

async fn last_position<C: ConnectionTrait>(db: &C) -> AppResult<i32> {
    let last: Option<i32> = status_components::Entity::find()
        .select_only()
        .column(status_components::Column::Position)
        .order_by_desc(status_components::Column::Position)
        .into_tuple()
        .one(db)
        .await?;
    Ok(last.unwrap_or(0))
}

pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    body: &UpdateComponent,
) -> AppResult<ComponentView> {
    require(actor)?;
    let mut errors = Vec::new();
    let name = body
        .name
        .as_deref()
        .map(|n| text("name", n, NAME_MAX, &mut errors));
    let description = body
        .description
        .as_deref()
        .map(|d| optional_text("description", Some(d), DESCRIPTION_MAX, &mut errors));
    let group = body
        .group
        .as_deref()
        .map(|g| optional_text("group", Some(g), NAME_MAX, &mut errors));
    finish(errors)?;
    let txn = state.begin().await?;
    let before = row(&txn, id).await?;
    let mut active: status_components::ActiveModel = before.clone().into();
    if let Some(name) = name {
        active.name = Set(name);
    }
    if let Some(description) = description {
        active.description = Set(description);
    }
    if let Some(group) = group {
        active.group_name = Set(group);
    }
    if let Some(status) = body.status {
        active.status = Set(status.as_str().to_owned());
    }
    if let Some(position) = body.position {
        active.position = Set(position);
    }
    active.updated_at = Set(clock::now());
    let after = active.update(&txn).await?;
    let record = Record::of(Action::StatusComponentUpdated, "status_component", id);
    record_change(&txn, actor, record, Some(facts(&before)), Some(facts(&after))).await?;
    commit(state, txn).await?;
    view(&after)
}

/// Sets components' statuses (incidents do), in the caller's transaction.
pub async fn set_statuses<C: ConnectionTrait>(
    db: &C,
    statuses: &std::collections::BTreeMap<Uuid, ComponentStatus>,
) -> AppResult<()> {
    let now = clock::now();
    for (id, status) in statuses {
        let active = status_components::ActiveModel {
            id: Set(*id),
            status: Set(status.as_str().to_owned()),
            updated_at: Set(now),
            ..Default::default()
        };
        active.update(db).await?;
    }
    Ok(())
}

/// Every component by id, once `ids` are known to name components (each
/// unknown one refused with the field it came from).
pub async fn existing<C: ConnectionTrait>(
    db: &C,
    field: &str,
    ids: impl IntoIterator<Item = Uuid>,
) -> AppResult<super::incidents::ComponentsById> {
    let known = super::incidents::by_id(&all(db).await?);
    let errors: Vec<_> = ids
        .into_iter()
        .filter(|id| !known.contains_key(id))
        .map(|id| attest_shared::error::FieldError {
            field: format!("{field}.{id}"),
            message: "no such component".into(),
        })
        .collect();
    finish(errors)?;
    Ok(known)
}

pub async fn delete(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<()> {
    require(actor)?;
    let txn = state.begin().await?;
    let before = row(&txn, id).await?;
    status_components::Entity::delete_by_id(id).exec(&txn).await?;
    let record = Record::of(Action::StatusComponentDeleted, "status_component", id);
    record_change(&txn, actor, record, Some(facts(&before)), None).await?;
    commit(state, txn).await?;
    Ok(())
}
