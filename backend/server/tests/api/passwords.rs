//! Changing and resetting a password, with mail delivered to a real SMTP
//! catcher (aiosmtpd): who may, what every session does afterwards, and that
//! a reset token works once, for a while, and tells nothing about who exists.

use std::time::Duration;

use reqwest::Method;
use sea_orm::{sea_query::Expr, EntityTrait as _};
use serde_json::json;
use uuid::Uuid;

use crate::{
    audit::events,
    auth::{login, login_attempt, PASSWORD},
    helpers::{assert_problem, free_port, location, spawn_app_with, NoScript, TestApp},
    mail::{messages_in, wait_for_message, SmtpServer},
    world::create_org,
};

const NEW_PASSWORD: &str = "a brand new amber lighthouse";

/// A server mailing through aiosmtpd, with Pat (a member of Acme, signed in
/// twice) on it.
async fn pat() -> (TestApp, SmtpServer, Uuid) {
    let port = free_port();
    let smtp = SmtpServer::start(port);
    let app = spawn_app_with(&[
        ("ATTEST_SMTP_URL", &format!("smtp://127.0.0.1:{port}")),
        ("ATTEST_AUTH_RATE_LIMIT_PER_MINUTE", "1000"),
    ])
    .await;
    app.create_operator("ada@example.com", PASSWORD).await;
    let ada = login(&app, "ada@example.com", PASSWORD).await;
    let acme = create_org(&ada, "acme").await;
    app.add_member(acme, "pat@example.com", PASSWORD, &["auditor"])
        .await;
    (app, smtp, acme)
}

async fn change(browser: &crate::auth::Browser, current: &str, new: &str) -> reqwest::Response {
    browser
        .send(
            Method::POST,
            "/api/v1/me/password",
            Some(json!({"current": current, "new": new})),
        )
        .await
}

#[tokio::test]
async fn a_password_change_needs_the_current_one_and_ends_every_other_session() {
    let (app, smtp, acme) = pat().await;
    let here = login(&app, "pat@example.com", PASSWORD).await;
    let elsewhere = login(&app, "pat@example.com", PASSWORD).await;

    let res = change(&here, "not the password", NEW_PASSWORD).await;
    assert_problem(res, 401, "invalid_credentials").await;
    let res = change(&here, PASSWORD, "password1234").await;
    let problem = assert_problem(res, 400, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "new");
    let message = problem["errors"][0]["message"].as_str().unwrap();
    assert!(message.starts_with("is too easy to guess"), "{message}");
    assert!(!message.contains("password1234"), "the password is never echoed");
    assert_eq!(
        elsewhere.get("/auth/session").await.status(),
        200,
        "nothing changed yet"
    );

    let res = change(&here, PASSWORD, NEW_PASSWORD).await;
    assert_eq!(res.status(), 204);
    assert_eq!(
        here.get("/auth/session").await.status(),
        200,
        "this session goes on"
    );
    assert_eq!(
        elsewhere.get("/auth/session").await.status(),
        401,
        "the others end"
    );
    assert_eq!(
        login_attempt(&app, "pat@example.com", PASSWORD).await.status(),
        401
    );
    login(&app, "pat@example.com", NEW_PASSWORD).await;

    let mail = wait_for_message(
        &smtp.maildir,
        "Your Attest password was changed",
        Duration::from_secs(10),
    )
    .await;
    assert!(mail.contains("To: pat@example.com"), "{mail}");
    assert!(
        !mail.contains(NEW_PASSWORD) && !mail.contains(PASSWORD),
        "no password in mail"
    );
    let event = events(&app, acme)
        .await
        .into_iter()
        .find(|e| e.action == "password.changed")
        .unwrap();
    assert_eq!(event.actor.display, "pat@example.com");
    assert_eq!(event.metadata, json!({"sessions_revoked": 1}));
    for event in events(&app, acme).await {
        let text = serde_json::to_string(&event).unwrap();
        assert!(!text.contains(NEW_PASSWORD) && !text.contains(PASSWORD));
    }
}

/// Asks for a reset of `email`: the status and body, which are the same for everyone.
async fn ask_reset(app: &TestApp, email: &str) -> (u16, String) {
    let res = app
        .post_json("/auth/password-reset", &json!({ "email": email }))
        .await;
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn confirm(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    app.post_json(
        "/auth/password-reset/confirm",
        &json!({"token": token, "password": password}),
    )
    .await
}

/// The token of the newest reset link mailed to `to`.
async fn mailed_token(smtp: &SmtpServer, to: &str, nth: usize) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let links: Vec<String> = messages_in(&smtp.maildir)
            .into_iter()
            .filter(|m| m.contains(&format!("To: {to}")) && m.contains("Reset your Attest password"))
            .collect();
        if links.len() > nth {
            let mail = &links[nth];
            let start = mail.find("/password-reset?token=").expect("a link") + "/password-reset?token=".len();
            return mail[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no reset mail #{nth} to {to}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_reset_link_works_once_for_thirty_minutes_and_the_answer_is_the_same_for_anyone() {
    let (app, smtp, acme) = pat().await;
    let signed_in = login(&app, "pat@example.com", PASSWORD).await;

    let known = ask_reset(&app, "Pat@Example.com").await;
    let unknown = ask_reset(&app, "nobody@example.com").await;
    assert_eq!(known, (202, String::new()));
    assert_eq!(unknown, known, "an unknown address gets the very same answer");
    let res = app
        .post_json("/auth/password-reset", &json!({"email": "not an address"}))
        .await;
    assert_problem(res, 400, "validation_failed").await;

    let token = mailed_token(&smtp, "pat@example.com", 0).await;
    assert_eq!(token.len(), 43, "256 random bits: {token}");
    // Delivered, the link no longer sits in the database (only its hash does).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        use attest_core::store::entities::mail_outbox;
        let rows = mail_outbox::Entity::find().all(&app.state.db).await.unwrap();
        let sent = rows
            .iter()
            .find(|r| r.subject == "Reset your Attest password" && r.sent_at.is_some());
        if let Some(sent) = sent {
            assert!(!sent.text_body.contains(&token) && !sent.html_body.contains(&token));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the delivery was never recorded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A refused password leaves the token usable; a good one uses it up.
    let res = confirm(&app, &token, "qwertyuiop123").await;
    assert_problem(res, 400, "validation_failed").await;
    let res = confirm(&app, &token, NEW_PASSWORD).await;
    assert_eq!(res.status(), 204);
    assert_eq!(
        signed_in.get("/auth/session").await.status(),
        401,
        "every session ends"
    );
    login(&app, "pat@example.com", NEW_PASSWORD).await;
    let event = events(&app, acme)
        .await
        .into_iter()
        .find(|e| e.action == "password.reset")
        .unwrap();
    assert_eq!(event.metadata, json!({"sessions_revoked": 1}));

    // Used, unknown and expired tokens all get the same refusal.
    let used = assert_problem(
        confirm(&app, &token, "another fine violet harbour").await,
        400,
        "validation_failed",
    )
    .await;
    let unknown = assert_problem(
        confirm(&app, "no-such-token", "another fine violet harbour").await,
        400,
        "validation_failed",
    )
    .await;
    assert_eq!(used["errors"], unknown["errors"]);
    assert_eq!(used["errors"][0]["field"], "token");
    ask_reset(&app, "pat@example.com").await;
    let late = mailed_token(&smtp, "pat@example.com", 1).await;
    use attest_core::store::entities::password_resets;
    password_resets::Entity::update_many()
        .col_expr(
            password_resets::Column::ExpiresAt,
            Expr::value(attest_core::clock::now() - chrono::Duration::minutes(1)),
        )
        .exec(&app.state.db)
        .await
        .unwrap();
    let expired = assert_problem(
        confirm(&app, &late, "another fine violet harbour").await,
        400,
        "validation_failed",
    )
    .await;
    assert_eq!(expired["errors"], unknown["errors"]);
    login(&app, "pat@example.com", NEW_PASSWORD).await;

    // No mail ever went to the unknown address; at most three links an hour per account.
    ask_reset(&app, "pat@example.com").await;
    ask_reset(&app, "pat@example.com").await;
    mailed_token(&smtp, "pat@example.com", 2).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mails = messages_in(&smtp.maildir);
    let links = mails
        .iter()
        .filter(|m| m.contains("To: pat@example.com") && m.contains("Reset your Attest password"));
    assert_eq!(links.count(), 3);
    assert!(!mails.iter().any(|m| m.contains("nobody@example.com")));
}

/// The console's reset pages are plain forms: they work without JavaScript.
#[tokio::test]
async fn the_reset_forms_work_without_javascript() {
    let (app, smtp, _) = pat().await;
    let browser = NoScript::new(&app);
    let page = browser.html("/password-reset").await;
    assert!(page.contains(r#"action="/auth/password-reset""#), "{page}");

    let submit = |path: &'static str, form: Vec<(&'static str, String)>| {
        let browser = &browser;
        async move {
            let res = browser.submit(path, &form).await;
            assert_eq!(res.status(), 303, "{path}");
            location(&res)
        }
    };
    let sent = submit("/auth/password-reset", vec![("email", "pat@example.com".into())]).await;
    assert_eq!(sent, "/password-reset?sent=1");
    let bad = submit("/auth/password-reset", vec![("email", "nonsense".into())]).await;
    assert_eq!(bad, "/password-reset?error=email");
    let token = mailed_token(&smtp, "pat@example.com", 0).await;
    let page = browser.html(&format!("/password-reset?token={token}")).await;
    assert!(
        page.contains(r#"action="/auth/password-reset/confirm""#),
        "{page}"
    );

    let weak = submit(
        "/auth/password-reset/confirm",
        vec![("token", token.clone()), ("password", "password1234".into())],
    )
    .await;
    assert_eq!(weak, format!("/password-reset?token={token}&error=weak"));
    let done = submit(
        "/auth/password-reset/confirm",
        vec![("token", token.clone()), ("password", NEW_PASSWORD.into())],
    )
    .await;
    assert_eq!(done, "/sign-in?reset=1");
    let used = submit(
        "/auth/password-reset/confirm",
        vec![("token", token.clone()), ("password", NEW_PASSWORD.into())],
    )
    .await;
    assert_eq!(used, format!("/password-reset?token={token}&error=token"));
    login(&app, "pat@example.com", NEW_PASSWORD).await;
}

/// The value of the hidden `name` field of a server-rendered page.
fn hidden_field(page: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in {page}"))
        + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

/// Signing in and changing the password with JavaScript off: the forms post
/// themselves, the server answers with redirects, and the account page arrives
/// rendered for the signed-in visitor with the session's CSRF token in it.
#[tokio::test]
async fn sign_in_and_the_password_change_work_without_javascript() {
    let (app, _smtp, _) = pat().await;
    let browser = NoScript::new(&app);

    // Signed out, the account page sends the browser to sign in.
    let res = browser.page("/account").await;
    assert!(res.status().is_redirection(), "{}", res.status());
    assert_eq!(location(&res), "/sign-in");
    let sign_in = browser.html("/sign-in").await;
    assert!(
        sign_in.contains(r#"method="post" action="/auth/login""#),
        "{sign_in}"
    );

    let wrong = [
        ("email", "pat@example.com"),
        ("password", "not the password"),
        ("totp", ""),
    ];
    let res = browser.submit("/auth/login", &wrong).await;
    assert_eq!(
        (res.status().as_u16(), location(&res)),
        (303, "/sign-in?error=credentials".into())
    );
    assert!(res.headers().get("set-cookie").is_none());
    let right = [("email", "pat@example.com"), ("password", PASSWORD), ("totp", "")];
    // A form that names no origin is no page of this site's: refused.
    let res = app
        .client
        .post(app.url("/auth/login"))
        .form(&right)
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "forbidden").await;
    let res = browser.submit("/auth/login", &right).await;
    assert_eq!(
        (res.status().as_u16(), location(&res)),
        (303, "/dashboard".into())
    );

    let account = browser.page("/account").await;
    assert_eq!(account.status(), 200);
    let account = account.text().await.unwrap();
    assert!(account.contains(r#"action="/api/v1/me/password""#), "{account}");
    assert!(account.contains("pat@example.com"), "rendered for its visitor");
    let csrf = hidden_field(&account, "csrf_token");
    let status: serde_json::Value = browser.page("/auth/session").await.json().await.unwrap();
    assert_eq!(status["csrf_token"], csrf.as_str());

    let elsewhere = login(&app, "pat@example.com", PASSWORD).await;
    let change = |csrf: &str, current: &str, new: &str| {
        vec![
            ("csrf_token", csrf.to_owned()),
            ("current", current.to_owned()),
            ("new", new.to_owned()),
        ]
    };
    // Another site's form, or one without this session's token, changes nothing.
    let tokenless = [("current", PASSWORD), ("new", NEW_PASSWORD)];
    let res = browser.submit("/api/v1/me/password", &tokenless).await;
    assert_problem(res, 403, "forbidden").await;
    let forged = change("not-the-token", PASSWORD, NEW_PASSWORD);
    let res = browser.submit("/api/v1/me/password", &forged).await;
    assert_problem(res, 403, "forbidden").await;
    let res = browser
        .client
        .post(app.url("/api/v1/me/password"))
        .header("origin", "https://evil.example")
        .form(&change(&csrf, PASSWORD, NEW_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "forbidden").await;

    let submit = |form: Vec<(&'static str, String)>| {
        let browser = &browser;
        async move {
            let res = browser.submit("/api/v1/me/password", &form).await;
            assert_eq!(res.status(), 303);
            location(&res)
        }
    };
    assert_eq!(
        submit(change(&csrf, "not the password", NEW_PASSWORD)).await,
        "/account?password_error=current"
    );
    assert_eq!(
        submit(change(&csrf, PASSWORD, "password1234")).await,
        "/account?password_error=weak"
    );
    assert_eq!(
        elsewhere.get("/auth/session").await.status(),
        200,
        "nothing changed yet"
    );
    assert_eq!(
        submit(change(&csrf, PASSWORD, NEW_PASSWORD)).await,
        "/account?password=changed"
    );
    assert_eq!(
        elsewhere.get("/auth/session").await.status(),
        401,
        "the other sessions end"
    );
    let account = browser.html("/account?password=changed").await;
    assert!(account.contains("Password changed."), "{account}");
    login(&app, "pat@example.com", NEW_PASSWORD).await;
}
