//! Password sign-in, sessions, CSRF and lockout.

use std::time::Duration;

use reqwest::{header, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, spawn_app_with, TestApp, TEST_SECRET_KEY};

pub const PASSWORD: &str = "a quiet violet harbour";

/// A browser-like client signed in through `/auth/login`.
#[derive(Clone)]
pub struct Browser {
    pub client: reqwest::Client,
    pub jar: std::sync::Arc<reqwest::cookie::Jar>,
    pub csrf: String,
    pub base: String,
}

impl Browser {
    /// The `Cookie` header this browser sends, to replay by hand.
    pub fn cookie_header(&self) -> String {
        use reqwest::cookie::CookieStore as _;
        let url = self.base.parse().unwrap();
        self.jar
            .cookies(&url)
            .expect("a session cookie")
            .to_str()
            .unwrap()
            .to_owned()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    /// The same browser talking to another server instance (cookies are per host,
    /// not per port, and every instance shares the database and server key).
    pub fn against(&self, app: &TestApp) -> Browser {
        self.at(&app.address)
    }

    /// The same browser talking to the server at `base` (`http://host:port`).
    pub fn at(&self, base: &str) -> Browser {
        Browser {
            base: base.to_owned(),
            ..self.clone()
        }
    }

    /// An unsafe request with the CSRF token, to add headers to before sending.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .header("x-csrf-token", &self.csrf)
    }

    /// An unsafe request with the CSRF token, as the console sends it.
    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> reqwest::Response {
        let mut req = self.request(method, path);
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.unwrap()
    }
}

pub fn cookie_client() -> (reqwest::Client, std::sync::Arc<reqwest::cookie::Jar>) {
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let client = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .build()
        .unwrap();
    (client, jar)
}

pub async fn login(app: &TestApp, email: &str, password: &str) -> Browser {
    let (client, jar) = cookie_client();
    let res = client
        .post(app.url("/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "login of {email}");
    let body: Value = res.json().await.unwrap();
    Browser {
        client,
        jar,
        csrf: body["csrf_token"].as_str().unwrap().to_owned(),
        base: app.address.clone(),
    }
}

pub async fn login_attempt(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/auth/login"))
        .header("x-request-id", "fixed-id")
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_operator_signs_in_and_gets_a_session_cookie_and_csrf_token() {
    let app = spawn_app().await;
    app.create_operator("ada@example.com", PASSWORD).await;
    let res = login_attempt(&app, " Ada@Example.com ", PASSWORD).await;
    assert_eq!(res.status(), 200);
    let cookie = res.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("attest_session="), "{cookie}");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} missing: {cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "development cookies work over http: {cookie}"
    );
    assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["email"], "ada@example.com");
    assert!(body["user"]["id"].is_string() && body["user"]["name"].is_string());
    assert!(body["csrf_token"].as_str().unwrap().len() >= 32);
}

#[tokio::test]
async fn production_cookies_are_host_prefixed_and_secure() {
    let app = spawn_app_with(&[
        ("ATTEST_ENV", "production"),
        ("ATTEST_PUBLIC_URL", "https://attest.example.com"),
        ("ATTEST_SECRET_KEY", TEST_SECRET_KEY),
    ])
    .await;
    app.create_operator("ada@example.com", PASSWORD).await;
    let res = login_attempt(&app, "ada@example.com", PASSWORD).await;
    let cookie = res.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-attest_session="), "{cookie}");
    assert!(cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("Path=/"));
    assert!(!cookie.contains("Domain="));
}

#[tokio::test]
async fn unknown_user_wrong_password_and_locked_account_answer_identically() {
    let app = spawn_app_with(&[("ATTEST_LOGIN_MAX_FAILURES", "2")]).await;
    app.create_operator("ada@example.com", PASSWORD).await;

    let unknown = login_attempt(&app, "nobody@example.com", PASSWORD).await;
    let unknown = (unknown.status(), unknown.text().await.unwrap());
    let wrong = login_attempt(&app, "ada@example.com", "not the password").await;
    let wrong = (wrong.status(), wrong.text().await.unwrap());
    login_attempt(&app, "ada@example.com", "not the password").await; // locks
    let locked = login_attempt(&app, "ada@example.com", PASSWORD).await;
    let locked = (locked.status(), locked.text().await.unwrap());

    assert_eq!(unknown.0, StatusCode::UNAUTHORIZED);
    assert!(unknown.1.contains("\"code\":\"invalid_credentials\""));
    assert_eq!(unknown, wrong);
    assert_eq!(
        unknown, locked,
        "a locked account with the right password looks the same"
    );
}

#[tokio::test]
async fn a_lock_expires_and_success_resets_the_failure_count() {
    let app = spawn_app_with(&[
        ("ATTEST_LOGIN_MAX_FAILURES", "3"),
        ("ATTEST_LOGIN_LOCKOUT_SECONDS", "2"),
    ])
    .await;
    app.create_operator("ada@example.com", PASSWORD).await;

    // Two failures, a success, two more failures: never three in a row, never locked.
    for _ in 0..2 {
        assert_eq!(
            login_attempt(&app, "ada@example.com", "wrong password!")
                .await
                .status(),
            401
        );
    }
    assert_eq!(
        login_attempt(&app, "ada@example.com", PASSWORD).await.status(),
        200
    );
    for _ in 0..2 {
        assert_eq!(
            login_attempt(&app, "ada@example.com", "wrong password!")
                .await
                .status(),
            401
        );
    }
    assert_eq!(
        login_attempt(&app, "ada@example.com", PASSWORD).await.status(),
        200
    );

    for _ in 0..3 {
        login_attempt(&app, "ada@example.com", "wrong password!").await;
    }
    assert_eq!(
        login_attempt(&app, "ada@example.com", PASSWORD).await.status(),
        401,
        "locked"
    );
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(
        login_attempt(&app, "ada@example.com", PASSWORD).await.status(),
        200,
        "lock expired"
    );
}

#[tokio::test]
async fn every_login_gets_a_fresh_session_token() {
    let app = spawn_app().await;
    app.create_operator("ada@example.com", PASSWORD).await;
    let browser = login(&app, "ada@example.com", PASSWORD).await;
    let first = browser.get("/auth/session").await.json::<Value>().await.unwrap();
    // Signing in again from the same browser replaces the cookie.
    let res = browser
        .client
        .post(app.url("/auth/login"))
        .json(&json!({"email": "ada@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let second: Value = res.json().await.unwrap();
    assert_ne!(
        first["csrf_token"], second["csrf_token"],
        "a new session, not the old one"
    );
    let sessions: Value = browser.get("/api/v1/me/sessions").await.json().await.unwrap();
    assert_eq!(sessions["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn logout_revokes_the_session_on_its_next_request() {
    let app = spawn_app().await;
    app.create_operator("ada@example.com", PASSWORD).await;
    let browser = login(&app, "ada@example.com", PASSWORD).await;
    let cookie_header = browser.cookie_header();
    assert_eq!(browser.get("/api/v1/me").await.status(), 200);

    let res = browser.send(reqwest::Method::POST, "/auth/logout", None).await;
    assert_eq!(res.status(), 204);
    // The old cookie value, replayed by hand, is dead.
    let replay = app
        .client
        .get(app.url("/api/v1/me"))
        .header("cookie", cookie_header)
        .send()
        .await
        .unwrap();
    assert_problem(replay, 401, "unauthenticated").await;
}

#[tokio::test]
async fn revoking_one_session_leaves_the_other_working() {
    let app = spawn_app().await;
    app.create_operator("ada@example.com", PASSWORD).await;
    let laptop = login(&app, "ada@example.com", PASSWORD).await;
    let phone = login(&app, "ada@example.com", PASSWORD).await;

    let sessions: Value = laptop.get("/api/v1/me/sessions").await.json().await.unwrap();
    let items = sessions["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let phone_session = items.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = laptop
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/me/sessions/{phone_session}"),
            None,
        )
        .await;
    assert_eq!(res.status(), 204);

    assert_problem(phone.get("/api/v1/me").await, 401, "unauthenticated").await;
    assert_eq!(laptop.get("/api/v1/me").await.status(), 200);
}

#[tokio::test]
async fn another_users_session_cannot_be_revoked() {
    let app = spawn_app().await;
    app.create_operator("ada@example.com", PASSWORD).await;
    app.create_operator("bob@example.com", PASSWORD).await;
    let ada = login(&app, "ada@example.com", PASSWORD).await;
    let bob = login(&app, "bob@example.com", PASSWORD).await;
    let bobs: Value = bob.get("/api/v1/me/sessions").await.json().await.unwrap();
    let bob_session = bobs["items"][0]["id"].as_str().unwrap().to_owned();
    let res = ada
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/me/sessions/{bob_session}"),
            None,
        )
        .await;
    assert_problem(res, 404, "not_found").await;
    assert_eq!(bob.get("/api/v1/me").await.status(), 200);
}

#[tokio::test]
async fn an_idle_session_expires_to_the_second() {
    let app = spawn_app_with(&[("ATTEST_SESSION_IDLE_SECONDS", "2")]).await;
    app.create_operator("ada@example.com", PASSWORD).await;
    let browser = login(&app, "ada@example.com", PASSWORD).await;
    // Activity keeps it alive well past the idle timeout...
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(browser.get("/api/v1/me").await.status(), 200);
    }
    // ...and idleness ends it.
    tokio::time::sleep(Duration::from_millis(2300)).await;
    assert_problem(browser.get("/api/v1/me").await, 401, "unauthenticated").await;
}

#[tokio::test]
async fn unsafe_requests_need_the_csrf_token_and_the_same_origin() {
    let app = spawn_app().await;
    app.create_operator("ada@example.com", PASSWORD).await;
    let browser = login(&app, "ada@example.com", PASSWORD).await;
    let url = app.url("/auth/logout");

    let missing = browser.client.post(&url).send().await.unwrap();
    assert_problem(missing, 403, "forbidden").await;
    let wrong = browser
        .client
        .post(&url)
        .header("x-csrf-token", "nope")
        .send()
        .await
        .unwrap();
    assert_problem(wrong, 403, "forbidden").await;
    let cross = browser
        .client
        .post(&url)
        .header("x-csrf-token", &browser.csrf)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_problem(cross, 403, "forbidden").await;
    let cross_site = browser
        .client
        .post(&url)
        .header("x-csrf-token", &browser.csrf)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_problem(cross_site, 403, "forbidden").await;
    // None of those signed the user out.
    assert_eq!(browser.get("/api/v1/me").await.status(), 200);

    let same = browser
        .client
        .post(&url)
        .header("x-csrf-token", &browser.csrf)
        .header("origin", "http://127.0.0.1:8080")
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), 204, "the configured public origin is accepted");
}

#[tokio::test]
async fn a_cookie_together_with_an_authorization_header_is_a_bad_request() {
    let app = spawn_app().await;
    app.create_operator("ada@example.com", PASSWORD).await;
    let browser = login(&app, "ada@example.com", PASSWORD).await;
    let res = browser
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth("atk_x_y")
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "bad_request").await;
}

#[tokio::test]
async fn protected_routes_answer_401_without_a_session() {
    let app = spawn_app().await;
    for path in [
        "/auth/session",
        "/api/v1/me",
        "/api/v1/me/sessions",
        "/api/v1/orgs",
    ] {
        assert_problem(app.get(path).await, 401, "unauthenticated").await;
    }
    let res = app
        .client
        .get(app.url("/api/v1/me"))
        .header("cookie", "attest_session=forged")
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "unauthenticated").await;
}

#[tokio::test]
async fn the_session_endpoint_reports_user_csrf_and_expiry() {
    let app = spawn_app().await;
    app.create_operator("ada@example.com", PASSWORD).await;
    let browser = login(&app, "ada@example.com", PASSWORD).await;
    let res = browser.get("/auth/session").await;
    assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["email"], "ada@example.com");
    assert_eq!(body["csrf_token"], browser.csrf.as_str());
    let expires = chrono::DateTime::parse_from_rfc3339(body["expires_at"].as_str().unwrap()).unwrap();
    let in_an_hour = chrono::Utc::now() + chrono::Duration::seconds(3600);
    assert!(
        (expires.timestamp() - in_an_hour.timestamp()).abs() <= 5,
        "{expires}"
    );
}
