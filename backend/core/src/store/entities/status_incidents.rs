//! `SeaORM` Entity for `status_incidents` (migration `m20261208_000013_status_page`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Eq, Serialize, Deserialize)]
#[sea_orm(table_name = "status_incidents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub impact: String,
    pub status: String,
    /// JSON array of the affected components' ids.
    #[sea_orm(column_type = "Text")]
    pub component_ids: String,
    pub created_at: DateTimeWithTimeZone,
    pub updated_at: DateTimeWithTimeZone,
    pub resolved_at: Option<DateTimeWithTimeZone>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::status_incident_updates::Entity")]
    Updates,
}

impl Related<super::status_incident_updates::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Updates.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
