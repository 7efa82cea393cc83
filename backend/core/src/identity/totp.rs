//! Optional second factor: time-based one-time codes (RFC 6238, 6 digits, 30 s,
//! one step of clock skew either way), via `totp-rs`.
//!
//! Enrolment is two steps: [`begin`] stores a new secret (sealed with the server
//! key) and returns the `otpauth://` URI for an authenticator app; [`confirm`]
//! checks a code from the app, switches TOTP on and returns ten recovery codes,
//! shown once and stored as SHA-256 hashes. Each recovery code works once.

use attest_shared::error::FieldError;
use rand::RngCore as _;
use sea_orm::{ActiveModelTrait as _, Set};
use totp_rs::{Algorithm, Secret, TOTP};

use crate::{
    audit::{self, Action, Record, Source},
    clock,
    crypto::{constant_time_eq, sha256_hex},
    store::entities::users,
    Actor, AppError, AppResult, AppState, ErrorKind,
};

const SEAL_PURPOSE: &str = "totp-secret";
const RECOVERY_CODES: usize = 10;

/// What an authenticator app needs to start producing codes.
pub struct Enrolment {
    pub otpauth_uri: String,
    /// The secret in base32, for apps that cannot scan a QR code.
    pub secret: String,
}

fn totp(secret: Vec<u8>, email: &str) -> AppResult<TOTP> {
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        30,
        secret,
        Some("Attest".into()),
        email.to_owned(),
    )
    .map_err(|e| AppError::internal(e.to_string()))
}

fn secret_of(state: &AppState, user: &users::Model) -> AppResult<Option<Vec<u8>>> {
    match &user.totp_secret {
        None => Ok(None),
        Some(sealed) => state
            .key
            .open(SEAL_PURPOSE, sealed)
            .map(Some)
            .ok_or_else(|| AppError::internal("the TOTP secret cannot be opened with this server key")),
    }
}

fn bad_code() -> AppError {
    AppError::validation(vec![FieldError {
        field: "code".into(),
        message: "is not a valid current code".into(),
    }])
}

/// Whether TOTP is switched on for the user.
pub fn enabled(user: &users::Model) -> bool {
    user.totp_enabled_at.is_some()
}

/// Starts (or restarts) enrolment with a fresh secret; TOTP stays off until confirmed.
pub async fn begin(state: &AppState, actor: &Actor) -> AppResult<Enrolment> {
    super::password_change::own_credentials_only(actor)?;
    let user = actor.user.clone();
    if enabled(&user) {
        return Err(AppError::new(
            ErrorKind::Conflict,
            "two-factor sign-in is already on; disable it first",
        ));
    }
    let mut secret = vec![0u8; 20];
    rand::rng().fill_bytes(&mut secret);
    let generator = totp(secret.clone(), &user.email)?;
    let enrolment = Enrolment {
        otpauth_uri: generator.get_url(),
        secret: Secret::Raw(secret.clone()).to_encoded().to_string(),
    };
    let mut active: users::ActiveModel = user.into();
    active.totp_secret = Set(Some(state.key.seal(SEAL_PURPOSE, &secret)));
    active.totp_recovery_codes = Set(None);
    active.update(&state.db).await?;
    Ok(enrolment)
}

/// Confirms enrolment with a code from the app; returns the recovery codes.
pub async fn confirm(state: &AppState, actor: &Actor, code: &str) -> AppResult<Vec<String>> {
    super::password_change::own_credentials_only(actor)?;
    let user = actor.user.clone();
    if enabled(&user) {
        return Err(AppError::new(
            ErrorKind::Conflict,
            "two-factor sign-in is already on",
        ));
    }
    let secret = secret_of(state, &user)?
        .ok_or_else(|| AppError::new(ErrorKind::Conflict, "start enrolment first"))?;
    if !totp(secret, &user.email)?
        .check_current(code.trim())
        .unwrap_or(false)
    {
        return Err(bad_code());
    }
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
    let hashes: Vec<String> = codes.iter().map(|c| sha256_hex(c.as_bytes())).collect();
    let mut active: users::ActiveModel = user.into();
    active.totp_enabled_at = Set(Some(clock::now()));
    active.totp_recovery_codes = Set(Some(serde_json::to_string(&hashes).map_err(AppError::internal)?));
    let txn = state.begin().await?;
    active.update(&txn).await?;
    audit_for_user(&txn, actor, Action::TotpEnabled).await?;
    txn.commit().await?;
    Ok(codes)
}

/// Switches TOTP off; needs a current code or a recovery code.
pub async fn disable(state: &AppState, actor: &Actor, code: &str) -> AppResult<()> {
    super::password_change::own_credentials_only(actor)?;
    let user = actor.user.clone();
    if !enabled(&user) {
        return Ok(());
    }
    let (ok, user) = verify(state, user, code).await?;
    if !ok {
        return Err(bad_code());
    }
    let mut active: users::ActiveModel = user.into();
    active.totp_secret = Set(None);
    active.totp_enabled_at = Set(None);
    active.totp_recovery_codes = Set(None);
    let txn = state.begin().await?;
    active.update(&txn).await?;
    audit_for_user(&txn, actor, Action::TotpDisabled).await?;
    txn.commit().await?;
    Ok(())
}

/// Records an account event in every org of the actor.
async fn audit_for_user<C: sea_orm::ConnectionTrait>(db: &C, actor: &Actor, action: Action) -> AppResult<()> {
    let record = Record::of(action, "user", actor.user_id());
    audit::append_for_user(db, actor.user_id(), &Source::of(actor), record).await?;
    Ok(())
}

/// Checks a sign-in's second factor: a current code, or an unused recovery code
/// (which is then used up). Returns the user as stored afterwards.
pub async fn verify(state: &AppState, user: users::Model, code: &str) -> AppResult<(bool, users::Model)> {
    let code = code.trim();
    let Some(secret) = secret_of(state, &user)? else {
        return Ok((false, user));
    };
    if code.len() == 6 && totp(secret, &user.email)?.check_current(code).unwrap_or(false) {
        return Ok((true, user));
    }
    let mut hashes: Vec<String> = user
        .totp_recovery_codes
        .as_deref()
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_default();
    let presented = sha256_hex(code.to_lowercase().as_bytes());
    let Some(index) = hashes
        .iter()
        .position(|h| constant_time_eq(h.as_bytes(), presented.as_bytes()))
    else {
        return Ok((false, user));
    };
    hashes.remove(index);
    let mut active: users::ActiveModel = user.into();
    active.totp_recovery_codes = Set(Some(serde_json::to_string(&hashes).map_err(AppError::internal)?));
    Ok((true, active.update(&state.db).await?))
}

/// `xxxxx-xxxxx` from an alphabet without look-alikes (50 bits).
fn recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 10];
    rand::rng().fill_bytes(&mut bytes);
    let chars: String = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}
