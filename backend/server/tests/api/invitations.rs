//! Invitations: mailed, single-use, expiring, revocable, and never a way to grant
//! more than the inviter holds.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::{
    auth::{login, Browser, PASSWORD},
    helpers::{assert_problem, location, spawn_app, NoScript, TestApp},
    mail::wait_for_message,
};

async fn acme(app: &TestApp) -> Browser {
    app.create_operator("ada@example.com", PASSWORD).await;
    let ada = login(app, "ada@example.com", PASSWORD).await;
    let res = ada
        .send(
            Method::POST,
            "/api/v1/orgs",
            Some(json!({"slug": "acme", "name": "Acme"})),
        )
        .await;
    assert_eq!(res.status(), 201);
    ada
}

async fn invite(browser: &Browser, email: &str, roles: &[&str]) -> reqwest::Response {
    browser
        .send(
            Method::POST,
            "/api/v1/orgs/acme/invitations",
            Some(json!({"email": email, "roles": roles})),
        )
        .await
}

/// The token from the invitation mail sent to `email`.
pub async fn mailed_token(app: &TestApp, email: &str) -> String {
    let mail = wait_for_message(
        &app.dir.path().join("mail"),
        &format!("To: {email}"),
        Duration::from_secs(10),
    )
    .await;
    let after = mail.split("token=").nth(1).expect("a link with a token");
    after
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

async fn accept(app: &TestApp, body: Value) -> reqwest::Response {
    app.post_json("/auth/invitations/accept", &body).await
}

#[tokio::test]
async fn an_invited_person_joins_with_the_invited_roles_once() {
    let app = spawn_app().await;
    let ada = acme(&app).await;
    let res = invite(&ada, "New.Person@Example.com", &["contributor"]).await;
    assert_eq!(res.status(), 201);
    let invitation: Value = res.json().await.unwrap();
    assert_eq!(invitation["email"], "new.person@example.com");
    assert_eq!(invitation["status"], "pending");
    assert!(invitation.get("token").is_none(), "the token is only in the mail");

    let token = mailed_token(&app, "new.person@example.com").await;
    assert_eq!(token.len(), 43);
    let res = accept(
        &app,
        json!({"token": token, "name": "New Person", "password": PASSWORD}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["org"]["slug"], "acme");

    let newcomer = login(&app, "new.person@example.com", PASSWORD).await;
    let me: Value = newcomer.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["memberships"][0]["roles"], json!(["contributor"]));

    let again = accept(
        &app,
        json!({"token": token, "name": "Someone Else", "password": PASSWORD}),
    )
    .await;
    assert_problem(again, 400, "bad_request").await;
    let list: Value = ada
        .get("/api/v1/orgs/acme/invitations")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["status"], "accepted");
}

#[tokio::test]
async fn revoked_and_expired_invitations_are_refused() {
    let app = spawn_app().await;
    let ada = acme(&app).await;
    let invitation: Value = invite(&ada, "late@example.com", &["auditor"])
        .await
        .json()
        .await
        .unwrap();
    let token = mailed_token(&app, "late@example.com").await;
    let path = format!(
        "/api/v1/orgs/acme/invitations/{}",
        invitation["id"].as_str().unwrap()
    );
    assert_eq!(ada.send(Method::DELETE, &path, None).await.status(), 204);
    let res = accept(
        &app,
        json!({"token": token, "name": "Late", "password": PASSWORD}),
    )
    .await;
    assert_problem(res, 400, "bad_request").await;

    invite(&ada, "slow@example.com", &["auditor"]).await;
    let token = mailed_token(&app, "slow@example.com").await;
    {
        use attest_core::store::entities::invitations;
        use sea_orm::{ActiveModelTrait as _, ColumnTrait as _, EntityTrait as _, QueryFilter as _, Set};
        let row = invitations::Entity::find()
            .filter(invitations::Column::Email.eq("slow@example.com"))
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        let mut active: invitations::ActiveModel = row.into();
        active.expires_at = Set(attest_core::clock::now() - chrono::Duration::seconds(1));
        active.update(&app.state.db).await.unwrap();
    }
    let res = accept(
        &app,
        json!({"token": token, "name": "Slow", "password": PASSWORD}),
    )
    .await;
    assert_problem(res, 400, "bad_request").await;
    assert_problem(
        accept(&app, json!({"token": "made-up"})).await,
        400,
        "bad_request",
    )
    .await;
}

#[tokio::test]
async fn nobody_invites_with_more_than_they_hold_or_without_the_permission() {
    let app = spawn_app().await;
    let ada = acme(&app).await;
    let org: Value = ada.get("/api/v1/orgs/acme").await.json().await.unwrap();
    let org_id = org["id"].as_str().unwrap().parse().unwrap();
    app.add_member(org_id, "bob@example.com", PASSWORD, &["admin"])
        .await;
    app.add_member(org_id, "mia@example.com", PASSWORD, &["compliance_manager"])
        .await;
    let bob = login(&app, "bob@example.com", PASSWORD).await;
    let mia = login(&app, "mia@example.com", PASSWORD).await;

    assert_problem(invite(&bob, "x@example.com", &["owner"]).await, 403, "forbidden").await;
    assert_eq!(invite(&bob, "x@example.com", &["admin"]).await.status(), 201);
    assert_problem(
        invite(&mia, "y@example.com", &["auditor"]).await,
        403,
        "forbidden",
    )
    .await;
    let body = assert_problem(
        invite(&ada, "z@example.com", &["superuser"]).await,
        400,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "roles");
    assert_problem(
        invite(&ada, "bob@example.com", &["auditor"]).await,
        409,
        "conflict",
    )
    .await;
}

#[tokio::test]
async fn a_new_account_needs_a_good_password() {
    let app = spawn_app().await;
    let ada = acme(&app).await;
    invite(&ada, "weak@example.com", &["auditor"]).await;
    let token = mailed_token(&app, "weak@example.com").await;
    let res = accept(&app, json!({"token": token, "name": "Weak", "password": "short"})).await;
    let body = assert_problem(res, 400, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "password");
    // The failed attempt did not use the invitation up.
    let res = accept(
        &app,
        json!({"token": token, "name": "Weak", "password": PASSWORD}),
    )
    .await;
    assert_eq!(res.status(), 200);
}

/// The accept page is a real form: with JavaScript off the browser posts it,
/// no password ever lands in a URL, and the answer is a redirect back.
#[tokio::test]
async fn the_accept_form_works_without_javascript() {
    let app = spawn_app().await;
    let ada = acme(&app).await;
    assert_eq!(invite(&ada, "nojs@example.com", &["auditor"]).await.status(), 201);
    let token = mailed_token(&app, "nojs@example.com").await;
    let browser = NoScript::new(&app);
    let page = browser.html(&format!("/invitations/accept?token={token}")).await;
    assert!(
        page.contains(r#"method="post" action="/auth/invitations/accept""#),
        "{page}"
    );
    let form = |name: &str, password: &str| {
        vec![
            ("token", token.clone()),
            ("name", name.to_owned()),
            ("password", password.to_owned()),
        ]
    };
    let submit = |form: Vec<(&'static str, String)>| {
        let browser = &browser;
        async move { browser.submit("/auth/invitations/accept", &form).await }
    };

    let forged = browser
        .client
        .post(app.url("/auth/invitations/accept"))
        .header("origin", "https://evil.example")
        .form(&form("No Script", PASSWORD))
        .send()
        .await
        .unwrap();
    assert_problem(forged, 403, "forbidden").await;
    let res = submit(form("", PASSWORD)).await;
    assert_eq!(
        location(&res),
        format!("/invitations/accept?token={token}&error=name")
    );
    let res = submit(form("No Script", "")).await;
    assert_eq!(
        location(&res),
        format!("/invitations/accept?token={token}&error=password")
    );
    let res = submit(form("No Script", PASSWORD)).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/invitations/accept?joined=1");
    let res = submit(form("No Script", PASSWORD)).await;
    assert_eq!(
        location(&res),
        format!("/invitations/accept?token={token}&error=invalid")
    );
    login(&app, "nojs@example.com", PASSWORD).await;
}
