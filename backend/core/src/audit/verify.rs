//! Recomputing an org's chain: every event's hash from its own members, and every
//! `prev_hash` from the event before it.

use attest_shared::audit::{AuditEvent, GENESIS_HASH};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _,
};
use uuid::Uuid;

use ed25519_dalek::VerifyingKey;

use super::{chain, checkpoint, writer::event_of};
use crate::{
    store::entities::{audit_events, orgs},
    AppResult, AppState,
};

/// Events read per query while walking a chain.
const PAGE: u64 = 2_000;

/// The outcome of recomputing a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// Every event checks out; the head is the last one (none for an empty chain).
    Intact {
        events: u64,
        head: Option<(i64, String)>,
    },
    /// The first event that does not: its hash, its link or its `seq` is wrong.
    Broken { first_bad_seq: i64 },
}

impl Verification {
    /// The answer of the verify route and the CLI.
    pub fn report(&self) -> attest_shared::audit::ChainVerification {
        use attest_shared::audit::{ChainHead, ChainVerification};
        match self {
            Verification::Intact { events, head } => ChainVerification {
                ok: true,
                events: Some(*events),
                head: head.as_ref().map(|(seq, hash)| ChainHead {
                    seq: *seq,
                    hash: hash.clone(),
                }),
                first_bad_seq: None,
            },
            Verification::Broken { first_bad_seq } => ChainVerification {
                ok: false,
                events: None,
                head: None,
                first_bad_seq: Some(*first_bad_seq),
            },
        }
    }
}

/// Walks the org's chain from its first stored event, then checks its signed
/// checkpoints against it (signatures by `key`, the checkpoint public key).
pub async fn verify<C: ConnectionTrait>(db: &C, key: &VerifyingKey, org_id: Uuid) -> AppResult<Verification> {
    let intact = walk(db, org_id).await?;
    let Verification::Intact { head, .. } = &intact else {
        return Ok(intact);
    };
    let head_seq = head.as_ref().map_or(0, |(seq, _)| *seq);
    Ok(match checkpoint::check(db, key, org_id, head_seq).await? {
        Some(first_bad_seq) => Verification::Broken { first_bad_seq },
        None => intact,
    })
}

/// Verifies every org's chain (or only the org with `slug`), by slug; for the
/// command line, which answers for the whole installation.
pub async fn verify_all(state: &AppState, slug: Option<&str>) -> AppResult<Vec<(String, Verification)>> {
    let key = checkpoint::CheckpointKey::derive(&state.key).public();
    let mut query = orgs::Entity::find().order_by_asc(orgs::Column::Slug);
    if let Some(slug) = slug {
        query = query.filter(orgs::Column::Slug.eq(slug));
    }
    let mut chains = Vec::new();
    for org in query.all(&state.db).await? {
        chains.push((org.slug, verify(&state.db, &key, org.id).await?));
    }
    Ok(chains)
}

async fn walk<C: ConnectionTrait>(db: &C, org_id: Uuid) -> AppResult<Verification> {
    let mut walk = Walk::default();
    loop {
        let rows = audit_events::Entity::find()
            .filter(audit_events::Column::OrgId.eq(org_id))
            .filter(audit_events::Column::Seq.gt(walk.last_seq().unwrap_or(0)))
            .order_by_asc(audit_events::Column::Seq)
            .limit(PAGE)
            .all(db)
            .await?;
        if rows.is_empty() {
            return Ok(walk.finish());
        }
        for row in rows {
            let seq = row.seq;
            if !walk.step(event_of(row).ok()) {
                return Ok(Verification::Broken { first_bad_seq: seq });
            }
        }
    }
}

/// Where a walk along a chain stands: the last event that checked out.
#[derive(Default)]
struct Walk {
    last: Option<(i64, String)>,
    events: u64,
}

impl Walk {
    fn last_seq(&self) -> Option<i64> {
        self.last.as_ref().map(|(seq, _)| *seq)
    }

    /// Takes the next stored event (`None` if it could not even be read back);
    /// false if it breaks the chain.
    fn step(&mut self, event: Option<AuditEvent>) -> bool {
        let Some(event) = event else { return false };
        let follows = match &self.last {
            Some((seq, hash)) => event.seq == seq + 1 && event.prev_hash == *hash,
            // An org's first event starts from genesis. (A chain shortened by
            // retention starts later; its checkpoint anchors that start.)
            None => event.seq != 1 || event.prev_hash == GENESIS_HASH,
        };
        if !follows || !chain::hash(&event).is_ok_and(|h| h == event.hash) {
            return false;
        }
        self.events += 1;
        self.last = Some((event.seq, event.hash));
        true
    }

    fn finish(self) -> Verification {
        Verification::Intact {
            events: self.events,
            head: self.last,
        }
    }
}
