//! Changing one's own password: the current one proves it is the account's
//! owner (failures count towards the lockout); every other session ends, and
//! the owner is mailed, so a thief who changed it is noticed and a thief who
//! knew the old one is signed out.

use sea_orm::{ActiveModelTrait as _, Set};

use super::{
    login::{self, SecondFactor},
    password_reset, passwords, sessions,
};
use crate::{
    audit::{self, Action, Metadata, Record, Source},
    mail::{outbox, templates},
    store::entities::users,
    Actor, AppError, AppResult, AppState, ErrorKind,
};

/// Changes to an account's own credentials (its password, its second factor)
/// take a session the account's own password opened when it has one: an org's
/// IdP vouches for its org's access, not for the account's other credentials.
pub fn own_credentials_only(actor: &Actor) -> AppResult<()> {
    if actor.idp_issuer().is_some() && actor.user.password_hash.is_some() {
        return Err(AppError::new(
            ErrorKind::Forbidden,
            "this session was opened through an organization's identity provider; sign in with your password to change your credentials",
        ));
    }
    Ok(())
}

/// `POST /api/v1/me/password`.
pub async fn change(state: &AppState, actor: &Actor, current: String, new: String) -> AppResult<()> {
    let session_id = actor.session_id().ok_or_else(AppError::not_found)?;
    passwords::check_policy(
        &new,
        "new",
        &[actor.user.email.as_str(), actor.user.name.as_str()],
    )?;
    let user = login::reauthenticate(
        state,
        actor.user.clone(),
        current,
        SecondFactor::NotAsked,
        &actor.origin,
    )
    .await?;
    let hash = passwords::hash(new).await?;
    let txn = state.begin().await?;
    let email = user.email.clone();
    let mut active: users::ActiveModel = user.into();
    active.password_hash = Set(Some(hash));
    let user = active.update(&txn).await?;
    let revoked = sessions::revoke_others_of(&txn, user.id, session_id).await?;
    password_reset::void_links_of(&txn, user.id).await?;
    outbox::enqueue(&txn, templates::password_changed(&email, "changed")).await?;
    let record = Record::of(Action::PasswordChanged, "user", user.id).with(Metadata {
        sessions_revoked: Some(revoked),
        ..Metadata::default()
    });
    audit::append_for_user(&txn, user.id, &Source::of(actor), record).await?;
    txn.commit().await?;
    Ok(())
}
