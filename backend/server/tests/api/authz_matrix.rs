//! The authorization matrix: every route of the table, for every built-in role in
//! the org, a member of another org, a platform operator, an API key of the org,
//! an API key of another org and an anonymous caller. Org routes answer 404 to
//! outsiders, 403 to members (and keys) without the permission and succeed for
//! those with it; a denied write changes nothing.

use std::collections::BTreeMap;

use attest_server::routes::{self, Access, RouteDef};
use attest_shared::{permissions::Permission, roles};
use reqwest::Method;
use sea_orm::{EntityTrait as _, QueryOrder as _};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    auth::{login, Browser, PASSWORD},
    helpers::{spawn_app_with, TestApp},
};

/// Who calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    /// A member of acme with this built-in role.
    Role(&'static str),
    /// Owner of another org, not a member of acme.
    Outsider,
    /// A platform operator who is not a member of acme.
    Operator,
    /// An acme API key granting [`KEY_PERMISSIONS`].
    Key,
    /// A globex API key granting everything.
    ForeignKey,
}

const KEY_PERMISSIONS: [Permission; 6] = [
    Permission::OrgRead,
    Permission::FlagsRead,
    Permission::MembersRead,
    Permission::AuditRead,
    Permission::ApiKeysRead,
    Permission::ApiKeysManage,
];

const CALLERS: [Caller; 10] = [
    Caller::Anonymous,
    Caller::Role(roles::OWNER),
    Caller::Role(roles::ADMIN),
    Caller::Role(roles::COMPLIANCE_MANAGER),
    Caller::Role(roles::CONTRIBUTOR),
    Caller::Role(roles::AUDITOR),
    Caller::Outsider,
    Caller::Operator,
    Caller::Key,
    Caller::ForeignKey,
];

fn email_of(caller: Caller) -> String {
    match caller {
        Caller::Role(role) => format!("{role}@example.com"),
        Caller::Outsider => "outsider@example.com".into(),
        Caller::Operator => "operator@example.com".into(),
        Caller::Anonymous | Caller::Key | Caller::ForeignKey => String::new(),
    }
}

/// Acme with one member per built-in role, a target member with a session, and a
/// pending invitation; Globex owned by the outsider.
struct World {
    app: TestApp,
    target_user: Uuid,
    target_session: Uuid,
    invitation: Uuid,
    /// An acme key for the api-keys routes to act on.
    target_key: Uuid,
    key: String,
    foreign_key: String,
    /// Status page items for `/api/v1/status/*/{id}`.
    component: Uuid,
    incident: Uuid,
    maintenance: Uuid,
    /// Acme's compliance items for `…/{frameworks,controls,evidence,policies}/{id}`
    /// (the evidence a file, the policy published, so it can be acknowledged).
    framework: Uuid,
    control: Uuid,
    evidence: Uuid,
    policy: Uuid,
    /// A written export of acme, for `…/exports/{id}` (and its file).
    export: Uuid,
}

/// Creates an item (a status page's, or one of acme's) as the operator and
/// owner `founder`: its id.
async fn create_item(founder: &Browser, path: &str, body: Value) -> Uuid {
    let res = founder.send(Method::POST, path, Some(body)).await;
    assert_eq!(res.status(), 201, "{path}");
    let item: Value = res.json().await.unwrap();
    item["id"].as_str().unwrap().parse().unwrap()
}

/// Creates an API key as `browser`: its id and the key itself.
async fn create_key(browser: &Browser, org: &str, permissions: &[Permission]) -> (Uuid, String) {
    let res = browser
        .send(
            Method::POST,
            &format!("/api/v1/orgs/{org}/api-keys"),
            Some(json!({"name": "matrix", "permissions": permissions})),
        )
        .await;
    assert_eq!(res.status(), 201);
    let made: Value = res.json().await.unwrap();
    (
        made["id"].as_str().unwrap().parse().unwrap(),
        made["key"].as_str().unwrap().to_owned(),
    )
}

async fn world() -> World {
    let app = spawn_app_with(&[
        ("ATTEST_AUTH_RATE_LIMIT_PER_MINUTE", "100000"),
        // Nothing answers there: verifying a domain fails fast (422) for those allowed to.
        ("ATTEST_DNS_RESOLVER", "127.0.0.1:9"),
    ])
    .await;
    app.create_operator("founder@example.com", PASSWORD).await;
    app.create_operator(&email_of(Caller::Operator), PASSWORD).await;
    let founder = login(&app, "founder@example.com", PASSWORD).await;
    let mut ids = BTreeMap::new();
    for slug in ["acme", "globex"] {
        let org: Value = founder
            .send(
                Method::POST,
                "/api/v1/orgs",
                Some(json!({"slug": slug, "name": slug})),
            )
            .await
            .json()
            .await
            .unwrap();
        ids.insert(slug, org["id"].as_str().unwrap().parse::<Uuid>().unwrap());
    }
    attest_core::identity::sso::domains::replace(&app.state.db, ids["acme"], &["acme.test".to_owned()])
        .await
        .unwrap();
    for role in roles::BUILTIN {
        app.add_member(ids["acme"], &email_of(Caller::Role(role)), PASSWORD, &[role])
            .await;
    }
    app.add_member(
        ids["globex"],
        &email_of(Caller::Outsider),
        PASSWORD,
        &[roles::OWNER],
    )
    .await;
    let target_user = app
        .add_member(ids["acme"], "target@example.com", PASSWORD, &[roles::CONTRIBUTOR])
        .await;
    let target = login(&app, "target@example.com", PASSWORD).await;
    let sessions: Value = target.get("/api/v1/me/sessions").await.json().await.unwrap();
    let target_session = sessions["items"][0]["id"].as_str().unwrap().parse().unwrap();
    let invitation: Value = founder
        .send(
            Method::POST,
            "/api/v1/orgs/acme/invitations",
            Some(json!({"email": "invitee@example.com", "roles": ["auditor"]})),
        )
        .await
        .json()
        .await
        .unwrap();
    let invitation = invitation["id"].as_str().unwrap().parse().unwrap();
    let reviewer = founder
        .send(
            Method::POST,
            "/api/v1/orgs/acme/roles",
            Some(json!({"name": "reviewer", "permissions": ["org:read", "controls:read"]})),
        )
        .await;
    assert_eq!(reviewer.status(), 201);
    let flag = founder
        .send(
            Method::POST,
            "/api/v1/orgs/acme/flags",
            Some(json!({"key": "beta", "enabled": true})),
        )
        .await;
    assert_eq!(flag.status(), 201);
    let (target_key, _) = create_key(&founder, "acme", &[Permission::OrgRead]).await;
    let (_, key) = create_key(&founder, "acme", &KEY_PERMISSIONS).await;
    let outsider = login(&app, &email_of(Caller::Outsider), PASSWORD).await;
    let (_, foreign_key) = create_key(&outsider, "globex", Permission::ALL).await;
    let component = create_item(&founder, "/api/v1/status/components", json!({"name": "API"})).await;
    let incident = create_item(
        &founder,
        "/api/v1/status/incidents",
        json!({"name": "Slow", "impact": "minor", "status": "investigating", "message": "Looking"}),
    )
    .await;
    let maintenance = create_item(&founder, "/api/v1/status/maintenances", maintenance_body()).await;
    let framework = create_item(&founder, "/api/v1/orgs/acme/frameworks/starter", json!({})).await;
    let control = create_item(&founder, "/api/v1/orgs/acme/controls", json!({"title": "MFA"})).await;
    let upload = reqwest::multipart::Form::new()
        .text(
            "metadata",
            json!({"title": "Report", "control_ids": [control]}).to_string(),
        )
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"checked".to_vec()).file_name("report.txt"),
        );
    let res = founder
        .request(Method::POST, "/api/v1/orgs/acme/evidence")
        .multipart(upload)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let evidence: Value = res.json().await.unwrap();
    let evidence = evidence["id"].as_str().unwrap().parse().unwrap();
    let policy = create_item(
        &founder,
        "/api/v1/orgs/acme/policies",
        json!({"title": "Use", "body": "Be kind."}),
    )
    .await;
    let published = founder
        .send(
            Method::POST,
            &format!("/api/v1/orgs/acme/policies/{policy}/publish"),
            None,
        )
        .await;
    assert_eq!(published.status(), 201);
    let export = written_export(&founder).await;
    World {
        export,
        framework,
        control,
        evidence,
        policy,
        component,
        incident,
        maintenance,
        app,
        target_user,
        target_session,
        invitation,
        target_key,
        key,
        foreign_key,
    }
}

/// Requests an export of acme and waits until it is written: its id.
async fn written_export(founder: &Browser) -> Uuid {
    own_export(founder).await.expect("the founder may export acme")
}

/// An export of acme requested by `browser` and written, if it may export.
async fn own_export(browser: &Browser) -> Option<Uuid> {
    let res = browser
        .send(Method::POST, "/api/v1/orgs/acme/exports", None)
        .await;
    if res.status() != 202 {
        return None;
    }
    let queued: Value = res.json().await.unwrap();
    let id: Uuid = queued["id"].as_str().unwrap().parse().unwrap();
    for _ in 0..200 {
        let status: Value = browser
            .get(&format!("/api/v1/orgs/acme/exports/{id}"))
            .await
            .json()
            .await
            .unwrap();
        if status["status"] == "completed" {
            return Some(id);
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the export was not written in 5 s");
}

fn maintenance_body() -> Value {
    json!({"name": "Upgrade", "message": "Planned", "scheduled_for": "2030-01-01T00:00:00Z",
        "scheduled_until": "2030-01-01T01:00:00Z"})
}

/// The concrete path and body for a route template in this world.
fn request_for(
    route: &RouteDef,
    w: &World,
    own_session: Option<Uuid>,
    own_export: Option<Uuid>,
) -> (String, Option<Value>) {
    let id = if route.path.contains("/frameworks/") {
        w.framework
    } else if route.path.contains("/controls/") {
        w.control
    } else if route.path.contains("/evidence/") {
        w.evidence
    } else if route.path.contains("/policies/") {
        w.policy
    } else if route.path.contains("/exports/") {
        own_export.unwrap_or(w.export)
    } else if route.path.starts_with("/api/v1/status/components/") {
        w.component
    } else if route.path.starts_with("/api/v1/status/incidents/") {
        w.incident
    } else if route.path.starts_with("/api/v1/status/maintenances/") {
        w.maintenance
    } else if route.path.contains("/invitations/") {
        w.invitation
    } else if route.path.contains("/api-keys/") {
        w.target_key
    } else if route.path.starts_with("/api/v1/me/sessions/") {
        own_session.unwrap_or(w.target_session)
    } else {
        w.target_session
    };
    let path = route
        .path
        .replace("{org}", "acme")
        .replace("{user_id}", &w.target_user.to_string())
        .replace("{id}", &id.to_string())
        .replace("{name}", "reviewer")
        .replace("{slug}", "acme")
        .replace("{domain}", "acme.test")
        .replace("{key}", "beta");
    // An import names its framework; the body is a CSV (see `call`).
    let path = if route.path.ends_with("/frameworks/import") {
        format!("{path}?name=Imported")
    } else {
        path
    };
    let body = match (route.method.as_str(), route.path) {
        ("POST", "/api/v1/orgs") => Some(json!({"slug": "newco", "name": "NewCo"})),
        ("PATCH", "/api/v1/orgs/{org}") => Some(json!({"name": "Renamed"})),
        ("POST", "/api/v1/orgs/{org}/invitations") => {
            Some(json!({"email": "x@example.com", "roles": ["auditor"]}))
        }
        ("POST", "/api/v1/me/totp/confirm" | "/api/v1/me/totp/disable") => Some(json!({"code": "000000"})),
        ("POST", "/api/v1/orgs/{org}/roles") => Some(json!({"name": "newrole", "permissions": ["org:read"]})),
        ("PUT", "/api/v1/orgs/{org}/roles/{name}") => Some(json!({"permissions": ["org:read"]})),
        ("PUT", "/api/v1/orgs/{org}/members/{user_id}/roles") => Some(json!({"roles": ["auditor"]})),
        ("PUT", "/api/v1/orgs/{org}/audit-retention") => Some(json!({"days": 365})),
        // Nothing listens there: an allowed caller gets 400 validation_failed (discovery failed), the rest 403/404.
        ("PUT", "/api/v1/orgs/{org}/sso") => Some(json!({
            "enabled": true, "issuer": "http://127.0.0.1:9", "client_id": "attest",
            "email_domains": ["acme.test"], "default_role": "contributor",
        })),
        ("POST", "/api/v1/orgs/{org}/sso/test") => Some(json!({"issuer": "http://127.0.0.1:9"})),
        ("POST", "/api/v1/orgs/{org}/sso/domains/{domain}/verify") => Some(json!({"method": "dns"})),
        ("POST", "/api/v1/me/password") => {
            Some(json!({"current": PASSWORD, "new": "a brand new amber lighthouse"}))
        }
        // Acme has no SSO: those allowed get 404 from the service, not 401/403.
        ("POST", "/api/v1/me/identities") => Some(json!({"org": "acme", "password": PASSWORD})),
        ("POST", "/api/v1/orgs/{org}/api-keys") => Some(json!({"name": "new", "permissions": ["org:read"]})),
        ("POST", "/api/v1/orgs/{org}/api-keys/{id}/rotate") => Some(json!({"grace_seconds": 60})),
        ("POST", "/api/v1/orgs/{org}/flags") => Some(json!({"key": "gamma", "enabled": true})),
        ("PATCH", "/api/v1/orgs/{org}/flags/{key}") => Some(json!({"enabled": false})),
        ("POST", "/api/v1/orgs/{org}/controls") => Some(json!({"title": "Backups"})),
        ("PATCH", "/api/v1/orgs/{org}/controls/{id}") => Some(json!({"status": "in_progress"})),
        ("POST", "/api/v1/orgs/{org}/evidence") => {
            Some(json!({"title": "Link", "url": "https://example.com/x"}))
        }
        ("POST", "/api/v1/orgs/{org}/evidence/checks") => Some(json!({"check": "mfa_or_sso"})),
        ("PATCH", "/api/v1/orgs/{org}/evidence/{id}") => Some(json!({"review_state": "accepted"})),
        ("POST", "/api/v1/orgs/{org}/policies") => {
            Some(json!({"title": "Access", "body": "Only if needed."}))
        }
        ("PATCH", "/api/v1/orgs/{org}/policies/{id}") => Some(json!({"body": "Be kinder."})),
        ("POST", "/api/v1/orgs/{org}/policies/{id}/acknowledgments") => Some(json!({})),
        ("POST", "/api/v1/status/components") => Some(json!({"name": "Console"})),
        ("PATCH", "/api/v1/status/components/{id}") => Some(json!({"status": "degraded_performance"})),
        ("POST", "/api/v1/status/incidents") => {
            Some(json!({"name": "Down", "impact": "major", "status": "identified", "message": "Found it"}))
        }
        ("POST", "/api/v1/status/incidents/{id}/updates") => {
            Some(json!({"status": "monitoring", "message": "Watching"}))
        }
        ("POST", "/api/v1/status/maintenances") => Some(maintenance_body()),
        ("PATCH", "/api/v1/status/maintenances/{id}") => Some(json!({"name": "Renamed"})),
        ("POST", "/ofrep/v1/evaluate/flags" | "/ofrep/v1/evaluate/flags/{key}") => {
            Some(json!({"context": {}}))
        }
        _ => None,
    };
    (path, body)
}

/// Signs the caller in (a fresh session of their own) and learns its id.
async fn sign_in(w: &World, caller: Caller) -> (Option<Browser>, Option<Uuid>) {
    let browser = match caller {
        Caller::Anonymous | Caller::Key | Caller::ForeignKey => return (None, None),
        other => login(&w.app, &email_of(other), PASSWORD).await,
    };
    let list: Value = browser.get("/api/v1/me/sessions").await.json().await.unwrap();
    let current = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .and_then(|s| s["id"].as_str())
        .and_then(|s| s.parse().ok());
    (Some(browser), current)
}

async fn call(
    w: &World,
    route: &RouteDef,
    caller: Caller,
    browser: Option<&Browser>,
    own_session: Option<Uuid>,
) -> u16 {
    let method = Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
    // An export is its requester's alone: a caller who may export asks about their own.
    let own_export = match browser {
        Some(b) if route.path.contains("/exports/{id}") => own_export(b).await,
        _ => None,
    };
    let (path, body) = request_for(route, w, own_session, own_export);
    let client = browser.map_or(&w.app.client, |b| &b.client);
    let mut req = client.request(method, w.app.url(&path)).header("if-match", "*");
    if let Some(b) = browser {
        req = req.header("x-csrf-token", &b.csrf);
    }
    match caller {
        Caller::Key => req = req.bearer_auth(&w.key),
        Caller::ForeignKey => req = req.bearer_auth(&w.foreign_key),
        _ => {}
    }
    if route.path.ends_with("/frameworks/import") {
        req = req
            .header("content-type", "text/csv")
            .body("id,title,description,parent\nX-1,One,,\n");
    } else if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.unwrap().status().as_u16()
}

/// Everything an authorization decision could have changed, in a stable form.
async fn fingerprint(app: &TestApp) -> String {
    use attest_core::store::entities::{
        api_keys, control_requirements, controls, evidence, flags, frameworks, invitations, membership_roles,
        memberships, org_exports, org_roles, orgs, policies, policy_acknowledgments, sessions, sso_domains,
        status_components, status_incident_updates, status_maintenances, users,
    };
    let db = &app.state.db;
    let orgs: Vec<_> = orgs::Entity::find()
        .order_by_asc(orgs::Column::Id)
        .all(db)
        .await
        .unwrap();
    let members = memberships::Entity::find().all(db).await.unwrap();
    let roles = membership_roles::Entity::find().all(db).await.unwrap();
    let custom_roles = org_roles::Entity::find().all(db).await.unwrap();
    let invitations: Vec<_> = invitations::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|i| (i.id, i.revoked_at, i.accepted_at))
        .collect();
    let revoked: Vec<_> = sessions::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.id, s.revoked_at.is_some()))
        .collect();
    let totp: Vec<_> = users::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|u| {
            (
                u.id,
                u.totp_secret.is_some(),
                u.totp_enabled_at.is_some(),
                u.password_hash,
            )
        })
        .collect();
    let domains: Vec<_> = sso_domains::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.domain, d.state))
        .collect();
    let keys: Vec<_> = api_keys::Entity::find()
        .order_by_asc(api_keys::Column::Id)
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|k| (k.id, k.revoked_at, k.expires_at, k.rotated_to))
        .collect();
    let flags: Vec<_> = flags::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|f| (f.org_id, f.key, f.version, f.enabled))
        .collect();
    let status_page = (
        status_components::Entity::find()
            .order_by_asc(status_components::Column::Id)
            .all(db)
            .await
            .unwrap(),
        status_incident_updates::Entity::find()
            .order_by_asc(status_incident_updates::Column::Id)
            .all(db)
            .await
            .unwrap(),
        status_maintenances::Entity::find()
            .order_by_asc(status_maintenances::Column::Id)
            .all(db)
            .await
            .unwrap(),
    );
    let compliance = (
        frameworks::Entity::find()
            .order_by_asc(frameworks::Column::Id)
            .all(db)
            .await
            .unwrap(),
        controls::Entity::find()
            .order_by_asc(controls::Column::Id)
            .all(db)
            .await
            .unwrap(),
        control_requirements::Entity::find().all(db).await.unwrap().len(),
        evidence::Entity::find()
            .order_by_asc(evidence::Column::Id)
            .all(db)
            .await
            .unwrap(),
        policies::Entity::find()
            .order_by_asc(policies::Column::Id)
            .all(db)
            .await
            .unwrap(),
        policy_acknowledgments::Entity::find().all(db).await.unwrap(),
        org_exports::Entity::find().all(db).await.unwrap().len(),
    );
    format!(
        "{orgs:?}{members:?}{roles:?}{custom_roles:?}{invitations:?}{revoked:?}{totp:?}{keys:?}{domains:?}{flags:?}{status_page:?}{compliance:?}"
    )
}

/// What a caller must get: `Some(true)` allowed, `Some(false)` refused with the
/// given status, `None` for routes the matrix does not judge (public ones).
fn expected(route: &RouteDef, caller: Caller) -> Option<Result<(), u16>> {
    match (route.access, caller) {
        (Access::Public | Access::MetricsToken, _) => None,
        (_, Caller::Anonymous) => Some(Err(401)),
        // OFREP: keys only, each in its own org (another org's flags are simply not there).
        (Access::Key(p), Caller::Key) => Some(if KEY_PERMISSIONS.contains(&p) {
            Ok(())
        } else {
            Err(403)
        }),
        (Access::Key(_), Caller::ForeignKey) => Some(Ok(())),
        (Access::Key(_), _) => Some(Err(403)),
        // Keys act for an org, never as a person or an operator.
        (Access::SignedIn | Access::Operator, Caller::Key | Caller::ForeignKey) => Some(Err(403)),
        (Access::Org(_), Caller::ForeignKey) => Some(Err(404)),
        // Keys cannot make keys, whatever they hold.
        (Access::Org(Permission::ApiKeysManage), Caller::Key) if route.method.as_str() == "POST" => {
            Some(Err(403))
        }
        (Access::Org(p), Caller::Key) => Some(if KEY_PERMISSIONS.contains(&p) {
            Ok(())
        } else {
            Err(403)
        }),
        (Access::SignedIn | Access::Caller, _) => Some(Ok(())),
        (Access::Operator, Caller::Operator) => Some(Ok(())),
        (Access::Operator, _) => Some(Err(403)),
        (Access::Org(_), Caller::Outsider) => Some(Err(404)),
        // Operators may read any org, nothing more.
        (Access::Org(p), Caller::Operator) => Some(if p == Permission::OrgRead {
            Ok(())
        } else {
            Err(403)
        }),
        (Access::Org(p), Caller::Role(role)) => {
            let grants = roles::builtin_grants(role).unwrap();
            Some(if grants.contains(&p) { Ok(()) } else { Err(403) })
        }
    }
}

#[test]
fn every_org_route_declares_a_permission() {
    for route in routes::table() {
        if route.path.contains("{org}") {
            assert!(
                matches!(route.access, Access::Org(_)),
                "{} {} has no permission",
                route.method,
                route.path
            );
        }
    }
}

#[tokio::test]
async fn every_route_answers_every_caller_as_its_permission_says() {
    let mut failures = Vec::new();
    for route in routes::table() {
        let unsafe_method = !matches!(route.method.as_str(), "GET" | "HEAD");
        let mut shared = Some(world().await);
        for caller in CALLERS {
            let Some(expectation) = expected(&route, caller) else {
                continue;
            };
            // An allowed write changes the world: it gets one of its own.
            let w = match (&expectation, unsafe_method) {
                (Ok(()), true) => world().await,
                _ => match shared.take() {
                    Some(w) => w,
                    None => world().await,
                },
            };
            let (browser, own_session) = sign_in(&w, caller).await;
            let before = fingerprint(&w.app).await;
            let status = call(&w, &route, caller, browser.as_ref(), own_session).await;
            let verdict = match expectation {
                Ok(()) if [401, 403].contains(&status) => Err(format!("refused with {status}")),
                Ok(()) if status == 404 && matches!(route.access, Access::Org(_)) => {
                    Err("refused with 404".into())
                }
                Ok(()) => Ok(()),
                Err(want) if status != want => Err(format!("answered {status}, expected {want}")),
                Err(_) if unsafe_method && fingerprint(&w.app).await != before => {
                    Err("a refused write changed data".into())
                }
                Err(_) => Ok(()),
            };
            if let Err(why) = verdict {
                failures.push(format!("{} {} as {caller:?}: {why}", route.method, route.path));
            }
            if !(matches!(expectation, Ok(())) && unsafe_method) {
                shared = Some(w);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "authorization matrix failures:\n{}",
        failures.join("\n")
    );
}
