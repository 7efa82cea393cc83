//! From domain models to the API's response shapes (`attest_shared::api`).

use attest_core::{
    identity::sessions::{self as session_service, LiveSession},
    privacy::export::Holdings,
    store::entities::{api_keys, orgs, sessions, user_identities, users},
    AppState,
};
use attest_shared::{
    api::{ApiKeyView, LinkedIdentity, OrgRef, OrgView, SessionStatus, SessionView, UserView},
    privacy::{PersonalAcknowledgment, PersonalData, PersonalMembership, PersonalProfile},
};
use chrono::Utc;
use uuid::Uuid;

/// Who is signed in, with the session's CSRF token: `GET /auth/session`, and
/// what a server-rendered console page knows of its visitor.
pub fn session_status(state: &AppState, live: &LiveSession) -> SessionStatus {
    SessionStatus {
        user: user(&live.user),
        csrf_token: session_service::csrf_token(state, live.session.id),
        expires_at: live.expires_at(state).with_timezone(&Utc),
    }
}

pub fn user(u: &users::Model) -> UserView {
    UserView {
        id: u.id,
        email: u.email.clone(),
        name: u.name.clone(),
        is_operator: u.is_operator,
    }
}

pub fn org(o: &orgs::Model) -> OrgView {
    OrgView {
        id: o.id,
        slug: o.slug.clone(),
        name: o.name.clone(),
        version: o.version,
        created_at: o.created_at.with_timezone(&Utc),
        updated_at: o.updated_at.with_timezone(&Utc),
    }
}

pub fn org_ref(o: &orgs::Model) -> OrgRef {
    OrgRef {
        id: o.id,
        slug: o.slug.clone(),
        name: o.name.clone(),
    }
}

pub fn session(
    s: &sessions::Model,
    expires_at: chrono::DateTime<chrono::FixedOffset>,
    current: bool,
) -> SessionView {
    SessionView {
        id: s.id,
        created_at: s.created_at.with_timezone(&Utc),
        last_seen_at: s.last_seen_at.with_timezone(&Utc),
        expires_at: expires_at.with_timezone(&Utc),
        ip: s.ip.clone(),
        user_agent: s.user_agent.clone(),
        current,
    }
}

/// An API key as listed: never its secret.
pub fn api_key(key: &api_keys::Model) -> ApiKeyView {
    ApiKeyView {
        id: key.id,
        name: key.name.clone(),
        prefix: attest_core::identity::api_keys::prefix(key),
        permissions: attest_core::identity::api_keys::permissions(key),
        created_at: key.created_at.with_timezone(&Utc),
        expires_at: key.expires_at.map(|t| t.with_timezone(&Utc)),
        last_used_at: key.last_used_at.map(|t| t.with_timezone(&Utc)),
        created_by: key.created_by,
    }
}

pub fn linked_identity(identity: &user_identities::Model, org: &orgs::Model) -> LinkedIdentity {
    LinkedIdentity {
        issuer: identity.issuer.clone(),
        org: org_ref(org),
        created_at: identity.created_at.to_utc(),
        last_signed_in_at: identity.last_signed_in_at.to_utc(),
    }
}

/// What an export says about the person (its audit events follow, streamed).
pub fn personal_data(state: &AppState, held: &Holdings, current_session: Uuid) -> PersonalData {
    let user = &held.user;
    PersonalData {
        exported_at: Utc::now(),
        user: PersonalProfile {
            id: user.id,
            email: user.email.clone(),
            name: user.name.clone(),
            is_operator: user.is_operator,
            has_password: user.password_hash.is_some(),
            totp_enabled: user.totp_enabled_at.is_some(),
            created_at: user.created_at.to_utc(),
            disabled_at: user.disabled_at.map(|t| t.to_utc()),
        },
        memberships: held
            .memberships
            .iter()
            .map(|(org, roles, joined_at)| PersonalMembership {
                org: org_ref(org),
                roles: roles.clone(),
                joined_at: *joined_at,
            })
            .collect(),
        sessions: held
            .sessions
            .iter()
            .map(|s| {
                let ends = session_service::ends_at(s, state.config.session_idle);
                session(s, ends, s.id == current_session)
            })
            .collect(),
        identities: held
            .identities
            .iter()
            .filter_map(|(identity, org)| Some(linked_identity(identity, org.as_ref()?)))
            .collect(),
        api_keys: held.api_keys.iter().map(api_key).collect(),
        policy_acknowledgments: held
            .acknowledgments
            .iter()
            .map(|a| PersonalAcknowledgment {
                policy_id: a.policy_id,
                org_id: a.org_id,
                version: a.version,
                acknowledged_at: a.acknowledged_at.to_utc(),
            })
            .collect(),
        audit_events: Vec::new(),
    }
}
