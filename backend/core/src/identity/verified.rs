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
use sea_orm::{ConnectionTrait, Statement};
use uuid::Uuid;

use super::{api_keys::LiveKey, epoch_cache::EpochCache, sessions::LiveSession};
use crate::{store::entities::orgs, AppError, AppResult};

/// Entries per kind: every credential of a large deployment, a few MB.
const CAPACITY: u64 = 100_000;

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

/// The instance's verified credentials (one per process).
pub struct Verified {
    /// By the SHA-256 of the presented key (never the key itself).
    keys: EpochCache<String, LiveKey>,
    /// By the session token's SHA-256, as the database holds it.
    sessions: EpochCache<String, LiveSession>,
    /// By the route's org reference (slug or id).
    orgs: EpochCache<String, orgs::Model>,
    /// By IdP issuer: the orgs that sign in with it.
    issuer_orgs: EpochCache<String, Vec<Uuid>>,
}

impl Default for Verified {
    fn default() -> Self {
        Self {
            keys: EpochCache::new(CAPACITY),
            sessions: EpochCache::new(CAPACITY),
            orgs: EpochCache::new(CAPACITY),
            issuer_orgs: EpochCache::new(CAPACITY),
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
