//! From domain models to the API's response shapes (`attest_shared::api`).

use attest_core::{
    identity::sessions::{self as session_service, LiveSession},
    store::entities::{orgs, sessions, users},
    AppState,
};
use attest_shared::api::{OrgRef, OrgView, SessionStatus, SessionView, UserView};
use chrono::Utc;

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
