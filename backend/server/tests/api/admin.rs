//! `attest admin create --email E --password-stdin`.

use std::{io::Write as _, process::Stdio};

use crate::{
    auth::PASSWORD,
    helpers::{attest_command, base_env, spawn_app_on, TestDatabase},
};

fn create(db: &TestDatabase, dir: &std::path::Path, email: &str, password: &str) -> (bool, String) {
    let mut child = attest_command(dir, &base_env(&db.url, dir))
        .args(["admin", "create", "--email", email, "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test]
async fn the_cli_creates_an_operator_who_can_sign_in() {
    let db = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let (ok, out) = create(&db, dir.path(), "root@example.com", PASSWORD);
    assert!(ok, "{out}");
    assert!(!out.contains(PASSWORD), "the password is never echoed");

    let (ok, out) = create(&db, dir.path(), "root@example.com", PASSWORD);
    assert!(!ok, "a second operator with the same email: {out}");
    let (ok, out) = create(&db, dir.path(), "weak@example.com", "password1234");
    assert!(!ok);
    assert!(out.contains("password"), "{out}");

    let app = spawn_app_on(db, &[]).await;
    let browser = crate::auth::login(&app, "root@example.com", PASSWORD).await;
    let me: serde_json::Value = browser.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["user"]["is_operator"], true);
}
