//! One span per request (request id, method, route template, status, latency),
//! the access log line, and the HTTP metrics (with the database statements the
//! request ran).

use std::time::Instant;

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    middleware::Next,
    web, HttpMessage as _,
};
use tracing::Instrument as _;

use super::request_id::RequestId;
use crate::telemetry::{counting_statements, HttpLabels, Metrics};

/// Route label for requests that matched no route, so junk paths share one series.
const UNMATCHED: &str = "unmatched";

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let method = req.method().to_string();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %method,
        route = tracing::field::Empty,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    );

    if let Some(m) = &metrics {
        m.in_flight.inc();
    }
    let (result, statements) = counting_statements(next.call(req).instrument(span.clone())).await;
    if let Some(m) = &metrics {
        m.in_flight.dec();
    }

    // An error here carries its rendered answer (a panic or a timeout, see `guard`).
    let (route, status) = match &result {
        Ok(res) => (
            res.request()
                .match_pattern()
                .unwrap_or_else(|| UNMATCHED.to_owned()),
            res.status().as_u16(),
        ),
        Err(err) => (
            UNMATCHED.to_owned(),
            err.as_response_error().status_code().as_u16(),
        ),
    };
    let elapsed = started.elapsed();
    span.record("route", route.as_str());
    span.record("status", status);
    span.record("latency_ms", elapsed.as_secs_f64() * 1000.0);
    span.in_scope(|| {
        if status >= 500 {
            tracing::error!("request completed");
        } else {
            tracing::info!("request completed");
        }
    });

    if let Some(m) = metrics {
        let labels = HttpLabels {
            method,
            route,
            status,
        };
        m.requests.get_or_create(&labels).inc();
        m.latency.get_or_create(&labels).observe(elapsed.as_secs_f64());
        m.request_statements
            .get_or_create(&labels)
            .observe(f64::from(statements));
    }
    result
}
