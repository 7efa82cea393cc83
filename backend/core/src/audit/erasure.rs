//! Permits to delete events. Triggers refuse every `DELETE` on `audit_events`
//! that no row of `audit_erasures` covers; the retention job and an org's purge
//! write one inside their own transaction and withdraw it before committing, so
//! no other transaction ever sees it.

use sea_orm::{ActiveModelTrait as _, ConnectionTrait, EntityTrait as _, Set};
use uuid::Uuid;

use crate::{store::entities::audit_erasures, AppResult};

/// Allows deleting the org's events up to and including `up_to_seq`.
pub async fn permit<C: ConnectionTrait>(db: &C, org_id: Uuid, up_to_seq: i64) -> AppResult<()> {
    audit_erasures::ActiveModel {
        org_id: Set(org_id),
        up_to_seq: Set(up_to_seq),
    }
    .insert(db)
    .await?;
    Ok(())
}

pub async fn withdraw<C: ConnectionTrait>(db: &C, org_id: Uuid) -> AppResult<()> {
    audit_erasures::Entity::delete_by_id(org_id).exec(db).await?;
    Ok(())
}
