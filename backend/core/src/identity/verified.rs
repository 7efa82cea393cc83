//! Verified credentials kept in memory, without loosening revocation.
//!
//! Every change that can end or narrow a credential moves one counter forward,
//! `credentials_epoch`, in the same transaction (database triggers: see the
//! migration `m20261207_000010_credentials_epoch`). A request reads the counter
//! once, by primary key, and takes from memory only what was verified under that
//! same epoch: a session or key with its user, an org row, the orgs an IdP signs
//! in to. Anything else is verified from the database again and remembered under
//! the epoch read *before* that verification, so a change that commits meanwhile
//! can never hide behind it. A revocation that has returned is therefore seen by
//! the next request on every instance, which reads the new epoch.
//!
//! Time ends credentials too, without any write: each entry carries the instant it
//! stops being valid (a key's expiry, a session's end or idle deadline, the first
//! time-boxed membership it relies on), checked on every use.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use quick_cache::sync::Cache;
use sea_orm::{ConnectionTrait, Statement};
use uuid::Uuid;

use super::{api_keys::LiveKey, sessions::LiveSession};
use crate::{store::entities::orgs, AppError, AppResult};

/// Entries per kind: every credential of a large deployment, a few MB.
const CAPACITY: usize = 100_000;

/// The `credentials_epoch` a request read: what it may take from memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Epoch(i64);

impl Epoch {
    pub(crate) fn new(epoch: i64) -> Epoch {
        Epoch(epoch)
    }

    /// The current epoch, as the instance reads it ([`EpochReader`](super::epoch_reader::EpochReader)).
    pub async fn current(state: &crate::AppState) -> AppResult<Epoch> {
        state.epoch.read(&state.db).await
    }

    /// Reads the current epoch through `db` (one primary-key read).
    pub async fn read(db: &impl ConnectionTrait) -> AppResult<Epoch> {
        let statement = Statement::from_string(
            db.get_database_backend(),
            "SELECT epoch FROM credentials_epoch WHERE id = 1",
        );
        let row = db
            .query_one(statement)
            .await?
            .ok_or_else(|| AppError::internal("credentials_epoch has no row"))?;
        Ok(Epoch(row.try_get_by_index(0)?))
    }
}

/// One kind of verified thing, each tagged with its epoch and end.
struct Tagged<V> {
    entries: Cache<String, Arc<Entry<V>>>,
}

struct Entry<V> {
    epoch: Epoch,
    until: Option<DateTime<Utc>>,
    value: Arc<V>,
}

impl<V> Tagged<V> {
    fn new() -> Self {
        Self {
            entries: Cache::new(CAPACITY),
        }
    }

    /// The value verified under `epoch`, if it has not ended by `now`.
    fn get(&self, key: &str, epoch: Epoch, now: DateTime<Utc>) -> Option<Arc<V>> {
        self.entries
            .get(key)
            .filter(|entry| entry.epoch == epoch && entry.until.is_none_or(|until| until > now))
            .map(|entry| entry.value.clone())
    }

    fn put(&self, key: String, epoch: Epoch, until: Option<DateTime<Utc>>, value: Arc<V>) {
        self.entries.insert(key, Arc::new(Entry { epoch, until, value }));
    }
}

/// The instance's verified credentials (one per process).
pub struct Verified {
    /// By the SHA-256 of the presented key (never the key itself).
    keys: Tagged<LiveKey>,
    /// By the session token's SHA-256, as the database holds it.
    sessions: Tagged<LiveSession>,
    /// By the route's org reference (slug or id).
    orgs: Tagged<orgs::Model>,
    /// By IdP issuer: the orgs that sign in with it.
    issuer_orgs: Tagged<Vec<Uuid>>,
}

impl Default for Verified {
    fn default() -> Self {
        Self {
            keys: Tagged::new(),
            sessions: Tagged::new(),
            orgs: Tagged::new(),
            issuer_orgs: Tagged::new(),
        }
    }
}

impl Verified {
    pub fn key(&self, hash: &str, epoch: Epoch, now: DateTime<Utc>) -> Option<Arc<LiveKey>> {
        self.keys.get(hash, epoch, now)
    }

    pub fn remember_key(&self, hash: String, epoch: Epoch, until: Option<DateTime<Utc>>, key: Arc<LiveKey>) {
        self.keys.put(hash, epoch, until, key);
    }

    pub fn session(&self, hash: &str, epoch: Epoch, now: DateTime<Utc>) -> Option<Arc<LiveSession>> {
        self.sessions.get(hash, epoch, now)
    }

    pub fn remember_session(
        &self,
        hash: String,
        epoch: Epoch,
        until: DateTime<Utc>,
        session: Arc<LiveSession>,
    ) {
        self.sessions.put(hash, epoch, Some(until), session);
    }

    pub fn org(&self, org_ref: &str, epoch: Epoch) -> Option<Arc<orgs::Model>> {
        self.orgs.get(org_ref, epoch, Utc::now())
    }

    pub fn remember_org(&self, org_ref: String, epoch: Epoch, org: Arc<orgs::Model>) {
        self.orgs.put(org_ref, epoch, None, org);
    }

    pub fn issuer_orgs(&self, issuer: &str, epoch: Epoch) -> Option<Arc<Vec<Uuid>>> {
        self.issuer_orgs.get(issuer, epoch, Utc::now())
    }

    pub fn remember_issuer_orgs(&self, issuer: String, epoch: Epoch, orgs: Arc<Vec<Uuid>>) {
        self.issuer_orgs.put(issuer, epoch, None, orgs);
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn an_entry_answers_only_in_its_own_epoch_and_before_its_end() {
        let tagged: Tagged<u32> = Tagged::new();
        let now = Utc::now();
        tagged.put(
            "a".into(),
            Epoch(3),
            Some(now + Duration::seconds(10)),
            Arc::new(7),
        );
        assert_eq!(tagged.get("a", Epoch(3), now).as_deref(), Some(&7));
        assert!(
            tagged.get("a", Epoch(4), now).is_none(),
            "a newer epoch verifies again"
        );
        assert!(tagged.get("a", Epoch(2), now).is_none(), "so does an older one");
        assert!(
            tagged.get("a", Epoch(3), now + Duration::seconds(10)).is_none(),
            "an ended credential is no longer live"
        );
        assert!(tagged.get("b", Epoch(3), now).is_none());
    }
}
