//! Reading an org's trail: filtered, newest first, a page at a time.

use attest_shared::{
    audit::{AuditEvent, SignedCheckpoint},
    error::FieldError,
    permissions::Permission,
};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _};
use uuid::Uuid;

use super::{verify::Verification, writer::event_of};
use crate::{
    authz::OrgScope,
    store::entities::{audit_checkpoints, audit_events},
    AppError, AppResult, AppState,
};

/// The list route's filters (CONTRACT.md); all optional, all combined.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub action: Option<String>,
    pub actor_id: Option<Uuid>,
    pub target_id: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// Events before `cursor` (a `seq`, from the previous page), newest first, and
/// the cursor of the next page if there is one. Each filter has an index that
/// keeps `seq` order, so a page costs the same at any depth.
pub async fn list(
    state: &AppState,
    scope: &OrgScope,
    filter: &Filter,
    cursor: Option<&str>,
    limit: u64,
) -> AppResult<(Vec<AuditEvent>, Option<String>)> {
    scope.require(Permission::AuditRead)?;
    let mut query = audit_events::Entity::find().filter(audit_events::Column::OrgId.eq(scope.org_id()));
    if let Some(before) = cursor.map(parse_cursor).transpose()? {
        query = query.filter(audit_events::Column::Seq.lt(before));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_events::Column::Action.eq(action.as_str()));
    }
    if let Some(actor_id) = filter.actor_id {
        query = query.filter(audit_events::Column::ActorId.eq(actor_id));
    }
    if let Some(target_id) = &filter.target_id {
        query = query.filter(audit_events::Column::TargetId.eq(target_id.as_str()));
    }
    if let Some(since) = filter.since {
        query = query.filter(audit_events::Column::OccurredAt.gte(since.fixed_offset()));
    }
    if let Some(until) = filter.until {
        query = query.filter(audit_events::Column::OccurredAt.lt(until.fixed_offset()));
    }
    let mut rows = query
        .order_by_desc(audit_events::Column::Seq)
        .limit(limit + 1)
        .all(&state.db)
        .await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next = more.then(|| rows.last().map(|r| r.seq.to_string())).flatten();
    let events = rows.into_iter().map(event_of).collect::<AppResult<Vec<_>>>()?;
    Ok((events, next))
}

fn parse_cursor(cursor: &str) -> AppResult<i64> {
    cursor.parse().map_err(|_| {
        AppError::validation(vec![FieldError {
            field: "cursor".into(),
            message: "is not a cursor this list gave out".into(),
        }])
    })
}

/// Recomputes the org's chain (`GET …/audit-events/verify`).
pub async fn verify(state: &AppState, scope: &OrgScope) -> AppResult<Verification> {
    scope.require(Permission::AuditRead)?;
    let key = super::checkpoint::CheckpointKey::derive(&state.key).public();
    super::verify::verify(&state.db, &key, scope.org_id()).await
}

/// The org's signed checkpoints, oldest first (`GET …/audit-events/checkpoints`):
/// with an export and the published key, everything an auditor needs.
pub async fn checkpoints(state: &AppState, scope: &OrgScope) -> AppResult<Vec<SignedCheckpoint>> {
    scope.require(Permission::AuditRead)?;
    Ok(audit_checkpoints::Entity::find()
        .filter(audit_checkpoints::Column::OrgId.eq(scope.org_id()))
        .order_by_asc(audit_checkpoints::Column::Seq)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|row| SignedCheckpoint {
            org_id: row.org_id,
            seq: row.seq,
            hash: row.hash,
            signed_at: row.signed_at.to_utc(),
            signature: row.signature,
        })
        .collect())
}
