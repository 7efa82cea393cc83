//! CORS for the partner API (`/api/v1`), from `ATTEST_ALLOWED_ORIGINS`.
//!
//! Only `/api/v1` answers cross-origin requests, and never with credentials:
//! a partner's page calls it with an API key, so cookies never ride along and
//! `*` (development only) stays safe. The console's own origin is always allowed,
//! so the console keeps working; any other origin is refused. The console's
//! pages and `/auth` send no CORS headers at all: they are same-origin only.

use actix_cors::Cors;
use actix_web::http::{header, Method};

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
