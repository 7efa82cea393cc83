//! Reading the credentials epoch, which every authenticated request does
//! ([`verified`](super::verified)), for as little as it can cost.
//!
//! Through the pool on SQLite, that one read crosses to the connection's sqlx
//! worker thread and back, which cost more than everything else a cached
//! request does (docs/performance.md). On a SQLite file, a read-only
//! connection of this process's own answers on the request's thread in a few
//! microseconds, from the latest committed state as any new read does in WAL
//! mode: a revocation committed through the pool is seen by the next read
//! here. PostgreSQL, an in-memory SQLite database (which no second connection
//! can open), and a read here that fails, go through the pool.

use std::{
    path::Path,
    sync::{Mutex, OnceLock},
    time::{Duration, Instant},
};

use rusqlite::{Connection, OpenFlags};
use sea_orm::{metric::Info, DatabaseConnection, DbBackend, Statement};

use super::verified::Epoch;
use crate::{store, AppResult};

const QUERY: &str = "SELECT epoch FROM credentials_epoch WHERE id = 1";

/// What is told about each statement run here (the pool's metric callback).
type Observer = Box<dyn Fn(&Info<'_>) + Send + Sync>;

/// The instance's way to the current epoch.
pub struct EpochReader {
    /// The connection of its own, on a SQLite file.
    own: Option<Mutex<Connection>>,
    statement: Statement,
    observer: OnceLock<Observer>,
}

impl EpochReader {
    pub fn for_db(db: &DatabaseConnection) -> EpochReader {
        EpochReader {
            own: store::sqlite_file(db)
                .and_then(|file| open(&file).ok())
                .map(Mutex::new),
            statement: Statement::from_string(DbBackend::Sqlite, QUERY),
            observer: OnceLock::new(),
        }
    }

    /// Whether reads are answered by a connection of the reader's own.
    pub fn has_own_connection(&self) -> bool {
        self.own.is_some()
    }

    /// Tells `observer` of every read made here, as the pool tells its metric
    /// callback, so statements per request still count this one.
    pub fn observe(&self, observer: impl Fn(&Info<'_>) + Send + Sync + 'static) {
        // Set once, at start-up.
        let _ = self.observer.set(Box::new(observer));
    }

    /// The current epoch.
    pub async fn read(&self, db: &DatabaseConnection) -> AppResult<Epoch> {
        match self.read_here() {
            Some(epoch) => Ok(epoch),
            None => Epoch::read(db).await,
        }
    }

    fn read_here(&self) -> Option<Epoch> {
        let connection = self.own.as_ref()?.lock().ok()?;
        let started = Instant::now();
        let epoch = connection
            .prepare_cached(QUERY)
            .and_then(|mut statement| statement.query_row([], |row| row.get::<_, i64>(0)));
        if let Some(observe) = self.observer.get() {
            observe(&Info {
                elapsed: started.elapsed(),
                statement: &self.statement,
                failed: epoch.is_err(),
            });
        }
        if let Err(error) = &epoch {
            tracing::warn!(%error, "reading the credentials epoch on its own connection failed; using the pool");
        }
        epoch.ok().map(Epoch::new)
    }
}

/// A read-only connection that waits briefly for a lock, never long: a
/// request's thread is waiting, and the pool is there when it gives up.
fn open(file: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open_with_flags(
        file,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(Duration::from_millis(50))?;
    Ok(connection)
}

#[cfg(test)]
mod tests {
    use std::sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    };

    use sea_orm::{ConnectionTrait as _, TransactionTrait as _};

    use super::*;

    async fn migrated(url: &str) -> DatabaseConnection {
        let db = store::connect(&store::StoreConfig::new(url)).await.unwrap();
        store::migrations::up(&db).await.unwrap();
        db
    }

    #[tokio::test]
    async fn on_a_sqlite_file_its_own_connection_sees_each_commit_of_the_pool_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = migrated(&format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("a.db").display()
        ))
        .await;
        let reader = EpochReader::for_db(&db);
        assert!(reader.has_own_connection());
        let counted = Arc::new(AtomicUsize::new(0));
        let count = counted.clone();
        reader.observe(move |info| {
            assert_eq!(info.statement.sql, QUERY);
            count.fetch_add(1, Ordering::Relaxed);
        });

        for _ in 0..3 {
            let before = reader.read(&db).await.unwrap();
            assert_eq!(before, Epoch::read(&db).await.unwrap(), "the pool reads the same");
            let txn = db.begin().await.unwrap();
            txn.execute_unprepared("UPDATE credentials_epoch SET epoch = epoch + 1 WHERE id = 1")
                .await
                .unwrap();
            assert_eq!(reader.read(&db).await.unwrap(), before, "nothing uncommitted");
            txn.commit().await.unwrap();
            assert_ne!(
                reader.read(&db).await.unwrap(),
                before,
                "the commit, on the next read"
            );
        }
        assert_eq!(
            counted.load(Ordering::Relaxed),
            9,
            "each read is counted as a statement"
        );
    }

    #[tokio::test]
    async fn an_in_memory_database_has_no_second_connection() {
        let db = store::connect(&store::StoreConfig::new("sqlite::memory:"))
            .await
            .unwrap();
        assert!(!EpochReader::for_db(&db).has_own_connection());
    }
}
