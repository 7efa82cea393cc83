//! The stable, greppable error codes of the outside contract (`code` in problem+json).

use serde::{Deserialize, Serialize};

/// Every error the API can answer with. The string form is the contract's `code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    BadRequest,
    ValidationFailed,
    /// Well-formed, but what it asks for cannot be done as things stand (a
    /// domain's TXT record is not there yet): `422` with `validation_failed`.
    Unprocessable,
    Unauthenticated,
    InvalidCredentials,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PreconditionFailed,
    PreconditionRequired,
    PayloadTooLarge,
    UnsupportedMediaType,
    RateLimited,
    Internal,
    Unavailable,
}

impl ErrorKind {
    /// Every kind, for exhaustive tests and documentation.
    pub const ALL: [ErrorKind; 16] = [
        ErrorKind::BadRequest,
        ErrorKind::ValidationFailed,
        ErrorKind::Unprocessable,
        ErrorKind::Unauthenticated,
        ErrorKind::InvalidCredentials,
        ErrorKind::Forbidden,
        ErrorKind::NotFound,
        ErrorKind::MethodNotAllowed,
        ErrorKind::Conflict,
        ErrorKind::PreconditionFailed,
        ErrorKind::PreconditionRequired,
        ErrorKind::PayloadTooLarge,
        ErrorKind::UnsupportedMediaType,
        ErrorKind::RateLimited,
        ErrorKind::Internal,
        ErrorKind::Unavailable,
    ];

    /// The `code` member of a problem document.
    ///
    /// `405` answers use `bad_request`: the contract's code list has no entry of its own
    /// for it, and the status already says what went wrong.
    pub const fn code(self) -> &'static str {
        match self {
            ErrorKind::BadRequest | ErrorKind::MethodNotAllowed => "bad_request",
            ErrorKind::ValidationFailed | ErrorKind::Unprocessable => "validation_failed",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::InvalidCredentials => "invalid_credentials",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::PreconditionFailed => "precondition_failed",
            ErrorKind::PreconditionRequired => "precondition_required",
            ErrorKind::PayloadTooLarge => "payload_too_large",
            ErrorKind::UnsupportedMediaType => "unsupported_media_type",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Internal => "internal",
            ErrorKind::Unavailable => "unavailable",
        }
    }

    /// The HTTP status this kind is answered with.
    pub const fn status(self) -> u16 {
        match self {
            ErrorKind::BadRequest | ErrorKind::ValidationFailed => 400,
            ErrorKind::Unauthenticated | ErrorKind::InvalidCredentials => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::MethodNotAllowed => 405,
            ErrorKind::Conflict => 409,
            ErrorKind::PreconditionFailed => 412,
            ErrorKind::PayloadTooLarge => 413,
            ErrorKind::UnsupportedMediaType => 415,
            ErrorKind::Unprocessable => 422,
            ErrorKind::PreconditionRequired => 428,
            ErrorKind::RateLimited => 429,
            ErrorKind::Internal => 500,
            ErrorKind::Unavailable => 503,
        }
    }

    /// A short, human title (the problem document's `title`).
    pub const fn title(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "Bad request",
            ErrorKind::ValidationFailed => "Validation failed",
            ErrorKind::Unprocessable => "Unprocessable content",
            ErrorKind::Unauthenticated => "Authentication required",
            ErrorKind::InvalidCredentials => "Invalid credentials",
            ErrorKind::Forbidden => "Forbidden",
            ErrorKind::NotFound => "Not found",
            ErrorKind::MethodNotAllowed => "Method not allowed",
            ErrorKind::Conflict => "Conflict",
            ErrorKind::PreconditionFailed => "Precondition failed",
            ErrorKind::PreconditionRequired => "Precondition required",
            ErrorKind::PayloadTooLarge => "Payload too large",
            ErrorKind::UnsupportedMediaType => "Unsupported media type",
            ErrorKind::RateLimited => "Too many requests",
            ErrorKind::Internal => "Internal server error",
            ErrorKind::Unavailable => "Service unavailable",
        }
    }

    /// The kind a bare status maps to, for responses produced outside our handlers.
    pub fn from_status(status: u16) -> ErrorKind {
        ErrorKind::ALL
            .into_iter()
            .find(|kind| kind.status() == status)
            .unwrap_or(if status >= 500 {
                ErrorKind::Internal
            } else {
                ErrorKind::BadRequest
            })
    }
}

/// One field-level problem inside a `validation_failed` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_their_contract_strings() {
        for kind in ErrorKind::ALL {
            // These answer with another kind's code (and a status of their own).
            if matches!(kind, ErrorKind::MethodNotAllowed | ErrorKind::Unprocessable) {
                continue;
            }
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.code()));
        }
    }

    #[test]
    fn a_status_maps_back_to_its_first_kind() {
        assert_eq!(ErrorKind::from_status(404), ErrorKind::NotFound);
        assert_eq!(ErrorKind::from_status(401), ErrorKind::Unauthenticated);
        assert_eq!(ErrorKind::from_status(502), ErrorKind::Internal);
        assert_eq!(ErrorKind::from_status(418), ErrorKind::BadRequest);
    }
}
