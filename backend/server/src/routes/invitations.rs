//! `/api/v1/orgs/{org}/invitations` and `POST /auth/invitations/accept`.

use actix_web::{web, HttpRequest, HttpResponse};
use attest_core::{tenancy::invitations, AppState};
use attest_shared::api::{AcceptInvitation, AcceptedInvitation, CreateInvitation, InvitationView, Page};
use chrono::Utc;
use uuid::Uuid;

use crate::{
    extract::{ApiJson, PageQuery},
    middleware::{caller::InOrg, session::origin},
    problem::ApiResult,
    views,
};

fn view(i: &attest_core::store::entities::invitations::Model) -> InvitationView {
    InvitationView {
        id: i.id,
        email: i.email.clone(),
        roles: invitations::roles_of(i),
        status: invitations::Status::of(i).as_str().to_owned(),
        created_at: i.created_at.with_timezone(&Utc),
        expires_at: i.expires_at.with_timezone(&Utc),
    }
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/invitations", tag = "invitations", summary = "The organization's invitations, newest first", params(PageQuery), responses((status = 200, body = Page<InvitationView>)))]
pub async fn list(
    org: InOrg,
    state: web::Data<AppState>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner().request()?;
    let invitations = invitations::list(&state, &org.scope, &page).await?;
    Ok(HttpResponse::Ok().json(invitations.map(|invitation| view(&invitation))))
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/invitations", tag = "invitations", summary = "Invite someone by email with roles", request_body = CreateInvitation, responses((status = 201, body = InvitationView)))]
pub async fn create(
    org: InOrg,
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<CreateInvitation>,
) -> ApiResult<HttpResponse> {
    let invitation = invitations::create(&state, &org.scope, &body.email, body.roles).await?;
    Ok(HttpResponse::Created().json(view(&invitation)))
}

#[utoipa::path(delete, path = "/api/v1/orgs/{org}/invitations/{id}", tag = "invitations", summary = "Revoke a pending invitation", responses((status = 204)))]
pub async fn revoke(
    org: InOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    invitations::revoke(&state, &org.scope, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/auth/invitations/accept", tag = "sign-in", summary = "Accept an invitation and join its organization", request_body = AcceptInvitation, responses((status = 200, body = AcceptedInvitation)))]
pub async fn accept(
    req: HttpRequest,
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<AcceptInvitation>,
) -> ApiResult<HttpResponse> {
    let origin = origin(&req);
    let accepted = invitations::accept(&state, &body.token, &body.name, body.password, &origin).await?;
    Ok(HttpResponse::Ok().json(AcceptedInvitation {
        org: views::org_ref(&accepted.org),
        user: views::user(&accepted.user),
    }))
}
