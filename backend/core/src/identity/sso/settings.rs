//! An org's SSO settings: which OpenID provider its members sign in with, the
//! email domains it claims (which route to it once proven, see [`super::domains`]),
//! and whether unknown users are provisioned.
//! The client secret is sealed with a key derived from `ATTEST_SECRET_KEY` and
//! never leaves the server. Saving fetches the issuer's discovery document, so
//! a typo is refused at once rather than at the next sign-in.

use attest_shared::{
    api::{PutSsoSettings, SecretUpdate, SsoSettings},
    error::FieldError,
    permissions::Permission,
    roles,
};
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _, Set,
};
use uuid::Uuid;

use super::domains;
use crate::{
    audit::{Action, Facts, Metadata, Record},
    authz::{roles as org_roles, OrgScope},
    clock,
    precondition::Expected,
    store::entities::sso_configs,
    AppError, AppResult, AppState, ErrorKind,
};

/// The purpose the client secret is sealed for.
const SECRET_PURPOSE: &str = "sso-client-secret";
const MAX_DOMAINS: usize = 50;

/// The redirect URI every IdP must know: `{ATTEST_PUBLIC_URL}/auth/sso/callback`.
pub fn redirect_uri(state: &AppState) -> String {
    format!("{}/auth/sso/callback", state.config.public_url)
}

/// An org's stored configuration with its secret opened, for signing in.
pub struct Provider {
    pub org_id: Uuid,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub jit_provisioning: bool,
    pub default_role: String,
    /// Its verified domains only: the emails its IdP may vouch for.
    pub email_domains: Vec<String>,
}

/// `GET …/sso`; an org without settings gets the empty, disabled ones.
pub async fn get(state: &AppState, scope: &OrgScope) -> AppResult<SsoSettings> {
    scope.require(Permission::SsoManage)?;
    let config = sso_configs::Entity::find_by_id(scope.org_id())
        .one(&state.db)
        .await?;
    let domains = domains_of(&state.db, scope.org_id()).await?;
    Ok(view(state, config.as_ref(), domains))
}

/// `PUT …/sso`: validates everything (the issuer by discovery), then saves and
/// audits the change, without the secret.
pub async fn put(
    state: &AppState,
    scope: &OrgScope,
    input: PutSsoSettings,
    expected: Expected,
) -> AppResult<SsoSettings> {
    scope.require(Permission::SsoManage)?;
    let input = check(state, scope, input).await?;
    if let Err(problem) = state.providers.discover(&input.issuer).await {
        return Err(AppError::validation(vec![FieldError {
            field: "issuer".into(),
            message: format!("discovery failed: {}", problem.0),
        }]));
    }
    let txn = state.begin().await?;
    let current = sso_configs::Entity::find_by_id(scope.org_id()).one(&txn).await?;
    expected.check(current.as_ref().map_or(0, |c| c.version), "the SSO settings")?;
    let before_domains = domains_of(&txn, scope.org_id()).await?;
    let taken = domains::verified_elsewhere(&txn, scope.org_id(), &input.email_domains).await?;
    if !taken.is_empty() {
        return Err(AppError::new(
            ErrorKind::Conflict,
            format!("another organization has verified {}", taken.join(", ")),
        ));
    }
    let now = clock::now();
    let client_secret = match &input.client_secret {
        SecretUpdate::Keep => current.as_ref().and_then(|c| c.client_secret.clone()),
        SecretUpdate::Remove => None,
        SecretUpdate::Set(secret) => Some(state.key.seal(SECRET_PURPOSE, secret.as_bytes())),
    };
    let saved = sso_configs::ActiveModel {
        org_id: Set(scope.org_id()),
        enabled: Set(input.enabled),
        issuer: Set(input.issuer.clone()),
        client_id: Set(input.client_id.clone()),
        client_secret: Set(client_secret),
        jit_provisioning: Set(input.jit_provisioning),
        default_role: Set(input.default_role.clone()),
        version: Set(current.as_ref().map_or(1, |c| c.version + 1)),
        created_at: Set(current.as_ref().map_or(now, |c| c.created_at)),
        updated_at: Set(now),
    };
    let saved = match &current {
        Some(_) => saved.update(&txn).await?,
        None => saved.insert(&txn).await?,
    };
    domains::replace(&txn, scope.org_id(), &input.email_domains).await?;
    let metadata = Metadata::change(
        facts(current.as_ref(), &before_domains, &input.client_secret, false),
        facts(Some(&saved), &input.email_domains, &input.client_secret, true),
    );
    scope
        .audit(
            &txn,
            Record::of(Action::SsoUpdated, "org", scope.org_id()).with(metadata),
        )
        .await?;
    txn.commit().await?;
    Ok(view(state, Some(&saved), input.email_domains))
}

/// Fetches an issuer's discovery document for "test connection" (nothing saved).
pub async fn test(state: &AppState, scope: &OrgScope, issuer: &str) -> AppResult<Result<String, String>> {
    scope.require(Permission::SsoManage)?;
    let issuer = check_issuer(issuer, state.config.sso_allow_private_issuers).map_err(|message| {
        AppError::validation(vec![FieldError {
            field: "issuer".into(),
            message,
        }])
    })?;
    Ok(match state.providers.discover(&issuer).await {
        Ok(metadata) => Ok(metadata.authorization_endpoint().to_string()),
        Err(problem) => Err(problem.0),
    })
}

/// The enabled provider of the org that holds `domain` verified.
pub async fn for_domain(state: &AppState, domain: &str) -> AppResult<Option<Provider>> {
    match domains::verified_owner(&state.db, domain).await? {
        Some(org_id) => for_org(state, org_id).await,
        None => Ok(None),
    }
}

/// Every org that signs in with SSO through `issuer` (what an SSO session reaches).
pub async fn orgs_signing_in_with(state: &AppState, issuer: &str) -> AppResult<Vec<Uuid>> {
    Ok(sso_configs::Entity::find()
        .filter(sso_configs::Column::Enabled.eq(true))
        .filter(sso_configs::Column::Issuer.eq(issuer))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|config| config.org_id)
        .collect())
}

/// The org's provider, when SSO is enabled for it.
pub async fn for_org(state: &AppState, org_id: Uuid) -> AppResult<Option<Provider>> {
    match sso_configs::Entity::find_by_id(org_id).one(&state.db).await? {
        Some(config) if config.enabled => Ok(Some(provider(state, config).await?)),
        _ => Ok(None),
    }
}

/// Every enabled provider with this issuer (back-channel logout finds the org
/// by issuer and audience).
pub async fn for_issuer(state: &AppState, issuer: &str) -> AppResult<Vec<Provider>> {
    let configs = sso_configs::Entity::find()
        .filter(sso_configs::Column::Issuer.eq(issuer))
        .filter(sso_configs::Column::Enabled.eq(true))
        .all(&state.db)
        .await?;
    let mut providers = Vec::with_capacity(configs.len());
    for config in configs {
        providers.push(provider(state, config).await?);
    }
    Ok(providers)
}

/// A stored configuration with its secret opened and its domains.
async fn provider(state: &AppState, config: sso_configs::Model) -> AppResult<Provider> {
    let client_secret = match &config.client_secret {
        Some(sealed) => Some(
            state
                .key
                .open(SECRET_PURPOSE, sealed)
                .and_then(|raw| String::from_utf8(raw).ok())
                .ok_or_else(|| {
                    AppError::internal("the SSO client secret does not open with the server key")
                })?,
        ),
        None => None,
    };
    let verified = domains::claims_of(&state.db, config.org_id)
        .await?
        .into_iter()
        .filter(|claim| claim.state == domains::State::Verified.as_str())
        .map(|claim| claim.domain)
        .collect();
    Ok(Provider {
        org_id: config.org_id,
        email_domains: verified,
        issuer: config.issuer,
        client_id: config.client_id,
        client_secret,
        jit_provisioning: config.jit_provisioning,
        default_role: config.default_role,
    })
}

/// The names of every domain the org claims, proven or not.
async fn domains_of<C: ConnectionTrait>(db: &C, org_id: Uuid) -> AppResult<Vec<String>> {
    Ok(domains::claims_of(db, org_id)
        .await?
        .into_iter()
        .map(|claim| claim.domain)
        .collect())
}

fn view(state: &AppState, config: Option<&sso_configs::Model>, email_domains: Vec<String>) -> SsoSettings {
    SsoSettings {
        enabled: config.is_some_and(|c| c.enabled),
        issuer: config.map(|c| c.issuer.clone()).unwrap_or_default(),
        client_id: config.map(|c| c.client_id.clone()).unwrap_or_default(),
        client_secret_set: config.is_some_and(|c| c.client_secret.is_some()),
        email_domains,
        jit_provisioning: config.is_some_and(|c| c.jit_provisioning),
        default_role: config.map_or_else(|| roles::CONTRIBUTOR.to_owned(), |c| c.default_role.clone()),
        redirect_uri: redirect_uri(state),
        version: config.map_or(0, |c| c.version),
    }
}

/// What the audit trail records of the settings: everything but the secret,
/// of which only whether the client has one (and, after, whether it changed).
fn facts(
    config: Option<&sso_configs::Model>,
    domains: &[String],
    secret: &SecretUpdate,
    after: bool,
) -> Facts {
    let Some(config) = config else {
        return Facts::default();
    };
    Facts {
        enabled: Some(config.enabled),
        issuer: Some(config.issuer.clone()),
        client_id: Some(config.client_id.clone()),
        confidential: Some(config.client_secret.is_some()),
        credential_replaced: (after && matches!(secret, SecretUpdate::Set(_))).then_some(true),
        email_domains: Some(domains.to_vec()),
        jit_provisioning: Some(config.jit_provisioning),
        default_role: Some(config.default_role.clone()),
        ..Facts::default()
    }
}

/// Normalizes and checks every field, reporting all problems at once.
async fn check(state: &AppState, scope: &OrgScope, mut input: PutSsoSettings) -> AppResult<PutSsoSettings> {
    let mut errors = Vec::new();
    let mut problem = |field: &str, message: String| {
        errors.push(FieldError {
            field: field.into(),
            message,
        })
    };
    match check_issuer(&input.issuer, state.config.sso_allow_private_issuers) {
        Ok(issuer) => input.issuer = issuer,
        Err(message) => problem("issuer", message),
    }
    input.client_id = input.client_id.trim().to_owned();
    if input.client_id.is_empty() || input.client_id.len() > 512 {
        problem("client_id", "must be 1–512 characters".into());
    }
    if let SecretUpdate::Set(secret) = &input.client_secret {
        if secret.is_empty() || secret.len() > 1024 {
            problem("client_secret", "must be 1–1024 characters".into());
        }
    }
    let mut domains: Vec<String> = input
        .email_domains
        .iter()
        .map(|d| d.trim().to_ascii_lowercase())
        .collect();
    domains.sort();
    domains.dedup();
    if domains.len() > MAX_DOMAINS {
        problem("email_domains", format!("at most {MAX_DOMAINS} domains"));
    }
    for domain in &domains {
        if !is_domain(domain) {
            problem("email_domains", format!("`{domain}` is not a domain name"));
        }
    }
    input.email_domains = domains;
    if input.default_role == roles::OWNER {
        problem(
            "default_role",
            "new members cannot become owners automatically".into(),
        );
    } else if !org_roles::exists(state, scope.org_id(), &input.default_role).await? {
        problem(
            "default_role",
            format!("`{}` is not a role of this organization", input.default_role),
        );
    }
    if errors.is_empty() {
        Ok(input)
    } else {
        Err(AppError::validation(errors))
    }
}

/// An issuer is an absolute `https` URL without query or fragment; plain
/// `http` only in development (an IdP on this machine).
fn check_issuer(issuer: &str, allow_http: bool) -> Result<String, String> {
    let issuer = issuer.trim();
    let url = url::Url::parse(issuer).map_err(|_| "must be an absolute URL".to_owned())?;
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && allow_http);
    if !scheme_ok {
        return Err("must be an https:// URL".into());
    }
    if url.query().is_some() || url.fragment().is_some() || url.host().is_none() || !url.username().is_empty()
    {
        return Err("must not have credentials, a query or a fragment".into());
    }
    Ok(issuer.to_owned())
}

fn is_domain(name: &str) -> bool {
    name.len() <= 253
        && name.contains('.')
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::{check_issuer, is_domain};

    #[test]
    fn issuers_are_https_urls_and_plain_http_only_in_development() {
        assert_eq!(
            check_issuer(" https://idp.example.com ", false).unwrap(),
            "https://idp.example.com"
        );
        assert!(
            check_issuer("http://127.0.0.1:9000", false).is_err(),
            "production"
        );
        assert!(check_issuer("http://127.0.0.1:9000", true).is_ok(), "development");
        for bad in [
            "idp.example.com",
            "ftp://idp.example.com",
            "https://u:p@idp.example.com",
            "https://idp.example.com/?x=1",
            "https://idp.example.com/#f",
        ] {
            assert!(check_issuer(bad, true).is_err(), "{bad}");
        }
    }

    #[test]
    fn domains_are_dotted_host_names() {
        assert!(is_domain("example.com"));
        assert!(is_domain("eu.corp-mail.example"));
        for bad in ["localhost", "exa mple.com", "-x.com", "x..com", "@x.com", ""] {
            assert!(!is_domain(bad), "{bad}");
        }
    }
}
