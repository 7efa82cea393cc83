//! Everything Attest holds about the signed-in person: the account, its
//! memberships, sessions, linked identities, the API keys it created, its
//! policy acknowledgments, and every audit event it performed or that names
//! it. Secrets stay out (password and TOTP material, token and key hashes);
//! only their existence is told.
//!
//! The small parts are read at once; audit events, which can be many, are read
//! in pages while the answer streams.

use attest_shared::audit::AuditEvent;
use sea_orm::{
    ColumnTrait as _, Condition, EntityTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _,
};
use uuid::Uuid;

use crate::{
    audit::{self, writer::event_of, Action, Record, Source},
    store::entities::{
        api_keys, memberships, orgs, policy_acknowledgments, sessions, user_identities, users,
    },
    tenancy, Actor, AppError, AppResult, AppState, ErrorKind,
};

/// Audit events read per page.
pub const EVENTS_PAGE: u64 = 500;

/// What is held about the person, apart from audit events.
pub struct Holdings {
    pub user: users::Model,
    /// Each org with the person's roles there and when they joined.
    pub memberships: Vec<(orgs::Model, Vec<String>, chrono::DateTime<chrono::Utc>)>,
    /// Every session, live or ended: each holds an address and a user agent.
    pub sessions: Vec<sessions::Model>,
    pub identities: Vec<(user_identities::Model, Option<orgs::Model>)>,
    pub api_keys: Vec<api_keys::Model>,
    pub acknowledgments: Vec<policy_acknowledgments::Model>,
}

/// Starts an export for the signed-in person (an API key is not a person:
/// `403`), recording it in every org they belong to.
pub async fn holdings(state: &AppState, actor: &Actor) -> AppResult<Holdings> {
    if actor.key().is_some() {
        return Err(AppError::new(
            ErrorKind::Forbidden,
            "an API key holds no personal data: sign in to export yours",
        ));
    }
    let user_id = actor.user_id();
    let joined: std::collections::HashMap<Uuid, chrono::DateTime<chrono::Utc>> = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user_id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|m| (m.org_id, m.joined_at.to_utc()))
        .collect();
    let memberships = tenancy::orgs::memberships_of(state, user_id)
        .await?
        .into_iter()
        .map(|(org, roles)| {
            let since = joined.get(&org.id).copied().unwrap_or_default();
            (org, roles, since)
        })
        .collect();
    let holdings = Holdings {
        user: actor.user.clone(),
        memberships,
        sessions: sessions::Entity::find()
            .filter(sessions::Column::UserId.eq(user_id))
            .order_by_asc(sessions::Column::CreatedAt)
            .all(&state.db)
            .await?,
        identities: user_identities::Entity::find()
            .filter(user_identities::Column::UserId.eq(user_id))
            .find_also_related(orgs::Entity)
            .all(&state.db)
            .await?,
        api_keys: api_keys::Entity::find()
            .filter(api_keys::Column::CreatedBy.eq(user_id))
            .order_by_asc(api_keys::Column::Id)
            .all(&state.db)
            .await?,
        acknowledgments: policy_acknowledgments::Entity::find()
            .filter(policy_acknowledgments::Column::UserId.eq(user_id))
            .all(&state.db)
            .await?,
    };
    let txn = state.begin().await?;
    let record = Record::of(Action::PersonalDataExported, "user", user_id);
    audit::append_for_user(&txn, user_id, &Source::of(actor), record).await?;
    txn.commit().await?;
    Ok(holdings)
}

/// The next page of audit events the person performed or that name them, in
/// every org's chain, after the event `after` (in the order events were made).
pub async fn events_after(
    state: &AppState,
    user_id: Uuid,
    after: Option<Uuid>,
) -> AppResult<Vec<AuditEvent>> {
    use crate::store::entities::audit_events;
    let mut query = audit_events::Entity::find()
        .filter(
            Condition::any()
                .add(audit_events::Column::ActorId.eq(user_id))
                .add(audit_events::Column::TargetId.eq(user_id.to_string())),
        )
        .order_by_asc(audit_events::Column::Id)
        .limit(EVENTS_PAGE);
    if let Some(after) = after {
        query = query.filter(audit_events::Column::Id.gt(after));
    }
    query.all(&state.db).await?.into_iter().map(event_of).collect()
}
