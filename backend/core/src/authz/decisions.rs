//! Compiled decisions, kept in memory per org.
//!
//! Every request already reads its org's row (a deleted org must be `404`), and
//! that row carries `policy_version`, which triggers bump on every role or
//! membership change. Cached grants are used while they are at least that
//! version, so a change made through any instance is enforced by every instance
//! on its next request, without a message bus and without another query.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use quick_cache::{sync::Cache, Weighter};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::policy::{OrgGrants, OrgPolicy};
use crate::{store::entities::orgs, AppResult};

/// How many member decisions stay in memory (a few tens of MB at most): every
/// org of 10,000 with 100 members each fits twice over.
pub const CAPACITY_MEMBERS: u64 = 2_000_000;

#[derive(Clone)]
struct ByMembers;

impl Weighter<Uuid, Arc<OrgGrants>> for ByMembers {
    fn weight(&self, _: &Uuid, grants: &Arc<OrgGrants>) -> u64 {
        grants.member_count() as u64 + 1
    }
}

/// The process's compiled decisions (one per server instance).
pub struct Decisions {
    orgs: Cache<Uuid, Arc<OrgGrants>, ByMembers>,
}

impl Default for Decisions {
    fn default() -> Self {
        Self::with_capacity(CAPACITY_MEMBERS)
    }
}

impl Decisions {
    pub fn with_capacity(members: u64) -> Self {
        let orgs_estimate = (members / 16).max(16) as usize;
        Self {
            orgs: Cache::with_weighter(orgs_estimate, members, ByMembers),
        }
    }

    /// The org's grants if they are current for `version` at `now`.
    pub fn cached(&self, org_id: Uuid, version: i64, now: DateTime<Utc>) -> Option<Arc<OrgGrants>> {
        self.orgs
            .get(&org_id)
            .filter(|grants| grants.is_current(version, now))
    }

    pub fn store(&self, grants: Arc<OrgGrants>) {
        self.orgs.insert(grants.org_id(), grants);
    }

    /// The org's current grants: from memory, or loaded and compiled when the org
    /// row shows a newer policy (or a time-boxed membership has ended).
    pub async fn grants<C: ConnectionTrait>(
        &self,
        db: &C,
        org: &orgs::Model,
        now: DateTime<Utc>,
    ) -> AppResult<Arc<OrgGrants>> {
        if let Some(grants) = self.cached(org.id, org.policy_version, now) {
            return Ok(grants);
        }
        let grants = Arc::new(OrgPolicy::load(db, org.id).await?.compile(now).await?);
        tracing::debug!(org_id = %org.id, version = grants.version(), "authorization policy compiled");
        self.store(grants.clone());
        Ok(grants)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::policy::Member;
    use attest_shared::{permissions::Permission, roles};

    fn grants(org: u128, version: i64, members: &[(u128, &str)]) -> Arc<OrgGrants> {
        let policy = OrgPolicy {
            org_id: Uuid::from_u128(org),
            version,
            members: members
                .iter()
                .map(|(user, role)| Member {
                    user_id: Uuid::from_u128(*user),
                    roles: vec![(*role).to_owned()],
                    expires_at: None,
                })
                .collect(),
            custom_roles: vec![],
        };
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        Arc::new(runtime.block_on(policy.compile(Utc::now())).unwrap())
    }

    #[test]
    fn cached_grants_answer_only_while_no_newer_version_is_seen() {
        let decisions = Decisions::default();
        let now = Utc::now();
        decisions.store(grants(1, 5, &[(10, roles::OWNER)]));
        let hit = decisions.cached(Uuid::from_u128(1), 5, now).unwrap();
        assert!(hit.of(Uuid::from_u128(10)).contains(Permission::OrgDelete));
        assert!(
            decisions.cached(Uuid::from_u128(1), 4, now).is_some(),
            "newer than the row read is fine"
        );
        assert!(
            decisions.cached(Uuid::from_u128(1), 6, now).is_none(),
            "a bumped version is a miss"
        );
        assert!(decisions.cached(Uuid::from_u128(2), 0, now).is_none());
    }

    #[test]
    fn the_cache_keeps_to_its_member_budget() {
        let decisions = Decisions::with_capacity(100);
        let members: Vec<(u128, &str)> = (0..10).map(|u| (u, roles::AUDITOR)).collect();
        for org in 0..50 {
            decisions.store(grants(org, 1, &members));
        }
        let kept = (0..50)
            .filter(|org| decisions.cached(Uuid::from_u128(*org), 1, Utc::now()).is_some())
            .count();
        assert!(
            (1..=9).contains(&kept),
            "{kept} orgs of 11 members each kept in a budget of 100"
        );
    }
}
