//! Organization SSO: the browser's way through the org's IdP (`/auth/sso/*`),
//! the IdP's back-channel logout, and the org admin's settings (`…/sso`).

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use attest_core::{
    identity::sso::{
        backchannel, domains, settings,
        signin::{self, Finished},
        Purpose, SsoFailure,
    },
    AppError, AppState, ErrorKind,
};
use attest_shared::api::{
    Page, PutSsoSettings, SsoDomain, SsoRealm, SsoSettings, SsoTestRequest, SsoTestResult, VerifySsoDomain,
};
use serde::Deserialize;

use crate::{
    extract::{etag, ApiJson, IfMatchWhenSent, PageQuery},
    middleware::{
        caller::InOrg,
        session::{origin, SessionCookie},
    },
    problem::{ApiError, ApiResult},
};

/// The pre-auth cookie: it names the sign-in flow and lives as long as it.
const FLOW_COOKIE: &str = "attest_sso";

/// Where a refused sign-in lands: the console's sign-in page says why.
const SIGN_IN_PAGE: &str = "/sign-in";
/// Where a refused link lands: the console's account page says why.
const ACCOUNT_PAGE: &str = "/account";

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StartQuery {
    email: Option<String>,
    org: Option<String>,
    return_to: Option<String>,
}

/// `GET /auth/sso/start?email=E|org=SLUG(&return_to=/path)`: `302` to the IdP,
/// with the pre-auth cookie that binds the flow to this browser.
#[utoipa::path(get, path = "/auth/sso/start", tag = "sign-in", summary = "Start SSO sign-in: redirects to the organization's IdP", params(StartQuery), responses((status = 302, description = "to the IdP")))]
pub async fn start(
    state: web::Data<AppState>,
    cookie: web::Data<SessionCookie>,
    query: web::Query<StartQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let realm = match (&query.email, &query.org) {
        (Some(email), None) => signin::Realm::Email(email),
        (None, Some(org)) => signin::Realm::Org(org),
        _ => {
            return Err(AppError::new(ErrorKind::BadRequest, "give either email or org").into());
        }
    };
    let started = signin::start(&state, realm, query.return_to.as_deref()).await?;
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, started.redirect))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(flow_cookie(&cookie, &started.cookie))
        .finish())
}

/// The pre-auth cookie of a flow just begun.
pub(crate) fn flow_cookie(cookie: &SessionCookie, value: &str) -> actix_web::cookie::Cookie<'static> {
    cookie.build(
        FLOW_COOKIE,
        value,
        i64::try_from(signin::FLOW_LIFETIME.as_secs()).unwrap_or(600),
    )
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RealmQuery {
    email: String,
}

/// `GET /auth/sso/realm?email=E`: `{"sso": true}` when the email's domain is
/// claimed by an org with SSO on (the console's email-first sign-in asks this).
#[utoipa::path(get, path = "/auth/sso/realm", tag = "sign-in", summary = "Whether an email signs in through its organization's SSO", params(RealmQuery), responses((status = 200, body = SsoRealm)))]
pub async fn realm(state: web::Data<AppState>, query: web::Query<RealmQuery>) -> ApiResult<HttpResponse> {
    let sso = signin::uses_sso(&state, &query.email).await?;
    Ok(HttpResponse::Ok().json(SsoRealm { sso }))
}

/// `GET /auth/sso/callback`: signs in and `302`s to `return_to` with a fresh
/// session cookie (or, for a link, back to `return_to` in the same session);
/// a refusal `302`s to the sign-in page with `sso_error` (the account page
/// with `link_error` for a link).
#[utoipa::path(get, path = "/auth/sso/callback", tag = "sign-in", summary = "Where the IdP sends the browser back", params(("code" = Option<String>, Query), ("state" = Option<String>, Query), ("iss" = Option<String>, Query), ("error" = Option<String>, Query)), responses((status = 302, description = "to `return_to` signed in, or to the sign-in page with `sso_error`")))]
pub async fn callback(
    req: HttpRequest,
    state: web::Data<AppState>,
    cookie: web::Data<SessionCookie>,
    query: web::Query<signin::Callback>,
) -> ApiResult<HttpResponse> {
    let flow = cookie.read(&req, FLOW_COOKIE);
    let session = cookie.session_token(&req);
    let browser = signin::Browser {
        flow_cookie: flow.as_deref(),
        session_token: session.as_deref(),
    };
    let outcome = signin::finish(&state, browser, query.into_inner(), &origin(&req)).await;
    let (location, session) = match outcome {
        Ok(Finished::SignedIn(signed_in)) => {
            (signed_in.return_to, Some(cookie.issue(&signed_in.session.token)))
        }
        // Linking keeps the session the flow began in.
        Ok(Finished::Linked { return_to }) => (return_to, None),
        Err(SsoFailure::Refused { reason, purpose }) => {
            let code = reason.code();
            let page = match purpose {
                Purpose::SignIn => format!("{SIGN_IN_PAGE}?sso_error={code}"),
                Purpose::Link => format!("{ACCOUNT_PAGE}?link_error={code}"),
            };
            (page, None)
        }
        Err(SsoFailure::Error(error)) => return Err(ApiError(error)),
    };
    let mut response = HttpResponse::Found();
    response
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(cookie.forget(FLOW_COOKIE));
    if let Some(session) = session {
        response.cookie(session);
    }
    Ok(response.finish())
}

/// The back-channel logout form (documentation only: the handler reads the raw
/// form, so a missing token is its own clear `400`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct LogoutForm {
    /// The IdP's signed logout token (a JWT).
    logout_token: String,
}

/// `POST /auth/sso/backchannel-logout` (form `logout_token`): `200` once the
/// sessions it names are revoked, `400` for an invalid token.
#[utoipa::path(post, path = "/auth/sso/backchannel-logout", tag = "sign-in", summary = "OIDC Back-Channel Logout: the IdP ends its sessions", request_body(content = LogoutForm, content_type = "application/x-www-form-urlencoded"), responses((status = 200)))]
pub async fn backchannel_logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let token = url::form_urlencoded::parse(&body)
        .find(|(name, _)| name == "logout_token")
        .map(|(_, value)| value.into_owned())
        .ok_or_else(|| AppError::new(ErrorKind::BadRequest, "the form has no logout_token"))?;
    backchannel::logout(&state, &token, &origin(&req)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

/// `GET /api/v1/orgs/{org}/sso`.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/sso", tag = "sso", summary = "The organization's SSO settings (never the client secret)", responses((status = 200, body = SsoSettings)))]
pub async fn get_settings(org: InOrg, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let settings = settings::get(&state, &org.scope).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(settings.version)))
        .json(settings))
}

/// `PUT /api/v1/orgs/{org}/sso`.
#[utoipa::path(put, path = "/api/v1/orgs/{org}/sso", tag = "sso", summary = "Replace the SSO settings (discovery is checked first)", params(("If-Match" = Option<String>, Header, description = "the ETag read (or `*`), honoured when sent: a stale one is `412`")), request_body = PutSsoSettings, responses((status = 200, body = SsoSettings)))]
pub async fn put_settings(
    org: InOrg,
    state: web::Data<AppState>,
    IfMatchWhenSent(expected): IfMatchWhenSent,
    ApiJson(body): ApiJson<PutSsoSettings>,
) -> ApiResult<HttpResponse> {
    let settings = settings::put(&state, &org.scope, body, expected).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(settings.version)))
        .json(settings))
}

/// `POST /api/v1/orgs/{org}/sso/test`: fetches an issuer's discovery document
/// ("test connection"); saves nothing.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/sso/test", tag = "sso", summary = "Test an issuer's discovery document; saves nothing", request_body = SsoTestRequest, responses((status = 200, body = SsoTestResult)))]
pub async fn test_connection(
    org: InOrg,
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<SsoTestRequest>,
) -> ApiResult<HttpResponse> {
    let result = match settings::test(&state, &org.scope, &body.issuer).await? {
        Ok(endpoint) => SsoTestResult {
            ok: true,
            authorization_endpoint: Some(endpoint),
            error: None,
        },
        Err(error) => SsoTestResult {
            ok: false,
            authorization_endpoint: None,
            error: Some(error),
        },
    };
    Ok(HttpResponse::Ok().json(result))
}

/// `GET /api/v1/orgs/{org}/sso/domains`: every claimed domain, its state and
/// the TXT record that proves it.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/sso/domains", tag = "sso", summary = "The organization's SSO email domains and how to prove them, by name", params(PageQuery), responses((status = 200, body = Page<SsoDomain>)))]
pub async fn list_domains(
    org: InOrg,
    state: web::Data<AppState>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner().request()?;
    Ok(HttpResponse::Ok().json(domains::list(&state, &org.scope, &page).await?))
}

/// `POST /api/v1/orgs/{org}/sso/domains/{domain}/verify`: `200` with the
/// verified domain; `422` saying what the lookup found instead.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/sso/domains/{domain}/verify", tag = "sso", summary = "Prove a domain: its TXT record (dns), or an operator's word (operator)", request_body = VerifySsoDomain, responses((status = 200, body = SsoDomain), (status = 422, description = "the challenge record was not found", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn verify_domain(
    org: InOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    ApiJson(body): ApiJson<VerifySsoDomain>,
) -> ApiResult<HttpResponse> {
    let (_, domain) = path.into_inner();
    let method = domains::Method::parse(&body.method)?;
    let verified = domains::verify(&state, &org.scope, &domain, method).await?;
    Ok(HttpResponse::Ok().json(verified))
}
