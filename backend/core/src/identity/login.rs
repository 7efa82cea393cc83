//! Password sign-in with account lockout.
//!
//! Wrong password, unknown user, disabled and locked account all end in the same
//! `invalid_credentials` error after the same work (one argon2 verification), so
//! neither the answer nor its timing tells them apart.

use attest_shared::audit::Outcome;
use sea_orm::{ActiveModelTrait as _, Set};

use super::{
    passwords,
    sessions::{self, NewSession},
    totp, users,
};
use crate::{
    actor::Origin,
    audit::{self, Action, Metadata, Reason, Record, Source},
    clock,
    mail::{outbox, templates},
    store::entities::users as user_entity,
    AppError, AppResult, AppState, ErrorKind,
};

pub struct Credentials {
    pub email: String,
    pub password: String,
    /// The second factor, when the account has TOTP on: a current code or a recovery code.
    pub totp: Option<String>,
}

/// The one answer for every failed sign-in.
pub fn invalid_credentials() -> AppError {
    AppError::new(ErrorKind::InvalidCredentials, "the email or password is wrong")
}

/// Outcome of a sign-in attempt that the caller may want to act on (mail, audit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    UnknownUser,
    Disabled,
    Locked,
    WrongPassword,
    /// This failure locked the account.
    LockedNow,
    /// The password was right but the account needs a TOTP code, and none was sent.
    TotpRequired,
    /// The password was right, the TOTP code was not.
    WrongTotp,
}

/// Signs in with email and password; on success starts a fresh session. Every
/// outcome for a known user is recorded in each of their orgs' audit chains.
pub async fn login(
    state: &AppState,
    credentials: Credentials,
    origin: &Origin,
) -> AppResult<(user_entity::Model, NewSession)> {
    let (user, failure) = match attempt(state, credentials, origin).await? {
        Ok(user) => {
            let txn = state.begin().await?;
            let session =
                sessions::create(state, &txn, user.id, sessions::SignInMethod::Password, origin).await?;
            let record = Record::of(Action::SignedIn, "user", user.id);
            audit::append_for_user(&txn, user.id, &Source::user(&user, origin), record).await?;
            txn.commit().await?;
            return Ok((user, session));
        }
        Err(refused) => refused,
    };
    tracing::info!(reason = ?failure, "sign-in refused");
    // A lockout was recorded with the lock itself; an unknown email has no chain.
    if let (Some(user), Some(reason)) = (user, failure.reason()) {
        let record = Record::of(Action::SignedIn, "user", user.id)
            .outcome(Outcome::Failure)
            .with(Metadata::reason(reason));
        let txn = state.begin().await?;
        audit::append_for_user(&txn, user.id, &Source::user(&user, origin), record).await?;
        txn.commit().await?;
    }
    Err(failure.answer())
}

/// Whether a re-authentication asks for the TOTP code too.
#[derive(Debug, Clone, Copy)]
pub enum SecondFactor<'a> {
    /// The session already passed it (changing the password).
    NotAsked,
    /// Asked when the account has TOTP on (linking an identity).
    WhenOn(Option<&'a str>),
}

/// Proves the signed-in user's credentials again before a sensitive change. A
/// failure counts towards the lockout like a failed sign-in, and answers the
/// same `invalid_credentials`.
pub async fn reauthenticate(
    state: &AppState,
    user: user_entity::Model,
    password: String,
    second_factor: SecondFactor<'_>,
    origin: &Origin,
) -> AppResult<user_entity::Model> {
    let password_ok = passwords::verify(password, user.password_hash.clone()).await?;
    match confirm(state, user, password_ok, second_factor, origin).await? {
        Ok(user) => Ok(user),
        Err((_, failure)) => {
            tracing::info!(reason = ?failure, "re-authentication refused");
            Err(failure.answer())
        }
    }
}

impl Failure {
    fn answer(self) -> AppError {
        match self {
            // Only once the password is proven does the answer say a code is needed.
            Failure::TotpRequired | Failure::WrongTotp => {
                invalid_credentials().with_extension("totp_required", serde_json::Value::Bool(true))
            }
            _ => invalid_credentials(),
        }
    }

    /// The reason a failed attempt is audited with (none: not audited as a failure).
    fn reason(self) -> Option<Reason> {
        match self {
            Failure::UnknownUser | Failure::LockedNow => None,
            Failure::Disabled => Some(Reason::AccountDisabled),
            Failure::Locked => Some(Reason::AccountLocked),
            Failure::WrongPassword => Some(Reason::InvalidCredentials),
            Failure::TotpRequired => Some(Reason::TotpRequired),
            Failure::WrongTotp => Some(Reason::TotpInvalid),
        }
    }
}

/// A refused attempt: why, and whose account it was (if any).
type Refused = (Option<user_entity::Model>, Failure);

async fn attempt(
    state: &AppState,
    credentials: Credentials,
    origin: &Origin,
) -> AppResult<Result<user_entity::Model, Refused>> {
    let user = users::find_by_email(state, &credentials.email).await?;
    let stored_hash = user.as_ref().and_then(|u| u.password_hash.clone());
    // Always exactly one verification, whatever the account's state.
    let password_ok = passwords::verify(credentials.password, stored_hash).await?;
    let Some(user) = user else {
        return Ok(Err((None, Failure::UnknownUser)));
    };
    if user.disabled_at.is_some() {
        return Ok(Err((Some(user), Failure::Disabled)));
    }
    let totp = SecondFactor::WhenOn(credentials.totp.as_deref());
    confirm(state, user, password_ok, totp, origin).await
}

/// Decides an attempt on a known, enabled account whose password was checked:
/// the lockout, the second factor, and the failure count.
async fn confirm(
    state: &AppState,
    user: user_entity::Model,
    password_ok: bool,
    second_factor: SecondFactor<'_>,
    origin: &Origin,
) -> AppResult<Result<user_entity::Model, Refused>> {
    if user.locked_until.is_some_and(|until| until > clock::now()) {
        return Ok(Err((Some(user), Failure::Locked)));
    }
    if !password_ok {
        let failure = record_failure(state, &user, origin).await?;
        return Ok(Err((Some(user), failure)));
    }
    let user = match second_factor {
        SecondFactor::WhenOn(code) if totp::enabled(&user) => {
            let Some(code) = code.filter(|c| !c.trim().is_empty()) else {
                return Ok(Err((Some(user), Failure::TotpRequired)));
            };
            let (ok, user) = totp::verify(state, user, code).await?;
            if !ok {
                let failure = match record_failure(state, &user, origin).await? {
                    Failure::LockedNow => Failure::LockedNow,
                    _ => Failure::WrongTotp,
                };
                return Ok(Err((Some(user), failure)));
            }
            user
        }
        _ => user,
    };
    let user = if user.failed_logins != 0 || user.locked_until.is_some() {
        let mut active: user_entity::ActiveModel = user.into();
        active.failed_logins = Set(0);
        active.failure_window_started_at = Set(None);
        active.locked_until = Set(None);
        active.update(&state.db).await?
    } else {
        user
    };
    Ok(Ok(user))
}

/// Counts a failure within the window; the last allowed one locks the account.
async fn record_failure(state: &AppState, user: &user_entity::Model, origin: &Origin) -> AppResult<Failure> {
    let now = clock::now();
    let window = state.config.login_lockout;
    let in_window = user
        .failure_window_started_at
        .is_some_and(|start| clock::after(start, window) > now);
    let failures = if in_window {
        user.failed_logins.saturating_add(1)
    } else {
        1
    };
    let mut active: user_entity::ActiveModel = user.clone().into();
    let locks = u32::try_from(failures).unwrap_or(u32::MAX) >= state.config.login_max_failures;
    if locks {
        active.failed_logins = Set(0);
        active.failure_window_started_at = Set(None);
        active.locked_until = Set(Some(clock::after(now, window)));
    } else {
        active.failed_logins = Set(failures);
        if !in_window {
            active.failure_window_started_at = Set(Some(now));
        }
    }
    if !locks {
        active.update(&state.db).await?;
        return Ok(Failure::WrongPassword);
    }
    // The lock, its notice and its audit event commit together.
    let txn = state.begin().await?;
    let locked = active.update(&txn).await?;
    let until = locked.locked_until.map(|u| u.to_rfc3339()).unwrap_or_default();
    outbox::enqueue(&txn, templates::lockout_notice(&locked.email, &until)).await?;
    let record = Record::of(Action::LockedOut, "user", user.id).outcome(Outcome::Failure);
    audit::append_for_user(&txn, user.id, &Source::user(user, origin), record).await?;
    txn.commit().await?;
    tracing::warn!(user_id = %user.id, "account locked after repeated sign-in failures");
    Ok(Failure::LockedNow)
}
