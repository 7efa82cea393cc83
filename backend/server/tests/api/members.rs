//! Members and their sessions, as org admins manage them.

use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    auth::{login, Browser, PASSWORD},
    helpers::{assert_problem, spawn_app, TestApp},
    world::create_org,
};

/// Acme: Ada (operator, owner), Bob (admin), Carol (auditor), Dave (contributor),
/// Mia (compliance manager). Globex: Eve (owner, not an operator).
struct World {
    app: TestApp,
    acme: Uuid,
    ada: Browser,
    bob: Browser,
    carol: Browser,
    dave_id: Uuid,
    carol_id: Uuid,
    mia: Browser,
    eve: Browser,
    eve_id: Uuid,
}

async fn world() -> World {
    let app = spawn_app().await;
    app.create_operator("ada@example.com", PASSWORD).await;
    let ada = login(&app, "ada@example.com", PASSWORD).await;
    let acme = create_org(&ada, "acme").await;
    let globex = create_org(&ada, "globex").await;
    app.add_member(acme, "bob@example.com", PASSWORD, &["admin"])
        .await;
    let carol_id = app
        .add_member(acme, "carol@example.com", PASSWORD, &["auditor"])
        .await;
    let dave_id = app
        .add_member(acme, "dave@example.com", PASSWORD, &["contributor"])
        .await;
    app.add_member(acme, "mia@example.com", PASSWORD, &["compliance_manager"])
        .await;
    let eve_id = app
        .add_member(globex, "eve@example.com", PASSWORD, &["owner"])
        .await;
    World {
        acme,
        ada,
        bob: login(&app, "bob@example.com", PASSWORD).await,
        carol: login(&app, "carol@example.com", PASSWORD).await,
        mia: login(&app, "mia@example.com", PASSWORD).await,
        eve: login(&app, "eve@example.com", PASSWORD).await,
        dave_id,
        carol_id,
        eve_id,
        app,
    }
}

/// Acme's members, as `browser` sees them.
pub async fn acme_members(browser: &Browser) -> Vec<Value> {
    let body: Value = browser
        .get("/api/v1/orgs/acme/members")
        .await
        .json()
        .await
        .unwrap();
    body["items"].as_array().unwrap().clone()
}

/// The first of acme's members that `is` picks (`Null` if none), as `browser` sees them.
pub async fn acme_member(browser: &Browser, is: impl Fn(&Value) -> bool) -> Value {
    acme_members(browser)
        .await
        .into_iter()
        .find(|m| is(m))
        .unwrap_or(Value::Null)
}

async fn member_emails(browser: &Browser) -> Vec<String> {
    acme_members(browser)
        .await
        .iter()
        .map(|m| m["email"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn members_are_listed_to_those_who_may_read_them() {
    let w = world().await;
    let body: Value = w.bob.get("/api/v1/orgs/acme/members").await.json().await.unwrap();
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    let ada = items.iter().find(|m| m["email"] == "ada@example.com").unwrap();
    assert_eq!(ada["roles"], json!(["owner"]));
    for field in ["user_id", "name", "joined_at"] {
        assert!(!ada[field].is_null(), "{field}");
    }
    assert_eq!(
        member_emails(&w.mia).await.len(),
        5,
        "compliance managers read members"
    );
    assert_problem(w.carol.get("/api/v1/orgs/acme/members").await, 403, "forbidden").await;
    assert_problem(w.eve.get("/api/v1/orgs/acme/members").await, 404, "not_found").await;
    let by_id = format!("/api/v1/orgs/{}/members", w.acme);
    assert_problem(w.eve.get(&by_id).await, 404, "not_found").await;
}

/// `email`'s row on the members page, as `browser` sees it.
async fn member_row(browser: &Browser, email: &str) -> Value {
    acme_member(browser, |m| m["email"] == email).await
}

/// The page is kept in memory under the credentials epoch; each change it
/// shows moves the epoch, so the very next read shows it, even a change made
/// by hand in SQL.
#[tokio::test]
async fn the_members_page_shows_each_change_on_the_next_read() {
    use sea_orm::ConnectionTrait as _;

    let w = world().await;
    for _ in 0..2 {
        assert_ne!(member_row(&w.bob, "carol@example.com").await["name"], "Carol C.");
    }

    let rename = sea_orm::Statement::from_sql_and_values(
        w.app.state.db.get_database_backend(),
        match w.app.state.db.get_database_backend() {
            sea_orm::DbBackend::Postgres => "UPDATE users SET name = $1 WHERE id = $2",
            _ => "UPDATE users SET name = ? WHERE id = ?",
        },
        ["Carol C.".into(), w.carol_id.into()],
    );
    w.app.state.db.execute(rename).await.unwrap();
    assert_eq!(member_row(&w.bob, "carol@example.com").await["name"], "Carol C.");

    let res = w
        .bob
        .send(
            Method::PUT,
            &format!("/api/v1/orgs/acme/members/{}/roles", w.carol_id),
            Some(json!({"roles": ["auditor", "contributor"]})),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    assert_eq!(
        member_row(&w.bob, "carol@example.com").await["roles"],
        json!(["auditor", "contributor"])
    );

    w.app
        .add_member(w.acme, "nina@example.com", PASSWORD, &["auditor"])
        .await;
    assert_eq!(
        member_row(&w.bob, "nina@example.com").await["roles"],
        json!(["auditor"])
    );
}

#[tokio::test]
async fn removing_a_member_signs_them_out_when_it_was_their_last_org() {
    let w = world().await;
    let dave = login(&w.app, "dave@example.com", PASSWORD).await;
    let path = format!("/api/v1/orgs/acme/members/{}", w.dave_id);

    // Not permitted: refused, and nothing changed.
    assert_problem(w.carol.send(Method::DELETE, &path, None).await, 403, "forbidden").await;
    assert_problem(w.eve.send(Method::DELETE, &path, None).await, 404, "not_found").await;
    assert!(member_emails(&w.bob)
        .await
        .contains(&"dave@example.com".to_owned()));
    assert_eq!(dave.get("/api/v1/me").await.status(), 200);

    assert_eq!(w.bob.send(Method::DELETE, &path, None).await.status(), 204);
    assert!(!member_emails(&w.bob)
        .await
        .contains(&"dave@example.com".to_owned()));
    assert_problem(dave.get("/api/v1/me").await, 401, "unauthenticated").await;
    assert_problem(w.bob.send(Method::DELETE, &path, None).await, 404, "not_found").await;
}

#[tokio::test]
async fn the_last_owner_cannot_be_removed() {
    let w = world().await;
    let ada_id: Value = w.ada.get("/api/v1/me").await.json().await.unwrap();
    let ada_path = format!(
        "/api/v1/orgs/acme/members/{}",
        ada_id["user"]["id"].as_str().unwrap()
    );
    assert_problem(w.bob.send(Method::DELETE, &ada_path, None).await, 409, "conflict").await;
    assert!(member_emails(&w.bob)
        .await
        .contains(&"ada@example.com".to_owned()));

    w.app
        .add_member(w.acme, "olga@example.com", PASSWORD, &["owner"])
        .await;
    assert_eq!(w.bob.send(Method::DELETE, &ada_path, None).await.status(), 204);
    // Ada is an operator: losing her last membership does not sign her out.
    assert_eq!(w.ada.get("/api/v1/me").await.status(), 200);
}

#[tokio::test]
async fn org_admins_see_and_revoke_their_members_sessions_only() {
    let w = world().await;
    let body: Value = w
        .bob
        .get("/api/v1/orgs/acme/sessions")
        .await
        .json()
        .await
        .unwrap();
    let items = body["items"].as_array().unwrap();
    let carols = items
        .iter()
        .find(|s| s["user_id"] == w.carol_id.to_string())
        .expect("carol's session");
    assert_eq!(carols["email"], "carol@example.com");
    assert!(
        !items.iter().any(|s| s["user_id"] == w.eve_id.to_string()),
        "no other org's sessions"
    );
    assert_problem(w.carol.get("/api/v1/orgs/acme/sessions").await, 403, "forbidden").await;

    let eves: Value = w.eve.get("/api/v1/me/sessions").await.json().await.unwrap();
    let eve_session = eves["items"][0]["id"].as_str().unwrap().to_owned();
    let res = w
        .bob
        .send(
            Method::DELETE,
            &format!("/api/v1/orgs/acme/sessions/{eve_session}"),
            None,
        )
        .await;
    assert_problem(res, 404, "not_found").await;
    assert_eq!(w.eve.get("/api/v1/me").await.status(), 200);

    let carol_session = carols["id"].as_str().unwrap();
    let path = format!("/api/v1/orgs/acme/sessions/{carol_session}");
    assert_problem(w.mia.send(Method::DELETE, &path, None).await, 403, "forbidden").await;
    assert_eq!(w.carol.get("/api/v1/me").await.status(), 200);
    assert_eq!(w.bob.send(Method::DELETE, &path, None).await.status(), 204);
    assert_problem(w.carol.get("/api/v1/me").await, 401, "unauthenticated").await;
}

/// The members page takes roles from the org's compiled grants, which the
/// request's authorization has just checked. A member who joined after those
/// were compiled (between the check and the page) still shows hers.
#[tokio::test]
async fn a_member_who_joined_after_the_grants_were_compiled_still_shows_her_roles() {
    use attest_core::{
        actor::{Credential, Origin},
        authz,
        store::{entities::users, page::PageRequest},
        tenancy::members,
        Actor,
    };
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};

    let w = world().await;
    let state = &w.app.state;
    let ada = users::Entity::find()
        .filter(users::Column::Email.eq("ada@example.com"))
        .one(&state.db)
        .await
        .unwrap()
        .unwrap();
    let actor = Actor {
        user: ada,
        credential: Credential::Session {
            session_id: Uuid::now_v7(),
            idp_issuer: None,
        },
        origin: Origin::new(None, None, None),
        epoch: None,
    };
    let scope = authz::scope(state, &actor, "acme").await.unwrap();
    let page = PageRequest::new(Some(200), None).unwrap();
    let before = members::list(state, &scope, &page).await.unwrap();

    let late = w
        .app
        .add_member(w.acme, "late@example.com", PASSWORD, &["contributor", "auditor"])
        .await;
    let after = members::list(state, &scope, &page).await.unwrap();
    assert_eq!(after.items.len(), before.items.len() + 1);
    let late = after.items.iter().find(|m| m.user_id == late).unwrap();
    assert_eq!(late.roles, ["auditor", "contributor"]);
    let carol = after.items.iter().find(|m| m.user_id == w.carol_id).unwrap();
    assert_eq!(carol.roles, ["auditor"], "from the compiled grants");
}
