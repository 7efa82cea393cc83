//! Exports: the whole chain, oldest first, read a page at a time so memory stays
//! flat however long the chain is. Starting an export is itself audited.

use attest_shared::{audit::AuditEvent, permissions::Permission};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _};
use uuid::Uuid;

use super::{checkpoint::CheckpointKey, writer::event_of, Action, Metadata, Record};
use crate::{
    authz::OrgScope,
    store::entities::{audit_events, audit_heads},
    AppError, AppResult, AppState,
};

/// Events per page read from the database while streaming.
pub const PAGE: u64 = 1_000;

/// An export in progress: the org's events up to `up_to_seq`, the chain's head
/// when it started (its own `audit.exported` event comes after).
#[derive(Debug, Clone, Copy)]
pub struct Export {
    pub org_id: Uuid,
    pub up_to_seq: i64,
    /// How many events it holds (fewer than `up_to_seq` once retention applied).
    pub events: u64,
}

/// Checks the permission, fixes the export's extent and records it.
pub async fn begin(state: &AppState, scope: &OrgScope, format: &str) -> AppResult<Export> {
    scope.require(Permission::AuditExport)?;
    let txn = state.begin().await?;
    let head = audit_heads::Entity::find_by_id(scope.org_id())
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::internal("the org has no audit chain"))?;
    let first_seq = super::retention::first_seq(&txn, scope.org_id())
        .await?
        .unwrap_or(1);
    let events = u64::try_from(head.seq - first_seq + 1).unwrap_or_default();
    let metadata = Metadata {
        format: Some(format.to_owned()),
        events: Some(events),
        up_to_seq: Some(head.seq),
        ..Metadata::default()
    };
    scope
        .audit(
            &txn,
            Record::of(Action::AuditExported, "org", scope.org_id()).with(metadata),
        )
        .await?;
    // Every export leaves a signed checkpoint of the head it saw (its own event included).
    super::checkpoint::sign_head(&txn, &CheckpointKey::derive(&state.key), scope.org_id()).await?;
    txn.commit().await?;
    Ok(Export {
        org_id: scope.org_id(),
        up_to_seq: head.seq,
        events,
    })
}

impl Export {
    /// The next page after `after` (a `seq`; 0 to start), empty at the end.
    pub async fn page(&self, state: &AppState, after: i64) -> AppResult<Vec<AuditEvent>> {
        audit_events::Entity::find()
            .filter(audit_events::Column::OrgId.eq(self.org_id))
            .filter(audit_events::Column::Seq.gt(after))
            .filter(audit_events::Column::Seq.lte(self.up_to_seq))
            .order_by_asc(audit_events::Column::Seq)
            .limit(PAGE)
            .all(&state.db)
            .await?
            .into_iter()
            .map(event_of)
            .collect()
    }
}
