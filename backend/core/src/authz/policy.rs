//! The authorization model, and an org's policy compiled into decisions.
//!
//! The model is Casbin's RBAC with domains: a domain is an org, subjects are
//! `user:<id>`, roles are `role:<name>`, and a permission such as
//! `members:manage` is the object/action pair (`members`, `manage`). An org's
//! policy is its roles' grants (`p`) and its live members' roles (`g`), loaded
//! from the tables the services write (`memberships`, `membership_roles`,
//! `org_roles`); built-in roles come from `attest_shared::roles`.
//!
//! Casbin evaluates its matcher over every policy line, tens of microseconds per
//! check for one org's ~100 lines (docs/performance.md). So the request path
//! does not enforce line by line: [`OrgPolicy::compile`] asks the enforcer once
//! per member for everything it grants them, and requests test a bit in the
//! resulting [`OrgGrants`]. A property test holds the compiled answer equal to
//! `Enforcer::enforce` for every member and permission.

use std::collections::{BTreeSet, HashMap};

use attest_shared::{
    permissions::{Permission, PermissionSet},
    roles,
};
use casbin::{CoreApi as _, DefaultModel, Enforcer, MemoryAdapter, MgmtApi as _, RbacApi as _};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _, QuerySelect as _};
use uuid::Uuid;

use crate::{
    store::entities::{membership_roles, memberships, org_roles, orgs},
    AppError, AppResult,
};

/// Casbin's RBAC-with-domains model, as the F3 issue fixes it.
pub const MODEL: &str = "\
[request_definition]
r = sub, dom, obj, act

[policy_definition]
p = sub, dom, obj, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub, r.dom) && r.dom == p.dom && r.obj == p.obj && r.act == p.act
";

/// A member as the policy sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user_id: Uuid,
    pub roles: Vec<String>,
    /// Time-boxed memberships (auditors) grant nothing from this instant on.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Everything an org's authorization decisions are made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgPolicy {
    pub org_id: Uuid,
    /// `orgs.policy_version` when the rows were read (triggers bump it on every change).
    pub version: i64,
    pub members: Vec<Member>,
    /// Custom roles by name; built-in roles are implied.
    pub custom_roles: Vec<(String, Vec<Permission>)>,
}

/// The casbin subject of a user.
pub fn subject(user_id: Uuid) -> String {
    format!("user:{user_id}")
}

fn role_subject(role: &str) -> String {
    format!("role:{role}")
}

/// A permission as casbin's object and action: `members:manage` → (`members`, `manage`).
pub fn object_action(permission: Permission) -> (&'static str, &'static str) {
    permission
        .as_str()
        .split_once(':')
        .unwrap_or((permission.as_str(), ""))
}

fn permission_of(rule: &[String]) -> Option<Permission> {
    match rule {
        [_, _, object, action] => Permission::parse(&format!("{object}:{action}")),
        _ => None,
    }
}

fn casbin_error(err: casbin::Error) -> AppError {
    AppError::internal(format!("authorization model: {err}"))
}

impl OrgPolicy {
    /// Reads the org's policy. The version is read first, so every row read after
    /// it is at least as new: compiled grants are never older than their version
    /// claims (at worst they are compiled once more).
    pub async fn load<C: ConnectionTrait>(db: &C, org_id: Uuid) -> AppResult<OrgPolicy> {
        let version: i64 = orgs::Entity::find_by_id(org_id)
            .select_only()
            .column(orgs::Column::PolicyVersion)
            .into_tuple()
            .one(db)
            .await?
            .ok_or_else(AppError::not_found)?;
        let members = memberships::Entity::find()
            .filter(memberships::Column::OrgId.eq(org_id))
            .find_with_related(membership_roles::Entity)
            .all(db)
            .await?
            .into_iter()
            .map(|(membership, roles)| Member {
                user_id: membership.user_id,
                roles: roles.into_iter().map(|r| r.role).collect(),
                expires_at: membership.expires_at.map(|t| t.to_utc()),
            })
            .collect();
        let custom_roles = org_roles::Entity::find()
            .filter(org_roles::Column::OrgId.eq(org_id))
            .all(db)
            .await?
            .into_iter()
            .map(|role| (role.name, super::roles::decode(&role.permissions)))
            .collect();
        Ok(OrgPolicy {
            org_id,
            version,
            members,
            custom_roles,
        })
    }

    /// A casbin enforcer holding this policy as it stands at `now`: memberships
    /// that have ended are left out.
    pub async fn enforcer(&self, now: DateTime<Utc>) -> AppResult<Enforcer> {
        let domain = self.org_id.to_string();
        let model = DefaultModel::from_str(MODEL).await.map_err(casbin_error)?;
        let mut enforcer = Enforcer::new(model, MemoryAdapter::default())
            .await
            .map_err(casbin_error)?;
        let builtin = roles::BUILTIN.iter().map(|name| {
            (
                (*name).to_owned(),
                roles::builtin_grants(name).unwrap_or_default(),
            )
        });
        let mut rules = BTreeSet::new();
        for (role, grants) in builtin.chain(self.custom_roles.iter().cloned()) {
            for permission in grants {
                let (object, action) = object_action(permission);
                rules.insert(vec![
                    role_subject(&role),
                    domain.clone(),
                    object.to_owned(),
                    action.to_owned(),
                ]);
            }
        }
        let groupings: BTreeSet<Vec<String>> = self
            .members
            .iter()
            .filter(|m| m.expires_at.is_none_or(|until| until > now))
            .flat_map(|m| {
                m.roles
                    .iter()
                    .map(|role| vec![subject(m.user_id), role_subject(role), domain.clone()])
            })
            .collect();
        enforcer
            .add_policies(rules.into_iter().collect())
            .await
            .map_err(casbin_error)?;
        if !groupings.is_empty() {
            enforcer
                .add_grouping_policies(groupings.into_iter().collect())
                .await
                .map_err(casbin_error)?;
        }
        Ok(enforcer)
    }

    /// What each member may do, decided by the enforcer once per member.
    pub async fn compile(&self, now: DateTime<Utc>) -> AppResult<OrgGrants> {
        let enforcer = self.enforcer(now).await?;
        let domain = self.org_id.to_string();
        let members = self
            .members
            .iter()
            .map(|member| {
                let rules =
                    enforcer.get_implicit_permissions_for_user(&subject(member.user_id), Some(&domain));
                let granted = rules.iter().filter_map(|rule| permission_of(rule)).collect();
                (member.user_id, granted)
            })
            .collect();
        let valid_until = self
            .members
            .iter()
            .filter_map(|m| m.expires_at)
            .filter(|until| *until > now)
            .min();
        let roles = self
            .members
            .iter()
            .map(|member| {
                let mut roles = member.roles.clone();
                roles.sort_unstable();
                (member.user_id, roles)
            })
            .collect();
        Ok(OrgGrants {
            org_id: self.org_id,
            version: self.version,
            valid_until,
            members,
            roles,
        })
    }
}

/// An org's compiled decisions: what each member may do there.
#[derive(Debug, Clone)]
pub struct OrgGrants {
    org_id: Uuid,
    version: i64,
    /// When the earliest time-boxed membership ends; these grants expire with it.
    valid_until: Option<DateTime<Utc>>,
    members: HashMap<Uuid, PermissionSet>,
    /// The roles assigned to each member (ended memberships included), as the
    /// members list shows them.
    roles: HashMap<Uuid, Vec<String>>,
}

impl OrgGrants {
    pub fn org_id(&self) -> Uuid {
        self.org_id
    }

    pub fn version(&self) -> i64 {
        self.version
    }

    pub fn member_count(&self) -> usize {
        self.members.len()
    }

    /// Whether these grants answer for an org whose row shows `version` at `now`.
    pub fn is_current(&self, version: i64, now: DateTime<Utc>) -> bool {
        self.version >= version && self.valid_until.is_none_or(|until| until > now)
    }

    /// When the earliest time-boxed membership ends, and these grants with it.
    pub fn valid_until(&self) -> Option<DateTime<Utc>> {
        self.valid_until
    }

    /// What `user_id` may do in the org (nothing for non-members).
    pub fn of(&self, user_id: Uuid) -> PermissionSet {
        self.members.get(&user_id).copied().unwrap_or_default()
    }

    /// The roles assigned to `user_id`, if they were a member when these
    /// grants were compiled.
    pub fn roles_of(&self, user_id: Uuid) -> Option<&[String]> {
        self.roles.get(&user_id).map(Vec::as_slice)
    }

    /// The members who hold `permission` (say, the admins to tell about a change).
    pub fn holding(&self, permission: Permission) -> Vec<Uuid> {
        let mut holders: Vec<Uuid> = self
            .members
            .iter()
            .filter(|(_, granted)| granted.contains(permission))
            .map(|(user, _)| *user)
            .collect();
        holders.sort();
        holders
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap_or_default()
    }

    fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    const ROLE_POOL: [&str; 8] = [
        roles::OWNER,
        roles::ADMIN,
        roles::COMPLIANCE_MANAGER,
        roles::CONTRIBUTOR,
        roles::AUDITOR,
        "custom-a",
        "custom-b",
        "missing",
    ];

    fn policy_strategy() -> impl Strategy<Value = OrgPolicy> {
        let permissions = proptest::sample::subsequence(Permission::ALL.to_vec(), 0..=Permission::ALL.len());
        let custom = (permissions.clone(), permissions)
            .prop_map(|(a, b)| vec![("custom-a".to_owned(), a), ("custom-b".to_owned(), b)]);
        let member = (
            proptest::sample::subsequence(ROLE_POOL.to_vec(), 0..=3),
            proptest::option::of(-100i64..100),
        );
        (custom, proptest::collection::vec(member, 0..12)).prop_map(|(custom_roles, members)| OrgPolicy {
            org_id: Uuid::from_u128(7),
            version: 1,
            custom_roles,
            members: members
                .into_iter()
                .enumerate()
                .map(|(i, (roles, expiry))| Member {
                    user_id: Uuid::from_u128(i as u128 + 1),
                    roles: roles.into_iter().map(str::to_owned).collect(),
                    expires_at: expiry.map(at),
                })
                .collect(),
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The compiled grants answer exactly as casbin's own `enforce` does, for
        /// every member (and a stranger) and every permission.
        #[test]
        fn compiled_grants_agree_with_casbin_enforce(policy in policy_strategy()) {
            let now = at(0);
            let (grants, enforcer) = block_on(async {
                (policy.compile(now).await.unwrap(), policy.enforcer(now).await.unwrap())
            });
            let domain = policy.org_id.to_string();
            let users = policy.members.iter().map(|m| m.user_id).chain([Uuid::from_u128(999)]);
            for user in users {
                for permission in Permission::ALL {
                    let (object, action) = object_action(*permission);
                    let enforced = enforcer
                        .enforce((subject(user).as_str(), domain.as_str(), object, action))
                        .unwrap();
                    prop_assert_eq!(grants.of(user).contains(*permission), enforced, "{} {}", user, permission);
                }
            }
        }
    }

    fn member(n: u128, roles: &[&str], expires_at: Option<DateTime<Utc>>) -> Member {
        Member {
            user_id: Uuid::from_u128(n),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            expires_at,
        }
    }

    #[test]
    fn members_get_their_roles_grants_and_nobody_else_gets_anything() {
        let policy = OrgPolicy {
            org_id: Uuid::from_u128(1),
            version: 3,
            members: vec![
                member(10, &[roles::AUDITOR], None),
                member(11, &["evidence-only", roles::CONTRIBUTOR], None),
            ],
            custom_roles: vec![(
                "evidence-only".to_owned(),
                vec![Permission::EvidenceWrite, Permission::DataExport],
            )],
        };
        let grants = block_on(policy.compile(at(0))).unwrap();
        let auditor = grants.of(Uuid::from_u128(10));
        assert!(auditor.contains(Permission::AuditExport) && !auditor.contains(Permission::EvidenceWrite));
        let mixed = grants.of(Uuid::from_u128(11));
        assert!(mixed.contains(Permission::DataExport) && mixed.contains(Permission::ControlsRead));
        assert!(!mixed.contains(Permission::ControlsWrite));
        assert!(grants.of(Uuid::from_u128(12)).is_empty());
        assert!(grants.is_current(3, at(0)) && !grants.is_current(4, at(0)));
    }

    #[test]
    fn an_ended_membership_grants_nothing_and_the_grants_expire_with_the_next_one() {
        let policy = OrgPolicy {
            org_id: Uuid::from_u128(1),
            version: 1,
            members: vec![
                member(10, &[roles::AUDITOR], Some(at(-1))),
                member(11, &[roles::AUDITOR], Some(at(60))),
                member(12, &[roles::OWNER], None),
            ],
            custom_roles: vec![],
        };
        let grants = block_on(policy.compile(at(0))).unwrap();
        assert!(grants.of(Uuid::from_u128(10)).is_empty());
        assert!(grants.of(Uuid::from_u128(11)).contains(Permission::AuditRead));
        assert!(grants.is_current(1, at(59)));
        assert!(
            !grants.is_current(1, at(60)),
            "must be recompiled when auditor 11's membership ends"
        );
        let later = block_on(policy.compile(at(60))).unwrap();
        assert!(later.of(Uuid::from_u128(11)).is_empty());
        assert!(later.is_current(1, at(100_000)));
    }
}
