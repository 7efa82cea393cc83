//! Optimistic concurrency: an update names the version it was based on
//! (`If-Match`), and a stale one is refused instead of overwriting a change the
//! caller never saw.

use crate::{AppError, AppResult, ErrorKind};

/// What an update expects the current version to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// `If-Match: *`, or no `If-Match` where the route needs none: whatever is current.
    Any,
    Version(i32),
    /// No `If-Match` where the update needs one: `428`, once the caller is
    /// known to be allowed and the resource to exist (so a refused caller
    /// learns nothing more than `403` or `404`).
    Missing,
}

impl Expected {
    /// `412 precondition_failed` unless `current` is the expected version;
    /// `428 precondition_required` without an expectation.
    pub fn check(self, current: i32, what: &str) -> AppResult<()> {
        match self {
            Expected::Version(v) if v != current => Err(stale(what)),
            Expected::Missing => Err(AppError::new(
                ErrorKind::PreconditionRequired,
                "send If-Match with the ETag you read (or *)",
            )),
            _ => Ok(()),
        }
    }
}

/// `412`: `what` changed between the caller's read and their update.
pub fn stale(what: &str) -> AppError {
    AppError::new(
        ErrorKind::PreconditionFailed,
        format!("{what} changed since you read it; reload and retry"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_named_version_other_than_the_current_one_is_stale() {
        assert!(Expected::Any.check(7, "x").is_ok());
        assert!(Expected::Version(7).check(7, "x").is_ok());
        let err = Expected::Version(6).check(7, "the role").unwrap_err();
        assert_eq!(err.kind, ErrorKind::PreconditionFailed);
        let err = Expected::Missing.check(7, "the role").unwrap_err();
        assert_eq!(err.kind, ErrorKind::PreconditionRequired);
    }
}
