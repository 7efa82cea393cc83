//! Organization SSO against a real OpenID provider (npm `oidc-provider`):
//! settings, the full sign-in flow over HTTP with a cookie-keeping client,
//! provisioning rules, refusals (each audited, none leaving a session), and
//! back-channel logout.

use attest_shared::audit::{AuditEvent, Outcome};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    audit::events,
    auth::{login, Browser, PASSWORD},
    dns::Dns,
    fake_idp::FakeIdp,
    helpers::{assert_problem, free_port, location, spawn_app_with, TestApp, TEST_SECRET_KEY},
    idp::{jws, sign, Idp, IdpClient, Signer},
    world::create_org,
};

pub const ACME_SECRET: &str = "acme-client-secret-0123456789";

pub struct World {
    pub app: TestApp,
    pub idp: Idp,
    /// The DNS server Attest asks (`ATTEST_DNS_RESOLVER`).
    pub dns: Dns,
    /// An operator, owner of Acme.
    pub ada: Browser,
    pub acme: Uuid,
}

/// A server whose public URL is its own address (the redirect URI must match),
/// asking `dns` for TXT records.
async fn app_at_its_public_url(dns: &Dns) -> TestApp {
    let port = free_port();
    spawn_app_with(&[
        ("ATTEST_LISTEN", &format!("127.0.0.1:{port}")),
        ("ATTEST_PUBLIC_URL", &format!("http://127.0.0.1:{port}")),
        // Each sign-in is two `/auth` requests; these tests make many.
        ("ATTEST_AUTH_RATE_LIMIT_PER_MINUTE", "10000"),
        ("ATTEST_DNS_RESOLVER", &dns.addr.to_string()),
    ])
    .await
}

/// Acme (owned by Ada) with SSO through a fresh IdP; its domain `acme.test`
/// is verified (Ada, an operator, vouches for it).
pub async fn world(jit: bool) -> World {
    let w = world_unverified(jit).await;
    let verified = verify_domain(&w.ada, "acme", "acme.test", "operator").await;
    assert_eq!(verified.status(), 200, "{}", verified.text().await.unwrap());
    w
}

/// `POST …/sso/domains/{domain}/verify` with `method`.
pub async fn verify_domain(browser: &Browser, org: &str, domain: &str, method: &str) -> reqwest::Response {
    browser
        .send(
            Method::POST,
            &format!("/api/v1/orgs/{org}/sso/domains/{domain}/verify"),
            Some(json!({ "method": method })),
        )
        .await
}

/// Acme with SSO claiming `acme.test`, not yet proven.
pub async fn world_unverified(jit: bool) -> World {
    let dns = Dns::start().await;
    let app = app_at_its_public_url(&dns).await;
    let idp = Idp::start(
        &app,
        &[
            IdpClient {
                client_id: "acme",
                client_secret: ACME_SECRET,
            },
            IdpClient {
                client_id: "globex",
                client_secret: "globex-client-secret-012345",
            },
        ],
    );
    app.create_operator("ada@example.com", PASSWORD).await;
    let ada = login(&app, "ada@example.com", PASSWORD).await;
    let acme = create_org(&ada, "acme").await;
    let res = put_sso(
        &ada,
        "acme",
        &settings(&idp, "acme", ACME_SECRET, &["acme.test"], jit),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    World {
        app,
        idp,
        dns,
        ada,
        acme,
    }
}

pub fn settings(idp: &Idp, client_id: &str, secret: &str, domains: &[&str], jit: bool) -> Value {
    settings_for(&idp.issuer, client_id, secret, domains, jit)
}

fn settings_for(issuer: &str, client_id: &str, secret: &str, domains: &[&str], jit: bool) -> Value {
    json!({
        "enabled": true,
        "issuer": issuer,
        "client_id": client_id,
        "client_secret": secret,
        "email_domains": domains,
        "jit_provisioning": jit,
        "default_role": "contributor",
    })
}

/// "Test connection" for `issuer`: the result document.
async fn test_connection(browser: &Browser, issuer: &str) -> Value {
    let body = json!({ "issuer": issuer });
    let res = browser
        .send(Method::POST, "/api/v1/orgs/acme/sso/test", Some(body))
        .await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

pub async fn put_sso(browser: &Browser, org: &str, body: &Value) -> reqwest::Response {
    browser
        .send(
            Method::PUT,
            &format!("/api/v1/orgs/{org}/sso"),
            Some(body.clone()),
        )
        .await
}

/// A browser that walks redirects by hand, keeping cookies, and stops before
/// Attest's callback so a test can look at (or tamper with) it.
pub struct Walker {
    client: reqwest::Client,
    jar: std::sync::Arc<reqwest::cookie::Jar>,
}

impl Walker {
    pub fn new() -> Walker {
        Walker::with_jar(std::sync::Arc::new(reqwest::cookie::Jar::default()))
    }

    /// A walker keeping its cookies in `jar` (a signed-in browser's, say).
    pub fn with_jar(jar: std::sync::Arc<reqwest::cookie::Jar>) -> Walker {
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Walker { client, jar }
    }

    /// Follows redirects from `url` until one points at `stop_at` (returned) or
    /// an answer is not a redirect (returned as its URL and response).
    pub async fn walk(&self, url: &str, stop_at: &str) -> Result<String, (String, reqwest::Response)> {
        let mut url = url.to_owned();
        for _ in 0..20 {
            if url.starts_with(stop_at) {
                return Ok(url);
            }
            let res = self.client.get(&url).send().await.unwrap();
            if !res.status().is_redirection() {
                return Err((url, res));
            }
            let location = res.headers()["location"].to_str().unwrap();
            url = reqwest::Url::parse(&url)
                .unwrap()
                .join(location)
                .unwrap()
                .to_string();
        }
        panic!("too many redirects");
    }

    /// Starts SSO at Attest and walks through the IdP to Attest's callback URL.
    pub async fn to_callback(&self, app: &TestApp, start: &str) -> String {
        match self.walk(&app.url(start), &app.url("/auth/sso/callback")).await {
            Ok(callback) => callback,
            Err((url, res)) => panic!("stopped at {url}: {} {}", res.status(), res.text().await.unwrap()),
        }
    }

    /// Calls the callback; the `302` answer.
    pub async fn callback(&self, url: &str) -> reqwest::Response {
        let res = self.client.get(url).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FOUND, "{url}");
        res
    }

    /// Signs out at the IdP (RP-independent end-session, confirming its form),
    /// which makes the IdP send back-channel logout tokens to its clients.
    async fn sign_out_at(&self, idp: &Idp) {
        let page = self
            .client
            .get(format!("{}/session/end", idp.issuer))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let xsrf = page
            .split("name=\"xsrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("the IdP's sign-out form: {page}"))
            .to_owned();
        let res = self
            .client
            .post(format!("{}/session/end/confirm", idp.issuer))
            .form(&[("xsrf", xsrf.as_str()), ("logout", "yes")])
            .send()
            .await
            .unwrap();
        assert!(
            res.status().is_redirection() || res.status().is_success(),
            "{}",
            res.status()
        );
    }

    pub fn has_session(&self, app: &TestApp) -> bool {
        use reqwest::cookie::CookieStore as _;
        self.jar
            .cookies(&app.address.parse().unwrap())
            .is_some_and(|c| c.to_str().unwrap().contains("attest_session="))
    }

    pub async fn session(&self, app: &TestApp) -> reqwest::Response {
        self.client.get(app.url("/auth/session")).send().await.unwrap()
    }

    /// The signed-in walker as a browser that calls the API (with its CSRF token).
    pub async fn browser(&self, app: &TestApp) -> Browser {
        let session: Value = self.session(app).await.json().await.unwrap();
        Browser {
            client: reqwest::Client::builder()
                .cookie_provider(self.jar.clone())
                .build()
                .unwrap(),
            jar: self.jar.clone(),
            csrf: session["csrf_token"].as_str().expect("signed in").to_owned(),
            base: app.address.clone(),
        }
    }
}

/// Signs `account` in through `start`; the walker holds the session.
pub async fn sign_in(w: &World, account: &str, start: &str) -> (Walker, reqwest::Response) {
    w.idp.next_login(account).await;
    let walker = Walker::new();
    let callback = walker.to_callback(&w.app, start).await;
    let res = walker.callback(&callback).await;
    (walker, res)
}

/// The org's SSO sign-in failures, newest last: their reasons.
pub async fn refusals(app: &TestApp, org: Uuid) -> Vec<String> {
    events(app, org)
        .await
        .into_iter()
        .filter(|e| e.action == "auth.signed_in" && e.outcome == Outcome::Failure)
        .map(|e| e.metadata["reason"].as_str().unwrap().to_owned())
        .collect()
}

async fn assert_refused(w: &World, walker: &Walker, res: reqwest::Response, reason: &str) {
    assert_refused_in(&w.app, w.acme, walker, res, reason).await;
}

/// The callback answered with a refusal for `reason`: no session, and the
/// org's trail records it.
pub async fn assert_refused_in(
    app: &TestApp,
    org: Uuid,
    walker: &Walker,
    res: reqwest::Response,
    reason: &str,
) {
    assert_eq!(location(&res), format!("/sign-in?sso_error={reason}"));
    assert!(!walker.has_session(app), "no session cookie after {reason}");
    assert_eq!(walker.session(app).await.status(), 401);
    assert_eq!(refusals(app, org).await.last().map(String::as_str), Some(reason));
}

#[tokio::test]
async fn settings_keep_the_secret_write_only_and_audit_the_change_without_it() {
    let w = world(true).await;
    let res = w.ada.get("/api/v1/orgs/acme/sso").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], "\"1\"");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["client_secret_set"], true);
    assert_eq!(body["email_domains"], json!(["acme.test"]));
    assert_eq!(body["redirect_uri"], w.app.url("/auth/sso/callback"));
    assert!(!body.to_string().contains(ACME_SECRET));

    // Absent keeps the secret; the change is audited with before and after, never the secret.
    let mut keep = settings(
        &w.idp,
        "acme",
        ACME_SECRET,
        &["acme.test", "ACME-corp.test"],
        false,
    );
    keep.as_object_mut().unwrap().remove("client_secret");
    let res = put_sso(&w.ada, "acme", &keep).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["client_secret_set"], true);
    assert_eq!(body["email_domains"], json!(["acme-corp.test", "acme.test"]));
    assert_eq!(body["version"], 2);
    let all = events(&w.app, w.acme).await;
    let updates: Vec<&AuditEvent> = all.iter().filter(|e| e.action == "sso.updated").collect();
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[0].metadata["after"]["credential_replaced"], true);
    assert_eq!(updates[1].metadata["before"]["jit_provisioning"], true);
    assert_eq!(updates[1].metadata["after"]["jit_provisioning"], false);
    for event in &all {
        assert!(!serde_json::to_string(event).unwrap().contains(ACME_SECRET));
    }

    // A stale version is refused.
    let res = w
        .ada
        .request(Method::PUT, "/api/v1/orgs/acme/sso")
        .header("if-match", "\"1\"")
        .json(&keep)
        .send()
        .await
        .unwrap();
    assert_problem(res, 412, "precondition_failed").await;
}

#[tokio::test]
async fn bad_settings_are_refused_with_every_problem_named() {
    let w = world(true).await;
    let res = put_sso(
        &w.ada,
        "acme",
        &json!({"enabled": true, "issuer": "not a url", "client_id": "", "email_domains": ["nodot"], "default_role": "owner"}),
    )
    .await;
    let problem = assert_problem(res, 400, "validation_failed").await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["issuer", "client_id", "email_domains", "default_role"]);

    // An issuer whose discovery document cannot be fetched.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let mut body = settings(&w.idp, "acme", ACME_SECRET, &["acme.test"], true);
    body["issuer"] = json!(dead);
    let problem = assert_problem(put_sso(&w.ada, "acme", &body).await, 400, "validation_failed").await;
    assert!(problem["errors"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("discovery failed"));

    // An issuer that names itself differently (a trailing slash is another issuer).
    body["issuer"] = json!(format!("{}/", w.idp.issuer));
    assert_problem(put_sso(&w.ada, "acme", &body).await, 400, "validation_failed").await;

    // A domain another org has verified.
    create_org(&w.ada, "globex").await;
    let res = put_sso(
        &w.ada,
        "globex",
        &settings(&w.idp, "globex", "x", &["acme.test"], true),
    )
    .await;
    assert_problem(res, 409, "conflict").await;

    // "Test connection" fetches discovery without saving.
    let result = test_connection(&w.ada, &w.idp.issuer).await;
    assert_eq!(result["ok"], true);
    assert_eq!(result["authorization_endpoint"], format!("{}/auth", w.idp.issuer));
    let result = test_connection(&w.ada, &dead).await;
    assert_eq!(result["ok"], false);
}

#[tokio::test]
async fn a_new_user_signs_in_by_email_and_is_provisioned_with_the_default_role() {
    let w = world(true).await;
    w.idp.add_account("bob-sub", "bob@acme.test", true).await;
    let (walker, res) = sign_in(
        &w,
        "bob-sub",
        "/auth/sso/start?email=Bob@acme.test&return_to=/orgs/acme",
    )
    .await;
    assert_eq!(location(&res), "/orgs/acme");
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(walker.has_session(&w.app));
    let session: Value = walker.session(&w.app).await.json().await.unwrap();
    assert_eq!(session["user"]["email"], "bob@acme.test");
    assert_eq!(session["user"]["name"], "User bob-sub");

    let members: Value = w.ada.get("/api/v1/orgs/acme/members").await.json().await.unwrap();
    let bob = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == "bob@acme.test")
        .expect("bob is a member");
    assert_eq!(bob["roles"], json!(["contributor"]));

    // One event for the one action, saying how Bob joined.
    let mut all = events(&w.app, w.acme).await;
    let signed_in = all.pop().unwrap();
    assert_eq!(signed_in.action, "auth.signed_in");
    assert_eq!(all.last().unwrap().action, "sso.domain_verified");
    assert_eq!(signed_in.request_id.as_deref(), Some(request_id.as_str()));
    assert_eq!(signed_in.actor.display, "bob@acme.test");
    assert_eq!(
        signed_in.metadata,
        json!({"method": "sso", "joined_via": "provisioning", "roles": ["contributor"]})
    );

    // The second time, the same identity signs in again (no second membership).
    let (_, res) = sign_in(&w, "bob-sub", "/auth/sso/start?org=acme").await;
    assert_eq!(location(&res), "/");
    let again = events(&w.app, w.acme).await.pop().unwrap();
    assert_eq!(again.metadata, json!({"method": "sso"}));
}

/// A member's first SSO sign-in links her account, and the members page (kept
/// in memory under the credentials epoch) says so on its next read.
#[tokio::test]
async fn the_members_page_shows_a_members_first_sso_sign_in_at_once() {
    let w = world(false).await;
    w.app
        .add_member(w.acme, "dora@acme.test", PASSWORD, &["auditor"])
        .await;
    let dora_signed_in_with_sso = || async {
        crate::members::acme_member(&w.ada, |m| m["email"] == "dora@acme.test").await["sso"]
            .as_bool()
            .unwrap()
    };
    assert!(!dora_signed_in_with_sso().await);
    assert!(!dora_signed_in_with_sso().await, "read again, from memory");

    w.idp.add_account("dora-sub", "dora@acme.test", true).await;
    let (walker, res) = sign_in(&w, "dora-sub", "/auth/sso/start?org=acme").await;
    assert_eq!(location(&res), "/");
    assert!(walker.has_session(&w.app));
    assert!(dora_signed_in_with_sso().await);
}

#[tokio::test]
async fn without_provisioning_only_members_and_invitees_get_in() {
    let w = world(false).await;
    w.idp.add_account("carol-sub", "carol@acme.test", true).await;
    let (walker, res) = sign_in(&w, "carol-sub", "/auth/sso/start?org=acme").await;
    assert_refused(&w, &walker, res, "not_a_member").await;

    // Invited: the sign-in accepts the invitation with its roles.
    let res = w
        .ada
        .send(
            Method::POST,
            "/api/v1/orgs/acme/invitations",
            Some(json!({"email": "carol@acme.test", "roles": ["auditor"]})),
        )
        .await;
    assert_eq!(res.status(), 201);
    let (walker, res) = sign_in(&w, "carol-sub", "/auth/sso/start?org=acme").await;
    assert_eq!(location(&res), "/");
    assert!(walker.has_session(&w.app));
    let members: Value = w.ada.get("/api/v1/orgs/acme/members").await.json().await.unwrap();
    let carol = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == "carol@acme.test")
        .unwrap()
        .clone();
    assert_eq!(carol["roles"], json!(["auditor"]));

    // Removed: refused, even though the identity is known.
    let res = w
        .ada
        .send(
            Method::DELETE,
            &format!("/api/v1/orgs/acme/members/{}", carol["user_id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    let (walker, res) = sign_in(&w, "carol-sub", "/auth/sso/start?org=acme").await;
    assert_refused(&w, &walker, res, "membership_removed").await;
}

#[tokio::test]
async fn the_idp_vouches_only_for_verified_emails_in_its_claimed_domains() {
    let w = world(true).await;
    w.idp.add_account("eve-sub", "eve@acme.test", false).await;
    let (walker, res) = sign_in(&w, "eve-sub", "/auth/sso/start?org=acme").await;
    assert_refused(&w, &walker, res, "email_unverified").await;

    // Ada is an operator elsewhere; Acme's IdP cannot sign in as her.
    w.idp.add_account("mallory-sub", "ada@example.com", true).await;
    let (walker, res) = sign_in(&w, "mallory-sub", "/auth/sso/start?org=acme").await;
    assert_refused(&w, &walker, res, "domain_not_claimed").await;
}

#[tokio::test]
async fn forged_replayed_and_mixed_up_callbacks_are_refused() {
    let w = world(true).await;
    w.idp.add_account("bob-sub", "bob@acme.test", true).await;

    // A state that is not this browser's flow.
    w.idp.next_login("bob-sub").await;
    let walker = Walker::new();
    let callback = walker.to_callback(&w.app, "/auth/sso/start?org=acme").await;
    let forged = replace_param(&callback, "state", "forged-state");
    let res = walker.callback(&forged).await;
    assert_eq!(location(&res), "/sign-in?sso_error=state_invalid");
    assert!(!walker.has_session(&w.app));
    // The flow was used up by the failed attempt: the genuine callback is refused too.
    let res = walker.callback(&callback).await;
    assert_refused(&w, &walker, res, "state_invalid").await;

    // Replay: a callback that worked once does not work again.
    w.idp.next_login("bob-sub").await;
    let walker = Walker::new();
    let callback = walker.to_callback(&w.app, "/auth/sso/start?org=acme").await;
    assert_eq!(location(&walker.callback(&callback).await), "/");
    let replayer = Walker::new();
    let res = replayer.callback(&callback).await;
    assert_eq!(location(&res), "/sign-in?sso_error=state_invalid");
    assert!(!replayer.has_session(&w.app));

    // Mix-up: a response claiming another issuer (RFC 9207 `iss`).
    w.idp.next_login("bob-sub").await;
    let walker = Walker::new();
    let callback = walker.to_callback(&w.app, "/auth/sso/start?org=acme").await;
    let mixed = replace_param(&callback, "iss", "https://idp.globex.example");
    let res = walker.callback(&mixed).await;
    assert_refused(&w, &walker, res, "issuer_mismatch").await;

    // A code from another flow (another client's) does not redeem here.
    w.idp.next_login("bob-sub").await;
    let walker = Walker::new();
    let callback = walker.to_callback(&w.app, "/auth/sso/start?org=acme").await;
    let res = walker
        .callback(&replace_param(&callback, "code", "not-a-real-code"))
        .await;
    assert_refused(&w, &walker, res, "code_exchange_failed").await;

    // Unsafe return_to values never start a flow.
    for target in ["https://evil.example/", "//evil.example", "/\\evil.example"] {
        let res = w
            .app
            .get(&format!(
                "/auth/sso/start?org=acme&return_to={}",
                urlencode(target)
            ))
            .await;
        assert_problem(res, 400, "bad_request").await;
    }
    // Home-realm discovery for the console's email-first sign-in.
    let realm: Value = w
        .app
        .get("/auth/sso/realm?email=someone@ACME.test")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(realm, json!({"sso": true}));
    let realm: Value = w
        .app
        .get("/auth/sso/realm?email=someone@nowhere.test")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(realm, json!({"sso": false}));
    // An email no org claims.
    assert_problem(
        w.app.get("/auth/sso/start?email=x@nowhere.test").await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn back_channel_logout_revokes_the_users_idp_sessions_at_once() {
    let w = world(true).await;
    w.idp.add_account("bob-sub", "bob@acme.test", true).await;
    let (walker, res) = sign_in(&w, "bob-sub", "/auth/sso/start?org=acme").await;
    assert_eq!(location(&res), "/");
    assert_eq!(walker.session(&w.app).await.status(), 200);
    let session = bob_session(&w.app).await;
    assert_eq!(session.auth_method, "sso");
    assert_eq!(session.idp_issuer.as_deref(), Some(w.idp.issuer.as_str()));
    let sid = session.idp_sid.expect("the IdP's session id is kept");

    // Bob signs out at the IdP: it calls Attest back, and his session ends.
    walker.sign_out_at(&w.idp).await;
    for _ in 0..50 {
        if walker.session(&w.app).await.status() == 401 {
            break;
        }
        // The IdP may call back after answering the browser.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(walker.session(&w.app).await.status(), 401);
    let last = events(&w.app, w.acme).await.pop().unwrap();
    assert_eq!(last.action, "auth.backchannel_logout");
    assert_eq!(last.metadata["sessions_revoked"], 1);

    // Crafted logout tokens, signed with the IdP's key: only valid ones count.
    let (walker, _) = sign_in(&w, "bob-sub", "/auth/sso/start?org=acme").await;
    assert_eq!(walker.session(&w.app).await.status(), 200);
    let now = chrono::Utc::now().timestamp();
    let claims = |extra: Value| {
        let mut claims = json!({
            "iss": w.idp.issuer, "aud": "acme", "iat": now, "exp": now + 120, "jti": Uuid::new_v4().to_string(),
            "sub": "bob-sub",
            "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
        });
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        claims
    };
    let post = |token: String| {
        let app = &w.app;
        async move {
            app.post_raw(
                "/auth/sso/backchannel-logout",
                "application/x-www-form-urlencoded",
                format!("logout_token={token}"),
            )
            .await
        }
    };
    // Invalid tokens change nothing.
    let invalid = [
        sign(
            "idp-rotated-key.pem",
            "test-key",
            "logout+jwt",
            &claims(json!({})),
        ),
        sign(
            "idp-test-key.pem",
            "test-key",
            "logout+jwt",
            &claims(json!({"aud": "globex-unknown"})),
        ),
        sign(
            "idp-test-key.pem",
            "test-key",
            "logout+jwt",
            &claims(json!({"nonce": "n"})),
        ),
        sign(
            "idp-test-key.pem",
            "test-key",
            "logout+jwt",
            &claims(json!({"events": {}})),
        ),
        sign(
            "idp-test-key.pem",
            "test-key",
            "logout+jwt",
            &claims(json!({"sub": null})),
        ),
        sign(
            "idp-test-key.pem",
            "test-key",
            "logout+jwt",
            &claims(json!({"iat": now - 3600})),
        ),
        sign("idp-test-key.pem", "test-key", "JWT+bogus", &claims(json!({}))),
        "not.a.jwt".to_owned(),
    ];
    for token in invalid {
        assert_problem(post(token).await, 400, "bad_request").await;
    }
    assert_eq!(walker.session(&w.app).await.status(), 200);

    // A session id that is not this session's ends nothing; this one's does.
    let other_sid = claims(json!({"sub": null, "sid": format!("not-{sid}")}));
    let res = post(sign("idp-test-key.pem", "test-key", "logout+jwt", &other_sid)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(walker.session(&w.app).await.status(), 200);
    let this_sid = claims(json!({"sub": null, "sid": bob_session(&w.app).await.idp_sid.unwrap()}));
    let res = post(sign("idp-test-key.pem", "test-key", "logout+jwt", &this_sid)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(walker.session(&w.app).await.status(), 401);
}

/// Bob's newest session, as stored.
async fn bob_session(app: &TestApp) -> attest_core::store::entities::sessions::Model {
    use attest_core::store::entities::{sessions, users};
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _};
    let bob = users::Entity::find()
        .filter(users::Column::Email.eq("bob@acme.test"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    sessions::Entity::find()
        .filter(sessions::Column::UserId.eq(bob.id))
        .order_by_desc(sessions::Column::CreatedAt)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
}

/// An ID token crafted for one case, from the IdP's issuer and Attest's nonce.
type Case = (&'static str, fn(&str, &str) -> String);

fn good_claims(issuer: &str, nonce: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "iss": issuer, "aud": "acme", "sub": "dana-sub", "nonce": nonce, "iat": now, "exp": now + 300,
        "email": "dana@acme.test", "email_verified": true, "name": "Dana",
    })
}

fn with(issuer: &str, nonce: &str, changes: Value) -> Value {
    let mut claims = good_claims(issuer, nonce);
    for (name, value) in changes.as_object().unwrap() {
        claims[name] = value.clone();
    }
    claims
}

const SIGNED: Signer<'static> = Signer::Rsa {
    key: "idp-test-key.pem",
    kid: "test-key",
};

#[tokio::test]
async fn id_tokens_that_break_any_rule_are_refused_and_a_rotated_key_is_picked_up() {
    let dns = Dns::start().await;
    let app = app_at_its_public_url(&dns).await;
    let fake = FakeIdp::start(&[("idp-test-key.pem", "test-key")]).await;
    app.create_operator("ada@example.com", PASSWORD).await;
    let ada = login(&app, "ada@example.com", PASSWORD).await;
    let acme = create_org(&ada, "acme").await;
    let res = put_sso(
        &ada,
        "acme",
        &settings_for(&fake.issuer, "acme", ACME_SECRET, &["acme.test"], true),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        verify_domain(&ada, "acme", "acme.test", "operator")
            .await
            .status(),
        200
    );

    let cases: [Case; 9] = [
        ("id_token_signature", |iss, nonce| {
            jws(Signer::Unsigned, None, &good_claims(iss, nonce))
        }),
        // HS256 keyed with the client secret: "signed", but never by the IdP's key.
        ("id_token_signature", |iss, nonce| {
            jws(
                Signer::Hs256 { secret: ACME_SECRET },
                None,
                &good_claims(iss, nonce),
            )
        }),
        // Another key under the published key's id.
        ("id_token_signature", |iss, nonce| {
            jws(
                Signer::Rsa {
                    key: "idp-rotated-key.pem",
                    kid: "test-key",
                },
                None,
                &good_claims(iss, nonce),
            )
        }),
        ("id_token_issuer", |iss, nonce| {
            jws(
                SIGNED,
                None,
                &with(iss, nonce, json!({"iss": "https://idp.globex.example"})),
            )
        }),
        ("id_token_audience", |iss, nonce| {
            jws(SIGNED, None, &with(iss, nonce, json!({"aud": "globex"})))
        }),
        ("id_token_expired", |iss, nonce| {
            let now = chrono::Utc::now().timestamp();
            jws(
                SIGNED,
                None,
                &with(iss, nonce, json!({"iat": now - 900, "exp": now - 600})),
            )
        }),
        ("id_token_nonce", |iss, _| {
            jws(SIGNED, None, &good_claims(iss, "a-nonce-from-another-flow"))
        }),
        ("id_token_issue_time", |iss, nonce| {
            let now = chrono::Utc::now().timestamp();
            jws(
                SIGNED,
                None,
                &with(iss, nonce, json!({"iat": now + 3600, "exp": now + 4000})),
            )
        }),
        ("email_unverified", |iss, nonce| {
            jws(SIGNED, None, &with(iss, nonce, json!({"email_verified": false})))
        }),
    ];
    for (reason, craft) in cases {
        let issuer = fake.issuer.clone();
        fake.craft(move |nonce| craft(&issuer, nonce));
        let walker = Walker::new();
        let callback = walker.to_callback(&app, "/auth/sso/start?org=acme").await;
        let res = walker.callback(&callback).await;
        assert_refused_in(&app, acme, &walker, res, reason).await;
    }

    // Discovery follows no redirect and reads no more than 512 KiB.
    for (path, why) in [
        ("redirecting", "redirects are not followed"),
        ("oversized", "exceeds 512 KiB"),
    ] {
        let issuer = format!("{}/{path}", fake.issuer);
        let result = test_connection(&ada, &issuer).await;
        assert_eq!(result["ok"], false, "{path}");
        assert!(
            result["error"].as_str().unwrap().contains(why),
            "{path}: {result}"
        );
    }

    // A good token signs Dana in (and provisions her).
    let issuer = fake.issuer.clone();
    fake.craft(move |nonce| jws(SIGNED, None, &good_claims(&issuer, nonce)));
    let walker = Walker::new();
    let res = walker
        .callback(&walker.to_callback(&app, "/auth/sso/start?org=acme").await)
        .await;
    assert_eq!(location(&res), "/");
    assert!(walker.has_session(&app));

    // The IdP publishes a new key and signs with it: accepted within a minute
    // (keys are fetched again on an unknown `kid`, at most every 10 s).
    fake.publish(&[("idp-test-key.pem", "test-key"), ("idp-rotated-key.pem", "key-2")]);
    let issuer = fake.issuer.clone();
    fake.craft(move |nonce| {
        jws(
            Signer::Rsa {
                key: "idp-rotated-key.pem",
                kid: "key-2",
            },
            None,
            &good_claims(&issuer, nonce),
        )
    });
    let started = std::time::Instant::now();
    loop {
        let walker = Walker::new();
        let res = walker
            .callback(&walker.to_callback(&app, "/auth/sso/start?org=acme").await)
            .await;
        if location(&res) == "/" {
            break;
        }
        assert_eq!(location(&res), "/sign-in?sso_error=id_token_signature");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the new key was never picked up"
        );
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
}

fn replace_param(url: &str, name: &str, value: &str) -> String {
    let mut url = reqwest::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair(name, value);
    url.to_string()
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn in_production_issuers_on_private_addresses_are_refused_before_connecting() {
    let app = spawn_app_with(&[
        ("ATTEST_ENV", "production"),
        ("ATTEST_PUBLIC_URL", "https://attest.example.com"),
        ("ATTEST_SECRET_KEY", TEST_SECRET_KEY),
    ])
    .await;
    // A working IdP, but on loopback: production does not talk to it.
    let fake = FakeIdp::start(&[("idp-test-key.pem", "test-key")]).await;
    let port = fake.issuer.rsplit(':').next().unwrap().to_owned();
    for issuer in [
        fake.issuer.clone(),
        format!("https://localhost:{port}"),
        "https://169.254.169.254".to_owned(),
        "https://10.0.0.1".to_owned(),
    ] {
        let problem = app.state.providers.discover(&issuer).await.unwrap_err();
        assert!(
            problem.0.contains("not a public address"),
            "{issuer}: {}",
            problem.0
        );
    }
}
