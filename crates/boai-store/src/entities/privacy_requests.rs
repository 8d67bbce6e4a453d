use sea_orm::entity::prelude::*;

/// A request a person made about their personal data, and what was done.
/// The subject appears only masked.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "privacy_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub kind: String,
    pub subject_kind: String,
    pub subject_masked: String,
    pub requested_by: String,
    pub received_on: Date,
    pub outcome: String,
    #[sea_orm(column_type = "Text")]
    pub detail: String,
    pub handled_by: Option<Uuid>,
    pub handled_by_name: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
