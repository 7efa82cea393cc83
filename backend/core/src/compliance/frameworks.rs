//! Frameworks: catalogs of requirements imported into an org (OSCAL, CSV, or
//! the starter catalog shipped with Attest), browsed as a tree, deleted whole.

use attest_shared::{
    api::Page,
    compliance::{FrameworkSource, FrameworkView, RequirementView},
    permissions::Permission,
};
use sea_orm::{ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _};
use uuid::Uuid;

use super::catalog::{self, Catalog};
use crate::{
    audit::{Action, ComplianceFacts, Record},
    authz::OrgScope,
    clock,
    store::{
        entities::{frameworks, requirements},
        page::PageRequest,
    },
    validate::invalid,
    AppError, AppResult, AppState,
};

/// The starter catalog: twenty baseline requirements in Attest's own words.
const STARTER: &str = include_str!("catalog/starter.csv");
const STARTER_NAME: &str = "Attest Baseline Security";
const MAX_NAME: usize = 200;
/// Rows per insert: well under both databases' bound-parameter limits.
const INSERT_BATCH: usize = 1_000;

/// What an imported document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Oscal,
    Csv,
}

fn view(row: frameworks::Model) -> AppResult<FrameworkView> {
    Ok(FrameworkView {
        id: row.id,
        name: row.name,
        source: super::stored(&row.source, FrameworkSource::parse)?,
        requirement_count: row.requirement_count,
        created_at: row.created_at.to_utc(),
    })
}

fn requirement_view(row: requirements::Model) -> RequirementView {
    RequirementView {
        id: row.id,
        reference: row.reference,
        title: row.title,
        description: row.description,
        parent_id: row.parent_id,
    }
}

fn described(row: &frameworks::Model) -> ComplianceFacts {
    ComplianceFacts {
        title: Some(row.name.clone()),
        source: Some(row.source.clone()),
        requirement_count: Some(row.requirement_count),
        ..ComplianceFacts::default()
    }
}

/// Imports `document` as a new framework named `name` (or the catalog's own
/// title). The document is parsed off the async runtime: a large catalog
/// never stalls other requests.
pub async fn import(
    state: &AppState,
    scope: &OrgScope,
    name: Option<&str>,
    format: Format,
    document: bytes::Bytes,
) -> AppResult<FrameworkView> {
    scope.require(Permission::ControlsWrite)?;
    let catalog = tokio::task::spawn_blocking(move || match format {
        Format::Oscal => catalog::oscal::parse(&document),
        Format::Csv => catalog::csv::parse(&document),
    })
    .await
    .map_err(AppError::internal)??;
    let source = match format {
        Format::Oscal => FrameworkSource::Oscal,
        Format::Csv => FrameworkSource::Csv,
    };
    store(state, scope, name, source, catalog).await
}

/// Imports the starter catalog as a new framework.
pub async fn import_starter(state: &AppState, scope: &OrgScope) -> AppResult<FrameworkView> {
    scope.require(Permission::ControlsWrite)?;
    let catalog = catalog::csv::parse(STARTER.as_bytes())?;
    store(
        state,
        scope,
        Some(STARTER_NAME),
        FrameworkSource::Starter,
        catalog,
    )
    .await
}

async fn store(
    state: &AppState,
    scope: &OrgScope,
    name: Option<&str>,
    source: FrameworkSource,
    catalog: Catalog,
) -> AppResult<FrameworkView> {
    let name = name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .or(catalog.title.clone())
        .ok_or_else(|| {
            invalid(
                "name",
                "name the framework (`?name=`): this document has no title",
            )
        })?;
    if name.chars().count() > MAX_NAME {
        return Err(invalid("name", format!("must be at most {MAX_NAME} characters")));
    }
    let framework = frameworks::Model {
        id: Uuid::now_v7(),
        org_id: scope.org_id(),
        name,
        source: source.as_str().to_owned(),
        requirement_count: i32::try_from(catalog.entries.len()).map_err(AppError::internal)?,
        created_at: clock::now(),
    };
    let ids: std::collections::HashMap<&str, Uuid> = catalog
        .entries
        .iter()
        .map(|e| (e.reference.as_str(), Uuid::now_v7()))
        .collect();
    let rows: Vec<requirements::Model> = catalog
        .entries
        .iter()
        .zip(0..)
        .map(|(entry, position)| requirements::Model {
            id: ids[entry.reference.as_str()],
            org_id: scope.org_id(),
            framework_id: framework.id,
            reference: entry.reference.clone(),
            title: entry.title.clone(),
            description: entry.description.clone(),
            parent_id: entry.parent.as_deref().map(|p| ids[p]),
            position,
        })
        .collect();
    let txn = state.begin().await?;
    frameworks::Entity::insert(frameworks::ActiveModel::from(framework.clone()))
        .exec_without_returning(&txn)
        .await?;
    // A catalog may name a parent after its child; a batch may not.
    for batch in parents_first(rows, |r| r.id, |r| r.parent_id).chunks(INSERT_BATCH) {
        requirements::Entity::insert_many(batch.iter().cloned().map(requirements::ActiveModel::from))
            .exec_without_returning(&txn)
            .await?;
    }
    scope
        .audit(
            &txn,
            Record::of(Action::FrameworkImported, "framework", framework.id)
                .with(super::created(described(&framework))),
        )
        .await?;
    txn.commit().await?;
    view(framework)
}

pub async fn list(state: &AppState, scope: &OrgScope, page: &PageRequest) -> AppResult<Page<FrameworkView>> {
    scope.require(Permission::ControlsRead)?;
    let query = frameworks::Entity::find().filter(frameworks::Column::OrgId.eq(scope.org_id()));
    let rows = page
        .load(&state.db, query.cursor_by(frameworks::Column::Id), |f| f.id)
        .await?;
    super::views(rows, view)
}

/// The scope's framework `id` (`404` for any other org's).
pub(super) async fn row<C: ConnectionTrait>(
    db: &C,
    scope: &OrgScope,
    id: Uuid,
) -> AppResult<frameworks::Model> {
    super::one_in_org::<frameworks::Entity, _>(
        db,
        scope,
        id,
        frameworks::Column::Id,
        frameworks::Column::OrgId,
    )
    .await
}

pub async fn get(state: &AppState, scope: &OrgScope, id: Uuid) -> AppResult<FrameworkView> {
    scope.require(Permission::ControlsRead)?;
    view(row(&state.db, scope, id).await?)
}

/// `rows` reordered so that each comes after its parent, otherwise in their
/// own order: what inserting a tree in batches needs. A parent that is not
/// among `rows` counts as placed; rows caught in a cycle keep their order at
/// the end (the database then refuses them).
pub fn parents_first<T>(
    rows: Vec<T>,
    id: impl Fn(&T) -> Uuid,
    parent: impl Fn(&T) -> Option<Uuid>,
) -> Vec<T> {
    let present: std::collections::HashSet<Uuid> = rows.iter().map(&id).collect();
    let mut placed = std::collections::HashSet::with_capacity(rows.len());
    let mut ordered = Vec::with_capacity(rows.len());
    let mut pending = rows;
    while !pending.is_empty() {
        let before = ordered.len();
        let mut waiting = Vec::new();
        for row in pending {
            if parent(&row).is_none_or(|p| placed.contains(&p) || !present.contains(&p)) {
                placed.insert(id(&row));
                ordered.push(row);
            } else {
                waiting.push(row);
            }
        }
        if ordered.len() == before {
            ordered.extend(waiting);
            break;
        }
        pending = waiting;
    }
    ordered
}

/// The framework's requirements in catalog order (parents before their children).
pub async fn requirements(
    state: &AppState,
    scope: &OrgScope,
    id: Uuid,
    page: &PageRequest,
) -> AppResult<Page<RequirementView>> {
    scope.require(Permission::ControlsRead)?;
    let framework = row(&state.db, scope, id).await?;
    let query = requirements::Entity::find().filter(requirements::Column::FrameworkId.eq(framework.id));
    let rows = page
        .load(&state.db, query.cursor_by(requirements::Column::Position), |r| {
            r.position
        })
        .await?;
    Ok(rows.map(requirement_view))
}

/// Deletes the framework, its requirements and their mappings to controls
/// (the controls stay).
pub async fn delete(state: &AppState, scope: &OrgScope, id: Uuid) -> AppResult<()> {
    scope.require(Permission::ControlsWrite)?;
    let txn = state.begin().await?;
    let framework = row(&txn, scope, id).await?;
    frameworks::Entity::delete_by_id(framework.id).exec(&txn).await?;
    scope
        .audit(
            &txn,
            Record::of(Action::FrameworkDeleted, "framework", framework.id)
                .with(super::deleted(described(&framework))),
        )
        .await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_come_before_their_children_and_the_rest_keeps_its_order() {
        let ids: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
        // 0 is a child of 3, 3 a child of 4, 1 and 2 are roots; 4's parent is not among the rows.
        let outside = Uuid::now_v7();
        let rows = vec![
            (ids[0], Some(ids[3])),
            (ids[1], None),
            (ids[2], None),
            (ids[3], Some(ids[4])),
            (ids[4], Some(outside)),
        ];
        let ordered: Vec<Uuid> = parents_first(rows, |r| r.0, |r| r.1)
            .into_iter()
            .map(|r| r.0)
            .collect();
        assert_eq!(ordered, vec![ids[1], ids[2], ids[4], ids[3], ids[0]]);
    }

    #[test]
    fn a_cycle_is_kept_at_the_end_instead_of_looping() {
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let rows = vec![(a, Some(b)), (b, Some(a)), (c, None)];
        let ordered: Vec<Uuid> = parents_first(rows, |r| r.0, |r| r.1)
            .into_iter()
            .map(|r| r.0)
            .collect();
        assert_eq!(ordered, vec![c, a, b]);
    }
}
