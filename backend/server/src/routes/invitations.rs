//! `/api/v1/orgs/{org}/invitations` and `POST /auth/invitations/accept`.

use actix_web::{web, HttpRequest, HttpResponse};
use attest_core::{tenancy::invitations, AppState, ErrorKind};
use attest_shared::api::{AcceptInvitation, AcceptedInvitation, CreateInvitation, InvitationView, Page};
use chrono::Utc;
use uuid::Uuid;

use crate::{
    extract::{ApiJson, JsonOrForm, PageQuery},
    middleware::{caller::InOrg, session::origin},
    problem::ApiResult,
    routes::see_other,
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

/// `POST /auth/invitations/accept`. The console's form (JavaScript off) goes
/// back to its page: welcomed (`?joined=1`), or with what was wrong.
#[utoipa::path(post, path = "/auth/invitations/accept", tag = "sign-in", summary = "Accept an invitation and join its organization", request_body = AcceptInvitation, responses((status = 200, body = AcceptedInvitation)))]
pub async fn accept(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonOrForm<AcceptInvitation>,
) -> ApiResult<HttpResponse> {
    let origin = origin(&req);
    let body = match body {
        JsonOrForm::Json(body) => {
            let accepted =
                invitations::accept(&state, &body.token, &body.name, body.password, &origin).await?;
            return Ok(HttpResponse::Ok().json(AcceptedInvitation {
                org: views::org_ref(&accepted.org),
                user: views::user(&accepted.user),
            }));
        }
        JsonOrForm::Form(body) => body,
    };
    // A form sends its empty password field too (an existing account needs none).
    let password = body.password.filter(|p| !p.is_empty());
    let location = match invitations::accept(&state, &body.token, &body.name, password, &origin).await {
        // The page says only "joined": a link cannot make it name an org.
        Ok(_) => format!("{ACCEPT_PAGE}?joined=1"),
        Err(error) => {
            let problem = match error.kind {
                ErrorKind::BadRequest => "invalid",
                ErrorKind::ValidationFailed => match error.errors.first().map(|e| e.field.as_str()) {
                    Some("name") => "name",
                    _ => "password",
                },
                _ => return Err(error.into()),
            };
            let token: String = url::form_urlencoded::byte_serialize(body.token.as_bytes()).collect();
            format!("{ACCEPT_PAGE}?token={token}&error={problem}")
        }
    };
    Ok(see_other(&location))
}

/// The console's page an invitation mail links to.
const ACCEPT_PAGE: &str = "/invitations/accept";
