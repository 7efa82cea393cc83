//! Roles: the built-in ones (read-only) and each org's custom roles, and which
//! roles a member holds. Nobody can grant a permission they do not hold, and an
//! org always keeps an owner.

use std::collections::BTreeSet;

use attest_shared::{api::Page, permissions::Permission, roles};
use sea_orm::{
    prelude::DateTimeWithTimeZone, sea_query::Expr, ActiveModelTrait as _, ColumnTrait as _, ConnectionTrait,
    EntityTrait as _, PaginatorTrait as _, QueryFilter as _, Set,
};
use uuid::Uuid;

use super::OrgScope;
use crate::{
    audit::{Action, Facts, Metadata, Record},
    clock,
    precondition::{self, Expected},
    store::{
        entities::{membership_roles, memberships, org_roles},
        page::PageRequest,
    },
    AppError, AppResult, AppState, ErrorKind,
};

/// A role as the roles list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleDef {
    pub name: String,
    pub permissions: Vec<Permission>,
    pub builtin: bool,
    /// Built-in roles never change: always 1.
    pub version: i32,
}

impl RoleDef {
    fn builtin(name: &str) -> RoleDef {
        RoleDef {
            name: name.to_owned(),
            permissions: roles::builtin_grants(name).unwrap_or_default(),
            builtin: true,
            version: 1,
        }
    }

    fn custom(row: org_roles::Model) -> RoleDef {
        RoleDef {
            permissions: decode(&row.permissions),
            name: row.name,
            builtin: false,
            version: row.version,
        }
    }
}

/// A member's roles after `PUT …/members/{user_id}/roles`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assigned {
    pub roles: Vec<String>,
    pub expires_at: Option<DateTimeWithTimeZone>,
    pub version: i32,
}

/// CONTRACT.md: 1–64 characters of `[a-z0-9_-]`, starting with a letter, not a built-in name.
pub fn check_custom_name(name: &str) -> AppResult<()> {
    let valid = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        && name.bytes().next().is_some_and(|b| b.is_ascii_lowercase());
    if !valid {
        return Err(AppError::invalid_field(
            "name",
            "must be 1–64 characters of a-z, 0-9, '_' and '-', starting with a letter",
        ));
    }
    if roles::BUILTIN.contains(&name) {
        return Err(AppError::invalid_field("name", "is the name of a built-in role"));
    }
    Ok(())
}

pub(crate) fn parse_permissions(names: &[String]) -> AppResult<Vec<Permission>> {
    let mut set = BTreeSet::new();
    for name in names {
        set.insert(
            Permission::parse(name).ok_or_else(|| {
                AppError::invalid_field("permissions", format!("unknown permission `{name}`"))
            })?,
        );
    }
    Ok(set.into_iter().collect())
}

/// `403` unless the actor holds every permission in `grants`.
pub(crate) fn require_all(scope: &OrgScope, grants: &[Permission], what: &str) -> AppResult<()> {
    match grants.iter().find(|p| !scope.can(**p)) {
        Some(missing) => Err(scope.denied(
            *missing,
            format!("{what} grants {missing}, which you do not hold"),
        )),
        None => Ok(()),
    }
}

/// What `role` grants in `org_id`: built-in or custom (`None` if it does not exist).
pub async fn grants_of<C: ConnectionTrait>(
    db: &C,
    org_id: Uuid,
    role: &str,
) -> AppResult<Option<Vec<Permission>>> {
    if let Some(grants) = roles::builtin_grants(role) {
        return Ok(Some(grants));
    }
    let custom = org_roles::Entity::find_by_id((org_id, role.to_owned()))
        .one(db)
        .await?;
    Ok(custom.map(|r| decode(&r.permissions)))
}

pub(crate) fn decode(json: &str) -> Vec<Permission> {
    serde_json::from_str::<Vec<String>>(json)
        .unwrap_or_default()
        .iter()
        .filter_map(|n| Permission::parse(n))
        .collect()
}

pub(crate) fn encode(permissions: &[Permission]) -> AppResult<String> {
    serde_json::to_string(&permissions.iter().map(|p| p.as_str()).collect::<Vec<_>>())
        .map_err(AppError::internal)
}

/// The org's custom roles among `names`, in one query.
pub async fn custom_in<C: ConnectionTrait>(
    db: &C,
    org_id: Uuid,
    names: &[String],
) -> AppResult<Vec<RoleDef>> {
    Ok(org_roles::Entity::find()
        .filter(org_roles::Column::OrgId.eq(org_id))
        .filter(org_roles::Column::Name.is_in(names.iter().cloned()))
        .all(db)
        .await?
        .into_iter()
        .map(RoleDef::custom)
        .collect())
}

/// A page of the org's roles: the built-in ones first (in their fixed order),
/// then the custom ones by name. The cursor is a role name; names are unique
/// across both, so it says which part of the list it is in.
pub async fn list(state: &AppState, scope: &OrgScope, page: &PageRequest) -> AppResult<Page<RoleDef>> {
    scope.require(Permission::OrgRead)?;
    let after = page.after::<String>()?;
    let (builtins, custom_after) = match after {
        None => (&roles::BUILTIN[..], None),
        Some(name) => match roles::BUILTIN.iter().position(|builtin| *builtin == name) {
            Some(at) => (&roles::BUILTIN[at + 1..], None),
            None => (&[][..], Some(name)),
        },
    };
    let mut custom = org_roles::Entity::find()
        .filter(org_roles::Column::OrgId.eq(scope.org_id()))
        .cursor_by(org_roles::Column::Name);
    if let Some(name) = custom_after {
        custom.after(name);
    }
    let custom = custom.first(page.fetch()).all(&state.db).await?;
    let all = builtins
        .iter()
        .map(|name| RoleDef::builtin(name))
        .chain(custom.into_iter().map(RoleDef::custom))
        .collect();
    Ok(page.page(all, |role| role.name.clone()))
}

/// Whether the org has a role of this name, built-in or custom.
pub async fn exists(state: &AppState, org_id: Uuid, name: &str) -> AppResult<bool> {
    Ok(roles::BUILTIN.contains(&name) || !custom_in(&state.db, org_id, &[name.to_owned()]).await?.is_empty())
}

/// Creates a custom role; it may only grant what the creator holds.
pub async fn create(
    state: &AppState,
    scope: &OrgScope,
    name: &str,
    permissions: &[String],
) -> AppResult<RoleDef> {
    scope.require(Permission::RolesManage)?;
    check_custom_name(name)?;
    let permissions = parse_permissions(permissions)?;
    require_all(scope, &permissions, "this role")?;
    if org_roles::Entity::find_by_id((scope.org_id(), name.to_owned()))
        .one(&state.db)
        .await?
        .is_some()
    {
        return Err(AppError::new(ErrorKind::Conflict, "a role with this name exists"));
    }
    let now = clock::now();
    let txn = state.begin().await?;
    org_roles::ActiveModel {
        org_id: Set(scope.org_id()),
        name: Set(name.to_owned()),
        permissions: Set(encode(&permissions)?),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let after = Facts {
        permissions: Some(permissions.clone()),
        ..Facts::default()
    };
    scope
        .audit(
            &txn,
            Record::of(Action::RoleCreated, "role", name).with(Metadata::facts(after)),
        )
        .await?;
    txn.commit().await?;
    Ok(RoleDef {
        name: name.to_owned(),
        permissions,
        builtin: false,
        version: 1,
    })
}

fn read_only() -> AppError {
    AppError::new(ErrorKind::Forbidden, "built-in roles are read-only")
}

/// Replaces a custom role's permissions (no escalation), if it is still at the
/// expected version (`412` otherwise).
pub async fn replace(
    state: &AppState,
    scope: &OrgScope,
    name: &str,
    permissions: &[String],
    expected: Expected,
) -> AppResult<RoleDef> {
    scope.require(Permission::RolesManage)?;
    if roles::BUILTIN.contains(&name) {
        return Err(read_only());
    }
    let permissions = parse_permissions(permissions)?;
    require_all(scope, &permissions, "this role")?;
    let role = org_roles::Entity::find_by_id((scope.org_id(), name.to_owned()))
        .one(&state.db)
        .await?
        .ok_or_else(AppError::not_found)?;
    expected.check(role.version, THE_ROLE)?;
    let txn = state.begin().await?;
    // Conditional on the version read, so a concurrent change is never overwritten.
    let updated = org_roles::Entity::update_many()
        .col_expr(org_roles::Column::Permissions, Expr::value(encode(&permissions)?))
        .col_expr(org_roles::Column::Version, Expr::value(role.version + 1))
        .col_expr(org_roles::Column::UpdatedAt, Expr::value(clock::now()))
        .filter(org_roles::Column::OrgId.eq(scope.org_id()))
        .filter(org_roles::Column::Name.eq(name))
        .filter(org_roles::Column::Version.eq(role.version))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(precondition::stale(THE_ROLE));
    }
    let change = Metadata::change(
        Facts {
            permissions: Some(decode(&role.permissions)),
            ..Facts::default()
        },
        Facts {
            permissions: Some(permissions.clone()),
            ..Facts::default()
        },
    );
    scope
        .audit(&txn, Record::of(Action::RoleUpdated, "role", name).with(change))
        .await?;
    txn.commit().await?;
    Ok(RoleDef {
        name: name.to_owned(),
        permissions,
        builtin: false,
        version: role.version + 1,
    })
}

const THE_ROLE: &str = "the role";

/// Deletes a custom role; members holding it lose it.
pub async fn delete(state: &AppState, scope: &OrgScope, name: &str) -> AppResult<()> {
    scope.require(Permission::RolesManage)?;
    if roles::BUILTIN.contains(&name) {
        return Err(read_only());
    }
    let txn = state.begin().await?;
    let deleted = org_roles::Entity::delete_by_id((scope.org_id(), name.to_owned()))
        .exec(&txn)
        .await?;
    if deleted.rows_affected == 0 {
        return Err(AppError::not_found());
    }
    membership_roles::Entity::delete_many()
        .filter(membership_roles::Column::OrgId.eq(scope.org_id()))
        .filter(membership_roles::Column::Role.eq(name))
        .exec(&txn)
        .await?;
    scope
        .audit(&txn, Record::of(Action::RoleDeleted, "role", name))
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Replaces a member's roles. Every role must exist; the actor must hold every
/// permission that the roles added *or removed* grant (so nobody strips an owner
/// without owning); and the org's last owner keeps the owner role.
///
/// `expires_at` ends the membership at that time; only an auditor-only membership
/// may carry one (time-boxed external auditors). `expected` is the membership's
/// version the caller read (`412` if it moved on).
pub async fn set_member_roles(
    state: &AppState,
    scope: &OrgScope,
    user_id: Uuid,
    role_names: &[String],
    expires_at: Option<DateTimeWithTimeZone>,
    expected: Expected,
) -> AppResult<Assigned> {
    scope.require(Permission::MembersManage)?;
    let wanted: BTreeSet<String> = role_names.iter().cloned().collect();
    if let Some(until) = expires_at {
        if wanted.iter().any(|r| r != roles::AUDITOR) || wanted.is_empty() {
            return Err(AppError::invalid_field(
                "expires_at",
                "only an auditor-only membership may expire",
            ));
        }
        if until <= clock::now() {
            return Err(AppError::invalid_field("expires_at", "must lie in the future"));
        }
    }
    let txn = state.begin().await?;
    let membership = memberships::Entity::find_by_id((scope.org_id(), user_id))
        .one(&txn)
        .await?
        .ok_or_else(AppError::not_found)?;
    expected.check(membership.version, THE_MEMBERSHIP)?;
    let current: BTreeSet<String> = membership_roles::Entity::find()
        .filter(membership_roles::Column::OrgId.eq(scope.org_id()))
        .filter(membership_roles::Column::UserId.eq(user_id))
        .all(&txn)
        .await?
        .into_iter()
        .map(|r| r.role)
        .collect();
    for role in wanted.symmetric_difference(&current) {
        let grants = grants_of(&txn, scope.org_id(), role)
            .await?
            .ok_or_else(|| AppError::invalid_field("roles", format!("unknown role `{role}`")))?;
        require_all(scope, &grants, &format!("the role `{role}`"))?;
    }
    let demotes_owner = current.contains(roles::OWNER) && !wanted.contains(roles::OWNER);
    if demotes_owner {
        let owners = membership_roles::Entity::find()
            .filter(membership_roles::Column::OrgId.eq(scope.org_id()))
            .filter(membership_roles::Column::Role.eq(roles::OWNER))
            .count(&txn)
            .await?;
        if owners <= 1 {
            return Err(AppError::new(
                ErrorKind::Conflict,
                "an organization must keep at least one owner",
            ));
        }
    }
    membership_roles::Entity::delete_many()
        .filter(membership_roles::Column::OrgId.eq(scope.org_id()))
        .filter(membership_roles::Column::UserId.eq(user_id))
        .exec(&txn)
        .await?;
    let version = membership.version + 1;
    let updated = memberships::Entity::update_many()
        .col_expr(memberships::Column::ExpiresAt, Expr::value(expires_at))
        .col_expr(memberships::Column::Version, Expr::value(version))
        .filter(memberships::Column::OrgId.eq(scope.org_id()))
        .filter(memberships::Column::UserId.eq(user_id))
        .filter(memberships::Column::Version.eq(membership.version))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(precondition::stale(THE_MEMBERSHIP));
    }
    for role in &wanted {
        membership_roles::ActiveModel {
            org_id: Set(scope.org_id()),
            user_id: Set(user_id),
            role: Set(role.clone()),
        }
        .insert(&txn)
        .await?;
    }
    let change = Metadata::change(
        Facts {
            roles: Some(current.into_iter().collect()),
            expires_at: membership.expires_at.map(|t| t.to_utc()),
            ..Facts::default()
        },
        Facts {
            roles: Some(wanted.iter().cloned().collect()),
            expires_at: expires_at.map(|t| t.to_utc()),
            ..Facts::default()
        },
    );
    scope
        .audit(
            &txn,
            Record::of(Action::MemberRolesChanged, "user", user_id).with(change),
        )
        .await?;
    txn.commit().await?;
    Ok(Assigned {
        roles: wanted.into_iter().collect(),
        expires_at,
        version,
    })
}

const THE_MEMBERSHIP: &str = "the membership";
