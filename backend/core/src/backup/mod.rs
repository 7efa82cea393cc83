//! Consistent snapshots of a whole installation, and their restore
//! (`attest backup`, `attest restore`; docs/operations.md).
//!
//! A snapshot is a zip archive: `manifest.json`; one JSON-lines file per table
//! (`tables/<name>.jsonl`, each row as its entity's model, so a snapshot taken
//! on SQLite restores onto PostgreSQL and back); and the evidence files
//! (`blobs/<org>/<sha256>`). The manifest names the schema it was taken at,
//! every entry's SHA-256, each org's audit chain head and the key that signed
//! the chains' checkpoints.
//!
//! The rows are read in one read-only transaction (repeatable read on
//! PostgreSQL, one WAL snapshot on SQLite), so a snapshot taken while the
//! server writes is a state the database was in. A restore checks every
//! entry's checksum before it touches the database, then replaces the
//! database's contents in one transaction and verifies every org's chain (its
//! hashes, links, signed checkpoints and head) as that transaction sees it,
//! committing only when all verify and match the manifest: a bad snapshot
//! leaves the database as it was.

mod archive;
mod tables;

pub use archive::Entry;
pub(crate) use archive::{Archive, Hashing, MANIFEST};

use std::{
    collections::BTreeSet,
    fs::File,
    io::{BufRead as _, BufReader, Read, Write},
    path::Path,
};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use ed25519_dalek::VerifyingKey;
use sea_orm::{
    sea_query::Expr, AccessMode, ColumnTrait as _, ConnectionTrait, DbBackend, EntityTrait as _,
    IsolationLevel, QueryFilter as _, TransactionTrait as _,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zip::ZipArchive;

use crate::{
    audit::{checkpoint::CheckpointKey, erasure, verify},
    store::{
        self,
        entities::{audit_heads, evidence, orgs},
    },
    AppError, AppResult, AppState, ErrorKind,
};

const FORMAT: &str = "attest-backup";
const FORMAT_VERSION: u32 = 1;
/// The development secret key, carried only when the installation generated
/// its own (never a configured `ATTEST_SECRET_KEY`).
const DEVELOPMENT_KEY: &str = "development-secret.key";

/// What a snapshot says about itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub attest_version: String,
    /// The last migration applied to the database it was taken from.
    pub schema: String,
    pub created_at: DateTime<Utc>,
    /// `sqlite` or `postgres`.
    pub database: String,
    /// Hex of the public key the chains' checkpoints are signed with.
    pub checkpoint_key: String,
    pub entries: Vec<Entry>,
    pub chains: Vec<ChainHead>,
}

/// An org's audit chain head when the snapshot was taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub org_id: Uuid,
    pub slug: String,
    pub seq: i64,
    pub hash: String,
}

/// How many times a backup or restore tells its progress: once per table, then
/// once for the evidence files.
pub const STEPS: usize = tables::TABLES.len() + 1;

/// Told as a backup or restore goes: a table and its rows, or blobs.
pub type Progress<'a> = &'a dyn Fn(&str, u64);

/// Writes a snapshot of everything to `path` (created, or replaced once
/// complete; readable by its owner only). `development_key`: the generated key
/// to carry along, when the installation has no configured one.
pub async fn create(
    state: &AppState,
    path: &Path,
    development_key: Option<&[u8]>,
    progress: Progress<'_>,
) -> AppResult<Manifest> {
    let partial = path.with_extension(format!("partial-{}", Uuid::now_v7()));
    let written = write_snapshot(state, &partial, development_key, progress).await;
    match written {
        Ok(manifest) => {
            std::fs::rename(&partial, path).map_err(AppError::internal)?;
            Ok(manifest)
        }
        Err(e) => {
            // Best effort: a half-written snapshot is worth nothing.
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

async fn write_snapshot(
    state: &AppState,
    path: &Path,
    development_key: Option<&[u8]>,
    progress: Progress<'_>,
) -> AppResult<Manifest> {
    let schema = current_schema(&state.db).await?;
    let txn = match state.db.get_database_backend() {
        DbBackend::Postgres => {
            state
                .db
                .begin_with_config(Some(IsolationLevel::RepeatableRead), Some(AccessMode::ReadOnly))
                .await?
        }
        // A deferred transaction reads one WAL snapshot from its first read on.
        _ => state.db.begin().await?,
    };
    let mut archive = Archive::create(path)?;
    let mut entries = Vec::new();
    for table in tables::TABLES {
        let entry_path = format!("tables/{}.jsonl", table.name());
        let mut out = archive.start(&entry_path)?;
        let rows = table.dump(&txn, &mut out).await?;
        let mut entry = out.finish();
        entry.rows = Some(rows);
        progress(table.name(), rows);
        entries.push(entry);
    }
    let chains = chain_heads(&txn).await?;
    let files: BTreeSet<(Uuid, String)> = evidence::Entity::find()
        .filter(evidence::Column::FileSha256.is_not_null())
        .all(&txn)
        .await?
        .into_iter()
        .filter_map(|e| Some((e.org_id, e.file_sha256?)))
        .collect();
    txn.commit().await?;
    for (org_id, sha256) in &files {
        let bytes = state.blobs.get(*org_id, sha256).await?;
        let mut out = archive.start(&blob_path(*org_id, sha256))?;
        out.write_all(&bytes).map_err(AppError::internal)?;
        entries.push(out.finish());
    }
    progress("evidence files", files.len() as u64);
    if let Some(key) = development_key {
        let mut out = archive.start(DEVELOPMENT_KEY)?;
        out.write_all(hex::encode(key).as_bytes())
            .map_err(AppError::internal)?;
        entries.push(out.finish());
    }
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        format_version: FORMAT_VERSION,
        attest_version: env!("CARGO_PKG_VERSION").to_owned(),
        schema,
        created_at: crate::clock::now().to_utc(),
        database: backend_name(state.db.get_database_backend()).to_owned(),
        checkpoint_key: CheckpointKey::derive(&state.key).public_hex(),
        entries,
        chains,
    };
    archive.finish(&manifest)?;
    Ok(manifest)
}

async fn chain_heads<C: ConnectionTrait>(db: &C) -> AppResult<Vec<ChainHead>> {
    let slugs: std::collections::HashMap<Uuid, String> = orgs::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.slug))
        .collect();
    let mut heads: Vec<ChainHead> = audit_heads::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|h| ChainHead {
            slug: slugs.get(&h.org_id).cloned().unwrap_or_default(),
            org_id: h.org_id,
            seq: h.seq,
            hash: h.hash,
        })
        .collect();
    heads.sort_by(|a, b| a.slug.cmp(&b.slug));
    Ok(heads)
}

/// A snapshot opened for restore, its manifest read and every entry's
/// checksum checked.
pub struct Snapshot {
    archive: ZipArchive<File>,
    manifest: Manifest,
}

impl Snapshot {
    pub fn open(path: &Path) -> AppResult<Snapshot> {
        let file = File::open(path).map_err(|e| refused(format!("cannot open {}: {e}", path.display())))?;
        let mut archive =
            ZipArchive::new(file).map_err(|e| refused(format!("not an Attest snapshot: {e}")))?;
        let manifest: Manifest = {
            let entry = archive
                .by_name(MANIFEST)
                .map_err(|_| refused("not an Attest snapshot: it has no manifest.json"))?;
            serde_json::from_reader(entry).map_err(|e| refused(format!("its manifest is unreadable: {e}")))?
        };
        if manifest.format != FORMAT || manifest.format_version != FORMAT_VERSION {
            return Err(refused(format!(
                "it is a {} snapshot of format {}; this Attest reads {FORMAT} format {FORMAT_VERSION}",
                manifest.format, manifest.format_version
            )));
        }
        let mut snapshot = Snapshot { archive, manifest };
        snapshot.check_entries()?;
        Ok(snapshot)
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The development key the snapshot carries, if it does.
    pub fn development_key(&mut self) -> AppResult<Option<Vec<u8>>> {
        if !self.manifest.entries.iter().any(|e| e.path == DEVELOPMENT_KEY) {
            return Ok(None);
        }
        let mut text = String::new();
        self.entry(DEVELOPMENT_KEY)?
            .read_to_string(&mut text)
            .map_err(AppError::internal)?;
        hex::decode(text.trim())
            .map(Some)
            .map_err(|_| refused("its development key is not hex"))
    }

    /// Every entry is there, the size and SHA-256 the manifest gives; every
    /// table of this schema has its entry; nothing else is in the archive.
    fn check_entries(&mut self) -> AppResult<()> {
        let listed: BTreeSet<&str> = self.manifest.entries.iter().map(|e| e.path.as_str()).collect();
        for table in tables::TABLES {
            if !listed.contains(format!("tables/{}.jsonl", table.name()).as_str()) {
                return Err(refused(format!("it has no {} table", table.name())));
            }
        }
        if let Some(stray) = self
            .archive
            .file_names()
            .find(|name| *name != MANIFEST && !listed.contains(name))
        {
            return Err(refused(format!(
                "it holds {stray}, which its manifest does not list"
            )));
        }
        for entry in self.manifest.entries.clone() {
            let mut hasher = Hashing::new(std::io::sink());
            std::io::copy(&mut self.entry(&entry.path)?, &mut hasher)
                .map_err(|e| refused(format!("{} is unreadable: {e}", entry.path)))?;
            let (sha256, bytes) = hasher.digest();
            if sha256 != entry.sha256 || bytes != entry.bytes {
                return Err(refused(format!(
                    "{} does not match its checksum in the manifest: the snapshot is corrupt or was altered",
                    entry.path
                )));
            }
        }
        Ok(())
    }

    fn entry(&mut self, path: &str) -> AppResult<zip::read::ZipFile<'_, File>> {
        self.archive
            .by_name(path)
            .map_err(|_| refused(format!("its manifest lists {path}, which the archive lacks")))
    }

    /// Replaces the database's contents (and adds the evidence files) with
    /// the snapshot's, as described in the module docs. `state` runs under the
    /// server key the restored installation will have.
    pub async fn restore(mut self, state: &AppState, progress: Progress<'_>) -> AppResult<()> {
        // Migrated beforehand, on a connection of its own: sqlx keys prepared
        // statements by their text, and the migrations insert the status page's
        // row with the very statement a restore does, bound to other types.
        if store::migrations::pending_count(&state.db).await? > 0 {
            return Err(AppError::internal(
                "the database must be migrated before a restore",
            ));
        }
        let schema = current_schema(&state.db).await?;
        if self.manifest.schema != schema {
            let newer = !store::migrations::known().contains(&self.manifest.schema);
            return Err(refused(if newer {
                format!(
                    "it was taken at schema {}, which this Attest ({}) does not know: restore it with Attest {} or later",
                    self.manifest.schema,
                    env!("CARGO_PKG_VERSION"),
                    self.manifest.attest_version
                )
            } else {
                format!(
                    "it was taken at schema {} by Attest {}, older than this one's ({schema}): restore it with \
                     that version, then upgrade",
                    self.manifest.schema, self.manifest.attest_version
                )
            }));
        }
        let checkpoints = CheckpointKey::derive(&state.key);
        if checkpoints.public_hex() != self.manifest.checkpoint_key {
            return Err(refused(
                "it was taken under a different secret key (its audit checkpoints are signed by another key, \
                 and its SSO client secrets are sealed with it): restore with that installation's \
                 ATTEST_SECRET_KEY",
            ));
        }
        let txn = state.begin().await?;
        clear(&txn).await?;
        for table in tables::TABLES {
            let path = format!("tables/{}.jsonl", table.name());
            let mut lines = BufReader::new(self.entry(&path)?);
            let rows = table.load(&txn, &mut lines).await?;
            progress(table.name(), rows);
        }
        self.put_back_policy_versions(&txn).await?;
        self.check_chains(&txn, &checkpoints.public()).await?;
        let blobs: Vec<Entry> = self
            .manifest
            .entries
            .iter()
            .filter(|e| e.path.starts_with("blobs/"))
            .cloned()
            .collect();
        for entry in &blobs {
            let (org_id, sha256) = parse_blob_path(&entry.path)?;
            let mut bytes = Vec::new();
            self.entry(&entry.path)?
                .read_to_end(&mut bytes)
                .map_err(AppError::internal)?;
            if crate::compliance::blobs::address(&bytes) != sha256 {
                return Err(refused(format!(
                    "{} does not hold the file its name says",
                    entry.path
                )));
            }
            state.blobs.put(org_id, &sha256, Bytes::from(bytes)).await?;
        }
        progress("evidence files", blobs.len() as u64);
        txn.commit().await?;
        Ok(())
    }

    /// Inserting an org's memberships and roles moved its `policy_version`
    /// (triggers do that); the snapshot's value is the org's own.
    async fn put_back_policy_versions(&mut self, txn: &store::write::WriteTxn) -> AppResult<()> {
        let lines = BufReader::new(self.entry("tables/orgs.jsonl")?);
        for line in lines.lines() {
            let org: orgs::Model =
                serde_json::from_str(&line.map_err(AppError::internal)?).map_err(AppError::internal)?;
            orgs::Entity::update_many()
                .col_expr(orgs::Column::PolicyVersion, Expr::value(org.policy_version))
                .filter(orgs::Column::Id.eq(org.id))
                .exec(txn)
                .await?;
        }
        Ok(())
    }

    /// Every org's chain verifies as restored, and ends where the manifest says.
    async fn check_chains<C: ConnectionTrait>(&self, db: &C, key: &VerifyingKey) -> AppResult<()> {
        let restored = chain_heads(db).await?;
        if restored != self.manifest.chains {
            return Err(refused(
                "its audit chain heads differ from those its manifest records",
            ));
        }
        for head in &restored {
            match verify::verify_as_seen_by(db, key, head.org_id).await? {
                verify::Verification::Intact { head: last, .. }
                    if last.as_ref().map_or(0, |(seq, _)| *seq) == head.seq => {}
                verify::Verification::Intact { .. } => {
                    return Err(refused(format!(
                        "the audit chain of {} does not reach its head (seq {})",
                        head.slug, head.seq
                    )))
                }
                verify::Verification::Broken { first_bad_seq } => {
                    return Err(refused(format!(
                        "the audit chain of {} does not verify: first bad seq {first_bad_seq}",
                        head.slug
                    )))
                }
            }
        }
        Ok(())
    }
}

/// Empties every table, children first. Audit events are append-only: a
/// permit per org (withdrawn before the transaction ends) lets them go.
async fn clear(txn: &store::write::WriteTxn) -> AppResult<()> {
    let present: Vec<Uuid> = orgs::Entity::find()
        .all(txn)
        .await?
        .into_iter()
        .map(|o| o.id)
        .collect();
    for org_id in &present {
        erasure::permit(txn, *org_id, i64::MAX).await?;
    }
    for table in tables::TABLES.iter().rev() {
        table.clear(txn).await?;
    }
    for org_id in &present {
        erasure::withdraw(txn, *org_id).await?;
    }
    Ok(())
}

fn refused(reason: impl Into<String>) -> AppError {
    AppError::new(
        ErrorKind::Unprocessable,
        format!("the snapshot was refused: {}", reason.into()),
    )
}

async fn current_schema(db: &sea_orm::DatabaseConnection) -> AppResult<String> {
    store::migrations::status(db)
        .await?
        .into_iter()
        .rev()
        .find(|m| m.applied)
        .map(|m| m.name)
        .ok_or_else(|| AppError::internal("the database has no migration applied"))
}

fn backend_name(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "postgres",
        DbBackend::MySql => "mysql",
        DbBackend::Sqlite => "sqlite",
    }
}

fn blob_path(org_id: Uuid, sha256: &str) -> String {
    format!("blobs/{org_id}/{sha256}")
}

fn parse_blob_path(path: &str) -> AppResult<(Uuid, String)> {
    let mut parts = path.split('/').skip(1);
    match (parts.next().map(Uuid::parse_str), parts.next(), parts.next()) {
        (Some(Ok(org_id)), Some(sha256), None) => Ok((org_id, sha256.to_owned())),
        _ => Err(refused(format!("{path} is not a blob's name"))),
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::Statement;

    use super::*;

    /// A table added by a migration is either in snapshots or named here as
    /// deliberately left out: nothing is lost by forgetting it.
    #[tokio::test]
    async fn every_table_of_the_schema_is_in_a_snapshot_or_left_out_on_purpose() {
        const LEFT_OUT: [&str; 4] = [
            "seaql_migrations",
            "credentials_epoch",
            "audit_erasures",
            "org_exports",
        ];
        let db = store::connect(&store::StoreConfig::new("sqlite::memory:"))
            .await
            .unwrap();
        store::migrations::up(&db).await.unwrap();
        let rows = db
            .query_all(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            ))
            .await
            .unwrap();
        let schema: BTreeSet<String> = rows
            .iter()
            .map(|r| r.try_get::<String>("", "name").unwrap())
            .filter(|name| !LEFT_OUT.contains(&name.as_str()))
            .collect();
        let snapshot: BTreeSet<String> = tables::TABLES.iter().map(|t| t.name().to_owned()).collect();
        assert_eq!(schema, snapshot);
    }

    #[test]
    fn blob_entries_name_their_org_and_address() {
        let org = Uuid::now_v7();
        let sha = "ab".repeat(32);
        assert_eq!(parse_blob_path(&blob_path(org, &sha)).unwrap(), (org, sha));
        for bad in ["blobs/not-a-uuid/ab", "blobs", "blobs/{org}/ab/extra"] {
            assert!(
                parse_blob_path(&bad.replace("{org}", &org.to_string())).is_err(),
                "{bad}"
            );
        }
    }
}
