//! Optional TOTP: enrol, confirm, sign in with a code or a recovery code, disable.

use reqwest::Method;
use serde_json::{json, Value};
use totp_rs::{Algorithm, Secret, TOTP};

use crate::{
    auth::{login, Browser, PASSWORD},
    helpers::{assert_problem, spawn_app, TestApp},
};

pub fn current_code(secret: &str) -> String {
    let bytes = Secret::Encoded(secret.to_owned()).to_bytes().unwrap();
    TOTP::new(Algorithm::SHA1, 6, 1, 30, bytes, None, "x".into())
        .unwrap()
        .generate_current()
        .unwrap()
}

pub async fn enrol(ada: &Browser) -> (String, Vec<String>) {
    let res = ada.send(Method::POST, "/api/v1/me/totp", None).await;
    assert_eq!(res.status(), 200);
    let enrolment: Value = res.json().await.unwrap();
    let uri = enrolment["otpauth_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/Attest:ada%40example.com?"),
        "{uri}"
    );
    assert!(uri.contains("issuer=Attest"), "{uri}");
    let secret = enrolment["secret"].as_str().unwrap().to_owned();

    let wrong = ada
        .send(
            Method::POST,
            "/api/v1/me/totp/confirm",
            Some(json!({"code": "000000"})),
        )
        .await;
    let body = assert_problem(wrong, 400, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "code");

    let res = ada
        .send(
            Method::POST,
            "/api/v1/me/totp/confirm",
            Some(json!({"code": current_code(&secret)})),
        )
        .await;
    assert_eq!(res.status(), 200);
    let codes: Value = res.json().await.unwrap();
    let codes: Vec<String> = codes["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

async fn sign_in(app: &TestApp, password: &str, totp: Option<&str>) -> reqwest::Response {
    let mut body = json!({"email": "ada@example.com", "password": password});
    if let Some(code) = totp {
        body["totp"] = json!(code);
    }
    app.post_json("/auth/login", &body).await
}

#[tokio::test]
async fn with_totp_on_a_sign_in_needs_a_current_code_or_an_unused_recovery_code() {
    let app = spawn_app().await;
    app.create_operator("ada@example.com", PASSWORD).await;
    let ada = login(&app, "ada@example.com", PASSWORD).await;
    let (secret, recovery) = enrol(&ada).await;

    let body = assert_problem(sign_in(&app, PASSWORD, None).await, 401, "invalid_credentials").await;
    assert_eq!(body["totp_required"], true, "the client learns to ask for a code");
    let body = assert_problem(
        sign_in(&app, "wrong password!", None).await,
        401,
        "invalid_credentials",
    )
    .await;
    assert!(
        body.get("totp_required").is_none(),
        "a wrong password reveals nothing more"
    );
    let body = assert_problem(
        sign_in(&app, PASSWORD, Some("123456")).await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_eq!(body["totp_required"], true);

    assert_eq!(
        sign_in(&app, PASSWORD, Some(&current_code(&secret)))
            .await
            .status(),
        200
    );
    assert_eq!(sign_in(&app, PASSWORD, Some(&recovery[0])).await.status(), 200);
    let reused = sign_in(&app, PASSWORD, Some(&recovery[0])).await;
    assert_problem(reused, 401, "invalid_credentials").await;
    assert_eq!(sign_in(&app, PASSWORD, Some(&recovery[1])).await.status(), 200);
}

#[tokio::test]
async fn totp_is_switched_off_with_a_code() {
    let app = spawn_app().await;
    app.create_operator("ada@example.com", PASSWORD).await;
    let ada = login(&app, "ada@example.com", PASSWORD).await;
    let (secret, _) = enrol(&ada).await;
    let again = ada.send(Method::POST, "/api/v1/me/totp", None).await;
    assert_problem(again, 409, "conflict").await;

    let wrong = ada
        .send(
            Method::POST,
            "/api/v1/me/totp/disable",
            Some(json!({"code": "999999"})),
        )
        .await;
    assert_problem(wrong, 400, "validation_failed").await;
    let res = ada
        .send(
            Method::POST,
            "/api/v1/me/totp/disable",
            Some(json!({"code": current_code(&secret)})),
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(sign_in(&app, PASSWORD, None).await.status(), 200);
}

#[tokio::test]
async fn the_totp_secret_is_stored_sealed() {
    use sea_orm::EntityTrait as _;
    let app = spawn_app().await;
    app.create_operator("ada@example.com", PASSWORD).await;
    let ada = login(&app, "ada@example.com", PASSWORD).await;
    let (secret, recovery) = enrol(&ada).await;
    let users = attest_core::store::entities::users::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    let stored = format!("{:?}", users[0]);
    assert!(!stored.contains(&secret), "secret stored in the clear");
    assert!(
        !stored.contains(&recovery[0]),
        "recovery code stored in the clear"
    );
}
