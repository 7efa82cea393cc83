//! The smallest world most tests start from: Ada, a platform operator, and Acme,
//! the org she created (so she is its owner).

use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    auth::{login, Browser, PASSWORD},
    helpers::{spawn_app_on, spawn_app_with, TestApp, TestDatabase},
};

pub struct Acme {
    pub app: TestApp,
    pub org: Uuid,
    pub ada: Browser,
    pub ada_id: Uuid,
}

pub async fn acme() -> Acme {
    acme_with(&[]).await
}

/// [`acme`] on a server with extra configuration.
pub async fn acme_with(extra: &[(&str, &str)]) -> Acme {
    acme_in(spawn_app_with(extra).await).await
}

/// [`acme`] on the database given.
pub async fn acme_on(db: TestDatabase) -> Acme {
    acme_in(spawn_app_on(db, &[]).await).await
}

async fn acme_in(app: TestApp) -> Acme {
    app.create_operator("ada@example.com", PASSWORD).await;
    let ada = login(&app, "ada@example.com", PASSWORD).await;
    let org = create_org(&ada, "acme").await;
    let me: Value = ada.get("/api/v1/me").await.json().await.unwrap();
    Acme {
        org,
        ada_id: me["user"]["id"].as_str().unwrap().parse().unwrap(),
        ada,
        app,
    }
}

/// Creates the org `slug` (named after it) as `operator`; returns its id.
pub async fn create_org(operator: &Browser, slug: &str) -> Uuid {
    let res = operator
        .send(
            Method::POST,
            "/api/v1/orgs",
            Some(json!({"slug": slug, "name": slug})),
        )
        .await;
    assert_eq!(res.status(), 201, "org {slug} created");
    let org: Value = res.json().await.unwrap();
    org["id"].as_str().unwrap().parse().unwrap()
}
