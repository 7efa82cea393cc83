//! Appending to an org's chain, inside the caller's transaction.

use attest_shared::audit::{ActorKind, AuditActor, AuditEvent, AuditTarget, Outcome, GENESIS_HASH};
use chrono::{DateTime, SubsecRound as _, Utc};
use sea_orm::{
    sea_query::{Expr, Query},
    ActiveModelTrait as _, ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _, Set,
};
use uuid::Uuid;

use super::{chain, Action, Metadata};
use crate::{
    actor::Origin,
    store::entities::{audit_events, audit_heads, memberships, users},
    Actor, AppError, AppResult,
};

/// What happened, to whom, and how it ended.
#[derive(Debug, Clone)]
pub struct Record {
    pub action: Action,
    pub target: AuditTarget,
    pub outcome: Outcome,
    pub metadata: Metadata,
}

impl Record {
    /// `action` on the `kind` resource `id`; it succeeded unless [`Record::outcome`] says otherwise.
    pub fn of(action: Action, kind: &str, id: impl ToString) -> Record {
        Record {
            action,
            target: AuditTarget {
                kind: kind.to_owned(),
                id: Some(id.to_string()),
            },
            outcome: Outcome::Success,
            metadata: Metadata::default(),
        }
    }

    pub fn with(mut self, metadata: Metadata) -> Record {
        self.metadata = metadata;
        self
    }

    pub fn outcome(mut self, outcome: Outcome) -> Record {
        self.outcome = outcome;
        self
    }
}

/// Who acted, and from where.
#[derive(Debug, Clone)]
pub struct Source {
    pub actor: AuditActor,
    pub origin: Origin,
}

/// Opens an org's chain (in the transaction that creates the org).
pub async fn start_chain<C: ConnectionTrait>(db: &C, org_id: Uuid) -> AppResult<()> {
    audit_heads::ActiveModel {
        org_id: Set(org_id),
        seq: Set(0),
        hash: Set(GENESIS_HASH.to_owned()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Appends `record` to the org's chain as the next event, in `db`'s transaction.
///
/// The first statement advances the chain head with an `UPDATE … RETURNING`:
/// on PostgreSQL that locks the org's head row until the transaction ends, on
/// SQLite the transaction holds the database's write lock; either way the next
/// append for the org waits, so `seq` has no gaps or forks.
pub async fn append<C: ConnectionTrait>(
    db: &C,
    org_id: Uuid,
    source: &Source,
    record: Record,
) -> AppResult<AuditEvent> {
    let advance = Query::update()
        .table(audit_heads::Entity)
        .value(
            audit_heads::Column::Seq,
            Expr::col(audit_heads::Column::Seq).add(1),
        )
        .and_where(Expr::col(audit_heads::Column::OrgId).eq(org_id))
        .returning(Query::returning().columns([audit_heads::Column::Seq, audit_heads::Column::Hash]))
        .to_owned();
    let head = db
        .query_one(db.get_database_backend().build(&advance))
        .await?
        .ok_or_else(|| AppError::internal(format!("org {org_id} has no audit chain")))?;
    let seq: i64 = head.try_get("", "seq")?;
    let prev_hash: String = head.try_get("", "hash")?;

    let mut event = AuditEvent {
        id: Uuid::now_v7(),
        seq,
        occurred_at: now_micros(),
        actor: source.actor.clone(),
        action: record.action.as_str().to_owned(),
        target: record.target,
        outcome: record.outcome,
        request_id: source.origin.request_id.clone(),
        ip: source.origin.ip.clone(),
        user_agent: source.origin.user_agent.clone(),
        metadata: record.metadata.to_json(),
        prev_hash,
        hash: String::new(),
    };
    event.hash = chain::hash(&event)?;
    // A trigger moves the head's hash to the event's (migration
    // m20261207_000011), in this same statement.
    audit_events::Entity::insert(row(org_id, &event))
        .exec_without_returning(db)
        .await?;
    tracing::debug!(%org_id, seq, action = %record.action, "audited");
    Ok(event)
}

/// Appends `record` to the chain of every org where `user_id` is a live member
/// (CONTRACT.md: sign-ins and account events are recorded in each of the user's
/// orgs); returns how many chains it went to.
pub async fn append_for_user<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    source: &Source,
    record: Record,
) -> AppResult<usize> {
    let orgs: Vec<Uuid> = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user_id))
        .all(db)
        .await?
        .into_iter()
        .filter(crate::tenancy::members::is_live)
        .map(|m| m.org_id)
        .collect();
    for org_id in &orgs {
        append(db, *org_id, source, record.clone()).await?;
    }
    Ok(orgs.len())
}

/// Records a refused request in the org's chain, in a transaction of its own
/// (whatever the request had begun was rolled back).
pub async fn record_denial(
    state: &crate::AppState,
    org_id: Uuid,
    source: &Source,
    permission: attest_shared::permissions::Permission,
    route: String,
) -> AppResult<()> {
    let metadata = Metadata {
        permission: Some(permission),
        route: Some(route),
        ..Metadata::default()
    };
    let record = Record::of(Action::AccessDenied, "permission", permission)
        .outcome(Outcome::Denied)
        .with(metadata);
    let txn = state.begin().await?;
    append(&txn, org_id, source, record).await?;
    txn.commit().await?;
    Ok(())
}

/// Now, to the microsecond both databases store.
fn now_micros() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// The stored form of `org_id`'s `event`.
pub fn row(org_id: Uuid, event: &AuditEvent) -> audit_events::ActiveModel {
    audit_events::ActiveModel {
        id: Set(event.id),
        org_id: Set(org_id),
        seq: Set(event.seq),
        occurred_at: Set(event.occurred_at.fixed_offset()),
        actor_type: Set(event.actor.kind.as_str().to_owned()),
        actor_id: Set(event.actor.id),
        actor_display: Set(event.actor.display.clone()),
        action: Set(event.action.clone()),
        target_type: Set(event.target.kind.clone()),
        target_id: Set(event.target.id.clone()),
        outcome: Set(event.outcome.as_str().to_owned()),
        request_id: Set(event.request_id.clone()),
        ip: Set(event.ip.clone()),
        user_agent: Set(event.user_agent.clone()),
        metadata: Set(event.metadata.to_string()),
        prev_hash: Set(event.prev_hash.clone()),
        hash: Set(event.hash.clone()),
    }
}

/// The event a stored row holds, exactly as it was hashed.
pub fn event_of(row: audit_events::Model) -> AppResult<AuditEvent> {
    let corrupt = |what: &str| AppError::internal(format!("audit event {} has an invalid {what}", row.seq));
    Ok(AuditEvent {
        id: row.id,
        seq: row.seq,
        occurred_at: row.occurred_at.to_utc(),
        actor: AuditActor {
            kind: ActorKind::parse(&row.actor_type).ok_or_else(|| corrupt("actor type"))?,
            id: row.actor_id,
            display: row.actor_display.clone(),
        },
        action: row.action.clone(),
        target: AuditTarget {
            kind: row.target_type.clone(),
            id: row.target_id.clone(),
        },
        outcome: Outcome::parse(&row.outcome).ok_or_else(|| corrupt("outcome"))?,
        request_id: row.request_id.clone(),
        ip: row.ip.clone(),
        user_agent: row.user_agent.clone(),
        metadata: serde_json::from_str(&row.metadata).map_err(|_| corrupt("metadata"))?,
        prev_hash: row.prev_hash.clone(),
        hash: row.hash.clone(),
    })
}

impl Source {
    /// A signed-in user, or an API key, acting through a request.
    pub fn of(actor: &Actor) -> Source {
        match actor.key() {
            Some(key) => Source {
                actor: AuditActor {
                    kind: ActorKind::ApiKey,
                    id: Some(key.key_id),
                    display: key.name.clone(),
                },
                origin: actor.origin.clone(),
            },
            None => Source::user(&actor.user, &actor.origin),
        }
    }

    /// A user identified by a request that is not signed in yet (sign-in, invitations).
    pub fn user(user: &users::Model, origin: &Origin) -> Source {
        Source {
            actor: AuditActor {
                kind: ActorKind::User,
                id: Some(user.id),
                display: user.email.clone(),
            },
            origin: origin.clone(),
        }
    }

    /// Attest itself: background jobs and the command line.
    pub fn system() -> Source {
        Source {
            actor: AuditActor {
                kind: ActorKind::System,
                id: None,
                display: "system".to_owned(),
            },
            origin: Origin::default(),
        }
    }
}
