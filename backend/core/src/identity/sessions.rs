//! Server-side sessions.
//!
//! The browser holds a 256-bit random token; the database holds only its SHA-256.
//! A verified session is kept in memory under the credentials epoch
//! ([`super::verified`]), which every revocation moves, so a revoked or expired
//! session fails on its very next request on every instance.

use std::{collections::HashMap, sync::Arc, time::Duration};

use base64::Engine as _;
use sea_orm::{
    prelude::DateTimeWithTimeZone, ActiveModelTrait as _, ColumnTrait as _, Condition, EntityTrait as _,
    QueryFilter as _, QuerySelect as _, QueryTrait as _, Select, Set,
};
use uuid::Uuid;

use attest_shared::{api::Page, permissions::Permission};

use crate::{
    actor::Origin,
    audit::{self, Action, Record, Source},
    authz::OrgScope,
    clock,
    crypto::{random_token, sha256_hex},
    identity::verified::Epoch,
    store::{
        entities::{memberships, sessions, users},
        page::{self, PageRequest},
    },
    Actor, AppError, AppResult, AppState,
};

/// How a session was started. An SSO session remembers its IdP and the IdP's
/// session id, so the IdP's back-channel logout can end it.
#[derive(Debug, Clone, Copy)]
pub enum SignInMethod<'a> {
    Password,
    Sso { issuer: &'a str, sid: Option<&'a str> },
}

/// A session just created: the token is shown to the browser once and never stored.
pub struct NewSession {
    pub token: String,
    pub session: sessions::Model,
}

/// A live session and its user.
#[derive(Debug, Clone)]
pub struct LiveSession {
    pub session: sessions::Model,
    pub user: users::Model,
}

impl LiveSession {
    pub fn expires_at(&self, state: &AppState) -> DateTimeWithTimeZone {
        ends_at(&self.session, state.config.session_idle)
    }
}

/// When a session ends unless used again (idle) or at the latest (absolute).
pub fn ends_at(session: &sessions::Model, idle: Duration) -> DateTimeWithTimeZone {
    idle_deadline(session, idle).min(session.expires_at)
}

fn idle_deadline(session: &sessions::Model, idle: Duration) -> DateTimeWithTimeZone {
    clock::after(session.last_seen_at, idle)
}

/// How stale `last_seen_at` may get before it moves again: at most a minute,
/// and never more than an eighth of the idle timeout, so that with the batched
/// write that follows ([`super::activity::flush_interval`], another eighth)
/// activity reaches the database within a quarter of it.
fn touch_interval(idle: Duration) -> Duration {
    (idle / 8).min(Duration::from_secs(60))
}

/// Starts a session for `user_id`: a fresh token every time (no fixation).
/// Inserts it in `db`'s transaction (the sign-in's, with its audit event).
pub async fn create<C: sea_orm::ConnectionTrait>(
    state: &AppState,
    db: &C,
    user_id: Uuid,
    method: SignInMethod<'_>,
    client: &Origin,
) -> AppResult<NewSession> {
    let (method, idp_issuer, idp_sid) = match method {
        SignInMethod::Password => ("password", None, None),
        SignInMethod::Sso { issuer, sid } => ("sso", Some(issuer.to_owned()), sid.map(str::to_owned)),
    };
    let token = random_token();
    let now = clock::now();
    let session = sessions::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        token_hash: Set(sha256_hex(token.as_bytes())),
        auth_method: Set(method.to_owned()),
        idp_issuer: Set(idp_issuer),
        idp_sid: Set(idp_sid),
        ip: Set(client.ip.clone()),
        user_agent: Set(client.user_agent.clone()),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(clock::after(now, state.config.session_max)),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(NewSession { token, session })
}

/// The live session a token names, or `None` when it is unknown, revoked,
/// expired, or its user is disabled. Records activity (throttled).
pub async fn authenticate(
    state: &AppState,
    epoch: Epoch,
    token: &str,
) -> AppResult<Option<Arc<LiveSession>>> {
    let hash = sha256_hex(token.as_bytes());
    let now = clock::now();
    let (live, verified_now) = match state.verified.session(&hash, epoch, now.to_utc()) {
        Some(live) => (live, false),
        None => match verify(state, &hash, now).await? {
            Some(live) => (Arc::new(live), true),
            None => return Ok(None),
        },
    };
    let stale = clock::after(
        live.session.last_seen_at,
        touch_interval(state.config.session_idle),
    ) <= now;
    let live = if stale {
        // Written by the activity flusher, off the request path.
        state.activity.session_seen(live.session.id, now);
        Arc::new(LiveSession {
            session: sessions::Model {
                last_seen_at: now,
                ..live.session.clone()
            },
            user: live.user.clone(),
        })
    } else {
        live
    };
    // Remembered when verified, and again when a touch moved the idle deadline.
    if verified_now || stale {
        let ends = live.expires_at(state).to_utc();
        state.verified.remember_session(hash, epoch, ends, live.clone());
    }
    Ok(Some(live))
}

/// Looks the session up by its token's hash: live, with its user, or `None`.
async fn verify(state: &AppState, hash: &str, now: DateTimeWithTimeZone) -> AppResult<Option<LiveSession>> {
    let found = sessions::Entity::find()
        .filter(sessions::Column::TokenHash.eq(hash))
        .find_also_related(users::Entity)
        .one(&state.db)
        .await?;
    let Some((mut session, Some(user))) = found else {
        return Ok(None);
    };
    // Activity this instance saw and has not written yet still counts.
    if let Some(seen) = state.activity.session_seen_at(session.id) {
        session.last_seen_at = session.last_seen_at.max(seen);
    }
    let live = session.revoked_at.is_none()
        && session.expires_at > now
        && idle_deadline(&session, state.config.session_idle) > now
        && user.disabled_at.is_none();
    Ok(live.then_some(LiveSession { session, user }))
}

/// The CSRF token of a session: a MAC of its id under the server key, so it needs
/// no storage and cannot be computed without the key.
pub fn csrf_token(state: &AppState, session_id: Uuid) -> String {
    let mac = state.key.mac("csrf-token", session_id.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac)
}

/// A page of the user's live sessions, newest first.
pub async fn list_live(
    state: &AppState,
    user_id: Uuid,
    page: &PageRequest,
) -> AppResult<Page<sessions::Model>> {
    let query = live(state).filter(sessions::Column::UserId.eq(user_id));
    page.load(&state.db, page::descending(query, sessions::Column::Id), |s| s.id)
        .await
}

/// Ends the actor's current session (sign-out).
pub async fn sign_out(state: &AppState, actor: &Actor, session: sessions::Model) -> AppResult<()> {
    let record = Record::of(Action::SignedOut, "session", session.id);
    revoke(state, session, Trail::UserOrgs(actor), record).await
}

/// Revokes one of the actor's own sessions; another user's session is `404`.
pub async fn revoke_own(state: &AppState, actor: &Actor, session_id: Uuid) -> AppResult<()> {
    let session = sessions::Entity::find_by_id(session_id)
        .filter(sessions::Column::UserId.eq(actor.user_id()))
        .one(&state.db)
        .await?
        .ok_or_else(AppError::not_found)?;
    let record = Record::of(Action::SessionRevoked, "session", session_id);
    revoke(state, session, Trail::UserOrgs(actor), record).await
}

/// Which chains a revocation is recorded in.
enum Trail<'a> {
    /// The actor's own session: every org they belong to.
    UserOrgs(&'a Actor),
    /// An org admin's revocation: that org.
    Org(&'a OrgScope),
}

/// Revokes a session now and records it; revoking twice is harmless and
/// records nothing.
async fn revoke(
    state: &AppState,
    session: sessions::Model,
    trail: Trail<'_>,
    record: Record,
) -> AppResult<()> {
    if session.revoked_at.is_some() {
        return Ok(());
    }
    let txn = state.begin().await?;
    let mut active: sessions::ActiveModel = session.into();
    active.revoked_at = Set(Some(clock::now()));
    active.update(&txn).await?;
    match trail {
        Trail::UserOrgs(actor) => {
            audit::append_for_user(&txn, actor.user_id(), &Source::of(actor), record).await?;
        }
        Trail::Org(scope) => {
            scope.audit(&txn, record).await?;
        }
    }
    txn.commit().await?;
    Ok(())
}

/// Revokes every live session of a user (inside the caller's transaction);
/// returns how many there were.
pub async fn revoke_all_of<C: sea_orm::ConnectionTrait>(db: &C, user_id: Uuid) -> AppResult<u64> {
    revoke_matching(db, Condition::all().add(sessions::Column::UserId.eq(user_id))).await
}

/// Revokes every live session of a user but `keep` (inside the caller's
/// transaction); returns how many there were.
pub async fn revoke_others_of<C: sea_orm::ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    keep: Uuid,
) -> AppResult<u64> {
    let which = Condition::all()
        .add(sessions::Column::UserId.eq(user_id))
        .add(sessions::Column::Id.ne(keep));
    revoke_matching(db, which).await
}

/// Revokes the live sessions an IdP started (inside the caller's transaction):
/// those of `user`, of the IdP's session `sid`, or both; returns how many.
pub async fn revoke_from_idp<C: sea_orm::ConnectionTrait>(
    db: &C,
    issuer: &str,
    user: Option<Uuid>,
    sid: Option<&str>,
) -> AppResult<u64> {
    let mut which = Condition::all().add(sessions::Column::IdpIssuer.eq(issuer));
    if let Some(user) = user {
        which = which.add(sessions::Column::UserId.eq(user));
    }
    if let Some(sid) = sid {
        which = which.add(sessions::Column::IdpSid.eq(sid));
    }
    revoke_matching(db, which).await
}

async fn revoke_matching<C: sea_orm::ConnectionTrait>(db: &C, which: Condition) -> AppResult<u64> {
    Ok(sessions::Entity::update_many()
        .col_expr(
            sessions::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(clock::now()),
        )
        .filter(which)
        .filter(sessions::Column::RevokedAt.is_null())
        .exec(db)
        .await?
        .rows_affected)
}

/// A page of the live sessions of the org's members, newest first.
pub async fn list_for_org(
    state: &AppState,
    scope: &OrgScope,
    page: &PageRequest,
) -> AppResult<Page<(sessions::Model, users::Model)>> {
    scope.require(Permission::SessionsRead)?;
    let members = memberships::Entity::find()
        .select_only()
        .column(memberships::Column::UserId)
        .filter(memberships::Column::OrgId.eq(scope.org_id()))
        .into_query();
    let query = live(state).filter(sessions::Column::UserId.in_subquery(members));
    let sessions = page
        .load(&state.db, page::descending(query, sessions::Column::Id), |s| s.id)
        .await?;
    let user_ids: Vec<Uuid> = sessions.items.iter().map(|s| s.user_id).collect();
    let users: HashMap<Uuid, users::Model> = users::Entity::find()
        .filter(users::Column::Id.is_in(user_ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|user| (user.id, user))
        .collect();
    Ok(Page {
        next_cursor: sessions.next_cursor,
        items: sessions
            .items
            .into_iter()
            .filter_map(|session| {
                let user = users.get(&session.user_id)?.clone();
                Some((session, user))
            })
            .collect(),
    })
}

/// Sessions neither revoked, nor past their end, nor idle too long.
fn live(state: &AppState) -> Select<sessions::Entity> {
    let now = clock::now();
    sessions::Entity::find()
        .filter(sessions::Column::RevokedAt.is_null())
        .filter(sessions::Column::ExpiresAt.gt(now))
        .filter(sessions::Column::LastSeenAt.gt(clock::before(now, state.config.session_idle)))
}

/// Revokes a member's session; a session of someone outside the org is `404`.
pub async fn revoke_in_org(state: &AppState, scope: &OrgScope, session_id: Uuid) -> AppResult<()> {
    scope.require(Permission::SessionsRevoke)?;
    let member_ids = member_ids(state, scope).await?;
    let session = sessions::Entity::find_by_id(session_id)
        .filter(sessions::Column::UserId.is_in(member_ids))
        .one(&state.db)
        .await?
        .ok_or_else(AppError::not_found)?;
    let record = Record::of(Action::SessionRevoked, "session", session_id);
    revoke(state, session, Trail::Org(scope), record).await
}

async fn member_ids(state: &AppState, scope: &OrgScope) -> AppResult<Vec<Uuid>> {
    Ok(memberships::Entity::find()
        .filter(memberships::Column::OrgId.eq(scope.org_id()))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|m| m.user_id)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_is_recorded_often_enough_for_any_idle_timeout() {
        for idle in [1, 2, 60, 1800, 3600].map(Duration::from_secs) {
            let lag = touch_interval(idle) + crate::identity::activity::flush_interval(idle);
            assert!(lag <= idle / 4, "{idle:?}: {lag:?}");
        }
        assert_eq!(touch_interval(Duration::from_secs(3600)), Duration::from_secs(60));
        assert_eq!(touch_interval(Duration::from_secs(1)), Duration::from_millis(125));
    }
}
