use sea_orm::entity::prelude::*;

/// One review decision on a relief case.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "relief_reviews")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub case_id: Uuid,
    pub step: i32,
    pub level: String,
    pub decision: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub reason: Option<String>,
    pub reviewer_id: Option<Uuid>,
    pub reviewer_name: String,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
