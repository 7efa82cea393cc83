//! Browser sign-in (`/auth`).

use actix_web::{web, HttpRequest, HttpResponse};
use attest_core::{
    identity::{
        login::{self, Credentials},
        password_reset, sessions,
        sso::signin,
    },
    AppError, AppState, ErrorKind,
};
use attest_shared::api::{
    LoginRequest, LoginResponse, PasswordResetConfirm, PasswordResetRequest, SessionStatus,
};

use crate::{
    extract::JsonOrForm,
    middleware::session::{check_same_origin, origin, SessionCookie, SignedIn},
    problem::ApiResult,
    routes::see_other,
    views,
};

/// `POST /auth/login`: a fresh session (and cookie) on success; one identical
/// `401 invalid_credentials` for every failure. The console's sign-in form
/// (JavaScript off) is answered with a redirect: on to the dashboard, to the
/// org's IdP for an email that signs in with SSO, or back with what was wrong.
#[utoipa::path(post, path = "/auth/login", tag = "sign-in", summary = "Sign in with email and password (and TOTP when on)", request_body = LoginRequest, responses((status = 200, body = LoginResponse)))]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    cookie: web::Data<SessionCookie>,
    body: JsonOrForm<LoginRequest>,
) -> ApiResult<HttpResponse> {
    // A cross-site page must not sign a victim into the attacker's account.
    check_same_origin(&req, &cookie)?;
    let (body, is_form) = match body {
        JsonOrForm::Json(body) => (body, false),
        JsonOrForm::Form(body) => (body, true),
    };
    if is_form && signin::uses_sso(&state, &body.email).await? {
        let email: String = url::form_urlencoded::byte_serialize(body.email.as_bytes()).collect();
        return Ok(see_other(&format!(
            "/auth/sso/start?email={email}&return_to=%2Fdashboard"
        )));
    }
    let credentials = Credentials {
        email: body.email,
        password: body.password,
        // A form sends its empty code field too.
        totp: body.totp.filter(|code| !code.is_empty()),
    };
    let (user, new_session) = match login::login(&state, credentials, &origin(&req)).await {
        Ok(signed_in) => signed_in,
        Err(error) if is_form => return sign_in_page_with(error),
        Err(error) => return Err(error.into()),
    };
    let mut response = if is_form {
        see_other("/dashboard")
    } else {
        HttpResponse::Ok().json(LoginResponse {
            user: views::user(&user),
            csrf_token: sessions::csrf_token(&state, new_session.session.id),
        })
    };
    response
        .add_cookie(&cookie.issue(&new_session.token))
        .map_err(|e| AppError::internal(format!("the session cookie could not be set: {e}")))?;
    Ok(response)
}

/// Back to the sign-in page, saying (without telling which part was wrong)
/// what a refused form sign-in needs next.
fn sign_in_page_with(error: AppError) -> ApiResult<HttpResponse> {
    let code = match error.kind {
        ErrorKind::InvalidCredentials if error.extensions.contains_key("totp_required") => "totp",
        ErrorKind::InvalidCredentials => "credentials",
        ErrorKind::RateLimited => "busy",
        _ => return Err(error.into()),
    };
    Ok(see_other(&format!("/sign-in?error={code}")))
}

/// `POST /auth/logout`: revokes the session and clears the cookie.
#[utoipa::path(post, path = "/auth/logout", tag = "sign-in", summary = "Sign out: the session is revoked", responses((status = 204)))]
pub async fn logout(
    signed_in: SignedIn,
    state: web::Data<AppState>,
    cookie: web::Data<SessionCookie>,
) -> ApiResult<HttpResponse> {
    sessions::sign_out(&state, &signed_in.actor, signed_in.session.session.clone()).await?;
    Ok(HttpResponse::NoContent().cookie(cookie.clear()).finish())
}

/// `GET /auth/session`: who is signed in, their CSRF token and when the session ends.
#[utoipa::path(get, path = "/auth/session", tag = "sign-in", summary = "The signed-in user, CSRF token and session end", responses((status = 200, body = SessionStatus)))]
pub async fn session(signed_in: SignedIn, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(views::session_status(&state, &signed_in.session)))
}

/// The console's page for both steps of a reset (it works without JavaScript:
/// its forms post here and are answered with a redirect back to it).
const RESET_PAGE: &str = "/password-reset";

/// `POST /auth/password-reset`: `202`, whatever the address; the link, when
/// the account exists and may use a password, is mailed afterwards. A console
/// form is sent back to the page (`?sent=1`).
#[utoipa::path(post, path = "/auth/password-reset", tag = "sign-in", summary = "Ask for a password reset link (the same answer for any address)", request_body = PasswordResetRequest, responses((status = 202)))]
pub async fn password_reset(
    req: HttpRequest,
    state: web::Data<AppState>,
    cookie: web::Data<SessionCookie>,
    body: JsonOrForm<PasswordResetRequest>,
) -> ApiResult<HttpResponse> {
    // A form any site could post: only this console's pages may.
    check_same_origin(&req, &cookie)?;
    match body {
        JsonOrForm::Json(body) => {
            password_reset::request(&state, &body.email, &origin(&req))?;
            Ok(HttpResponse::Accepted().finish())
        }
        JsonOrForm::Form(body) => Ok({
            match password_reset::request(&state, &body.email, &origin(&req)) {
                Ok(()) => see_other(&format!("{RESET_PAGE}?sent=1")),
                Err(error) if error.kind != ErrorKind::ValidationFailed => return Err(error.into()),
                Err(_) => see_other(&format!("{RESET_PAGE}?error=email")),
            }
        }),
    }
}

/// `POST /auth/password-reset/confirm`: `204` once the password is set and
/// every session revoked; `400` for a used, expired or unknown token. A
/// console form goes on to the sign-in page, or back with what was wrong.
#[utoipa::path(post, path = "/auth/password-reset/confirm", tag = "sign-in", summary = "Set a new password with a mailed reset token (every session ends)", request_body = PasswordResetConfirm, responses((status = 204), (status = 400, description = "the token is unknown, used or expired, or the password too weak", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn password_reset_confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    cookie: web::Data<SessionCookie>,
    body: JsonOrForm<PasswordResetConfirm>,
) -> ApiResult<HttpResponse> {
    check_same_origin(&req, &cookie)?;
    match body {
        JsonOrForm::Json(body) => {
            password_reset::confirm(&state, &body.token, body.password, &origin(&req)).await?;
            Ok(HttpResponse::NoContent().finish())
        }
        JsonOrForm::Form(body) => {
            let token = body.token.clone();
            Ok(
                match password_reset::confirm(&state, &body.token, body.password, &origin(&req)).await {
                    Ok(()) => see_other("/sign-in?reset=1"),
                    Err(error) if error.kind != ErrorKind::ValidationFailed => return Err(error.into()),
                    Err(error) => {
                        // Which field was wrong: the link itself, or the new password.
                        let field = error.errors.first().map_or("token", |e| e.field.as_str());
                        let code = if field == "password" { "weak" } else { "token" };
                        let token: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
                        see_other(&format!("{RESET_PAGE}?token={token}&error={code}"))
                    }
                },
            )
        }
    }
}
