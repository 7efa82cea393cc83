//! `SeaORM` Entity for `controls` (migration `m20261209_000014_compliance`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Eq, Serialize, Deserialize)]
#[sea_orm(table_name = "controls")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub description: Option<String>,
    pub status: String,
    #[sea_orm(column_type = "Text")]
    pub justification: Option<String>,
    pub owner_id: Option<Uuid>,
    pub review_every_days: Option<i32>,
    pub next_review_at: Option<DateTimeWithTimeZone>,
    pub version: i32,
    pub created_at: DateTimeWithTimeZone,
    pub updated_at: DateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
