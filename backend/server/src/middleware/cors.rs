//! CORS for the partner API (`/api/v1` and OFREP's `/ofrep/v1`), from
//! `ATTEST_ALLOWED_ORIGINS`.
//!
//! Only the partner API answers cross-origin requests, and never with credentials:
//! a partner's page calls it with an API key, so cookies never ride along and
//! `*` (development only) stays safe. The console's own origin is always allowed,
//! so the console keeps working; any other origin is refused. The console's
//! pages and `/auth` send no CORS headers at all: they are same-origin only.
//!
//! [`ApiOnly`] applies the policy around the rate limiter and everything inside
//! it, so its answers (`429`, idempotent replays, refused credentials, timeouts)
//! carry the CORS headers a partner's script needs to read them.

use std::rc::Rc;

use actix_cors::{Cors, CorsMiddleware};
use actix_web::{
    body::{EitherBody, MessageBody},
    dev::{Service, ServiceRequest, ServiceResponse, Transform},
    http::{header, Method},
    Error,
};
use futures_util::future::LocalBoxFuture;

use super::idempotency;

/// What a partner's script may send, beyond the CORS-safelisted headers.
const REQUEST_HEADERS: [&str; 5] = [
    "authorization",
    "content-type",
    "if-match",
    idempotency::HEADER,
    "x-request-id",
];

/// What a partner's script may read, beyond the CORS-safelisted headers.
const RESPONSE_HEADERS: [&str; 12] = [
    "etag",
    "location",
    "retry-after",
    "x-request-id",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "ratelimit",
    "ratelimit-policy",
    "deprecation",
    "sunset",
    idempotency::REPLAYED,
];

/// How long browsers may cache a preflight answer.
const PREFLIGHT_MAX_AGE_SECONDS: usize = 600;

/// The partner API's CORS policy: `allowed` origins (as configuration normalised
/// them, or `*`), plus the console's own.
pub fn partner_api(allowed: &[String], console_origin: &str) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allowed_headers(REQUEST_HEADERS.map(header::HeaderName::from_static))
        .expose_headers(RESPONSE_HEADERS.map(header::HeaderName::from_static))
        .max_age(PREFLIGHT_MAX_AGE_SECONDS);
    if allowed.iter().any(|o| o == "*") {
        return cors.allow_any_origin().send_wildcard();
    }
    for origin in allowed.iter().map(String::as_str).chain([console_origin]) {
        cors = cors.allowed_origin(origin);
    }
    cors
}

/// `Cors` for the partner API's requests only; others pass by untouched.
pub struct ApiOnly(pub Cors);

impl<S, B> Transform<S, ServiceRequest> for ApiOnly
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = ApiOnlyMiddleware<S>;
    type InitError = ();
    type Future = LocalBoxFuture<'static, Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let plain = Rc::new(service);
        let cors = self.0.new_transform(Rc::clone(&plain));
        Box::pin(async move {
            Ok(ApiOnlyMiddleware {
                cors: cors.await?,
                plain,
            })
        })
    }
}

pub struct ApiOnlyMiddleware<S> {
    cors: CorsMiddleware<Rc<S>>,
    plain: Rc<S>,
}

impl<S, B> Service<ServiceRequest> for ApiOnlyMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Error>>;

    actix_web::dev::forward_ready!(plain);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        if crate::routes::is_partner_api(req.path()) {
            return self.cors.call(req);
        }
        let plain = self.plain.call(req);
        Box::pin(async move { Ok(plain.await?.map_into_left_body()) })
    }
}
