//! `/api/v1/me`: the caller, their memberships, sessions, password, second
//! factor and linked identities.

use actix_web::{web, HttpResponse};
use attest_core::{
    authz,
    identity::{password_change, sessions, sso::linking, totp},
    privacy,
    tenancy::orgs,
    AppState, ErrorKind,
};
use attest_shared::api::{
    ChangePassword, LinkIdentity, LinkStarted, LinkedIdentity, Me, MembershipView, Page, RecoveryCodes,
    SessionView, TotpCode, TotpEnrolment,
};
use uuid::Uuid;

use crate::{
    extract::{ApiJson, JsonOrForm, PageQuery},
    middleware::{
        caller::Caller,
        idempotency,
        session::{SessionCookie, SignedIn, SignedInBody},
    },
    problem::ApiResult,
    routes::see_other,
    views,
};

/// A person sees their memberships; an API key its org, with what it may do there.
#[utoipa::path(get, path = "/api/v1/me", tag = "me", summary = "Who is calling: a person and their memberships, or an API key and its organization", responses((status = 200, body = Me)))]
pub async fn me(caller: Caller, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    if let Some(key) = caller.actor.key() {
        let scope = authz::scope(&state, &caller.actor, &key.org_id.to_string()).await?;
        let org = views::org_ref(scope.org());
        return Ok(HttpResponse::Ok().json(Me {
            kind: "api_key".into(),
            user: None,
            org: Some(org.clone()),
            memberships: vec![MembershipView {
                org,
                roles: vec![],
                permissions: scope.permissions().iter().collect(),
            }],
        }));
    }
    let mut memberships = Vec::new();
    for (org, roles) in orgs::memberships_of(&state, caller.actor.user_id()).await? {
        let permissions = authz::granted(&state, caller.actor.user_id(), &org).await?;
        memberships.push(MembershipView {
            org: views::org_ref(&org),
            roles,
            permissions: permissions.iter().collect(),
        });
    }
    Ok(HttpResponse::Ok().json(Me {
        kind: "user".into(),
        user: Some(views::user(&caller.actor.user)),
        org: None,
        memberships,
    }))
}

#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "me", summary = "My live sessions, newest first", params(PageQuery), responses((status = 200, body = Page<SessionView>)))]
pub async fn list_sessions(
    signed_in: SignedIn,
    state: web::Data<AppState>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner().request()?;
    let current = signed_in.session.session.id;
    let idle = state.config.session_idle;
    let sessions = sessions::list_live(&state, signed_in.actor.user_id(), &page)
        .await?
        .map(|s| {
            let expires = sessions::ends_at(&s, idle);
            views::session(&s, expires, s.id == current)
        });
    Ok(HttpResponse::Ok().json(sessions))
}

#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "me", summary = "Revoke one of my sessions", responses((status = 204)))]
pub async fn revoke_session(
    signed_in: SignedIn,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    sessions::revoke_own(&state, &signed_in.actor, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/me/totp`: starts TOTP enrolment.
#[utoipa::path(post, path = "/api/v1/me/totp", tag = "me", summary = "Start two-factor enrolment", responses((status = 200, body = TotpEnrolment)))]
pub async fn totp_begin(signed_in: SignedIn, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let enrolment = totp::begin(&state, &signed_in.actor).await?;
    Ok(idempotency::withhold(HttpResponse::Ok().json(TotpEnrolment {
        otpauth_uri: enrolment.otpauth_uri,
        secret: enrolment.secret,
    })))
}

/// `POST /api/v1/me/totp/confirm`: switches TOTP on; answers the recovery codes once.
#[utoipa::path(post, path = "/api/v1/me/totp/confirm", tag = "me", summary = "Switch two-factor sign-in on (answers the recovery codes once)", request_body = TotpCode, responses((status = 200, body = RecoveryCodes)))]
pub async fn totp_confirm(
    signed_in: SignedIn,
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<TotpCode>,
) -> ApiResult<HttpResponse> {
    let recovery_codes = totp::confirm(&state, &signed_in.actor, &body.code).await?;
    Ok(idempotency::withhold(
        HttpResponse::Ok().json(RecoveryCodes { recovery_codes }),
    ))
}

/// `POST /api/v1/me/totp/disable`: switches TOTP off with a current or recovery code.
#[utoipa::path(post, path = "/api/v1/me/totp/disable", tag = "me", summary = "Switch two-factor sign-in off", request_body = TotpCode, responses((status = 204)))]
pub async fn totp_disable(
    signed_in: SignedIn,
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<TotpCode>,
) -> ApiResult<HttpResponse> {
    totp::disable(&state, &signed_in.actor, &body.code).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/me/password`: `204`; every other session is revoked. The
/// account page's form (JavaScript off) goes back to it with the outcome.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "me", summary = "Change my password (my other sessions end)", request_body = ChangePassword, responses((status = 204), (status = 401, description = "`current` is wrong", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn change_password(
    request: SignedInBody<ChangePassword>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let SignedInBody { signed_in, body } = request;
    match body {
        JsonOrForm::Json(body) => {
            password_change::change(&state, &signed_in.actor, body.current, body.new).await?;
            Ok(HttpResponse::NoContent().finish())
        }
        JsonOrForm::Form(body) => {
            let outcome =
                match password_change::change(&state, &signed_in.actor, body.current, body.new).await {
                    Ok(()) => "password=changed",
                    Err(error) if error.kind == ErrorKind::InvalidCredentials => "password_error=current",
                    Err(error) if error.kind == ErrorKind::ValidationFailed => "password_error=weak",
                    Err(error) => return Err(error.into()),
                };
            Ok(see_other(&format!("{ACCOUNT_PAGE}?{outcome}")))
        }
    }
}

/// The console's account page, where its forms send the browser back.
const ACCOUNT_PAGE: &str = "/account";

/// `GET /api/v1/me/identities`.
#[utoipa::path(get, path = "/api/v1/me/identities", tag = "me", summary = "The SSO identities linked to my account", params(PageQuery), responses((status = 200, body = Page<LinkedIdentity>)))]
pub async fn list_identities(
    signed_in: SignedIn,
    state: web::Data<AppState>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner().request()?;
    let linked = linking::list(&state, signed_in.actor.user_id(), &page).await?;
    let identities = linked.map(|(identity, org)| views::linked_identity(&identity, &org));
    Ok(HttpResponse::Ok().json(identities))
}

/// `POST /api/v1/me/identities`: proves the account, then answers where to
/// send the browser (with the flow's cookie) to sign in at the org's IdP; the
/// callback links the identity and returns to `return_to`.
#[utoipa::path(post, path = "/api/v1/me/identities", tag = "me", summary = "Link an organization's SSO identity to my account (my current credentials first)", request_body = LinkIdentity, responses((status = 200, body = LinkStarted), (status = 401, description = "the credentials are wrong", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn link_identity(
    signed_in: SignedIn,
    state: web::Data<AppState>,
    cookie: web::Data<SessionCookie>,
    ApiJson(body): ApiJson<LinkIdentity>,
) -> ApiResult<HttpResponse> {
    let started = linking::start(&state, &signed_in.actor, &signed_in.session.session, body).await?;
    let response = HttpResponse::Ok()
        .cookie(super::sso::flow_cookie(&cookie, &started.cookie))
        .json(LinkStarted {
            redirect: started.redirect,
        });
    Ok(idempotency::withhold(response))
}

/// `DELETE /api/v1/me/identities/{slug}`: `204`; the sessions the identity
/// opened end.
#[utoipa::path(delete, path = "/api/v1/me/identities/{slug}", tag = "me", summary = "Unlink my identity at an organization's IdP (the sessions it opened end)", params(("slug" = String, Path, description = "the slug of the org whose IdP the identity is at")), responses((status = 204), (status = 404, description = "no identity of that org's IdP is linked", body = crate::problem::Problem, content_type = "application/problem+json"), (status = 409, description = "it is the only way this password-less account signs in", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn unlink_identity(
    signed_in: SignedIn,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> ApiResult<HttpResponse> {
    linking::unlink(&state, &signed_in.actor, &slug).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/v1/me/export`: the export's own part first, then its audit
/// events a page at a time, so a long trail never sits in memory whole.
#[utoipa::path(get, path = "/api/v1/me/export", tag = "me", summary = "Everything Attest holds about me, as one JSON document (streamed)", responses((status = 200, body = attest_shared::privacy::PersonalData)))]
pub async fn export(signed_in: SignedIn, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let held = privacy::export::holdings(&state, &signed_in.actor).await?;
    let head = views::personal_data(&state, &held, signed_in.session.session.id);
    let mut opening = serde_json::to_vec(&head).map_err(attest_core::AppError::internal)?;
    // `audit_events` is the last member, serialized empty: open it instead.
    let closing = br#"[]}"#;
    if !opening.ends_with(closing) {
        return Err(
            attest_core::AppError::internal("the export's audit events are not its last member").into(),
        );
    }
    opening.truncate(opening.len() - closing.len());
    opening.push(b'[');
    let pages = events_stream(state.into_inner(), held.user.id, opening);
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"attest-personal-data.json\"",
        ))
        .streaming(pages))
}

/// The export's bytes: `opening`, then every audit event, then the close.
fn events_stream(
    state: std::sync::Arc<AppState>,
    user_id: Uuid,
    opening: Vec<u8>,
) -> impl futures_util::Stream<Item = Result<web::Bytes, actix_web::Error>> {
    enum Next {
        Opening(Vec<u8>),
        Events { after: Option<Uuid>, first: bool },
        Done,
    }
    futures_util::stream::unfold(Next::Opening(opening), move |next| {
        let state = state.clone();
        async move {
            match next {
                Next::Opening(bytes) => Some((
                    Ok(web::Bytes::from(bytes)),
                    Next::Events {
                        after: None,
                        first: true,
                    },
                )),
                Next::Events { after, first } => {
                    let page = match privacy::export::events_after(&state, user_id, after).await {
                        Ok(page) => page,
                        // Headers are gone: all that is left is to cut the body short.
                        Err(e) => {
                            return Some((
                                Err(actix_web::error::ErrorInternalServerError(e.kind.title())),
                                Next::Done,
                            ))
                        }
                    };
                    if page.is_empty() {
                        return Some((Ok(web::Bytes::from_static(b"]}")), Next::Done));
                    }
                    let mut chunk = Vec::new();
                    for (n, event) in page.iter().enumerate() {
                        if !(first && n == 0) {
                            chunk.push(b',');
                        }
                        if serde_json::to_writer(&mut chunk, event).is_err() {
                            return Some((
                                Err(actix_web::error::ErrorInternalServerError("export")),
                                Next::Done,
                            ));
                        }
                    }
                    let after = page.last().map(|e| e.id);
                    Some((Ok(web::Bytes::from(chunk)), Next::Events { after, first: false }))
                }
                Next::Done => None,
            }
        }
    })
}
