//! `/api/v1/orgs`.

use actix_web::{http::header, web, HttpResponse};
use attest_core::{tenancy::orgs, AppState};
use attest_shared::api::{CreateOrg, OrgView, Page, UpdateOrg};

use crate::{
    extract::{etag, ApiJson, IfMatch, PageQuery},
    middleware::{
        caller::{Caller, InOrg},
        session::SignedIn,
    },
    problem::ApiResult,
    views,
};

#[utoipa::path(get, path = "/api/v1/orgs", tag = "organizations", summary = "The organizations I can see, by slug", params(PageQuery), responses((status = 200, body = Page<OrgView>)))]
pub async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner().request()?;
    let orgs = orgs::list_visible(&state, &caller.actor, &page).await?;
    Ok(HttpResponse::Ok().json(orgs.map(|org| views::org(&org))))
}

#[utoipa::path(post, path = "/api/v1/orgs", tag = "organizations", summary = "Create an organization (operators; the creator becomes its owner)", request_body = CreateOrg, responses((status = 201, body = OrgView)))]
pub async fn create(
    signed_in: SignedIn,
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<CreateOrg>,
) -> ApiResult<HttpResponse> {
    let org = orgs::create(&state, &signed_in.actor, &body.slug, &body.name).await?;
    Ok(HttpResponse::Created().json(views::org(&org)))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}", tag = "organizations", summary = "One organization (ETag for If-Match)", responses((status = 200, body = OrgView)))]
pub async fn get(org: InOrg) -> ApiResult<HttpResponse> {
    Ok(versioned(org.scope.org()))
}

fn versioned(org: &attest_core::store::entities::orgs::Model) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag(org.version)))
        .json(views::org(org))
}

/// `PATCH /api/v1/orgs/{org}`: rename, with `If-Match`.
#[utoipa::path(patch, path = "/api/v1/orgs/{org}", tag = "organizations", summary = "Rename the organization (If-Match required)", params(("If-Match" = String, Header, description = "the ETag read (or `*`): required; a stale one is `412`")), request_body = UpdateOrg, responses((status = 200, body = OrgView)))]
pub async fn update(
    org: InOrg,
    state: web::Data<AppState>,
    IfMatch(expected): IfMatch,
    ApiJson(body): ApiJson<UpdateOrg>,
) -> ApiResult<HttpResponse> {
    let org = orgs::rename(&state, &org.scope, &body.name, expected).await?;
    Ok(versioned(&org))
}

/// `DELETE /api/v1/orgs/{org}`: soft delete (purged after a grace period).
#[utoipa::path(delete, path = "/api/v1/orgs/{org}", tag = "organizations", summary = "Delete the organization (purged after a grace period)", responses((status = 204)))]
pub async fn delete(org: InOrg, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    orgs::delete(&state, &org.scope).await?;
    Ok(HttpResponse::NoContent().finish())
}
