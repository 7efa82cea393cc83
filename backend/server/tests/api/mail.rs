//! Mail: files in development, real SMTP (aiosmtpd started by the test), and an
//! outbox that keeps a message while SMTP is down and sends it when SMTP returns.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::json;

use crate::{
    auth::PASSWORD,
    helpers::{free_port, spawn_app_with},
};

/// Decodes quoted-printable soft breaks and escapes, enough to read links.
pub fn unfold(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let mut out = String::new();
    let mut chars = joined.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '=' {
            let hex: String = chars.clone().take(2).collect();
            if let Ok(byte) = u8::from_str_radix(&hex, 16) {
                out.push(char::from(byte));
                chars.next();
                chars.next();
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// Every message file below `dir` (recursively), decoded.
pub fn messages_in(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&path) else {
            continue;
        };
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(text) = std::fs::read_to_string(&p) {
                found.push(unfold(&text));
            }
        }
    }
    found
}

/// Waits (up to `within`) for a message below `dir` that contains `needle`.
pub async fn wait_for_message(dir: &Path, needle: &str, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        if let Some(m) = messages_in(dir).into_iter().find(|m| m.contains(needle)) {
            return m;
        }
        assert!(
            Instant::now() < deadline,
            "no mail containing {needle:?} in {}",
            dir.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// aiosmtpd on loopback, storing what it receives in a Maildir.
pub struct SmtpServer {
    child: Child,
    pub maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    pub fn start(port: u16) -> SmtpServer {
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("maildir");
        let child = Command::new("python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m aiosmtpd: scripts/test installs it in $CARGO_TARGET_DIR/python-venv; put its bin/ on PATH");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        SmtpServer {
            child,
            maildir,
            _dir: dir,
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn lock_out(app: &crate::helpers::TestApp) {
    for _ in 0..2 {
        app.post_json(
            "/auth/login",
            &json!({"email": "ada@example.com", "password": "definitely wrong"}),
        )
        .await;
    }
}

#[tokio::test]
async fn a_lockout_notice_is_delivered_over_real_smtp() {
    let port = free_port();
    let smtp = SmtpServer::start(port);
    let app = spawn_app_with(&[
        ("ATTEST_SMTP_URL", &format!("smtp://127.0.0.1:{port}")),
        ("ATTEST_LOGIN_MAX_FAILURES", "2"),
    ])
    .await;
    app.create_operator("ada@example.com", PASSWORD).await;
    lock_out(&app).await;
    let mail = wait_for_message(
        &smtp.maildir,
        "Your Attest account was locked",
        Duration::from_secs(10),
    )
    .await;
    assert!(mail.contains("To: ada@example.com"), "{mail}");
    assert!(
        mail.contains("text/html") && mail.contains("text/plain"),
        "both bodies: {mail}"
    );
    assert!(!mail.contains("definitely wrong"), "no password in mail");
}

#[tokio::test]
async fn the_outbox_keeps_mail_while_smtp_is_down_and_sends_it_when_smtp_returns() {
    let port = free_port();
    let app = spawn_app_with(&[
        ("ATTEST_SMTP_URL", &format!("smtp://127.0.0.1:{port}")),
        ("ATTEST_LOGIN_MAX_FAILURES", "2"),
    ])
    .await;
    app.create_operator("ada@example.com", PASSWORD).await;
    lock_out(&app).await;

    // Nothing listens yet: the message stays queued, its failures recorded.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rows = attest_core::store::entities::mail_outbox::Entity::find()
            .all(&app.state.db)
            .await
            .unwrap();
        if rows
            .iter()
            .any(|r| r.attempts > 0 && r.sent_at.is_none() && r.last_error.is_some())
        {
            break;
        }
        assert!(Instant::now() < deadline, "no failed delivery recorded: {rows:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let smtp = SmtpServer::start(port);
    wait_for_message(
        &smtp.maildir,
        "Your Attest account was locked",
        Duration::from_secs(30),
    )
    .await;
    // The worker records the delivery just after SMTP accepted it.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rows = attest_core::store::entities::mail_outbox::Entity::find()
            .all(&app.state.db)
            .await
            .unwrap();
        assert_eq!(rows.len(), 1, "one message, delivered once");
        if rows[0].sent_at.is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the delivery was never recorded: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

use sea_orm::EntityTrait as _;
