//! The SSO account-takeover defence: a domain routes sign-ins and vouches for
//! emails only once proven (a TXT record served by a real DNS server, or an
//! operator's word), an org's IdP never attaches an account that belongs to
//! other orgs, linking takes the account's own credentials, and a session
//! opened through one org's IdP reaches that org only.

use std::time::Duration;

use attest_shared::audit::Outcome;
use chrono::Utc;
use reqwest::Method;
use serde_json::{json, Value};

use crate::{
    audit::events,
    auth::{login, Browser, PASSWORD},
    helpers::{assert_problem, location, NoScript},
    idp::{Idp, IdpClient},
    sso::{
        assert_refused_in, put_sso, settings, sign_in, verify_domain, world, world_unverified, Walker, World,
    },
    world::create_org,
};

const CHALLENGE: &str = "_attest-challenge.acme.test";

async fn domains(browser: &Browser, org: &str) -> Vec<Value> {
    let res = browser.get(&format!("/api/v1/orgs/{org}/sso/domains")).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

async fn realm(w: &World, email: &str) -> bool {
    let res = w.app.get(&format!("/auth/sso/realm?email={email}")).await;
    let body: Value = res.json().await.unwrap();
    body["sso"].as_bool().unwrap()
}

/// Waits for a mail to `to` (a `To:` line) that says `what`.
async fn mail_to(w: &World, to: &str, what: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !crate::mail::messages_in(w.app.dir.path())
        .iter()
        .any(|m| m.contains(to) && m.contains(what))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no mail {to} saying {what:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_claimed_domain_routes_and_vouches_for_nothing_until_its_txt_record_proves_it() {
    let w = world_unverified(true).await;
    let claimed = domains(&w.ada, "acme").await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0]["domain"], "acme.test");
    assert_eq!(claimed[0]["state"], "pending");
    assert_eq!(claimed[0]["txt_name"], CHALLENGE);
    assert_eq!(claimed[0]["verified_at"], Value::Null);
    let txt_value = claimed[0]["txt_value"].as_str().unwrap().to_owned();
    assert!(
        txt_value.starts_with("attest-verification=") && txt_value.len() > 40,
        "{txt_value}"
    );

    // Pending: no home-realm discovery, and the IdP cannot vouch for the domain.
    assert!(!realm(&w, "bob@acme.test").await);
    let res = w.app.get("/auth/sso/start?email=bob@acme.test").await;
    assert_problem(res, 404, "not_found").await;
    w.idp.add_account("bob-sub", "bob@acme.test", true).await;
    let (walker, res) = sign_in(&w, "bob-sub", "/auth/sso/start?org=acme").await;
    assert_refused_in(&w.app, w.acme, &walker, res, "domain_not_claimed").await;

    // The lookup says what it found instead of the challenge.
    let res = verify_domain(&w.ada, "acme", "acme.test", "dns").await;
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(
        problem["detail"],
        format!("there is no TXT record at {CHALLENGE}")
    );
    w.dns.publish(CHALLENGE, &["v=spf1 -all"]);
    let res = verify_domain(&w.ada, "acme", "acme.test", "dns").await;
    let problem = assert_problem(res, 422, "validation_failed").await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("\"v=spf1 -all\""), "{detail}");
    let res = verify_domain(&w.ada, "acme", "acme.test", "carrier-pigeon").await;
    assert_problem(res, 400, "validation_failed").await;
    let res = verify_domain(&w.ada, "acme", "other.test", "dns").await;
    assert_problem(res, 404, "not_found").await;

    // Only an operator may vouch instead; an org admin proves it by DNS.
    let olga = w
        .app
        .add_member(w.acme, "olga@example.com", PASSWORD, &["admin"])
        .await;
    let olga_browser = login(&w.app, "olga@example.com", PASSWORD).await;
    let res = verify_domain(&olga_browser, "acme", "acme.test", "operator").await;
    assert_problem(res, 403, "forbidden").await;
    w.dns.publish(CHALLENGE, &["v=spf1 -all", &txt_value]);
    let res = verify_domain(&olga_browser, "acme", "acme.test", "dns").await;
    assert_eq!(res.status(), 200);
    let verified: Value = res.json().await.unwrap();
    assert_eq!(verified["state"], "verified");
    assert!(verified["verified_at"].is_string());
    let event = events(&w.app, w.acme).await.pop().unwrap();
    assert_eq!(event.action, "sso.domain_verified");
    assert_eq!(event.actor.id, Some(olga));
    assert_eq!(
        event.metadata,
        json!({"domain": "acme.test", "verification_method": "dns"})
    );

    // Proven: it routes, and the IdP vouches for it.
    assert!(realm(&w, "bob@acme.test").await);
    let (walker, res) = sign_in(&w, "bob-sub", "/auth/sso/start?email=bob@acme.test").await;
    assert_eq!(location(&res), "/");
    assert!(walker.has_session(&w.app));

    // Acme's IdP owns the credentials of its domain: no password reset there.
    for email in ["bob@acme.test", "olga@example.com"] {
        let res = w
            .app
            .post_json("/auth/password-reset", &json!({ "email": email }))
            .await;
        assert_eq!(res.status(), 202);
    }
    mail_to(&w, "To: olga@example.com", "Reset your Attest password").await;
    let mails = crate::mail::messages_in(w.app.dir.path());
    assert!(!mails.iter().any(|m| m.contains("To: bob@acme.test")));

    // Another org cannot claim a domain Acme verified.
    create_org(&w.ada, "globex").await;
    let res = put_sso(
        &w.ada,
        "globex",
        &settings(&w.idp, "globex", "x", &["acme.test"], true),
    )
    .await;
    assert_problem(res, 409, "conflict").await;

    // The daily re-check: a record still there keeps the domain.
    let recheck_everything = Utc::now() + chrono::Duration::days(1);
    let suspended = attest_core::identity::sso::domains::recheck(&w.app.state, recheck_everything).await;
    assert_eq!(suspended.unwrap(), 0);
    assert_eq!(domains(&w.ada, "acme").await[0]["state"], "verified");
    // A record gone suspends it: audited, the admins mailed, sign-ins no longer routed.
    w.dns.remove(CHALLENGE);
    let suspended = attest_core::identity::sso::domains::recheck(&w.app.state, recheck_everything).await;
    assert_eq!(suspended.unwrap(), 1);
    assert_eq!(domains(&w.ada, "acme").await[0]["state"], "suspended");
    let event = events(&w.app, w.acme).await.pop().unwrap();
    assert_eq!(event.action, "sso.domain_suspended");
    assert_eq!(
        event.metadata,
        json!({"domain": "acme.test", "reason": "domain_record_missing"})
    );
    for admin in ["To: ada@example.com", "To: olga@example.com"] {
        mail_to(&w, admin, "acme.test no longer signs in to acme with SSO").await;
    }
    assert!(!realm(&w, "bob@acme.test").await);

    // Publishing the record again and verifying restores it.
    w.dns.publish(CHALLENGE, &[&txt_value]);
    let res = verify_domain(&olga_browser, "acme", "acme.test", "dns").await;
    assert_eq!(res.status(), 200);
    assert!(realm(&w, "bob@acme.test").await);
}

/// The defect as it was: Mallory, owner of her own org, claims the domain of
/// Alice (a member of Acme) and runs an IdP asserting Alice's email.
#[tokio::test]
async fn an_org_admin_cannot_take_over_another_orgs_member_through_her_idp() {
    let w = world(true).await;
    w.app
        .add_member(w.acme, "alice@victim.test", PASSWORD, &["owner"])
        .await;
    let evil = create_org(&w.ada, "evil").await;
    w.app
        .add_member(evil, "mallory@example.com", PASSWORD, &["owner"])
        .await;
    let mallory = login(&w.app, "mallory@example.com", PASSWORD).await;
    let mallory_idp = Idp::start(
        &w.app,
        &[IdpClient {
            client_id: "evil",
            client_secret: "evil-client-secret-0123456789",
        }],
    );
    let res = put_sso(
        &mallory,
        "evil",
        &settings(
            &mallory_idp,
            "evil",
            "evil-client-secret-0123456789",
            &["victim.test"],
            true,
        ),
    )
    .await;
    assert_eq!(res.status(), 200, "a claim is only a claim");
    let res = verify_domain(&mallory, "evil", "victim.test", "dns").await;
    assert_problem(res, 422, "validation_failed").await;
    let res = verify_domain(&mallory, "evil", "victim.test", "operator").await;
    assert_problem(res, 403, "forbidden").await;

    // Her IdP asserts Alice's email, verified: refused, audited, no session.
    mallory_idp
        .add_account("alice-at-evil", "alice@victim.test", true)
        .await;
    mallory_idp.next_login("alice-at-evil").await;
    let walker = Walker::new();
    let callback = walker.to_callback(&w.app, "/auth/sso/start?org=evil").await;
    let res = walker.callback(&callback).await;
    assert_refused_in(&w.app, evil, &walker, res, "domain_not_claimed").await;

    // Even with the domain proven (an operator vouched), Alice's account
    // belongs to Acme: the IdP never attaches it.
    let res = verify_domain(&w.ada, "evil", "victim.test", "operator").await;
    assert_eq!(res.status(), 200);
    mallory_idp.next_login("alice-at-evil").await;
    let walker = Walker::new();
    let callback = walker.to_callback(&w.app, "/auth/sso/start?org=evil").await;
    let res = walker.callback(&callback).await;
    assert_refused_in(&w.app, evil, &walker, res, "account_exists").await;
    let refusal = events(&w.app, evil).await.pop().unwrap();
    assert_eq!(refusal.outcome, Outcome::Failure);
    assert_eq!(refusal.actor.display, "alice@victim.test");
    // No identity was linked to Alice.
    let alice = login(&w.app, "alice@victim.test", PASSWORD).await;
    let linked: Value = alice.get("/api/v1/me/identities").await.json().await.unwrap();
    assert_eq!(linked["items"], json!([]));
}

/// Starts linking `account` at `idp` from `browser` (POST /api/v1/me/identities
/// with `body`) and walks the IdP up to Attest's callback: the walker and that URL.
async fn link_at_idp(
    w: &World,
    idp: &Idp,
    browser: &Browser,
    body: Value,
    account: &str,
) -> (Walker, String) {
    let res = browser
        .send(Method::POST, "/api/v1/me/identities", Some(body))
        .await;
    assert_eq!(res.status(), 200);
    let started: Value = res.json().await.unwrap();
    idp.next_login(account).await;
    let walker = Walker::with_jar(browser.jar.clone());
    let callback = walker
        .walk(
            started["redirect"].as_str().unwrap(),
            &w.app.url("/auth/sso/callback"),
        )
        .await
        .unwrap_or_else(|(url, _)| panic!("stopped at {url}"));
    (walker, callback)
}

#[tokio::test]
async fn linking_takes_the_accounts_credentials_and_a_session_from_one_idp_reaches_its_org_only() {
    let w = world(false).await;
    let globex = create_org(&w.ada, "globex").await;
    // Carol belongs to Acme and Globex, with a password: Acme's IdP may not attach her.
    let carol = w
        .app
        .add_member(w.acme, "carol@acme.test", PASSWORD, &["auditor"])
        .await;
    attest_core::tenancy::members::admit(&w.app.state.db, globex, carol, &["auditor".to_owned()])
        .await
        .unwrap();
    w.idp.add_account("carol-sub", "carol@acme.test", true).await;
    let (walker, res) = sign_in(&w, "carol-sub", "/auth/sso/start?org=acme").await;
    assert_refused_in(&w.app, w.acme, &walker, res, "account_exists").await;

    // An account of Acme's alone is still attached by its verified email.
    w.app
        .add_member(w.acme, "dave@acme.test", PASSWORD, &["auditor"])
        .await;
    w.idp.add_account("dave-sub", "dave@acme.test", true).await;
    let (walker, res) = sign_in(&w, "dave-sub", "/auth/sso/start?org=acme").await;
    assert_eq!(location(&res), "/");
    assert!(walker.has_session(&w.app));

    // Linking from the account page: the wrong password, none, a foreign org.
    let browser = login(&w.app, "carol@acme.test", PASSWORD).await;
    let link = |body: Value| {
        let browser = browser.clone();
        async move {
            browser
                .send(Method::POST, "/api/v1/me/identities", Some(body))
                .await
        }
    };
    let res = link(json!({"org": "acme", "password": "not the password"})).await;
    assert_problem(res, 401, "invalid_credentials").await;
    let res = link(json!({"org": "acme"})).await;
    assert_problem(res, 400, "validation_failed").await;
    let res = link(json!({"org": "evil", "password": PASSWORD})).await;
    assert_problem(res, 404, "not_found").await;
    let res = link(json!({"org": "globex", "password": PASSWORD})).await;
    assert_problem(res, 404, "not_found").await;

    // With her password: through Acme's IdP, back to the account page, linked.
    let body = json!({"org": "acme", "password": PASSWORD, "return_to": "/account?linked=1"});
    let (linking, callback) = link_at_idp(&w, &w.idp, &browser, body, "carol-sub").await;
    let res = linking.callback(&callback).await;
    assert_eq!(location(&res), "/account?linked=1");
    let linked: Value = browser.get("/api/v1/me/identities").await.json().await.unwrap();
    assert_eq!(linked["items"][0]["issuer"], w.idp.issuer);
    assert_eq!(linked["items"][0]["org"]["slug"], "acme");
    let event = events(&w.app, w.acme).await.pop().unwrap();
    assert_eq!(event.action, "identity.linked");
    assert_eq!(event.actor.id, Some(carol));

    // The identity is Carol's now: Dave cannot link it to his account.
    let dave = login(&w.app, "dave@acme.test", PASSWORD).await;
    let body = json!({"org": "acme", "password": PASSWORD});
    let (linking, callback) = link_at_idp(&w, &w.idp, &dave, body.clone(), "carol-sub").await;
    let res = linking.callback(&callback).await;
    assert_eq!(location(&res), "/account?link_error=identity_linked_elsewhere");
    let refusal = events(&w.app, w.acme).await.pop().unwrap();
    assert_eq!(refusal.action, "identity.linked");
    assert_eq!(refusal.outcome, Outcome::Failure);

    // A link begun in a session revoked since (a reset, a sign-out) links nothing.
    let ending = login(&w.app, "dave@acme.test", PASSWORD).await;
    w.idp.add_account("dave-2-sub", "dave.two@acme.test", true).await;
    let (linking, callback) = link_at_idp(&w, &w.idp, &ending, body, "dave-2-sub").await;
    assert_eq!(
        ending.send(Method::POST, "/auth/logout", None).await.status(),
        204
    );
    let res = linking.callback(&callback).await;
    assert_eq!(location(&res), "/account?link_error=state_invalid");

    // Carol signs in through Acme's IdP: that session reaches Acme, not Globex.
    let (walker, res) = sign_in(&w, "carol-sub", "/auth/sso/start?org=acme").await;
    assert_eq!(location(&res), "/");
    let sso = walker.browser(&w.app).await;
    assert_eq!(sso.get("/api/v1/orgs/acme").await.status(), 200);
    let res = sso.get("/api/v1/orgs/globex").await;
    let problem = assert_problem(res, 401, "unauthenticated").await;
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("sign in to this organization"));
    let orgs: Value = sso.get("/api/v1/orgs").await.json().await.unwrap();
    let slugs: Vec<&str> = orgs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["acme"]);
    // Nor may it change her own credentials: that takes her password session.
    let res = sso.send(Method::POST, "/api/v1/me/totp", None).await;
    assert_problem(res, 403, "forbidden").await;
    // Her password session reaches both.
    assert_eq!(browser.get("/api/v1/orgs/globex").await.status(), 200);
}

/// A password-less account (made by its domain's IdP) proves itself for linking
/// only by a recent sign-in through that IdP: an identity linked on that proof
/// does not vouch in its turn. Unlinking ends the sessions the identity opened,
/// and never leaves such an account without a way in.
#[tokio::test]
async fn a_password_less_account_links_only_through_its_domains_idp_and_keeps_a_way_in() {
    let w = world(true).await;
    // Globex and Initech sign in through another IdP and claim no domain.
    let secret = "other-client-secret-0123456789";
    let other_idp = Idp::start(
        &w.app,
        &[
            IdpClient {
                client_id: "globex",
                client_secret: secret,
            },
            IdpClient {
                client_id: "initech",
                client_secret: secret,
            },
        ],
    );
    let mut orgs = Vec::new();
    for slug in ["globex", "initech"] {
        orgs.push(create_org(&w.ada, slug).await);
        let res = put_sso(&w.ada, slug, &settings(&other_idp, slug, secret, &[], false)).await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }
    // Acme's IdP makes Pat's account (no password); she joins both orgs.
    w.idp.add_account("pat-sub", "pat@acme.test", true).await;
    let (walker, res) = sign_in(&w, "pat-sub", "/auth/sso/start?org=acme").await;
    assert_eq!(location(&res), "/");
    let pat = walker.browser(&w.app).await;
    let me: Value = pat.get("/api/v1/me").await.json().await.unwrap();
    let pat_id = me["user"]["id"].as_str().unwrap().parse().unwrap();
    for &org in &orgs {
        attest_core::tenancy::members::admit(&w.app.state.db, org, pat_id, &["auditor".to_owned()])
            .await
            .unwrap();
    }

    // Her fresh sign-in through her domain's IdP proves her: Globex's identity links.
    other_idp.add_account("pat-globex", "pat@acme.test", true).await;
    let body = json!({"org": "globex"});
    let (linking, callback) = link_at_idp(&w, &other_idp, &pat, body, "pat-globex").await;
    assert_eq!(location(&linking.callback(&callback).await), "/account");

    // A sign-in through Globex's IdP does not prove her for more.
    other_idp.next_login("pat-globex").await;
    let walker = Walker::new();
    let callback = walker.to_callback(&w.app, "/auth/sso/start?org=globex").await;
    assert_eq!(location(&walker.callback(&callback).await), "/");
    let through_globex = walker.browser(&w.app).await;
    let res = through_globex
        .send(
            Method::POST,
            "/api/v1/me/identities",
            Some(json!({"org": "initech"})),
        )
        .await;
    let problem = assert_problem(res, 401, "unauthenticated").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("your email's organization"),
        "{problem}"
    );

    // Unlinking Globex's identity ends the session it opened, not the others.
    let res = pat
        .send(Method::DELETE, "/api/v1/me/identities/globex", None)
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(through_globex.get("/auth/session").await.status(), 401);
    assert_eq!(pat.get("/auth/session").await.status(), 200);
    let linked: Value = pat.get("/api/v1/me/identities").await.json().await.unwrap();
    assert_eq!(linked["items"].as_array().unwrap().len(), 1);
    assert_eq!(linked["items"][0]["org"]["slug"], "acme");
    let event = events(&w.app, orgs[0]).await.pop().unwrap();
    assert_eq!(
        (event.action.as_str(), event.actor.id),
        ("identity.unlinked", Some(pat_id))
    );
    // Her last identity stays: without a password it is her only way in.
    let res = pat.send(Method::DELETE, "/api/v1/me/identities/acme", None).await;
    assert_problem(res, 409, "conflict").await;
    let res = pat
        .send(Method::DELETE, "/api/v1/me/identities/initech", None)
        .await;
    assert_problem(res, 404, "not_found").await;

    // With JavaScript off, the sign-in form sends an SSO email on to its IdP.
    let form = [("email", "pat@acme.test"), ("password", ""), ("totp", "")];
    let res = NoScript::new(&w.app).submit("/auth/login", &form).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        location(&res),
        "/auth/sso/start?email=pat%40acme.test&return_to=%2Fdashboard"
    );
}
