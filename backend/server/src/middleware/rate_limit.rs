//! Rate limits with standard headers.
//!
//! `/auth/*` is limited per client IP (`ATTEST_AUTH_RATE_LIMIT_PER_MINUTE`);
//! `/api/*` per API key, and per client IP for requests without credentials and,
//! separately, for refused credentials, all at `ATTEST_RATE_LIMIT_PER_MINUTE`.
//! Requests in a live session are not limited here: sign-in is. While a client
//! IP is over its limit for refused credentials, its `/api/*` requests that
//! present any are refused before a lookup, so spraying made-up keys or cookies
//! costs the database nothing; requests without credentials never hold up those
//! with them.
//!
//! Every limited response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining`,
//! `X-RateLimit-Reset` and the IETF draft's `RateLimit-Policy` / `RateLimit`
//! fields, errors included; over the limit the answer is `429 rate_limited` with
//! `Retry-After`. The counting sits behind [`Limiter`] so a shared store (Redis)
//! can back it when instances scale out.

use std::{
    net::IpAddr,
    num::NonZeroU32,
    sync::Arc,
    time::{Duration, Instant},
};

use actix_web::{
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER},
    middleware::Next,
    web,
};
use attest_core::{AppError, ErrorKind};
use dashmap::DashMap;
use governor::{
    clock::{Clock as _, DefaultClock},
    middleware::StateInformationMiddleware,
    state::keyed::DefaultKeyedStateStore,
    Quota, RateLimiter,
};

use crate::routes::status_page;

use super::{client_ip::client_ip, credentials::Credentials, early_answer::answer};

/// The state of one bucket after a request was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset: u64,
    /// Seconds until the next request would be allowed (when refused).
    pub retry_after: u64,
}

/// Counts requests per key within a per-minute quota.
pub trait Limiter: Send + Sync {
    fn check(&self, key: &str) -> Decision;
    /// The refusal `key` would meet now, known without counting a request: a
    /// key refused a moment ago stays refused until its `Retry-After` passes.
    fn refusing(&self, key: &str) -> Option<Decision>;
    /// Forgets idle keys, bounding memory.
    fn shrink(&self);
}

/// GCRA in process memory (governor): exact per instance.
pub struct LocalLimiter {
    limiter: RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>,
    per_minute: u32,
    /// Keys refused lately, and when each may ask again.
    refused: DashMap<String, (Instant, Decision)>,
}

impl LocalLimiter {
    pub fn per_minute(per_minute: u32) -> Self {
        let n = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(n)).with_middleware::<StateInformationMiddleware>(),
            per_minute: n.get(),
            refused: DashMap::new(),
        }
    }

    fn replenish_interval(&self) -> Duration {
        Duration::from_secs(60) / self.per_minute
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

impl Limiter for LocalLimiter {
    fn check(&self, key: &str) -> Decision {
        let key = key.to_owned();
        match self.limiter.check_key(&key) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let used = self.per_minute.saturating_sub(remaining);
                Decision {
                    allowed: true,
                    limit: self.per_minute,
                    remaining,
                    reset: ceil_secs(self.replenish_interval() * used),
                    retry_after: 0,
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                let refused = Decision {
                    allowed: false,
                    limit: self.per_minute,
                    remaining: 0,
                    reset: ceil_secs(self.replenish_interval() * self.per_minute),
                    retry_after: ceil_secs(wait).max(1),
                };
                self.refused.insert(key, (Instant::now() + wait, refused));
                refused
            }
        }
    }

    fn refusing(&self, key: &str) -> Option<Decision> {
        let (until, decision) = *self.refused.get(key)?;
        let left = until.checked_duration_since(Instant::now())?;
        Some(Decision {
            retry_after: ceil_secs(left).max(1),
            ..decision
        })
    }

    fn shrink(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
        let now = Instant::now();
        self.refused.retain(|_, (until, _)| *until > now);
    }
}

/// The process's limiters.
#[derive(Clone)]
pub struct Limiters {
    /// `/auth/*`, keyed by client IP.
    pub auth: Arc<dyn Limiter>,
    /// `/api/*`, keyed by API key or client IP.
    pub api: Arc<dyn Limiter>,
}

impl Limiters {
    pub fn shrink(&self) {
        self.auth.shrink();
        self.api.shrink();
    }
}

/// A bucket: its limiter, the policy name the headers carry, and the key within
/// the limiter.
struct Bucket {
    limiter: Arc<dyn Limiter>,
    policy: &'static str,
    key: String,
}

fn client_ip_key(req: &ServiceRequest) -> String {
    client_ip(req.request()).map_or_else(|| "unknown".to_owned(), |ip: IpAddr| ip.to_string())
}

/// The bucket of a client IP's refused credentials.
fn refused_key(req: &ServiceRequest) -> String {
    format!("refused:{}", client_ip_key(req))
}

/// `GET /auth/session`, which the console asks on every page it shows: a read of
/// the caller's own session like `/api/v1/me`, limited as the API is. Counted
/// against the sign-in budget, twenty pages a minute from one address (an
/// office behind one NAT) signed everyone out of the console.
fn is_session_check(req: &ServiceRequest) -> bool {
    req.method() == actix_web::http::Method::GET && req.path() == "/auth/session"
}

/// The bucket an `/api/*` request counts against, by the credentials it carries.
async fn api_bucket(req: &ServiceRequest, limiters: &Limiters) -> Result<Option<Bucket>, AppError> {
    let (policy, key) = match Credentials::of(req.request()).await? {
        Credentials::Key(key, _) => ("api_key", key.grant.key_id.to_string()),
        Credentials::Session(..) => return Ok(None),
        Credentials::Anonymous => ("ip", client_ip_key(req)),
        Credentials::Refused(_) => ("ip", refused_key(req)),
    };
    Ok(Some(Bucket {
        limiter: limiters.api.clone(),
        policy,
        key,
    }))
}

fn set(headers: &mut HeaderMap, name: &'static str, value: String) {
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.insert(HeaderName::from_static(name), value);
    }
}

fn stamp(headers: &mut HeaderMap, policy: &str, d: &Decision) {
    set(headers, "x-ratelimit-limit", d.limit.to_string());
    set(headers, "x-ratelimit-remaining", d.remaining.to_string());
    set(headers, "x-ratelimit-reset", d.reset.to_string());
    set(
        headers,
        "ratelimit-policy",
        format!("\"{policy}\";q={};w=60", d.limit),
    );
    set(
        headers,
        "ratelimit",
        format!("\"{policy}\";r={};t={}", d.remaining, d.reset),
    );
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(limiters) = req.app_data::<web::Data<Limiters>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let path = req.path();
    // The page's JSON is served from memory to everyone at once during an
    // incident; subscribing mails someone, so it is limited like signing in.
    let bucket = if path.starts_with(status_page::HOSTED_API) {
        None
    } else if (path.starts_with("/auth/") && !is_session_check(&req))
        || path.starts_with(status_page::SUBSCRIPTIONS)
    {
        Some(Bucket {
            limiter: limiters.auth.clone(),
            policy: "auth",
            key: client_ip_key(&req),
        })
    } else if path.starts_with("/api/") || crate::routes::is_partner_api(path) || is_session_check(&req) {
        if Credentials::presented(req.request()) {
            if let Some(refused) = limiters.api.refusing(&refused_key(&req)) {
                return Ok(too_many(req, "ip", &refused));
            }
        }
        match api_bucket(&req, &limiters).await {
            Ok(bucket) => bucket,
            Err(error) => return Ok(answer(req, error, |_| {})),
        }
    } else {
        None
    };
    let Some(Bucket { limiter, policy, key }) = bucket else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let decision = limiter.check(&key);
    if !decision.allowed {
        return Ok(too_many(req, policy, &decision));
    }
    match next.call(req).await {
        Ok(mut res) => {
            stamp(res.headers_mut(), policy, &decision);
            Ok(res.map_into_boxed_body())
        }
        Err(mut error) => {
            // An answer handed up inside an error: the limit still applied to it.
            error.add_response_mapper(move |mut res| {
                stamp(res.headers_mut(), policy, &decision);
                res
            });
            Err(error)
        }
    }
}

fn too_many(req: ServiceRequest, policy: &'static str, decision: &Decision) -> ServiceResponse<BoxBody> {
    let error = AppError::new(
        ErrorKind::RateLimited,
        format!("too many requests; retry in {} s", decision.retry_after),
    );
    answer(req, error, |headers| {
        stamp(headers, policy, decision);
        headers.insert(RETRY_AFTER, HeaderValue::from(decision.retry_after));
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_down_then_refuses_with_a_retry_time() {
        let limiter = LocalLimiter::per_minute(3);
        let first = limiter.check("a");
        assert!(first.allowed);
        assert_eq!((first.limit, first.remaining, first.reset), (3, 2, 20));
        assert!(limiter.check("a").allowed);
        assert!(limiter.check("a").allowed);
        let refused = limiter.check("a");
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        assert!((1..=20).contains(&refused.retry_after), "{refused:?}");
        assert!(limiter.check("b").allowed, "keys are independent");
    }

    #[test]
    fn a_refused_key_is_known_as_refused_without_counting() {
        let limiter = LocalLimiter::per_minute(1);
        assert_eq!(limiter.refusing("a"), None, "never refused");
        assert!(limiter.check("a").allowed);
        assert_eq!(limiter.refusing("a"), None, "at its limit, not over it");
        assert!(!limiter.check("a").allowed);
        let refusing = limiter.refusing("a").expect("refused a moment ago");
        assert!(!refusing.allowed);
        assert!((1..=60).contains(&refusing.retry_after), "{refusing:?}");
        assert_eq!(limiter.refusing("b"), None, "keys are independent");
        limiter.shrink();
        assert!(limiter.refusing("a").is_some(), "kept until it may ask again");
    }
}
