//! `/auth/*` is rate limited per client IP, with the contract's headers.

use serde_json::json;

use crate::helpers::{assert_problem, spawn_app_with, TestApp};

async fn attempt(app: &TestApp, forwarded_for: Option<&str>) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url("/auth/login"))
        .json(&json!({"email": "nobody@example.com", "password": "whatever it is"}));
    if let Some(ip) = forwarded_for {
        req = req.header("x-forwarded-for", ip);
    }
    req.send().await.unwrap()
}

/// The value of the header `name`, which must be there.
pub fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name}"))
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn sign_in_attempts_are_limited_per_ip_with_standard_headers() {
    let app = spawn_app_with(&[("ATTEST_AUTH_RATE_LIMIT_PER_MINUTE", "3")]).await;
    for remaining in ["2", "1", "0"] {
        let res = attempt(&app, None).await;
        assert_eq!(res.status(), 401);
        assert_eq!(header(&res, "x-ratelimit-limit"), "3");
        assert_eq!(header(&res, "x-ratelimit-remaining"), remaining);
        assert!(header(&res, "x-ratelimit-reset").parse::<u64>().unwrap() <= 60);
        assert_eq!(header(&res, "ratelimit-policy"), "\"auth\";q=3;w=60");
        assert!(header(&res, "ratelimit").starts_with(&format!("\"auth\";r={remaining};t=")));
    }
    let refused = attempt(&app, None).await;
    let retry_after: u64 = header(&refused, "retry-after")
        .parse()
        .expect("integer Retry-After");
    assert!((1..=20).contains(&retry_after), "{retry_after}");
    assert_eq!(header(&refused, "x-ratelimit-remaining"), "0");
    assert!(refused.headers().contains_key("x-request-id"));
    assert!(refused.headers().contains_key("content-security-policy"));
    assert_problem(refused, 429, "rate_limited").await;

    // A spoofed X-Forwarded-For from an untrusted peer changes nothing.
    assert_eq!(attempt(&app, Some("198.51.100.1")).await.status(), 429);
    // Routes outside /auth are not counted against it.
    assert_eq!(app.get("/livez").await.status(), 200);
}

#[tokio::test]
async fn the_consoles_session_check_is_not_a_sign_in_attempt() {
    let app = spawn_app_with(&[("ATTEST_AUTH_RATE_LIMIT_PER_MINUTE", "3")]).await;
    app.create_user("ada@example.com", "a quiet violet harbour").await;
    let browser = crate::auth::login(&app, "ada@example.com", "a quiet violet harbour").await;
    // Every page the console shows asks who is signed in.
    for _ in 0..10 {
        assert_eq!(browser.get("/auth/session").await.status(), 200);
    }
    assert_eq!(
        app.get("/auth/session").await.status(),
        401,
        "nobody, unlimited by sign-in's budget"
    );
    // The sign-in that made the session counted; the checks did not.
    for remaining in ["1", "0"] {
        let res = attempt(&app, None).await;
        assert_eq!(res.status(), 401);
        assert_eq!(header(&res, "x-ratelimit-remaining"), remaining);
    }
    assert_eq!(attempt(&app, None).await.status(), 429);
    assert_eq!(
        browser.get("/auth/session").await.status(),
        200,
        "still signed in"
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_budget() {
    let app = spawn_app_with(&[
        ("ATTEST_AUTH_RATE_LIMIT_PER_MINUTE", "2"),
        ("ATTEST_TRUSTED_PROXIES", "127.0.0.1/32"),
    ])
    .await;
    for _ in 0..2 {
        assert_eq!(attempt(&app, Some("198.51.100.1")).await.status(), 401);
    }
    assert_eq!(attempt(&app, Some("198.51.100.1")).await.status(), 429);
    assert_eq!(
        attempt(&app, Some("198.51.100.2")).await.status(),
        401,
        "another client"
    );
}
