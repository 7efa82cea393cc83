//! The request-id rule of the contract: a client's own id is kept when it is
//! 1–128 characters of `[A-Za-z0-9._-]`; anything else is replaced.

pub const MAX_LEN: usize = 128;

/// Whether a client-supplied `X-Request-Id` may be kept as it is.
pub fn is_acceptable(candidate: &str) -> bool {
    (1..=MAX_LEN).contains(&candidate.len())
        && candidate
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::is_acceptable;

    #[test]
    fn keeps_ids_of_the_allowed_alphabet_and_length() {
        assert!(is_acceptable("abc-DEF_123.x"));
        assert!(is_acceptable(&"a".repeat(128)));
    }

    #[test]
    fn refuses_empty_long_or_foreign_characters() {
        assert!(!is_acceptable(""));
        assert!(!is_acceptable(&"a".repeat(129)));
        assert!(!is_acceptable("has space"));
        assert!(!is_acceptable("semi;colon"));
        assert!(!is_acceptable("ünïcode"));
    }
}
