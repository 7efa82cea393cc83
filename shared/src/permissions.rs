//! The permission names of CONTRACT.md, defined once. Roles are sets of these.

use serde::{Deserialize, Serialize};

macro_rules! permissions {
    ($($variant:ident => $name:literal),+ $(,)?) => {
        /// One thing an actor may do inside an organization.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Permission {
            $(#[serde(rename = $name)] $variant,)+
        }

        impl Permission {
            pub const ALL: &'static [Permission] = &[$(Permission::$variant),+];

            /// The contract's name, e.g. `members:manage`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Permission::$variant => $name,)+
                }
            }

            pub fn parse(name: &str) -> Option<Permission> {
                match name {
                    $($name => Some(Permission::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

permissions! {
    OrgRead => "org:read",
    OrgUpdate => "org:update",
    OrgDelete => "org:delete",
    MembersRead => "members:read",
    MembersManage => "members:manage",
    RolesManage => "roles:manage",
    SsoManage => "sso:manage",
    SessionsRead => "sessions:read",
    SessionsRevoke => "sessions:revoke",
    ApiKeysRead => "api_keys:read",
    ApiKeysManage => "api_keys:manage",
    AuditRead => "audit:read",
    AuditExport => "audit:export",
    FlagsRead => "flags:read",
    FlagsManage => "flags:manage",
    ControlsRead => "controls:read",
    ControlsWrite => "controls:write",
    EvidenceRead => "evidence:read",
    EvidenceWrite => "evidence:write",
    PoliciesRead => "policies:read",
    PoliciesWrite => "policies:write",
    DataExport => "data:export",
}

/// Written by hand: the derive cannot see the names through the macro above.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Permission {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .enum_values(Some(Permission::ALL.iter().map(|p| p.as_str())))
            .examples([Permission::OrgRead.as_str()])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Permission {}

impl Permission {
    /// Its bit in a [`PermissionSet`].
    const fn bit(self) -> u32 {
        1 << self as u32
    }
}

// A `PermissionSet` is one `u32`.
const _: () = assert!(Permission::ALL.len() <= 32);

/// A set of permissions in one machine word: what an actor may do in an org.
/// Membership tests and unions are single instructions, which keeps authorization
/// decisions on the request path cheap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PermissionSet(u32);

impl PermissionSet {
    pub const EMPTY: PermissionSet = PermissionSet(0);

    pub const fn contains(self, permission: Permission) -> bool {
        self.0 & permission.bit() != 0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub const fn union(self, other: PermissionSet) -> PermissionSet {
        PermissionSet(self.0 | other.0)
    }

    pub const fn intersection(self, other: PermissionSet) -> PermissionSet {
        PermissionSet(self.0 & other.0)
    }

    pub fn insert(&mut self, permission: Permission) {
        self.0 |= permission.bit();
    }

    /// The permissions in the set, in declaration order.
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL.iter().copied().filter(move |p| self.contains(*p))
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        let mut set = PermissionSet::EMPTY;
        set.extend(iter);
        set
    }
}

impl Extend<Permission> for PermissionSet {
    fn extend<I: IntoIterator<Item = Permission>>(&mut self, iter: I) {
        for permission in iter {
            self.insert(permission);
        }
    }
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::{Permission, PermissionSet};

    #[test]
    fn names_round_trip_and_serialize_as_the_contract_spells_them() {
        assert_eq!(Permission::ALL.len(), 22);
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(*p));
            assert_eq!(serde_json::to_string(p).unwrap(), format!("\"{}\"", p.as_str()));
        }
        assert_eq!(Permission::parse("members:delete"), None);
    }

    #[test]
    fn a_permission_set_holds_exactly_what_was_put_in() {
        let set: PermissionSet = [Permission::OrgRead, Permission::DataExport]
            .into_iter()
            .collect();
        assert!(set.contains(Permission::OrgRead) && set.contains(Permission::DataExport));
        assert!(!set.contains(Permission::OrgDelete));
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [Permission::OrgRead, Permission::DataExport]
        );
        let all: PermissionSet = Permission::ALL.iter().copied().collect();
        assert_eq!(all.iter().count(), Permission::ALL.len());
        assert_eq!(set.union(all), all);
        assert!(PermissionSet::EMPTY.is_empty() && !set.is_empty());
    }
}
