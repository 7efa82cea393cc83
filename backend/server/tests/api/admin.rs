//! `attest admin create --email E --password-stdin`.

use crate::{
    auth::PASSWORD,
    helpers::{attest_command, base_env, run_with_stdin, spawn_app_on, TestDatabase},
};

fn create(db: &TestDatabase, dir: &std::path::Path, email: &str, password: &str) -> (bool, String) {
    let mut command = attest_command(dir, &base_env(&db.url, dir));
    command.args(["admin", "create", "--email", email, "--password-stdin"]);
    run_with_stdin(command, &format!("{password}\n"))
}

#[tokio::test]
async fn the_cli_creates_an_operator_who_can_sign_in() {
    let db = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let (ok, out) = create(&db, dir.path(), "root@example.com", PASSWORD);
    assert!(ok, "{out}");
    assert!(!out.contains(PASSWORD), "the password is never echoed");
    // It says which database it wrote to (a relative path would otherwise surprise).
    let database = if db.is_postgres() {
        "in the PostgreSQL database "
    } else {
        "in the SQLite database /"
    };
    assert!(out.contains(database), "{out}");
    // A SQLite file it had to create is named as new, so a wrong directory shows.
    assert_eq!(out.contains("new, empty database"), !db.is_postgres(), "{out}");

    let (ok, out) = create(&db, dir.path(), "root@example.com", PASSWORD);
    assert!(!ok, "a second operator with the same email: {out}");
    let (ok, out) = create(&db, dir.path(), "weak@example.com", "password1234");
    assert!(!ok);
    assert!(out.contains("password"), "{out}");
    assert!(!out.contains("new, empty database"), "the file exists now: {out}");

    let app = spawn_app_on(db, &[]).await;
    let browser = crate::auth::login(&app, "root@example.com", PASSWORD).await;
    let me: serde_json::Value = browser.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["user"]["is_operator"], true);
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions_at_once() {
    let db = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_on(db, &[]).await;
    app.create_operator("ada@example.com", PASSWORD).await;
    let browser = crate::auth::login(&app, "ada@example.com", PASSWORD).await;
    assert_eq!(browser.get("/api/v1/me").await.status(), 200);

    let out = attest_command(dir.path(), &base_env(&app.db.url, dir.path()))
        .args(["admin", "disable", "--email", "ada@example.com"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("revoked 1 session"));

    crate::helpers::assert_problem(browser.get("/api/v1/me").await, 401, "unauthenticated").await;
    let again = app
        .post_json(
            "/auth/login",
            &serde_json::json!({"email": "ada@example.com", "password": PASSWORD}),
        )
        .await;
    crate::helpers::assert_problem(again, 401, "invalid_credentials").await;
}
