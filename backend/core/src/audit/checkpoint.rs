//! Signed checkpoints: the chain head (org, seq, hash, time) signed with an
//! Ed25519 key derived from `ATTEST_SECRET_KEY`. A chain can be recomputed by
//! anyone, so on its own it does not stop someone with database access from
//! cutting off its tail or rewriting it whole; a checkpoint they cannot forge
//! does. Heads are signed every few minutes and on each export.

use std::time::Duration;

use attest_shared::audit::micros;
use chrono::{DateTime, SubsecRound as _, Utc};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _,
    QueryOrder as _, Set,
};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    crypto::ServerKey,
    store::entities::{audit_checkpoints, audit_heads},
    AppError, AppResult, AppState,
};

/// How often heads that moved are signed.
pub const EVERY: Duration = Duration::from_secs(300);

/// The checkpoint signing key (its public half is published).
#[derive(Clone)]
pub struct CheckpointKey(SigningKey);

impl CheckpointKey {
    pub fn derive(key: &ServerKey) -> CheckpointKey {
        CheckpointKey(SigningKey::from_bytes(
            &key.mac("audit-checkpoint", b"ed25519 signing key"),
        ))
    }

    pub fn public(&self) -> VerifyingKey {
        self.0.verifying_key()
    }

    /// Lowercase hex of the 32-byte public key.
    pub fn public_hex(&self) -> String {
        hex::encode(self.public().as_bytes())
    }
}

/// What a checkpoint signature covers: the RFC 8785 canonical JSON of this.
#[derive(Serialize)]
struct Statement<'a> {
    org_id: Uuid,
    seq: i64,
    hash: &'a str,
    signed_at: String,
}

fn statement(org_id: Uuid, seq: i64, hash: &str, signed_at: &DateTime<Utc>) -> AppResult<Vec<u8>> {
    serde_jcs::to_vec(&Statement {
        org_id,
        seq,
        hash,
        signed_at: micros::format(signed_at),
    })
    .map_err(AppError::internal)
}

/// Signs the org's current head, unless it is empty or already signed.
pub async fn sign_head<C: ConnectionTrait>(db: &C, key: &CheckpointKey, org_id: Uuid) -> AppResult<bool> {
    let Some(head) = audit_heads::Entity::find_by_id(org_id).one(db).await? else {
        return Ok(false);
    };
    if head.seq == 0 {
        return Ok(false);
    }
    sign(db, key, org_id, head.seq, &head.hash).await
}

/// Signs the event at `seq` (whose hash is `hash`), unless it is signed already.
pub async fn sign<C: ConnectionTrait>(
    db: &C,
    key: &CheckpointKey,
    org_id: Uuid,
    seq: i64,
    hash: &str,
) -> AppResult<bool> {
    let signed = audit_checkpoints::Entity::find_by_id((org_id, seq))
        .one(db)
        .await?
        .is_some();
    if signed {
        return Ok(false);
    }
    let signed_at = Utc::now().trunc_subsecs(6);
    let signature = key.0.sign(&statement(org_id, seq, hash, &signed_at)?);
    audit_checkpoints::ActiveModel {
        org_id: Set(org_id),
        seq: Set(seq),
        hash: Set(hash.to_owned()),
        signed_at: Set(signed_at.fixed_offset()),
        signature: Set(hex::encode(signature.to_bytes())),
    }
    .insert(db)
    .await?;
    Ok(true)
}

/// Signs every org's head that moved since its last checkpoint.
pub async fn sign_all(state: &AppState) -> AppResult<usize> {
    let key = CheckpointKey::derive(&state.key);
    let mut signed = 0;
    for head in audit_heads::Entity::find().all(&state.db).await? {
        let txn = state.begin().await?;
        signed += usize::from(sign_head(&txn, &key, head.org_id).await?);
        txn.commit().await?;
    }
    Ok(signed)
}

/// Signs moved heads every [`EVERY`] until the process ends.
pub fn spawn_signer(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(EVERY);
        loop {
            ticks.tick().await;
            if let Err(e) = sign_all(&state).await {
                tracing::warn!(error = %e, "audit checkpoints could not be signed");
            }
        }
    })
}

/// A stored checkpoint, with whether its signature holds.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    pub authentic: bool,
}

/// The org's checkpoints, oldest first, each checked against `key`.
pub async fn load<C: ConnectionTrait>(
    db: &C,
    key: &VerifyingKey,
    org_id: Uuid,
) -> AppResult<Vec<Checkpoint>> {
    let rows = audit_checkpoints::Entity::find()
        .filter(audit_checkpoints::Column::OrgId.eq(org_id))
        .order_by_asc(audit_checkpoints::Column::Seq)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let authentic = hex::decode(&row.signature)
                .ok()
                .and_then(|bytes| Signature::from_slice(&bytes).ok())
                .zip(statement(org_id, row.seq, &row.hash, &row.signed_at.to_utc()).ok())
                .is_some_and(|(signature, message)| key.verify(&message, &signature).is_ok());
            Checkpoint {
                seq: row.seq,
                hash: row.hash,
                authentic,
            }
        })
        .collect())
}

/// Drops the org's checkpoints before `seq` (their events are gone).
pub async fn forget_before<C: ConnectionTrait>(db: &C, org_id: Uuid, seq: i64) -> AppResult<()> {
    audit_checkpoints::Entity::delete_many()
        .filter(audit_checkpoints::Column::OrgId.eq(org_id))
        .filter(audit_checkpoints::Column::Seq.lt(seq))
        .exec(db)
        .await?;
    Ok(())
}
