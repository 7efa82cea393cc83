//! `Idempotency-Key` on `POST /api/v1/…` (see [`attest_core::idempotency`]).
//!
//! The key is the client's: an API key's, or one browser session's. A request
//! without credentials is left alone (it is refused anyway). The request body is
//! read here to fingerprint it, then handed on unchanged; a successful answer is
//! kept and sent again, marked `Idempotency-Replayed: true`, for the same retry.

use actix_web::{
    body::{to_bytes, BoxBody, MessageBody},
    dev::{Payload, ServiceRequest, ServiceResponse},
    http::{header, Method, StatusCode},
    middleware::Next,
    web, HttpResponse,
};
use attest_core::{
    crypto::sha256_hex,
    idempotency::{self, Answer, Claim},
    AppError, AppState, ErrorKind,
};

use super::{api_key::KeyAuth, early_answer::EarlyAnswer, session::SessionCookie};
use crate::routes::API_V1;

pub const HEADER: &str = "idempotency-key";

/// Set in a response's extensions by handlers whose answer holds a secret:
/// it is never stored, and a retry is refused rather than replayed.
pub struct Withheld;

/// Marks `res` as holding a secret (see [`Withheld`]).
pub fn withhold(mut res: HttpResponse) -> HttpResponse {
    res.extensions_mut().insert(Withheld);
    res
}
pub const REPLAYED: &str = "idempotency-replayed";

/// Whose key space a request uses, if it carries credentials at all.
fn principal(req: &ServiceRequest) -> Option<String> {
    if let Some(KeyAuth::Live(key)) = KeyAuth::of(req.request()) {
        return Some(format!("api_key:{}", key.grant.key_id));
    }
    let token = req.app_data::<web::Data<SessionCookie>>()?.token(req.request())?;
    // A digest of the session token: the session's own key space, never the token.
    Some(format!("session:{}", &sha256_hex(token.as_bytes())[..48]))
}

pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let applies = req.method() == Method::POST && req.path().starts_with(API_V1);
    let key = req
        .headers()
        .get(HEADER)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let (Some(key), true, Some(principal)) = (key, applies, principal(&req)) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let answer = EarlyAnswer::of(&req);
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    if let Err(error) = idempotency::check_key(&key) {
        return Err(answer.error(error, |_| {}));
    }
    let body = match req.extract::<web::Bytes>().await {
        Ok(body) => body,
        Err(_) => {
            let error = AppError::new(ErrorKind::PayloadTooLarge, "the request body is too large");
            return Err(answer.error(error, |_| {}));
        }
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

    match idempotency::claim(&state, &principal, &key, &fingerprint).await {
        Err(error) => return Err(answer.error(error, |_| {})),
        Ok(Claim::Replay(stored)) => {
            let (request, _) = req.into_parts();
            return Ok(ServiceResponse::new(request, replay(stored)));
        }
        Ok(Claim::Run) => {}
    }

    let (_, mut payload) = actix_http::h1::Payload::create(true);
    payload.unread_data(body);
    req.set_payload(Payload::from(payload));
    let res = next.call(req).await;
    let res = match res {
        Ok(res) if res.status().is_success() => res,
        other => {
            // Not a success: the key is free for a corrected retry.
            if let Err(e) = idempotency::release(&state, &principal, &key).await {
                tracing::warn!(error = %e, "could not release an idempotency key");
            }
            return other.map(|res| res.map_into_boxed_body());
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
        body: (!withheld).then(|| bytes.to_vec()),
    };
    if let Err(e) = idempotency::complete(&state, &principal, &key, stored).await {
        tracing::warn!(error = %e, "could not keep an idempotent answer");
    }
    let mut rebuilt = HttpResponse::with_body(status, bytes).map_into_boxed_body();
    *rebuilt.headers_mut() = headers;
    Ok(ServiceResponse::new(request, rebuilt))
}

fn header_text(headers: &header::HeaderMap, name: header::HeaderName) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn replay(stored: Answer) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut res = HttpResponse::build(status);
    res.insert_header((REPLAYED, "true"))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(content_type) = stored.content_type {
        res.insert_header((header::CONTENT_TYPE, content_type));
    }
    if let Some(location) = stored.location {
        res.insert_header((header::LOCATION, location));
    }
    res.body(stored.body.unwrap_or_default())
}
