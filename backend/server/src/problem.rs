//! RFC 9457 problem details: the one shape every HTTP error is answered in.

use actix_web::{
    http::{header, StatusCode},
    HttpResponse, ResponseError,
};
use attest_core::{AppError, ErrorKind};
use attest_shared::error::FieldError;
use serde::Serialize;

use crate::middleware::request_id;

pub const CONTENT_TYPE: &str = "application/problem+json";

/// A problem document. `extra` carries extension members (e.g. readiness checks,
/// the `permission` a `403` lacked).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    #[schema(example = "Forbidden")]
    pub title: &'static str,
    #[schema(example = 403)]
    pub status: u16,
    #[schema(example = "this needs the api_keys:manage permission")]
    pub detail: String,
    #[schema(value_type = ErrorKind, example = "forbidden")]
    pub code: &'static str,
    pub request_id: String,
    /// `validation_failed`: every offending field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(required = false)]
    pub errors: Vec<FieldError>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub extra: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Problem {
    pub fn new(kind: ErrorKind, detail: Option<String>) -> Self {
        Self {
            type_uri: format!("urn:attest:problem:{}", kind.code()),
            title: kind.title(),
            status: kind.status(),
            detail: detail.unwrap_or_else(|| kind.title().to_owned()),
            code: kind.code(),
            request_id: request_id::current().unwrap_or_default(),
            errors: Vec::new(),
            extra: None,
        }
    }

    pub fn response(&self) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, CONTENT_TYPE))
            .json(self)
    }
}

/// The HTTP face of [`AppError`]: handlers return `Result<_, ApiError>` and `?` on
/// anything that converts into an `AppError`.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(err: E) -> Self {
        ApiError(err.into())
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let err = &self.0;
        if err.kind.status() >= 500 {
            // The cause goes to the log only; the client gets the request id to quote.
            tracing::error!(code = err.kind.code(), error = ?err.cause().map(|c| c.to_string()), "request failed");
        }
        let detail = if err.kind == ErrorKind::Internal {
            None
        } else {
            err.detail.clone()
        };
        let mut problem = Problem::new(err.kind, detail);
        problem.errors = err.errors.clone();
        if !err.extensions.is_empty() {
            problem.extra = Some(err.extensions.clone());
        }
        problem.response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
