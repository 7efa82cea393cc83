//! Organizations: operators create them, creators own them, outsiders cannot see them.

use serde_json::{json, Value};

use crate::{
    auth::{login, PASSWORD},
    helpers::{assert_problem, spawn_app},
};

#[tokio::test]
async fn an_operator_creates_an_org_and_becomes_its_owner() {
    let app = spawn_app().await;
    app.create_operator("ada@example.com", PASSWORD).await;
    let ada = login(&app, "ada@example.com", PASSWORD).await;

    let res = ada
        .send(
            reqwest::Method::POST,
            "/api/v1/orgs",
            Some(json!({"slug": "acme", "name": "Acme Corp"})),
        )
        .await;
    assert_eq!(res.status(), 201);
    let org: Value = res.json().await.unwrap();
    assert_eq!(org["slug"], "acme");
    assert_eq!(org["version"], 1);

    let me: Value = ada.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["type"], "user");
    assert_eq!(me["memberships"][0]["org"]["slug"], "acme");
    assert_eq!(me["memberships"][0]["roles"], json!(["owner"]));

    for by in ["acme", org["id"].as_str().unwrap()] {
        let got: Value = ada.get(&format!("/api/v1/orgs/{by}")).await.json().await.unwrap();
        assert_eq!(got["id"], org["id"], "{by}");
    }
    let list: Value = ada.get("/api/v1/orgs").await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list["next_cursor"].is_null());
}

#[tokio::test]
async fn slugs_are_validated_and_unique() {
    let app = spawn_app().await;
    app.create_operator("ada@example.com", PASSWORD).await;
    let ada = login(&app, "ada@example.com", PASSWORD).await;
    let create = |slug: &'static str| {
        ada.send(
            reqwest::Method::POST,
            "/api/v1/orgs",
            Some(json!({"slug": slug, "name": "X"})),
        )
    };

    let body = assert_problem(create("Bad Slug").await, 400, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "slug");
    assert_eq!(create("acme").await.status(), 201);
    assert_problem(create("acme").await, 409, "conflict").await;

    let res = ada
        .send(
            reqwest::Method::POST,
            "/api/v1/orgs",
            Some(json!({"slug": "other", "name": "X", "id": "x"})),
        )
        .await;
    let body = assert_problem(res, 400, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "id", "no body may set ids");
}

#[tokio::test]
async fn a_non_member_cannot_see_an_org_exists() {
    let app = spawn_app().await;
    app.create_operator("ada@example.com", PASSWORD).await;
    let ada = login(&app, "ada@example.com", PASSWORD).await;
    let org: Value = ada
        .send(
            reqwest::Method::POST,
            "/api/v1/orgs",
            Some(json!({"slug": "acme", "name": "Acme"})),
        )
        .await
        .json()
        .await
        .unwrap();

    app.create_user("eve@example.com", PASSWORD).await;
    let eve = login(&app, "eve@example.com", PASSWORD).await;
    for by in ["acme", org["id"].as_str().unwrap(), "no-such-org"] {
        assert_problem(eve.get(&format!("/api/v1/orgs/{by}")).await, 404, "not_found").await;
    }
    let list: Value = eve.get("/api/v1/orgs").await.json().await.unwrap();
    assert_eq!(list["items"], json!([]));
    let res = eve
        .send(
            reqwest::Method::POST,
            "/api/v1/orgs",
            Some(json!({"slug": "mine", "name": "Mine"})),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
}
