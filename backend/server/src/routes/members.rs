//! `/api/v1/orgs/{org}/members` and the org's sessions.

use actix_web::{web, HttpResponse};
use attest_core::{identity::sessions, tenancy::members, AppState};
use attest_shared::api::{MemberView, OrgSessionView, Page};
use uuid::Uuid;

use crate::{extract::PageQuery, middleware::caller::InOrg, problem::ApiResult, views};

#[utoipa::path(get, path = "/api/v1/orgs/{org}/members", tag = "members", summary = "The organization's members", params(PageQuery), responses((status = 200, body = Page<MemberView>)))]
pub async fn list(
    org: InOrg,
    state: web::Data<AppState>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner().request()?;
    let members = members::list(&state, &org.scope, &page).await?;
    Ok(HttpResponse::Ok().json(&*members))
}

#[utoipa::path(delete, path = "/api/v1/orgs/{org}/members/{user_id}", tag = "members", summary = "Remove a member (their sessions end)", responses((status = 204)))]
pub async fn remove(
    org: InOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (_, user_id) = path.into_inner();
    members::remove(&state, &org.scope, user_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/sessions", tag = "sessions", summary = "The live sessions of the organization's members, newest first", params(PageQuery), responses((status = 200, body = Page<OrgSessionView>)))]
pub async fn list_sessions(
    org: InOrg,
    state: web::Data<AppState>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner().request()?;
    let current = org.caller.session.as_ref().map(|s| s.session.id);
    let idle = state.config.session_idle;
    let sessions = sessions::list_for_org(&state, &org.scope, &page)
        .await?
        .map(|(s, user)| {
            let expires = sessions::ends_at(&s, idle);
            OrgSessionView {
                session: views::session(&s, expires, Some(s.id) == current),
                user_id: user.id,
                email: user.email,
            }
        });
    Ok(HttpResponse::Ok().json(sessions))
}

#[utoipa::path(delete, path = "/api/v1/orgs/{org}/sessions/{id}", tag = "sessions", summary = "Revoke a member's session", responses((status = 204)))]
pub async fn revoke_session(
    org: InOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (_, session_id) = path.into_inner();
    sessions::revoke_in_org(&state, &org.scope, session_id).await?;
    Ok(HttpResponse::NoContent().finish())
}
