//! Authorization inside an organization.
//!
//! Tenant data is reached only through an [`OrgScope`], and only [`scope`] makes
//! one: it answers `404` unless the actor may know the org exists. Every service
//! then calls [`OrgScope::require`] for the permission its action needs (`403`).
//! Decisions come from the org's Casbin policy ([`policy`]), compiled and kept in
//! memory per instance ([`decisions`]); the request path reads no role tables.

pub mod decisions;
pub mod policy;
pub mod roles;

use attest_shared::{
    permissions::{Permission, PermissionSet},
    roles as builtin,
};
use std::sync::Arc;

use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
use uuid::Uuid;

use crate::{
    audit, clock, identity::sso, store::entities::orgs, Actor, AppError, AppResult, AppState, ErrorKind,
};

/// The problem member naming the permission a `403` lacked.
pub const DENIED_PERMISSION: &str = "permission";

/// Proof that the actor may see `org`, with what they may do there.
#[derive(Debug, Clone)]
pub struct OrgScope {
    org: Arc<orgs::Model>,
    actor: Actor,
    granted: PermissionSet,
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

    /// Everything the actor may do in this org.
    pub fn permissions(&self) -> PermissionSet {
        self.granted
    }

    pub fn can(&self, permission: Permission) -> bool {
        self.granted.contains(permission)
    }

    /// Appends `record` to this org's audit chain as the actor's doing, in `db`'s
    /// transaction (the one making the change).
    pub async fn audit<C: sea_orm::ConnectionTrait>(
        &self,
        db: &C,
        record: audit::Record,
    ) -> AppResult<attest_shared::audit::AuditEvent> {
        audit::append(db, self.org.id, &audit::Source::of(&self.actor), record).await
    }

    /// `403 forbidden` for lack of `permission`. The problem names the permission
    /// (`permission` member), and the server records the denial in the org's
    /// audit trail (`access.denied`) from it.
    pub fn denied(&self, permission: Permission, detail: String) -> AppError {
        tracing::info!(org_id = %self.org.id, user_id = %self.actor.user_id(), %permission, "denied");
        AppError::new(ErrorKind::Forbidden, detail)
            .with_extension(DENIED_PERMISSION, serde_json::Value::from(permission.as_str()))
    }

    /// `403 forbidden` unless the actor holds `permission` in this org.
    pub fn require(&self, permission: Permission) -> AppResult<()> {
        if self.can(permission) {
            Ok(())
        } else {
            Err(self.denied(permission, format!("this needs the {permission} permission")))
        }
    }
}

/// The org named by `org_ref` (id or slug) as `actor` sees it: members see their
/// orgs, platform operators see every org (read-only unless they are members),
/// an API key sees its own org with what both it and its creator still hold.
pub async fn scope(state: &AppState, actor: &Actor, org_ref: &str) -> AppResult<OrgScope> {
    let org = org_for(state, actor, org_ref).await?;
    let granted = match actor.key() {
        // Worked out when the key was authenticated, for this request.
        Some(key) if key.org_id == org.id => key.permissions,
        Some(_) => return Err(AppError::not_found()),
        None => {
            let mut granted = granted(state, actor.user_id(), &org).await?;
            if actor.is_operator() {
                granted.extend(builtin::OPERATOR_GRANTS.iter().copied());
            }
            granted
        }
    };
    if granted.is_empty() {
        return Err(AppError::not_found());
    }
    if !reaches(state, actor, org.id).await? {
        return Err(AppError::new(
            ErrorKind::Unauthenticated,
            "this session was opened through another organization's identity provider; sign in to this organization",
        ));
    }
    Ok(OrgScope {
        org,
        actor: actor.clone(),
        granted,
    })
}

/// [`find_org`], from memory when the actor was verified under an epoch that
/// has already seen this org (see [`crate::identity::verified`]).
async fn org_for(state: &AppState, actor: &Actor, org_ref: &str) -> AppResult<Arc<orgs::Model>> {
    let Some(epoch) = actor.epoch else {
        return Ok(Arc::new(find_org(state, org_ref).await?));
    };
    if let Some(org) = state.verified.org(org_ref, epoch) {
        return Ok(org);
    }
    let org = Arc::new(find_org(state, org_ref).await?);
    state
        .verified
        .remember_org(org_ref.to_owned(), epoch, org.clone());
    Ok(org)
}

/// The live org `org_ref` (an id or a slug) names, else `404`. Says nothing
/// about who may see it: [`scope`] decides that.
pub async fn find_org(state: &AppState, org_ref: &str) -> AppResult<orgs::Model> {
    let by = match Uuid::parse_str(org_ref) {
        Ok(id) => orgs::Column::Id.eq(id),
        Err(_) => orgs::Column::Slug.eq(org_ref),
    };
    orgs::Entity::find()
        .filter(by)
        .filter(orgs::Column::DeletedAt.is_null())
        .filter(orgs::Column::Id.ne(crate::audit::platform::PLATFORM_ORG))
        .one(&state.db)
        .await?
        .ok_or_else(AppError::not_found)
}

/// Whether the actor's credential reaches the org at all. A session opened
/// through an org's IdP reaches only the orgs that sign in with that same IdP:
/// that IdP speaks for nobody's membership elsewhere, so the user's other orgs
/// ask for their own sign-in. Password sessions and API keys reach every org
/// they hold grants in.
pub async fn reaches(state: &AppState, actor: &Actor, org_id: Uuid) -> AppResult<bool> {
    match actor.idp_issuer() {
        Some(issuer) => Ok(orgs_signing_in_with(state, actor, issuer)
            .await?
            .contains(&org_id)),
        None => Ok(true),
    }
}

/// The orgs that sign in through `issuer`, from memory under the actor's epoch.
pub async fn orgs_signing_in_with(
    state: &AppState,
    actor: &Actor,
    issuer: &str,
) -> AppResult<Arc<Vec<Uuid>>> {
    let Some(epoch) = actor.epoch else {
        return Ok(Arc::new(
            sso::settings::orgs_signing_in_with(state, issuer).await?,
        ));
    };
    if let Some(orgs) = state.verified.issuer_orgs(issuer, epoch) {
        return Ok(orgs);
    }
    let orgs = Arc::new(sso::settings::orgs_signing_in_with(state, issuer).await?);
    state
        .verified
        .remember_issuer_orgs(issuer.to_owned(), epoch, orgs.clone());
    Ok(orgs)
}

/// What the user's live membership in `org` grants (nothing for non-members).
pub async fn granted(state: &AppState, user_id: Uuid, org: &orgs::Model) -> AppResult<PermissionSet> {
    let grants = state
        .decisions
        .grants(&state.db, org, clock::now().to_utc())
        .await?;
    Ok(grants.of(user_id))
}
