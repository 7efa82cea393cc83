//! `SeaORM` Entity for `status_maintenances` (migration `m20261208_000013_status_page`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Eq, Serialize, Deserialize)]
#[sea_orm(table_name = "status_maintenances")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub message: String,
    pub scheduled_for: DateTimeWithTimeZone,
    pub scheduled_until: DateTimeWithTimeZone,
    /// JSON array of the affected components' ids.
    #[sea_orm(column_type = "Text")]
    pub component_ids: String,
    pub created_at: DateTimeWithTimeZone,
    pub updated_at: DateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
