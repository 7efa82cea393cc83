//! Roles: built-ins are read-only, custom roles grant what they list, and nobody
//! grants what they do not hold; an org always keeps an owner.

use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    auth::{login, Browser, PASSWORD},
    helpers::{assert_problem, spawn_app_on},
    world::{acme, Acme},
};

async fn set_roles(browser: &Browser, user: Uuid, roles: &[&str]) -> reqwest::Response {
    browser
        .send(
            Method::PUT,
            &format!("/api/v1/orgs/acme/members/{user}/roles"),
            Some(json!({"roles": roles})),
        )
        .await
}

/// A new member of acme with `roles`, signed in.
async fn member(w: &Acme, email: &str, roles: &[&str]) -> (Uuid, Browser) {
    let id = w.app.add_member(w.org, email, PASSWORD, roles).await;
    (id, login(&w.app, email, PASSWORD).await)
}

/// `user`'s row in acme's members list, as `browser` sees it.
async fn member_row(browser: &Browser, user: Uuid) -> Value {
    crate::members::acme_member(browser, |m| m["user_id"] == user.to_string()).await
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

    let (pat, pat_browser) = member(&w, "pat@example.com", &["people-ops"]).await;
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
    assert_eq!(member_row(&w.ada, pat).await["roles"], json!([]));
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
    let (_, bob) = member(&w, "bob@example.com", &["admin"]).await;
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
    let (aud, auditor) = member(&w, "aud@example.com", &["auditor"]).await;
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

#[tokio::test]
async fn a_role_change_on_one_instance_is_enforced_by_another_on_its_next_request() {
    let w = acme().await;
    let second = spawn_app_on(w.app.db.share(), &[]).await;
    let (pat_id, pat) = member(&w, "pat@example.com", &["contributor"]).await;
    let pat = pat.against(&second);
    // The second instance has compiled and cached acme's policy: contributors
    // may not list members.
    assert_problem(pat.get("/api/v1/orgs/acme/members").await, 403, "forbidden").await;

    // Promoted through the first instance: the second allows the next request.
    assert_eq!(
        set_roles(&w.ada, pat_id, &["compliance_manager"]).await.status(),
        200
    );
    assert_eq!(pat.get("/api/v1/orgs/acme/members").await.status(), 200);

    // A custom role's grants change through the first instance: the second follows.
    let create = json!({"name": "lister", "permissions": ["org:read", "members:read"]});
    let res = w
        .ada
        .send(Method::POST, "/api/v1/orgs/acme/roles", Some(create))
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(set_roles(&w.ada, pat_id, &["lister"]).await.status(), 200);
    assert_eq!(pat.get("/api/v1/orgs/acme/members").await.status(), 200);
    let narrow = json!({"permissions": ["org:read"]});
    let res = w
        .ada
        .send(Method::PUT, "/api/v1/orgs/acme/roles/lister", Some(narrow))
        .await;
    assert_eq!(res.status(), 200);
    assert_problem(pat.get("/api/v1/orgs/acme/members").await, 403, "forbidden").await;

    // Removed through the first instance: the org is gone for them on the second.
    let res = w
        .ada
        .send(
            Method::DELETE,
            &format!("/api/v1/orgs/acme/members/{pat_id}"),
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    let pat_again = login(&second, "pat@example.com", PASSWORD).await;
    assert_problem(pat_again.get("/api/v1/orgs/acme").await, 404, "not_found").await;
}

async fn put_with_if_match(
    browser: &Browser,
    path: &str,
    if_match: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut req = browser.request(Method::PUT, path).json(&body);
    if let Some(tag) = if_match {
        req = req.header("if-match", tag);
    }
    req.send().await.unwrap()
}

fn etag(res: &reqwest::Response) -> String {
    res.headers()["etag"].to_str().unwrap().to_owned()
}

/// The role `name` in acme's roles list.
async fn role_row(browser: &Browser, name: &str) -> Value {
    let list: Value = browser.get("/api/v1/orgs/acme/roles").await.json().await.unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn replacing_a_role_honours_if_match_when_sent() {
    let w = acme().await;
    let create = json!({"name": "lister", "permissions": ["org:read"]});
    let res = w
        .ada
        .send(Method::POST, "/api/v1/orgs/acme/roles", Some(create))
        .await;
    assert_eq!(etag(&res), "\"1\"");
    let lister = role_row(&w.ada, "lister").await;
    assert_eq!(lister["version"], 1);

    let path = "/api/v1/orgs/acme/roles/lister";
    let body = json!({"permissions": ["org:read", "members:read"]});
    let res = put_with_if_match(&w.ada, path, Some("\"1\""), body.clone()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(etag(&res), "\"2\"");
    assert_eq!(res.json::<Value>().await.unwrap()["version"], 2);

    // A stale or meaningless tag changes nothing.
    let stale = json!({"permissions": []});
    let res = put_with_if_match(&w.ada, path, Some("\"1\""), stale.clone()).await;
    assert_problem(res, 412, "precondition_failed").await;
    let res = put_with_if_match(&w.ada, path, Some("not-a-tag"), stale).await;
    assert_problem(res, 412, "precondition_failed").await;
    let lister = role_row(&w.ada, "lister").await;
    assert_eq!(lister["permissions"], json!(["org:read", "members:read"]));
    assert_eq!(lister["version"], 2);

    // `*` and no If-Match at all replace whatever is current.
    assert_eq!(
        put_with_if_match(&w.ada, path, Some("*"), body.clone())
            .await
            .status(),
        200
    );
    let res = put_with_if_match(&w.ada, path, None, body).await;
    assert_eq!(etag(&res), "\"4\"");
}

#[tokio::test]
async fn assigning_roles_honours_if_match_when_sent() {
    let w = acme().await;
    let carl = w
        .app
        .add_member(w.org, "carl@example.com", PASSWORD, &["contributor"])
        .await;
    assert_eq!(member_row(&w.ada, carl).await["version"], 1);

    let path = format!("/api/v1/orgs/acme/members/{carl}/roles");
    let res = put_with_if_match(&w.ada, &path, Some("\"1\""), json!({"roles": ["auditor"]})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(etag(&res), "\"2\"");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body, json!({"roles": ["auditor"], "version": 2}));

    let res = put_with_if_match(&w.ada, &path, Some("\"1\""), json!({"roles": ["admin"]})).await;
    assert_problem(res, 412, "precondition_failed").await;
    assert_eq!(
        member_row(&w.ada, carl).await["roles"],
        json!(["auditor"]),
        "the stale write changed nothing"
    );

    let res = put_with_if_match(&w.ada, &path, None, json!({"roles": ["contributor"]})).await;
    assert_eq!(etag(&res), "\"3\"");
}

#[tokio::test]
async fn a_grant_written_straight_into_the_database_is_enforced_on_the_next_request() {
    use attest_core::store::entities::membership_roles;
    use sea_orm::{ActiveModelTrait as _, Set};

    let w = acme().await;
    let (pat_id, pat) = member(&w, "pat@example.com", &["contributor"]).await;
    assert_problem(pat.get("/api/v1/orgs/acme/members").await, 403, "forbidden").await;
    // No service involved (think of an operator's SQL console): the triggers still
    // bump the org's policy version, so the cached decision is not reused.
    membership_roles::ActiveModel {
        org_id: Set(w.org),
        user_id: Set(pat_id),
        role: Set("admin".to_owned()),
    }
    .insert(&w.app.state.db)
    .await
    .unwrap();
    assert_eq!(pat.get("/api/v1/orgs/acme/members").await.status(), 200);
}
