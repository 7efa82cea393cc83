//! Production logs: one JSON object per line; the request line carries the request
//! id the client saw, the method, the route template, the status and the latency.

use std::{
    io::{BufRead as _, BufReader},
    process::Stdio,
    time::Duration,
};

use crate::helpers::{attest_command, base_env, free_port, TestDatabase, TEST_SECRET_KEY};

#[tokio::test]
async fn json_logs_carry_the_request_fields_and_no_secrets() {
    let db = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut env = base_env(&db.url, dir.path());
    env.insert("ATTEST_LISTEN".into(), format!("127.0.0.1:{port}"));
    env.insert("ATTEST_ENV".into(), "production".into());
    env.insert("ATTEST_PUBLIC_URL".into(), "https://attest.example.com".into());
    env.insert("ATTEST_METRICS_TOKEN".into(), "metrics-secret-token".into());
    let mut child = attest_command(dir.path(), &env)
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut ready = false;
    for _ in 0..100 {
        if client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "server never became ready");
    let res = client
        .get(format!("{base}/livez"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    client
        .post(format!("{base}/auth/login"))
        .json(&serde_json::json!({"email": "a@example.com", "password": "correct-horse-battery"}))
        .send()
        .await
        .unwrap();

    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let lines: Vec<String> = BufReader::new(stdout).lines().map_while(Result::ok).collect();
    child.wait().unwrap();

    let entries: Vec<serde_json::Value> = lines
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
    for secret in ["correct-horse-battery", "metrics-secret-token", TEST_SECRET_KEY] {
        assert!(!all.contains(secret), "{secret} appears in the logs");
    }
}
