//! Recomputing an org's chain: every event's hash from its own members, every
//! `prev_hash` from the event before it, and every signed checkpoint against the
//! event at its `seq`. A chain that retention shortened starts after a
//! checkpoint, which anchors its first `prev_hash`.

use std::collections::BTreeMap;

use attest_shared::audit::GENESIS_HASH;
use ed25519_dalek::VerifyingKey;
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _,
};
use uuid::Uuid;

use super::{chain, checkpoint, packed, writer::event_of};
use crate::{
    store::entities::{audit_events, audit_heads, orgs},
    AppError, AppResult, AppState,
};

/// Events read per query while walking a chain.
const PAGE: u64 = 5_000;

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

/// Verifies the org's chain: its events, its signed checkpoints (signatures by
/// `key`, the checkpoint public key) and its head row. The first bad `seq` is
/// the lowest of: an event that does not check out, a forged checkpoint, or the
/// first missing event when the chain ends before a checkpoint or its head.
pub async fn verify<C: ConnectionTrait>(db: &C, key: &VerifyingKey, org_id: Uuid) -> AppResult<Verification> {
    let checkpoints = checkpoint::load(db, key, org_id).await?;
    let forged = checkpoints.iter().find(|c| !c.authentic).map(|c| c.seq);
    let anchors: BTreeMap<i64, String> = checkpoints
        .into_iter()
        .filter(|c| c.authentic)
        .map(|c| (c.seq, c.hash))
        .collect();
    let walked = walk(db, org_id, &anchors).await?;
    let mut first_bad = forged;
    let mut note = |seq: i64| first_bad = Some(first_bad.map_or(seq, |bad| bad.min(seq)));
    match &walked {
        Verification::Broken { first_bad_seq } => note(*first_bad_seq),
        Verification::Intact { head, .. } => {
            let last = head.as_ref().map_or(0, |(seq, _)| *seq);
            let recorded_head = audit_heads::Entity::find_by_id(org_id)
                .one(db)
                .await?
                .map_or(0, |h| h.seq);
            let last_signed = anchors.keys().next_back().copied().unwrap_or(0);
            if recorded_head > last || last_signed > last {
                // Events the org once had are gone from the end of its chain.
                note(last + 1);
            }
        }
    }
    Ok(match first_bad {
        Some(first_bad_seq) => Verification::Broken { first_bad_seq },
        None => walked,
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

/// Walks the stored events in `seq` order. Hashing is the costly part and each
/// event's hash depends only on the event, so a page is hashed on every core
/// while the next one is read; the links are then checked in order. Pages are
/// read packed (see [`packed`]); what does not unpack is read again as models
/// and hashed the ordinary way.
async fn walk<C: ConnectionTrait>(
    db: &C,
    org_id: Uuid,
    anchors: &BTreeMap<i64, String>,
) -> AppResult<Verification> {
    let mut walk = Walk {
        anchors,
        last: None,
        events: 0,
    };
    let mut after = 0;
    let mut pending: Option<Pending> = None;
    loop {
        let next = match packed::page(db, org_id, after, PAGE).await {
            Ok(Some(page)) => {
                let (first_after, last_seq) = (after, page.last_seq);
                after = last_seq;
                Some(Pending::Hashing {
                    after: first_after,
                    last_seq,
                    hashes: tokio::task::spawn_blocking(move || check_hashes(&page)),
                })
            }
            Ok(None) => None,
            // The database could not pack the page (e.g. metadata that is not JSON).
            Err(_) => {
                let checked = check_models(db, org_id, after).await?;
                after = checked.last().map_or(after, |c| c.seq);
                (!checked.is_empty()).then_some(Pending::Checked(checked))
            }
        };
        if let Some(page) = pending.take() {
            for mut event in page.settle(db, org_id).await? {
                if event.hash_ok.is_none() {
                    event = check_one(db, org_id, event.seq).await?;
                }
                if !walk.step(&event) {
                    return Ok(Verification::Broken {
                        first_bad_seq: event.seq,
                    });
                }
            }
        }
        match next {
            Some(page) => pending = Some(page),
            None => return Ok(walk.finish()),
        }
    }
}

/// A page read but not yet walked.
enum Pending {
    /// Being hashed; the events after `after` up to `last_seq`, to read again
    /// as models if the page does not split into events.
    Hashing {
        after: i64,
        last_seq: i64,
        hashes: tokio::task::JoinHandle<Option<Vec<Checked>>>,
    },
    /// Already checked (read as models).
    Checked(Vec<Checked>),
}

impl Pending {
    /// The page's events, checked.
    async fn settle<C: ConnectionTrait>(self, db: &C, org_id: Uuid) -> AppResult<Vec<Checked>> {
        match self {
            Pending::Checked(checked) => Ok(checked),
            Pending::Hashing {
                after,
                last_seq,
                hashes,
            } => match hashes.await.map_err(AppError::internal)? {
                Some(checked) => Ok(checked),
                None => Ok(check_models(db, org_id, after)
                    .await?
                    .into_iter()
                    .take_while(|c| c.seq <= last_seq)
                    .collect()),
            },
        }
    }
}

/// A stored event's place in the chain, and whether its hash is right.
struct Checked {
    seq: i64,
    prev_hash: String,
    hash: String,
    /// `None`: not decided from the packed form; the model decides.
    hash_ok: Option<bool>,
}

/// Recomputes each packed event's hash, on as many threads as there are
/// cores; `None` when the page does not split into events.
fn check_hashes(page: &packed::Page) -> Option<Vec<Checked>> {
    let events = page.events().ok()?;
    let one = |packed: &serde_json::value::RawValue| match packed::unpack(packed.get()) {
        Ok(unpacked) => Some(Checked {
            seq: unpacked.seq,
            hash_ok: Some(unpacked.recomputed == unpacked.hash),
            prev_hash: unpacked.prev_hash,
            hash: unpacked.hash,
        }),
        Err(seq) => Some(Checked {
            seq: seq?,
            prev_hash: String::new(),
            hash: String::new(),
            hash_ok: None,
        }),
    };
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let chunk = events.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = events
            .chunks(chunk)
            .map(|chunk| scope.spawn(move || chunk.iter().map(|e| one(e)).collect::<Option<Vec<_>>>()))
            .collect();
        let mut all = Vec::with_capacity(events.len());
        for worker in workers {
            // A worker only panics if hashing does: the page is then read the ordinary way.
            all.extend(worker.join().ok()??);
        }
        Some(all)
    })
}

/// A page read as models and hashed as [`AuditEvent`](attest_shared::audit::AuditEvent)s.
async fn check_models<C: ConnectionTrait>(db: &C, org_id: Uuid, after: i64) -> AppResult<Vec<Checked>> {
    let rows = audit_events::Entity::find()
        .filter(audit_events::Column::OrgId.eq(org_id))
        .filter(audit_events::Column::Seq.gt(after))
        .order_by_asc(audit_events::Column::Seq)
        .limit(PAGE)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(checked_model).collect())
}

/// One event read as a model and hashed the ordinary way.
async fn check_one<C: ConnectionTrait>(db: &C, org_id: Uuid, seq: i64) -> AppResult<Checked> {
    let row = audit_events::Entity::find()
        .filter(audit_events::Column::OrgId.eq(org_id))
        .filter(audit_events::Column::Seq.eq(seq))
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal("an audit event vanished during verification"))?;
    Ok(checked_model(row))
}

fn checked_model(row: audit_events::Model) -> Checked {
    let (seq, prev_hash, hash) = (row.seq, row.prev_hash.clone(), row.hash.clone());
    let hash_ok = event_of(row)
        .ok()
        .and_then(|event| chain::hash(&event).ok())
        .is_some_and(|recomputed| recomputed == hash);
    Checked {
        seq,
        prev_hash,
        hash,
        hash_ok: Some(hash_ok),
    }
}

/// Where a walk along a chain stands: the last event that checked out.
struct Walk<'a> {
    anchors: &'a BTreeMap<i64, String>,
    last: Option<(i64, String)>,
    events: u64,
}

impl Walk<'_> {
    /// Takes the next stored event; false if it breaks the chain.
    fn step(&mut self, event: &Checked) -> bool {
        let follows = match &self.last {
            Some((seq, hash)) => event.seq == seq + 1 && event.prev_hash == *hash,
            // An org's chain starts from genesis, or, once retention removed
            // its beginning, from the signed checkpoint of the last removed event.
            None if event.seq == 1 => event.prev_hash == GENESIS_HASH,
            None => self.anchors.get(&(event.seq - 1)) == Some(&event.prev_hash),
        };
        let signed_as_stored = self
            .anchors
            .get(&event.seq)
            .is_none_or(|signed| *signed == event.hash);
        if !follows || event.hash_ok != Some(true) || !signed_as_stored {
            return false;
        }
        self.events += 1;
        self.last = Some((event.seq, event.hash.clone()));
        true
    }

    fn finish(self) -> Verification {
        Verification::Intact {
            events: self.events,
            head: self.last,
        }
    }
}
