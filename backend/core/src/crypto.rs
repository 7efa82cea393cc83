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

impl ServerKey {
    /// Encrypts `plaintext` with XChaCha20-Poly1305 under a key derived for
    /// `purpose`; the output (nonce || ciphertext) is base64.
    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> String {
        use chacha20poly1305::{aead::Aead as _, KeyInit as _, XChaCha20Poly1305, XNonce};
        let cipher = XChaCha20Poly1305::new(&self.mac("seal", purpose.as_bytes()).into());
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        // Encryption with a valid key and nonce cannot fail.
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), plaintext)
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        base64::engine::general_purpose::STANDARD.encode(out)
    }

    /// Decrypts what [`ServerKey::seal`] produced for the same purpose; `None` when
    /// it was tampered with or sealed under another key.
    pub fn open(&self, purpose: &str, sealed: &str) -> Option<Vec<u8>> {
        use chacha20poly1305::{aead::Aead as _, KeyInit as _, XChaCha20Poly1305, XNonce};
        let raw = base64::engine::general_purpose::STANDARD.decode(sealed).ok()?;
        if raw.len() < 24 {
            return None;
        }
        let (nonce, ciphertext) = raw.split_at(24);
        let cipher = XChaCha20Poly1305::new(&self.mac("seal", purpose.as_bytes()).into());
        cipher.decrypt(XNonce::from_slice(nonce), ciphertext).ok()
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
    fn sealed_data_opens_only_with_the_same_key_and_purpose() {
        let key = ServerKey::new(vec![7; 32]);
        let sealed = key.seal("totp", b"secret");
        assert_ne!(sealed, key.seal("totp", b"secret"), "a fresh nonce every time");
        assert_eq!(key.open("totp", &sealed).as_deref(), Some(&b"secret"[..]));
        assert_eq!(key.open("sso", &sealed), None);
        assert_eq!(ServerKey::new(vec![8; 32]).open("totp", &sealed), None);
        let mut tampered = sealed.into_bytes();
        let last = tampered.len() - 3;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(key.open("totp", &String::from_utf8(tampered).unwrap()), None);
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
