//! Browser sign-in (`/auth`).

use actix_web::HttpResponse;
use attest_core::{AppError, ErrorKind};
use serde::Deserialize;

use crate::{extract::ApiJson, problem::ApiResult};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // read by the identity service ([F2])
pub struct LoginRequest {
    email: String,
    password: String,
    totp: Option<String>,
}

/// `POST /auth/login`. Accounts arrive with the identity service ([F2]); until
/// then no credentials can match, and every attempt is `401 invalid_credentials`.
pub async fn login(ApiJson(_request): ApiJson<LoginRequest>) -> ApiResult<HttpResponse> {
    Err(AppError::new(ErrorKind::InvalidCredentials, "the email or password is wrong").into())
}
