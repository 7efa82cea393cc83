//! `/api/v1/orgs/{org}/flags`: managing an org's feature flags.

use actix_web::{web, HttpResponse};
use attest_core::{flags, AppState};
use attest_shared::{
    api::Page,
    flags::{CreateFlag, FlagView, UpdateFlag},
};
use serde::Deserialize;

use crate::{
    extract::{versioned, ApiJson, IfMatch, PageQuery},
    middleware::caller::InOrg,
    problem::ApiResult,
};

/// `?search=` of the flags list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FlagSearch {
    /// Keeps the flags whose key contains this text (any case).
    search: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/flags", tag = "flags", summary = "The org's feature flags, by key", params(PageQuery, FlagSearch), responses((status = 200, body = Page<FlagView>)))]
pub async fn list(
    org: InOrg,
    state: web::Data<AppState>,
    page: web::Query<PageQuery>,
    search: web::Query<FlagSearch>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner().request()?;
    let flags = flags::list(&state, &org.scope, &page, search.search.as_deref()).await?;
    Ok(HttpResponse::Ok().json(flags))
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/flags", tag = "flags", summary = "Create a flag (`{\"key\":\"k\",\"enabled\":true}` is a boolean flag)", request_body = CreateFlag, responses((status = 201, body = FlagView), (status = 409, description = "a flag with this key exists")))]
pub async fn create(
    org: InOrg,
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<CreateFlag>,
) -> ApiResult<HttpResponse> {
    let flag = flags::create(&state, &org.scope, &body).await?;
    Ok(versioned(
        actix_web::http::StatusCode::CREATED,
        flag.version,
        &flag,
    ))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/flags/{key}", tag = "flags", summary = "One flag (ETag for If-Match)", responses((status = 200, body = FlagView)))]
pub async fn get(
    org: InOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let flag = flags::get(&state, &org.scope, &path.1).await?;
    Ok(versioned(actix_web::http::StatusCode::OK, flag.version, &flag))
}

#[utoipa::path(patch, path = "/api/v1/orgs/{org}/flags/{key}", tag = "flags", summary = "Change a flag: the members sent replace the flag's", params(("If-Match" = String, Header, description = "the ETag read (or `*`): `428` without, `412` when stale")), request_body = UpdateFlag, responses((status = 200, body = FlagView)))]
pub async fn update(
    org: InOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    IfMatch(expected): IfMatch,
    ApiJson(body): ApiJson<UpdateFlag>,
) -> ApiResult<HttpResponse> {
    let flag = flags::update(&state, &org.scope, &path.1, &body, expected).await?;
    Ok(versioned(actix_web::http::StatusCode::OK, flag.version, &flag))
}

#[utoipa::path(delete, path = "/api/v1/orgs/{org}/flags/{key}", tag = "flags", summary = "Delete a flag", responses((status = 204)))]
pub async fn delete(
    org: InOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    flags::delete(&state, &org.scope, &path.1).await?;
    Ok(HttpResponse::NoContent().finish())
}
