//! SIGTERM stops accepting, lets the in-flight request finish, and exits 0.

use std::{
    io::{Read as _, Write as _},
    net::TcpStream,
    process::{Child, Stdio},
    time::{Duration, Instant},
};

use crate::helpers::{attest_command, base_env, free_port, TestDatabase};

pub fn wait_until_ready(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.write_all(b"GET /readyz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            let mut buf = String::new();
            let _ = s.read_to_string(&mut buf);
            if buf.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the server never became ready");
}

pub fn signal(child: &Child, name: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_for_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not exit within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn start_server(db: &TestDatabase, dir: &std::path::Path, port: u16) -> Child {
    let mut env = base_env(&db.url, dir);
    env.insert("ATTEST_LISTEN".into(), format!("127.0.0.1:{port}"));
    env.insert("ATTEST_SHUTDOWN_TIMEOUT_SECONDS".into(), "10".into());
    attest_command(dir, &env)
        .arg("serve")
        .stdout(std::fs::File::create(dir.join("server.log")).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn sigterm_drains_an_in_flight_request_then_exits_zero() {
    sigterm_or_sigint_drains("TERM").await;
}

#[tokio::test]
async fn sigint_drains_gracefully_too() {
    sigterm_or_sigint_drains("INT").await;
}

async fn sigterm_or_sigint_drains(signal_name: &'static str) {
    let db = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = start_server(&db, dir.path(), port);
    let log_path = dir.path().join("server.log");
    tokio::task::spawn_blocking(move || {
        wait_until_ready(port);

        // A request whose body is still on its way: in flight when the signal lands.
        let body = br#"{"email":"someone@example.com","password":"not-a-real-password"}"#;
        let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        write!(
            conn,
            "POST /auth/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .unwrap();
        conn.write_all(&body[..10]).unwrap();
        std::thread::sleep(Duration::from_millis(300));

        signal(&child, signal_name);
        std::thread::sleep(Duration::from_millis(500));
        assert!(child.try_wait().unwrap().is_none(), "exited with a request in flight");
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "still accepting new connections after the signal"
        );

        conn.write_all(&body[10..]).unwrap();
        let mut response = String::new();
        conn.read_to_string(&mut response).unwrap();
        let log = std::fs::read_to_string(log_path).unwrap_or_default();
        assert!(response.starts_with("HTTP/1.1 401"), "in-flight request completed: {response}\n{log}");
        assert!(response.contains("invalid_credentials"));

        let status = wait_for_exit(&mut child, Duration::from_secs(15));
        assert_eq!(status.code(), Some(0));
    })
    .await
    .unwrap();
    drop(db);
}
