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

use std::sync::Arc;

use sea_orm::{
    prelude::async_trait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    ExecResult, QueryResult, Statement, TransactionTrait as _,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

/// The process's SQLite writer lock (none for PostgreSQL).
#[derive(Clone, Default)]
pub struct WriteLock(Option<Arc<Mutex<()>>>);

impl WriteLock {
    pub fn for_db(db: &DatabaseConnection) -> WriteLock {
        match db.get_database_backend() {
            DbBackend::Sqlite => WriteLock(Some(Arc::default())),
            _ => WriteLock(None),
        }
    }

    /// Begins a transaction that may write.
    pub async fn begin(&self, db: &DatabaseConnection) -> Result<WriteTxn, DbErr> {
        let guard = match &self.0 {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        };
        let txn = db.begin().await?;
        if guard.is_some() {
            // A write matching no row: it takes the write lock, and changes nothing.
            txn.execute_unprepared("UPDATE credentials_epoch SET epoch = epoch WHERE 0")
                .await?;
        }
        Ok(WriteTxn { txn, _guard: guard })
    }
}

/// A transaction holding the writer lock until it commits or is dropped.
pub struct WriteTxn {
    txn: DatabaseTransaction,
    _guard: Option<OwnedMutexGuard<()>>,
}

impl WriteTxn {
    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for WriteTxn {
    fn get_database_backend(&self) -> DbBackend {
        self.txn.get_database_backend()
    }

    async fn execute(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.txn.execute(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.txn.execute_unprepared(sql).await
    }

    async fn query_one(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.txn.query_one(stmt).await
    }

    async fn query_all(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.txn.query_all(stmt).await
    }
}
