//! Password storage (argon2id) and policy.
//!
//! Parameters follow OWASP's recommendation for argon2id: 19 MiB of memory,
//! 2 iterations, 1 lane. Hashing runs on the blocking pool, never on the async
//! executor. See docs/security.md.

use std::sync::OnceLock;

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString},
    Algorithm, Argon2, Params, Version,
};
use attest_shared::error::FieldError;

use crate::{AppError, AppResult};

pub const MIN_LENGTH: usize = 12;
pub const MAX_LENGTH: usize = 1024;

/// The most common passwords of public breach corpora that meet the length rule.
const COMMON: &[&str] = &[
    "123456789012",
    "1234567890123",
    "12345678910111",
    "password1234",
    "password12345",
    "passwordpassword",
    "qwertyuiopas",
    "qwerty123456",
    "1q2w3e4r5t6y",
    "1qaz2wsx3edc",
    "iloveyou1234",
    "abcdefghijkl",
    "abc123abc123",
    "letmeinletmein",
    "welcome12345",
    "administrator",
    "adminadmin123",
    "changeme1234",
    "trustno1trustno1",
    "football1234",
    "baseball1234",
    "superman1234",
    "sunshine1234",
    "princess1234",
    "monkey123456",
    "dragon123456",
    "master123456",
    "qwertyqwerty",
    "aaaaaaaaaaaa",
    "111111111111",
    "000000000000",
    "correcthorsebatterystaple",
    "p@ssw0rd1234",
    "passw0rd1234",
];

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks a new password: length bounds and the common-password list.
pub fn check_policy(password: &str, field: &str) -> AppResult<()> {
    let problem = if password.chars().count() < MIN_LENGTH {
        Some(format!("must be at least {MIN_LENGTH} characters"))
    } else if password.len() > MAX_LENGTH {
        Some(format!("must be at most {MAX_LENGTH} bytes"))
    } else if COMMON.contains(&password.to_lowercase().as_str()) {
        Some("is too common; choose a less guessable password".to_owned())
    } else {
        None
    };
    match problem {
        Some(message) => Err(AppError::validation(vec![FieldError {
            field: field.to_owned(),
            message,
        }])),
        None => Ok(()),
    }
}

/// Hashes a password (PHC string) on the blocking pool.
pub async fn hash(password: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AppError::internal(e.to_string()))
    })
    .await
    .map_err(AppError::internal)?
}

/// Verifies a password against a PHC string on the blocking pool. With `None`
/// (unknown user, or no local password) a dummy hash is checked, so every answer
/// costs the same time.
pub async fn verify(password: String, stored: Option<String>) -> AppResult<bool> {
    tokio::task::spawn_blocking(move || {
        let real = stored.is_some();
        let stored = stored.unwrap_or_else(|| dummy_hash().to_owned());
        let matched = PasswordHash::new(&stored)
            .map(|parsed| argon2().verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false);
        real && matched
    })
    .await
    .map_err(AppError::internal)
}

/// A hash with the production parameters of a password nobody knows.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(crate::crypto::random_token().as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let stored = hash("a long enough secret".into()).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("a long enough secret".into(), Some(stored.clone()))
            .await
            .unwrap());
        assert!(!verify("a long enough secreT".into(), Some(stored)).await.unwrap());
        assert!(!verify("anything at all".into(), None).await.unwrap());
    }

    #[test]
    fn the_policy_refuses_short_and_common_passwords() {
        assert!(check_policy("short", "password").is_err());
        assert!(check_policy("Password1234", "password").is_err());
        let err = check_policy("CorrectHorseBatteryStaple", "password").unwrap_err();
        assert_eq!(err.errors[0].field, "password");
        assert!(check_policy("a quiet violet harbour", "password").is_ok());
    }
}
