//! `Idempotency-Key` on `POST /api/v1/…`: a retry with the same key and body
//! gets the original answer without acting twice; another body is `409`; a
//! failure frees the key; answers holding secrets are never kept; nothing is
//! replayed to a caller that is not authenticated now; a claim is its holder's.

use std::time::Duration;

use attest_core::{
    idempotency::{self, Answer, Claim},
    store::entities::idempotency_keys,
};
use attest_shared::roles;
use reqwest::{Method, RequestBuilder, Response};
use sea_orm::{ActiveModelTrait as _, EntityTrait as _, Set};
use serde_json::{json, Value};

use crate::{
    audit::events,
    auth::{login, Browser, PASSWORD},
    helpers::{assert_problem, TestApp},
    world::{acme, Acme},
};

/// Sends `req` with the JSON `body` and the `Idempotency-Key` `key`.
async fn with_key(req: RequestBuilder, key: &str, body: &Value) -> Response {
    req.header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// `POST path` as a signed-in person.
async fn post(browser: &Browser, path: &str, key: &str, body: &Value) -> Response {
    with_key(browser.request(Method::POST, path), key, body).await
}

#[tokio::test]
async fn a_retry_gets_the_original_answer_and_acts_once() {
    let Acme { app, ada, org, .. } = acme().await;
    let role = json!({"name": "reviewer", "permissions": ["org:read"]});
    let first = post(&ada, "/api/v1/orgs/acme/roles", "retry-1", &role).await;
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotency-replayed").is_none());
    let first_etag = first.headers()["etag"].clone();
    let first_body = first.text().await.unwrap();

    let again = post(&ada, "/api/v1/orgs/acme/roles", "retry-1", &role).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotency-replayed"], "true");
    assert!(again.headers().contains_key("x-request-id"));
    assert!(again.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(again.headers()["etag"], first_etag, "the version travels too");
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

/// `POST /api/v1/orgs/acme/roles` with an API key and an `Idempotency-Key`.
async fn post_with_key(app: &TestApp, api_key: &str, key: &str, body: &Value) -> Response {
    let req = app
        .client
        .post(app.url("/api/v1/orgs/acme/roles"))
        .bearer_auth(api_key);
    with_key(req, key, body).await
}

#[tokio::test]
async fn nothing_is_replayed_to_a_caller_who_is_not_authenticated_now() {
    let Acme { app, ada, org, .. } = acme().await;
    let role = json!({"name": "reviewer", "permissions": ["org:read"]});

    // A session signed out: its retry is refused, not answered from the record.
    let bob_id = app
        .add_member(org, "bob@example.com", PASSWORD, &[roles::ADMIN])
        .await;
    let bob = login(&app, "bob@example.com", PASSWORD).await;
    assert_eq!(
        post(&bob, "/api/v1/orgs/acme/roles", "once", &role)
            .await
            .status(),
        201
    );
    let signed_out_cookie = bob.cookie_header();
    assert_eq!(bob.send(Method::POST, "/auth/logout", None).await.status(), 204);
    let retry = app
        .client
        .post(app.url("/api/v1/orgs/acme/roles"))
        .header("cookie", &signed_out_cookie)
        .header("x-csrf-token", &bob.csrf)
        .header("idempotency-key", "once")
        .json(&role)
        .send()
        .await
        .unwrap();
    assert!(retry.headers().get("idempotency-replayed").is_none());
    assert_problem(retry, 401, "unauthenticated").await;

    // Keys whose creator lost what they granted: no replay for a permission the
    // key no longer holds (a denial, audited), none for a key granting nothing.
    let bob = login(&app, "bob@example.com", PASSWORD).await;
    let key_granting = |permissions: Value| {
        let bob = bob.clone();
        async move {
            let made: Value = bob
                .send(
                    Method::POST,
                    "/api/v1/orgs/acme/api-keys",
                    Some(json!({"name": "roles", "permissions": permissions})),
                )
                .await
                .json()
                .await
                .unwrap();
            made["key"].as_str().unwrap().to_owned()
        }
    };
    let reader = key_granting(json!(["org:read", "roles:manage"])).await;
    let manager = key_granting(json!(["roles:manage"])).await;
    let by_reader = json!({"name": "by-reader", "permissions": ["org:read"]});
    let by_manager = json!({"name": "by-manager", "permissions": ["roles:manage"]});
    for (api_key, body) in [(&reader, &by_reader), (&manager, &by_manager)] {
        assert_eq!(post_with_key(&app, api_key, "k", body).await.status(), 201);
        let replay = post_with_key(&app, api_key, "k", body).await;
        assert_eq!(replay.headers()["idempotency-replayed"], "true");
    }
    let res = ada
        .request(Method::PUT, &format!("/api/v1/orgs/acme/members/{bob_id}/roles"))
        .json(&json!({"roles": ["auditor"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let retry = post_with_key(&app, &reader, "k", &by_reader).await;
    assert!(retry.headers().get("idempotency-replayed").is_none());
    let problem = assert_problem(retry, 403, "forbidden").await;
    assert_eq!(problem["permission"], "roles:manage");
    let denied = events(&app, org).await;
    let denied = denied.last().unwrap();
    assert_eq!(denied.action, "access.denied");
    assert_eq!(
        denied.metadata,
        json!({"permission": "roles:manage", "route": "POST /api/v1/orgs/{org}/roles"})
    );
    let orgs = app
        .client
        .get(app.url("/api/v1/orgs"))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(orgs.status(), 200, "what it still grants works");

    let retry = post_with_key(&app, &manager, "k", &by_manager).await;
    assert!(retry.headers().get("idempotency-replayed").is_none());
    assert_problem(retry, 401, "unauthenticated").await;
    let orgs = app
        .client
        .get(app.url("/api/v1/orgs"))
        .bearer_auth(&manager)
        .send()
        .await
        .unwrap();
    assert_problem(orgs, 401, "unauthenticated").await;

    // A cookie and a key together are refused before anything is claimed.
    let both = ada
        .request(Method::POST, "/api/v1/orgs/acme/roles")
        .bearer_auth(&reader)
        .header("idempotency-key", "both")
        .json(&json!({"name": "third", "permissions": ["org:read"]}))
        .send()
        .await
        .unwrap();
    assert_problem(both, 400, "bad_request").await;
    let claimed = idempotency_keys::Entity::find().all(&app.state.db).await.unwrap();
    assert!(claimed.iter().all(|row| row.key != "both"), "nothing was claimed");
}

#[tokio::test]
async fn a_claim_is_its_holders_and_an_abandoned_one_is_taken_over() {
    let Acme { app, .. } = acme().await;
    let state = &app.state;
    let no_timeout = Duration::ZERO;
    let answer = |body: &str| Answer {
        status: 201,
        content_type: Some("application/json".into()),
        location: None,
        etag: Some("\"1\"".into()),
        body: Some(body.as_bytes().to_vec()),
    };
    let Ok(Claim::Run(first)) = idempotency::claim(state, "p", "k", "f", no_timeout).await else {
        panic!("the first use claims the key");
    };
    let running = idempotency::claim(state, "p", "k", "f", no_timeout).await;
    assert!(
        matches!(&running, Err(e) if e.detail.as_deref().is_some_and(|d| d.contains("still running"))),
        "a claim in its time is honoured"
    );

    // The first request went quiet for longer than any request may run.
    let record = idempotency_keys::Entity::find()
        .one(&state.db)
        .await
        .unwrap()
        .unwrap();
    let mut quiet: idempotency_keys::ActiveModel = record.into();
    quiet.created_at = Set((chrono::Utc::now() - chrono::Duration::minutes(5)).into());
    quiet.update(&state.db).await.unwrap();
    let Ok(Claim::Run(second)) = idempotency::claim(state, "p", "k", "f", no_timeout).await else {
        panic!("an abandoned claim is taken over");
    };
    assert!(
        !idempotency::complete(state, &first, &answer("late"))
            .await
            .unwrap(),
        "the first holder lost its claim"
    );
    idempotency::release(state, &first).await.unwrap();
    assert!(idempotency::complete(state, &second, &answer("kept"))
        .await
        .unwrap());
    let Ok(Claim::Replay(replayed)) = idempotency::claim(state, "p", "k", "f", no_timeout).await else {
        panic!("the holder's answer is replayed");
    };
    assert_eq!(replayed.body.as_deref(), Some(b"kept".as_slice()));
    assert_eq!(replayed.etag.as_deref(), Some("\"1\""));
}
