//! `/metrics`: Prometheus (OpenMetrics) text, behind a bearer token when configured.

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use attest_core::{AppError, AppState, ErrorKind};

use crate::{
    problem::{ApiError, ApiResult},
    telemetry::{Metrics, PoolLabels},
};

/// The configured scrape token, if any.
#[derive(Clone)]
pub struct MetricsToken(pub Option<String>);

#[utoipa::path(get, path = "/metrics", tag = "health", summary = "Prometheus metrics", responses((status = 200, body = String, content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8")))]
pub async fn metrics(
    req: HttpRequest,
    metrics: web::Data<Metrics>,
    token: web::Data<MetricsToken>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    if let Some(expected) = &token.0 {
        let presented = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !attest_core::crypto::constant_time_eq(presented.as_bytes(), expected.as_bytes()) {
            return Err(ApiError(AppError::new(
                ErrorKind::Unauthenticated,
                "a valid metrics token is required",
            )));
        }
    }
    record_pool(&metrics, &state);
    let text = metrics.encode().map_err(AppError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(text))
}

fn record_pool(metrics: &Metrics, state: &AppState) {
    let (size, idle, max) = attest_core::store::pool_stats(&state.db);
    metrics
        .db_connections
        .get_or_create(&PoolLabels { state: "idle" })
        .set(i64::from(idle));
    metrics
        .db_connections
        .get_or_create(&PoolLabels { state: "in_use" })
        .set(i64::from(size.saturating_sub(idle)));
    metrics.db_max_connections.set(i64::from(max));
}
