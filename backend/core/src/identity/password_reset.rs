//! Resetting a forgotten password through a mailed, single-use link.
//!
//! Asking answers `202` at once, the same for every address, and does its
//! work afterwards, so neither the answer nor its timing tells whether an
//! account exists. A link is mailed only to an enabled account that may use a
//! password: not one whose email domain signs in through an org's SSO (that
//! org's IdP owns its credentials). The token is 256 random bits, stored only
//! as its SHA-256, good for 30 minutes and one use; at most three are mailed
//! per account and hour (besides the per-IP limit on `/auth/*`). Using one
//! sets the password, clears any lockout, revokes every session and ends the
//! account's other links.

use std::time::Duration;

use chrono::TimeDelta;
use sea_orm::{
    sea_query::Expr, ActiveModelTrait as _, ColumnTrait as _, ConnectionTrait, EntityTrait as _,
    PaginatorTrait as _, QueryFilter as _, QuerySelect as _, Set,
};
use uuid::Uuid;

use super::{passwords, sessions, sso::signin, users};
use crate::{
    actor::Origin,
    audit::{self, Action, Metadata, Record, Source},
    clock,
    crypto::{random_token, sha256_hex},
    mail::{outbox, templates},
    store::entities::{password_resets, users as user_entity},
    AppError, AppResult, AppState,
};

/// How long a mailed link works.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 60);
/// How many links one account is mailed per hour.
const PER_ACCOUNT_PER_HOUR: u64 = 3;
/// Where the link leads: the console's page that asks for the new password.
const RESET_PAGE: &str = "/password-reset";

/// `POST /auth/password-reset`: checks the address's shape, then answers; the
/// link, when one is due, is made and mailed after the answer.
pub fn request(state: &AppState, email: &str, origin: &Origin) -> AppResult<()> {
    let email = users::normalize_email(email);
    users::check_email(&email, "email")?;
    let state = state.clone();
    let origin = origin.clone();
    tokio::spawn(async move {
        if let Err(error) = mail_link(&state, &email, &origin).await {
            tracing::warn!(error = %error, "a password reset link could not be made");
        }
    });
    Ok(())
}

async fn mail_link(state: &AppState, email: &str, origin: &Origin) -> AppResult<()> {
    let Some(user) = users::find_by_email(state, email).await? else {
        return Ok(());
    };
    if user.disabled_at.is_some() || !may_use_password(state, &user).await? {
        tracing::info!(user_id = %user.id, "password reset asked for an account that cannot use a password");
        return Ok(());
    }
    let now = clock::now();
    let txn = state.begin().await?;
    // The account's row is the lock: two requests at once count one after the other.
    user_entity::Entity::find_by_id(user.id)
        .lock_exclusive()
        .one(&txn)
        .await?;
    let recent = password_resets::Entity::find()
        .filter(password_resets::Column::UserId.eq(user.id))
        .filter(password_resets::Column::CreatedAt.gt(now - TimeDelta::hours(1)))
        .count(&txn)
        .await?;
    if recent >= PER_ACCOUNT_PER_HOUR {
        tracing::info!(user_id = %user.id, "password reset links for this account are rate limited");
        return Ok(());
    }
    let token = random_token();
    let url = format!("{}{RESET_PAGE}?token={token}", state.config.public_url);
    password_resets::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user.id),
        token_hash: Set(sha256_hex(token.as_bytes())),
        created_at: Set(now),
        expires_at: Set(clock::after(now, TOKEN_LIFETIME)),
        used_at: Set(None),
    }
    .insert(&txn)
    .await?;
    let minutes = TOKEN_LIFETIME.as_secs() / 60;
    outbox::enqueue(&txn, templates::password_reset(&user.email, &url, minutes)).await?;
    txn.commit().await?;
    tracing::info!(user_id = %user.id, ip = ?origin.ip, "a password reset link was mailed");
    Ok(())
}

/// Whether the account may sign in with a password: its email's domain does
/// not route to an org's SSO.
async fn may_use_password(state: &AppState, user: &user_entity::Model) -> AppResult<bool> {
    Ok(!signin::uses_sso(state, &user.email).await?)
}

/// Ends every reset link of the account not used yet (a new password, by
/// either way, makes them moot).
pub async fn void_links_of<C: ConnectionTrait>(db: &C, user_id: Uuid) -> AppResult<()> {
    password_resets::Entity::update_many()
        .col_expr(password_resets::Column::UsedAt, Expr::value(clock::now()))
        .filter(password_resets::Column::UserId.eq(user_id))
        .filter(password_resets::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// The one answer for a token that is unknown, used or expired.
fn unusable() -> AppError {
    AppError::invalid_field(
        "token",
        "this reset link is unknown, used or expired; ask for a new one",
    )
}

/// `POST /auth/password-reset/confirm`: sets the new password and revokes
/// every session. A password the policy refuses leaves the token usable.
pub async fn confirm(state: &AppState, token: &str, password: String, origin: &Origin) -> AppResult<()> {
    let now = clock::now();
    let reset = password_resets::Entity::find()
        .filter(password_resets::Column::TokenHash.eq(sha256_hex(token.as_bytes())))
        .one(&state.db)
        .await?
        .filter(|reset| reset.used_at.is_none() && reset.expires_at > now)
        .ok_or_else(unusable)?;
    let user = user_entity::Entity::find_by_id(reset.user_id)
        .one(&state.db)
        .await?
        .filter(|user| user.disabled_at.is_none())
        .ok_or_else(unusable)?;
    if !may_use_password(state, &user).await? {
        return Err(unusable());
    }
    passwords::check_policy(&password, "password", &[user.email.as_str(), user.name.as_str()])?;
    let hash = passwords::hash(password).await?;
    let txn = state.begin().await?;
    // Used once: of two confirmations racing, one marks nothing.
    let claimed = password_resets::Entity::update_many()
        .col_expr(password_resets::Column::UsedAt, Expr::value(now))
        .filter(password_resets::Column::Id.eq(reset.id))
        .filter(password_resets::Column::UsedAt.is_null())
        .exec(&txn)
        .await?
        .rows_affected;
    if claimed != 1 {
        return Err(unusable());
    }
    void_links_of(&txn, user.id).await?;
    let email = user.email.clone();
    let mut active: user_entity::ActiveModel = user.into();
    active.password_hash = Set(Some(hash));
    active.failed_logins = Set(0);
    active.failure_window_started_at = Set(None);
    active.locked_until = Set(None);
    let user = active.update(&txn).await?;
    let revoked = sessions::revoke_all_of(&txn, user.id).await?;
    outbox::enqueue(&txn, templates::password_changed(&email, "reset")).await?;
    let record = Record::of(Action::PasswordReset, "user", user.id).with(Metadata {
        sessions_revoked: Some(revoked),
        ..Metadata::default()
    });
    audit::append_for_user(&txn, user.id, &Source::user(&user, origin), record).await?;
    txn.commit().await?;
    Ok(())
}
