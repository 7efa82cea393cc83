//! `/api/v1/orgs/{org}/policies`: policies, their versions and acknowledgments.

use actix_web::{http::StatusCode, web, HttpResponse};
use attest_core::{compliance::policies, AppState};
use attest_shared::{
    api::Page,
    compliance::{
        Acknowledge, AcknowledgmentView, CreatePolicy, PolicyVersionView, PolicyView, UpdatePolicy,
    },
};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    extract::{versioned, ApiJson, IfMatch, PageQuery},
    middleware::caller::InOrg,
    problem::ApiResult,
};

/// `?version=` of the acknowledgments list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AcknowledgmentFilter {
    /// Only the acknowledgments of this version.
    version: Option<i32>,
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/policies", tag = "compliance", summary = "The org's policies", params(PageQuery), responses((status = 200, body = Page<PolicyView>)))]
pub async fn list(
    org: InOrg,
    state: web::Data<AppState>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner().request()?;
    Ok(HttpResponse::Ok().json(policies::list(&state, &org.scope, &page).await?))
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/policies", tag = "compliance", summary = "Create a policy (a draft until published)", request_body = CreatePolicy, responses((status = 201, body = PolicyView)))]
pub async fn create(
    org: InOrg,
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<CreatePolicy>,
) -> ApiResult<HttpResponse> {
    let policy = policies::create(&state, &org.scope, &body).await?;
    Ok(versioned(StatusCode::CREATED, policy.version, &policy))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/policies/{id}", tag = "compliance", summary = "One policy with its working text (ETag for If-Match)", responses((status = 200, body = PolicyView)))]
pub async fn get(
    org: InOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<HttpResponse> {
    let policy = policies::get(&state, &org.scope, path.1).await?;
    Ok(versioned(StatusCode::OK, policy.version, &policy))
}

#[utoipa::path(patch, path = "/api/v1/orgs/{org}/policies/{id}", tag = "compliance", summary = "Change the title or the working text", params(("If-Match" = String, Header, description = "the ETag read (or `*`): `428` without, `412` when stale")), request_body = UpdatePolicy, responses((status = 200, body = PolicyView)))]
pub async fn update(
    org: InOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid)>,
    IfMatch(expected): IfMatch,
    ApiJson(body): ApiJson<UpdatePolicy>,
) -> ApiResult<HttpResponse> {
    let policy = policies::update(&state, &org.scope, path.1, &body, expected).await?;
    Ok(versioned(StatusCode::OK, policy.version, &policy))
}

#[utoipa::path(delete, path = "/api/v1/orgs/{org}/policies/{id}", tag = "compliance", summary = "Delete a policy with its versions and acknowledgments", responses((status = 204)))]
pub async fn delete(
    org: InOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<HttpResponse> {
    policies::delete(&state, &org.scope, path.1).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/policies/{id}/publish", tag = "compliance", summary = "Approve the working text as the next version (frozen, read-only)", responses((status = 201, body = PolicyVersionView), (status = 409, description = "the text is already the current version")))]
pub async fn publish(
    org: InOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(policies::publish(&state, &org.scope, path.1).await?))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/policies/{id}/versions", tag = "compliance", summary = "The published versions, oldest first", params(PageQuery), responses((status = 200, body = Page<PolicyVersionView>)))]
pub async fn versions(
    org: InOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid)>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner().request()?;
    Ok(HttpResponse::Ok().json(policies::versions(&state, &org.scope, path.1, &page).await?))
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/policies/{id}/acknowledgments", tag = "compliance", summary = "Record that I read the current version (members only; API keys 403)", request_body = Acknowledge, responses((status = 201, body = AcknowledgmentView), (status = 409, description = "nothing is published yet")))]
pub async fn acknowledge(
    org: InOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid)>,
    ApiJson(_): ApiJson<Acknowledge>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(policies::acknowledge(&state, &org.scope, path.1).await?))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/policies/{id}/acknowledgments", tag = "compliance", summary = "Who acknowledged which version", params(PageQuery, AcknowledgmentFilter), responses((status = 200, body = Page<AcknowledgmentView>)))]
pub async fn acknowledgments(
    org: InOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid)>,
    page: web::Query<PageQuery>,
    filter: web::Query<AcknowledgmentFilter>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner().request()?;
    let listed = policies::acknowledgments(&state, &org.scope, path.1, filter.version, &page).await?;
    Ok(HttpResponse::Ok().json(listed))
}
