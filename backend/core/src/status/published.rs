//! The page as the public reads it: rendered once into memory and served from
//! there, so a traffic spike during an incident costs no database reads.
//!
//! Freshness: a change on this instance drops the rendering before its
//! request returns; a change on another instance moves `status_page.version`,
//! which this instance reads at most once a second ([`RECHECK`]); a
//! maintenance window opening or closing expires the rendering at that instant,
//! and any rendering is rebuilt after [`REFRESH`] (today's uptime moves).

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, OnceLock, RwLock,
    },
    time::{Duration, Instant},
};

use attest_shared::status::PublicPage;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use sea_orm::{EntityTrait as _, QuerySelect as _};

use super::hosted_api::{self, Endpoint};
use crate::{store::entities::status_page, AppError, AppResult, AppState};

/// How stale another instance's change may be seen here, at most.
pub const RECHECK: Duration = Duration::from_secs(1);

/// Today's uptime bar grows with an open outage: a rendering lives this long at most.
pub const REFRESH: Duration = Duration::from_secs(60);

/// The page's name in its documents.
pub const PAGE_NAME: &str = "Attest";

/// One rendering of the page.
pub struct Published {
    pub page: PublicPage,
    json: HashMap<Endpoint, Bytes>,
    /// A strong validator of this rendering (`If-None-Match`).
    pub etag: String,
    pub atom: Bytes,
    /// The HTML page, rendered by the server on first use.
    pub html: OnceLock<Bytes>,
}

impl Published {
    fn new(page: PublicPage) -> AppResult<Published> {
        let json = hosted_api::render(&page)
            .into_iter()
            .map(|(endpoint, value)| {
                Ok((
                    endpoint,
                    Bytes::from(serde_json::to_vec(&value).map_err(AppError::internal)?),
                ))
            })
            .collect::<AppResult<HashMap<_, _>>>()?;
        // Every rendering derives from the page: one validator for all of them.
        let digest = crate::crypto::sha256_hex(&serde_json::to_vec(&page).map_err(AppError::internal)?);
        let etag = format!("\"{}\"", &digest[..32]);
        Ok(Published {
            atom: Bytes::from(super::feed::render(&page)),
            page,
            json,
            etag,
            html: OnceLock::new(),
        })
    }

    /// The document of a hosted-API endpoint.
    pub fn json(&self, endpoint: Endpoint) -> Bytes {
        self.json.get(&endpoint).cloned().unwrap_or_default()
    }
}

struct Entry {
    published: Arc<Published>,
    version: i64,
    checked_at: Instant,
    expires_at: Option<DateTime<Utc>>,
}

impl Entry {
    fn fresh(&self, now: DateTime<Utc>) -> bool {
        self.checked_at.elapsed() < RECHECK && self.expires_at.is_none_or(|at| now < at)
    }
}

/// This instance's rendering.
#[derive(Default)]
pub struct Cache {
    current: RwLock<Option<Entry>>,
    /// Moved by every local change, so a rebuild that raced one is not kept.
    generation: AtomicU64,
    rebuilding: tokio::sync::Mutex<()>,
}

impl Cache {
    /// Drops the rendering (after a change committed on this instance).
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut current) = self.current.write() {
            *current = None;
        }
    }

    fn fresh(&self, now: DateTime<Utc>) -> Option<Arc<Published>> {
        let current = self.current.read().ok()?;
        current
            .as_ref()
            .filter(|e| e.fresh(now))
            .map(|e| e.published.clone())
    }

    /// The page now: from memory, else rebuilt (one rebuild at a time).
    pub async fn current(&self, state: &AppState) -> AppResult<Arc<Published>> {
        if let Some(published) = self.fresh(Utc::now()) {
            return Ok(published);
        }
        let _one_at_a_time = self.rebuilding.lock().await;
        let now = Utc::now();
        if let Some(published) = self.fresh(now) {
            return Ok(published);
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let version: i64 = status_page::Entity::find()
            .select_only()
            .column(status_page::Column::Version)
            .into_tuple()
            .one(&state.db)
            .await?
            .unwrap_or_default();
        // Still the same page: it only needed its version checked.
        if let Ok(mut current) = self.current.write() {
            if let Some(entry) = current.as_mut().filter(|e| e.version == version) {
                if entry.expires_at.is_none_or(|at| now < at) {
                    entry.checked_at = Instant::now();
                    return Ok(entry.published.clone());
                }
            }
        }
        let (page, next_change) =
            super::page::build(&state.db, PAGE_NAME, &state.config.public_url, now).await?;
        let refresh = now + chrono::Duration::from_std(REFRESH).unwrap_or_default();
        let expires_at = Some(next_change.map_or(refresh, |at| at.min(refresh)));
        let published = Arc::new(Published::new(page)?);
        if self.generation.load(Ordering::SeqCst) == generation {
            if let Ok(mut current) = self.current.write() {
                *current = Some(Entry {
                    published: published.clone(),
                    version,
                    checked_at: Instant::now(),
                    expires_at,
                });
            }
        }
        Ok(published)
    }
}
