//! Retention: an org may keep its trail for a number of days (at least
//! [`MINIMUM_DAYS`]); a background job then deletes older events, only ever from
//! the start of the chain. Before deleting, it signs a checkpoint of the last
//! event it removes: the remaining chain's first `prev_hash` is anchored on that
//! signature, so the remainder still verifies and nobody can shorten it further
//! unnoticed. Each deletion is itself an event (`audit.retention_applied`).

use std::time::Duration;

use attest_shared::{error::FieldError, permissions::Permission};
use chrono::{DateTime, Utc};
use sea_orm::{
    sea_query::Expr, ColumnTrait as _, ConnectionTrait, EntityTrait as _, PaginatorTrait as _,
    QueryFilter as _, QueryOrder as _, QuerySelect as _,
};
use uuid::Uuid;

use super::{checkpoint, erasure, Action, Facts, Metadata, Record, Source};
use crate::{
    authz::OrgScope,
    clock,
    store::entities::{audit_events, audit_heads, orgs},
    AppError, AppResult, AppState,
};

/// The shortest retention an org may choose: a rogue admin cannot make the
/// trail of what they just did disappear sooner than this.
pub const MINIMUM_DAYS: i32 = 90;
/// The longest (a century); beyond it, keep everything (no retention).
pub const MAXIMUM_DAYS: i32 = 36_500;
/// How often the job runs.
pub const EVERY: Duration = Duration::from_secs(3600);

/// Sets how many days the org keeps its events (`None`: forever). Needs
/// `org:update`; audited with the old and new value.
pub async fn set(state: &AppState, scope: &OrgScope, days: Option<i32>) -> AppResult<Option<i32>> {
    scope.require(Permission::OrgUpdate)?;
    if let Some(days) = days.filter(|d| !(MINIMUM_DAYS..=MAXIMUM_DAYS).contains(d)) {
        return Err(AppError::validation(vec![FieldError {
            field: "days".into(),
            message: format!(
                "must be between {MINIMUM_DAYS} and {MAXIMUM_DAYS}, or null to keep every event (got {days})"
            ),
        }]));
    }
    let txn = state.begin().await?;
    let before = orgs::Entity::find_by_id(scope.org_id())
        .one(&txn)
        .await?
        .ok_or_else(AppError::not_found)?
        .audit_retention_days;
    if before != days {
        orgs::Entity::update_many()
            .col_expr(orgs::Column::AuditRetentionDays, Expr::value(days))
            .col_expr(orgs::Column::UpdatedAt, Expr::value(clock::now()))
            .filter(orgs::Column::Id.eq(scope.org_id()))
            .exec(&txn)
            .await?;
        let days_fact = |days: Option<i32>| Facts {
            retention_days: Some(days),
            ..Facts::default()
        };
        let change = Metadata::change(days_fact(before), days_fact(days));
        scope
            .audit(
                &txn,
                Record::of(Action::AuditRetentionChanged, "org", scope.org_id()).with(change),
            )
            .await?;
    }
    txn.commit().await?;
    Ok(days)
}

/// The org's retention (`None`: forever). Needs `audit:read`.
pub async fn get(scope: &OrgScope) -> AppResult<Option<i32>> {
    scope.require(Permission::AuditRead)?;
    Ok(scope.org().audit_retention_days)
}

/// What one run removed from one org's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub org_id: Uuid,
    pub events: u64,
    pub up_to_seq: i64,
}

/// Deletes, in every org with a retention, the events that occurred more than
/// its retention before `now`.
pub async fn apply(state: &AppState, now: DateTime<Utc>) -> AppResult<Vec<Applied>> {
    let orgs = orgs::Entity::find()
        .filter(orgs::Column::AuditRetentionDays.is_not_null())
        .filter(orgs::Column::DeletedAt.is_null())
        .all(&state.db)
        .await?;
    let key = checkpoint::CheckpointKey::derive(&state.key);
    let mut applied = Vec::new();
    for org in orgs {
        let Some(days) = org.audit_retention_days else {
            continue;
        };
        let cutoff = now - chrono::Duration::days(i64::from(days));
        if let Some(done) = apply_to(state, &key, org.id, cutoff).await? {
            tracing::info!(org_id = %done.org_id, events = done.events, up_to_seq = done.up_to_seq, "audit retention applied");
            applied.push(done);
        }
    }
    Ok(applied)
}

async fn apply_to(
    state: &AppState,
    key: &checkpoint::CheckpointKey,
    org_id: Uuid,
    cutoff: DateTime<Utc>,
) -> AppResult<Option<Applied>> {
    let txn = state.begin().await?;
    // Hold the chain head first, so appends and other instances' runs wait and
    // what is counted below is what is deleted.
    audit_heads::Entity::find_by_id(org_id)
        .lock_exclusive()
        .one(&txn)
        .await?;
    let last_expired = audit_events::Entity::find()
        .filter(audit_events::Column::OrgId.eq(org_id))
        .filter(audit_events::Column::OccurredAt.lt(cutoff.fixed_offset()))
        .order_by_desc(audit_events::Column::Seq)
        .one(&txn)
        .await?;
    let Some(last_expired) = last_expired else {
        return Ok(None);
    };
    let up_to_seq = last_expired.seq;
    let expired = audit_events::Entity::find()
        .filter(audit_events::Column::OrgId.eq(org_id))
        .filter(audit_events::Column::Seq.lte(up_to_seq))
        .count(&txn)
        .await?;
    checkpoint::sign(&txn, key, org_id, up_to_seq, &last_expired.hash).await?;
    let metadata = Metadata {
        events: Some(expired),
        up_to_seq: Some(up_to_seq),
        ..Metadata::default()
    };
    let record = Record::of(Action::AuditRetentionApplied, "org", org_id).with(metadata);
    super::append(&txn, org_id, &Source::system(), record).await?;
    erasure::permit(&txn, org_id, up_to_seq).await?;
    audit_events::Entity::delete_many()
        .filter(audit_events::Column::OrgId.eq(org_id))
        .filter(audit_events::Column::Seq.lte(up_to_seq))
        .exec(&txn)
        .await?;
    erasure::withdraw(&txn, org_id).await?;
    checkpoint::forget_before(&txn, org_id, up_to_seq).await?;
    txn.commit().await?;
    Ok(Some(Applied {
        org_id,
        events: expired,
        up_to_seq,
    }))
}

/// Applies retention every [`EVERY`] until the process ends.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(EVERY);
        loop {
            ticks.tick().await;
            if let Err(e) = apply(&state, Utc::now()).await {
                tracing::warn!(error = %e, "audit retention could not be applied");
            }
        }
    })
}

/// The first `seq` still stored for the org (1 until retention removed some).
pub async fn first_seq<C: ConnectionTrait>(db: &C, org_id: Uuid) -> AppResult<Option<i64>> {
    Ok(audit_events::Entity::find()
        .select_only()
        .column_as(audit_events::Column::Seq.min(), "first")
        .filter(audit_events::Column::OrgId.eq(org_id))
        .into_tuple::<Option<i64>>()
        .one(db)
        .await?
        .flatten())
}
