//! OFREP: single and bulk evaluation with an org API key, in the protocol's
//! success and error shapes, never another org's flags.

use attest_core::store::entities::flags;
use reqwest::Method;
use sea_orm::EntityTrait as _;
use serde_json::{json, Value};

use crate::{
    api_keys::key_of,
    auth::{login, PASSWORD},
    helpers::TestApp,
    world::{acme, create_org, Acme},
};

/// `POST /ofrep/v1/evaluate/flags/{flag}` with `key`: the status and the body.
pub async fn evaluate(app: &TestApp, key: &str, flag: &str, context: Value) -> (u16, Value) {
    let res = app
        .client
        .post(app.url(&format!("/ofrep/v1/evaluate/flags/{flag}")))
        .bearer_auth(key)
        .json(&json!({"context": context}))
        .send()
        .await
        .unwrap();
    answer(res).await
}

/// An OFREP answer: the status, and the JSON body (never problem+json).
async fn answer(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(content_type.as_deref(), Some("application/json"), "{status}");
    (status, res.json().await.unwrap())
}

async fn bulk(app: &TestApp, key: &str, context: Value, etag: Option<&str>) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url("/ofrep/v1/evaluate/flags"))
        .bearer_auth(key)
        .json(&json!({"context": context}));
    if let Some(etag) = etag {
        req = req.header("if-none-match", etag);
    }
    req.send().await.unwrap()
}

async fn create(w: &Acme, flag: Value) {
    let res = w
        .ada
        .send(Method::POST, "/api/v1/orgs/acme/flags", Some(flag))
        .await;
    assert_eq!(res.status(), 201);
}

/// Acme with one flag of each type and a key that reads flags.
async fn flagged() -> (Acme, String) {
    let w = acme().await;
    create(&w, json!({"key": "new-checkout", "enabled": true})).await;
    create(
        &w,
        json!({
            "key": "theme", "enabled": true, "type": "string",
            "variants": {"dark": "dark", "light": "light"}, "default_variant": "light",
            "rules": [{"conditions": [{"attribute": "email", "operator": "ends_with", "value": "@acme.com"}], "variant": "dark"}]
        }),
    )
    .await;
    create(
        &w,
        json!({"key": "page-size", "enabled": true, "type": "number", "variants": {"small": 10, "large": 50}, "default_variant": "small",
               "rollout": [{"variant": "small", "weight": 50}, {"variant": "large", "weight": 50}]}),
    )
    .await;
    create(
        &w,
        json!({"key": "limits", "enabled": false, "type": "object", "variants": {"base": {"seats": 5}, "none": {}},
               "default_variant": "base", "off_variant": "none"}),
    )
    .await;
    let (_, key) = key_of(&w.ada, &["flags:read"]).await;
    (w, key)
}

#[tokio::test]
async fn every_type_evaluates_with_its_reason() {
    let (w, key) = flagged().await;
    let cases = [
        ("new-checkout", json!({}), json!(true), "on", "STATIC"),
        (
            "theme",
            json!({"email": "ada@acme.com"}),
            json!("dark"),
            "dark",
            "TARGETING_MATCH",
        ),
        (
            "theme",
            json!({"email": "bob@globex.com"}),
            json!("light"),
            "light",
            "DEFAULT",
        ),
        ("limits", json!({}), json!({}), "none", "DISABLED"),
    ];
    for (flag, context, value, variant, reason) in cases {
        let (status, body) = evaluate(&w.app, &key, flag, context).await;
        assert_eq!(status, 200, "{flag}: {body}");
        assert_eq!(
            body,
            json!({"key": flag, "value": value, "variant": variant, "reason": reason, "metadata": {}}),
            "{flag}"
        );
    }
    let (status, split) = evaluate(&w.app, &key, "page-size", json!({"targetingKey": "user-7"})).await;
    assert_eq!((status, split["reason"].as_str()), (200, Some("SPLIT")));
    for _ in 0..3 {
        let (_, again) = evaluate(&w.app, &key, "page-size", json!({"targetingKey": "user-7"})).await;
        assert_eq!(again["value"], split["value"], "a key stays in its bucket");
    }
}

#[tokio::test]
async fn protocol_errors_take_ofreps_codes() {
    let (w, key) = flagged().await;
    let (status, body) = evaluate(&w.app, &key, "nope", json!({})).await;
    assert_eq!(
        (status, body["key"].as_str(), body["errorCode"].as_str()),
        (404, Some("nope"), Some("FLAG_NOT_FOUND"))
    );
    let (status, body) = evaluate(&w.app, &key, "page-size", json!({})).await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (400, Some("TARGETING_KEY_MISSING"))
    );
    let (status, body) = evaluate(&w.app, &key, "theme", json!({"targetingKey": 42})).await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (400, Some("INVALID_CONTEXT"))
    );
    let res = w
        .app
        .client
        .post(w.app.url("/ofrep/v1/evaluate/flags/theme"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, body) = answer(res).await;
    assert_eq!((status, body["errorCode"].as_str()), (400, Some("PARSE_ERROR")));
}

#[tokio::test]
async fn bulk_answers_every_flag_and_304_while_nothing_changed() {
    let (w, key) = flagged().await;
    let res = bulk(
        &w.app,
        &key,
        json!({"targetingKey": "user-1", "email": "ada@acme.com"}),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let (_, body) = answer(res).await;
    let keys: Vec<&str> = body["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["limits", "new-checkout", "page-size", "theme"]);
    assert_eq!(body["flags"][3]["value"], "dark");

    let same = bulk(
        &w.app,
        &key,
        json!({"targetingKey": "user-1", "email": "ada@acme.com"}),
        Some(&etag),
    )
    .await;
    assert_eq!(same.status(), 304);
    assert_eq!(same.headers()["etag"].to_str().unwrap(), etag);
    let other_context = bulk(&w.app, &key, json!({"targetingKey": "user-1"}), Some(&etag)).await;
    assert_eq!(other_context.status(), 200, "another context is another answer");

    let res = w
        .ada
        .request(Method::PATCH, "/api/v1/orgs/acme/flags/theme")
        .header("if-match", "*")
        .json(&json!({"enabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let changed = bulk(
        &w.app,
        &key,
        json!({"targetingKey": "user-1", "email": "ada@acme.com"}),
        Some(&etag),
    )
    .await;
    assert_eq!(changed.status(), 200);
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), etag);
    let (_, body) = answer(changed).await;
    assert_eq!(body["flags"][3]["reason"], "DISABLED");

    // A flag the context cannot serve is an error entry, not a failed request.
    let (_, body) = answer(bulk(&w.app, &key, json!({}), None).await).await;
    assert_eq!(
        body["flags"][2],
        json!({"key": "page-size", "errorCode": "TARGETING_KEY_MISSING", "errorDetails": "`page-size` splits its audience by the targeting key"})
    );
}

#[tokio::test]
async fn only_a_live_key_with_flags_read_of_the_org_evaluates() {
    let (w, _) = flagged().await;
    let anonymous = w
        .app
        .client
        .post(w.app.url("/ofrep/v1/evaluate/flags"))
        .json(&json!({"context": {}}))
        .send()
        .await
        .unwrap();
    let (status, body) = answer(anonymous).await;
    assert_eq!((status, body["errorCode"].as_str()), (401, Some("GENERAL")));

    let (_, reader) = key_of(&w.ada, &["org:read"]).await;
    let (status, body) = evaluate(&w.app, &reader, "theme", json!({})).await;
    assert_eq!((status, body["errorCode"].as_str()), (403, Some("GENERAL")));

    // A session is not how services evaluate.
    let session = w
        .ada
        .request(Method::POST, "/ofrep/v1/evaluate/flags")
        .json(&json!({"context": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer(session).await.0, 403);

    let (id, doomed) = key_of(&w.ada, &["flags:read"]).await;
    assert_eq!(evaluate(&w.app, &doomed, "theme", json!({})).await.0, 200);
    let revoked = w
        .ada
        .send(Method::DELETE, &format!("/api/v1/orgs/acme/api-keys/{id}"), None)
        .await;
    assert_eq!(revoked.status(), 204);
    let (status, body) = evaluate(&w.app, &doomed, "theme", json!({})).await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (401, Some("GENERAL")),
        "refused on its very next request"
    );

    // Globex's key sees Globex's flags only.
    create_org(&w.ada, "globex").await;
    let globex: Value = w.ada.get("/api/v1/orgs/globex").await.json().await.unwrap();
    let gus_id: uuid::Uuid = globex["id"].as_str().unwrap().parse().unwrap();
    w.app
        .add_member(gus_id, "gus@example.com", PASSWORD, &["owner"])
        .await;
    let gus = login(&w.app, "gus@example.com", PASSWORD).await;
    let res = gus
        .send(
            Method::POST,
            "/api/v1/orgs/globex/api-keys",
            Some(json!({"name": "svc", "permissions": ["flags:read"]})),
        )
        .await;
    let foreign: Value = res.json().await.unwrap();
    let foreign = foreign["key"].as_str().unwrap();
    let (status, body) = evaluate(&w.app, foreign, "theme", json!({})).await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (404, Some("FLAG_NOT_FOUND"))
    );
    let (_, body) = answer(bulk(&w.app, foreign, json!({}), None).await).await;
    assert_eq!(body, json!({"flags": []}));
}

#[tokio::test]
async fn evaluations_stamp_their_flags_in_batches() {
    let (w, key) = flagged().await;
    assert_eq!(theme_stamp(&w).await, None);
    assert_eq!(evaluate(&w.app, &key, "theme", json!({})).await.0, 200);
    w.app.state.activity.flush(&w.app.state).await.unwrap();
    assert!(theme_stamp(&w).await.is_some(), "the flush wrote the stamp");
    let read: Value = w
        .ada
        .get("/api/v1/orgs/acme/flags/theme")
        .await
        .json()
        .await
        .unwrap();
    assert!(read["last_evaluated_at"].is_string());
    assert_eq!(
        (read["stale"].as_bool(), read["version"].as_i64()),
        (Some(false), Some(1))
    );
}

async fn theme_stamp(w: &Acme) -> Option<sea_orm::prelude::DateTimeWithTimeZone> {
    flags::Entity::find_by_id((w.org, "theme".to_owned()))
        .one(&w.app.state.db)
        .await
        .unwrap()
        .unwrap()
        .last_evaluated_at
}
