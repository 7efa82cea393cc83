//! Answering from inside the middleware stack.
//!
//! A middleware that refuses a request it still holds (a rate limit, a replayed
//! or conflicting `Idempotency-Key`) answers with [`answer`]: an ordinary
//! response, to which the outer middleware add their headers (CORS, security,
//! request id) as to any other.
//!
//! One that answers after handing the request on (a panic, a timeout) no longer
//! has it: actix routes by mutating the request it owns, so no middleware may
//! keep a copy across the call. [`EarlyAnswer`] renders that response complete —
//! request id and security headers included — and hands it up inside an error,
//! which actix sends as is.

use actix_web::{
    body::BoxBody,
    dev::{ServiceRequest, ServiceResponse},
    error::InternalError,
    http::header::HeaderMap,
    web, HttpMessage as _, ResponseError as _,
};
use attest_core::AppError;

use super::{
    request_id,
    security_headers::{self, CspNonce, Hsts},
};
use crate::problem::ApiError;

/// The problem answer for `error` to a request not handed on; `headers` adds the
/// caller's own. The error stays on the response, for outer middleware that read
/// it (a refused permission is audited from it).
pub fn answer(
    req: ServiceRequest,
    error: AppError,
    headers: impl FnOnce(&mut HeaderMap),
) -> ServiceResponse<BoxBody> {
    let mut response = req.error_response(ApiError(error));
    headers(response.headers_mut());
    response
}

/// What is needed to finish a response, taken before the request moves on.
pub struct EarlyAnswer {
    nonce: String,
    hsts: bool,
}

impl EarlyAnswer {
    pub fn of(req: &ServiceRequest) -> Self {
        Self {
            nonce: req
                .extensions()
                .get::<CspNonce>()
                .map(|n| n.0.clone())
                .unwrap_or_default(),
            hsts: req.app_data::<web::Data<Hsts>>().is_some_and(|h| h.0),
        }
    }

    /// The problem answer for `error`, complete; `headers` adds the caller's own.
    pub fn error(self, error: AppError, headers: impl FnOnce(&mut HeaderMap)) -> actix_web::Error {
        let code = error.kind.code();
        let mut response = ApiError(error).error_response();
        headers(response.headers_mut());
        security_headers::apply(response.headers_mut(), &self.nonce, self.hsts);
        request_id::stamp(response.headers_mut());
        InternalError::from_response(code, response).into()
    }
}
