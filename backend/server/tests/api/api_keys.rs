//! Org API keys: shown once, a subset of their creator's permissions, refused
//! once revoked or expired, rotated with a grace period, never taken from a query
//! string, audited as `api_key` actors, and rate limited per key.

use attest_core::store::entities::api_keys;
use attest_shared::{audit::ActorKind, roles};
use reqwest::Method;
use sea_orm::{ActiveModelTrait as _, EntityTrait as _, Set};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    audit::events,
    auth::{login, Browser, PASSWORD},
    helpers::{assert_problem, TestApp},
    rate_limit::header,
    world::{acme, acme_with, Acme},
};

/// Creates a key in acme as `browser`.
async fn create(browser: &Browser, body: Value) -> reqwest::Response {
    browser
        .send(Method::POST, "/api/v1/orgs/acme/api-keys", Some(body))
        .await
}

/// A key made by `browser` granting `permissions`: (id, key).
pub async fn key_of(browser: &Browser, permissions: &[&str]) -> (Uuid, String) {
    let res = create(browser, json!({"name": "partner", "permissions": permissions})).await;
    assert_eq!(res.status(), 201);
    let made: Value = res.json().await.unwrap();
    (
        made["id"].as_str().unwrap().parse().unwrap(),
        made["key"].as_str().unwrap().to_owned(),
    )
}

/// `GET path` with the key (and no cookie).
pub async fn get_with(app: &TestApp, key: &str, path: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
}

/// Moves the key's expiry into the past, as time would.
async fn expire(app: &TestApp, id: Uuid) {
    let key = api_keys::Entity::find_by_id(id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut active: api_keys::ActiveModel = key.into();
    active.expires_at = Set(Some((chrono::Utc::now() - chrono::Duration::seconds(1)).into()));
    active.update(&app.state.db).await.unwrap();
}

#[tokio::test]
async fn a_key_is_shown_once_listed_by_prefix_and_acts_as_an_api_key_actor() {
    let Acme { app, ada, org, .. } = acme().await;
    let res = create(
        &ada,
        json!({"name": "Partner sync", "permissions": ["org:read", "org:update", "members:read"]}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let made: Value = res.json().await.unwrap();
    let key = made["key"].as_str().unwrap().to_owned();
    let (public_id, secret) = key.strip_prefix("atk_").unwrap().split_once('_').unwrap();
    assert!(secret.len() * 4 >= 128, "at least 128 bits of secret: {key}");
    assert_eq!(made["prefix"], format!("atk_{public_id}"));

    let listing = ada.get("/api/v1/orgs/acme/api-keys").await.text().await.unwrap();
    assert!(!listing.contains(secret), "the list never holds the secret");
    let listing: Value = serde_json::from_str(&listing).unwrap();
    let item = &listing["items"][0];
    assert_eq!(item["prefix"], made["prefix"]);
    assert_eq!(item["name"], "Partner sync");
    assert!(item.get("key").is_none());
    assert!(item["last_used_at"].is_null());
    let stored = api_keys::Entity::find().all(&app.state.db).await.unwrap();
    assert!(
        stored.iter().all(|k| !k.secret_hash.contains(secret)),
        "only a digest is stored"
    );

    let me: Value = get_with(&app, &key, "/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["type"], "api_key");
    assert_eq!(me["org"]["slug"], "acme");
    assert!(me.get("user").is_none());
    assert_eq!(
        me["memberships"][0]["permissions"],
        json!(["org:read", "org:update", "members:read"])
    );
    let orgs: Value = get_with(&app, &key, "/api/v1/orgs").await.json().await.unwrap();
    assert_eq!(
        orgs["items"].as_array().unwrap().len(),
        1,
        "a key sees its org only"
    );

    // A change made with the key is the key's in the audit trail.
    let res = app
        .client
        .patch(app.url("/api/v1/orgs/acme"))
        .bearer_auth(&key)
        .header("if-match", "*")
        .json(&json!({"name": "Acme Renamed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let trail = events(&app, org).await;
    let sent = trail.iter().find(|e| e.action == "org.renamed").unwrap();
    assert_eq!(sent.actor.kind, ActorKind::ApiKey);
    assert_eq!(sent.actor.id, Some(made["id"].as_str().unwrap().parse().unwrap()));
    assert_eq!(sent.actor.display, "Partner sync");
    assert_eq!(sent.request_id.as_deref(), Some(request_id.as_str()));
    let created = trail.iter().find(|e| e.action == "api_key.created").unwrap();
    assert_eq!(created.actor.kind, ActorKind::User);
    let everything = serde_json::to_string(&trail).unwrap();
    assert!(!everything.contains(secret), "no event holds the secret");

    // Use is recorded by the activity flusher, a few seconds at most after it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let listing: Value = ada.get("/api/v1/orgs/acme/api-keys").await.json().await.unwrap();
        if listing["items"][0]["last_used_at"].is_string() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "use is recorded");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    // A cookie and a key together are refused.
    let both = ada
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_problem(both, 400, "bad_request").await;
}

#[tokio::test]
async fn a_key_holds_a_subset_of_its_creators_permissions_and_loses_what_they_lose() {
    let Acme { app, ada, org, .. } = acme().await;
    let admin = app
        .add_member(org, "admin@example.com", PASSWORD, &[roles::ADMIN])
        .await;
    let admin_browser = login(&app, "admin@example.com", PASSWORD).await;

    let beyond = create(
        &admin_browser,
        json!({"name": "k", "permissions": ["org:delete"]}),
    )
    .await;
    let problem = assert_problem(beyond, 403, "forbidden").await;
    assert_eq!(problem["permission"], "org:delete");
    let unknown = create(&admin_browser, json!({"name": "k", "permissions": ["org:fly"]})).await;
    assert_problem(unknown, 400, "validation_failed").await;
    let empty = create(&admin_browser, json!({"name": "k", "permissions": []})).await;
    assert_problem(empty, 400, "validation_failed").await;
    let nameless = create(&admin_browser, json!({"name": " ", "permissions": ["org:read"]})).await;
    assert_problem(nameless, 400, "validation_failed").await;
    let past = create(
        &admin_browser,
        json!({"name": "k", "permissions": ["org:read"], "expires_at": "2001-01-01T00:00:00Z"}),
    )
    .await;
    assert_problem(past, 400, "validation_failed").await;

    let (_, key) = key_of(&admin_browser, &["members:read"]).await;
    assert_eq!(
        get_with(&app, &key, "/api/v1/orgs/acme/members").await.status(),
        200
    );
    let refused = get_with(&app, &key, "/api/v1/orgs/acme/audit-events").await;
    assert_problem(refused, 403, "forbidden").await;

    // The creator becomes an auditor (no members:read): the key grants nothing more.
    let res = ada
        .request(Method::PUT, &format!("/api/v1/orgs/acme/members/{admin}/roles"))
        .json(&json!({"roles": ["auditor"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let after = get_with(&app, &key, "/api/v1/orgs/acme/members").await;
    assert_problem(after, 401, "unauthenticated").await;

    // Keys cannot make keys.
    let (_, manager) = key_of(&ada, &["org:read", "api_keys:manage"]).await;
    let res = app
        .client
        .post(app.url("/api/v1/orgs/acme/api-keys"))
        .bearer_auth(&manager)
        .json(&json!({"name": "child", "permissions": ["org:read"]}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "forbidden").await;
}

#[tokio::test]
async fn revoked_and_expired_keys_are_refused_on_the_next_request() {
    let Acme { app, ada, .. } = acme().await;
    let (revoked_id, revoked) = key_of(&ada, &["org:read"]).await;
    let (expired_id, expired) = key_of(&ada, &["org:read"]).await;
    for key in [&revoked, &expired] {
        assert_eq!(get_with(&app, key, "/api/v1/orgs/acme").await.status(), 200);
    }
    let res = ada
        .send(
            Method::DELETE,
            &format!("/api/v1/orgs/acme/api-keys/{revoked_id}"),
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    expire(&app, expired_id).await;
    for key in [&revoked, &expired] {
        let res = get_with(&app, key, "/api/v1/orgs/acme").await;
        assert_problem(res, 401, "unauthenticated").await;
    }
    let listing: Value = ada.get("/api/v1/orgs/acme/api-keys").await.json().await.unwrap();
    let ids: Vec<&str> = listing["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [expired_id.to_string()], "revoked keys leave the list");
    let again = ada
        .send(
            Method::DELETE,
            &format!("/api/v1/orgs/acme/api-keys/{revoked_id}"),
            None,
        )
        .await;
    assert_problem(again, 404, "not_found").await;

    // A wrong secret under a real public id, and junk, are refused alike.
    let forged = format!("{}{}", &revoked[..revoked.len() - 4], "0000");
    for key in [forged.as_str(), "atk_nonsense", "atk_0123456789abcdef_00"] {
        let res = get_with(&app, key, "/api/v1/me").await;
        assert_problem(res, 401, "unauthenticated").await;
    }
}

async fn rotate(browser: &Browser, id: Uuid, grace: u64) -> reqwest::Response {
    browser
        .send(
            Method::POST,
            &format!("/api/v1/orgs/acme/api-keys/{id}/rotate"),
            Some(json!({"grace_seconds": grace})),
        )
        .await
}

#[tokio::test]
async fn rotation_keeps_the_old_key_working_for_the_grace_period_only() {
    let Acme { app, ada, .. } = acme().await;
    let (old_id, old) = key_of(&ada, &["org:read", "members:read"]).await;
    let too_long = rotate(&ada, old_id, 8 * 24 * 3600).await;
    assert_problem(too_long, 400, "validation_failed").await;

    let res = rotate(&ada, old_id, 3600).await;
    assert_eq!(res.status(), 201);
    let new: Value = res.json().await.unwrap();
    let new_key = new["key"].as_str().unwrap();
    assert_ne!(new_key, old);
    assert_eq!(new["name"], "partner");
    assert_eq!(new["permissions"], json!(["org:read", "members:read"]));
    for key in [old.as_str(), new_key] {
        assert_eq!(
            get_with(&app, key, "/api/v1/orgs/acme/members").await.status(),
            200
        );
    }
    let listing: Value = ada.get("/api/v1/orgs/acme/api-keys").await.json().await.unwrap();
    let old_item = listing["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == old_id.to_string())
        .unwrap();
    assert!(old_item["expires_at"].is_string(), "the old key now ends");

    // The grace period ends: the old key is refused, the new one works.
    expire(&app, old_id).await;
    let res = get_with(&app, &old, "/api/v1/orgs/acme").await;
    assert_problem(res, 401, "unauthenticated").await;
    assert_eq!(get_with(&app, new_key, "/api/v1/orgs/acme").await.status(), 200);
    let expired = rotate(&ada, old_id, 60).await;
    assert_problem(expired, 409, "conflict").await;

    // No grace: the old key stops at once.
    let new_id: Uuid = new["id"].as_str().unwrap().parse().unwrap();
    let res = rotate(&ada, new_id, 0).await;
    assert_eq!(res.status(), 201);
    let res = get_with(&app, new_key, "/api/v1/orgs/acme").await;
    assert_problem(res, 401, "unauthenticated").await;
}

#[tokio::test]
async fn keys_are_never_taken_from_a_query_string() {
    let Acme { app, ada, .. } = acme().await;
    let (_, key) = key_of(&ada, &["org:read"]).await;
    for query in ["api_key", "access_token", "key", "token"] {
        let res = app
            .client
            .get(app.url(&format!("/api/v1/orgs/acme?{query}={key}")))
            .send()
            .await
            .unwrap();
        let problem = assert_problem(res, 401, "unauthenticated").await;
        assert!(problem["detail"].as_str().unwrap().contains("query string"));
        assert!(!problem.to_string().contains(&key), "the key is not echoed");
    }
    // Not even next to a valid Authorization header.
    let res = app
        .client
        .get(app.url(&format!("/api/v1/orgs/acme?api_key={key}")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "unauthenticated").await;
}

#[tokio::test]
async fn keys_are_rate_limited_each_on_its_own_with_standard_headers() {
    let Acme { app, ada, .. } = acme_with(&[("ATTEST_RATE_LIMIT_PER_MINUTE", "60")]).await;
    let (_, first) = key_of(&ada, &["org:read"]).await;
    let (_, second) = key_of(&ada, &["org:read"]).await;
    for n in 1..=60u32 {
        let res = get_with(&app, &first, "/api/v1/orgs/acme").await;
        assert_eq!(res.status(), 200, "request {n}");
        assert_eq!(header(&res, "x-ratelimit-limit"), "60");
        assert_eq!(header(&res, "x-ratelimit-remaining"), (60 - n).to_string());
        assert_eq!(header(&res, "ratelimit-policy"), "\"api_key\";q=60;w=60");
    }
    let refused = app
        .client
        .get(app.url("/api/v1/orgs/acme"))
        .bearer_auth(&first)
        // From an untrusted peer, a forwarded address changes nothing.
        .header("x-forwarded-for", "198.51.100.7")
        .send()
        .await
        .unwrap();
    let retry_after: u64 = header(&refused, "retry-after").parse().unwrap();
    assert_eq!(retry_after, 1, "one request a second comes back");
    assert!(header(&refused, "ratelimit").starts_with("\"api_key\";r=0;t="));
    assert!(header(&refused, "x-ratelimit-reset").parse::<u64>().unwrap() <= 60);
    assert_problem(refused, 429, "rate_limited").await;

    assert_eq!(
        get_with(&app, &second, "/api/v1/orgs/acme").await.status(),
        200,
        "another key has its own budget"
    );
    assert_eq!(
        ada.get("/api/v1/orgs/acme").await.status(),
        200,
        "signed-in people are not counted against keys"
    );
    tokio::time::sleep(std::time::Duration::from_secs(retry_after)).await;
    assert_eq!(
        get_with(&app, &first, "/api/v1/orgs/acme").await.status(),
        200,
        "Retry-After was honest"
    );
}

#[tokio::test]
async fn requests_without_accepted_credentials_are_rate_limited_per_client_ip() {
    let Acme { app, ada, .. } = acme_with(&[("ATTEST_RATE_LIMIT_PER_MINUTE", "2")]).await;
    let (_, key) = key_of(&ada, &["org:read"]).await;
    for _ in 0..2 {
        let res = app.get("/api/v1/audit/checkpoint-key").await;
        assert_eq!(res.status(), 200);
        assert_eq!(header(&res, "ratelimit-policy"), "\"ip\";q=2;w=60");
    }
    let res = app
        .client
        .get(app.url("/api/v1/me"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_problem(res, 429, "rate_limited").await;
    assert_eq!(
        get_with(&app, &key, "/api/v1/orgs/acme").await.status(),
        200,
        "requests without credentials never hold up a key"
    );

    // Made-up credentials count against the client's address on their own.
    let forged_cookie = app
        .client
        .get(app.url("/api/v1/me"))
        .header("cookie", "attest_session=forged")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&forged_cookie, "x-ratelimit-remaining"), "1");
    assert_problem(forged_cookie, 401, "unauthenticated").await;
    let forged_key = get_with(&app, "atk_0123456789abcdef_00", "/api/v1/me").await;
    assert_eq!(header(&forged_key, "x-ratelimit-remaining"), "0");
    assert_problem(forged_key, 401, "unauthenticated").await;
    let forged_key = get_with(&app, "atk_0123456789abcdef_00", "/api/v1/me").await;
    assert_problem(forged_key, 429, "rate_limited").await;

    // While the address sprays credentials, none from it is looked up: a real key
    // and a live session wait too, by the address's policy.
    let res = get_with(&app, &key, "/api/v1/orgs/acme").await;
    assert_eq!(header(&res, "ratelimit-policy"), "\"ip\";q=2;w=60");
    assert!(header(&res, "retry-after").parse::<u64>().unwrap() >= 1);
    assert_problem(res, 429, "rate_limited").await;
    assert_eq!(ada.get("/api/v1/me").await.status(), 429);
    // Probes are never limited.
    assert_eq!(app.get("/livez").await.status(), 200);
}

#[tokio::test]
async fn a_key_is_rotated_once() {
    // The server lives as long as `_app`.
    let Acme { app: _app, ada, .. } = acme().await;
    let (id, _) = key_of(&ada, &["org:read"]).await;
    let (first, second) = tokio::join!(rotate(&ada, id, 60), rotate(&ada, id, 60));
    let mut statuses = [first.status().as_u16(), second.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409], "of two rotations at once, one wins");
    let again = rotate(&ada, id, 60).await;
    let problem = assert_problem(again, 409, "conflict").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("rotated"),
        "{problem}"
    );
    let listing: Value = ada.get("/api/v1/orgs/acme/api-keys").await.json().await.unwrap();
    assert_eq!(
        listing["items"].as_array().unwrap().len(),
        2,
        "the old key and one new key"
    );
}
