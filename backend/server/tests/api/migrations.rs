//! Every migration has a working `down`: up -> down -> up round trips on both databases.

use attest_core::store::{self, StoreConfig};
use attest_migrations::SchemaManager;

use crate::helpers::{attest_command, base_env, TestDatabase};

const CORE_TABLES: [&str; 8] = [
    "orgs",
    "users",
    "memberships",
    "sessions",
    "membership_roles",
    "invitations",
    "mail_outbox",
    "org_roles",
];

async fn tables_present(db: &sea_orm::DatabaseConnection) -> Vec<&'static str> {
    let manager = SchemaManager::new(db);
    let mut present = Vec::new();
    for table in CORE_TABLES {
        if manager.has_table(table).await.unwrap() {
            present.push(table);
        }
    }
    present
}

#[tokio::test]
async fn migrations_round_trip_up_down_up() {
    let test_db = TestDatabase::create().await;
    let db = store::connect(&StoreConfig::new(test_db.url.clone()))
        .await
        .unwrap();

    store::migrations::up(&db).await.unwrap();
    assert_eq!(tables_present(&db).await, CORE_TABLES);
    assert_eq!(store::migrations::pending_count(&db).await.unwrap(), 0);

    let all = u32::try_from(store::migrations::status(&db).await.unwrap().len()).unwrap();
    assert_eq!(store::migrations::down(&db, all).await.unwrap(), all);
    assert!(
        tables_present(&db).await.is_empty(),
        "down removes everything up created"
    );

    store::migrations::up(&db).await.unwrap();
    assert_eq!(tables_present(&db).await, CORE_TABLES);
    db.close().await.unwrap();
}

/// Runs `attest args`: whether it succeeded, and its standard output.
fn run(dir: &std::path::Path, database_url: &str, args: &[&str]) -> (bool, String) {
    let (ok, stdout, _) = run_with_errors(dir, database_url, args);
    (ok, stdout)
}

/// As [`run`], with its standard error after the output.
fn run_all(dir: &std::path::Path, database_url: &str, args: &[&str]) -> (bool, String) {
    let (ok, stdout, stderr) = run_with_errors(dir, database_url, args);
    (ok, format!("{stdout}{stderr}"))
}

fn run_with_errors(dir: &std::path::Path, database_url: &str, args: &[&str]) -> (bool, String, String) {
    let env = base_env(database_url, dir);
    let out = attest_command(dir, &env)
        .args(args)
        .output()
        .expect("attest runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_cli_migrates_reports_and_rolls_back_past_the_start() {
    let test_db = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();

    let (ok, out) = run(dir.path(), &test_db.url, &["migrate", "status"]);
    assert!(ok);
    assert!(out.lines().all(|l| l.starts_with("pending")), "{out}");

    let (ok, _) = run(dir.path(), &test_db.url, &["migrate", "up"]);
    assert!(ok);
    let (_, out) = run(dir.path(), &test_db.url, &["migrate", "status"]);
    assert!(out.lines().all(|l| l.starts_with("applied")), "{out}");

    // With audit events recorded, dropping the trail needs an explicit yes.
    let app = crate::helpers::spawn_app_on(test_db.share(), &[]).await;
    app.create_operator("ada@example.com", crate::auth::PASSWORD)
        .await;
    let ada = crate::auth::login(&app, "ada@example.com", crate::auth::PASSWORD).await;
    crate::world::create_org(&ada, "acme").await;
    let (ok, out) = run_all(dir.path(), &test_db.url, &["migrate", "down", "--steps", "99"]);
    assert!(
        !ok && out.contains("--yes-destroy-audit-data") && out.contains("audit event"),
        "{out}"
    );
    let (_, out) = run(dir.path(), &test_db.url, &["migrate", "status"]);
    assert!(
        out.lines().all(|l| l.starts_with("applied")),
        "nothing was rolled back: {out}"
    );
    drop(app);
    let (ok, out) = run(
        dir.path(),
        &test_db.url,
        &["migrate", "down", "--steps", "99", "--yes-destroy-audit-data"],
    );
    assert!(ok, "{out}");
    let (ok, _) = run(dir.path(), &test_db.url, &["migrate", "up"]);
    assert!(ok);

    // More steps than are applied rolls everything back and still succeeds.
    let (ok, out) = run(dir.path(), &test_db.url, &["migrate", "down", "--steps", "99"]);
    assert!(ok, "{out}");
    let (_, out) = run(dir.path(), &test_db.url, &["migrate", "status"]);
    assert!(out.lines().all(|l| l.starts_with("pending")), "{out}");

    let db = store::connect(&StoreConfig::new(test_db.url.clone()))
        .await
        .unwrap();
    assert!(tables_present(&db).await.is_empty());
    db.close().await.unwrap();
}
