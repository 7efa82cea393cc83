//! Activity stamps — `sessions.last_seen_at`, `api_keys.last_used_at`,
//! `flags.last_evaluated_at` — written
//! in batches by a background task, never on the request path. A request that
//! finds its credential's stamp stale (older than the touch interval) notes the
//! new one here and moves on; the flusher writes every noted stamp in one
//! transaction per round. The database lags real activity by at most one touch
//! interval plus one flush interval, together at most a quarter of the session
//! idle timeout (CONTRACT.md), so a used session never looks idle to another
//! instance.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use sea_orm::{sea_query::Expr, ColumnTrait as _, Condition, EntityTrait as _, QueryFilter as _};
use uuid::Uuid;

use crate::{
    store::entities::{api_keys, flags, sessions},
    AppResult, AppState,
};

type Stamp = sea_orm::prelude::DateTimeWithTimeZone;

/// The longest a noted stamp waits for its write.
const MAX_FLUSH_INTERVAL: Duration = Duration::from_secs(5);

/// Stamps noted since the last flush, newest per credential.
#[derive(Default)]
pub struct Activity {
    pending: Mutex<Pending>,
}

#[derive(Default)]
struct Pending {
    sessions: HashMap<Uuid, Stamp>,
    keys: HashMap<Uuid, Stamp>,
    /// Flags by org and key.
    flags: HashMap<(Uuid, String), Stamp>,
    /// The sessions' stamps of the round being written, readable until it commits.
    writing: HashMap<Uuid, Stamp>,
}

/// Keeps the newest of two stamps: a late note never moves one backwards.
fn note<K: std::hash::Hash + Eq>(stamps: &mut HashMap<K, Stamp>, id: K, at: Stamp) {
    let stamp = stamps.entry(id).or_insert(at);
    *stamp = (*stamp).max(at);
}

impl Activity {
    pub fn session_seen(&self, session_id: Uuid, at: Stamp) {
        self.with_pending(|p| note(&mut p.sessions, session_id, at));
    }

    pub fn key_used(&self, key_id: Uuid, at: Stamp) {
        self.with_pending(|p| note(&mut p.keys, key_id, at));
    }

    /// An evaluation served the flag (noted at most once a minute per flag).
    pub fn flag_evaluated(&self, org_id: Uuid, key: &str, at: Stamp) {
        self.with_pending(|p| note(&mut p.flags, (org_id, key.to_owned()), at));
    }

    /// The newest stamp noted for a session and not yet committed, if any.
    pub fn session_seen_at(&self, session_id: Uuid) -> Option<Stamp> {
        self.with_pending(|p| {
            let noted = p.sessions.get(&session_id).copied();
            let writing = p.writing.get(&session_id).copied();
            noted.max(writing)
        })
    }

    fn with_pending<T>(&self, f: impl FnOnce(&mut Pending) -> T) -> T {
        // A panic while holding the lock leaves plain maps: still usable.
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut pending)
    }

    /// Writes every noted stamp (a stamp never moves backwards); returns how
    /// many. A failed round puts its stamps back for the next one.
    pub async fn flush(&self, state: &AppState) -> AppResult<usize> {
        let (sessions, keys, flags) = self.with_pending(|p| {
            p.writing = p.sessions.clone();
            (
                std::mem::take(&mut p.sessions),
                std::mem::take(&mut p.keys),
                std::mem::take(&mut p.flags),
            )
        });
        if sessions.is_empty() && keys.is_empty() && flags.is_empty() {
            return Ok(0);
        }
        let count = sessions.len() + keys.len() + flags.len();
        let written = write(state, &sessions, &keys, &flags).await;
        self.with_pending(|p| {
            p.writing.clear();
            if written.is_err() {
                for (id, at) in sessions {
                    note(&mut p.sessions, id, at);
                }
                for (id, at) in keys {
                    note(&mut p.keys, id, at);
                }
                for (id, at) in flags {
                    note(&mut p.flags, id, at);
                }
            }
        });
        written.map(|()| count)
    }
}

async fn write(
    state: &AppState,
    sessions: &HashMap<Uuid, Stamp>,
    keys: &HashMap<Uuid, Stamp>,
    flags: &HashMap<(Uuid, String), Stamp>,
) -> AppResult<()> {
    let txn = state.begin().await?;
    for (id, at) in sessions {
        sessions::Entity::update_many()
            .col_expr(sessions::Column::LastSeenAt, Expr::value(*at))
            .filter(sessions::Column::Id.eq(*id))
            .filter(sessions::Column::LastSeenAt.lt(*at))
            .exec(&txn)
            .await?;
    }
    for (id, at) in keys {
        api_keys::Entity::update_many()
            .col_expr(api_keys::Column::LastUsedAt, Expr::value(*at))
            .filter(api_keys::Column::Id.eq(*id))
            .filter(
                Condition::any()
                    .add(api_keys::Column::LastUsedAt.is_null())
                    .add(api_keys::Column::LastUsedAt.lt(*at)),
            )
            .exec(&txn)
            .await?;
    }
    for ((org_id, key), at) in flags {
        flags::Entity::update_many()
            .col_expr(flags::Column::LastEvaluatedAt, Expr::value(*at))
            .filter(flags::Column::OrgId.eq(*org_id))
            .filter(flags::Column::Key.eq(key.as_str()))
            .filter(
                Condition::any()
                    .add(flags::Column::LastEvaluatedAt.is_null())
                    .add(flags::Column::LastEvaluatedAt.lt(*at)),
            )
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// How often the flusher writes: every few seconds, and within an eighth of
/// the session idle timeout, so that with the touch interval (another eighth
/// at most) a session's stamp reaches the database within a quarter of it.
pub fn flush_interval(session_idle: Duration) -> Duration {
    (session_idle / 8).clamp(Duration::from_millis(50), MAX_FLUSH_INTERVAL)
}

/// Writes the noted stamps every [`flush_interval`] until the process ends
/// (the server also flushes once more as it stops).
pub fn spawn_flusher(state: AppState) -> tokio::task::JoinHandle<()> {
    let every = flush_interval(state.config.session_idle);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(error) = state.activity.flush(&state).await {
                tracing::warn!(error = %error, "writing activity stamps failed; retrying next round");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flush_interval_stays_well_inside_the_idle_timeout() {
        assert_eq!(flush_interval(Duration::from_secs(1800)), MAX_FLUSH_INTERVAL);
        assert_eq!(flush_interval(Duration::from_secs(2)), Duration::from_millis(250));
        assert!(flush_interval(Duration::from_millis(10)) >= Duration::from_millis(50));
    }
}
