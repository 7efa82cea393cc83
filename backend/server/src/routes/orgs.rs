//! `/api/v1/orgs`.

use actix_web::{http::header, web, HttpResponse};
use attest_core::{authz, tenancy::orgs, AppState};
use attest_shared::api::{CreateOrg, Page, UpdateOrg};

use crate::{
    extract::{etag, ApiJson, IfMatch},
    middleware::session::SignedIn,
    problem::ApiResult,
    views,
};

pub async fn list(signed_in: SignedIn, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let items = orgs::list_visible(&state, &signed_in.actor)
        .await?
        .iter()
        .map(views::org)
        .collect();
    Ok(HttpResponse::Ok().json(Page::all(items)))
}

pub async fn create(
    signed_in: SignedIn,
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<CreateOrg>,
) -> ApiResult<HttpResponse> {
    let org = orgs::create(&state, &signed_in.actor, &body.slug, &body.name).await?;
    Ok(HttpResponse::Created().json(views::org(&org)))
}

pub async fn get(
    signed_in: SignedIn,
    state: web::Data<AppState>,
    org: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let scope = authz::scope(&state, &signed_in.actor, &org).await?;
    Ok(versioned(scope.org()))
}

fn versioned(org: &attest_core::store::entities::orgs::Model) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag(org.version)))
        .json(views::org(org))
}

/// `PATCH /api/v1/orgs/{org}`: rename, with `If-Match`.
pub async fn update(
    signed_in: SignedIn,
    state: web::Data<AppState>,
    org: web::Path<String>,
    IfMatch(expected): IfMatch,
    ApiJson(body): ApiJson<UpdateOrg>,
) -> ApiResult<HttpResponse> {
    let scope = authz::scope(&state, &signed_in.actor, &org).await?;
    let org = orgs::rename(&state, &scope, &body.name, expected).await?;
    Ok(versioned(&org))
}

/// `DELETE /api/v1/orgs/{org}`: soft delete (purged after a grace period).
pub async fn delete(
    signed_in: SignedIn,
    state: web::Data<AppState>,
    org: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let scope = authz::scope(&state, &signed_in.actor, &org).await?;
    orgs::delete(&state, &scope).await?;
    Ok(HttpResponse::NoContent().finish())
}
