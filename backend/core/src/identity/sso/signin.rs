//! Signing in through an org's IdP: the Authorization Code flow with PKCE
//! (S256), `state` and `nonce`, bound to a short-lived pre-auth cookie whose
//! flow row is used once. The callback trusts nothing it is sent: the flow
//! names the org (so a response from another org's IdP is a mix-up, refused by
//! the RFC 9207 `iss` parameter and the ID token's issuer), and the ID token is
//! checked for signature (asymmetric algorithms only), issuer, audience, `azp`,
//! expiry, issue time and nonce before anyone is signed in.

use std::time::Duration;

use base64::Engine as _;
use chrono::Utc;
use openidconnect::{
    core::{CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreJwsSigningAlgorithm, CoreProviderMetadata},
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, SignatureVerificationError, TokenResponse as _,
};
use sea_orm::{ActiveModelTrait as _, ColumnTrait as _, EntityTrait as _, QueryFilter as _, Set};
use uuid::Uuid;

use super::{
    http, linking,
    provisioning::{self, Refusal},
    settings::{self, Provider},
    Purpose, SsoFailure,
};
use crate::{
    actor::Origin,
    audit::Reason,
    clock,
    crypto::{constant_time_eq, random_token, sha256_hex},
    identity::sessions::NewSession,
    store::entities::{orgs, sso_flows, users},
    AppError, AppResult, AppState, ErrorKind,
};

/// How long a sign-in may take at the IdP.
pub const FLOW_LIFETIME: Duration = Duration::from_secs(600);
/// Tolerated clock difference for an ID token's `iat`.
const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(5);
const ISSUED_IN_THE_FUTURE: &str = "the ID token was issued in the future";
/// The purpose the PKCE verifier is sealed for while the flow runs.
const VERIFIER_PURPOSE: &str = "sso-pkce-verifier";

/// Signatures Attest accepts: asymmetric only. `none` and the HMAC family
/// (which an attacker could "sign" with a public key) never verify.
pub const ALLOWED_ALGORITHMS: [CoreJwsSigningAlgorithm; 10] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EcdsaP521Sha512,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// How the user named their org.
pub enum Realm<'a> {
    /// Home-realm discovery: the org that claims the email's domain.
    Email(&'a str),
    Org(&'a str),
}

/// A flow just begun: send the browser to `redirect` with `cookie` set.
pub struct Started {
    pub redirect: String,
    pub cookie: String,
}

/// Whether `email` belongs to a domain an org signs in with SSO.
pub async fn uses_sso(state: &AppState, email: &str) -> AppResult<bool> {
    Ok(settings::for_domain(state, domain_of(email)).await?.is_some())
}

pub(super) fn domain_of(email: &str) -> &str {
    email.rsplit_once('@').map(|(_, d)| d.trim()).unwrap_or_default()
}

/// Begins signing in: finds the org's IdP and answers with where to send the browser.
pub async fn start(state: &AppState, realm: Realm<'_>, return_to: Option<&str>) -> AppResult<Started> {
    let return_to = safe_return_to(return_to)?;
    let provider = match realm {
        Realm::Email(email) => settings::for_domain(state, domain_of(email)).await?,
        Realm::Org(slug) => match orgs::Entity::find()
            .filter(orgs::Column::Slug.eq(slug))
            .filter(orgs::Column::DeletedAt.is_null())
            .one(&state.db)
            .await?
        {
            Some(org) => settings::for_org(state, org.id).await?,
            None => None,
        },
    };
    let provider = provider.ok_or_else(|| {
        AppError::new(
            ErrorKind::NotFound,
            "no organization signs in with SSO for this email or name",
        )
    })?;
    begin(state, &provider, return_to, None).await
}

/// Opens a flow at the provider: a sign-in, or (with `link_user_id`) linking
/// the identity the user proves there to that account.
pub(super) async fn begin(
    state: &AppState,
    provider: &Provider,
    return_to: String,
    link_user_id: Option<Uuid>,
) -> AppResult<Started> {
    let metadata = state
        .providers
        .metadata(&provider.issuer)
        .await
        .map_err(|problem| {
            AppError::new(
                ErrorKind::Unavailable,
                format!("the identity provider cannot be used: {}", problem.0),
            )
        })?;
    let client = client(state, provider, metadata)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let cookie = random_token();
    let now = clock::now();
    sso_flows::Entity::delete_many()
        .filter(sso_flows::Column::ExpiresAt.lt(now))
        .exec(&state.db)
        .await?;
    sso_flows::ActiveModel {
        id: Set(Uuid::now_v7()),
        cookie_hash: Set(sha256_hex(cookie.as_bytes())),
        org_id: Set(provider.org_id),
        state: Set(csrf.secret().clone()),
        nonce: Set(nonce.secret().clone()),
        pkce_verifier: Set(state.key.seal(VERIFIER_PURPOSE, verifier.secret().as_bytes())),
        return_to: Set(return_to),
        expires_at: Set(clock::after(now, FLOW_LIFETIME)),
        link_user_id: Set(link_user_id),
    }
    .insert(&state.db)
    .await?;
    Ok(Started {
        redirect: url.to_string(),
        cookie,
    })
}

/// The IdP's answer, as the callback's query carries it.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    /// RFC 9207: the issuer that sent the response.
    pub iss: Option<String>,
    pub error: Option<String>,
}

/// A finished sign-in.
pub struct SignedIn {
    pub user: users::Model,
    pub session: NewSession,
    pub return_to: String,
}

/// A finished flow.
pub enum Finished {
    SignedIn(Box<SignedIn>),
    /// The identity is now linked to the account that began the flow, whose
    /// session goes on as it was.
    Linked {
        return_to: String,
    },
}

/// What the browser coming back from the IdP carries.
#[derive(Debug, Clone, Copy, Default)]
pub struct Browser<'a> {
    /// The pre-auth cookie naming its flow.
    pub flow_cookie: Option<&'a str>,
    /// Its session token, if signed in (a link needs the session that began it).
    pub session_token: Option<&'a str>,
}

/// Completes a flow. Every refusal for a known flow is audited in its org.
pub async fn finish(
    state: &AppState,
    browser: Browser<'_>,
    callback: Callback,
    origin: &Origin,
) -> Result<Finished, SsoFailure> {
    let flow = match claim_flow(state, browser.flow_cookie, callback.state.as_deref()).await? {
        Ok(flow) => flow,
        Err((Some(org_id), reason)) => {
            let refusal = Refusal::new(org_id, Purpose::SignIn, reason);
            return Err(provisioning::refused(state, refusal, None, origin).await);
        }
        Err((None, reason)) => {
            // No flow names an org, so there is no chain to record it in.
            tracing::info!(?reason, "SSO callback for no known flow refused");
            return Err(SsoFailure::Refused {
                reason,
                purpose: Purpose::SignIn,
            });
        }
    };
    let purpose = match flow.link_user_id {
        Some(_) => Purpose::Link,
        None => Purpose::SignIn,
    };
    let Some(provider) = settings::for_org(state, flow.org_id).await? else {
        let refusal = Refusal::new(flow.org_id, purpose, Reason::SsoDisabled);
        return Err(provisioning::refused(state, refusal, None, origin).await);
    };
    let identity = async {
        if callback.error.is_some() {
            return Err(Reason::IdpError);
        }
        // RFC 9207: a response from another issuer is a mix-up.
        if callback.iss.as_deref().is_some_and(|iss| iss != provider.issuer) {
            return Err(Reason::IssuerMismatch);
        }
        let code = callback.code.clone().ok_or(Reason::IdpError)?;
        verified_identity(state, &provider, &flow, code).await
    }
    .await;
    let identity = match identity {
        Ok(identity) => identity,
        Err(reason) => {
            let refusal = Refusal::new(provider.org_id, purpose, reason);
            return Err(provisioning::refused(state, refusal, None, origin).await);
        }
    };
    if let Some(user_id) = flow.link_user_id {
        linking::complete(state, &provider, identity, user_id, browser.session_token, origin).await?;
        return Ok(Finished::Linked {
            return_to: flow.return_to,
        });
    }
    let (user, session) = provisioning::sign_in(state, &provider, identity, origin).await?;
    Ok(Finished::SignedIn(Box::new(SignedIn {
        user,
        session,
        return_to: flow.return_to,
    })))
}

/// What the ID token proves about the user.
#[derive(Debug, Clone)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    /// The IdP's session id, for back-channel logout.
    pub sid: Option<String>,
}

/// A refused flow: the org it belongs to, when known, and why.
type FlowRefusal = (Option<Uuid>, Reason);

/// Finds the flow the cookie names and uses it up. A callback whose `state`
/// matches no live flow of this browser is refused (replayed, forged, expired).
async fn claim_flow(
    state: &AppState,
    cookie: Option<&str>,
    sent_state: Option<&str>,
) -> AppResult<Result<sso_flows::Model, FlowRefusal>> {
    let by_cookie = match cookie {
        Some(cookie) => {
            sso_flows::Entity::find()
                .filter(sso_flows::Column::CookieHash.eq(sha256_hex(cookie.as_bytes())))
                .one(&state.db)
                .await?
        }
        None => None,
    };
    // Without this browser's flow, the state still tells which org to record the refusal in.
    let Some(flow) = by_cookie else {
        let org = match sent_state {
            Some(sent) => sso_flows::Entity::find()
                .filter(sso_flows::Column::State.eq(sent))
                .one(&state.db)
                .await?
                .map(|f| f.org_id),
            None => None,
        };
        return Ok(Err((org, Reason::StateInvalid)));
    };
    // Used once: of two callbacks racing with one cookie, one deletes nothing.
    let deleted = sso_flows::Entity::delete_many()
        .filter(sso_flows::Column::Id.eq(flow.id))
        .exec(&state.db)
        .await?
        .rows_affected;
    let state_ok = sent_state.is_some_and(|sent| constant_time_eq(sent.as_bytes(), flow.state.as_bytes()));
    if deleted != 1 || !state_ok {
        return Ok(Err((Some(flow.org_id), Reason::StateInvalid)));
    }
    if flow.expires_at < clock::now() {
        return Ok(Err((Some(flow.org_id), Reason::FlowExpired)));
    }
    Ok(Ok(flow))
}

/// Exchanges the code and verifies the ID token; the refusal reason otherwise.
async fn verified_identity(
    state: &AppState,
    provider: &Provider,
    flow: &sso_flows::Model,
    code: String,
) -> Result<Identity, Reason> {
    let metadata = state
        .providers
        .metadata(&provider.issuer)
        .await
        .map_err(|_| Reason::IdpUnavailable)?;
    let client = client(state, provider, metadata).map_err(|_| Reason::IdpUnavailable)?;
    let verifier = state
        .key
        .open(VERIFIER_PURPOSE, &flow.pkce_verifier)
        .and_then(|raw| String::from_utf8(raw).ok())
        .ok_or(Reason::StateInvalid)?;
    let http = http::client(state.providers.http());
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|_| Reason::IdpUnavailable)?
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&http)
        .await
        .map_err(|error| {
            tracing::info!(error = %error, "the IdP refused the authorization code");
            Reason::CodeExchangeFailed
        })?;
    let id_token = tokens.id_token().ok_or(Reason::IdTokenInvalid)?;
    let nonce = Nonce::new(flow.nonce.clone());
    let claims = match verify(&client, id_token, &nonce) {
        Err(ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey)) => {
            // The IdP may have rotated its keys since they were fetched.
            let refreshed = state
                .providers
                .refresh_keys(&provider.issuer)
                .await
                .ok_or(Reason::IdTokenSignature)?;
            let client = self::client(state, provider, refreshed).map_err(|_| Reason::IdpUnavailable)?;
            verify(&client, id_token, &nonce).map_err(reason_of)?
        }
        other => other.map_err(reason_of)?,
    };
    Ok(Identity {
        issuer: claims.issuer().to_string(),
        subject: claims.subject().to_string(),
        email: claims.email().map(|e| e.to_string().to_ascii_lowercase()),
        email_verified: claims.email_verified() == Some(true),
        name: claims.name().and_then(|n| n.get(None)).map(|n| n.to_string()),
        sid: session_id(id_token),
    })
}

type VerifiedClaims = openidconnect::core::CoreIdTokenClaims;

fn verify(
    client: &ConfiguredClient,
    id_token: &CoreIdToken,
    nonce: &Nonce,
) -> Result<VerifiedClaims, ClaimsVerificationError> {
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs(ALLOWED_ALGORITHMS)
        .set_issue_time_verifier_fn(|issued: chrono::DateTime<Utc>| {
            if issued > Utc::now() + CLOCK_SKEW {
                Err(ISSUED_IN_THE_FUTURE.into())
            } else {
                Ok(())
            }
        });
    id_token.claims(&verifier, nonce).cloned()
}

/// Why an ID token was refused, as the audit trail records it.
fn reason_of(error: ClaimsVerificationError) -> Reason {
    tracing::info!(error = %error, "an ID token was refused");
    match error {
        // openidconnect reports a refused `iat` as `Expired`, with our message.
        ClaimsVerificationError::Expired(why) if why == ISSUED_IN_THE_FUTURE => Reason::IdTokenIssueTime,
        ClaimsVerificationError::Expired(_) => Reason::IdTokenExpired,
        ClaimsVerificationError::InvalidAudience(_) => Reason::IdTokenAudience,
        ClaimsVerificationError::InvalidIssuer(_) => Reason::IdTokenIssuer,
        ClaimsVerificationError::InvalidNonce(_) => Reason::IdTokenNonce,
        ClaimsVerificationError::SignatureVerification(_) => Reason::IdTokenSignature,
        _ => Reason::IdTokenInvalid,
    }
}

/// The `sid` claim of a verified ID token (openidconnect's core claims omit it).
fn session_id(id_token: &CoreIdToken) -> Option<String> {
    let text = id_token.to_string();
    let payload = text.split('.').nth(1)?;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&raw).ok()?;
    claims.get("sid")?.as_str().map(str::to_owned)
}

type ConfiguredClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

fn client(
    state: &AppState,
    provider: &Provider,
    metadata: CoreProviderMetadata,
) -> AppResult<ConfiguredClient> {
    let redirect = RedirectUrl::new(settings::redirect_uri(state)).map_err(AppError::internal)?;
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(provider.client_id.clone()),
        provider.client_secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(redirect))
}

/// `return_to` is a path on this site: it starts with one `/`, and is not
/// `//host` or `/\host` (which browsers read as another site).
pub fn safe_return_to(return_to: Option<&str>) -> AppResult<String> {
    let Some(path) = return_to.filter(|p| !p.is_empty()) else {
        return Ok("/".into());
    };
    let bad = !path.starts_with('/')
        || path.starts_with("//")
        || path.starts_with("/\\")
        || path.len() > 2048
        || path.chars().any(|c| c.is_control() || c == '\\');
    if bad {
        return Err(AppError::new(
            ErrorKind::BadRequest,
            "return_to must be a path on this site, such as /orgs/acme",
        ));
    }
    Ok(path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::safe_return_to;

    #[test]
    fn return_to_stays_on_this_site() {
        assert_eq!(safe_return_to(None).unwrap(), "/");
        assert_eq!(safe_return_to(Some("/orgs/acme?x=1")).unwrap(), "/orgs/acme?x=1");
        for open in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "evil",
            "/a\\b",
            "/a\nb",
        ] {
            assert!(safe_return_to(Some(open)).is_err(), "{open}");
        }
    }
}
