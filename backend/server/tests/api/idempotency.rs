//! `Idempotency-Key` on `POST /api/v1/…`: a retry with the same key and body
//! gets the original answer without acting twice; another body is `409`; a
//! failure frees the key; answers holding secrets are never kept.

use attest_core::store::entities::idempotency_keys;
use reqwest::{Method, Response};
use sea_orm::EntityTrait as _;
use serde_json::{json, Value};

use crate::{
    audit::events,
    auth::Browser,
    helpers::assert_problem,
    world::{acme, Acme},
};

async fn post(browser: &Browser, path: &str, key: &str, body: &Value) -> Response {
    browser
        .request(Method::POST, path)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_retry_gets_the_original_answer_and_acts_once() {
    let Acme { app, ada, org, .. } = acme().await;
    let role = json!({"name": "reviewer", "permissions": ["org:read"]});
    let first = post(&ada, "/api/v1/orgs/acme/roles", "retry-1", &role).await;
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotency-replayed").is_none());
    let first_body = first.text().await.unwrap();

    let again = post(&ada, "/api/v1/orgs/acme/roles", "retry-1", &role).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotency-replayed"], "true");
    assert!(again.headers().contains_key("x-request-id"));
    assert!(again.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(again.text().await.unwrap(), first_body);
    let created = events(&app, org)
        .await
        .iter()
        .filter(|e| e.action == "role.created")
        .count();
    assert_eq!(created, 1, "the retry did not act again");

    let other = json!({"name": "reviewer", "permissions": ["org:read", "members:read"]});
    let conflict = post(&ada, "/api/v1/orgs/acme/roles", "retry-1", &other).await;
    let problem = assert_problem(conflict, 409, "conflict").await;
    assert!(problem["detail"].as_str().unwrap().contains("different request"));

    // Without the header, nothing is kept: the duplicate is the service's 409.
    let duplicate = ada
        .send(Method::POST, "/api/v1/orgs/acme/roles", Some(role))
        .await;
    assert_problem(duplicate, 409, "conflict").await;
}

#[tokio::test]
async fn a_failure_frees_the_key_and_keys_are_per_client() {
    let Acme { app, ada, .. } = acme().await;
    let bad = json!({"name": "Not A Valid Name", "permissions": ["org:read"]});
    let res = post(&ada, "/api/v1/orgs/acme/roles", "fix-me", &bad).await;
    assert_problem(res, 400, "validation_failed").await;
    let good = json!({"name": "fixed", "permissions": ["org:read"]});
    let res = post(&ada, "/api/v1/orgs/acme/roles", "fix-me", &good).await;
    assert_eq!(res.status(), 201, "a corrected request may reuse the key");

    // Another client's identical key is its own.
    let key = ada
        .send(
            Method::POST,
            "/api/v1/orgs/acme/api-keys",
            Some(json!({"name": "roles", "permissions": ["org:read", "roles:manage"]})),
        )
        .await
        .json::<Value>()
        .await
        .unwrap()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .client
        .post(app.url("/api/v1/orgs/acme/roles"))
        .bearer_auth(&key)
        .header("idempotency-key", "fix-me")
        .json(&json!({"name": "other", "permissions": ["org:read"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert!(res.headers().get("idempotency-replayed").is_none());

    for bad_key in ["", "with space", &"k".repeat(256)] {
        let res = post(&ada, "/api/v1/orgs/acme/roles", bad_key, &good).await;
        assert_problem(res, 400, "bad_request").await;
    }
}

#[tokio::test]
async fn answers_holding_secrets_are_refused_on_retry_and_never_kept() {
    let Acme { app, ada, .. } = acme().await;
    let body = json!({"name": "ci", "permissions": ["org:read"]});
    let first = post(&ada, "/api/v1/orgs/acme/api-keys", "key-once", &body).await;
    assert_eq!(first.status(), 201);
    let made: Value = first.json().await.unwrap();
    let secret = made["key"]
        .as_str()
        .unwrap()
        .rsplit('_')
        .next()
        .unwrap()
        .to_owned();

    let retry = post(&ada, "/api/v1/orgs/acme/api-keys", "key-once", &body).await;
    let problem = assert_problem(retry, 409, "conflict").await;
    assert!(problem["detail"].as_str().unwrap().contains("shown once"));
    let listed: Value = ada.get("/api/v1/orgs/acme/api-keys").await.json().await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "one key, not two");

    let kept = idempotency_keys::Entity::find().all(&app.state.db).await.unwrap();
    assert!(!kept.is_empty());
    for row in kept {
        assert!(
            !String::from_utf8_lossy(&row.body).contains(&secret),
            "the secret is not stored"
        );
    }
}
