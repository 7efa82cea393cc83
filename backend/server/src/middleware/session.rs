//! Browser sessions on the HTTP side: the session cookie, and the [`SignedIn`]
//! extractor that turns it into an [`Actor`], enforcing CSRF on unsafe methods.

use std::{future::Future, pin::Pin, sync::Arc};

use actix_web::{
    cookie::{time::Duration as CookieDuration, Cookie, SameSite},
    dev::Payload,
    http::{header, Method},
    web, FromRequest, HttpRequest,
};
use attest_core::{
    actor::{Credential, Origin},
    identity::sessions::{self, LiveSession},
    Actor, AppError, AppState, ErrorKind,
};
use serde::de::DeserializeOwned;

use super::{
    client_ip::client_ip,
    credentials::{sign_in_first, Credentials},
};
use crate::{
    extract::{is_form, take_form_field, unreadable_form, ApiJson, JsonOrForm},
    problem::ApiError,
};

pub const CSRF_HEADER: &str = "x-csrf-token";

/// How Attest's cookies are named and flagged: `attest_session` in development;
/// `__Host-attest_session` with `Secure` in production (and the same for the
/// SSO pre-auth cookie).
#[derive(Clone, Debug)]
pub struct SessionCookie {
    pub secure: bool,
    pub max_age_seconds: i64,
    /// The console's own origin (`ATTEST_PUBLIC_URL`), for the same-origin check.
    pub origin: String,
}

const SESSION: &str = "attest_session";

impl SessionCookie {
    /// The cookie `base` as this deployment names it.
    fn name(&self, base: &str) -> String {
        if self.secure {
            format!("__Host-{base}")
        } else {
            base.to_owned()
        }
    }

    /// An HttpOnly, `SameSite=Lax`, whole-site cookie `base` holding `value`:
    /// Lax, so a top-level navigation back from an IdP carries it.
    pub fn build(&self, base: &str, value: &str, max_age_seconds: i64) -> Cookie<'static> {
        Cookie::build(self.name(base), value.to_owned())
            .path("/")
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .max_age(CookieDuration::seconds(max_age_seconds))
            .finish()
    }

    /// A cookie that makes the browser forget the cookie `base`.
    pub fn forget(&self, base: &str) -> Cookie<'static> {
        let mut cookie = self.build(base, "", 0);
        cookie.make_removal();
        cookie
    }

    /// The value of the cookie `base`, when sent and not empty.
    pub fn read(&self, req: &HttpRequest, base: &str) -> Option<String> {
        req.cookie(&self.name(base))
            .map(|c| c.value().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// The session token this browser sent, if any.
    pub fn session_token(&self, req: &HttpRequest) -> Option<String> {
        self.read(req, SESSION)
    }

    /// The cookie carrying a new session's token.
    pub fn issue(&self, token: &str) -> Cookie<'static> {
        self.build(SESSION, token, self.max_age_seconds)
    }

    /// A cookie that makes the browser forget the session.
    pub fn clear(&self) -> Cookie<'static> {
        self.forget(SESSION)
    }

    pub fn token(&self, req: &HttpRequest) -> Option<String> {
        self.read(req, SESSION)
    }
}

/// Where a request comes from, for new sessions and the audit trail.
pub fn origin(req: &HttpRequest) -> Origin {
    Origin::new(
        super::request_id::current(),
        client_ip(req).map(|ip| ip.to_string()),
        req.headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
    )
}

/// Browsers say where a request comes from; a cross-site one is refused, with
/// a problem saying which origin was expected and which came. Clients that send
/// neither header (scripts, curl) are not browsers and cannot be forged into
/// sending our cookie, and they still need the CSRF token.
pub fn check_same_origin(req: &HttpRequest, cookie: &SessionCookie) -> Result<(), AppError> {
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let sent = origin.to_str().unwrap_or("(not text)");
        // Development: a browser on http://localhost:8080 uses the server at http://127.0.0.1:8080.
        if sent == cookie.origin || (!cookie.secure && loopback_aliases(sent, &cookie.origin)) {
            return Ok(());
        }
        let sent: String = sent.chars().take(200).collect();
        return Err(AppError::new(
            ErrorKind::Forbidden,
            format!(
                "cross-origin request refused: this server's origin is {} (ATTEST_PUBLIC_URL), the request came from {sent}",
                cookie.origin
            ),
        ));
    }
    match req.headers().get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(site) if site != "same-origin" && site != "none" => Err(AppError::new(
            ErrorKind::Forbidden,
            format!("cross-site request refused (Sec-Fetch-Site: {site})"),
        )),
        _ => Ok(()),
    }
}

/// [`check_same_origin`] for a console form. Only a browser posts one, and a
/// browser says where a form comes from; a form that names no origin at all
/// (as an old browser's cross-site post could) is refused too.
pub fn check_form_origin(req: &HttpRequest) -> Result<(), AppError> {
    let cookie = req
        .app_data::<web::Data<SessionCookie>>()
        .ok_or_else(|| AppError::internal("session state is not configured"))?;
    let headers = req.headers();
    if !headers.contains_key(header::ORIGIN) && !headers.contains_key("sec-fetch-site") {
        return Err(AppError::new(
            ErrorKind::Forbidden,
            "a form must be sent from a page of this site (the request names no Origin)",
        ));
    }
    check_same_origin(req, cookie)
}

/// Whether two origins are loopback names (`localhost`, `127.0.0.1`, `[::1]`)
/// of the same scheme and port.
fn loopback_aliases(a: &str, b: &str) -> bool {
    let (Ok(a), Ok(b)) = (url::Url::parse(a), url::Url::parse(b)) else {
        return false;
    };
    let loopback = |u: &url::Url| matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    loopback(&a)
        && loopback(&b)
        && a.scheme() == b.scheme()
        && a.port_or_known_default() == b.port_or_known_default()
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A request made by a signed-in user through a live session. Extracting it
/// answers `401` without one, `400` when an `Authorization` header competes with
/// the cookie, and `403` for an API key, or for an unsafe method without a valid
/// CSRF token or from another origin.
pub struct SignedIn {
    pub actor: Actor,
    pub session: Arc<LiveSession>,
}

impl FromRequest for SignedIn {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req).await.map_err(ApiError) })
    }
}

/// The name of the hidden field that carries the CSRF token in a console form.
pub const CSRF_FIELD: &str = "csrf_token";

/// A signed-in person's request with a body: JSON from a script or the hydrated
/// console (the CSRF token in `X-CSRF-Token`), or a console form that works
/// without JavaScript (the token in its [`CSRF_FIELD`]). Refused like
/// [`SignedIn`]; a handler answers a form with a redirect back to its page.
pub struct SignedInBody<T> {
    pub signed_in: SignedIn,
    pub body: JsonOrForm<T>,
}

impl<T: DeserializeOwned + 'static> FromRequest for SignedInBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        if is_form(&req) {
            let form = web::Form::<Vec<(String, String)>>::from_request(&req, payload);
            Box::pin(async move {
                check_form_origin(&req)?;
                let fields = form.await.map_err(|_| ApiError(unreadable_form()))?.into_inner();
                let (csrf, body) = take_form_field(fields, CSRF_FIELD)?;
                let signed_in = authenticate_presenting(&req, csrf.as_deref().map(str::as_bytes)).await?;
                Ok(Self {
                    signed_in,
                    body: JsonOrForm::Form(body),
                })
            })
        } else {
            let json = ApiJson::<T>::from_request(&req, payload);
            Box::pin(async move {
                let signed_in = authenticate(&req).await?;
                let ApiJson(body) = json.await?;
                Ok(Self {
                    signed_in,
                    body: JsonOrForm::Json(body),
                })
            })
        }
    }
}

/// The session behind a request. An API key is refused here: routes that take
/// only [`SignedIn`] are a person's own (their sessions, two-factor sign-in).
pub(super) async fn authenticate(req: &HttpRequest) -> Result<SignedIn, AppError> {
    let presented = req.headers().get(CSRF_HEADER).map(|v| v.as_bytes());
    authenticate_presenting(req, presented).await
}

/// [`authenticate`] with the CSRF token the request `presented`, wherever it
/// carried it.
async fn authenticate_presenting(req: &HttpRequest, presented: Option<&[u8]>) -> Result<SignedIn, AppError> {
    let (session, epoch) = match Credentials::of(req).await? {
        Credentials::Session(session, epoch) => (session, epoch),
        Credentials::Key(..) => {
            return Err(AppError::new(
                ErrorKind::Forbidden,
                "this route is for signed-in people, not API keys",
            ))
        }
        Credentials::Refused(refusal) => return Err(refusal.error()),
        Credentials::Anonymous => return Err(sign_in_first()),
    };
    if !is_safe(req.method()) {
        let (Some(state), Some(cookie)) = (
            req.app_data::<web::Data<AppState>>(),
            req.app_data::<web::Data<SessionCookie>>(),
        ) else {
            return Err(AppError::internal("session state is not configured"));
        };
        let expected = sessions::csrf_token(state, session.session.id);
        if !attest_core::crypto::constant_time_eq(presented.unwrap_or_default(), expected.as_bytes()) {
            return Err(AppError::new(
                ErrorKind::Forbidden,
                "missing or wrong CSRF token (the X-CSRF-Token header, or a console form's csrf_token field)",
            ));
        }
        check_same_origin(req, cookie)?;
    }
    Ok(SignedIn {
        actor: Actor {
            user: session.user.clone(),
            credential: Credential::Session {
                session_id: session.session.id,
                idp_issuer: session.session.idp_issuer.clone(),
            },
            origin: origin(req),
            epoch: Some(epoch),
        },
        session,
    })
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn cookie(secure: bool, origin: &str) -> SessionCookie {
        SessionCookie {
            secure,
            max_age_seconds: 60,
            origin: origin.to_owned(),
        }
    }

    #[test]
    fn loopback_names_of_one_port_are_one_origin_in_development_only() {
        let dev = cookie(false, "http://127.0.0.1:8080");
        for same in [
            "http://127.0.0.1:8080",
            "http://localhost:8080",
            "http://[::1]:8080",
        ] {
            let req = TestRequest::default()
                .insert_header((header::ORIGIN, same))
                .to_http_request();
            assert!(check_same_origin(&req, &dev).is_ok(), "{same}");
        }
        for other in [
            "http://localhost:8081",
            "https://localhost:8080",
            "http://evil.example:8080",
        ] {
            let req = TestRequest::default()
                .insert_header((header::ORIGIN, other))
                .to_http_request();
            let refused = check_same_origin(&req, &dev).unwrap_err();
            let detail = refused.detail.unwrap_or_default();
            assert!(
                detail.contains("http://127.0.0.1:8080") && detail.contains(other),
                "{detail}"
            );
        }
        let production = cookie(true, "https://127.0.0.1:8443");
        let req = TestRequest::default()
            .insert_header((header::ORIGIN, "https://localhost:8443"))
            .to_http_request();
        assert!(check_same_origin(&req, &production).is_err());
    }
}
