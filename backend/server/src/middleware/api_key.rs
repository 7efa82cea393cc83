//! API keys on the HTTP side. A key presented as `Authorization: Bearer atk_…`
//! is checked once, here, before the rate limiter (which counts per key) and the
//! extractors (which answer `401` for a refused key). A key-shaped value in the
//! query string is never accepted: query strings end up in logs and histories.

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header,
    middleware::Next,
    web, HttpMessage as _, HttpRequest,
};
use attest_core::{
    identity::api_keys::{self, LiveKey},
    AppState,
};

use super::early_answer::EarlyAnswer;

/// What the request presented as an API key.
#[derive(Debug, Clone)]
pub enum KeyAuth {
    Live(Box<LiveKey>),
    /// Malformed, unknown, revoked or expired.
    Refused,
    /// A key in the query string: refused whatever it is.
    InQuery,
}

impl KeyAuth {
    pub fn of(req: &HttpRequest) -> Option<KeyAuth> {
        req.extensions().get::<KeyAuth>().cloned()
    }
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

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let auth = if key_in_query(req.request()) {
        Some(KeyAuth::InQuery)
    } else if let Some(token) = bearer_key(req.request()) {
        let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
            return next.call(req).await;
        };
        match api_keys::authenticate(&state, &token).await {
            Ok(Some(key)) => Some(KeyAuth::Live(Box::new(key))),
            Ok(None) => Some(KeyAuth::Refused),
            Err(error) => return Err(EarlyAnswer::of(&req).error(error, |_| {})),
        }
    } else {
        None
    };
    if let Some(auth) = auth {
        req.extensions_mut().insert(auth);
    }
    next.call(req).await
}
