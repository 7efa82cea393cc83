//! Organizations: created by operators; the creator becomes their first owner.
//!
//! Reading one org goes through [`crate::authz::scope`]: someone who is neither a
//! member nor an operator cannot tell an org exists (`404`, never `403`).

use std::collections::BTreeMap;

use attest_shared::{api::Page, error::FieldError, roles};
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, EntityTrait as _, QueryFilter as _, QuerySelect as _,
    QueryTrait as _, Set,
};
use uuid::Uuid;

use attest_shared::permissions::Permission;
use sea_orm::sea_query::Expr;

use crate::{
    audit::{self, Action, Facts, Metadata, Record, Source},
    authz::{self, OrgScope},
    clock,
    precondition::Expected,
    store::{
        entities::{membership_roles, memberships, orgs},
        page::PageRequest,
    },
    Actor, AppError, AppResult, AppState, ErrorKind,
};

/// CONTRACT.md: 3–63 characters of `[a-z0-9-]`, starting with a letter or digit.
pub fn check_slug(slug: &str) -> AppResult<()> {
    let valid = (3..=63).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && slug.bytes().next().is_some_and(|b| b != b'-');
    if valid {
        Ok(())
    } else {
        Err(field_error(
            "slug",
            "must be 3–63 characters of a-z, 0-9 and '-', starting with a letter or digit",
        ))
    }
}

fn check_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(field_error("name", "must be 1–200 characters"));
    }
    Ok(name.to_owned())
}

fn field_error(field: &str, message: &str) -> AppError {
    AppError::validation(vec![FieldError {
        field: field.to_owned(),
        message: message.to_owned(),
    }])
}

/// `403` unless `actor` is a platform operator: only they create orgs.
pub fn require_operator(actor: &Actor) -> AppResult<()> {
    if actor.is_operator() {
        Ok(())
    } else {
        Err(AppError::new(
            ErrorKind::Forbidden,
            "only platform operators create organizations",
        ))
    }
}

/// The row of a new org: live, at version 1, keeping its audit trail for
/// the default retention. Insert it with [`audit::start_chain`], in one transaction.
pub fn new_row(slug: &str, name: String) -> orgs::ActiveModel {
    let now = clock::now();
    orgs::ActiveModel {
        id: Set(Uuid::now_v7()),
        slug: Set(slug.to_owned()),
        name: Set(name),
        version: Set(1),
        policy_version: Set(0),
        flags_version: Set(0),
        audit_retention_days: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    }
}

/// Creates an org (operators only); the creator becomes its owner.
pub async fn create(state: &AppState, actor: &Actor, slug: &str, name: &str) -> AppResult<orgs::Model> {
    require_operator(actor)?;
    check_slug(slug)?;
    let name = check_name(name)?;
    let taken = orgs::Entity::find()
        .filter(orgs::Column::Slug.eq(slug))
        .one(&state.db)
        .await?
        .is_some();
    if taken {
        return Err(AppError::new(
            ErrorKind::Conflict,
            "an organization with this slug exists",
        ));
    }

    let txn = state.begin().await?;
    let org = new_row(slug, name).insert(&txn).await?;
    audit::start_chain(&txn, org.id).await?;
    super::members::admit(&txn, org.id, actor.user_id(), &[roles::OWNER.to_owned()]).await?;
    let facts = Facts {
        name: Some(org.name.clone()),
        slug: Some(org.slug.clone()),
        ..Facts::default()
    };
    let record = Record::of(Action::OrgCreated, "org", org.id).with(Metadata::facts(facts));
    audit::append(&txn, org.id, &Source::of(actor), record).await?;
    txn.commit().await?;
    Ok(org)
}

/// How long a deleted org is kept (invisible) before it may be purged.
pub const DELETION_GRACE: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

/// Renames the org, if it is still at the expected version (`412` otherwise).
pub async fn rename(
    state: &AppState,
    scope: &OrgScope,
    name: &str,
    expected: Expected,
) -> AppResult<orgs::Model> {
    scope.require(Permission::OrgUpdate)?;
    let name = check_name(name)?;
    let txn = state.begin().await?;
    // The row as it is now, under the write lock: `If-Match: *` renames
    // whatever version is current, and the event records the name replaced.
    let before = orgs::Entity::find_by_id(scope.org_id())
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(AppError::not_found)?;
    expected.check(before.version, THE_ORG)?;
    orgs::Entity::update_many()
        .col_expr(orgs::Column::Name, Expr::value(name.clone()))
        .col_expr(orgs::Column::Version, Expr::value(before.version + 1))
        .col_expr(orgs::Column::UpdatedAt, Expr::value(clock::now()))
        .filter(orgs::Column::Id.eq(scope.org_id()))
        .exec(&txn)
        .await?;
    let change = Metadata::change(
        Facts {
            name: Some(before.name),
            ..Facts::default()
        },
        Facts {
            name: Some(name),
            ..Facts::default()
        },
    );
    scope
        .audit(
            &txn,
            Record::of(Action::OrgRenamed, "org", scope.org_id()).with(change),
        )
        .await?;
    let renamed = orgs::Entity::find_by_id(scope.org_id())
        .one(&txn)
        .await?
        .ok_or_else(AppError::not_found)?;
    txn.commit().await?;
    Ok(renamed)
}

const THE_ORG: &str = "the organization";

/// Deletes the org: it disappears at once for everyone and is purged after
/// [`DELETION_GRACE`].
pub async fn delete(state: &AppState, scope: &OrgScope) -> AppResult<()> {
    scope.require(Permission::OrgDelete)?;
    let txn = state.begin().await?;
    let mut active: orgs::ActiveModel = scope.org().clone().into();
    active.deleted_at = Set(Some(clock::now()));
    active.update(&txn).await?;
    scope
        .audit(&txn, Record::of(Action::OrgDeleted, "org", scope.org_id()))
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Removes orgs deleted more than [`DELETION_GRACE`] ago, with everything that
/// belongs to them (the schema cascades), their audit trail included: the purge
/// is the one other writer of `audit_erasures` permits. Returns how many were purged.
pub async fn purge_expired(state: &AppState) -> AppResult<u64> {
    let cutoff = chrono::Utc::now().fixed_offset()
        - chrono::Duration::from_std(DELETION_GRACE).map_err(AppError::internal)?;
    let expired: Vec<Uuid> = orgs::Entity::find()
        .filter(orgs::Column::DeletedAt.is_not_null())
        .filter(orgs::Column::DeletedAt.lt(cutoff))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|org| org.id)
        .collect();
    for org_id in &expired {
        let txn = state.begin().await?;
        audit::erasure::permit(&txn, *org_id, i64::MAX).await?;
        orgs::Entity::delete_by_id(*org_id).exec(&txn).await?;
        audit::erasure::withdraw(&txn, *org_id).await?;
        txn.commit().await?;
    }
    if !expired.is_empty() {
        tracing::info!(
            purged = expired.len(),
            "purged organizations past their deletion grace period"
        );
    }
    Ok(expired.len() as u64)
}

/// Purges expired deletions every hour until the process ends.
pub fn spawn_purger(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every_hour.tick().await;
            if let Err(e) = purge_expired(&state).await {
                tracing::warn!(error = %e, "organization purge failed");
            }
        }
    })
}

/// The orgs the actor can see, by slug: all of them for operators, an API key's
/// own org, else their live memberships (those the session reaches: see
/// [`crate::authz::reaches`]).
pub async fn list_visible(
    state: &AppState,
    actor: &Actor,
    page: &PageRequest,
) -> AppResult<Page<orgs::Model>> {
    let mut query = orgs::Entity::find()
        .filter(orgs::Column::DeletedAt.is_null())
        .filter(orgs::Column::Id.ne(audit::platform::PLATFORM_ORG));
    if let Some(key) = actor.key() {
        query = query.filter(orgs::Column::Id.eq(key.org_id));
    } else if !actor.is_operator() {
        let memberships = memberships::Entity::find()
            .select_only()
            .column(memberships::Column::OrgId)
            .filter(memberships::Column::UserId.eq(actor.user_id()))
            .filter(super::members::live())
            .into_query();
        query = query.filter(orgs::Column::Id.in_subquery(memberships));
        if let Some(issuer) = actor.idp_issuer() {
            let reached = authz::orgs_signing_in_with(state, actor, issuer).await?;
            query = query.filter(orgs::Column::Id.is_in(reached.iter().copied()));
        }
    }
    page.load(&state.db, query.cursor_by(orgs::Column::Slug), |org| {
        org.slug.clone()
    })
    .await
}

/// The user's live memberships: each org with the user's role names, by slug.
pub async fn memberships_of(state: &AppState, user_id: Uuid) -> AppResult<Vec<(orgs::Model, Vec<String>)>> {
    let rows = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user_id))
        .find_also_related(orgs::Entity)
        .all(&state.db)
        .await?;
    let role_rows = membership_roles::Entity::find()
        .filter(membership_roles::Column::UserId.eq(user_id))
        .all(&state.db)
        .await?;
    let mut roles_by_org: BTreeMap<Uuid, Vec<String>> = BTreeMap::new();
    for row in role_rows {
        roles_by_org.entry(row.org_id).or_default().push(row.role);
    }
    let mut result: Vec<_> = rows
        .into_iter()
        .filter(|(m, _)| super::members::is_live(m))
        .filter_map(|(_, org)| org)
        .filter(|org| org.deleted_at.is_none())
        .map(|org| {
            let roles = roles_by_org.remove(&org.id).unwrap_or_default();
            (org, roles)
        })
        .collect();
    result.sort_by(|a, b| a.0.slug.cmp(&b.0.slug));
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::check_slug;

    #[test]
    fn slugs_follow_the_contract() {
        for ok in ["acme", "a1-b2", "123", &"a".repeat(63)] {
            assert!(check_slug(ok).is_ok(), "{ok}");
        }
        for bad in ["ab", "-acme", "Acme", "ac_me", "ac me", &"a".repeat(64)] {
            assert!(check_slug(bad).is_err(), "{bad}");
        }
    }
}
