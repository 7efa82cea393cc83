//! `SeaORM` Entity for `status_incident_updates` (migration `m20261208_000013_status_page`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Eq, Serialize, Deserialize)]
#[sea_orm(table_name = "status_incident_updates")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub incident_id: Uuid,
    pub status: String,
    #[sea_orm(column_type = "Text")]
    pub message: String,
    /// JSON object: component id -> the status this update set.
    #[sea_orm(column_type = "Text")]
    pub components: String,
    pub created_at: DateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::status_incidents::Entity",
        from = "Column::IncidentId",
        to = "super::status_incidents::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    Incident,
}

impl Related<super::status_incidents::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Incident.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
