//! The middleware stack, outermost first:
//!
//! 1. [`request_id`]: keeps or assigns `X-Request-Id`, in scope for everything below;
//! 2. [`observe`]: one tracing span per request, the access log line and metrics;
//! 3. [`security_headers`]: CSP with a per-response nonce and the rest of DESIGN.md's list;
//! 4. [`problem_fallback`]: any error answer that is not yet problem+json becomes one;
//! 5. [`cors`]: the partner API's CORS, on every `/api/v1/…` answer including refusals;
//! 6. [`guard`]: a panic becomes an opaque `500`, a request over its time a `503`
//!    (credential lookups below included);
//! 7. [`rate_limit`]: per-client limits with standard headers (`/auth/*` per IP,
//!    `/api/*` per API key or, without a valid key, per IP);
//! 8. [`audit_denials`]: a `403` for a missing permission lands in the org's audit trail;
//! 9. [`crate::console::page_session`]: a console page request's session, for its server render.
//!
//! Every `POST /api/v1/…` route also wears [`idempotency`], so a retried request with
//! the same `Idempotency-Key` gets the original answer once its caller is authenticated.
//!
//! [`credentials`] reads a request's cookie or API key once. Sessions and CSRF are
//! checked by the [`session::SignedIn`] extractor of the routes that need a signed-in
//! person, and the [`caller::Caller`] / [`caller::InOrg`] extractors of the routes API
//! keys may call too; [`client_ip`] resolves the client address.

pub mod audit_denials;
pub mod caller;
pub mod client_ip;
pub mod cors;
pub mod credentials;
pub mod early_answer;
pub mod guard;
pub mod idempotency;
pub mod observe;
pub mod problem_fallback;
pub mod rate_limit;
pub mod request_id;
pub mod security_headers;
pub mod session;
