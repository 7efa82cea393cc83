//! One error type for the whole domain. Entry points map it to their own shape
//! (problem+json for HTTP, an exit code for the CLI); the `kind` is the stable part.

use std::fmt;

pub use attest_shared::error::{ErrorKind, FieldError};

pub type AppResult<T> = Result<T, AppError>;

/// A failure the caller may see (`kind`, `detail`, `errors`) plus an internal
/// `cause` that is logged but never shown: a `500` says nothing about internals.
pub struct AppError {
    pub kind: ErrorKind,
    pub detail: Option<String>,
    pub errors: Vec<FieldError>,
    /// Extra members for the problem document (RFC 9457 extensions).
    pub extensions: serde_json::Map<String, serde_json::Value>,
    cause: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl AppError {
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: Some(detail.into()),
            errors: Vec::new(),
            extensions: serde_json::Map::new(),
            cause: None,
        }
    }

    /// An error of `kind` with no detail beyond its title.
    pub fn bare(kind: ErrorKind) -> Self {
        Self {
            kind,
            detail: None,
            errors: Vec::new(),
            extensions: serde_json::Map::new(),
            cause: None,
        }
    }

    /// A `validation_failed` error listing every offending field.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        Self {
            kind: ErrorKind::ValidationFailed,
            detail: Some("the request has invalid fields".into()),
            errors,
            extensions: serde_json::Map::new(),
            cause: None,
        }
    }

    /// A `validation_failed` error for one field.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError {
            field: field.to_owned(),
            message: message.into(),
        }])
    }

    /// An unexpected failure: the cause is kept for the log only.
    pub fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        Self {
            kind: ErrorKind::Internal,
            detail: None,
            errors: Vec::new(),
            extensions: serde_json::Map::new(),
            cause: Some(cause.into()),
        }
    }

    pub fn unavailable(cause: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        Self {
            kind: ErrorKind::Unavailable,
            detail: Some("a backing service is unavailable, retry later".into()),
            errors: Vec::new(),
            extensions: serde_json::Map::new(),
            cause: Some(cause.into()),
        }
    }

    /// Adds a member to the problem document.
    pub fn with_extension(mut self, name: &str, value: serde_json::Value) -> Self {
        self.extensions.insert(name.to_owned(), value);
        self
    }

    pub fn not_found() -> Self {
        Self::bare(ErrorKind::NotFound)
    }

    pub fn cause(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.cause.as_deref()
    }
}

impl fmt::Debug for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppError")
            .field("kind", &self.kind)
            .field("detail", &self.detail)
            .field("errors", &self.errors)
            .field("cause", &self.cause.as_ref().map(|c| c.to_string()))
            .finish()
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.detail {
            Some(detail) => write!(f, "{}: {detail}", self.kind.code()),
            None => f.write_str(self.kind.code()),
        }
    }
}

impl std::error::Error for AppError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|c| c as &(dyn std::error::Error + 'static))
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        match err {
            sea_orm::DbErr::ConnectionAcquire(_) | sea_orm::DbErr::Conn(_) => AppError::unavailable(err),
            other => AppError::internal(other),
        }
    }
}
