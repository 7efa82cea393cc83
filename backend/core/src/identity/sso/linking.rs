//! Linking an org IdP's identity to an existing account, from the account page.
//!
//! An org's IdP never attaches an account that belongs to other orgs on its own
//! ([`super::provisioning`]). Instead the signed-in user proves both sides: the
//! account, by its current credentials (password, and the TOTP code when on) or,
//! for an account without a password, by a sign-in in the last ten minutes
//! through the IdP of the org that proved the account's email domain; and the
//! identity, by signing in at the org's IdP in a flow bound to the account. An identity already linked to
//! another account stays where it is.

use std::time::Duration;

use attest_shared::api::{LinkIdentity, Page};
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, EntityTrait as _, QueryFilter as _, QuerySelect as _, Set,
};
use uuid::Uuid;

use super::{
    provisioning::{self, Refusal},
    settings::{self, Provider},
    signin::{self, Identity, Started},
    Purpose, SsoFailure,
};
use crate::{
    actor::Origin,
    audit::{self, Action, Metadata, Reason, Record, Source},
    authz, clock,
    identity::{
        login::{self, SecondFactor},
        sessions,
        verified::Epoch,
    },
    store::{
        entities::{orgs, sessions as session_rows, user_identities, users},
        page::PageRequest,
    },
    tenancy::members,
    Actor, AppError, AppResult, AppState, ErrorKind,
};

/// How recent an SSO sign-in proves a password-less account.
pub const RECENT_SIGN_IN: Duration = Duration::from_secs(600);
/// Where the browser returns when the request names no page.
const ACCOUNT_PAGE: &str = "/account";

/// `POST /api/v1/me/identities`: proves the account (`session` is the one the
/// request came with), then opens a flow at the org's IdP that links the
/// identity signed in there.
pub async fn start(
    state: &AppState,
    actor: &Actor,
    session: &session_rows::Model,
    input: LinkIdentity,
) -> AppResult<Started> {
    let return_to = signin::safe_return_to(Some(input.return_to.as_deref().unwrap_or(ACCOUNT_PAGE)))?;
    let org = authz::find_org(state, &input.org).await?;
    if !members::is_live_member(&state.db, org.id, actor.user_id()).await? {
        return Err(AppError::not_found());
    }
    let provider = settings::for_org(state, org.id)
        .await?
        .ok_or_else(|| AppError::new(ErrorKind::NotFound, "this organization does not sign in with SSO"))?;
    prove_account(state, actor, session, input.password, input.totp.as_deref()).await?;
    signin::begin(state, &provider, return_to, Some(actor.user_id())).await
}

/// The account's own proof: its password (and TOTP), else a recent SSO sign-in.
async fn prove_account(
    state: &AppState,
    actor: &Actor,
    session: &session_rows::Model,
    password: Option<String>,
    totp: Option<&str>,
) -> AppResult<()> {
    if actor.user.password_hash.is_some() {
        let password = password
            .filter(|p| !p.is_empty())
            .ok_or_else(|| AppError::invalid_field("password", "your current password proves it is you"))?;
        let second_factor = SecondFactor::WhenOn(totp);
        login::reauthenticate(state, actor.user.clone(), password, second_factor, &actor.origin).await?;
        return Ok(());
    }
    // Only the IdP of the org that proved the email's domain vouches for the
    // account: any other identity linked to it was linked on that IdP's word,
    // and must not in turn vouch for more.
    let home = settings::for_domain(state, signin::domain_of(&actor.user.email)).await?;
    let through_home = home.is_some_and(|idp| session.idp_issuer.as_deref() == Some(idp.issuer.as_str()));
    let recent = clock::after(session.created_at, RECENT_SIGN_IN) > clock::now();
    if through_home && recent {
        return Ok(());
    }
    Err(AppError::new(
        ErrorKind::Unauthenticated,
        "sign in again through the SSO of your email's organization, then link the identity within ten minutes",
    ))
}

/// Links the identity the IdP vouched for to `user_id` (the account that
/// began the flow), if the browser still holds a live session of that account:
/// a flow begun with a session revoked since (a password reset, say) links
/// nothing. Every refusal is audited in the org.
pub(super) async fn complete(
    state: &AppState,
    provider: &Provider,
    identity: Identity,
    user_id: Uuid,
    session_token: Option<&str>,
    origin: &Origin,
) -> Result<(), SsoFailure> {
    let session = match session_token {
        Some(token) => sessions::authenticate(state, Epoch::current(state).await?, token).await?,
        None => None,
    };
    let outcome = if session.is_some_and(|live| live.user.id == user_id) {
        link(state, provider, &identity, user_id, origin).await?
    } else {
        Err(Reason::StateInvalid)
    };
    match outcome {
        Ok(()) => Ok(()),
        Err(reason) => {
            let refusal = Refusal::new(provider.org_id, Purpose::Link, reason);
            Err(provisioning::refused(state, refusal, Some(&identity), origin).await)
        }
    }
}

async fn link(
    state: &AppState,
    provider: &Provider,
    identity: &Identity,
    user_id: Uuid,
    origin: &Origin,
) -> AppResult<Result<(), Reason>> {
    let txn = state.begin().await?;
    let org_id = provider.org_id;
    let Some(user) = users::Entity::find_by_id(user_id).one(&txn).await? else {
        return Ok(Err(Reason::AccountDisabled));
    };
    if user.disabled_at.is_some() {
        return Ok(Err(Reason::AccountDisabled));
    }
    if !members::is_live_member(&txn, org_id, user.id).await? {
        return Ok(Err(Reason::NotAMember));
    }
    let existing = user_identities::Entity::find_by_id((identity.issuer.clone(), identity.subject.clone()))
        .one(&txn)
        .await?;
    match existing {
        Some(link) if link.user_id != user.id => return Ok(Err(Reason::IdentityLinkedElsewhere)),
        // Linked already: nothing changes.
        Some(_) => return Ok(Ok(())),
        None => {}
    }
    let now = clock::now();
    user_identities::ActiveModel {
        issuer: Set(identity.issuer.clone()),
        subject: Set(identity.subject.clone()),
        user_id: Set(user.id),
        org_id: Set(org_id),
        created_at: Set(now),
        last_signed_in_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let record = Record::of(Action::IdentityLinked, "user", user.id).with(Metadata {
        method: Some("sso".into()),
        ..Metadata::default()
    });
    audit::append(&txn, org_id, &Source::user(&user, origin), record).await?;
    txn.commit().await?;
    tracing::info!(user_id = %user.id, %org_id, "an SSO identity was linked to an existing account");
    Ok(Ok(()))
}

/// `DELETE /api/v1/me/identities/{slug}`: forgets the identities linked to the
/// account through that org's IdP and ends the sessions that IdP opened for it
/// (unless another linked identity still signs in there). An account without a
/// password keeps one identity at least: it could not sign in otherwise.
pub async fn unlink(state: &AppState, actor: &Actor, org_ref: &str) -> AppResult<()> {
    let org = authz::find_org(state, org_ref).await?;
    let user = &actor.user;
    let txn = state.begin().await?;
    // Two unlinks at once must not each leave the other as the way in.
    users::Entity::find_by_id(user.id)
        .lock_exclusive()
        .one(&txn)
        .await?;
    let (unlinked, kept): (Vec<_>, Vec<_>) = user_identities::Entity::find()
        .filter(user_identities::Column::UserId.eq(user.id))
        .all(&txn)
        .await?
        .into_iter()
        .partition(|identity| identity.org_id == org.id);
    if unlinked.is_empty() {
        return Err(AppError::new(
            ErrorKind::NotFound,
            "no identity of this organization's IdP is linked to your account",
        ));
    }
    if user.password_hash.is_none() && kept.is_empty() {
        return Err(AppError::new(
            ErrorKind::Conflict,
            "this is how your account signs in: it has no password and no other linked identity",
        ));
    }
    user_identities::Entity::delete_many()
        .filter(user_identities::Column::UserId.eq(user.id))
        .filter(user_identities::Column::OrgId.eq(org.id))
        .exec(&txn)
        .await?;
    let mut issuers: Vec<&str> = unlinked.iter().map(|identity| identity.issuer.as_str()).collect();
    issuers.sort_unstable();
    issuers.dedup();
    for issuer in issuers
        .into_iter()
        .filter(|i| !kept.iter().any(|k| k.issuer == *i))
    {
        sessions::revoke_from_idp(&txn, issuer, Some(user.id), None).await?;
    }
    let record = Record::of(Action::IdentityUnlinked, "user", user.id);
    audit::append(&txn, org.id, &Source::of(actor), record).await?;
    txn.commit().await?;
    Ok(())
}

/// `GET /api/v1/me/identities`: a page of the identities linked to the
/// account, with the org each was linked through, by issuer and subject.
pub async fn list(
    state: &AppState,
    user_id: Uuid,
    page: &PageRequest,
) -> AppResult<Page<(user_identities::Model, orgs::Model)>> {
    let by_identity = user_identities::Entity::find()
        .filter(user_identities::Column::UserId.eq(user_id))
        .find_also_related(orgs::Entity)
        .filter(orgs::Column::DeletedAt.is_null())
        .cursor_by((user_identities::Column::Issuer, user_identities::Column::Subject));
    let rows = page
        .load(&state.db, by_identity, |(identity, _)| {
            (identity.issuer.clone(), identity.subject.clone())
        })
        .await?;
    Ok(Page {
        next_cursor: rows.next_cursor,
        items: rows
            .items
            .into_iter()
            .filter_map(|(identity, org)| Some((identity, org?)))
            .collect(),
    })
}
