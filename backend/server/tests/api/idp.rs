//! A real OpenID provider for the SSO tests: `e2e/lib/idp.mjs` runs the npm
//! package `oidc-provider` on a free loopback port. Its signing key is a test
//! fixture, so a test can also sign tokens exactly as the IdP would.

use std::{
    io::{BufRead as _, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
};

use base64::Engine as _;
use openidconnect::{core::CoreRsaPrivateSigningKey, JsonWebKeyId, PrivateSigningKey as _};
use serde_json::{json, Value};

use crate::helpers::TestApp;

/// One of the IdP's registered clients (an org's SSO settings point at it).
pub struct IdpClient {
    pub client_id: &'static str,
    pub client_secret: &'static str,
}

pub struct Idp {
    pub issuer: String,
    child: Child,
    http: reqwest::Client,
}

fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

pub fn key_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

impl Idp {
    /// Starts the provider with `clients`, all redirecting to `app`.
    pub fn start(app: &TestApp, clients: &[IdpClient]) -> Idp {
        Idp::start_with_keys(app, clients, &["idp-test-key.pem"])
    }

    /// As [`Idp::start`], publishing these keys (the first signs; kids
    /// `test-key`, `test-key-1`, …).
    pub fn start_with_keys(app: &TestApp, clients: &[IdpClient], keys: &[&str]) -> Idp {
        let clients: Vec<Value> = clients
            .iter()
            .map(|c| {
                json!({
                    "client_id": c.client_id,
                    "client_secret": c.client_secret,
                    "redirect_uris": [app.url("/auth/sso/callback")],
                    "backchannel_logout_uri": app.url("/auth/sso/backchannel-logout"),
                    "backchannel_logout_session_required": true,
                })
            })
            .collect();
        let keys: Vec<String> = keys.iter().map(|k| key_file(k).display().to_string()).collect();
        let mut child = Command::new("node")
            .arg(repo_path("e2e/lib/idp.mjs"))
            .env("IDP_CLIENTS", serde_json::to_string(&clients).unwrap())
            .env("IDP_KEY_FILE", keys.join(","))
            .stdout(Stdio::piped())
            // `TEST_LOG=1` shows the IdP's complaints (e.g. a failed call-back).
            .stderr(if std::env::var_os("TEST_LOG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .expect("node runs the test IdP (npm ci installs oidc-provider)");
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut line).unwrap();
        // Keep the pipe open (and drained): a write to a closed pipe kills node.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let ready: Value = serde_json::from_str(&line).expect("the IdP says where it listens");
        Idp {
            issuer: ready["issuer"].as_str().unwrap().to_owned(),
            child,
            http: reqwest::Client::new(),
        }
    }

    /// An account the IdP knows; `id` is its `sub`.
    pub async fn add_account(&self, id: &str, email: &str, email_verified: bool) {
        let account =
            json!({"id": id, "email": email, "email_verified": email_verified, "name": format!("User {id}")});
        let res = self
            .http
            .post(format!("{}/_test/accounts", self.issuer))
            .json(&account)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
    }

    /// The account the next sign-in at the IdP completes as.
    pub async fn next_login(&self, id: &str) {
        let res = self
            .http
            .post(format!("{}/_test/next-login", self.issuer))
            .json(&json!({"account": id}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How a crafted token is signed.
#[derive(Clone, Copy)]
pub enum Signer<'a> {
    /// RS256 with the fixture key file `key`, named `kid`.
    Rsa { key: &'a str, kid: &'a str },
    /// HS256 with a shared secret (what Attest must never accept from an IdP).
    Hs256 { secret: &'a str },
    /// `alg: none`, no signature.
    Unsigned,
}

/// The fixture key `key` as the signer named `kid`.
pub fn rsa_key(key: &str, kid: &str) -> CoreRsaPrivateSigningKey {
    let pem = std::fs::read_to_string(key_file(key)).unwrap();
    CoreRsaPrivateSigningKey::from_pem(&pem, Some(JsonWebKeyId::new(kid.into()))).unwrap()
}

/// A compact JWS over `claims` with the header `typ` (if any).
pub fn jws(signer: Signer<'_>, typ: Option<&str>, claims: &Value) -> String {
    use openidconnect::core::{CoreHmacKey, CoreJwsSigningAlgorithm as Alg};
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let mut header = match signer {
        Signer::Rsa { kid, .. } => json!({"alg": "RS256", "kid": kid}),
        Signer::Hs256 { .. } => json!({"alg": "HS256"}),
        Signer::Unsigned => json!({"alg": "none"}),
    };
    if let Some(typ) = typ {
        header["typ"] = json!(typ);
    }
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = match signer {
        Signer::Rsa { key, kid } => rsa_key(key, kid)
            .sign(&Alg::RsaSsaPkcs1V15Sha256, input.as_bytes())
            .unwrap(),
        Signer::Hs256 { secret } => CoreHmacKey::new(secret.as_bytes())
            .sign(&Alg::HmacSha256, input.as_bytes())
            .unwrap(),
        Signer::Unsigned => Vec::new(),
    };
    format!("{input}.{}", b64(&signature))
}

/// A logout token signed RS256 with the fixture key `key` under `kid`.
pub fn sign(key: &str, kid: &str, typ: &str, claims: &Value) -> String {
    jws(Signer::Rsa { key, kid }, Some(typ), claims)
}
