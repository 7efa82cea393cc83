//! OpenID Connect Back-Channel Logout 1.0: the IdP posts a signed logout token
//! and Attest ends that user's sessions from that IdP at once.
//!
//! A logout token is a JWT but not an ID token (no `nonce`, `sub` optional,
//! an `events` claim), so it is checked here: the signature with the issuer's
//! published keys through openidconnect's key types (asymmetric algorithms
//! only, keys fetched again once on an unknown `kid`), then `iss`, `aud`,
//! `iat`, `exp`, `events`, and `sub` or `sid`.

use attest_shared::audit::{ActorKind, AuditActor};
use base64::Engine as _;
use openidconnect::{core::CoreJwsSigningAlgorithm, JsonWebKey as _};
use sea_orm::EntityTrait as _;
use serde::Deserialize;

use super::{settings, signin::ALLOWED_ALGORITHMS};
use crate::{
    actor::Origin,
    audit::{self, Action, Metadata, Record, Source},
    clock,
    identity::sessions,
    store::entities::user_identities,
    AppError, AppResult, AppState, ErrorKind,
};

const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// Tolerated clock difference, and how old a logout token may be.
const SKEW_SECONDS: i64 = 300;
const MAX_AGE_SECONDS: i64 = 600;

#[derive(Deserialize)]
struct Header {
    alg: CoreJwsSigningAlgorithm,
    kid: Option<String>,
    typ: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    aud: Audience,
    iat: i64,
    exp: Option<i64>,
    jti: Option<String>,
    events: serde_json::Map<String, serde_json::Value>,
    sub: Option<String>,
    sid: Option<String>,
    nonce: Option<serde_json::Value>,
}

/// Validates `token` and revokes the sessions it names; how many.
pub async fn logout(state: &AppState, token: &str, origin: &Origin) -> AppResult<u64> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts[..] else {
        return Err(invalid("it is not a signed JWT"));
    };
    let header: Header = decode(header).ok_or_else(|| invalid("its header is not valid"))?;
    let claims: Claims = decode(payload).ok_or_else(|| invalid("its claims are not valid"))?;
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| invalid("its signature is not base64url"))?;
    if !ALLOWED_ALGORITHMS.contains(&header.alg) {
        return Err(invalid("its signature algorithm is not allowed"));
    }
    if header
        .typ
        .as_deref()
        .is_some_and(|t| !matches!(t.to_ascii_lowercase().as_str(), "logout+jwt" | "jwt"))
    {
        return Err(invalid("its type is not logout+jwt"));
    }
    let audiences = match &claims.aud {
        Audience::One(one) => vec![one.as_str()],
        Audience::Many(many) => many.iter().map(String::as_str).collect(),
    };
    let provider = settings::for_issuer(state, &claims.iss)
        .await?
        .into_iter()
        .find(|p| audiences.contains(&p.client_id.as_str()))
        .ok_or_else(|| invalid("no organization uses this issuer and audience"))?;
    let signed = &token[..header_and_payload_len(token)];
    verify_signature(state, &claims.iss, &header, signed.as_bytes(), &signature).await?;
    check_claims(&claims)?;

    let txn = state.begin().await?;
    let user = match &claims.sub {
        Some(sub) => user_identities::Entity::find_by_id((claims.iss.clone(), sub.clone()))
            .one(&txn)
            .await?
            .map(|link| link.user_id),
        None => None,
    };
    // A subject nobody signed in with has no sessions to end (the request is still recorded).
    let revoked = if claims.sub.is_some() && user.is_none() {
        0
    } else {
        sessions::revoke_from_idp(&txn, &claims.iss, user, claims.sid.as_deref()).await?
    };
    let source = Source {
        actor: AuditActor {
            kind: ActorKind::System,
            id: None,
            display: format!("identity provider {}", claims.iss),
        },
        origin: origin.clone(),
    };
    let target = user.map_or(("org", provider.org_id), |user| ("user", user));
    let record = Record::of(Action::BackchannelLogout, target.0, target.1).with(Metadata {
        sessions_revoked: Some(revoked),
        ..Metadata::default()
    });
    audit::append(&txn, provider.org_id, &source, record).await?;
    txn.commit().await?;
    Ok(revoked)
}

fn check_claims(claims: &Claims) -> AppResult<()> {
    let now = clock::now().timestamp();
    if claims.iat > now + SKEW_SECONDS || claims.iat < now - MAX_AGE_SECONDS {
        return Err(invalid("it was not issued within the last ten minutes"));
    }
    if claims.exp.is_some_and(|exp| exp < now - SKEW_SECONDS) {
        return Err(invalid("it has expired"));
    }
    if claims.jti.as_deref().is_none_or(str::is_empty) {
        return Err(invalid("it has no jti"));
    }
    if !claims
        .events
        .get(LOGOUT_EVENT)
        .is_some_and(serde_json::Value::is_object)
    {
        return Err(invalid("its events claim does not name a back-channel logout"));
    }
    if claims.nonce.is_some() {
        return Err(invalid("it carries a nonce, so it is not a logout token"));
    }
    if claims.sub.is_none() && claims.sid.is_none() {
        return Err(invalid("it names neither a subject nor a session"));
    }
    Ok(())
}

/// Checks the signature with the issuer's key named by `kid` (or its only
/// key), fetching the keys again once if the key is unknown.
async fn verify_signature(
    state: &AppState,
    issuer: &str,
    header: &Header,
    signed: &[u8],
    signature: &[u8],
) -> AppResult<()> {
    let metadata = state
        .providers
        .metadata(issuer)
        .await
        .map_err(|_| invalid("the issuer's keys cannot be fetched"))?;
    let mut keys = metadata.jwks().keys().clone();
    let find = |keys: &[openidconnect::core::CoreJsonWebKey]| {
        keys.iter()
            .filter(|k| match (&header.kid, k.key_id()) {
                (Some(kid), Some(id)) => **id == *kid,
                (None, _) => true,
                (Some(_), None) => false,
            })
            .cloned()
            .collect::<Vec<_>>()
    };
    let mut candidates = find(&keys);
    if candidates.is_empty() {
        if let Some(refreshed) = state.providers.refresh_keys(issuer).await {
            keys = refreshed.jwks().keys().clone();
            candidates = find(&keys);
        }
    }
    let verified = candidates
        .iter()
        .any(|key| key.verify_signature(&header.alg, signed, signature).is_ok());
    if verified {
        Ok(())
    } else {
        Err(invalid("its signature does not verify"))
    }
}

fn header_and_payload_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(0)
}

fn decode<T: serde::de::DeserializeOwned>(part: &str) -> Option<T> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .ok()?;
    serde_json::from_slice(&raw).ok()
}

fn invalid(why: &str) -> AppError {
    AppError::new(
        ErrorKind::BadRequest,
        format!("the logout token is invalid: {why}"),
    )
}
