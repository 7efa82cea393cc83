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
    let permissions = me["memberships"][0]["permissions"].as_array().unwrap();
    assert_eq!(permissions.len(), 22, "an owner holds every permission");
    assert!(permissions.contains(&json!("org:delete")));

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

async fn acme_with_admin(app: &crate::helpers::TestApp) -> (crate::auth::Browser, crate::auth::Browser) {
    app.create_operator("ada@example.com", PASSWORD).await;
    let ada = login(app, "ada@example.com", PASSWORD).await;
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
    app.add_member(
        org["id"].as_str().unwrap().parse().unwrap(),
        "bob@example.com",
        PASSWORD,
        &["admin"],
    )
    .await;
    (ada, login(app, "bob@example.com", PASSWORD).await)
}

async fn rename(browser: &crate::auth::Browser, if_match: Option<&str>, name: &str) -> reqwest::Response {
    let mut req = browser
        .client
        .patch(format!("{}/api/v1/orgs/acme", browser.base))
        .header("x-csrf-token", &browser.csrf)
        .json(&json!({ "name": name }));
    if let Some(tag) = if_match {
        req = req.header("if-match", tag);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn renaming_needs_the_current_etag() {
    let app = spawn_app().await;
    let (_, bob) = acme_with_admin(&app).await;
    let res = bob.get("/api/v1/orgs/acme").await;
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, "\"1\"");

    assert_problem(rename(&bob, None, "Acme Inc").await, 428, "precondition_required").await;
    let res = rename(&bob, Some(&etag), "Acme Inc").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], "\"2\"");
    let org: Value = res.json().await.unwrap();
    assert_eq!(
        (org["name"].as_str(), org["version"].as_i64()),
        (Some("Acme Inc"), Some(2))
    );

    // The same stale ETag again: someone else's change is not overwritten.
    assert_problem(
        rename(&bob, Some(&etag), "Acme Again").await,
        412,
        "precondition_failed",
    )
    .await;
    assert_eq!(rename(&bob, Some("*"), "Acme Again").await.status(), 200);
    let body = assert_problem(rename(&bob, Some("\"3\""), "").await, 400, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "name");
    let res = bob
        .client
        .patch(format!("{}/api/v1/orgs/acme", bob.base))
        .header("x-csrf-token", &bob.csrf)
        .header("if-match", "*")
        .json(&json!({"name": "X", "slug": "other"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "validation_failed").await;
}

/// `If-Match: *` renames whatever version is current: concurrent renames all
/// land, one after another, each recorded with the name it replaced.
#[tokio::test]
async fn concurrent_renames_with_if_match_any_all_land() {
    let app = spawn_app().await;
    let (_, bob) = acme_with_admin(&app).await;
    let renames = (0..8).map(|n| {
        let bob = bob.clone();
        async move { rename(&bob, Some("*"), &format!("Acme {n}")).await.status() }
    });
    let statuses = futures_util::future::join_all(renames).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let org: Value = bob.get("/api/v1/orgs/acme").await.json().await.unwrap();
    assert_eq!(org["version"], 9);
    let names: Vec<(String, String)> =
        crate::audit::events(&app, org["id"].as_str().unwrap().parse().unwrap())
            .await
            .into_iter()
            .filter(|e| e.action == "org.renamed")
            .map(|e| {
                let name = |side: &str| e.metadata[side]["name"].as_str().unwrap().to_owned();
                (name("before"), name("after"))
            })
            .collect();
    assert_eq!(names.len(), 8);
    // Each rename replaced the name the one before it set.
    for pair in names.windows(2) {
        assert_eq!(pair[1].0, pair[0].1, "{names:?}");
    }
}

#[tokio::test]
async fn only_owners_delete_and_a_deleted_org_vanishes_at_once() {
    let app = spawn_app().await;
    let (ada, bob) = acme_with_admin(&app).await;
    assert_problem(
        bob.send(reqwest::Method::DELETE, "/api/v1/orgs/acme", None).await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(ada.get("/api/v1/orgs/acme").await.status(), 200);

    assert_eq!(
        ada.send(reqwest::Method::DELETE, "/api/v1/orgs/acme", None)
            .await
            .status(),
        204
    );
    assert_problem(ada.get("/api/v1/orgs/acme").await, 404, "not_found").await;
    assert_problem(bob.get("/api/v1/orgs/acme/members").await, 404, "not_found").await;
    let me: Value = bob.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["memberships"], json!([]));
}

#[tokio::test]
async fn a_deleted_org_is_purged_after_its_grace_period_and_not_before() {
    use sea_orm::{ActiveModelTrait as _, EntityTrait as _, Set};
    let app = spawn_app().await;
    let (ada, _) = acme_with_admin(&app).await;
    assert_eq!(
        ada.send(reqwest::Method::DELETE, "/api/v1/orgs/acme", None)
            .await
            .status(),
        204
    );
    let orgs = attest_core::store::entities::orgs::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(orgs.len(), 1, "kept during the grace period");
    assert_eq!(
        attest_core::tenancy::orgs::purge_expired(&app.state)
            .await
            .unwrap(),
        0
    );

    let mut active: attest_core::store::entities::orgs::ActiveModel = orgs[0].clone().into();
    active.deleted_at = Set(Some(attest_core::clock::now() - chrono::Duration::days(31)));
    active.update(&app.state.db).await.unwrap();
    assert_eq!(
        attest_core::tenancy::orgs::purge_expired(&app.state)
            .await
            .unwrap(),
        1
    );
    assert!(attest_core::store::entities::orgs::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
        .is_empty());
    let memberships = attest_core::store::entities::memberships::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert!(memberships.is_empty(), "its memberships went with it");
}
