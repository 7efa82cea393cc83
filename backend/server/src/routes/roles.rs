//! `/api/v1/orgs/{org}/roles` and members' role assignments.

use actix_web::{http::header, web, HttpResponse};
use attest_core::{authz::roles, AppState};
use attest_shared::api::{AssignedRoles, CreateRole, MemberRoles, Page, ReplaceRole, RoleView};
use chrono::Utc;
use uuid::Uuid;

use crate::{
    extract::{etag, ApiJson, IfMatchWhenSent, PageQuery},
    middleware::caller::InOrg,
    problem::ApiResult,
};

fn view(role: roles::RoleDef) -> RoleView {
    RoleView {
        name: role.name,
        permissions: role.permissions,
        builtin: role.builtin,
        version: role.version,
    }
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/roles", tag = "roles", summary = "Built-in roles, then custom roles by name", params(PageQuery), responses((status = 200, body = Page<RoleView>)))]
pub async fn list(
    org: InOrg,
    state: web::Data<AppState>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner().request()?;
    Ok(HttpResponse::Ok().json(roles::list(&state, &org.scope, &page).await?.map(view)))
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/roles", tag = "roles", summary = "Create a custom role", request_body = CreateRole, responses((status = 201, body = RoleView)))]
pub async fn create(
    org: InOrg,
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<CreateRole>,
) -> ApiResult<HttpResponse> {
    let role = roles::create(&state, &org.scope, &body.name, &body.permissions).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::ETAG, etag(role.version)))
        .json(view(role)))
}

#[utoipa::path(put, path = "/api/v1/orgs/{org}/roles/{name}", tag = "roles", summary = "Replace a custom role's permissions", params(("If-Match" = Option<String>, Header, description = "the ETag read (or `*`), honoured when sent: a stale one is `412`")), request_body = ReplaceRole, responses((status = 200, body = RoleView)))]
pub async fn replace(
    org: InOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    IfMatchWhenSent(expected): IfMatchWhenSent,
    ApiJson(body): ApiJson<ReplaceRole>,
) -> ApiResult<HttpResponse> {
    let (_, name) = path.into_inner();
    let role = roles::replace(&state, &org.scope, &name, &body.permissions, expected).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(role.version)))
        .json(view(role)))
}

#[utoipa::path(delete, path = "/api/v1/orgs/{org}/roles/{name}", tag = "roles", summary = "Delete a custom role", responses((status = 204)))]
pub async fn delete(
    org: InOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (_, name) = path.into_inner();
    roles::delete(&state, &org.scope, &name).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(put, path = "/api/v1/orgs/{org}/members/{user_id}/roles", tag = "members", summary = "Replace a member's roles", params(("If-Match" = Option<String>, Header, description = "the ETag read (or `*`), honoured when sent: a stale one is `412`")), request_body = MemberRoles, responses((status = 200, body = AssignedRoles)))]
pub async fn set_member_roles(
    org: InOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid)>,
    IfMatchWhenSent(expected): IfMatchWhenSent,
    ApiJson(body): ApiJson<MemberRoles>,
) -> ApiResult<HttpResponse> {
    let (_, user_id) = path.into_inner();
    let expires_at = body.expires_at.map(|t| t.fixed_offset());
    let assigned =
        roles::set_member_roles(&state, &org.scope, user_id, &body.roles, expires_at, expected).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(assigned.version)))
        .json(AssignedRoles {
            roles: assigned.roles,
            expires_at: assigned.expires_at.map(|t| t.with_timezone(&Utc)),
            version: assigned.version,
        }))
}
