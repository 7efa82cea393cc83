//! Field checks that collect every problem of a request before refusing it
//! (`400 validation_failed` naming each field).

use attest_shared::error::FieldError;

use crate::{AppError, AppResult};

/// A problem with one field.
pub fn problem(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// `400 validation_failed` for one field.
pub fn invalid(field: &str, message: impl Into<String>) -> AppError {
    AppError::validation(vec![problem(field, message)])
}

/// A required, trimmed text of at most `max` characters.
pub fn text(field: &str, value: &str, max: usize, errors: &mut Vec<FieldError>) -> String {
    let value = value.trim();
    if value.is_empty() {
        errors.push(FieldError {
            field: field.to_owned(),
            message: "must not be empty".into(),
        });
    } else if value.chars().count() > max {
        errors.push(FieldError {
            field: field.to_owned(),
            message: format!("must be at most {max} characters"),
        });
    }
    value.to_owned()
}

/// An optional text: empty means none.
pub fn optional_text(
    field: &str,
    value: Option<&str>,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let value = value.map(str::trim).filter(|v| !v.is_empty())?;
    Some(text(field, value, max, errors))
}

pub fn finish(errors: Vec<FieldError>) -> AppResult<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::validation(errors))
    }
}
