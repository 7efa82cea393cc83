use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use sea_orm::{ConnectOptions, ConnectionTrait as _, Database, DatabaseConnection, DbErr};

/// Which database a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    /// The backend of an open connection.
    pub fn of_db(db: &DatabaseConnection) -> Backend {
        match db.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => Backend::Postgres,
            _ => Backend::Sqlite,
        }
    }
}

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub url: String,
    pub max_connections: u32,
    /// How long a request waits for a pooled connection before it is answered `503`.
    pub acquire_timeout: Duration,
}

impl StoreConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// Opens a pool. For SQLite the file (and its folder) is created if missing, and
/// every connection runs in WAL mode with foreign keys on and a busy timeout, so
/// concurrent writers wait for each other instead of failing. A pooled SQLite
/// connection is not pinged before each use, as a PostgreSQL one is: a file
/// does not hang up, and the ping was a round trip to the connection's thread.
pub async fn connect(config: &StoreConfig) -> Result<DatabaseConnection, DbErr> {
    let backend = Backend::of_url(&config.url)
        .ok_or_else(|| DbErr::Custom("unsupported database URL scheme".into()))?;
    if backend == Backend::Sqlite {
        ensure_sqlite_folder(&config.url)?;
    }

    let mut options = ConnectOptions::new(config.url.clone());
    options
        .max_connections(config.max_connections)
        .min_connections(0)
        .connect_timeout(config.acquire_timeout)
        .acquire_timeout(config.acquire_timeout)
        .idle_timeout(Duration::from_secs(300))
        .test_before_acquire(backend == Backend::Postgres)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
        });
    Database::connect(options).await
}

/// The file behind `db`, when it is SQLite stored in a file (which a
/// connection of another driver can open beside the pool).
pub fn sqlite_file(db: &DatabaseConnection) -> Option<PathBuf> {
    if Backend::of_db(db) != Backend::Sqlite {
        return None;
    }
    let path = db
        .get_sqlite_connection_pool()
        .connect_options()
        .get_filename()
        .to_owned();
    path.is_file().then_some(path)
}

/// `sqlite://data/attest.db?mode=rwc` -> creates `data/`.
fn ensure_sqlite_folder(url: &str) -> Result<(), DbErr> {
    let Some(path) = sqlite_file_path(url) else {
        return Ok(());
    };
    match Path::new(path).parent() {
        Some(parent) if !parent.as_os_str().is_empty() => std::fs::create_dir_all(parent)
            .map_err(|e| DbErr::Custom(format!("cannot create the database folder: {e}"))),
        _ => Ok(()),
    }
}

/// The file a SQLite URL names, or `None` for an in-memory database.
pub(crate) fn sqlite_file_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_both_backends_and_nothing_else() {
        assert_eq!(Backend::of_url("sqlite://x.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::of_url("postgres://h/db"), Some(Backend::Postgres));
        assert_eq!(Backend::of_url("postgresql://h/db"), Some(Backend::Postgres));
        assert_eq!(Backend::of_url("mysql://h/db"), None);
    }

    #[test]
    fn finds_the_sqlite_file_behind_a_url() {
        assert_eq!(
            sqlite_file_path("sqlite://data/attest.db?mode=rwc"),
            Some("data/attest.db")
        );
        assert_eq!(sqlite_file_path("sqlite:///tmp/a.db"), Some("/tmp/a.db"));
        assert_eq!(sqlite_file_path("sqlite::memory:"), None);
    }

    #[tokio::test]
    async fn creates_the_sqlite_file_and_its_folder() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nested/attest.db");
        let url = format!("sqlite://{}?mode=rwc", file.display());
        let db = connect(&StoreConfig::new(url)).await.unwrap();
        db.ping().await.unwrap();
        assert!(file.exists());
    }
}
