//! Rate limits with standard headers.
//!
//! `/auth/*` is limited per client IP (`ATTEST_AUTH_RATE_LIMIT_PER_MINUTE`);
//! `/api/*` per API key, and per client IP for requests without credentials (or
//! with a refused key), both at `ATTEST_RATE_LIMIT_PER_MINUTE`. Requests of
//! signed-in people are not limited here: sign-in is. Every
//! limited response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining`,
//! `X-RateLimit-Reset` and the IETF draft's `RateLimit-Policy` / `RateLimit`
//! fields; over the limit the answer is `429 rate_limited` with `Retry-After`.
//! The counting sits behind [`Limiter`] so a shared store (Redis) can back it when
//! instances scale out.

use std::{net::IpAddr, num::NonZeroU32, sync::Arc, time::Duration};

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER},
    middleware::Next,
    web,
};
use attest_core::{AppError, ErrorKind};
use governor::{
    clock::{Clock as _, DefaultClock},
    middleware::StateInformationMiddleware,
    state::keyed::DefaultKeyedStateStore,
    Quota, RateLimiter,
};

use super::{api_key::KeyAuth, client_ip::client_ip, early_answer::EarlyAnswer, session::SessionCookie};

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
    /// Forgets idle keys, bounding memory.
    fn shrink(&self);
}

/// GCRA in process memory (governor): exact per instance.
pub struct LocalLimiter {
    limiter: RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>,
    per_minute: u32,
}

impl LocalLimiter {
    pub fn per_minute(per_minute: u32) -> Self {
        let n = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(n)).with_middleware::<StateInformationMiddleware>(),
            per_minute: n.get(),
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
                Decision {
                    allowed: false,
                    limit: self.per_minute,
                    remaining: 0,
                    reset: ceil_secs(self.replenish_interval() * self.per_minute),
                    retry_after: ceil_secs(wait).max(1),
                }
            }
        }
    }

    fn shrink(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
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

/// Which bucket a request counts against: its limiter, the policy name the
/// headers carry, and the key within the limiter.
fn bucket(req: &ServiceRequest, limiters: &Limiters) -> Option<(Arc<dyn Limiter>, &'static str, String)> {
    let ip = || client_ip(req.request()).map_or_else(|| "unknown".to_owned(), |ip: IpAddr| ip.to_string());
    let path = req.path();
    if path.starts_with("/auth/") {
        return Some((limiters.auth.clone(), "auth", ip()));
    }
    if !path.starts_with("/api/") {
        return None;
    }
    match KeyAuth::of(req.request()) {
        Some(KeyAuth::Live(key)) => Some((limiters.api.clone(), "api_key", key.grant.key_id.to_string())),
        Some(_) => Some((limiters.api.clone(), "ip", ip())),
        None => {
            let signed_in = req
                .app_data::<web::Data<SessionCookie>>()
                .is_some_and(|cookie| cookie.token(req.request()).is_some());
            (!signed_in).then(|| (limiters.api.clone(), "ip", ip()))
        }
    }
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
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let bucket = req
        .app_data::<web::Data<Limiters>>()
        .and_then(|limiters| bucket(&req, limiters));
    let Some((limiter, policy, key)) = bucket else {
        return next.call(req).await;
    };
    let decision = limiter.check(&key);
    if !decision.allowed {
        let error = AppError::new(
            ErrorKind::RateLimited,
            format!("too many requests; retry in {} s", decision.retry_after),
        );
        return Err(EarlyAnswer::of(&req).error(error, |headers| {
            stamp(headers, policy, &decision);
            headers.insert(RETRY_AFTER, HeaderValue::from(decision.retry_after));
        }));
    }
    let mut res = next.call(req).await?;
    stamp(res.headers_mut(), policy, &decision);
    Ok(res)
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
}
