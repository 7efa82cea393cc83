//! `/api/v1/orgs/{org}/api-keys`: the org's API keys.

use actix_web::{web, HttpResponse};
use attest_core::{
    identity::api_keys::{self, NewKey},
    AppState,
};
use attest_shared::api::{ApiKeyView, CreateApiKey, CreatedApiKey, Page, RotateApiKey};
use uuid::Uuid;

use crate::{
    extract::{ApiJson, PageQuery},
    middleware::{caller::InOrg, idempotency},
    problem::ApiResult,
    views,
};

/// `201` with the key itself: the one time it is shown (never replayed).
fn created(made: NewKey) -> HttpResponse {
    idempotency::withhold(HttpResponse::Created().json(CreatedApiKey {
        view: views::api_key(&made.model),
        key: made.key,
    }))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/api-keys", tag = "api keys", summary = "The organization's API keys (never their secrets), newest first", params(PageQuery), responses((status = 200, body = Page<ApiKeyView>)))]
pub async fn list(
    org: InOrg,
    state: web::Data<AppState>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner().request()?;
    let keys = api_keys::list(&state, &org.scope, &page).await?;
    Ok(HttpResponse::Ok().json(keys.map(|key| views::api_key(&key))))
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/api-keys", tag = "api keys", summary = "Create an API key: the answer holds the key, shown this once", request_body = CreateApiKey, responses((status = 201, body = CreatedApiKey)))]
pub async fn create(
    org: InOrg,
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<CreateApiKey>,
) -> ApiResult<HttpResponse> {
    let made = api_keys::create(&state, &org.scope, &body.name, &body.permissions, body.expires_at).await?;
    Ok(created(made))
}

#[utoipa::path(delete, path = "/api/v1/orgs/{org}/api-keys/{id}", tag = "api keys", summary = "Revoke an API key", responses((status = 204)))]
pub async fn revoke(
    org: InOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    api_keys::revoke(&state, &org.scope, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/api-keys/{id}/rotate", tag = "api keys", summary = "Replace an API key; the old one works for `grace_seconds` more", request_body = RotateApiKey, responses((status = 201, body = CreatedApiKey)))]
pub async fn rotate(
    org: InOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid)>,
    ApiJson(body): ApiJson<RotateApiKey>,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    let made = api_keys::rotate(&state, &org.scope, id, body.grace_seconds).await?;
    Ok(created(made))
}
