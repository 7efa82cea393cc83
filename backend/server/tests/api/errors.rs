//! Every error, whoever produces it, is RFC 9457 problem+json with a contract code.

use crate::helpers::{assert_problem, spawn_app, spawn_app_with};

const LOGIN: &str = "/auth/login";

#[tokio::test]
async fn an_unknown_path_is_a_404_problem() {
    let app = spawn_app().await;
    let body = assert_problem(app.get("/api/v1/nothing-here").await, 404, "not_found").await;
    assert_eq!(body["type"], "urn:attest:problem:not_found");
}

#[tokio::test]
async fn an_unknown_api_version_is_a_404_problem() {
    let app = spawn_app().await;
    assert_problem(app.get("/api/v9/orgs").await, 404, "not_found").await;
}

#[tokio::test]
async fn a_wrong_method_is_a_405_problem_naming_the_allowed_ones() {
    let app = spawn_app().await;
    let res = app.client.delete(app.url("/livez")).send().await.unwrap();
    assert_eq!(res.headers()["allow"], "GET, HEAD");
    assert_problem(res, 405, "bad_request").await;

    let res = app.client.get(app.url(LOGIN)).send().await.unwrap();
    assert_eq!(res.headers()["allow"], "POST");
    assert_problem(res, 405, "bad_request").await;
}

#[tokio::test]
async fn a_wrong_method_on_a_console_page_is_a_405_problem_too() {
    let app = spawn_app().await;
    let res = app.client.post(app.url("/sign-in")).send().await.unwrap();
    assert_problem(res, 405, "bad_request").await;
}

#[tokio::test]
async fn malformed_json_is_a_bad_request() {
    let app = spawn_app().await;
    let res = app.post_raw(LOGIN, "application/json", "{\"email\": ").await;
    assert_problem(res, 400, "bad_request").await;
}

#[tokio::test]
async fn an_unknown_field_is_a_validation_error_naming_it() {
    let app = spawn_app().await;
    let res = app
        .post_json(
            LOGIN,
            &serde_json::json!({"email": "a@example.com", "password": "x", "org_id": "nope"}),
        )
        .await;
    let body = assert_problem(res, 400, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "org_id");
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("unknown field"));
}

#[tokio::test]
async fn a_missing_or_mistyped_field_is_a_validation_error() {
    let app = spawn_app().await;
    let res = app
        .post_json(LOGIN, &serde_json::json!({"email": 42, "password": "x"}))
        .await;
    let body = assert_problem(res, 400, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "email");

    let res = app
        .post_json(LOGIN, &serde_json::json!({"email": "a@example.com"}))
        .await;
    let body = assert_problem(res, 400, "validation_failed").await;
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("password"));
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let app = spawn_app_with(&[("ATTEST_MAX_BODY_BYTES", "2048")]).await;
    let big = serde_json::json!({"email": "a@example.com", "password": "x".repeat(4096)});
    let res = app.post_json(LOGIN, &big).await;
    assert_problem(res, 413, "payload_too_large").await;

    let small = serde_json::json!({"email": "a@example.com", "password": "x".repeat(100)});
    let res = app.post_json(LOGIN, &small).await;
    assert_eq!(res.status(), 401, "a body under the limit is read");
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_413_too() {
    let app = spawn_app_with(&[("ATTEST_MAX_BODY_BYTES", "2048")]).await;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..8).map(|_| Ok(vec![b' '; 1024])).collect();
    let res = app
        .post_raw(
            LOGIN,
            "application/json",
            reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)),
        )
        .await;
    assert_problem(res, 413, "payload_too_large").await;
}

#[tokio::test]
async fn a_non_json_body_on_a_json_route_is_415() {
    let app = spawn_app().await;
    let res = app.post_raw(LOGIN, "text/plain", "email=a&password=b").await;
    assert_problem(res, 415, "unsupported_media_type").await;
}

#[tokio::test]
async fn sign_in_with_unknown_credentials_is_invalid_credentials() {
    let app = spawn_app().await;
    let res = app
        .post_json(
            LOGIN,
            &serde_json::json!({"email": "nobody@example.com", "password": "whatever"}),
        )
        .await;
    assert_problem(res, 401, "invalid_credentials").await;
}

#[tokio::test]
async fn a_browser_gets_a_friendly_html_404_page() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/no/such/page"))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = res.text().await.unwrap();
    assert!(html.contains("Page not found"), "{html}");
}
