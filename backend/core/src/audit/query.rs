//! Reading an org's trail: filtered, newest first, a page at a time.

use attest_shared::{
    api::Page,
    audit::{AuditEvent, SignedCheckpoint},
    permissions::Permission,
};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
use uuid::Uuid;

use super::{verify::Verification, writer::event_of};
use crate::{
    authz::OrgScope,
    store::{
        entities::{audit_checkpoints, audit_events},
        page::{self, PageRequest},
    },
    AppResult, AppState,
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

/// A page of events, newest first: each page starts below the previous page's
/// last `seq`. Each filter has an index that keeps `seq` order, so a page costs
/// the same at any depth.
pub async fn list(
    state: &AppState,
    scope: &OrgScope,
    filter: &Filter,
    page: &PageRequest,
) -> AppResult<Page<AuditEvent>> {
    scope.require(Permission::AuditRead)?;
    let mut query = audit_events::Entity::find().filter(audit_events::Column::OrgId.eq(scope.org_id()));
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
    let newest_first = page::descending(query, audit_events::Column::Seq);
    let rows = page.load(&state.db, newest_first, |row| row.seq).await?;
    Ok(Page {
        next_cursor: rows.next_cursor,
        items: rows
            .items
            .into_iter()
            .map(event_of)
            .collect::<AppResult<Vec<_>>>()?,
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
pub async fn checkpoints(
    state: &AppState,
    scope: &OrgScope,
    page: &PageRequest,
) -> AppResult<Page<SignedCheckpoint>> {
    scope.require(Permission::AuditRead)?;
    let oldest_first = audit_checkpoints::Entity::find()
        .filter(audit_checkpoints::Column::OrgId.eq(scope.org_id()))
        .cursor_by(audit_checkpoints::Column::Seq);
    let rows = page.load(&state.db, oldest_first, |row| row.seq).await?;
    Ok(rows.map(|row| SignedCheckpoint {
        org_id: row.org_id,
        seq: row.seq,
        hash: row.hash,
        signed_at: row.signed_at.to_utc(),
        signature: row.signature,
    }))
}
