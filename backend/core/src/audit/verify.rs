//! Recomputing an org's chain: every event's hash from its own members, every
//! `prev_hash` from the event before it, and every signed checkpoint against the
//! event at its `seq`. A chain that retention shortened starts after a
//! checkpoint, which anchors its first `prev_hash`.

use std::collections::BTreeMap;

use attest_shared::audit::GENESIS_HASH;
use ed25519_dalek::VerifyingKey;
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait as _, QueryFilter as _,
    QueryOrder as _, QuerySelect as _,
};
use uuid::Uuid;

use super::{chain, checking, checkpoint, pg_reader, sqlite_reader, writer::event_of};
use crate::{
    store::entities::{audit_events, audit_heads, orgs},
    AppError, AppResult, AppState,
};

/// Events read per query when a chain is read as models.
const PAGE: u64 = 1_000;

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
pub async fn verify(db: &DatabaseConnection, key: &VerifyingKey, org_id: Uuid) -> AppResult<Verification> {
    verify_pages(db, key, org_id, || Pages::open(db, org_id)).await
}

/// [`verify`] as `db` sees the chain, inside a transaction say (a restore
/// checks what it wrote before committing), reading the events as models.
pub async fn verify_as_seen_by<C: ConnectionTrait>(
    db: &C,
    key: &VerifyingKey,
    org_id: Uuid,
) -> AppResult<Verification> {
    verify_pages(db, key, org_id, || Pages::Models { db, org_id, after: 0 }).await
}

async fn verify_pages<'a, C: ConnectionTrait>(
    db: &'a C,
    key: &VerifyingKey,
    org_id: Uuid,
    open_pages: impl FnOnce() -> Pages<'a, C>,
) -> AppResult<Verification> {
    let checkpoints = checkpoint::load(db, key, org_id).await?;
    let forged = checkpoints.iter().find(|c| !c.authentic).map(|c| c.seq);
    let anchors: BTreeMap<i64, String> = checkpoints
        .into_iter()
        .filter(|c| c.authentic)
        .map(|c| (c.seq, c.hash))
        .collect();
    // Read before the walk's events are (a reader starts reading when it is
    // opened), so the walk meets every event up to it: appends meanwhile
    // cannot look like events gone missing.
    let recorded_head = audit_heads::Entity::find_by_id(org_id)
        .one(db)
        .await?
        .map_or(0, |h| h.seq);
    let walked = walk(db, org_id, open_pages(), &anchors).await?;
    let mut first_bad = forged;
    let mut note = |seq: i64| first_bad = Some(first_bad.map_or(seq, |bad| bad.min(seq)));
    match &walked {
        Verification::Broken { first_bad_seq } => note(*first_bad_seq),
        Verification::Intact { head, .. } => {
            let last = head.as_ref().map_or(0, |(seq, _)| *seq);
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

/// Walks the stored events in `seq` order, checking each one's links; their
/// hashes are recomputed ahead, on every core (see [`checking`]).
async fn walk<C: ConnectionTrait>(
    db: &C,
    org_id: Uuid,
    mut pages: Pages<'_, C>,
    anchors: &BTreeMap<i64, String>,
) -> AppResult<Verification> {
    let mut walk = Walk {
        anchors,
        last: None,
        events: 0,
    };
    while let Some(page) = pages.next().await? {
        for mut event in page {
            if event.hash_ok.is_none() {
                event = check_one(db, org_id, event.seq).await?;
            }
            let seq = event.seq;
            if !walk.step(event) {
                return Ok(Verification::Broken { first_bad_seq: seq });
            }
        }
    }
    Ok(walk.finish())
}

/// Where the walk's events come from.
enum Pages<'a, C> {
    /// Copied out of the database by a reader of its own, and checked ahead.
    Copied(checking::Batches),
    /// Read as models, a page at a time: an in-memory SQLite database, which
    /// no second connection can open (and which holds little).
    Models { db: &'a C, org_id: Uuid, after: i64 },
}

impl<'a> Pages<'a, DatabaseConnection> {
    fn open(db: &'a DatabaseConnection, org_id: Uuid) -> Self {
        if db.get_database_backend() == DbBackend::Postgres {
            let pool = db.get_postgres_connection_pool().clone();
            return Pages::Copied(pg_reader::stream(pool, org_id));
        }
        match crate::store::sqlite_file(db) {
            Some(file) => Pages::Copied(sqlite_reader::stream(file, org_id)),
            None => Pages::Models { db, org_id, after: 0 },
        }
    }
}

impl<C: ConnectionTrait> Pages<'_, C> {
    async fn next(&mut self) -> AppResult<Option<Vec<Checked>>> {
        match self {
            Pages::Copied(batches) => match batches.recv_async().await {
                // The reader is done.
                Err(_) => Ok(None),
                Ok(batch) => batch?
                    .recv_async()
                    .await
                    .map(Some)
                    .map_err(|_| AppError::internal("checking audit events failed")),
            },
            Pages::Models { db, org_id, after } => {
                let checked = check_models(*db, *org_id, *after).await?;
                *after = checked.last().map_or(*after, |c| c.seq);
                Ok((!checked.is_empty()).then_some(checked))
            }
        }
    }
}

/// A stored event's place in the chain, and whether its hash is right.
pub(super) struct Checked {
    pub seq: i64,
    pub prev_hash: String,
    pub hash: String,
    /// `None`: not decided from the copied row; the model decides.
    pub hash_ok: Option<bool>,
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
    fn step(&mut self, event: Checked) -> bool {
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

#[cfg(test)]
mod tests {
    use attest_shared::audit::ActorKind;
    use sea_orm::{ActiveModelTrait as _, TransactionTrait as _};

    use super::*;
    use crate::{
        audit::{self, checkpoint::CheckpointKey, Action, Record, Source},
        crypto::ServerKey,
        store, tenancy,
    };

    /// A migrated database with one org whose chain holds `events` events.
    async fn chain(url: &str, events: u64) -> (DatabaseConnection, Uuid) {
        let db = store::connect(&store::StoreConfig::new(url)).await.unwrap();
        store::migrations::up(&db).await.unwrap();
        let org_id = tenancy::orgs::new_row("acme", "Acme".into())
            .insert(&db)
            .await
            .unwrap()
            .id;
        audit::start_chain(&db, org_id).await.unwrap();
        let mut source = Source::system();
        source.actor.kind = ActorKind::User;
        source.actor.display = "ada \"the first\" <ada@example.com>".into();
        for n in 0..events {
            let txn = db.begin().await.unwrap();
            audit::append(&txn, org_id, &source, Record::of(Action::RoleCreated, "role", n))
                .await
                .unwrap();
            txn.commit().await.unwrap();
        }
        (db, org_id)
    }

    async fn edit(db: &DatabaseConnection, seq: i64, assignment: &str) {
        db.execute_unprepared("DROP TRIGGER IF EXISTS audit_events_no_update")
            .await
            .unwrap();
        db.execute_unprepared(&format!("UPDATE audit_events SET {assignment} WHERE seq = {seq}"))
            .await
            .unwrap();
    }

    /// The file's own reader and the models (all an in-memory database has)
    /// agree, the model deciding what the reader does not make out.
    #[tokio::test]
    async fn both_sqlite_readers_find_the_same_first_bad_event() {
        let dir = tempfile::tempdir().unwrap();
        let file = format!("sqlite://{}?mode=rwc", dir.path().join("attest.db").display());
        let key = CheckpointKey::derive(&ServerKey::new(vec![7; 32])).public();
        for (url, own_reader) in [(file.as_str(), true), ("sqlite::memory:", false)] {
            // More events than one batch holds.
            let (db, org_id) = chain(url, 2_100).await;
            assert_eq!(crate::store::sqlite_file(&db).is_some(), own_reader, "{url}");
            let intact = verify(&db, &key, org_id).await.unwrap();
            assert!(
                matches!(
                    &intact,
                    Verification::Intact {
                        events: 2_100,
                        head: Some((2_100, _))
                    }
                ),
                "{url}: {intact:?}"
            );

            // Not RFC 3339, which only the model reads: the same instant, still intact.
            edit(
                &db,
                1_321,
                "occurred_at = replace(substr(occurred_at, 1, 26), 'T', ' ')",
            )
            .await;
            assert_eq!(verify(&db, &key, org_id).await.unwrap(), intact, "{url}");

            edit(&db, 2_050, "target_id = 'r-forged'").await;
            edit(&db, 2_090, "ip = '198.51.100.9'").await;
            assert_eq!(
                verify(&db, &key, org_id).await.unwrap(),
                Verification::Broken { first_bad_seq: 2_050 },
                "{url}"
            );
        }
    }
}
