//! `GET /api/v1/me/export`: everything Attest holds about the signed-in
//! person, none of their secrets, nothing about anyone else; audit events
//! streamed across pages.

use attest_core::audit::{self, Action, Record, Source};
use reqwest::Method;
use serde_json::{json, Value};

use crate::{
    api_keys::{get_with, key_of},
    auth::{login, PASSWORD},
    compliance::json_of,
    helpers::TEST_SECRET_KEY,
    world::{acme, Acme},
};

async fn export_of(browser: &crate::auth::Browser) -> (Value, String) {
    let res = browser.get("/api/v1/me/export").await;
    assert_eq!(res.status(), 200);
    let disposition = res.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    assert_eq!(res.headers()["cache-control"], "no-store");
    let text = res.text().await.unwrap();
    (
        serde_json::from_str(&text).expect("the export is one JSON document"),
        text,
    )
}

#[tokio::test]
async fn my_export_holds_what_attest_knows_of_me_and_none_of_my_secrets() {
    let Acme { app, ada, org, .. } = acme().await;
    app.add_member(org, "bob@example.com", PASSWORD, &["admin"]).await;
    let bob = login(&app, "bob@example.com", PASSWORD).await;
    let (_, key) = key_of(&ada, &["org:read"]).await;
    let policy = json_of(
        ada.send(
            Method::POST,
            "/api/v1/orgs/acme/policies",
            Some(json!({"title": "Access", "body": "Only with MFA."})),
        )
        .await,
        201,
    )
    .await;
    let path = format!("/api/v1/orgs/acme/policies/{}", policy["id"].as_str().unwrap());
    json_of(
        ada.send(Method::POST, &format!("{path}/publish"), None).await,
        201,
    )
    .await;
    json_of(
        ada.send(Method::POST, &format!("{path}/acknowledgments"), Some(json!({})))
            .await,
        201,
    )
    .await;
    let second = login(&app, "ada@example.com", PASSWORD).await;

    let (export, text) = export_of(&second).await;
    assert_eq!(export["user"]["email"], "ada@example.com");
    assert_eq!(export["user"]["has_password"], true);
    assert_eq!(export["memberships"][0]["org"]["slug"], "acme");
    assert_eq!(export["memberships"][0]["roles"], json!(["owner"]));
    let sessions = export["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "both of Ada's sessions");
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    assert_eq!(export["api_keys"].as_array().unwrap().len(), 1);
    assert_eq!(export["policy_acknowledgments"][0]["policy_id"], policy["id"]);
    let actions: Vec<&str> = export["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "org.created",
        "api_key.created",
        "policy.acknowledged",
        "user.data_exported",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    // Bob's sign-in is his, not Ada's.
    assert!(
        export["audit_events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"]["id"] == export["user"]["id"] || e["target"]["id"] == export["user"]["id"]),
        "only events by or about Ada"
    );
    // No secret of hers, nor the server's, is in it.
    let secret = key.rsplit('_').next().unwrap();
    for held in [
        secret,
        PASSWORD,
        "$argon2",
        TEST_SECRET_KEY,
        &second.cookie_header(),
    ] {
        assert!(!text.contains(held), "the export holds {held}");
    }

    let (bobs, _) = export_of(&bob).await;
    assert_eq!(bobs["user"]["email"], "bob@example.com");
    assert_eq!(bobs["api_keys"], json!([]));
    assert_eq!(bobs["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(bobs["memberships"][0]["roles"], json!(["admin"]));

    // A key is not a person; without credentials there is nobody to export.
    let res = get_with(&app, &key, "/api/v1/me/export").await;
    assert_eq!(res.status(), 403);
    let res = app.get("/api/v1/me/export").await;
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn a_long_trail_streams_across_pages_as_one_document() {
    let Acme {
        app,
        ada,
        org,
        ada_id,
    } = acme().await;
    let mut source = Source::system();
    source.actor.kind = attest_shared::audit::ActorKind::User;
    source.actor.id = Some(ada_id);
    let made = attest_core::privacy::export::EVENTS_PAGE as usize * 2 + 7;
    let txn = app.state.begin().await.unwrap();
    for n in 0..made {
        audit::append(&txn, org, &source, Record::of(Action::RoleCreated, "role", n))
            .await
            .unwrap();
    }
    txn.commit().await.unwrap();
    let (export, _) = export_of(&ada).await;
    let events = export["audit_events"].as_array().unwrap();
    let roles = events.iter().filter(|e| e["action"] == "role.created").count();
    assert_eq!(roles, made);
    let mut ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    let count = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), count, "no event twice across pages");
}
