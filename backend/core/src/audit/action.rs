//! Every audited action, named `noun.verb`. This list is the one place they are
//! defined; docs/audit.md mirrors it and a test keeps the two equal.

macro_rules! actions {
    ($($variant:ident => $name:literal: $what:literal),+ $(,)?) => {
        /// Something the audit trail records.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Action {
            $(#[doc = $what] $variant,)+
        }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)+
                }
            }

            /// What the action records, for docs/audit.md.
            pub const fn describe(self) -> &'static str {
                match self {
                    $(Action::$variant => $what,)+
                }
            }
        }
    };
}

actions! {
    OrgCreated => "org.created": "an operator created the organization",
    OrgRenamed => "org.renamed": "the organization's name changed",
    OrgDeleted => "org.deleted": "the organization was deleted (purged after the grace period)",
    MemberRemoved => "member.removed": "a member was removed (their sessions revoked)",
    MemberRolesChanged => "member.roles_changed": "a member's roles or expiry changed",
    RoleCreated => "role.created": "a custom role was created",
    RoleUpdated => "role.updated": "a custom role's permissions changed",
    RoleDeleted => "role.deleted": "a custom role was deleted",
    InvitationSent => "invitation.sent": "an invitation was mailed",
    InvitationRevoked => "invitation.revoked": "an invitation was revoked",
    InvitationAccepted => "invitation.accepted": "an invitation was accepted",
    SignedIn => "auth.signed_in": "a member signed in (success) or failed to (failure, with a reason)",
    LockedOut => "auth.locked_out": "a member's account was locked after repeated failures",
    SignedOut => "auth.signed_out": "a member signed out",
    BackchannelLogout => "auth.backchannel_logout": "the org's identity provider signed a member out (back-channel logout); their sessions from it were revoked",
    SsoUpdated => "sso.updated": "the organization's SSO settings changed (never the client secret itself)",
    SsoDomainVerified => "sso.domain_verified": "an SSO email domain was proven (DNS TXT record, or an operator vouching); it now routes sign-ins",
    SsoDomainSuspended => "sso.domain_suspended": "a DNS-proven SSO domain's challenge record disappeared; it no longer routes sign-ins",
    IdentityLinked => "identity.linked": "a member linked an identity of the organization's IdP to their account, proving both",
    IdentityUnlinked => "identity.unlinked": "a member unlinked the organization's IdP identity from their account (the sessions it opened revoked)",
    ApiKeyCreated => "api_key.created": "an API key was created (its secret is never recorded)",
    ApiKeyRevoked => "api_key.revoked": "an API key was revoked",
    ApiKeyRotated => "api_key.rotated": "an API key was replaced by a new one; the old one works until the grace period ends",
    SessionRevoked => "session.revoked": "a session was revoked by its owner or an org admin",
    PasswordChanged => "password.changed": "a member changed their password (their other sessions revoked)",
    PasswordReset => "password.reset": "a member set a new password through a mailed reset link (every session revoked)",
    TotpEnabled => "totp.enabled": "a member turned on two-factor sign-in",
    TotpDisabled => "totp.disabled": "a member turned off two-factor sign-in",
    UserDisabled => "user.disabled": "an operator disabled the account (its sessions revoked)",
    ExportRequested => "export.requested": "an export of the organization's data was requested (written in the background)",
    ExportDownloaded => "export.downloaded": "an export of the organization's data was downloaded",
    PersonalDataExported => "user.data_exported": "a member downloaded everything Attest holds about them (GET /api/v1/me/export)",
    AccessDenied => "access.denied": "a request was refused for lack of a permission",
    FlagCreated => "flag.created": "a feature flag was created",
    FlagUpdated => "flag.updated": "a feature flag's definition changed (before and after recorded)",
    FlagToggled => "flag.toggled": "a feature flag was switched on or off",
    FlagDeleted => "flag.deleted": "a feature flag was deleted",
    FrameworkImported => "framework.imported": "a framework catalog was imported (OSCAL, CSV or the starter catalog) with its requirements",
    FrameworkDeleted => "framework.deleted": "a framework was deleted with its requirements and their control mappings",
    ControlCreated => "control.created": "a control was created",
    ControlUpdated => "control.updated": "a control changed (status, owner, mappings, tags, review; before and after recorded)",
    ControlDeleted => "control.deleted": "a control was deleted",
    EvidenceCreated => "evidence.created": "evidence was added (a note, a link, or an uploaded file by its SHA-256)",
    EvidenceUpdated => "evidence.updated": "evidence changed or was reviewed (before and after recorded)",
    EvidenceDeleted => "evidence.deleted": "evidence was deleted",
    PolicyCreated => "policy.created": "a policy was created as a draft",
    PolicyUpdated => "policy.updated": "a policy's title or working text changed (the text recorded by its SHA-256)",
    PolicyPublished => "policy.published": "a policy's text was approved and frozen as a new version",
    PolicyDeleted => "policy.deleted": "a policy was deleted with its versions and acknowledgments",
    PolicyAcknowledged => "policy.acknowledged": "a member acknowledged having read a policy's current version",
    StatusComponentCreated => "status_component.created": "an operator added a component to the status page",
    StatusComponentUpdated => "status_component.updated": "a status page component changed (name, group, order or status)",
    StatusComponentDeleted => "status_component.deleted": "a status page component was removed",
    StatusIncidentCreated => "status_incident.created": "an operator opened an incident on the status page",
    StatusIncidentUpdated => "status_incident.updated": "an incident got an update (status, message, component statuses)",
    StatusIncidentResolved => "status_incident.resolved": "an incident was resolved",
    StatusMaintenanceScheduled => "status_maintenance.scheduled": "an operator scheduled a maintenance",
    StatusMaintenanceUpdated => "status_maintenance.updated": "a scheduled maintenance changed",
    StatusMaintenanceDeleted => "status_maintenance.deleted": "a scheduled maintenance was removed",
    AuditExported => "audit.exported": "the audit trail was exported",
    AuditRetentionChanged => "audit.retention_changed": "the organization's audit retention period changed",
    AuditRetentionApplied => "audit.retention_applied": "events older than the retention period were deleted",
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Action;

    #[test]
    fn docs_audit_md_lists_exactly_these_actions() {
        let doc = include_str!("../../../../docs/audit.md");
        let listed: Vec<(&str, &str)> = doc
            .lines()
            .filter_map(|line| line.strip_prefix("| `"))
            .filter_map(|rest| rest.split_once("` | "))
            .map(|(name, what)| (name, what.trim_end_matches(" |")))
            .collect();
        let coded: Vec<(&str, &str)> = Action::ALL.iter().map(|a| (a.as_str(), a.describe())).collect();
        assert_eq!(listed, coded);
    }

    #[test]
    fn names_are_unique_noun_dot_verb() {
        let mut seen = std::collections::BTreeSet::new();
        for action in Action::ALL {
            let name = action.as_str();
            assert!(seen.insert(name), "{name} twice");
            let (noun, verb) = name.split_once('.').unwrap();
            assert!(
                !noun.is_empty() && !verb.is_empty() && !verb.contains('.'),
                "{name}"
            );
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_'),
                "{name}"
            );
        }
    }
}
