//! Who a request says it is: an org API key (`Authorization: Bearer atk_…`), a
//! browser session (the session cookie), or nobody. Worked out once per request,
//! when first needed (by the rate limiter on `/api/*`, else by an extractor), and
//! kept on the request. CSRF is the extractors' part: it concerns one route.
//!
//! A key-shaped value in the query string is never accepted, whatever else the
//! request carries: query strings end up in logs and histories.

use std::sync::Arc;

use actix_web::{http::header, web, HttpMessage as _, HttpRequest};
use attest_core::{
    identity::{
        api_keys::{self, LiveKey},
        sessions::{self, LiveSession},
        verified::Epoch,
    },
    AppError, AppResult, AppState, ErrorKind,
};

use super::session::SessionCookie;

/// What a request presented, checked.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// Neither a session cookie nor an API key.
    Anonymous,
    /// A live session, verified under the epoch read for this request.
    Session(Arc<LiveSession>, Epoch),
    /// A live key that grants something now (see [`api_keys::authenticate`]).
    Key(Arc<LiveKey>, Epoch),
    Refused(Refusal),
}

/// Why presented credentials are not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A session cookie naming no live session.
    Session,
    /// A malformed, unknown, revoked or expired key, or one granting nothing.
    Key,
    /// A key in the query string.
    KeyInQuery,
    /// A session cookie and an `Authorization` header together.
    Both,
}

impl Refusal {
    pub fn error(self) -> AppError {
        match self {
            Refusal::Session => sign_in_first(),
            Refusal::Key => AppError::new(ErrorKind::Unauthenticated, "unknown, revoked or expired API key"),
            Refusal::KeyInQuery => AppError::new(
                ErrorKind::Unauthenticated,
                "API keys are accepted only in the Authorization header, never in a query string",
            ),
            Refusal::Both => AppError::new(
                ErrorKind::BadRequest,
                "send either the session cookie or an Authorization header, not both",
            ),
        }
    }
}

pub fn sign_in_first() -> AppError {
    AppError::new(ErrorKind::Unauthenticated, "sign in first")
}

impl Credentials {
    /// Whether the request presents any credential at all, known without a lookup.
    pub fn presented(req: &HttpRequest) -> bool {
        req.headers().contains_key(header::AUTHORIZATION)
            || key_in_query(req)
            || req
                .app_data::<web::Data<SessionCookie>>()
                .is_some_and(|cookie| cookie.token(req).is_some())
    }

    /// The request's credentials, looked up on first use.
    pub async fn of(req: &HttpRequest) -> AppResult<Credentials> {
        if let Some(known) = req.extensions().get::<Credentials>() {
            return Ok(known.clone());
        }
        let found = look_up(req).await?;
        req.extensions_mut().insert(found.clone());
        Ok(found)
    }
}

async fn look_up(req: &HttpRequest) -> AppResult<Credentials> {
    let (Some(state), Some(cookie)) = (
        req.app_data::<web::Data<AppState>>(),
        req.app_data::<web::Data<SessionCookie>>(),
    ) else {
        return Err(AppError::internal("credentials are not configured"));
    };
    if key_in_query(req) {
        return Ok(Credentials::Refused(Refusal::KeyInQuery));
    }
    let session_token = cookie.token(req);
    if session_token.is_some() && req.headers().contains_key(header::AUTHORIZATION) {
        return Ok(Credentials::Refused(Refusal::Both));
    }
    if let Some(key) = bearer_key(req) {
        // Read before verifying: what is verified now is remembered under it.
        let epoch = Epoch::current(state).await?;
        return Ok(match api_keys::authenticate(state, epoch, &key).await? {
            Some(live) => Credentials::Key(live, epoch),
            None => Credentials::Refused(Refusal::Key),
        });
    }
    let Some(token) = session_token else {
        return Ok(Credentials::Anonymous);
    };
    let epoch = Epoch::current(state).await?;
    Ok(match sessions::authenticate(state, epoch, &token).await? {
        Some(live) => Credentials::Session(live, epoch),
        None => Credentials::Refused(Refusal::Session),
    })
}

/// The token of an `Authorization: Bearer atk_…` header.
fn bearer_key(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && token.starts_with(api_keys::PREFIX)).then(|| token.to_owned())
}

fn key_in_query(req: &HttpRequest) -> bool {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .any(|(_, value)| api_keys::looks_like_key(&value))
}
