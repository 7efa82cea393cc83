//! `/api/v1/orgs`.

use actix_web::{web, HttpResponse};
use attest_core::{authz, tenancy::orgs, AppState};
use attest_shared::api::{CreateOrg, Page};

use crate::{extract::ApiJson, middleware::session::SignedIn, problem::ApiResult, views};

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
    Ok(HttpResponse::Ok().json(views::org(scope.org())))
}
