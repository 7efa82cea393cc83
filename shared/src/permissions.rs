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

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Permission;

    #[test]
    fn names_round_trip_and_serialize_as_the_contract_spells_them() {
        assert_eq!(Permission::ALL.len(), 22);
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(*p));
            assert_eq!(serde_json::to_string(p).unwrap(), format!("\"{}\"", p.as_str()));
        }
        assert_eq!(Permission::parse("members:delete"), None);
    }
}
