//! Every audited action, caused once, appends exactly one event to the org's
//! chain, carrying the request's `X-Request-Id`; together the steps below cause
//! every action of the one list (`Action::ALL`), so an action that stops being
//! recorded, or one recorded twice, fails here.

use std::collections::BTreeSet;

use attest_core::{audit::Action, store::entities::audit_events};
use attest_shared::audit::AuditEvent;
use reqwest::{Method, Response};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    auth::{login, login_attempt, Browser, PASSWORD},
    dns::Dns,
    helpers::{attest_command, base_env, free_port, spawn_app_with, TestApp},
    idp::{sign, Idp, IdpClient},
    invitations::mailed_token,
    mail::wait_for_message,
    sso::Walker,
    totp::{current_code, enrol},
};

/// The org's chain as it grows: what each step appended.
struct Chain<'a> {
    app: &'a TestApp,
    org: Uuid,
    last_seq: i64,
    seen: BTreeSet<String>,
}

impl Chain<'_> {
    /// The events appended since the last call.
    async fn appended(&mut self) -> Vec<AuditEvent> {
        let rows = audit_events::Entity::find()
            .filter(audit_events::Column::OrgId.eq(self.org))
            .filter(audit_events::Column::Seq.gt(self.last_seq))
            .order_by_asc(audit_events::Column::Seq)
            .all(&self.app.state.db)
            .await
            .unwrap();
        let events: Vec<AuditEvent> = rows
            .into_iter()
            .map(|row| attest_core::audit::writer::event_of(row).unwrap())
            .collect();
        self.last_seq = events.last().map_or(self.last_seq, |e| e.seq);
        events
    }

    /// The step answered by `res` appended exactly one event, `action`, with the
    /// response's request id.
    async fn one_for(&mut self, res: Response, status: u16, action: &str) -> Response {
        assert_eq!(res.status(), status, "{action}");
        let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        let event = self.one(action).await;
        assert_eq!(event.request_id.as_deref(), Some(request_id.as_str()), "{action}");
        res
    }

    /// Exactly one event was appended since the last step, and it is `action`.
    async fn one(&mut self, action: &str) -> AuditEvent {
        let mut appended = self.appended().await;
        let names: Vec<&str> = appended.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(names, [action], "one event for one {action}");
        self.seen.insert(action.to_owned());
        appended.remove(0)
    }
}

async fn invite_and_join(app: &TestApp, ada: &Browser, chain: &mut Chain<'_>, email: &str) -> Browser {
    let res = ada
        .send(
            Method::POST,
            "/api/v1/orgs/tour/invitations",
            Some(json!({"email": email, "roles": ["auditor"]})),
        )
        .await;
    chain.one_for(res, 201, "invitation.sent").await;
    let token = mailed_token(app, email).await;
    let res = app
        .post_json(
            "/auth/invitations/accept",
            &json!({"token": token, "name": "Bob", "password": PASSWORD}),
        )
        .await;
    chain.one_for(res, 200, "invitation.accepted").await;
    let bob = login(app, email, PASSWORD).await;
    chain.one("auth.signed_in").await;
    bob
}

/// The status page's actions, in the platform chain (ada is an operator).
async fn status_page_steps(ada: &Browser, chain: &mut Chain<'_>) {
    let mut platform = Chain {
        app: chain.app,
        org: attest_core::audit::platform::PLATFORM_ORG,
        last_seq: 0,
        seen: BTreeSet::new(),
    };
    let body = json!({"name": "API", "group": "Core", "status": "operational"});
    let res = ada
        .send(Method::POST, "/api/v1/status/components", Some(body))
        .await;
    let component: Value = platform
        .one_for(res, 201, "status_component.created")
        .await
        .json()
        .await
        .unwrap();
    let component = component["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/status/components/{component}");
    let res = ada
        .send(
            Method::PATCH,
            &path,
            Some(json!({"status": "degraded_performance"})),
        )
        .await;
    platform.one_for(res, 200, "status_component.updated").await;
    let body = json!({"name": "Slow API", "impact": "minor", "status": "investigating",
        "message": "Looking into it", "components": {component.clone(): "partial_outage"}});
    let res = ada
        .send(Method::POST, "/api/v1/status/incidents", Some(body))
        .await;
    let incident: Value = platform
        .one_for(res, 201, "status_incident.created")
        .await
        .json()
        .await
        .unwrap();
    let updates = format!(
        "/api/v1/status/incidents/{}/updates",
        incident["id"].as_str().unwrap()
    );
    let res = ada
        .send(
            Method::POST,
            &updates,
            Some(json!({"status": "monitoring", "message": "A fix is out"})),
        )
        .await;
    platform.one_for(res, 201, "status_incident.updated").await;
    let res = ada
        .send(
            Method::POST,
            &updates,
            Some(json!({"status": "resolved", "message": "Fixed"})),
        )
        .await;
    platform.one_for(res, 201, "status_incident.resolved").await;
    let window = json!({"name": "Upgrade", "message": "Database upgrade",
        "scheduled_for": "2030-01-01T00:00:00Z", "scheduled_until": "2030-01-01T01:00:00Z",
        "component_ids": [component]});
    let res = ada
        .send(Method::POST, "/api/v1/status/maintenances", Some(window))
        .await;
    let maintenance: Value = platform
        .one_for(res, 201, "status_maintenance.scheduled")
        .await
        .json()
        .await
        .unwrap();
    let path_m = format!(
        "/api/v1/status/maintenances/{}",
        maintenance["id"].as_str().unwrap()
    );
    let res = ada
        .send(Method::PATCH, &path_m, Some(json!({"name": "Database upgrade"})))
        .await;
    platform.one_for(res, 200, "status_maintenance.updated").await;
    let res = ada.send(Method::DELETE, &path_m, None).await;
    platform.one_for(res, 204, "status_maintenance.deleted").await;
    let res = ada.send(Method::DELETE, &path, None).await;
    let deleted = platform.one("status_component.deleted").await;
    assert_eq!(res.status(), 204);
    assert_eq!(deleted.actor.display, "ada@example.com");
    // The org's own chain saw none of it.
    assert!(chain.appended().await.is_empty());
    chain.seen.extend(platform.seen);
}

/// The compliance program's actions, in the org's chain (ada owns the org).
/// An org export requested, written in the background (unaudited), downloaded.
async fn export_steps(ada: &Browser, chain: &mut Chain<'_>) {
    let res = ada.send(Method::POST, "/api/v1/orgs/tour/exports", None).await;
    let res = chain.one_for(res, 202, "export.requested").await;
    let status = res.headers()["location"].to_str().unwrap().to_owned();
    let written = loop {
        let export: Value = ada.get(&status).await.json().await.unwrap();
        if export["status"] == "completed" {
            break export;
        }
        assert_ne!(export["status"], "failed");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    };
    let res = ada.get(written["download_url"].as_str().unwrap()).await;
    chain.one_for(res, 200, "export.downloaded").await;
}

async fn compliance_steps(ada: &Browser, chain: &mut Chain<'_>) {
    async fn id_of(res: Response) -> String {
        let body: Value = res.json().await.unwrap();
        body["id"].as_str().unwrap().to_owned()
    }
    let res = ada
        .send(Method::POST, "/api/v1/orgs/tour/frameworks/starter", None)
        .await;
    let imported = chain.one_for(res, 201, "framework.imported").await;
    let framework = id_of(imported).await;
    let res = ada
        .send(
            Method::POST,
            "/api/v1/orgs/tour/controls",
            Some(json!({"title": "MFA", "tags": ["iam"]})),
        )
        .await;
    let control = id_of(chain.one_for(res, 201, "control.created").await).await;
    let path = format!("/api/v1/orgs/tour/controls/{control}");
    let res = ada
        .request(Method::PATCH, &path)
        .header("if-match", "\"1\"")
        .json(&json!({"status": "implemented"}))
        .send()
        .await
        .unwrap();
    chain.one_for(res, 200, "control.updated").await;
    let note = json!({"title": "Evidence", "url": "https://files.example.com/r.pdf?sig=SECRET", "control_ids": [control]});
    let res = ada
        .send(Method::POST, "/api/v1/orgs/tour/evidence", Some(note))
        .await;
    assert_eq!(res.status(), 201);
    let evidence = id_of(res).await;
    let created = chain.one("evidence.created").await;
    assert_eq!(
        created.metadata["after"]["compliance"]["url"], "https://files.example.com/r.pdf",
        "a link's query (a pre-signed credential) never reaches the trail"
    );
    let path_e = format!("/api/v1/orgs/tour/evidence/{evidence}");
    let res = ada
        .request(Method::PATCH, &path_e)
        .header("if-match", "*")
        .json(&json!({"review_state": "accepted"}))
        .send()
        .await
        .unwrap();
    chain.one_for(res, 200, "evidence.updated").await;
    let res = ada.send(Method::DELETE, &path_e, None).await;
    chain.one_for(res, 204, "evidence.deleted").await;
    let res = ada.send(Method::DELETE, &path, None).await;
    chain.one_for(res, 204, "control.deleted").await;
    let res = ada
        .send(
            Method::DELETE,
            &format!("/api/v1/orgs/tour/frameworks/{framework}"),
            None,
        )
        .await;
    chain.one_for(res, 204, "framework.deleted").await;

    let res = ada
        .send(
            Method::POST,
            "/api/v1/orgs/tour/policies",
            Some(json!({"title": "Use", "body": "Be kind."})),
        )
        .await;
    let policy = id_of(chain.one_for(res, 201, "policy.created").await).await;
    let path_p = format!("/api/v1/orgs/tour/policies/{policy}");
    let res = ada
        .request(Method::PATCH, &path_p)
        .header("if-match", "*")
        .json(&json!({"body": "Be kinder."}))
        .send()
        .await
        .unwrap();
    let updated = chain.one("policy.updated").await;
    assert_eq!(res.status(), 200);
    assert!(
        updated.metadata["after"]["compliance"]["body_sha256"].is_string(),
        "the text is recorded by its hash"
    );
    let res = ada.send(Method::POST, &format!("{path_p}/publish"), None).await;
    chain.one_for(res, 201, "policy.published").await;
    let ack = format!("{path_p}/acknowledgments");
    let res = ada.send(Method::POST, &ack, Some(json!({}))).await;
    chain.one_for(res, 201, "policy.acknowledged").await;
    let res = ada.send(Method::POST, &ack, Some(json!({}))).await;
    assert_eq!(res.status(), 201);
    assert!(
        chain.appended().await.is_empty(),
        "acknowledging again records nothing"
    );
    let res = ada.send(Method::DELETE, &path_p, None).await;
    chain.one_for(res, 204, "policy.deleted").await;
}

#[tokio::test]
async fn each_audited_action_appends_exactly_one_event() {
    let dns = Dns::start().await;
    // The public URL is the server's own address: the IdP sends the browser back there.
    let port = free_port();
    let app = spawn_app_with(&[
        ("ATTEST_LISTEN", &format!("127.0.0.1:{port}")),
        ("ATTEST_PUBLIC_URL", &format!("http://127.0.0.1:{port}")),
        ("ATTEST_LOGIN_MAX_FAILURES", "2"),
        ("ATTEST_DNS_RESOLVER", &dns.addr.to_string()),
    ])
    .await;
    app.create_operator("ada@example.com", PASSWORD).await;
    let ada = login(&app, "ada@example.com", PASSWORD).await;
    let res = ada
        .send(
            Method::POST,
            "/api/v1/orgs",
            Some(json!({"slug": "tour", "name": "Tour"})),
        )
        .await;
    assert_eq!(res.status(), 201);
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let org: Value = res.json().await.unwrap();
    let mut chain = Chain {
        app: &app,
        org: org["id"].as_str().unwrap().parse().unwrap(),
        last_seq: 0,
        seen: BTreeSet::new(),
    };
    let created = chain.one("org.created").await;
    assert_eq!(created.request_id, Some(request_id));

    let res = ada
        .request(Method::PATCH, "/api/v1/orgs/tour")
        .header("if-match", "*")
        .json(&json!({"name": "Tour de force"}))
        .send()
        .await
        .unwrap();
    chain.one_for(res, 200, "org.renamed").await;

    let role = json!({"name": "reviewer", "permissions": ["org:read"]});
    let res = ada
        .send(Method::POST, "/api/v1/orgs/tour/roles", Some(role))
        .await;
    chain.one_for(res, 201, "role.created").await;
    let res = ada
        .request(Method::PUT, "/api/v1/orgs/tour/roles/reviewer")
        .header("if-match", "*")
        .json(&json!({"permissions": ["org:read", "members:read"]}))
        .send()
        .await
        .unwrap();
    chain.one_for(res, 200, "role.updated").await;
    let res = ada
        .send(Method::DELETE, "/api/v1/orgs/tour/roles/reviewer", None)
        .await;
    chain.one_for(res, 204, "role.deleted").await;

    let res = ada
        .send(
            Method::POST,
            "/api/v1/orgs/tour/flags",
            Some(json!({"key": "beta", "enabled": false})),
        )
        .await;
    chain.one_for(res, 201, "flag.created").await;
    let res = ada
        .request(Method::PATCH, "/api/v1/orgs/tour/flags/beta")
        .header("if-match", "*")
        .json(&json!({"enabled": true}))
        .send()
        .await
        .unwrap();
    let toggled = chain.one("flag.toggled").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        (
            toggled.metadata["before"]["enabled"].clone(),
            toggled.metadata["after"]["enabled"].clone()
        ),
        (json!(false), json!(true))
    );
    let res = ada
        .request(Method::PATCH, "/api/v1/orgs/tour/flags/beta")
        .header("if-match", "*")
        .json(&json!({"description": "the beta programme"}))
        .send()
        .await
        .unwrap();
    let updated = chain.one("flag.updated").await;
    assert_eq!(res.status(), 200);
    assert_eq!(updated.metadata["before"]["flag"]["description"], "");
    assert_eq!(
        updated.metadata["after"]["flag"]["description"],
        "the beta programme"
    );
    let res = ada
        .send(Method::DELETE, "/api/v1/orgs/tour/flags/beta", None)
        .await;
    chain.one_for(res, 204, "flag.deleted").await;
    status_page_steps(&ada, &mut chain).await;
    compliance_steps(&ada, &mut chain).await;
    export_steps(&ada, &mut chain).await;

    let res = ada
        .send(
            Method::POST,
            "/api/v1/orgs/tour/api-keys",
            Some(json!({"name": "ci", "permissions": ["org:read", "api_keys:manage"]})),
        )
        .await;
    let key: Value = chain
        .one_for(res, 201, "api_key.created")
        .await
        .json()
        .await
        .unwrap();
    let res = ada
        .send(
            Method::POST,
            &format!(
                "/api/v1/orgs/tour/api-keys/{}/rotate",
                key["id"].as_str().unwrap()
            ),
            Some(json!({"grace_seconds": 0})),
        )
        .await;
    let rotated: Value = chain
        .one_for(res, 201, "api_key.rotated")
        .await
        .json()
        .await
        .unwrap();
    // The key revokes itself (keys may revoke, not create).
    let res = app
        .client
        .delete(app.url(&format!(
            "/api/v1/orgs/tour/api-keys/{}",
            rotated["id"].as_str().unwrap()
        )))
        .bearer_auth(rotated["key"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    chain.one_for(res, 204, "api_key.revoked").await;

    // SSO: settings saved against a real IdP, then the IdP's back-channel logout.
    let idp = Idp::start(
        &app,
        &[IdpClient {
            client_id: "tour",
            client_secret: "tour-secret-0123456789",
        }],
    );
    let sso = json!({
        "enabled": true, "issuer": idp.issuer, "client_id": "tour", "client_secret": "tour-secret-0123456789",
        "email_domains": ["tour.test"], "default_role": "contributor",
    });
    let res = ada.send(Method::PUT, "/api/v1/orgs/tour/sso", Some(sso)).await;
    chain.one_for(res, 200, "sso.updated").await;
    // The domain proven by its TXT record; the daily re-check suspends it once the record is gone.
    let challenge = "_attest-challenge.tour.test";
    let domains: Value = ada
        .get("/api/v1/orgs/tour/sso/domains")
        .await
        .json()
        .await
        .unwrap();
    dns.publish(challenge, &[domains["items"][0]["txt_value"].as_str().unwrap()]);
    let verify = json!({"method": "dns"});
    let res = ada
        .send(
            Method::POST,
            "/api/v1/orgs/tour/sso/domains/tour.test/verify",
            Some(verify),
        )
        .await;
    chain.one_for(res, 200, "sso.domain_verified").await;
    dns.remove(challenge);
    let due = chrono::Utc::now() + chrono::Duration::days(2);
    attest_core::identity::sso::domains::recheck(&app.state, due)
        .await
        .unwrap();
    chain.one("sso.domain_suspended").await;
    let now = chrono::Utc::now().timestamp();
    let logout = sign(
        "idp-test-key.pem",
        "test-key",
        "logout+jwt",
        &json!({
            "iss": idp.issuer, "aud": "tour", "iat": now, "jti": "coverage", "sid": "no-such-session",
            "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
        }),
    );
    let res = app
        .post_raw(
            "/auth/sso/backchannel-logout",
            "application/x-www-form-urlencoded",
            format!("logout_token={logout}"),
        )
        .await;
    chain.one_for(res, 200, "auth.backchannel_logout").await;

    let res = ada
        .send(
            Method::POST,
            "/api/v1/orgs/tour/invitations",
            Some(json!({"email": "carol@example.com", "roles": ["auditor"]})),
        )
        .await;
    let invitation: Value = chain
        .one_for(res, 201, "invitation.sent")
        .await
        .json()
        .await
        .unwrap();
    let path = format!(
        "/api/v1/orgs/tour/invitations/{}",
        invitation["id"].as_str().unwrap()
    );
    let res = ada.send(Method::DELETE, &path, None).await;
    chain.one_for(res, 204, "invitation.revoked").await;

    let bob = invite_and_join(&app, &ada, &mut chain, "bob@example.com").await;
    let me: Value = bob.get("/api/v1/me").await.json().await.unwrap();
    let bob_id = me["user"]["id"].as_str().unwrap().to_owned();

    // Bob links his identity at Tour's IdP, proving his account with its password.
    let link = json!({"org": "tour", "password": PASSWORD});
    let res = bob.send(Method::POST, "/api/v1/me/identities", Some(link)).await;
    assert_eq!(res.status(), 200);
    let started: Value = res.json().await.unwrap();
    idp.add_account("bob-sub", "bob@example.com", true).await;
    idp.next_login("bob-sub").await;
    let walker = Walker::with_jar(bob.jar.clone());
    let callback = walker
        .walk(
            started["redirect"].as_str().unwrap(),
            &app.url("/auth/sso/callback"),
        )
        .await
        .unwrap_or_else(|(url, _)| panic!("stopped at {url}"));
    chain
        .one_for(walker.callback(&callback).await, 302, "identity.linked")
        .await;
    let res = bob.send(Method::DELETE, "/api/v1/me/identities/tour", None).await;
    chain.one_for(res, 204, "identity.unlinked").await;
    let res = ada
        .request(Method::PUT, &format!("/api/v1/orgs/tour/members/{bob_id}/roles"))
        .header("if-match", "*")
        .json(&json!({"roles": ["auditor", "contributor"]}))
        .send()
        .await
        .unwrap();
    chain.one_for(res, 200, "member.roles_changed").await;

    // Bob lacks roles:manage.
    let res = bob
        .send(
            Method::POST,
            "/api/v1/orgs/tour/roles",
            Some(json!({"name": "x", "permissions": []})),
        )
        .await;
    chain.one_for(res, 403, "access.denied").await;

    let res = bob.send(Method::POST, "/auth/logout", None).await;
    chain.one_for(res, 204, "auth.signed_out").await;
    let res = login_attempt(&app, "bob@example.com", "not the password").await;
    chain.one_for(res, 401, "auth.signed_in").await;

    let bob = login(&app, "bob@example.com", PASSWORD).await;
    chain.one("auth.signed_in").await;
    let sessions: Value = ada.get("/api/v1/orgs/tour/sessions").await.json().await.unwrap();
    let bob_session = sessions["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["user_id"] == bob_id.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = ada
        .send(
            Method::DELETE,
            &format!("/api/v1/orgs/tour/sessions/{bob_session}"),
            None,
        )
        .await;
    chain.one_for(res, 204, "session.revoked").await;
    drop(bob);

    // Two-factor sign-in, on and off: only confirming and disabling change anything.
    let (secret, _) = enrol(&ada).await;
    chain.one("totp.enabled").await;
    let res = ada
        .send(
            Method::POST,
            "/api/v1/me/totp/disable",
            Some(json!({"code": current_code(&secret)})),
        )
        .await;
    chain.one_for(res, 204, "totp.disabled").await;

    let res = ada.get("/api/v1/orgs/tour/audit-events/export").await;
    chain.one_for(res, 200, "audit.exported").await;
    let res = ada
        .send(
            Method::PUT,
            "/api/v1/orgs/tour/audit-retention",
            Some(json!({"days": 365})),
        )
        .await;
    chain.one_for(res, 200, "audit.retention_changed").await;
    let later = chrono::Utc::now() + chrono::Duration::days(400);
    attest_core::audit::retention::apply(&app.state, later)
        .await
        .unwrap();
    let applied = chain.one("audit.retention_applied").await;
    assert_eq!(applied.request_id, None, "a background job has no request");

    let dir = tempfile::tempdir().unwrap();
    let out = attest_command(dir.path(), &base_env(&app.db.url, dir.path()))
        .args(["admin", "disable", "--email", "bob@example.com"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    chain.one("user.disabled").await;
    let res = ada
        .send(
            Method::DELETE,
            &format!("/api/v1/orgs/tour/members/{bob_id}"),
            None,
        )
        .await;
    chain.one_for(res, 204, "member.removed").await;

    // With two failures allowed, the second locks the account (one event, the lock).
    let res = login_attempt(&app, "ada@example.com", "wrong once").await;
    chain.one_for(res, 401, "auth.signed_in").await;
    let res = login_attempt(&app, "ada@example.com", "wrong twice").await;
    chain.one_for(res, 401, "auth.locked_out").await;

    // A password reset lifts the lock (and ends every session); then a change.
    let res = app
        .post_json("/auth/password-reset", &json!({"email": "ada@example.com"}))
        .await;
    assert_eq!(res.status(), 202);
    let mail = wait_for_message(
        app.dir.path(),
        "/password-reset?token=",
        std::time::Duration::from_secs(10),
    )
    .await;
    let token: String = mail
        .split("/password-reset?token=")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let reset = json!({"token": token, "password": "a reset amber lighthouse"});
    let res = app.post_json("/auth/password-reset/confirm", &reset).await;
    chain.one_for(res, 204, "password.reset").await;
    let ada = login(&app, "ada@example.com", "a reset amber lighthouse").await;
    chain.one("auth.signed_in").await;
    let change = json!({"current": "a reset amber lighthouse", "new": "a changed amber lighthouse"});
    let res = ada.send(Method::POST, "/api/v1/me/password", Some(change)).await;
    chain.one_for(res, 204, "password.changed").await;
    let res = ada.get("/api/v1/me/export").await;
    chain.one_for(res, 200, "user.data_exported").await;

    let res = ada.send(Method::DELETE, "/api/v1/orgs/tour", None).await;
    chain.one_for(res, 204, "org.deleted").await;

    let all: BTreeSet<String> = Action::ALL.iter().map(|a| a.as_str().to_owned()).collect();
    assert_eq!(chain.seen, all, "every audited action was caused and seen");
}
