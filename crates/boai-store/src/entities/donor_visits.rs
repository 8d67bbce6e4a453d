use sea_orm::entity::prelude::*;

/// A visit to a (major) donor, with an optional follow-up date.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "donor_visits")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub donor_id: Uuid,
    pub org_id: Uuid,
    pub visited_on: Date,
    pub visitor: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    pub follow_up_on: Option<Date>,
    pub follow_up_done: bool,
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
