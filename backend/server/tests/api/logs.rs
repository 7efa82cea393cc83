//! Production logs: one JSON object per line; the request line carries the request
//! id the client saw, the method, the route template, the status and the latency;
//! and no password, token, session id or secret ever appears.

use std::{
    io::{BufRead as _, BufReader, Write as _},
    process::{Child, Stdio},
    time::Duration,
};

use serde_json::{json, Value};

use crate::{
    auth::PASSWORD,
    helpers::{attest_command, base_env, free_port, TestDatabase, TEST_SECRET_KEY},
    mail::wait_for_message,
};

struct Server {
    child: Child,
    base: String,
    client: reqwest::Client,
}

impl Server {
    async fn post(&self, path: &str, csrf: Option<&str>, body: Value) -> reqwest::Response {
        let mut req = self.client.post(format!("{}{path}", self.base)).json(&body);
        if let Some(csrf) = csrf {
            req = req.header("x-csrf-token", csrf);
        }
        req.send().await.unwrap()
    }
}

async fn start(dir: &std::path::Path, env: &std::collections::BTreeMap<String, String>) -> Server {
    let port = free_port();
    let mut env = env.clone();
    env.insert("ATTEST_LISTEN".into(), format!("127.0.0.1:{port}"));
    let mut child = attest_command(dir, &env)
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return Server { child, base, client };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("server never became ready");
}

#[tokio::test]
async fn json_logs_carry_the_request_fields_and_no_secrets() {
    let db = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = base_env(&db.url, dir.path());
    env.insert("ATTEST_LOG_FORMAT".into(), "json".into());
    env.insert("ATTEST_METRICS_TOKEN".into(), "metrics-secret-token".into());
    let mut create = attest_command(dir.path(), &env)
        .args([
            "admin",
            "create",
            "--email",
            "ada@example.com",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    create
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    assert!(create.wait().unwrap().success());
    let mut server = start(dir.path(), &env).await;

    let res = server
        .client
        .get(format!("{}/livez", server.base))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Everything that handles a secret: sign-in (good and bad), sessions, TOTP, invitations.
    server
        .post(
            "/auth/login",
            None,
            json!({"email": "ada@example.com", "password": "wrong-horse-battery"}),
        )
        .await;
    let login = server
        .post(
            "/auth/login",
            None,
            json!({"email": "ada@example.com", "password": PASSWORD}),
        )
        .await;
    let session_token = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .and_then(|c| c.split_once('=').map(|(_, v)| v.to_owned()))
        .unwrap();
    let csrf = login.json::<Value>().await.unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let totp: Value = server
        .post("/api/v1/me/totp", Some(&csrf), json!(null))
        .await
        .json()
        .await
        .unwrap();
    let totp_secret = totp["secret"].as_str().unwrap().to_owned();
    server
        .post(
            "/api/v1/orgs",
            Some(&csrf),
            json!({"slug": "acme", "name": "Acme"}),
        )
        .await;
    let res = server
        .post(
            "/api/v1/orgs/acme/invitations",
            Some(&csrf),
            json!({"email": "new@example.com", "roles": ["auditor"]}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let mail = wait_for_message(
        &dir.path().join("mail"),
        "To: new@example.com",
        Duration::from_secs(10),
    )
    .await;
    let invitation_token: String = mail
        .split("token=")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    server
        .client
        .get(format!("{}/metrics", server.base))
        .bearer_auth("metrics-secret-token")
        .send()
        .await
        .unwrap();

    std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    let stdout = server.child.stdout.take().unwrap();
    let lines: Vec<String> = BufReader::new(stdout).lines().map_while(Result::ok).collect();
    server.child.wait().unwrap();

    let entries: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not a JSON line: {l}")))
        .collect();
    let request = entries
        .iter()
        .find(|e| e["message"] == "request completed" && e["span"]["request_id"] == "trace-me-42")
        .unwrap_or_else(|| panic!("no request line in {lines:#?}"));
    assert_eq!(request["span"]["method"], "GET");
    assert_eq!(request["span"]["route"], "/livez");
    assert_eq!(request["span"]["status"], 200);
    assert!(request["span"]["latency_ms"].is_number());
    assert_eq!(request["level"], "INFO");

    let all = lines.join("\n");
    for (what, secret) in [
        ("password", PASSWORD),
        ("wrong password", "wrong-horse-battery"),
        ("session token", &session_token),
        ("CSRF token", &csrf),
        ("TOTP secret", &totp_secret),
        ("invitation token", &invitation_token),
        ("metrics token", "metrics-secret-token"),
        ("server key", TEST_SECRET_KEY),
    ] {
        assert!(secret.len() >= 10, "{what} looks wrong: {secret:?}");
        assert!(!all.contains(secret), "the {what} appears in the logs");
    }
}
