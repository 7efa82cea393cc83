//! Memberships: who belongs to an org, with which roles.

use std::sync::Arc;

use attest_shared::{
    api::{MemberView, Page},
    permissions::Permission,
    roles,
};
use sea_orm::{
    prelude::DateTimeWithTimeZone,
    sea_query::{Expr, Query},
    ActiveModelTrait as _, ColumnTrait as _, Condition, ConnectionTrait, EntityTrait as _, FromQueryResult,
    ModelTrait as _, PaginatorTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _, Set,
};
use uuid::Uuid;

use crate::{
    audit::{Action, Metadata, Record},
    authz::OrgScope,
    clock,
    identity::epoch_cache::EpochCache,
    store::{
        entities::{membership_roles, memberships, user_identities, users},
        page::PageRequest,
    },
    AppError, AppResult, AppState, ErrorKind,
};

/// Whether a membership still counts: it has no end, or has not reached it.
pub fn is_live(membership: &memberships::Model) -> bool {
    membership.expires_at.is_none_or(|until| until > clock::now())
}

/// [`is_live`] as a condition on `memberships` rows, for queries that page.
pub fn live() -> Condition {
    Condition::any()
        .add(memberships::Column::ExpiresAt.is_null())
        .add(memberships::Column::ExpiresAt.gt(clock::now()))
}

/// Whether the user is a live member of the org (inside `db`'s transaction, if any).
pub async fn is_live_member<C: ConnectionTrait>(db: &C, org_id: Uuid, user_id: Uuid) -> AppResult<bool> {
    Ok(memberships::Entity::find_by_id((org_id, user_id))
        .one(db)
        .await?
        .is_some_and(|m| is_live(&m)))
}

/// A page of the org's members, by user id (the key of the membership index),
/// each with her roles in name order. The query reads only the columns it
/// shows (decoding whole user rows was most of its cost). Roles come from the
/// org's compiled grants, which the request's authorization has just checked
/// are current; only a member who joined after those were compiled has hers
/// read from the database. A page read for a request is kept under that
/// request's credentials epoch, which every change the page shows moves
/// ([`epoch_cache`](crate::identity::epoch_cache)), so the next request in the
/// same epoch runs no statement for it.
pub async fn list(
    state: &AppState,
    scope: &OrgScope,
    page: &PageRequest,
) -> AppResult<Arc<Page<MemberView>>> {
    scope.require(Permission::MembersRead)?;
    let Some(epoch) = scope.actor().epoch else {
        return Ok(Arc::new(read_page(state, scope, page).await?));
    };
    let key = (scope.org_id(), page.clone());
    if let Some(cached) = state.member_pages.get(&key, epoch, clock::now().to_utc()) {
        return Ok(cached);
    }
    let read = Arc::new(read_page(state, scope, page).await?);
    let weight = read.items.len() as u64 + 1;
    state
        .member_pages
        .put_weighing(key, epoch, None, weight, read.clone());
    Ok(read)
}

/// Members kept in memory, in pages, by their members' count: 100,000 members'
/// rows, a few tens of MB.
pub type Pages = EpochCache<(Uuid, PageRequest), Page<MemberView>>;

pub const PAGES_CAPACITY: u64 = 100_000;

async fn read_page(state: &AppState, scope: &OrgScope, page: &PageRequest) -> AppResult<Page<MemberView>> {
    let signed_in_with_sso = Query::select()
        .expr(Expr::val(1))
        .from(user_identities::Entity)
        .and_where(
            Expr::col((user_identities::Entity, user_identities::Column::UserId))
                .equals((memberships::Entity, memberships::Column::UserId)),
        )
        .and_where(
            Expr::col((user_identities::Entity, user_identities::Column::OrgId))
                .equals((memberships::Entity, memberships::Column::OrgId)),
        )
        .to_owned();
    let by_user = memberships::Entity::find()
        .select_only()
        .columns([
            memberships::Column::UserId,
            memberships::Column::JoinedAt,
            memberships::Column::ExpiresAt,
            memberships::Column::Version,
        ])
        .columns([users::Column::Email, users::Column::Name])
        .expr_as(Expr::exists(signed_in_with_sso), "sso")
        .inner_join(users::Entity)
        .filter(memberships::Column::OrgId.eq(scope.org_id()))
        .cursor_by(memberships::Column::UserId)
        .into_model::<MemberRow>();
    let rows = page.load(&state.db, by_user, |row| row.user_id).await?;
    let grants = state
        .decisions
        .grants(&state.db, scope.org(), clock::now().to_utc())
        .await?;
    let newcomers: Vec<Uuid> = rows
        .items
        .iter()
        .map(|row| row.user_id)
        .filter(|user| grants.roles_of(*user).is_none())
        .collect();
    let newcomer_roles = if newcomers.is_empty() {
        Vec::new()
    } else {
        membership_roles::Entity::find()
            .filter(membership_roles::Column::OrgId.eq(scope.org_id()))
            .filter(membership_roles::Column::UserId.is_in(newcomers))
            .order_by_asc(membership_roles::Column::Role)
            .all(&state.db)
            .await?
    };
    let roles_of = |user_id: Uuid| -> Vec<String> {
        match grants.roles_of(user_id) {
            Some(roles) => roles.to_vec(),
            None => newcomer_roles
                .iter()
                .filter(|r| r.user_id == user_id)
                .map(|r| r.role.clone())
                .collect(),
        }
    };
    Ok(rows.map(|row| MemberView {
        roles: roles_of(row.user_id),
        user_id: row.user_id,
        email: row.email,
        name: row.name,
        joined_at: row.joined_at.to_utc(),
        expires_at: row.expires_at.map(|at| at.to_utc()),
        version: row.version,
        sso: row.sso,
    }))
}

/// One row of the members page: the membership's columns it shows, its
/// user's email and name, and whether they have signed in through the org's SSO.
#[derive(FromQueryResult)]
struct MemberRow {
    user_id: Uuid,
    joined_at: DateTimeWithTimeZone,
    expires_at: Option<DateTimeWithTimeZone>,
    version: i32,
    email: String,
    name: String,
    sso: bool,
}

/// Adds a user to an org with roles. The caller has already decided they may join
/// (an accepted invitation, SSO provisioning, an org's creation).
pub async fn admit<C: ConnectionTrait>(
    db: &C,
    org_id: Uuid,
    user_id: Uuid,
    role_names: &[String],
) -> AppResult<()> {
    memberships::ActiveModel {
        org_id: Set(org_id),
        user_id: Set(user_id),
        joined_at: Set(clock::now()),
        expires_at: Set(None),
        version: Set(1),
    }
    .insert(db)
    .await?;
    for role in role_names {
        membership_roles::ActiveModel {
            org_id: Set(org_id),
            user_id: Set(user_id),
            role: Set(role.clone()),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// What a removal did besides removing the membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Removed {
    /// Sessions revoked because the user belongs to no org any more.
    pub sessions_revoked: u64,
}

/// Removes a member. The org's last owner cannot be removed (`409`); a user left
/// without any membership is signed out everywhere.
pub async fn remove(state: &AppState, scope: &OrgScope, user_id: Uuid) -> AppResult<Removed> {
    scope.require(Permission::MembersManage)?;
    let txn = state.begin().await?;
    let membership = memberships::Entity::find_by_id((scope.org_id(), user_id))
        .one(&txn)
        .await?
        .ok_or_else(AppError::not_found)?;
    let is_owner = membership_roles::Entity::find_by_id((scope.org_id(), user_id, roles::OWNER.to_owned()))
        .one(&txn)
        .await?
        .is_some();
    if is_owner && owner_count(&txn, scope.org_id()).await? <= 1 {
        return Err(AppError::new(
            ErrorKind::Conflict,
            "an organization must keep at least one owner",
        ));
    }
    membership.delete(&txn).await?;
    let remaining = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user_id))
        .count(&txn)
        .await?;
    // Operators act platform-wide, so losing their last membership does not end them.
    let is_operator = users::Entity::find_by_id(user_id)
        .one(&txn)
        .await?
        .is_some_and(|u| u.is_operator);
    let sessions_revoked = if remaining == 0 && !is_operator {
        crate::identity::sessions::revoke_all_of(&txn, user_id).await?
    } else {
        0
    };
    let metadata = Metadata {
        sessions_revoked: Some(sessions_revoked),
        ..Metadata::default()
    };
    scope
        .audit(
            &txn,
            Record::of(Action::MemberRemoved, "user", user_id).with(metadata),
        )
        .await?;
    txn.commit().await?;
    Ok(Removed { sessions_revoked })
}

async fn owner_count<C: ConnectionTrait>(db: &C, org_id: Uuid) -> AppResult<u64> {
    Ok(membership_roles::Entity::find()
        .filter(membership_roles::Column::OrgId.eq(org_id))
        .filter(membership_roles::Column::Role.eq(roles::OWNER))
        .count(db)
        .await?)
}
