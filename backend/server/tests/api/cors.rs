//! CORS: the partner API answers the configured origins (never with credentials,
//! never `null`); the console's routes answer no cross-origin request.

use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::{
    auth::PASSWORD,
    helpers::{assert_problem, spawn_app_with, TestApp},
    world::{acme_with, Acme},
};

const PARTNER: &str = "https://partner.example.com";

async fn preflight(app: &TestApp, path: &str, origin: &str) -> Response {
    app.client
        .request(Method::OPTIONS, app.url(path))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type, idempotency-key",
        )
        .send()
        .await
        .unwrap()
}

async fn get_from(app: &TestApp, path: &str, origin: &str) -> Response {
    app.client
        .get(app.url(path))
        .header("origin", origin)
        .send()
        .await
        .unwrap()
}

fn allowed_origin(res: &Response) -> Option<String> {
    res.headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn the_partner_api_answers_listed_origins_without_credentials() {
    let app = spawn_app_with(&[("ATTEST_ALLOWED_ORIGINS", PARTNER)]).await;
    let res = preflight(&app, "/api/v1/orgs/acme/api-keys", PARTNER).await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(allowed_origin(&res).as_deref(), Some(PARTNER));
    assert!(res.headers().get("access-control-allow-credentials").is_none());
    let allowed_headers = res.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    for header in ["authorization", "idempotency-key"] {
        assert!(allowed_headers.contains(header), "{allowed_headers}");
    }

    let res = get_from(&app, "/api/v1/audit/checkpoint-key", PARTNER).await;
    assert_eq!(res.status(), 200);
    assert_eq!(allowed_origin(&res).as_deref(), Some(PARTNER));
    let exposed = res.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    for header in ["x-request-id", "x-ratelimit-remaining", "retry-after", "etag"] {
        assert!(exposed.contains(header), "{exposed}");
    }
}

#[tokio::test]
async fn other_origins_and_null_are_refused_and_the_console_is_same_origin_only() {
    let app = spawn_app_with(&[("ATTEST_ALLOWED_ORIGINS", PARTNER)]).await;
    for origin in [
        "https://evil.example.com",
        "null",
        "https://partner.example.com.evil.example",
    ] {
        let res = preflight(&app, "/api/v1/me", origin).await;
        assert!(!res.status().is_success(), "{origin}: {}", res.status());
        assert_eq!(allowed_origin(&res), None, "{origin}");
        let res = get_from(&app, "/api/v1/audit/checkpoint-key", origin).await;
        assert_eq!(allowed_origin(&res), None, "{origin}");
    }
    // Sign-in and the console's pages never answer another origin.
    for path in ["/auth/login", "/auth/session", "/"] {
        let res = preflight(&app, path, PARTNER).await;
        assert_eq!(allowed_origin(&res), None, "{path}");
        let res = get_from(&app, path, PARTNER).await;
        assert_eq!(allowed_origin(&res), None, "{path}");
    }
    // A cookie never rides along: the console's own session is not for partners.
    app.create_operator("ada@example.com", PASSWORD).await;
    let ada = crate::auth::login(&app, "ada@example.com", PASSWORD).await;
    let res = ada
        .client
        .get(app.url("/api/v1/me"))
        .header("origin", PARTNER)
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-credentials").is_none());
}

#[tokio::test]
async fn answers_made_before_the_handler_carry_cors_too() {
    let Acme { app, ada, .. } = acme_with(&[
        ("ATTEST_ALLOWED_ORIGINS", PARTNER),
        ("ATTEST_RATE_LIMIT_PER_MINUTE", "4"),
    ])
    .await;
    let made: Value = ada
        .send(
            Method::POST,
            "/api/v1/orgs/acme/api-keys",
            Some(json!({"name": "partner", "permissions": ["org:read", "roles:manage"]})),
        )
        .await
        .json()
        .await
        .unwrap();
    let key = made["key"].as_str().unwrap();
    let create_role = |name: &str| {
        app.client
            .post(app.url("/api/v1/orgs/acme/roles"))
            .header("origin", PARTNER)
            .bearer_auth(key)
            .header("idempotency-key", "once")
            .json(&json!({"name": name, "permissions": ["org:read"]}))
    };
    let first = create_role("partner-made").send().await.unwrap();
    assert_eq!(first.status(), 201);
    assert_eq!(allowed_origin(&first).as_deref(), Some(PARTNER));
    let replay = create_role("partner-made").send().await.unwrap();
    assert_eq!(replay.headers()["idempotency-replayed"], "true");
    assert_eq!(allowed_origin(&replay).as_deref(), Some(PARTNER), "a replay");
    let conflict = create_role("another").send().await.unwrap();
    assert_eq!(allowed_origin(&conflict).as_deref(), Some(PARTNER), "a conflict");
    assert_problem(conflict, 409, "conflict").await;
    let refused = app
        .client
        .get(app.url("/api/v1/orgs/acme"))
        .header("origin", PARTNER)
        .bearer_auth("atk_0123456789abcdef_00")
        .send()
        .await
        .unwrap();
    assert_eq!(
        allowed_origin(&refused).as_deref(),
        Some(PARTNER),
        "a refused key"
    );
    assert_problem(refused, 401, "unauthenticated").await;
    create_role("partner-made").send().await.unwrap();
    let limited = create_role("partner-made").send().await.unwrap();
    assert_eq!(allowed_origin(&limited).as_deref(), Some(PARTNER), "a rate limit");
    let exposed = limited.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(exposed.contains("retry-after"), "{exposed}");
    assert_problem(limited, 429, "rate_limited").await;
}

#[tokio::test]
async fn a_wildcard_in_development_never_comes_with_credentials() {
    let app = spawn_app_with(&[("ATTEST_ALLOWED_ORIGINS", "*")]).await;
    let res = get_from(&app, "/api/v1/audit/checkpoint-key", "https://anyone.example").await;
    assert_eq!(allowed_origin(&res).as_deref(), Some("*"));
    assert!(res.headers().get("access-control-allow-credentials").is_none());
}

#[tokio::test]
async fn unknown_api_versions_and_paths_are_404_problems() {
    let app = spawn_app_with(&[]).await;
    for path in ["/api/v2/orgs", "/api/v1/nothing-here", "/api/v0/me"] {
        let res = app
            .client
            .get(app.url(path))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_problem(res, 404, "not_found").await;
    }
}
