//! Who is calling an API route: a signed-in person (session cookie, CSRF checked)
//! or an org API key — and, for org routes, the [`OrgScope`] they act in.

use std::{future::Future, pin::Pin, sync::Arc};

use actix_web::{dev::Payload, web, FromRequest, HttpMessage as _, HttpRequest};
use attest_core::{
    actor::Credential,
    authz::{self, OrgScope},
    identity::{api_keys::LiveKey, sessions::LiveSession, verified::Epoch},
    Actor, AppError, AppState, ErrorKind,
};

use super::{credentials::Credentials, session};
use crate::problem::ApiError;

/// An authenticated caller: a session's user or an API key acting for its creator.
#[derive(Clone)]
pub struct Caller {
    pub actor: Actor,
    /// The session, when the caller is a signed-in person.
    pub session: Option<Arc<LiveSession>>,
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req).await.map_err(ApiError) })
    }
}

/// The caller behind a request: a live key, else a signed-in person (with
/// [`session::authenticate`]'s checks).
pub(super) async fn authenticate(req: &HttpRequest) -> Result<Caller, AppError> {
    if let Credentials::Key(key, epoch) = Credentials::of(req).await? {
        return Ok(key_caller(req, &key, epoch));
    }
    let signed_in = session::authenticate(req).await?;
    Ok(Caller {
        actor: signed_in.actor,
        session: Some(signed_in.session),
    })
}

fn key_caller(req: &HttpRequest, key: &LiveKey, epoch: Epoch) -> Caller {
    Caller {
        actor: Actor {
            user: key.creator.clone(),
            credential: Credential::ApiKey(key.grant.clone()),
            origin: session::origin(req),
            epoch: Some(epoch),
        },
        session: None,
    }
}

/// The [`OrgScope`] of `org_ref` for `caller`, kept on the request (with the
/// trail that records its denials).
async fn enter(req: &HttpRequest, caller: Caller, org_ref: &str) -> Result<InOrg, AppError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::internal("state is not configured"))?;
    let scope = authz::scope(state, &caller.actor, org_ref).await?;
    req.extensions_mut().insert(super::audit_denials::DenialTrail {
        org_id: scope.org_id(),
        source: attest_core::audit::Source::of(&caller.actor),
    });
    let in_org = InOrg { scope, caller };
    req.extensions_mut().insert(in_org.clone());
    Ok(in_org)
}

/// A request inside the org named by the route's `{org}` (id or slug): the
/// [`OrgScope`] that tenant services require. Extracting it answers `404` unless
/// the caller may see that org. Worked out once per request and kept on it (the
/// idempotency check and the handler share it).
#[derive(Clone)]
pub struct InOrg {
    pub scope: OrgScope,
    pub caller: Caller,
}

impl FromRequest for InOrg {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            if let Some(known) = req.extensions().get::<InOrg>() {
                return Ok(known.clone());
            }
            let caller = authenticate(&req).await?;
            let org_ref = req.match_info().get("org").unwrap_or_default().to_owned();
            Ok(enter(&req, caller, &org_ref).await?)
        })
    }
}

/// A request of an org API key, in the key's own org: for the protocols that
/// name no org in their paths (OFREP). Anyone else is refused: `401` without a
/// live key, `403` for a session.
pub struct InKeyOrg(pub InOrg);

impl FromRequest for InKeyOrg {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let caller = match Credentials::of(&req).await? {
                Credentials::Key(key, epoch) => key_caller(&req, &key, epoch),
                Credentials::Anonymous => {
                    return Err(ApiError(AppError::new(
                        ErrorKind::Unauthenticated,
                        "send an org API key: Authorization: Bearer atk_…",
                    )))
                }
                Credentials::Refused(refusal) => return Err(ApiError(refusal.error())),
                Credentials::Session(..) => {
                    return Err(ApiError(AppError::new(
                        ErrorKind::Forbidden,
                        "this API takes an org API key, not a session",
                    )))
                }
            };
            let org_ref = caller
                .actor
                .key()
                .map(|grant| grant.org_id.to_string())
                .unwrap_or_default();
            Ok(InKeyOrg(enter(&req, caller, &org_ref).await?))
        })
    }
}
