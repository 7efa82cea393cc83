//! How many database statements a request runs, read from the server's own
//! `attest_http_request_db_statements` histogram: the checks (credential,
//! org, grants) come from memory once verified, so a keyed or signed-in read
//! asks the database for the credentials epoch and for its data only.

use reqwest::Method;
use serde_json::{json, Value};

use crate::{
    api_keys::{get_with, key_of},
    helpers::TestApp,
    world::{acme, Acme},
};

/// (sum, count) of the statements-per-request histogram for one route's 200s.
async fn statements(app: &TestApp, method: &str, route: &str) -> (f64, u64) {
    let text = app.get("/metrics").await.text().await.unwrap();
    let series = |suffix: &str| {
        let name = format!(
            "attest_http_request_db_statements_{suffix}{{method=\"{method}\",route=\"{route}\",status=\"200\"}}"
        );
        text.lines()
            .find_map(|line| line.strip_prefix(name.as_str()))
            .map_or(0.0, |value| value.trim().parse::<f64>().unwrap())
    };
    (series("sum"), series("count") as u64)
}

/// The statements one more request to `path` runs, once caches are warm.
async fn statements_of<F, Fut>(app: &TestApp, method: &str, route: &str, request: F) -> f64
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = reqwest::Response>,
{
    for _ in 0..2 {
        assert_eq!(request().await.status(), 200, "warm-up");
    }
    let (sum, count) = statements(app, method, route).await;
    assert_eq!(request().await.status(), 200);
    let (after_sum, after_count) = statements(app, method, route).await;
    assert_eq!(after_count, count + 1, "one more request was counted");
    after_sum - sum
}

#[tokio::test]
async fn a_verified_caller_costs_one_statement_before_the_data() {
    let Acme { app, ada, .. } = acme().await;
    let (_, key) = key_of(&ada, &["org:read", "members:read"]).await;

    let org = statements_of(&app, "GET", "/api/v1/orgs/{org}", || {
        get_with(&app, &key, "/api/v1/orgs/acme")
    })
    .await;
    assert_eq!(org, 1.0, "a keyed org read: the epoch, nothing else");
    let org = statements_of(&app, "GET", "/api/v1/orgs/{org}", || ada.get("/api/v1/orgs/acme")).await;
    assert_eq!(org, 1.0, "a signed-in org read: the epoch, nothing else");

    let members = statements_of(&app, "GET", "/api/v1/orgs/{org}/members", || {
        get_with(&app, &key, "/api/v1/orgs/acme/members")
    })
    .await;
    assert_eq!(
        members, 1.0,
        "the epoch: the page read under it is kept in memory (roles are in the compiled grants)"
    );

    // A change that narrows credentials makes the next request verify again.
    let res = ada
        .send(
            Method::POST,
            "/api/v1/orgs/acme/roles",
            Some(json!({"name": "reader", "permissions": ["org:read"]})),
        )
        .await;
    assert_eq!(res.status(), 201);
    let (sum, _) = statements(&app, "GET", "/api/v1/orgs/{org}").await;
    let org: Value = get_with(&app, &key, "/api/v1/orgs/acme")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(org["slug"], "acme");
    let (after, _) = statements(&app, "GET", "/api/v1/orgs/{org}").await;
    assert!(
        after - sum > 1.0,
        "the key and its org were read again ({})",
        after - sum
    );
}

#[tokio::test]
async fn a_flag_evaluation_costs_the_epoch_and_nothing_else() {
    let Acme { app, ada, .. } = acme().await;
    let res = ada
        .send(
            Method::POST,
            "/api/v1/orgs/acme/flags",
            Some(json!({"key": "new-checkout", "enabled": true})),
        )
        .await;
    assert_eq!(res.status(), 201);
    let (_, key) = key_of(&ada, &["flags:read"]).await;
    let one = statements_of(&app, "POST", "/ofrep/v1/evaluate/flags/{key}", || {
        ofrep_post(&app, &key, "/ofrep/v1/evaluate/flags/new-checkout")
    })
    .await;
    assert_eq!(one, 1.0, "the epoch; the flags come from the in-memory snapshot");
    let bulk = statements_of(&app, "POST", "/ofrep/v1/evaluate/flags", || {
        ofrep_post(&app, &key, "/ofrep/v1/evaluate/flags")
    })
    .await;
    assert_eq!(bulk, 1.0);
}

async fn ofrep_post(app: &TestApp, key: &str, path: &str) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(key)
        .json(&json!({"context": {"targetingKey": "user-7"}}))
        .send()
        .await
        .unwrap()
}
