//! The compliance program of an org (docs/compliance.md): frameworks and
//! their requirements, the org's own controls mapped to them, evidence that
//! controls work, policies with versions and acknowledgments, and readiness
//! per framework. Every row belongs to one org and is reached through its
//! [`OrgScope`]; every change is audited in the same transaction.

pub mod blobs;
pub mod catalog;
pub mod checks;
pub mod controls;
pub mod evidence;
pub mod frameworks;
pub mod policies;
pub mod readiness;

use attest_shared::api::Page;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter as _, QuerySelect as _};
use uuid::Uuid;

use crate::{
    audit::{ComplianceFacts, Facts, Metadata},
    authz::OrgScope,
    store::decode_name as stored,
    AppError, AppResult,
};

fn facts(compliance: ComplianceFacts) -> Facts {
    Facts {
        compliance: Some(compliance),
        ..Facts::default()
    }
}

/// The audit metadata of a change from `before` to `after`.
fn change(before: ComplianceFacts, after: ComplianceFacts) -> Metadata {
    Metadata::change(facts(before), facts(after))
}

/// The audit metadata of a creation (`after`) or deletion (`before`).
fn created(after: ComplianceFacts) -> Metadata {
    Metadata {
        after: Some(facts(after)),
        ..Metadata::default()
    }
}

fn deleted(before: ComplianceFacts) -> Metadata {
    Metadata {
        before: Some(facts(before)),
        ..Metadata::default()
    }
}

/// The row `id` of `E` (its `id` and `org_id` columns) if it is the scope's
/// org's; `404` for any other org's, as if it did not exist.
async fn one_in_org<E, C>(
    db: &C,
    scope: &OrgScope,
    id: Uuid,
    id_column: E::Column,
    org_id: E::Column,
) -> AppResult<E::Model>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    E::find()
        .filter(id_column.eq(id))
        .filter(org_id.eq(scope.org_id()))
        .one(db)
        .await?
        .ok_or_else(AppError::not_found)
}

/// Which of `ids` are rows of the scope's org in `E` (its `id` and `org_id`
/// columns): the rest are refused as `field`, as if they did not exist.
async fn all_in_org<E, C>(
    db: &C,
    scope: &OrgScope,
    ids: &[Uuid],
    id: E::Column,
    org_id: E::Column,
    field: &str,
) -> AppResult<()>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    if ids.is_empty() {
        return Ok(());
    }
    let found: Vec<Uuid> = E::find()
        .select_only()
        .column(id)
        .filter(org_id.eq(scope.org_id()))
        .filter(id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    match ids.iter().find(|i| !found.contains(i)) {
        Some(missing) => Err(crate::validate::invalid(
            field,
            format!("{missing} is not one of this organization's"),
        )),
        None => Ok(()),
    }
}

/// Sorted and without duplicates: how id lists are stored and shown.
fn distinct(mut ids: Vec<Uuid>) -> Vec<Uuid> {
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// A page of views from a page of rows.
fn views<R, V>(page: Page<R>, view: impl FnMut(R) -> AppResult<V>) -> AppResult<Page<V>> {
    Ok(Page {
        items: page.items.into_iter().map(view).collect::<AppResult<_>>()?,
        next_cursor: page.next_cursor,
    })
}
