//! `Idempotency-Key` on `POST /api/v1/…` (see [`attest_core::idempotency`]),
//! wrapped around each such route.
//!
//! The key belongs to the caller: an API key, or one browser session. The caller
//! is authenticated and authorized first, as the route's [`Access`] says (a live
//! session with its CSRF token or a live key, holding the route's permission
//! now), so nothing is claimed or replayed for a request its route would refuse. The
//! request body is read here to fingerprint it, then handed on unchanged; a
//! successful answer is kept and sent again, marked `Idempotency-Replayed: true`,
//! for the same retry. Route-level headers (`Deprecation`, `Sunset`) are added
//! outside this middleware, so replays carry them as they stand.

use std::time::Duration;

use actix_web::{
    body::{to_bytes, BoxBody, MessageBody},
    dev::{Payload, ServiceRequest, ServiceResponse},
    error::PayloadError,
    http::{header, StatusCode},
    middleware::Next,
    web, FromRequest as _, HttpResponse,
};
use attest_core::{
    actor::Credential,
    crypto::sha256_hex,
    idempotency::{self, Answer, Claim},
    tenancy::orgs,
    Actor, AppError, AppResult, AppState, ErrorKind,
};

use super::{
    caller::{self, InKeyOrg, InOrg},
    early_answer::answer,
    guard::RequestTimeout,
    session,
};
use crate::routes::Access;

pub const HEADER: &str = "idempotency-key";
/// Marks a replayed answer.
pub const REPLAYED: &str = "idempotency-replayed";

/// Set in a response's extensions by handlers whose answer holds a secret:
/// it is never stored, and a retry is refused rather than replayed.
pub struct Withheld;

/// Marks `res` as holding a secret (see [`Withheld`]).
pub fn withhold(mut res: HttpResponse) -> HttpResponse {
    res.extensions_mut().insert(Withheld);
    res
}

/// The middleware for a route requiring `access`.
pub async fn middleware(
    access: Access,
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(key) = req
        .headers()
        .get(HEADER)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let (Some(state), Some(timeout)) = (
        req.app_data::<web::Data<AppState>>().cloned(),
        req.app_data::<web::Data<RequestTimeout>>().map(|t| t.0),
    ) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let principal = match admit(req.request(), access).await {
        // Whose key space this is; a session's id, never its token.
        Ok(Some(actor)) => match actor.credential {
            Credential::ApiKey(grant) => format!("api_key:{}", grant.key_id),
            Credential::Session { session_id, .. } => format!("session:{session_id}"),
        },
        // Nobody to hold a key: the route is public.
        Ok(None) => return Ok(next.call(req).await?.map_into_boxed_body()),
        Err(error) => return Ok(answer(req, error, |_| {})),
    };
    if let Err(error) = idempotency::check_key(&key) {
        return Ok(answer(req, error, |_| {}));
    }
    let body = match req.extract::<web::Bytes>().await {
        Ok(body) => body,
        Err(error) => return Ok(answer(req, unreadable(&error), |_| {})),
    };
    let fingerprint = sha256_hex(
        &[
            req.method().as_str().as_bytes(),
            b" ",
            req.uri().to_string().as_bytes(),
            b"\n",
            &body,
        ]
        .concat(),
    );
    let held = match idempotency::claim(&state, &principal, &key, &fingerprint, timeout).await {
        Err(error) => return Ok(answer(req, error, |_| {})),
        Ok(Claim::Replay(stored)) => return Ok(req.into_response(replay(stored))),
        Ok(Claim::Run(held)) => held,
    };

    let (_, mut payload) = actix_http::h1::Payload::create(true);
    payload.unread_data(body);
    req.set_payload(Payload::from(payload));
    let res = match next.call(req).await {
        Ok(res) if res.status().is_success() => res,
        other => {
            // Not a success: the key is free for a corrected retry.
            if let Err(e) = idempotency::release(&state, &held).await {
                tracing::warn!(error = %e, "could not release an idempotency key");
            }
            return other.map(ServiceResponse::map_into_boxed_body);
        }
    };
    let (request, response) = res.into_parts();
    let status = response.status();
    let headers = response.headers().clone();
    let withheld = response.extensions().get::<Withheld>().is_some();
    let bytes = to_bytes(response.into_body())
        .await
        .map_err(|_| actix_web::error::ErrorInternalServerError("response body"))?;
    let stored = Answer {
        status: status.as_u16(),
        content_type: header_text(&headers, header::CONTENT_TYPE),
        location: header_text(&headers, header::LOCATION),
        etag: header_text(&headers, header::ETAG),
        body: (!withheld).then(|| bytes.to_vec()),
    };
    keep(&state, &held, stored).await;
    let mut rebuilt = HttpResponse::with_body(status, bytes).map_into_boxed_body();
    *rebuilt.headers_mut() = headers;
    Ok(ServiceResponse::new(request, rebuilt))
}

/// The caller, once the checks the route's handler starts with have passed: the
/// same extractors, the same errors (and a refused permission is audited alike).
async fn admit(req: &actix_web::HttpRequest, access: Access) -> AppResult<Option<Actor>> {
    let actor = match access {
        Access::Public | Access::MetricsToken => return Ok(None),
        Access::Caller => caller::authenticate(req).await?.actor,
        Access::SignedIn => session::authenticate(req).await?.actor,
        Access::Operator => {
            let actor = session::authenticate(req).await?.actor;
            orgs::require_operator(&actor)?;
            actor
        }
        Access::Org(permission) => {
            let org = InOrg::extract(req).await.map_err(|e| e.0)?;
            org.scope.require(permission)?;
            org.caller.actor
        }
        Access::Key(permission) => {
            let InKeyOrg(org) = InKeyOrg::extract(req).await.map_err(|e| e.0)?;
            org.scope.require(permission)?;
            org.caller.actor
        }
    };
    Ok(Some(actor))
}

/// Keeps a success's answer, trying a few times: the request has acted, so the
/// caller gets its success whatever happens here. Were the answer lost, a retry
/// would be told the request is still running until the claim runs out, and then
/// run again; answering `5xx` instead would only make that retry certain.
async fn keep(state: &AppState, held: &idempotency::Held, answer: Answer) {
    const ATTEMPTS: u32 = 3;
    for attempt in 1..=ATTEMPTS {
        match idempotency::complete(state, held, &answer).await {
            Ok(kept) => {
                // After a failed attempt, the write may have landed all the same.
                if !kept && attempt == 1 {
                    tracing::warn!("an idempotency claim ran out before its request answered");
                }
                return;
            }
            Err(e) if attempt == ATTEMPTS => {
                tracing::error!(error = %e, "could not keep an idempotent answer");
            }
            Err(e) => {
                tracing::warn!(error = %e, attempt, "keeping an idempotent answer failed; retrying");
                tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
            }
        }
    }
}

/// Why a body could not be read: too large, or cut off / malformed.
fn unreadable(error: &actix_web::Error) -> AppError {
    match error.as_error::<PayloadError>() {
        Some(PayloadError::Overflow) => {
            AppError::new(ErrorKind::PayloadTooLarge, "the request body is too large")
        }
        _ => AppError::new(ErrorKind::BadRequest, "the request body could not be read"),
    }
}

fn header_text(headers: &header::HeaderMap, name: header::HeaderName) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn replay(stored: Answer) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut res = HttpResponse::build(status);
    res.insert_header((REPLAYED, "true"))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    for (name, value) in [
        (header::CONTENT_TYPE, stored.content_type),
        (header::LOCATION, stored.location),
        (header::ETAG, stored.etag),
    ] {
        if let Some(value) = value {
            res.insert_header((name, value));
        }
    }
    res.body(stored.body.unwrap_or_default())
}
