//! Roles: built-ins are read-only, custom roles grant what they list, and nobody
//! grants what they do not hold; an org always keeps an owner.

use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    auth::{login, Browser, PASSWORD},
    helpers::{assert_problem, spawn_app, TestApp},
};

struct Acme {
    app: TestApp,
    org: Uuid,
    ada: Browser,
    ada_id: Uuid,
}

async fn acme() -> Acme {
    let app = spawn_app().await;
    app.create_operator("ada@example.com", PASSWORD).await;
    let ada = login(&app, "ada@example.com", PASSWORD).await;
    let org: Value = ada
        .send(
            Method::POST,
            "/api/v1/orgs",
            Some(json!({"slug": "acme", "name": "Acme"})),
        )
        .await
        .json()
        .await
        .unwrap();
    let me: Value = ada.get("/api/v1/me").await.json().await.unwrap();
    Acme {
        org: org["id"].as_str().unwrap().parse().unwrap(),
        ada_id: me["user"]["id"].as_str().unwrap().parse().unwrap(),
        ada,
        app,
    }
}

async fn set_roles(browser: &Browser, user: Uuid, roles: &[&str]) -> reqwest::Response {
    browser
        .send(
            Method::PUT,
            &format!("/api/v1/orgs/acme/members/{user}/roles"),
            Some(json!({"roles": roles})),
        )
        .await
}

#[tokio::test]
async fn a_custom_role_grants_exactly_what_it_lists() {
    let w = acme().await;
    let res = w
        .ada
        .send(
            Method::POST,
            "/api/v1/orgs/acme/roles",
            Some(json!({"name": "people-ops", "permissions": ["org:read", "members:read"]})),
        )
        .await;
    assert_eq!(res.status(), 201);
    let list: Value = w.ada.get("/api/v1/orgs/acme/roles").await.json().await.unwrap();
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "owner",
            "admin",
            "compliance_manager",
            "contributor",
            "auditor",
            "people-ops"
        ]
    );

    let pat = w
        .app
        .add_member(w.org, "pat@example.com", PASSWORD, &["people-ops"])
        .await;
    let pat_browser = login(&w.app, "pat@example.com", PASSWORD).await;
    assert_eq!(pat_browser.get("/api/v1/orgs/acme/members").await.status(), 200);
    assert_problem(
        pat_browser.get("/api/v1/orgs/acme/sessions").await,
        403,
        "forbidden",
    )
    .await;

    // Changing the role changes what it grants, on the next request.
    let res = w
        .ada
        .send(
            Method::PUT,
            "/api/v1/orgs/acme/roles/people-ops",
            Some(json!({"permissions": ["org:read"]})),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_problem(
        pat_browser.get("/api/v1/orgs/acme/members").await,
        403,
        "forbidden",
    )
    .await;

    // Deleting it takes it from its holders.
    assert_eq!(
        w.ada
            .send(Method::DELETE, "/api/v1/orgs/acme/roles/people-ops", None)
            .await
            .status(),
        204
    );
    let members: Value = w.ada.get("/api/v1/orgs/acme/members").await.json().await.unwrap();
    let pat_row = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user_id"] == pat.to_string())
        .unwrap();
    assert_eq!(pat_row["roles"], json!([]));
}

#[tokio::test]
async fn built_in_roles_are_read_only_and_names_are_checked() {
    let w = acme().await;
    let res = w
        .ada
        .send(
            Method::PUT,
            "/api/v1/orgs/acme/roles/admin",
            Some(json!({"permissions": []})),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    assert_problem(
        w.ada
            .send(Method::DELETE, "/api/v1/orgs/acme/roles/owner", None)
            .await,
        403,
        "forbidden",
    )
    .await;
    for (name, why) in [
        ("owner", "built-in"),
        ("Bad Name", "charset"),
        ("9lives", "starts with a digit"),
    ] {
        let res = w
            .ada
            .send(
                Method::POST,
                "/api/v1/orgs/acme/roles",
                Some(json!({"name": name, "permissions": []})),
            )
            .await;
        let body = assert_problem(res, 400, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "name", "{why}");
    }
    let res = w
        .ada
        .send(
            Method::POST,
            "/api/v1/orgs/acme/roles",
            Some(json!({"name": "x", "permissions": ["org:fly"]})),
        )
        .await;
    let body = assert_problem(res, 400, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "permissions");
}

#[tokio::test]
async fn nobody_grants_more_than_they_hold() {
    let w = acme().await;
    w.app
        .add_member(w.org, "bob@example.com", PASSWORD, &["admin"])
        .await;
    let bob = login(&w.app, "bob@example.com", PASSWORD).await;
    let carl = w
        .app
        .add_member(w.org, "carl@example.com", PASSWORD, &["contributor"])
        .await;

    // An admin lacks org:delete: no custom role, role assignment or invitation may carry it.
    let res = bob
        .send(
            Method::POST,
            "/api/v1/orgs/acme/roles",
            Some(json!({"name": "nuke", "permissions": ["org:delete"]})),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    assert_problem(set_roles(&bob, carl, &["owner"]).await, 403, "forbidden").await;
    // Nor may an admin strip an owner of what they themselves lack.
    assert_problem(set_roles(&bob, w.ada_id, &["admin"]).await, 403, "forbidden").await;

    let res = set_roles(&bob, carl, &["auditor", "contributor"]).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["roles"], json!(["auditor", "contributor"]));

    let outsider = Uuid::new_v4();
    assert_problem(set_roles(&w.ada, outsider, &["auditor"]).await, 404, "not_found").await;
    let res = set_roles(&w.ada, carl, &["wizard"]).await;
    assert_problem(res, 400, "validation_failed").await;
}

#[tokio::test]
async fn the_last_owner_cannot_be_demoted() {
    let w = acme().await;
    assert_problem(set_roles(&w.ada, w.ada_id, &["admin"]).await, 409, "conflict").await;
    let olga = w
        .app
        .add_member(w.org, "olga@example.com", PASSWORD, &["owner"])
        .await;
    assert_eq!(set_roles(&w.ada, w.ada_id, &["admin"]).await.status(), 200);
    let olga_browser = login(&w.app, "olga@example.com", PASSWORD).await;
    assert_problem(set_roles(&olga_browser, olga, &["admin"]).await, 409, "conflict").await;
}

#[tokio::test]
async fn an_auditor_membership_expires_and_then_grants_nothing() {
    let w = acme().await;
    let aud = w
        .app
        .add_member(w.org, "aud@example.com", PASSWORD, &["auditor"])
        .await;
    let auditor = login(&w.app, "aud@example.com", PASSWORD).await;
    assert_eq!(auditor.get("/api/v1/orgs/acme").await.status(), 200);

    let path = format!("/api/v1/orgs/acme/members/{aud}/roles");
    let soon = chrono::Utc::now() + chrono::Duration::seconds(2);
    let res = w
        .ada
        .send(
            Method::PUT,
            &path,
            Some(json!({"roles": ["auditor", "contributor"], "expires_at": soon})),
        )
        .await;
    let body = assert_problem(res, 400, "validation_failed").await;
    assert_eq!(
        body["errors"][0]["field"], "expires_at",
        "only auditors are time-boxed"
    );
    let past = chrono::Utc::now() - chrono::Duration::seconds(5);
    let res = w
        .ada
        .send(
            Method::PUT,
            &path,
            Some(json!({"roles": ["auditor"], "expires_at": past})),
        )
        .await;
    assert_problem(res, 400, "validation_failed").await;

    let res = w
        .ada
        .send(
            Method::PUT,
            &path,
            Some(json!({"roles": ["auditor"], "expires_at": soon})),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        auditor.get("/api/v1/orgs/acme").await.status(),
        200,
        "until it expires"
    );
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_problem(auditor.get("/api/v1/orgs/acme").await, 404, "not_found").await;
    let me: Value = auditor.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["memberships"], json!([]));
}
