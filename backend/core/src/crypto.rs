//! Small cryptographic building blocks shared by the services: random tokens,
//! digests for storing tokens, and keyed MACs derived from the server key.

use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

/// A fresh 256-bit random token, URL-safe base64 (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Lowercase hex SHA-256: how tokens are stored, so a database leak reveals none.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The server key, with purpose-bound derivations (HMAC-SHA256 over a label),
/// so one configured secret never serves two purposes directly.
#[derive(Clone)]
pub struct ServerKey(Vec<u8>);

impl ServerKey {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// HMAC-SHA256(key, purpose || 0 || message).
    pub fn mac(&self, purpose: &str, message: &[u8]) -> [u8; 32] {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => unreachable_hmac(),
        };
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(message);
        mac.finalize().into_bytes().into()
    }
}

#[cold]
fn unreachable_hmac() -> Hmac<Sha256> {
    // `new_from_slice` only fails for fixed-length-key MACs; HMAC has none.
    <Hmac<Sha256> as hmac::digest::KeyInit>::new(&Default::default())
}

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKey(***)")
    }
}

/// Equality without an early exit, for comparing secrets.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_url_safe() {
        let a = random_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token());
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn macs_depend_on_key_purpose_and_message() {
        let key = ServerKey::new(vec![7; 32]);
        let base = key.mac("csrf", b"s1");
        assert_eq!(base, key.mac("csrf", b"s1"));
        assert_ne!(base, key.mac("other", b"s1"));
        assert_ne!(base, key.mac("csrf", b"s2"));
        assert_ne!(base, ServerKey::new(vec![8; 32]).mac("csrf", b"s1"));
    }
}
