//! What Attest knows about each issuer: its discovery document and signing
//! keys, cached per instance. Keys are fetched again when a token names a key
//! the cache does not hold (the IdP rotated), at most once per
//! [`KEY_REFRESH_INTERVAL`] per issuer, so a stream of forged `kid`s cannot
//! make Attest hammer the IdP, and a freshly published key works within seconds.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use openidconnect::{core::CoreProviderMetadata, IssuerUrl, JsonWebKeySet};

use super::http::{self, IdpHttp};

/// How long a discovery document is trusted before it is fetched again.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// The least time between two key refreshes for one issuer.
pub const KEY_REFRESH_INTERVAL: Duration = Duration::from_secs(10);

/// Why an issuer cannot be used, in words an org admin can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryProblem(pub String);

struct Cached {
    metadata: CoreProviderMetadata,
    fetched_at: Instant,
    keys_fetched_at: Instant,
}

/// The per-instance provider cache.
pub struct Providers {
    http: IdpHttp,
    cache: Mutex<HashMap<String, Cached>>,
}

impl Providers {
    pub fn new(allow_private: bool) -> Providers {
        Providers {
            http: IdpHttp::new(allow_private),
            cache: Mutex::default(),
        }
    }

    pub fn http(&self) -> &IdpHttp {
        &self.http
    }

    /// Fetches `issuer`'s discovery document and keys, uncached. The document's
    /// `issuer` must equal `issuer` exactly (openidconnect checks it).
    pub async fn discover(&self, issuer: &str) -> Result<CoreProviderMetadata, DiscoveryProblem> {
        let url = IssuerUrl::new(issuer.to_owned())
            .map_err(|_| DiscoveryProblem("the issuer is not a valid URL".into()))?;
        let metadata = CoreProviderMetadata::discover_async(url, &http::client(&self.http))
            .await
            .map_err(|error| DiscoveryProblem(explain(&error)))?;
        self.store(issuer, metadata.clone());
        Ok(metadata)
    }

    /// The issuer's metadata, from the cache while it is fresh.
    pub async fn metadata(&self, issuer: &str) -> Result<CoreProviderMetadata, DiscoveryProblem> {
        if let Some(metadata) = self
            .lock()
            .get(issuer)
            .and_then(|c| (c.fetched_at.elapsed() < METADATA_TTL).then(|| c.metadata.clone()))
        {
            return Ok(metadata);
        }
        self.discover(issuer).await
    }

    /// Fetches the issuer's keys again, unless that was done less than
    /// [`KEY_REFRESH_INTERVAL`] ago; the metadata with the new keys, or `None`
    /// when refreshing is not allowed yet or failed.
    pub async fn refresh_keys(&self, issuer: &str) -> Option<CoreProviderMetadata> {
        let metadata = {
            let mut cache = self.lock();
            let cached = cache.get_mut(issuer)?;
            if cached.keys_fetched_at.elapsed() < KEY_REFRESH_INTERVAL {
                return None;
            }
            // Claimed before fetching, so concurrent callers do not all fetch.
            cached.keys_fetched_at = Instant::now();
            cached.metadata.clone()
        };
        let keys = JsonWebKeySet::fetch_async(metadata.jwks_uri(), &http::client(&self.http))
            .await
            .map_err(
                |error| tracing::warn!(issuer, error = %explain(&error), "refreshing the IdP's keys failed"),
            )
            .ok()?;
        let metadata = metadata.set_jwks(keys);
        if let Some(cached) = self.lock().get_mut(issuer) {
            cached.metadata = metadata.clone();
        }
        Some(metadata)
    }

    fn store(&self, issuer: &str, metadata: CoreProviderMetadata) {
        let now = Instant::now();
        self.lock().insert(
            issuer.to_owned(),
            Cached {
                metadata,
                fetched_at: now,
                keys_fetched_at: now,
            },
        );
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Cached>> {
        // A panic while holding the lock leaves a consistent map (every write is one insert).
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// An error chain in one line, without bodies or secrets (openidconnect's
/// errors name the step: parsing, validation, the request).
fn explain(error: &dyn std::error::Error) -> String {
    let mut words = error.to_string();
    let mut cause = error.source();
    while let Some(current) = cause {
        words.push_str(": ");
        words.push_str(&current.to_string());
        cause = current.source();
    }
    words
}
