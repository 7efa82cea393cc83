//! Write transactions.
//!
//! SQLite allows one writer at a time, and a transaction that has read and then
//! wants to write fails at once (`SQLITE_BUSY_SNAPSHOT`, no waiting) if another
//! connection committed meanwhile. So on SQLite every write transaction of the
//! process takes one async lock first: writers queue instead of failing, and
//! readers are never blocked. Another process on the same file (`attest admin`
//! beside a serving instance, or a second instance) is not behind that lock, so
//! each write transaction also claims SQLite's own write lock before it reads
//! anything, as `BEGIN IMMEDIATE` would: a writer of another process makes it
//! wait (the busy timeout), never fail. PostgreSQL needs neither.
//!
//! Since the lock lets one write run at a time anyway, on a SQLite file every
//! write runs on one connection of its own (a pool of one, beside the readers'
//! pool). A connection discards its page cache whenever another one has
//! committed since its last transaction, so writes spread over the pool each
//! began by reading every page they touched back from the file; on their own
//! connection the pages the last write left stay cached (docs/performance.md).
//! And the writes waiting for their turn commit together ([`super::group_commit`]).

use std::sync::Arc;

use sea_orm::{
    metric::Info,
    prelude::async_trait,
    sqlx::{
        self,
        sqlite::{Sqlite, SqlitePoolOptions},
        TransactionManager as _,
    },
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult, QueryResult,
    SqlxSqliteConnector, Statement, TransactionTrait as _,
};

use super::group_commit::{Membership, Writer};

/// A write matching no row: it takes SQLite's write lock, and changes nothing.
const CLAIM: &str = "UPDATE credentials_epoch SET epoch = epoch WHERE 0";

/// The process's SQLite writer and its connection (neither for PostgreSQL).
#[derive(Clone, Default)]
pub struct WriteLock {
    writer: Option<Arc<Writer>>,
    /// The writes' own connection; `None` writes through the pool (PostgreSQL,
    /// or an in-memory SQLite database, which a second pool could not open).
    own: Option<DatabaseConnection>,
}

impl WriteLock {
    pub fn for_db(db: &DatabaseConnection) -> WriteLock {
        if db.get_database_backend() != DbBackend::Sqlite {
            return WriteLock::default();
        }
        WriteLock {
            writer: Some(Writer::new()),
            own: super::sqlite_file(db).map(|_| own_connection(db)),
        }
    }

    /// Tells `observer` of every statement the writes' own connection runs, as
    /// the pool tells its metric callback.
    pub fn observe(&mut self, observer: impl Fn(&Info<'_>) + Send + Sync + 'static) {
        if let Some(own) = &mut self.own {
            own.set_metric_callback(observer);
        }
    }

    /// Closes the writes' own connection, if there is one.
    pub async fn close(self) -> Result<(), DbErr> {
        match self.own {
            Some(own) => own.close().await,
            None => Ok(()),
        }
    }

    /// Begins a transaction that may write.
    pub async fn begin(&self, db: &DatabaseConnection) -> Result<WriteTxn, DbErr> {
        let Some(writer) = &self.writer else {
            return Ok(WriteTxn {
                txn: db.begin().await?,
                membership: None,
            });
        };
        let (txn, membership) = writer.join(self.own.as_ref().unwrap_or(db), CLAIM).await?;
        Ok(WriteTxn {
            txn,
            membership: Some(membership),
        })
    }
}

/// A pool of one connection to the file `db` reads, opened as its connections
/// are, kept open for as long as the process runs. Should a failed group leave
/// it inside a transaction, it is closed and opened afresh.
fn own_connection(db: &DatabaseConnection) -> DatabaseConnection {
    let pool = db.get_sqlite_connection_pool();
    let writer = SqlitePoolOptions::new()
        .after_release(|connection, _| {
            let depth = <Sqlite as sqlx::Database>::TransactionManager::get_transaction_depth(connection);
            Box::pin(async move { Ok(depth == 0) })
        })
        .max_connections(1)
        .min_connections(0)
        .idle_timeout(None)
        .max_lifetime(None)
        .test_before_acquire(false)
        .acquire_timeout(pool.options().get_acquire_timeout())
        .connect_lazy_with((*pool.connect_options()).clone());
    SqlxSqliteConnector::from_sqlx_sqlite_pool(writer)
}

/// A write transaction: on SQLite a member of a group, which holds the
/// writer's turn until it commits or is dropped.
pub struct WriteTxn {
    /// The whole transaction, or (SQLite) the write's savepoint in its group's.
    /// Declared first: dropped, it rolls back before the turn passes on.
    txn: DatabaseTransaction,
    membership: Option<Membership>,
}

impl WriteTxn {
    /// Commits; on SQLite, returns once the write's group has committed.
    pub async fn commit(self) -> Result<(), DbErr> {
        let WriteTxn { txn, membership } = self;
        let Some(membership) = membership else {
            return txn.commit().await;
        };
        if let Err(error) = txn.commit().await {
            membership.poison();
            return Err(error);
        }
        membership.commit().await
    }

    fn check<T>(&self, result: Result<T, DbErr>) -> Result<T, DbErr> {
        match &self.membership {
            Some(membership) => membership.check(result),
            None => result,
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for WriteTxn {
    fn get_database_backend(&self) -> DbBackend {
        self.txn.get_database_backend()
    }

    async fn execute(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        let result = self.txn.execute(stmt).await;
        self.check(result)
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        let result = self.txn.execute_unprepared(sql).await;
        self.check(result)
    }

    async fn query_one(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        let result = self.txn.query_one(stmt).await;
        self.check(result)
    }

    async fn query_all(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let result = self.txn.query_all(stmt).await;
        self.check(result)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::{
        sync::{
            atomic::{AtomicUsize, Ordering},
            Arc,
        },
        time::Duration,
    };

    use super::*;
    use crate::store;

    pub(crate) const BUMP: &str = "UPDATE credentials_epoch SET epoch = epoch + 1 WHERE id = 1";

    pub(crate) async fn on_a_file() -> (tempfile::TempDir, DatabaseConnection) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("a.db").display());
        let db = store::connect(&store::StoreConfig::new(url)).await.unwrap();
        store::migrations::up(&db).await.unwrap();
        (dir, db)
    }

    pub(crate) async fn epoch(db: &impl ConnectionTrait) -> i64 {
        let row = db
            .query_one(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT epoch FROM credentials_epoch WHERE id = 1",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get("", "epoch").unwrap()
    }

    #[tokio::test]
    async fn on_a_file_writes_run_on_their_own_counted_connection_and_readers_see_each_commit() {
        let (_dir, db) = on_a_file().await;
        let mut lock = WriteLock::for_db(&db);
        assert!(lock.own.is_some());
        let counted = Arc::new(AtomicUsize::new(0));
        let count = counted.clone();
        lock.observe(move |_| {
            count.fetch_add(1, Ordering::Relaxed);
        });

        for _ in 0..3 {
            let before = epoch(&db).await;
            let txn = lock.begin(&db).await.unwrap();
            txn.execute(Statement::from_string(DbBackend::Sqlite, BUMP))
                .await
                .unwrap();
            assert_eq!(epoch(&db).await, before, "nothing uncommitted is read");
            txn.commit().await.unwrap();
            assert_eq!(epoch(&db).await, before + 1, "the commit, on the next read");
        }
        // The bumps (unprepared SQL such as the claim is not reported).
        assert_eq!(counted.load(Ordering::Relaxed), 3);
        lock.close().await.unwrap();
    }

    #[tokio::test]
    async fn writers_queue_and_a_dropped_write_changes_nothing() {
        let (_dir, db) = on_a_file().await;
        let lock = WriteLock::for_db(&db);
        let before = epoch(&db).await;

        let first = lock.begin(&db).await.unwrap();
        first.execute_unprepared(BUMP).await.unwrap();
        let second = tokio::spawn({
            let (lock, db) = (lock.clone(), db.clone());
            async move {
                let txn = lock.begin(&db).await.unwrap();
                txn.execute_unprepared(BUMP).await.unwrap();
                txn.commit().await.unwrap();
            }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!second.is_finished(), "the second writer waits for the first");
        drop(first);
        second.await.unwrap();
        assert_eq!(epoch(&db).await, before + 1, "only the committed write landed");
    }

    #[tokio::test]
    async fn a_writer_of_another_process_makes_a_write_wait_not_fail() {
        let (dir, db) = on_a_file().await;
        let lock = WriteLock::for_db(&db);
        let before = epoch(&db).await;
        // Another process holds SQLite's write lock, with a change not yet committed.
        let other = rusqlite::Connection::open(dir.path().join("a.db")).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        other.execute_batch(BUMP).unwrap();
        let write = tokio::spawn({
            let (lock, db) = (lock.clone(), db.clone());
            async move {
                let txn = lock.begin(&db).await?;
                let seen = epoch(&txn).await;
                txn.execute_unprepared(BUMP).await?;
                txn.commit().await?;
                Ok::<i64, DbErr>(seen)
            }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!write.is_finished(), "the write waits for the other process");
        other.execute_batch("COMMIT").unwrap();
        let seen = write.await.unwrap().expect("the write went through");
        assert_eq!(seen, before + 1, "it read after the other process committed");
        assert_eq!(epoch(&db).await, before + 2);
    }

    #[tokio::test]
    async fn an_in_memory_database_writes_through_its_pool() {
        let db = store::connect(&store::StoreConfig::new("sqlite::memory:"))
            .await
            .unwrap();
        assert!(WriteLock::for_db(&db).own.is_none());
        assert!(WriteLock::for_db(&db).writer.is_some());
    }
}
