//! Authorization inside an organization.
//!
//! Tenant data is reached only through an [`OrgScope`], and only [`scope`] makes
//! one: it answers `404` unless the actor may know the org exists. Every service
//! then calls [`OrgScope::require`] for the permission its action needs (`403`).
//! The decision is made from the actor's roles in that org; [F3] moves it onto a
//! Casbin enforcer behind this same interface.

pub mod roles;

use std::collections::BTreeSet;

use attest_shared::permissions::Permission;
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
use uuid::Uuid;

use crate::{
    store::entities::{membership_roles, memberships, orgs},
    Actor, AppError, AppResult, AppState, ErrorKind,
};

/// Proof that the actor may see `org`, with what they may do there.
#[derive(Debug, Clone)]
pub struct OrgScope {
    org: orgs::Model,
    actor: Actor,
    granted: BTreeSet<Permission>,
}

impl OrgScope {
    pub fn org(&self) -> &orgs::Model {
        &self.org
    }

    pub fn org_id(&self) -> Uuid {
        self.org.id
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    pub fn can(&self, permission: Permission) -> bool {
        self.granted.contains(&permission)
    }

    /// `403 forbidden` unless the actor holds `permission` in this org.
    pub fn require(&self, permission: Permission) -> AppResult<()> {
        if self.can(permission) {
            Ok(())
        } else {
            tracing::info!(org_id = %self.org.id, user_id = %self.actor.user_id(), %permission, "denied");
            Err(AppError::new(
                ErrorKind::Forbidden,
                format!("this needs the {permission} permission"),
            ))
        }
    }
}

/// The org named by `org_ref` (id or slug) as `actor` sees it: members see their
/// orgs, platform operators see every org (read-only unless they are members).
pub async fn scope(state: &AppState, actor: &Actor, org_ref: &str) -> AppResult<OrgScope> {
    let by = match Uuid::parse_str(org_ref) {
        Ok(id) => orgs::Column::Id.eq(id),
        Err(_) => orgs::Column::Slug.eq(org_ref),
    };
    let org = orgs::Entity::find()
        .filter(by)
        .filter(orgs::Column::DeletedAt.is_null())
        .one(&state.db)
        .await?
        .ok_or_else(AppError::not_found)?;
    let mut granted = granted_in(state, actor.user_id(), org.id).await?;
    if actor.is_operator() {
        granted.insert(Permission::OrgRead);
    }
    if granted.is_empty() {
        return Err(AppError::not_found());
    }
    Ok(OrgScope {
        org,
        actor: actor.clone(),
        granted,
    })
}

/// Everything the user's live membership in `org_id` grants (empty for none).
pub async fn granted_in(state: &AppState, user_id: Uuid, org_id: Uuid) -> AppResult<BTreeSet<Permission>> {
    let membership = memberships::Entity::find_by_id((org_id, user_id))
        .one(&state.db)
        .await?;
    let live = membership.as_ref().is_some_and(crate::tenancy::members::is_live);
    if !live {
        return Ok(BTreeSet::new());
    }
    let role_rows = membership_roles::Entity::find()
        .filter(membership_roles::Column::OrgId.eq(org_id))
        .filter(membership_roles::Column::UserId.eq(user_id))
        .all(&state.db)
        .await?;
    // Built-in roles are known; custom ones come from one query, only when needed.
    let mut granted = BTreeSet::new();
    let mut custom_names = Vec::new();
    for row in role_rows {
        match attest_shared::roles::builtin_grants(&row.role) {
            Some(grants) => granted.extend(grants),
            None => custom_names.push(row.role),
        }
    }
    if !custom_names.is_empty() {
        for role in roles::custom_in(&state.db, org_id, &custom_names).await? {
            granted.extend(role.permissions);
        }
    }
    Ok(granted)
}
