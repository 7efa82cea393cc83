//! Feature flags through the admin API: CRUD, validation, optimistic locking,
//! permissions and other orgs, and a change on one instance served by another.

use reqwest::Method;
use serde_json::{json, Value};

use crate::{
    api_keys::key_of,
    auth::{login, PASSWORD},
    helpers::{assert_problem, spawn_app_on},
    ofrep::evaluate,
    world::{acme, create_org, Acme},
};

const CHECKOUT: &str = "/api/v1/orgs/acme/flags/new-checkout";

/// Acme's boolean flag `new-checkout`, on.
async fn create_checkout(w: &Acme) -> reqwest::Response {
    let res = w
        .ada
        .send(
            Method::POST,
            "/api/v1/orgs/acme/flags",
            Some(json!({"key": "new-checkout", "enabled": true})),
        )
        .await;
    assert_eq!(res.status(), 201);
    res
}

/// A PATCH of the flag as `browser`, whatever its version (`If-Match: *`).
async fn patch(browser: &crate::auth::Browser, body: Value) -> reqwest::Response {
    browser
        .request(Method::PATCH, CHECKOUT)
        .header("if-match", "*")
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn flags_are_created_read_changed_and_deleted() {
    let w = acme().await;
    let res = create_checkout(&w).await;
    assert_eq!(res.headers()["etag"], "\"1\"");
    let made: Value = res.json().await.unwrap();
    assert_eq!(made["type"], "boolean");
    assert_eq!(made["variants"], json!({"on": true, "off": false}));
    assert_eq!(
        (made["default_variant"].as_str(), made["off_variant"].as_str()),
        (Some("on"), Some("off"))
    );
    assert_eq!(
        (made["version"].as_i64(), made["stale"].as_bool()),
        (Some(1), Some(false))
    );

    let duplicate = w
        .ada
        .send(
            Method::POST,
            "/api/v1/orgs/acme/flags",
            Some(json!({"key": "new-checkout", "enabled": false})),
        )
        .await;
    assert_problem(duplicate, 409, "conflict").await;

    let theme = json!({
        "key": "theme", "enabled": true, "type": "string", "description": "colour scheme",
        "variants": {"dark": "dark", "light": "light"}, "default_variant": "light",
        "rules": [{"conditions": [{"attribute": "plan", "operator": "equals", "value": "pro"}], "variant": "dark"}]
    });
    let res = w
        .ada
        .send(Method::POST, "/api/v1/orgs/acme/flags", Some(theme))
        .await;
    assert_eq!(res.status(), 201);
    let list: Value = w.ada.get("/api/v1/orgs/acme/flags").await.json().await.unwrap();
    let keys: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["new-checkout", "theme"]);
    let found: Value = w
        .ada
        .get("/api/v1/orgs/acme/flags?search=CHECK")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    assert_eq!(found["items"][0]["key"], "new-checkout");

    let unconditional = w
        .ada
        .send(Method::PATCH, CHECKOUT, Some(json!({"enabled": false})))
        .await;
    assert_problem(unconditional, 428, "precondition_required").await;
    let res = patch(&w.ada, json!({"enabled": false})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], "\"2\"");
    let read: Value = w.ada.get(CHECKOUT).await.json().await.unwrap();
    assert_eq!(
        (read["enabled"].as_bool(), read["version"].as_i64()),
        (Some(false), Some(2))
    );

    assert_eq!(w.ada.send(Method::DELETE, CHECKOUT, None).await.status(), 204);
    assert_problem(w.ada.get(CHECKOUT).await, 404, "not_found").await;
    assert_problem(w.ada.send(Method::DELETE, CHECKOUT, None).await, 404, "not_found").await;
}

#[tokio::test]
async fn invalid_definitions_are_refused_field_by_field_and_change_nothing() {
    let w = acme().await;
    let bad = json!({
        "key": "pricing", "enabled": true, "type": "number",
        "variants": {"low": 5, "high": "ten"}, "default_variant": "mid",
        "rollout": [{"variant": "low", "weight": 60}, {"variant": "high", "weight": 30}]
    });
    let problem = assert_problem(
        w.ada
            .send(Method::POST, "/api/v1/orgs/acme/flags", Some(bad))
            .await,
        400,
        "validation_failed",
    )
    .await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["variants.high", "default_variant", "off_variant", "rollout"]
    );
    let bad_key = json!({"key": "no spaces", "enabled": true});
    assert_problem(
        w.ada
            .send(Method::POST, "/api/v1/orgs/acme/flags", Some(bad_key))
            .await,
        400,
        "validation_failed",
    )
    .await;
    let list: Value = w.ada.get("/api/v1/orgs/acme/flags").await.json().await.unwrap();
    assert_eq!(list["items"], json!([]));

    create_checkout(&w).await;
    let unknown = json!({"rules": [{"conditions": [], "variant": "maybe"}]});
    let problem = assert_problem(patch(&w.ada, unknown).await, 400, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "rules[0].variant");
    let read: Value = w.ada.get(CHECKOUT).await.json().await.unwrap();
    assert_eq!(
        (read["version"].as_i64(), read["rules"].clone()),
        (Some(1), json!([]))
    );
}

#[tokio::test]
async fn a_stale_if_match_is_refused_and_loses_nothing() {
    let w = acme().await;
    let res = create_checkout(&w).await;
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let first = w
        .ada
        .request(Method::PATCH, CHECKOUT)
        .header("if-match", &etag)
        .json(&json!({"description": "first"}))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let second = w
        .ada
        .request(Method::PATCH, CHECKOUT)
        .header("if-match", &etag)
        .json(&json!({"description": "second"}))
        .send()
        .await
        .unwrap();
    assert_problem(second, 412, "precondition_failed").await;
    let read: Value = w.ada.get(CHECKOUT).await.json().await.unwrap();
    assert_eq!(
        (read["description"].as_str(), read["version"].as_i64()),
        (Some("first"), Some(2))
    );
}

#[tokio::test]
async fn reading_and_managing_take_their_permissions_and_other_orgs_see_nothing() {
    let w = acme().await;
    create_checkout(&w).await;
    // compliance_manager reads flags; contributor does not.
    w.app
        .add_member(w.org, "cm@example.com", PASSWORD, &["compliance_manager"])
        .await;
    w.app
        .add_member(w.org, "carl@example.com", PASSWORD, &["contributor"])
        .await;
    let cm = login(&w.app, "cm@example.com", PASSWORD).await;
    let carl = login(&w.app, "carl@example.com", PASSWORD).await;
    assert_eq!(cm.get(CHECKOUT).await.status(), 200);
    let refused = assert_problem(
        cm.send(Method::PATCH, CHECKOUT, Some(json!({"enabled": false})))
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(refused["permission"], "flags:manage");
    assert_problem(carl.get("/api/v1/orgs/acme/flags").await, 403, "forbidden").await;

    // Globex's owner and key reach none of acme's flags, not even their existence.
    create_org(&w.ada, "globex").await;
    let globex: Value = w.ada.get("/api/v1/orgs/globex").await.json().await.unwrap();
    w.app
        .add_member(
            globex["id"].as_str().unwrap().parse().unwrap(),
            "gus@example.com",
            PASSWORD,
            &["owner"],
        )
        .await;
    let gus = login(&w.app, "gus@example.com", PASSWORD).await;
    assert_problem(gus.get(CHECKOUT).await, 404, "not_found").await;
    assert_problem(gus.send(Method::DELETE, CHECKOUT, None).await, 404, "not_found").await;
    let res = gus
        .send(
            Method::POST,
            "/api/v1/orgs/globex/flags",
            Some(json!({"key": "new-checkout", "enabled": false})),
        )
        .await;
    assert_eq!(res.status(), 201, "keys are unique per org, not across orgs");
    let read: Value = w.ada.get(CHECKOUT).await.json().await.unwrap();
    assert_eq!(read["enabled"], true);
}

#[tokio::test]
async fn a_change_through_one_instance_is_served_by_the_other_at_once() {
    let w = acme().await;
    let second = spawn_app_on(w.app.db.share(), &[]).await;
    create_checkout(&w).await;
    let (_, key) = key_of(&w.ada, &["flags:read"]).await;
    let (status, answer) = evaluate(&second, &key, "new-checkout", json!({})).await;
    assert_eq!((status, answer["value"].clone()), (200, json!(true)));
    for (enabled, value, reason) in [(false, false, "DISABLED"), (true, true, "STATIC")] {
        let res = w
            .ada
            .request(Method::PATCH, CHECKOUT)
            .header("if-match", "*")
            .json(&json!({"enabled": enabled}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let (status, answer) = evaluate(&second, &key, "new-checkout", json!({})).await;
        assert_eq!(
            (status, answer["value"].clone(), answer["reason"].as_str()),
            (200, json!(value), Some(reason))
        );
    }
}
