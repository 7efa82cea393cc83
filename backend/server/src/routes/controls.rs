//! `/api/v1/orgs/{org}/controls`: the org's controls.

use actix_web::{http::StatusCode, web, HttpResponse};
use attest_core::{compliance::controls, AppState};
use attest_shared::{
    api::Page,
    compliance::{ControlStatus, ControlView, CreateControl, UpdateControl},
};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    extract::{versioned, ApiJson, IfMatch, PageQuery},
    middleware::caller::InOrg,
    problem::ApiResult,
};

/// The list's filters (all of those sent must hold).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ControlFilter {
    status: Option<ControlStatus>,
    owner_id: Option<Uuid>,
    /// Controls mapped to a requirement of this framework.
    framework_id: Option<Uuid>,
    tag: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/controls", tag = "compliance", summary = "The org's controls, oldest first", params(PageQuery, ControlFilter), responses((status = 200, body = Page<ControlView>)))]
pub async fn list(
    org: InOrg,
    state: web::Data<AppState>,
    page: web::Query<PageQuery>,
    filter: web::Query<ControlFilter>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner().request()?;
    let filter = filter.into_inner();
    let filter = controls::Filter {
        status: filter.status,
        owner_id: filter.owner_id,
        framework_id: filter.framework_id,
        tag: filter.tag,
    };
    Ok(HttpResponse::Ok().json(controls::list(&state, &org.scope, &filter, &page).await?))
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/controls", tag = "compliance", summary = "Create a control (`not_applicable` needs a `justification`)", request_body = CreateControl, responses((status = 201, body = ControlView)))]
pub async fn create(
    org: InOrg,
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<CreateControl>,
) -> ApiResult<HttpResponse> {
    let control = controls::create(&state, &org.scope, &body).await?;
    Ok(versioned(StatusCode::CREATED, control.version, &control))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/controls/{id}", tag = "compliance", summary = "One control (ETag for If-Match)", responses((status = 200, body = ControlView)))]
pub async fn get(
    org: InOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<HttpResponse> {
    let control = controls::get(&state, &org.scope, path.1).await?;
    Ok(versioned(StatusCode::OK, control.version, &control))
}

#[utoipa::path(patch, path = "/api/v1/orgs/{org}/controls/{id}", tag = "compliance", summary = "Change a control: the members sent replace its own (`null` clears)", params(("If-Match" = String, Header, description = "the ETag read (or `*`): `428` without, `412` when stale")), request_body = UpdateControl, responses((status = 200, body = ControlView)))]
pub async fn update(
    org: InOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid)>,
    IfMatch(expected): IfMatch,
    ApiJson(body): ApiJson<UpdateControl>,
) -> ApiResult<HttpResponse> {
    let control = controls::update(&state, &org.scope, path.1, &body, expected).await?;
    Ok(versioned(StatusCode::OK, control.version, &control))
}

#[utoipa::path(delete, path = "/api/v1/orgs/{org}/controls/{id}", tag = "compliance", summary = "Delete a control (its evidence stays)", responses((status = 204)))]
pub async fn delete(
    org: InOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<HttpResponse> {
    controls::delete(&state, &org.scope, path.1).await?;
    Ok(HttpResponse::NoContent().finish())
}
