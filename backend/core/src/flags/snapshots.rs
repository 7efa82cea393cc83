//! Each org's flags, compiled and kept in memory per instance.
//!
//! The rule is the authorization policy's ([`crate::authz::decisions`]): the org
//! row every request reads anyway carries `flags_version`, which triggers bump
//! on every change of a flag's definition, and a snapshot serves while it is at
//! least that version. Evaluation therefore reads no flag table.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicI64, Ordering},
        Arc,
    },
};

use chrono::{DateTime, Utc};
use quick_cache::sync::Cache;
use sea_orm::{ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _, QueryOrder as _};
use uuid::Uuid;

use super::{engine::CompiledFlag, stored};
use crate::{
    store::entities::{flags, orgs},
    AppResult,
};

/// Orgs whose flags stay in memory.
const CAPACITY_ORGS: usize = 10_000;

/// How often at most an evaluation stamp is noted per flag.
const STAMP_EVERY_SECONDS: i64 = 60;

/// One org's flags at one `flags_version`, in key order.
pub struct OrgFlags {
    pub version: i64,
    pub flags: Vec<SnapshotFlag>,
    by_key: HashMap<String, usize>,
}

/// A flag in a snapshot, and when this instance last noted its evaluation.
pub struct SnapshotFlag {
    pub flag: CompiledFlag,
    noted_at: AtomicI64,
}

impl OrgFlags {
    pub fn get(&self, key: &str) -> Option<&SnapshotFlag> {
        self.by_key.get(key).map(|at| &self.flags[*at])
    }
}

impl SnapshotFlag {
    /// Whether an evaluation at `now` should note the flag's stamp: once a
    /// minute per flag and instance at most.
    pub fn stamp_due(&self, now: DateTime<Utc>) -> bool {
        let now = now.timestamp();
        let noted = self.noted_at.load(Ordering::Relaxed);
        now - noted >= STAMP_EVERY_SECONDS
            && self
                .noted_at
                .compare_exchange(noted, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

/// The process's flag snapshots (one cache per instance).
pub struct Snapshots {
    orgs: Cache<Uuid, Arc<OrgFlags>>,
}

impl Default for Snapshots {
    fn default() -> Self {
        Self {
            orgs: Cache::new(CAPACITY_ORGS),
        }
    }
}

impl Snapshots {
    /// The org's flags: from memory, or loaded and compiled when the org row
    /// shows a newer `flags_version`.
    pub async fn of<C: ConnectionTrait>(&self, db: &C, org: &orgs::Model) -> AppResult<Arc<OrgFlags>> {
        if let Some(snapshot) = self.orgs.get(&org.id).filter(|s| s.version >= org.flags_version) {
            return Ok(snapshot);
        }
        let rows = flags::Entity::find()
            .filter(flags::Column::OrgId.eq(org.id))
            .order_by_asc(flags::Column::Key)
            .all(db)
            .await?;
        let mut compiled = Vec::with_capacity(rows.len());
        for row in rows {
            let (key, definition) = (row.key.clone(), stored::definition(&row)?);
            compiled.push(SnapshotFlag {
                flag: CompiledFlag::new(key, definition),
                noted_at: AtomicI64::new(0),
            });
        }
        let by_key = compiled
            .iter()
            .enumerate()
            .map(|(at, f)| (f.flag.key.clone(), at))
            .collect();
        // Read after the row: the flags are at least as new as the version.
        let snapshot = Arc::new(OrgFlags {
            version: org.flags_version,
            flags: compiled,
            by_key,
        });
        tracing::debug!(org_id = %org.id, version = org.flags_version, "flags compiled");
        self.orgs.insert(org.id, snapshot.clone());
        Ok(snapshot)
    }
}
