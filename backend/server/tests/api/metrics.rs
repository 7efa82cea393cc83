use crate::helpers::{assert_problem, spawn_app, spawn_app_with};

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_status() {
    let app = spawn_app().await;
    app.get("/livez").await;
    app.get("/livez").await;
    app.get("/no-such-path").await;
    let res = app.get("/metrics").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("openmetrics-text"));
    let text = res.text().await.unwrap();
    assert!(
        text.contains(r#"attest_http_requests_total{method="GET",route="/livez",status="200"} 2"#),
        "{text}"
    );
    assert!(
        text.contains(r#"attest_http_request_duration_seconds_bucket{le="#),
        "{text}"
    );
    assert!(text.contains("attest_http_requests_in_flight"), "{text}");
    assert!(
        text.contains(r#"attest_db_pool_connections{state="idle"}"#),
        "{text}"
    );
    assert!(text.contains("attest_db_pool_max_connections"), "{text}");
    assert!(!text.contains("/no-such-path"), "raw paths never become labels");
}

#[tokio::test]
async fn a_configured_token_protects_the_metrics() {
    let app = spawn_app_with(&[("ATTEST_METRICS_TOKEN", "scrape-token-123")]).await;
    assert_problem(app.get("/metrics").await, 401, "unauthenticated").await;
    let wrong = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-token-124")
        .send()
        .await
        .unwrap();
    assert_problem(wrong, 401, "unauthenticated").await;
    let right = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-token-123")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
}
