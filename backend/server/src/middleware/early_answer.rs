//! Answering from inside the middleware stack.
//!
//! Actix routes by mutating the request it owns, so no middleware may keep a copy
//! of it across the call, and an answer made below the outer middleware never
//! passes back through them. A middleware that answers on its own (a panic, a
//! timeout, a rate limit) therefore renders the complete response here — request
//! id and security headers included — and hands it up inside an error, which
//! actix sends as is.

use actix_web::{
    dev::ServiceRequest, error::InternalError, http::header::HeaderMap, web, HttpMessage as _,
    ResponseError as _,
};
use attest_core::AppError;

use super::{
    request_id,
    security_headers::{self, CspNonce, Hsts},
};
use crate::problem::ApiError;

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
