//! Users: one email is one user, across every organization.

use attest_shared::error::FieldError;
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _, Set,
};
use uuid::Uuid;

use super::passwords;
use crate::{
    audit::{self, Action, Metadata, Record, Source},
    clock,
    store::entities::users,
    AppError, AppResult, AppState, ErrorKind,
};

/// Emails are compared and stored trimmed and lowercased.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A plausible address: one `@`, something on both sides, a dot in the domain.
pub fn check_email(email: &str, field: &str) -> AppResult<()> {
    let valid = email.len() <= 320
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.contains('@')
        })
        && !email.chars().any(char::is_whitespace);
    if valid {
        Ok(())
    } else {
        Err(AppError::validation(vec![FieldError {
            field: field.to_owned(),
            message: "must be an email address".into(),
        }]))
    }
}

pub async fn find_by_email(state: &AppState, email: &str) -> AppResult<Option<users::Model>> {
    find_by_email_in(&state.db, email).await
}

/// [`find_by_email`] inside a transaction.
pub async fn find_by_email_in<C: ConnectionTrait>(db: &C, email: &str) -> AppResult<Option<users::Model>> {
    Ok(users::Entity::find()
        .filter(users::Column::Email.eq(normalize_email(email)))
        .one(db)
        .await?)
}

/// Creates a platform operator (the `attest admin create` command). There are no
/// default accounts: this is the only way the first one comes to exist.
pub async fn create_operator(state: &AppState, email: &str, password: String) -> AppResult<users::Model> {
    let email = normalize_email(email);
    check_email(&email, "email")?;
    passwords::check_policy(&password, "password", &[email.as_str()])?;
    if find_by_email(state, &email).await?.is_some() {
        return Err(AppError::new(
            ErrorKind::Conflict,
            "a user with this email already exists",
        ));
    }
    let hash = passwords::hash(password).await?;
    let name = email.split('@').next().unwrap_or_default().to_owned();
    insert(&state.db, &email, &name, Some(hash), true).await
}

/// Disables a user: every session is revoked at once and sign-in is refused
/// until they are re-enabled. Returns how many sessions were revoked.
pub async fn disable(state: &AppState, email: &str) -> AppResult<u64> {
    let user = find_by_email(state, email)
        .await?
        .ok_or_else(AppError::not_found)?;
    let now = clock::now();
    let txn = state.begin().await?;
    let mut active: users::ActiveModel = user.clone().into();
    active.disabled_at = Set(Some(now));
    active.updated_at = Set(now);
    active.update(&txn).await?;
    let revoked = super::sessions::revoke_all_of(&txn, user.id).await?;
    let metadata = Metadata {
        sessions_revoked: Some(revoked),
        ..Metadata::default()
    };
    let record = Record::of(Action::UserDisabled, "user", user.id).with(metadata);
    audit::append_for_user(&txn, user.id, &Source::system(), record).await?;
    txn.commit().await?;
    Ok(revoked)
}

/// Inserts a user (the email already normalised and checked).
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    email: &str,
    name: &str,
    password_hash: Option<String>,
    is_operator: bool,
) -> AppResult<users::Model> {
    let now = clock::now();
    Ok(users::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email.to_owned()),
        name: Set(name.to_owned()),
        password_hash: Set(password_hash),
        is_operator: Set(is_operator),
        disabled_at: Set(None),
        failed_logins: Set(0),
        failure_window_started_at: Set(None),
        locked_until: Set(None),
        totp_secret: Set(None),
        totp_enabled_at: Set(None),
        totp_recovery_codes: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(normalize_email("  Ada@Example.COM "), "ada@example.com");
        assert!(check_email("ada@example.com", "email").is_ok());
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@localhost",
            "a da@example.com",
        ] {
            assert!(check_email(bad, "email").is_err(), "{bad}");
        }
    }
}
