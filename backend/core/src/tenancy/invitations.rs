//! Invitations: an org admin invites an email address with roles; whoever holds the
//! mailed token joins the org. Tokens are single-use, stored only as SHA-256, and
//! expire after seven days.

use std::time::Duration;

use attest_shared::{api::Page, error::FieldError, permissions::Permission};
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _, Set,
};
use uuid::Uuid;

use super::members;
use crate::{
    actor::Origin,
    audit::{self, Action, Facts, Metadata, Record, Source},
    authz::OrgScope,
    clock,
    crypto::{random_token, sha256_hex},
    identity::{passwords, users},
    mail::{outbox, templates},
    store::{
        entities::{invitations, memberships, orgs, users as user_entity},
        page::{self, PageRequest},
    },
    AppError, AppResult, AppState, ErrorKind,
};

pub const VALID_FOR: Duration = Duration::from_secs(7 * 24 * 3600);

/// Where an invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pending,
    Accepted,
    Revoked,
    Expired,
}

impl Status {
    pub fn of(invitation: &invitations::Model) -> Status {
        if invitation.accepted_at.is_some() {
            Status::Accepted
        } else if invitation.revoked_at.is_some() {
            Status::Revoked
        } else if invitation.expires_at <= clock::now() {
            Status::Expired
        } else {
            Status::Pending
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Accepted => "accepted",
            Status::Revoked => "revoked",
            Status::Expired => "expired",
        }
    }
}

/// The roles an invitation carries (stored as a JSON array).
pub fn roles_of(invitation: &invitations::Model) -> Vec<String> {
    serde_json::from_str(&invitation.roles).unwrap_or_default()
}

fn invalid_roles(message: &str) -> AppError {
    AppError::validation(vec![FieldError {
        field: "roles".into(),
        message: message.to_owned(),
    }])
}

/// Invites `email` with `role_names`, mailing the link. Nobody can invite with a
/// role that grants more than they hold.
pub async fn create(
    state: &AppState,
    scope: &OrgScope,
    email: &str,
    role_names: Vec<String>,
) -> AppResult<invitations::Model> {
    scope.require(Permission::MembersManage)?;
    let email = users::normalize_email(email);
    users::check_email(&email, "email")?;
    if role_names.is_empty() {
        return Err(invalid_roles("name at least one role"));
    }
    for role in &role_names {
        let grants = crate::authz::roles::grants_of(&state.db, scope.org_id(), role)
            .await?
            .ok_or_else(|| invalid_roles(&format!("unknown role `{role}`")))?;
        if let Some(missing) = grants.iter().find(|p| !scope.can(**p)) {
            return Err(AppError::new(
                ErrorKind::Forbidden,
                format!("the role `{role}` grants {missing}, which you do not hold"),
            ));
        }
    }
    if let Some(user) = users::find_by_email(state, &email).await? {
        let member = memberships::Entity::find_by_id((scope.org_id(), user.id))
            .one(&state.db)
            .await?;
        if member.is_some() {
            return Err(AppError::new(
                ErrorKind::Conflict,
                "this person is already a member",
            ));
        }
    }

    let token = random_token();
    let now = clock::now();
    let expires_at = clock::after(now, VALID_FOR);
    let roles_json = serde_json::to_string(&role_names).map_err(AppError::internal)?;
    let accept_url = format!("{}/invitations/accept?token={token}", state.config.public_url);
    let inviter = scope.actor().user.name.clone();

    let txn = state.begin().await?;
    // A new invitation replaces any pending one for the same address.
    invitations::Entity::update_many()
        .col_expr(
            invitations::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(invitations::Column::OrgId.eq(scope.org_id()))
        .filter(invitations::Column::Email.eq(&email))
        .filter(invitations::Column::AcceptedAt.is_null())
        .filter(invitations::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    let invitation = invitations::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(scope.org_id()),
        email: Set(email.clone()),
        roles: Set(roles_json),
        token_hash: Set(sha256_hex(token.as_bytes())),
        invited_by: Set(Some(scope.actor().user_id())),
        created_at: Set(now),
        expires_at: Set(expires_at),
        accepted_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(&txn)
    .await?;
    let mail = templates::invitation(
        &email,
        &scope.org().name,
        &inviter,
        &accept_url,
        &expires_at.to_rfc3339(),
    );
    outbox::enqueue(&txn, mail).await?;
    let facts = Facts {
        email: Some(email),
        roles: Some(role_names),
        ..Facts::default()
    };
    scope
        .audit(
            &txn,
            Record::of(Action::InvitationSent, "invitation", invitation.id).with(Metadata::facts(facts)),
        )
        .await?;
    txn.commit().await?;
    Ok(invitation)
}

/// The org's invitations, newest first.
pub async fn list(
    state: &AppState,
    scope: &OrgScope,
    page: &PageRequest,
) -> AppResult<Page<invitations::Model>> {
    scope.require(Permission::MembersRead)?;
    let query = invitations::Entity::find().filter(invitations::Column::OrgId.eq(scope.org_id()));
    page.load(&state.db, page::descending(query, invitations::Column::Id), |i| {
        i.id
    })
    .await
}

/// Revokes a pending invitation of this org (`404` for another org's).
pub async fn revoke(state: &AppState, scope: &OrgScope, id: Uuid) -> AppResult<()> {
    scope.require(Permission::MembersManage)?;
    let invitation = invitations::Entity::find_by_id(id)
        .filter(invitations::Column::OrgId.eq(scope.org_id()))
        .one(&state.db)
        .await?
        .ok_or_else(AppError::not_found)?;
    // Revoking what is no longer pending changes nothing, and records nothing.
    if Status::of(&invitation) == Status::Pending {
        let txn = state.begin().await?;
        let mut active: invitations::ActiveModel = invitation.into();
        active.revoked_at = Set(Some(clock::now()));
        active.update(&txn).await?;
        scope
            .audit(&txn, Record::of(Action::InvitationRevoked, "invitation", id))
            .await?;
        txn.commit().await?;
    }
    Ok(())
}

/// What accepting an invitation produced.
pub struct Accepted {
    pub org: orgs::Model,
    pub user: user_entity::Model,
}

/// Joins the org named by the invitation. A new user sets a name and password; an
/// existing user (the token proves they read the mail) simply joins.
pub async fn accept(
    state: &AppState,
    token: &str,
    name: &str,
    password: Option<String>,
    origin: &Origin,
) -> AppResult<Accepted> {
    let refused = || {
        AppError::new(
            ErrorKind::BadRequest,
            "this invitation is invalid, used, revoked or expired",
        )
    };
    let invitation = invitations::Entity::find()
        .filter(invitations::Column::TokenHash.eq(sha256_hex(token.as_bytes())))
        .one(&state.db)
        .await?
        .ok_or_else(refused)?;
    if Status::of(&invitation) != Status::Pending {
        return Err(refused());
    }
    let org = orgs::Entity::find_by_id(invitation.org_id)
        .filter(orgs::Column::DeletedAt.is_null())
        .one(&state.db)
        .await?
        .ok_or_else(refused)?;

    let existing = users::find_by_email(state, &invitation.email).await?;
    let new_user = match &existing {
        Some(_) => None,
        None => {
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 200 {
                return Err(AppError::validation(vec![FieldError {
                    field: "name".into(),
                    message: "must be 1–200 characters".into(),
                }]));
            }
            let password = password.ok_or_else(|| {
                AppError::validation(vec![FieldError {
                    field: "password".into(),
                    message: "is required to create your account".into(),
                }])
            })?;
            passwords::check_policy(&password, "password", &[invitation.email.as_str(), name])?;
            Some((name.to_owned(), passwords::hash(password).await?))
        }
    };

    let txn = state.begin().await?;
    // Claim the invitation first: of two concurrent accepts, one updates nothing.
    if !claim(&txn, invitation.id).await? {
        return Err(refused());
    }
    let user = match (existing, new_user) {
        (Some(user), _) => user,
        (None, Some((name, hash))) => {
            users::insert(&txn, &invitation.email, &name, Some(hash), false).await?
        }
        (None, None) => return Err(AppError::internal("unreachable: no user to admit")),
    };
    let already = memberships::Entity::find_by_id((org.id, user.id))
        .one(&txn)
        .await?;
    let roles = roles_of(&invitation);
    if already.is_none() {
        members::admit(&txn, org.id, user.id, &roles).await?;
    }
    let facts = Facts {
        email: Some(user.email.clone()),
        roles: Some(roles),
        ..Facts::default()
    };
    let record =
        Record::of(Action::InvitationAccepted, "invitation", invitation.id).with(Metadata::facts(facts));
    audit::append(&txn, org.id, &Source::user(&user, origin), record).await?;
    txn.commit().await?;
    Ok(Accepted { org, user })
}

/// Marks the invitation accepted, if nobody did yet; false when someone did
/// (of two concurrent claims, one updates nothing).
pub async fn claim<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<bool> {
    let claimed = invitations::Entity::update_many()
        .col_expr(
            invitations::Column::AcceptedAt,
            sea_orm::sea_query::Expr::value(clock::now()),
        )
        .filter(invitations::Column::Id.eq(id))
        .filter(invitations::Column::AcceptedAt.is_null())
        .exec(db)
        .await?
        .rows_affected;
    Ok(claimed == 1)
}

/// The org's pending invitation for `email` (normalised), if any.
pub async fn pending_for<C: ConnectionTrait>(
    db: &C,
    org_id: Uuid,
    email: &str,
) -> AppResult<Option<invitations::Model>> {
    Ok(invitations::Entity::find()
        .filter(invitations::Column::OrgId.eq(org_id))
        .filter(invitations::Column::Email.eq(email))
        .all(db)
        .await?
        .into_iter()
        .find(|i| Status::of(i) == Status::Pending))
}
