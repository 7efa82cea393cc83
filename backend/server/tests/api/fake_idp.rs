//! An identity provider whose ID tokens the test crafts: the cases a certified
//! provider never produces (`alg: none`, HS256, bad signatures, wrong issuer or
//! audience, expired, wrong nonce, a key published after the fact). It speaks
//! just enough OpenID Connect for Attest's code flow: discovery, JWKS, an
//! authorization endpoint that answers at once, and a token endpoint.

use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpResponse, HttpServer};
use openidconnect::{core::CoreJsonWebKey, PrivateSigningKey as _};
use serde_json::json;

use crate::idp::rsa_key;

/// Builds the ID token for a sign-in from the nonce Attest sent.
pub type Craft = Box<dyn Fn(&str) -> String + Send>;

struct State {
    issuer: String,
    keys: Vec<CoreJsonWebKey>,
    craft: Craft,
    nonce: String,
}

pub struct FakeIdp {
    pub issuer: String,
    state: Arc<Mutex<State>>,
    server: actix_web::dev::ServerHandle,
}

impl FakeIdp {
    /// Starts the IdP publishing the fixture keys `keys` (file, kid).
    pub async fn start(keys: &[(&str, &str)]) -> FakeIdp {
        let state = Arc::new(Mutex::new(State {
            issuer: String::new(),
            keys: Vec::new(),
            craft: Box::new(|_| String::new()),
            nonce: String::new(),
        }));
        let shared = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(shared.clone()))
                .route("/.well-known/openid-configuration", web::get().to(discovery))
                .route("/jwks", web::get().to(jwks))
                .route("/authorize", web::get().to(authorize))
                .route("/token", web::post().to(token))
                // Issuers that misbehave at discovery.
                .route(
                    "/redirecting/.well-known/openid-configuration",
                    web::get().to(|| async {
                        HttpResponse::Found()
                            .insert_header(("location", "http://169.254.169.254/latest/meta-data"))
                            .finish()
                    }),
                )
                .route(
                    "/oversized/.well-known/openid-configuration",
                    web::get().to(|| async { HttpResponse::Ok().body(vec![b' '; 600 * 1024]) }),
                )
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
        let issuer = format!("http://127.0.0.1:{}", server.addrs()[0].port());
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        let idp = FakeIdp {
            issuer: issuer.clone(),
            state,
            server: handle,
        };
        idp.state.lock().unwrap().issuer = issuer;
        idp.publish(keys);
        idp
    }

    /// Replaces the published keys (a rotation).
    pub fn publish(&self, keys: &[(&str, &str)]) {
        self.state.lock().unwrap().keys = keys
            .iter()
            .map(|(file, kid)| rsa_key(file, kid).as_verification_key())
            .collect();
    }

    /// How the next ID tokens are made.
    pub fn craft(&self, craft: impl Fn(&str) -> String + Send + 'static) {
        self.state.lock().unwrap().craft = Box::new(craft);
    }
}

impl Drop for FakeIdp {
    fn drop(&mut self) {
        drop(self.server.stop(false));
    }
}

type Shared = web::Data<Arc<Mutex<State>>>;

async fn discovery(state: Shared) -> HttpResponse {
    let issuer = state.lock().unwrap().issuer.clone();
    HttpResponse::Ok().json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "HS256", "none"],
    }))
}

async fn jwks(state: Shared) -> HttpResponse {
    HttpResponse::Ok().json(json!({"keys": state.lock().unwrap().keys}))
}

/// Signs the user in at once: straight back to Attest with a code.
async fn authorize(
    state: Shared,
    query: web::Query<std::collections::HashMap<String, String>>,
) -> HttpResponse {
    let mut state = state.lock().unwrap();
    state.nonce = query.get("nonce").cloned().unwrap_or_default();
    let mut back = reqwest::Url::parse(&query["redirect_uri"]).unwrap();
    back.query_pairs_mut()
        .append_pair("code", "fake-code")
        .append_pair("state", &query["state"])
        .append_pair("iss", &state.issuer);
    HttpResponse::Found()
        .insert_header(("location", back.to_string()))
        .finish()
}

async fn token(state: Shared) -> HttpResponse {
    let state = state.lock().unwrap();
    let id_token = (state.craft)(&state.nonce);
    HttpResponse::Ok().json(json!({
        "access_token": "fake-access-token", "token_type": "Bearer", "expires_in": 300, "id_token": id_token,
    }))
}
