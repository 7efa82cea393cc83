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

/// The least zxcvbn score accepted (of 0–4): "safely unguessable", about
/// 10^10 guesses, enough against an offline attack on one argon2id hash.
const MIN_SCORE: u8 = 3;
/// zxcvbn's cost grows with the length; a longer password is judged by its
/// start, which only underestimates it.
const JUDGED_CHARS: usize = 128;

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks a new password: length bounds, and its strength as zxcvbn estimates
/// it (dictionaries, keyboard patterns, dates, repeats, and the account's own
/// email and name in `context`). The message says why, never the password.
pub fn check_policy(password: &str, field: &str, context: &[&str]) -> AppResult<()> {
    let problem = if password.chars().count() < MIN_LENGTH {
        Some(format!("must be at least {MIN_LENGTH} characters"))
    } else if password.len() > MAX_LENGTH {
        Some(format!("must be at most {MAX_LENGTH} bytes"))
    } else {
        weakness(password, context)
    };
    match problem {
        Some(message) => Err(AppError::validation(vec![FieldError {
            field: field.to_owned(),
            message,
        }])),
        None => Ok(()),
    }
}

/// Why zxcvbn finds the password too guessable, if it does.
fn weakness(password: &str, context: &[&str]) -> Option<String> {
    let judged: String = password.chars().take(JUDGED_CHARS).collect();
    // zxcvbn matches whole words: `ada.lovelace@example.com` also gives `ada` and `lovelace`.
    let words: Vec<&str> = context
        .iter()
        .flat_map(|c| std::iter::once(*c).chain(c.split(|ch: char| !ch.is_alphanumeric())))
        .filter(|w| w.chars().count() >= 3)
        .collect();
    let estimate = zxcvbn::zxcvbn(&judged, &words);
    if u8::from(estimate.score()) >= MIN_SCORE {
        return None;
    }
    let mut why = vec!["is too easy to guess".to_owned()];
    if let Some(feedback) = estimate.feedback() {
        why.extend(feedback.warning().map(|w| w.to_string()));
        why.extend(feedback.suggestions().iter().map(|s| s.to_string()));
    }
    Some(why.join(". "))
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
    fn the_policy_refuses_short_and_guessable_passwords() {
        assert!(check_policy("short", "password", &[]).is_err());
        for guessable in [
            "Password1234",
            "qwertyuiop123",
            "aaaaaaaaaaaaaaaa",
            "p@ssw0rd1234",
        ] {
            let err = check_policy(guessable, "new", &[]).expect_err(guessable);
            assert_eq!(err.errors[0].field, "new");
            let message = &err.errors[0].message;
            assert!(message.starts_with("is too easy to guess"), "{message}");
            assert!(
                !message.to_lowercase().contains(&guessable.to_lowercase()),
                "echoes: {message}"
            );
        }
        assert!(check_policy("a quiet violet harbour", "password", &[]).is_ok());
        // The account's own details make a password guessable.
        assert!(check_policy("ada.lovelace1815", "password", &["ada.lovelace1815@example.com"]).is_err());
    }
}
