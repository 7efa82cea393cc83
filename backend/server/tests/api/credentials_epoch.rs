//! Verified credentials live in memory per instance, tagged with the credentials
//! epoch (`attest_core::identity::verified`): every change that ends or narrows a
//! credential moves the epoch in its own transaction, and nothing else does, so
//! a revocation that has returned is enforced by every instance on its next
//! request while ordinary traffic keeps hitting memory.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use attest_core::identity::{users, verified::Epoch};
use reqwest::Method;
use serde_json::{json, Value};

use crate::{
    api_keys::{get_with, key_of},
    auth::{login, login_attempt, Browser, PASSWORD},
    helpers::{spawn_app_on, TestApp},
    world::{acme, Acme},
};

async fn epoch(app: &TestApp) -> Epoch {
    Epoch::read(&app.state.db).await.unwrap()
}

/// Runs `change` and says whether the epoch moved.
async fn moves<F: std::future::Future<Output = ()>>(app: &TestApp, change: F) -> bool {
    let before = epoch(app).await;
    change.await;
    epoch(app).await != before
}

async fn ok(browser: &Browser, method: Method, path: &str, body: Option<Value>) {
    let res = browser.send(method, path, body).await;
    assert!(res.status().is_success(), "{path}: {}", res.status());
}

#[tokio::test]
async fn what_narrows_a_credential_moves_the_epoch_and_ordinary_traffic_does_not() {
    let Acme { app, ada, org, .. } = acme().await;
    let (key_id, key_secret) = key_of(&ada, &["org:read"]).await;
    let pat = app
        .add_member(org, "pat@example.com", PASSWORD, &["contributor"])
        .await;

    // Ordinary traffic: signing in, using a key or a session, a failed sign-in.
    assert!(
        !moves(&app, async {
            drop(login(&app, "pat@example.com", PASSWORD).await)
        })
        .await
    );
    assert!(
        !moves(&app, async {
            assert_eq!(
                get_with(&app, &key_secret, "/api/v1/orgs/acme").await.status(),
                200
            )
        })
        .await
    );
    assert!(
        !moves(&app, async {
            assert_eq!(ada.get("/api/v1/orgs/acme/members").await.status(), 200)
        })
        .await
    );
    assert!(
        !moves(&app, async {
            assert_eq!(
                login_attempt(&app, "pat@example.com", "wrong").await.status(),
                401
            )
        })
        .await
    );

    // Each change that ends or narrows something.
    let roles = format!("/api/v1/orgs/acme/members/{pat}/roles");
    assert!(
        moves(
            &app,
            ok(&ada, Method::PUT, &roles, Some(json!({"roles": ["auditor"]})))
        )
        .await
    );
    let rename = json!({"name": "Acme Corp"});
    let res = ada.get("/api/v1/orgs/acme").await;
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    assert!(
        moves(&app, async {
            let res = ada
                .request(Method::PATCH, "/api/v1/orgs/acme")
                .header("if-match", etag)
                .json(&rename)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
        })
        .await
    );
    let rotate = format!("/api/v1/orgs/acme/api-keys/{key_id}/rotate");
    assert!(
        moves(
            &app,
            ok(&ada, Method::POST, &rotate, Some(json!({"grace_seconds": 60})))
        )
        .await
    );
    let (other_id, _) = key_of(&ada, &["org:read"]).await;
    let revoke = format!("/api/v1/orgs/acme/api-keys/{other_id}");
    assert!(moves(&app, ok(&ada, Method::DELETE, &revoke, None)).await);
    let sessions: Value = ada.get("/api/v1/me/sessions").await.json().await.unwrap();
    let current = sessions["items"][0]["id"].as_str().unwrap();
    let spare = login(&app, "ada@example.com", PASSWORD).await;
    drop(spare);
    let sessions: Value = ada.get("/api/v1/me/sessions").await.json().await.unwrap();
    let other = sessions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .find(|id| *id != current)
        .unwrap()
        .to_owned();
    assert!(
        moves(
            &app,
            ok(
                &ada,
                Method::DELETE,
                &format!("/api/v1/me/sessions/{other}"),
                None
            )
        )
        .await
    );
    assert!(
        moves(&app, async {
            users::disable(&app.state, "pat@example.com").await.unwrap();
        })
        .await
    );
    let members = format!("/api/v1/orgs/acme/members/{pat}");
    assert!(moves(&app, ok(&ada, Method::DELETE, &members, None)).await);
}

/// Hammers `path` with `key` on `app` until `stop`; returns (started, status) per request.
fn hammer(
    app: &TestApp,
    key: &str,
    path: &str,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<(Instant, u16)>> {
    let (client, url, key) = (app.client.clone(), app.url(path), key.to_owned());
    tokio::spawn(async move {
        let mut seen = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let started = Instant::now();
            let res = client.get(&url).bearer_auth(&key).send().await.unwrap();
            seen.push((started, res.status().as_u16()));
        }
        seen
    })
}

#[tokio::test]
async fn a_key_revoked_under_load_is_refused_by_every_later_request_on_every_instance() {
    let Acme { app, ada, .. } = acme().await;
    let second = spawn_app_on(app.db.share(), &[]).await;
    let (key_id, key_secret) = key_of(&ada, &["org:read", "members:read"]).await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    for instance in [&app, &second] {
        for _ in 0..4 {
            load.push(hammer(
                instance,
                &key_secret,
                "/api/v1/orgs/acme/members",
                stop.clone(),
            ));
        }
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    let res = ada
        .send(
            Method::DELETE,
            &format!("/api/v1/orgs/acme/api-keys/{key_id}"),
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    let revoked = Instant::now();
    tokio::time::sleep(Duration::from_millis(400)).await;
    stop.store(true, Ordering::Relaxed);

    let mut before_ok = 0;
    let mut after = 0;
    for task in load {
        for (started, status) in task.await.unwrap() {
            if started > revoked {
                after += 1;
                assert_eq!(
                    status, 401,
                    "a request started after the revocation returned got {status}"
                );
            } else if status == 200 {
                before_ok += 1;
            }
        }
    }
    assert!(
        before_ok > 8,
        "the key worked under load first ({before_ok} answers)"
    );
    assert!(
        after > 8,
        "the load went on after the revocation ({after} requests)"
    );
}
