//! Probes: `/livez` (the process answers) and `/readyz` (it can do its job).

use std::time::Duration;

use actix_web::{web, HttpResponse};
use attest_core::{store::readiness, AppState, ErrorKind};
use serde_json::json;

use crate::problem::Problem;

/// How long a readiness check may take before it counts as failed.
const CHECK_BUDGET: Duration = Duration::from_secs(2);

#[utoipa::path(get, path = "/livez", tag = "health", summary = "The process answers (liveness probe)", responses((status = 200, body = Object, example = json!({"status": "ok"}))))]
pub async fn livez() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

#[utoipa::path(get, path = "/readyz", tag = "health", summary = "The server can do its job (readiness probe)", responses((status = 200, body = Object, example = json!({"status": "ready", "checks": {"database": "ok"}})), (status = 503, body = Problem, content_type = "application/problem+json")))]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let report = readiness::check(&state.db, CHECK_BUDGET).await;
    let checks: serde_json::Map<String, serde_json::Value> = report
        .checks
        .iter()
        .map(|(name, check)| {
            let value = match check {
                readiness::Check::Ok => "ok",
                readiness::Check::Failed(reason) => reason,
            };
            ((*name).to_owned(), json!(value))
        })
        .collect();
    if report.is_ready() {
        return HttpResponse::Ok().json(json!({ "status": "ready", "checks": checks }));
    }
    let failing: Vec<_> = report.failing().collect();
    let mut problem = Problem::new(
        ErrorKind::Unavailable,
        Some(format!("not ready: {}", failing.join(", "))),
    );
    problem.extra = Some(
        [("checks".to_owned(), serde_json::Value::Object(checks))]
            .into_iter()
            .collect(),
    );
    problem.response()
}
