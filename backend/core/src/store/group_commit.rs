//! Group commit on SQLite: the writes waiting for the writer's turn share one
//! transaction and its commit.
//!
//! Each write is a member of the group's transaction, inside a savepoint of its
//! own: a member that fails or is dropped rolls back to its savepoint, undoing
//! only its own changes. Members still run one at a time (each holds the turn
//! from its first statement to its last), and none is told it has committed
//! before the group's `COMMIT` has returned, so a write that has been answered
//! is as durable as before, and one that has not is never half there.
//!
//! A member that is done queues a flush for the turn and waits: the turn is a
//! fair lock, so the writes already waiting join the group before the flush
//! commits it, and writes arriving later wait for the next group. The group thus
//! grows with the number of concurrent writers and commits as soon as they are
//! done; a lone write commits at once. The flush is a task of its own, so a
//! request dropped while its group commits cannot leave the others untold.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

use sea_orm::{
    sqlx, ConnectionTrait as _, DatabaseConnection, DatabaseTransaction, DbErr, RuntimeErr,
    TransactionTrait as _,
};
use tokio::{
    runtime::Handle,
    sync::{watch, Mutex, OwnedMutexGuard},
};

/// How a group ended, as each of its members is told.
type Outcome = Option<Result<(), String>>;

/// The process's SQLite writer.
pub(super) struct Writer {
    /// Held by the member writing now, or by a flush.
    turn: Arc<Mutex<Slot>>,
    /// Whether a flush waits for the turn.
    flush_queued: AtomicBool,
    /// Where flushes run: the runtime the writer was made on, which lasts as
    /// long as the process serves (a request's worker may stop first).
    runtime: Handle,
}

/// The group open now, if any.
#[derive(Default)]
struct Slot(Option<Group>);

struct Group {
    txn: DatabaseTransaction,
    /// Set when a member's statement failed in a way that ends the whole
    /// transaction (SQLite rolls it back by itself): the group cannot commit.
    poisoned: AtomicBool,
    done: watch::Sender<Outcome>,
}

impl Group {
    /// Begins a group's transaction on `db`, claiming SQLite's write lock.
    async fn open(db: &DatabaseConnection, claim: &str) -> Result<Group, DbErr> {
        let txn = db.begin().await?;
        txn.execute_unprepared(claim).await?;
        Ok(Group {
            txn,
            poisoned: AtomicBool::new(false),
            done: watch::Sender::new(None),
        })
    }

    fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire)
    }

    /// Commits (rolls back if poisoned) and tells the members.
    async fn finish(self) -> Result<(), DbErr> {
        let result = if self.is_poisoned() {
            self.txn.rollback().await.ok();
            Err(group_failed("a write of its group failed the transaction".into()))
        } else {
            self.txn.commit().await
        };
        self.done
            .send_replace(Some(result.as_ref().map(|_| ()).map_err(ToString::to_string)));
        result
    }
}

/// A write's place in a group: its savepoint is the caller's; this holds the
/// turn until the write is done, and tells it how its group ended.
pub(super) struct Membership {
    writer: Arc<Writer>,
    /// Held from the write's first statement to its last; its slot holds the group.
    turn: Option<OwnedMutexGuard<Slot>>,
    done: watch::Receiver<Outcome>,
}

impl Writer {
    pub(super) fn new() -> Arc<Writer> {
        Arc::new(Writer {
            turn: Arc::default(),
            flush_queued: AtomicBool::new(false),
            runtime: Handle::current(),
        })
    }

    /// Joins the open group, or opens one on `db`: the member's savepoint and
    /// its membership.
    pub(super) async fn join(
        self: &Arc<Writer>,
        db: &DatabaseConnection,
        claim: &str,
    ) -> Result<(DatabaseTransaction, Membership), DbErr> {
        let mut turn = self.turn.clone().lock_owned().await;
        let open = match turn.0.take() {
            Some(poisoned) if poisoned.is_poisoned() => {
                // Its members are told it failed.
                poisoned.finish().await.ok();
                None
            }
            open => open,
        };
        let group = match open {
            Some(group) => group,
            None => Group::open(db, claim).await?,
        };
        let group = turn.0.insert(group);
        let savepoint = match group.txn.begin().await {
            Ok(savepoint) => savepoint,
            Err(error) => {
                group.poisoned.store(true, Ordering::Release);
                finish(&mut turn).await.ok();
                return Err(error);
            }
        };
        let membership = Membership {
            writer: self.clone(),
            done: group.done.subscribe(),
            turn: Some(turn),
        };
        Ok((savepoint, membership))
    }

    /// Makes sure a flush takes the turn after the writes waiting now.
    fn queue_flush(self: &Arc<Writer>) {
        if self.flush_queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let writer = self.clone();
        self.runtime.spawn(async move {
            let mut turn = writer.turn.clone().lock_owned().await;
            writer.flush_queued.store(false, Ordering::Release);
            // Its members are told how it went.
            finish(&mut turn).await.ok();
        });
    }
}

impl Membership {
    /// The write's savepoint was released: lets the writes waiting now join
    /// its group, and returns once the group has committed.
    pub(super) async fn commit(mut self) -> Result<(), DbErr> {
        self.writer.queue_flush();
        drop(self.turn.take());
        let ended = "its group ended without committing";
        match self.done.wait_for(Option::is_some).await.as_deref() {
            Ok(Some(Ok(()))) => Ok(()),
            Ok(Some(Err(reason))) => Err(group_failed(reason.clone())),
            Ok(None) | Err(_) => Err(group_failed(ended.into())),
        }
    }

    /// Notes how a statement of the write went: an error after which SQLite
    /// has rolled the whole transaction back fails the group.
    pub(super) fn check<T>(&self, result: Result<T, DbErr>) -> Result<T, DbErr> {
        if result.as_ref().is_err_and(ends_the_transaction) {
            self.poison();
        }
        result
    }

    /// The group cannot commit (the write's savepoint could not be released,
    /// or SQLite has ended the transaction).
    pub(super) fn poison(&self) {
        let group = self.turn.as_deref().and_then(|slot| slot.0.as_ref());
        if let Some(group) = group {
            group.poisoned.store(true, Ordering::Release);
        }
    }
}

impl Drop for Membership {
    /// A write dropped before it committed (its savepoint rolls back first):
    /// the group it leaves still commits, for its other members.
    fn drop(&mut self) {
        if let Some(turn) = self.turn.take() {
            self.writer.queue_flush();
            drop(turn);
        }
    }
}

/// Finishes the open group, if any.
async fn finish(turn: &mut OwnedMutexGuard<Slot>) -> Result<(), DbErr> {
    match turn.0.take() {
        Some(group) => group.finish().await,
        None => Ok(()),
    }
}

fn group_failed(reason: String) -> DbErr {
    DbErr::Exec(RuntimeErr::Internal(format!(
        "the write was not committed: {reason}"
    )))
}

/// Whether SQLite ends the whole transaction on `error`: a full disk, an I/O
/// error, no memory, an interrupt, a lost lock, or the connection itself
/// failing. A constraint or a bad statement fails only the write's savepoint.
fn ends_the_transaction(error: &DbErr) -> bool {
    let sqlx_error = match error {
        DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => return true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
        _ => return false,
    };
    match sqlx_error {
        sqlx::Error::Database(e) => {
            let primary = e
                .code()
                .and_then(|code| code.parse::<i32>().ok())
                .map(|code| code & 0xff);
            // SQLITE_BUSY, NOMEM, INTERRUPT, IOERR, FULL.
            matches!(primary, Some(5 | 7 | 9 | 10 | 13) | None)
        }
        // The connection, its thread or the pool failed.
        sqlx::Error::Io(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::store::write::{
        tests::{epoch, on_a_file, BUMP},
        WriteLock,
    };

    /// Lets spawned writes run until they wait for the turn: on the test's
    /// one-thread runtime, a write reaches the turn's queue on its first poll.
    async fn until_queued() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    /// A first write that bumped the epoch and is committing, and a second
    /// one that joined its group, bumped too, and commits once `go` is sent.
    struct Scene {
        first: tokio::task::JoinHandle<Result<(), DbErr>>,
        second: tokio::task::JoinHandle<Result<(), DbErr>>,
        go: tokio::sync::oneshot::Sender<bool>,
    }

    async fn first_committing_while_second_writes(lock: &WriteLock, db: &DatabaseConnection) -> Scene {
        let first = lock.begin(db).await.unwrap();
        first.execute_unprepared(BUMP).await.unwrap();
        let (go, second_go) = tokio::sync::oneshot::channel();
        let second = writer(lock, db, second_go);
        until_queued().await;
        let first = tokio::spawn(first.commit());
        Scene { first, second, go }
    }

    /// A write that begins, bumps the epoch, and commits once `go` is sent.
    fn writer(
        lock: &WriteLock,
        db: &DatabaseConnection,
        go: tokio::sync::oneshot::Receiver<bool>,
    ) -> tokio::task::JoinHandle<Result<(), DbErr>> {
        let (lock, db) = (lock.clone(), db.clone());
        tokio::spawn(async move {
            let txn = lock.begin(&db).await?;
            txn.execute_unprepared(BUMP).await?;
            if go.await.unwrap() {
                txn.commit().await
            } else {
                Ok(())
            }
        })
    }

    #[tokio::test]
    async fn a_write_that_others_wait_for_is_not_answered_before_their_shared_commit() {
        let (_dir, db) = on_a_file().await;
        let lock = WriteLock::for_db(&db);
        let before = epoch(&db).await;
        let Scene { first, second, go } = first_committing_while_second_writes(&lock, &db).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!first.is_finished(), "the first write waits for its group");
        assert_eq!(epoch(&db).await, before, "nothing is committed yet");

        go.send(true).unwrap();
        second.await.unwrap().unwrap();
        first.await.unwrap().unwrap();
        assert_eq!(epoch(&db).await, before + 2, "both, in one commit");
    }

    #[tokio::test]
    async fn a_write_dropped_in_a_group_undoes_only_its_own_changes() {
        let (_dir, db) = on_a_file().await;
        let lock = WriteLock::for_db(&db);
        let before = epoch(&db).await;
        let Scene { first, second, go } = first_committing_while_second_writes(&lock, &db).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        go.send(false).unwrap(); // the second write ends without committing
        second.await.unwrap().unwrap();
        first.await.unwrap().unwrap();
        assert_eq!(epoch(&db).await, before + 1, "the first write's change alone");

        let next = lock.begin(&db).await.unwrap();
        next.execute_unprepared(BUMP).await.unwrap();
        next.commit().await.unwrap();
        assert_eq!(epoch(&db).await, before + 2, "later writes go on");
    }

    #[tokio::test]
    async fn many_concurrent_writes_all_land() {
        let (_dir, db) = on_a_file().await;
        let lock = WriteLock::for_db(&db);
        let before = epoch(&db).await;
        let writes: Vec<_> = (0..50)
            .map(|_| {
                let (lock, db) = (lock.clone(), db.clone());
                tokio::spawn(async move {
                    let txn = lock.begin(&db).await?;
                    txn.execute_unprepared(BUMP).await?;
                    txn.commit().await
                })
            })
            .collect();
        for write in writes {
            write.await.unwrap().unwrap();
        }
        assert_eq!(epoch(&db).await, before + 50);
    }

    #[tokio::test]
    async fn a_write_that_fills_the_disk_fails_its_whole_group_and_no_member_is_told_it_committed() {
        let (_dir, db) = on_a_file().await;
        let lock = WriteLock::for_db(&db);
        let before = epoch(&db).await;
        let first = lock.begin(&db).await.unwrap();
        first.execute_unprepared(BUMP).await.unwrap();
        let filler = {
            let (lock, db) = (lock.clone(), db.clone());
            tokio::spawn(async move {
                let txn = lock.begin(&db).await?;
                // The database may not grow: the next page it needs is a full disk.
                txn.execute_unprepared(
                    "CREATE TABLE filler (x BLOB); PRAGMA max_page_count = 1; \
                     WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) \
                     INSERT INTO filler SELECT randomblob(100000) FROM n",
                )
                .await?;
                txn.commit().await
            })
        };
        until_queued().await;
        let first = first.commit().await;
        assert!(
            first.is_err(),
            "the first write is not told it committed: {first:?}"
        );
        assert!(filler.await.unwrap().is_err());
        assert_eq!(epoch(&db).await, before, "neither write landed");
    }
}
