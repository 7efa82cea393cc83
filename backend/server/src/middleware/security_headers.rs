//! Security headers on every response (DESIGN.md), with a fresh CSP nonce per
//! response for the console's one inline module script.

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header::{self, HeaderMap, HeaderName, HeaderValue},
    middleware::Next,
    web, HttpMessage as _,
};
use base64::Engine as _;
use rand::RngCore as _;

/// The nonce this response's inline scripts must carry.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

/// Whether to send `Strict-Transport-Security` (production only: it pins browsers to
/// https for a year, which would break a plain-http development setup).
#[derive(Clone, Copy, Debug)]
pub struct Hsts(pub bool);

const HSTS: &str = "max-age=63072000; includeSubDomains";
const PERMISSIONS_POLICY: &str = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()";

fn new_nonce() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The console's policy: scripts from our origin or carrying this response's nonce;
/// `wasm-unsafe-eval` lets the browser compile the console's WebAssembly.
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let hsts = req.app_data::<web::Data<Hsts>>().is_some_and(|h| h.0);
    let nonce = new_nonce();
    req.extensions_mut().insert(CspNonce(nonce.clone()));
    let api_docs = req.path().starts_with(crate::openapi::DOCS_PATH);
    let mut res = next.call(req).await?;
    if api_docs {
        // Swagger UI styles its elements inline; scripts stay as strict as anywhere.
        let policy =
            content_security_policy(&nonce).replace("style-src 'self'", "style-src 'self' 'unsafe-inline'");
        if let Ok(value) = HeaderValue::from_str(&policy) {
            res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    apply(res.headers_mut(), &nonce, hsts);
    Ok(res)
}

/// Adds every security header the response does not set itself.
pub fn apply(headers: &mut HeaderMap, nonce: &str, hsts: bool) {
    let mut set = |name: HeaderName, value: &str| {
        if !headers.contains_key(&name) {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(name, value);
            }
        }
    };
    set(header::CONTENT_SECURITY_POLICY, &content_security_policy(nonce));
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::REFERRER_POLICY, "strict-origin-when-cross-origin");
    set(HeaderName::from_static("permissions-policy"), PERMISSIONS_POLICY);
    set(
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    // Responses may carry personal or session data: no cache keeps them unless the
    // response says otherwise (hashed console assets do).
    set(header::CACHE_CONTROL, "no-store");
    if hsts {
        set(header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
}
