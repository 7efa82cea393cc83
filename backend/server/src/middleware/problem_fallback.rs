//! Error answers produced outside our handlers (actix's `405` on a known path, an
//! unread body, a `404` from a console route) carry actix's empty or plain-text
//! bodies. This turns every such error answer into problem+json, so clients meet
//! one error shape whoever produced it. HTML error pages are left alone.

use actix_web::{
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::header,
    middleware::Next,
};
use attest_core::ErrorKind;

use crate::problem::{self, Problem};

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let res = next.call(req).await?.map_into_boxed_body();
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) || is_rendered(&res) {
        return Ok(res);
    }
    let kind = ErrorKind::from_status(status.as_u16());
    Ok(res.map_body(|head, _| {
        let problem = Problem::new(kind, None);
        let rendered = problem.response();
        head.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static(problem::CONTENT_TYPE),
        );
        rendered.into_body()
    }))
}

/// Whether the body is already meant for its reader (problem+json, JSON or HTML).
fn is_rendered(res: &ServiceResponse<BoxBody>) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.starts_with(problem::CONTENT_TYPE)
                || ct.starts_with("application/json")
                || ct.starts_with("text/html")
        })
}
