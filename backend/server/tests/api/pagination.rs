//! Every list route pages the same way (CONTRACT.md "Lists"): `?limit=` from 1
//! to 200 (50 by default; anything else is `400 validation_failed`), an opaque
//! `?cursor=`, `{"items","next_cursor"}`, keyset order that a walk sees whole,
//! once, even while rows are added.

use std::collections::HashSet;

use attest_core::{audit::checkpoint, identity::sso::domains, store::entities::user_identities};
use reqwest::Method;
use sea_orm::{ActiveModelTrait as _, Set};
use serde_json::{json, Value};

use crate::{
    auth::{login, Browser, PASSWORD},
    helpers::assert_problem,
    world::{acme, create_org, Acme},
};

/// Each list route, as Ada (owner of acme, operator) reads it.
const LISTS: [&str; 11] = [
    "/api/v1/orgs",
    "/api/v1/orgs/acme/members",
    "/api/v1/orgs/acme/sessions",
    "/api/v1/orgs/acme/invitations",
    "/api/v1/orgs/acme/api-keys",
    "/api/v1/orgs/acme/roles",
    "/api/v1/orgs/acme/sso/domains",
    "/api/v1/orgs/acme/audit-events",
    "/api/v1/orgs/acme/audit-events/checkpoints",
    "/api/v1/me/sessions",
    "/api/v1/me/identities",
];

/// Pages per walk at `limit=2` over five rows: more than two, as the issue asks.
const ROWS: usize = 5;

/// Walks `path` with `limit` per page; returns every item and the page count.
/// Each page is full except the last, and only the last has no cursor.
async fn walk(browser: &Browser, path: &str, limit: usize) -> (Vec<Value>, usize) {
    let separator = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for pages in 1.. {
        let url = match &cursor {
            Some(c) => format!("{path}{separator}limit={limit}&cursor={c}"),
            None => format!("{path}{separator}limit={limit}"),
        };
        let res = browser.get(&url).await;
        assert_eq!(res.status(), 200, "{url}");
        let page: Value = res.json().await.unwrap();
        let got = page["items"].as_array().expect("items").clone();
        assert!(got.len() <= limit, "{url}: {} items", got.len());
        items.extend(got.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => {
                assert_eq!(got.len(), limit, "{url}: only full pages have a next page");
                cursor = Some(next.to_owned());
            }
            None => return (items, pages),
        }
    }
    unreachable!()
}

/// The items of `path`'s first page at the largest limit.
async fn whole(browser: &Browser, path: &str) -> Vec<Value> {
    let page: Value = browser
        .get(&format!("{path}?limit=200"))
        .await
        .json()
        .await
        .unwrap();
    assert!(page["next_cursor"].is_null(), "{path} fits one page");
    page["items"].as_array().unwrap().clone()
}

/// What tells an item of `path` apart from the others.
fn key(path: &str, item: &Value) -> String {
    let field = match path {
        p if p.ends_with("/orgs") => "slug",
        p if p.ends_with("/members") => "user_id",
        p if p.ends_with("/roles") => "name",
        p if p.ends_with("/domains") => "domain",
        p if p.contains("audit-events") => "seq",
        p if p.ends_with("/identities") => "issuer",
        _ => "id",
    };
    item[field].to_string()
}

async fn post(browser: &Browser, path: &str, body: Value) {
    let res = browser.send(Method::POST, path, Some(body)).await;
    assert!(res.status().is_success(), "{path}: {}", res.status());
}

/// Acme with at least [`ROWS`] rows in every list.
async fn crowded() -> Acme {
    let w = acme().await;
    let state = &w.app.state;
    for n in 0..ROWS {
        create_org(&w.ada, &format!("org-{n}")).await;
        w.app
            .add_member(
                w.org,
                &format!("member{n}@example.com"),
                PASSWORD,
                &["contributor"],
            )
            .await;
        login(&w.app, "ada@example.com", PASSWORD).await;
        post(
            &w.ada,
            "/api/v1/orgs/acme/invitations",
            json!({"email": format!("invitee{n}@example.com"), "roles": ["auditor"]}),
        )
        .await;
        post(
            &w.ada,
            "/api/v1/orgs/acme/api-keys",
            json!({"name": format!("key {n}"), "permissions": ["org:read"]}),
        )
        .await;
        post(
            &w.ada,
            "/api/v1/orgs/acme/roles",
            json!({"name": format!("custom-{n}"), "permissions": ["org:read"]}),
        )
        .await;
        checkpoint::sign_all(state).await.unwrap();
        user_identities::ActiveModel {
            issuer: Set(format!("https://idp{n}.example.com")),
            subject: Set(format!("ada-{n}")),
            user_id: Set(w.ada_id),
            org_id: Set(w.org),
            created_at: Set(attest_core::clock::now()),
            last_signed_in_at: Set(attest_core::clock::now()),
        }
        .insert(&state.db)
        .await
        .unwrap();
    }
    let claimed: Vec<String> = (0..ROWS).map(|n| format!("d{n}.acme.test")).collect();
    domains::replace(&state.db, w.org, &claimed).await.unwrap();
    w
}

#[tokio::test]
async fn every_list_walks_whole_and_once_in_pages_of_any_size() {
    let w = crowded().await;
    for path in LISTS {
        let all = whole(&w.ada, path).await;
        assert!(all.len() >= ROWS, "{path} has {} rows", all.len());
        let (walked, pages) = walk(&w.ada, path, 2).await;
        assert!(pages > 2, "{path}: {pages} pages");
        let keys: Vec<String> = walked.iter().map(|item| key(path, item)).collect();
        let unique: HashSet<&String> = keys.iter().collect();
        assert_eq!(unique.len(), keys.len(), "{path}: an item came twice");
        let expected: Vec<String> = all.iter().map(|item| key(path, item)).collect();
        assert_eq!(
            keys, expected,
            "{path}: the walk matches the one-page list, in order"
        );
    }
}

#[tokio::test]
async fn limits_out_of_range_and_foreign_cursors_are_refused() {
    let w = acme().await;
    for path in LISTS {
        for query in [
            "limit=0",
            "limit=201",
            "limit=-1",
            "limit=many",
            "cursor=not-a-cursor",
        ] {
            let res = w.ada.get(&format!("{path}?{query}")).await;
            assert_problem(res, 400, "validation_failed").await;
        }
        let res = w.ada.get(&format!("{path}?limit=200")).await;
        assert_eq!(res.status(), 200, "{path}: 200 is the largest page");
    }
    let page: Value = w.ada.get("/api/v1/orgs/acme/roles").await.json().await.unwrap();
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        5,
        "the built-in roles fit the default page"
    );
}

#[tokio::test]
async fn rows_added_during_a_walk_neither_repeat_nor_hide_others() {
    let w = crowded().await;
    // Newest first: keys made after the walk began belong before its start.
    let before = whole(&w.ada, "/api/v1/orgs/acme/api-keys").await;
    let first: Value = w
        .ada
        .get("/api/v1/orgs/acme/api-keys?limit=2")
        .await
        .json()
        .await
        .unwrap();
    for n in 0..3 {
        post(
            &w.ada,
            "/api/v1/orgs/acme/api-keys",
            json!({"name": format!("late {n}"), "permissions": ["org:read"]}),
        )
        .await;
    }
    let mut seen: Vec<Value> = first["items"].as_array().unwrap().clone();
    let mut cursor = first["next_cursor"].as_str().map(str::to_owned);
    while let Some(c) = cursor {
        let page: Value = w
            .ada
            .get(&format!("/api/v1/orgs/acme/api-keys?limit=2&cursor={c}"))
            .await
            .json()
            .await
            .unwrap();
        seen.extend(page["items"].as_array().unwrap().iter().cloned());
        cursor = page["next_cursor"].as_str().map(str::to_owned);
    }
    assert_eq!(
        seen, before,
        "the walk saw exactly the keys that existed when it began"
    );

    // By key ascending: members who join during a walk come at its end, once.
    let (walked_before, _) = walk(&w.ada, "/api/v1/orgs/acme/members", 2).await;
    let first: Value = w
        .ada
        .get("/api/v1/orgs/acme/members?limit=2")
        .await
        .json()
        .await
        .unwrap();
    let late = w
        .app
        .add_member(w.org, "late@example.com", PASSWORD, &["auditor"])
        .await;
    let mut ids: Vec<String> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user_id"].as_str().unwrap().to_owned())
        .collect();
    let mut cursor = first["next_cursor"].as_str().map(str::to_owned);
    while let Some(c) = cursor {
        let page: Value = w
            .ada
            .get(&format!("/api/v1/orgs/acme/members?limit=2&cursor={c}"))
            .await
            .json()
            .await
            .unwrap();
        ids.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["user_id"].as_str().unwrap().to_owned()),
        );
        cursor = page["next_cursor"].as_str().map(str::to_owned);
    }
    let mut expected: Vec<String> = walked_before
        .iter()
        .map(|m| m["user_id"].as_str().unwrap().to_owned())
        .collect();
    expected.push(late.to_string());
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn a_member_pages_through_their_own_orgs_only() {
    let w = crowded().await;
    let bob = w.app.create_user("bob@example.com", PASSWORD).await;
    for slug in ["org-0", "org-2", "org-4"] {
        let org: Value = w
            .ada
            .get(&format!("/api/v1/orgs/{slug}"))
            .await
            .json()
            .await
            .unwrap();
        let org_id = org["id"].as_str().unwrap().parse().unwrap();
        attest_core::tenancy::members::admit(&w.app.state.db, org_id, bob, &["auditor".to_owned()])
            .await
            .unwrap();
    }
    let bob = login(&w.app, "bob@example.com", PASSWORD).await;
    let (orgs, pages) = walk(&bob, "/api/v1/orgs", 1).await;
    let slugs: Vec<&str> = orgs.iter().map(|o| o["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, ["org-0", "org-2", "org-4"]);
    assert_eq!(pages, 3);
}
