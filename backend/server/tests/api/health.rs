use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use tokio::net::{TcpListener, TcpStream};

use crate::helpers::{assert_problem, spawn_app, spawn_app_on, TestDatabase};

#[tokio::test]
async fn livez_answers_ok() {
    let app = spawn_app().await;
    let res = app.get("/livez").await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"status": "ok"}));
    let head = app.client.head(app.url("/livez")).send().await.unwrap();
    assert_eq!(head.status(), 200, "HEAD works wherever GET does");
}

#[tokio::test]
async fn readyz_reports_a_reachable_and_migrated_database() {
    let app = spawn_app().await;
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"]["database"], "ok");
    assert_eq!(body["checks"]["migrations"], "ok");
}

#[tokio::test]
async fn readyz_names_pending_migrations() {
    let app = spawn_app().await;
    let db = attest_core::store::connect(&attest_core::store::StoreConfig::new(app.db.url.clone()))
        .await
        .unwrap();
    attest_core::store::migrations::down(&db, 1).await.unwrap();
    let body = assert_problem(app.get("/readyz").await, 503, "unavailable").await;
    assert_eq!(body["checks"]["migrations"], "pending");
    assert_eq!(body["checks"]["database"], "ok");
}

/// A TCP proxy in front of PostgreSQL that the test can cut and restore.
struct Proxy {
    port: u16,
    open: Arc<AtomicBool>,
}

impl Proxy {
    async fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(AtomicBool::new(true));
        let accepting = open.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !accepting.load(Ordering::SeqCst) {
                    continue; // dropped: the connection is refused
                }
                let open = accepting.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                        return;
                    };
                    let pump = tokio::io::copy_bidirectional(&mut client, &mut server);
                    let cut = async {
                        while open.load(Ordering::SeqCst) {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    };
                    tokio::select! { _ = pump => {}, () = cut => {} }
                });
            }
        });
        Proxy { port, open }
    }

    fn set_open(&self, open: bool) {
        self.open.store(open, Ordering::SeqCst);
    }
}

/// Polls `/readyz` until it answers `status` with `database` in its checks.
async fn wait_for_readyz(app: &crate::helpers::TestApp, status: u16, database: &str) -> bool {
    for _ in 0..50 {
        let res = app.get("/readyz").await;
        let got = res.status().as_u16();
        let body: serde_json::Value = res.json().await.unwrap_or_default();
        if got == status && body["checks"]["database"] == database {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

#[tokio::test]
async fn readyz_fails_while_postgres_is_unreachable_and_recovers_without_restart() {
    let db = TestDatabase::create().await;
    if !db.is_postgres() {
        eprintln!("skipped: needs ATTEST_TEST_DATABASE_URL (PostgreSQL)");
        return;
    }
    let proxy = Proxy::start(db.server_port()).await;
    let via_proxy = db.url_via(proxy.port);
    let app = spawn_app_on(db, &[("ATTEST_DATABASE_URL", &via_proxy)]).await;
    assert!(wait_for_readyz(&app, 200, "ok").await);

    proxy.set_open(false);
    assert!(
        wait_for_readyz(&app, 503, "unreachable").await,
        "readyz never reported the outage"
    );
    let body = assert_problem(app.get("/readyz").await, 503, "unavailable").await;
    assert_eq!(
        body["checks"]["database"], "unreachable",
        "the outage is reported steadily"
    );
    // Liveness is unaffected: the process is fine, its dependency is not.
    assert_eq!(app.get("/livez").await.status(), 200);

    proxy.set_open(true);
    assert!(wait_for_readyz(&app, 200, "ok").await, "readyz never recovered");
}
