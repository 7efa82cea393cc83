use std::{collections::BTreeMap, process::Command, sync::Once};

use attest_server::{
    config::{self, Sources},
    telemetry, Application,
};
use sea_orm::{ConnectionTrait as _, Database};

/// A 32-byte key in hex, for settings that need one.
pub const TEST_SECRET_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    pub address: String,
    /// The app's own state, for arranging data through the core services.
    pub state: attest_core::AppState,
    pub client: reqwest::Client,
    pub db: TestDatabase,
    /// The server's data folder (mail files land in `mail/`), removed with the app.
    pub dir: tempfile::TempDir,
    /// Dropped with the app, which stops its server: a test that starts many
    /// (the authorization matrix) does not pile them up.
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl TestApp {
    /// A platform operator with this email and password.
    pub async fn create_operator(&self, email: &str, password: &str) {
        attest_core::identity::users::create_operator(&self.state, email, password.to_owned())
            .await
            .expect("operator created");
    }

    /// A new (non-operator) user who belongs to `org_id` with `roles`; returns their id.
    pub async fn add_member(
        &self,
        org_id: uuid::Uuid,
        email: &str,
        password: &str,
        roles: &[&str],
    ) -> uuid::Uuid {
        let user = self.create_user(email, password).await;
        let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
        attest_core::tenancy::members::admit(&self.state.db, org_id, user, &roles)
            .await
            .expect("member admitted");
        user
    }

    /// A user who is not an operator (a plain account, no memberships).
    pub async fn create_user(&self, email: &str, password: &str) -> uuid::Uuid {
        use sea_orm::{ActiveModelTrait as _, Set};
        let user = attest_core::identity::users::create_operator(&self.state, email, password.to_owned())
            .await
            .expect("user created");
        let mut active: attest_core::store::entities::users::ActiveModel = user.into();
        active.is_operator = Set(false);
        active.update(&self.state.db).await.expect("demoted").id
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request failed")
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request failed")
    }

    /// A POST with a body sent exactly as given.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request failed")
    }
}

/// Starts a server with the test defaults.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts a server with extra `ATTEST_*` settings layered over the test defaults.
pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    let db = TestDatabase::create().await;
    spawn_app_on(db, extra).await
}

/// Starts a server on an existing test database.
pub async fn spawn_app_on(db: TestDatabase, extra: &[(&str, &str)]) -> TestApp {
    init_test_logging();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut env = base_env(&db.url, dir.path());
    for (key, value) in extra {
        env.insert((*key).to_owned(), (*value).to_owned());
    }
    let settings = config::load(&Sources::read(None, env)).expect("test settings are valid");
    let app = Application::build(settings).await.expect("the app builds");
    let port = app.port();
    let state = app.state().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    TestApp {
        _stop: stop,
        address: format!("http://127.0.0.1:{port}"),
        state,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        db,
        dir,
    }
}

/// The environment every test server starts from.
pub fn base_env(database_url: &str, dir: &std::path::Path) -> BTreeMap<String, String> {
    [
        ("ATTEST_LISTEN", "127.0.0.1:0".to_owned()),
        ("ATTEST_DATABASE_URL", database_url.to_owned()),
        ("ATTEST_DATA_DIR", dir.display().to_string()),
        ("ATTEST_SECRET_KEY", TEST_SECRET_KEY.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// `TEST_LOG=1 cargo test` shows the servers' logs.
fn init_test_logging() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            telemetry::init_logging(config::LogFormat::Pretty);
        }
    });
}

/// A database of its own for one test.
pub struct TestDatabase {
    pub url: String,
    postgres: Option<(String, String)>,
    _sqlite_dir: Option<tempfile::TempDir>,
    /// Whether dropping this handle drops the database (false for [`TestDatabase::share`]).
    owned: bool,
}

impl TestDatabase {
    /// A fresh database on the server named by `ATTEST_TEST_DATABASE_URL`, or a new
    /// SQLite file.
    pub async fn create() -> TestDatabase {
        match TestDatabase::create_postgres().await {
            Some(db) => db,
            None => TestDatabase::create_sqlite(),
        }
    }

    /// A fresh PostgreSQL database, when `ATTEST_TEST_DATABASE_URL` names a server.
    pub async fn create_postgres() -> Option<TestDatabase> {
        let admin = postgres_admin_url()?;
        let name = format!("attest_test_{}", uuid::Uuid::new_v4().simple());
        let conn = Database::connect(&admin).await.expect("connect to PostgreSQL");
        conn.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create test database");
        conn.close().await.ok();
        Some(TestDatabase {
            url: replace_database(&admin, &name),
            postgres: Some((admin, name)),
            _sqlite_dir: None,
            owned: true,
        })
    }

    /// A new SQLite file in a folder of its own.
    pub fn create_sqlite() -> TestDatabase {
        let dir = tempfile::tempdir().expect("temp dir");
        TestDatabase {
            url: format!("sqlite://{}?mode=rwc", dir.path().join("attest.db").display()),
            postgres: None,
            _sqlite_dir: Some(dir),
            owned: true,
        }
    }

    /// Another handle on this database, for a second server instance; the
    /// database lives as long as the original handle.
    pub fn share(&self) -> TestDatabase {
        TestDatabase {
            url: self.url.clone(),
            postgres: self.postgres.clone(),
            _sqlite_dir: None,
            owned: false,
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// The URL with its host and port replaced, e.g. to route through a proxy.
    pub fn url_via(&self, port: u16) -> String {
        let mut url = url::Url::parse(&self.url).expect("database URL");
        url.set_host(Some("127.0.0.1")).expect("host");
        url.set_port(Some(port)).expect("port");
        url.to_string()
    }

    /// The port the database server listens on (PostgreSQL only).
    pub fn server_port(&self) -> u16 {
        url::Url::parse(&self.url)
            .ok()
            .and_then(|u| u.port())
            .unwrap_or(5432)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin, name)) = self.postgres.take().filter(|_| self.owned) else {
            return;
        };
        // Drop runs inside the test's runtime: clean up on a thread of its own.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(conn) = Database::connect(&admin).await {
                    let _ = conn
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

fn postgres_admin_url() -> Option<String> {
    std::env::var("ATTEST_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

fn replace_database(url: &str, name: &str) -> String {
    let mut url = url::Url::parse(url).expect("ATTEST_TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// The `attest` binary with an empty environment but for the given settings, run
/// in `dir`, so nothing from the developer's shell leaks in.
pub fn attest_command(dir: &std::path::Path, env: &BTreeMap<String, String>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_attest"));
    command
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env);
    command
}

/// Runs `command` with `stdin` piped in; answers whether it succeeded, and
/// what it printed (stdout, then stderr).
pub fn run_with_stdin(mut command: Command, stdin: &str) -> (bool, String) {
    use std::{io::Write as _, process::Stdio};
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), printed)
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Asserts a problem+json answer with the given status and code; returns the body.
pub async fn assert_problem(res: reqwest::Response, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(res.status().as_u16(), status, "status");
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let header_id = res
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body: serde_json::Value = res.json().await.expect("problem body is JSON");
    assert_eq!(body["status"], status);
    assert_eq!(body["code"], code);
    for member in ["type", "title", "detail"] {
        assert!(body[member].is_string(), "{member} missing in {body}");
    }
    assert_eq!(
        body["request_id"],
        header_id.as_str(),
        "request_id matches X-Request-Id"
    );
    body
}

/// A browser with JavaScript off: it asks for pages as HTML, posts forms as
/// the browser would (naming the page's origin), keeps cookies, and does not
/// follow redirects, so a test sees where the server sends it.
pub struct NoScript {
    pub client: reqwest::Client,
    base: String,
}

impl NoScript {
    pub fn new(app: &TestApp) -> NoScript {
        let mut headers = reqwest::header::HeaderMap::new();
        // The console's origin is the server's public URL (not always its address).
        let public_url = url::Url::parse(&app.state.config.public_url).expect("a public URL");
        let origin = public_url.origin().ascii_serialization();
        headers.insert(reqwest::header::ORIGIN, origin.parse().expect("an origin"));
        NoScript {
            client: reqwest::Client::builder()
                .default_headers(headers)
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: app.address.clone(),
        }
    }

    /// The page at `path`, as a browser navigating there gets it.
    pub async fn page(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap()
    }

    /// The HTML of the page at `path`.
    pub async fn html(&self, path: &str) -> String {
        self.page(path).await.text().await.unwrap()
    }

    /// `form` submitted to `path`.
    pub async fn submit<T: serde::Serialize + ?Sized>(&self, path: &str, form: &T) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .form(form)
            .send()
            .await
            .unwrap()
    }
}

/// Where a redirect sends the browser.
pub fn location(res: &reqwest::Response) -> String {
    res.headers()["location"].to_str().unwrap().to_owned()
}
