//! The platform's own audit chain: what operators change outside any
//! organization (the public status page) is recorded like an org's changes,
//! in a chain of its own.
//!
//! It lives in a reserved org row, [`PLATFORM_ORG`], whose slug no one can
//! take (org slugs may not start with `-`) and which no org lookup or listing
//! returns: no member, role or key can reach it. Verification, checkpoints and
//! retention treat it as any other chain (`attest audit verify` prints it as
//! `-platform`).

use sea_orm::{sea_query::OnConflict, ConnectionTrait, EntityTrait as _, Set};
use uuid::Uuid;

use super::{Record, Source};
use crate::{
    clock,
    store::entities::{audit_heads, orgs},
    AppResult,
};
use attest_shared::audit::GENESIS_HASH;

/// The reserved org row holding the platform chain.
pub const PLATFORM_ORG: Uuid = Uuid::nil();

/// Its slug: invalid for an organization, so it never collides with one.
pub const PLATFORM_SLUG: &str = "-platform";

/// Appends `record` to the platform chain (opening it on first use), in `db`'s transaction.
pub async fn append<C: ConnectionTrait>(db: &C, source: &Source, record: Record) -> AppResult<()> {
    open(db).await?;
    super::append(db, PLATFORM_ORG, source, record).await?;
    Ok(())
}

/// Creates the reserved row and its chain unless they exist; safe to race.
async fn open<C: ConnectionTrait>(db: &C) -> AppResult<()> {
    let now = clock::now();
    let row = orgs::ActiveModel {
        id: Set(PLATFORM_ORG),
        slug: Set(PLATFORM_SLUG.to_owned()),
        name: Set("Attest platform".to_owned()),
        version: Set(1),
        policy_version: Set(0),
        flags_version: Set(0),
        audit_retention_days: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    };
    orgs::Entity::insert(row)
        .on_conflict(OnConflict::column(orgs::Column::Id).do_nothing().to_owned())
        .do_nothing()
        .exec_without_returning(db)
        .await?;
    let head = audit_heads::ActiveModel {
        org_id: Set(PLATFORM_ORG),
        seq: Set(0),
        hash: Set(GENESIS_HASH.to_owned()),
    };
    audit_heads::Entity::insert(head)
        .on_conflict(
            OnConflict::column(audit_heads::Column::OrgId)
                .do_nothing()
                .to_owned(),
        )
        .do_nothing()
        .exec_without_returning(db)
        .await?;
    Ok(())
}
