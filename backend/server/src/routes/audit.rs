//! `/api/v1/orgs/{org}/audit-events`: the org's audit trail, read-only.

use actix_web::{web, HttpResponse};
use attest_core::{audit::query, AppState};
use attest_shared::api::Page;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use crate::{middleware::session::InOrg, problem::ApiResult};

/// CONTRACT.md: default 50, at most 200 (larger asks get 200).
const DEFAULT_LIMIT: u64 = 50;
const MAX_LIMIT: u64 = 200;

#[derive(Deserialize)]
pub struct ListQuery {
    action: Option<String>,
    actor_id: Option<Uuid>,
    target_id: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    cursor: Option<String>,
    limit: Option<u64>,
}

pub async fn list(
    org: InOrg,
    state: web::Data<AppState>,
    params: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let params = params.into_inner();
    let filter = query::Filter {
        action: params.action,
        actor_id: params.actor_id,
        target_id: params.target_id,
        since: params.since,
        until: params.until,
    };
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let (items, next_cursor) =
        query::list(&state, &org.scope, &filter, params.cursor.as_deref(), limit).await?;
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

pub async fn verify(org: InOrg, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let verification = query::verify(&state, &org.scope).await?;
    Ok(HttpResponse::Ok().json(verification.report()))
}
