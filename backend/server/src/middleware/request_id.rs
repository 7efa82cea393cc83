//! `X-Request-Id`: a client's own id is kept when acceptable, else one is generated.
//! The id is available to everything that runs for the request through [`current`].

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header::{HeaderMap, HeaderName, HeaderValue},
    middleware::Next,
    HttpMessage as _,
};

pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being handled, also stored in its extensions.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

tokio::task_local! {
    static CURRENT: RequestId;
}

/// The id of the request whose task is running, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(|id| id.0.clone()).ok()
}

/// Puts the current request's id on a response.
pub fn stamp(headers: &mut HeaderMap) {
    if let Some(value) = current().and_then(|id| HeaderValue::from_str(&id).ok()) {
        headers.insert(HEADER, value);
    }
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(&HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| attest_shared::request_id::is_acceptable(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));

    CURRENT
        .scope(RequestId(id), async move {
            // Errors from below already carry a complete response (see `guard`);
            // holding a clone of the request here would break actix's routing.
            let mut res = next.call(req).await?;
            stamp(res.headers_mut());
            Ok(res)
        })
        .await
}
