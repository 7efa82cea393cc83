//! The built-in roles of CONTRACT.md and the permissions each grants.

use crate::permissions::Permission::{self, *};

pub const OWNER: &str = "owner";
pub const ADMIN: &str = "admin";
pub const COMPLIANCE_MANAGER: &str = "compliance_manager";
pub const CONTRIBUTOR: &str = "contributor";
pub const AUDITOR: &str = "auditor";

pub const BUILTIN: [&str; 5] = [OWNER, ADMIN, COMPLIANCE_MANAGER, CONTRIBUTOR, AUDITOR];

/// The platform role of `attest admin create` users, in the `platform` domain: it
/// lets operators see every org, and do nothing in one unless they are members.
pub const OPERATOR: &str = "operator";
pub const OPERATOR_GRANTS: &[Permission] = &[OrgRead];

const COMPLIANCE_MANAGER_GRANTS: &[Permission] = &[
    OrgRead,
    MembersRead,
    ControlsRead,
    ControlsWrite,
    EvidenceRead,
    EvidenceWrite,
    PoliciesRead,
    PoliciesWrite,
    AuditRead,
    AuditExport,
    FlagsRead,
    DataExport,
];
const CONTRIBUTOR_GRANTS: &[Permission] = &[OrgRead, ControlsRead, PoliciesRead, EvidenceRead, EvidenceWrite];
const AUDITOR_GRANTS: &[Permission] = &[
    OrgRead,
    ControlsRead,
    EvidenceRead,
    PoliciesRead,
    AuditRead,
    AuditExport,
];

/// What a built-in role grants, or `None` for a name that is not built in.
pub fn builtin_grants(role: &str) -> Option<Vec<Permission>> {
    match role {
        OWNER => Some(Permission::ALL.to_vec()),
        ADMIN => Some(
            Permission::ALL
                .iter()
                .copied()
                .filter(|p| *p != OrgDelete)
                .collect(),
        ),
        COMPLIANCE_MANAGER => Some(COMPLIANCE_MANAGER_GRANTS.to_vec()),
        CONTRIBUTOR => Some(CONTRIBUTOR_GRANTS.to_vec()),
        AUDITOR => Some(AUDITOR_GRANTS.to_vec()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_roles_grant_what_the_contract_lists() {
        assert_eq!(builtin_grants(OWNER).unwrap().len(), 22);
        assert!(!builtin_grants(ADMIN).unwrap().contains(&OrgDelete));
        assert_eq!(builtin_grants(ADMIN).unwrap().len(), 21);
        let auditor = builtin_grants(AUDITOR).unwrap();
        assert!(auditor.contains(&AuditExport) && !auditor.contains(&EvidenceWrite));
        let contributor = builtin_grants(CONTRIBUTOR).unwrap();
        assert!(contributor.contains(&EvidenceWrite) && !contributor.contains(&ControlsWrite));
        assert!(builtin_grants("custom").is_none());
    }
}
